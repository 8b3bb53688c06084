use firstspike::analytic::{forward, ForwardPass, LayerScratch, Net};
use firstspike::data::{Dataset, Split};
use firstspike::model::Model;
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let m = Model::load(a[1].as_ref()).unwrap();
    let d = Dataset::load("data/mnist".as_ref(), Split::Test).unwrap();
    let net = Net::<f64>::from_model(&m);
    let mut pass = ForwardPass::default();
    for i in 0..6 {
        let t: Vec<f64> = m.encoding.encode(d.image(i));
        forward(&net, &t, &mut LayerScratch::default(), &mut pass);
        let dec = pass.decision().unwrap();
        let td = pass.outputs()[dec];
        let c = pass.causal[1][dec] as usize;
        let last = pass.order[1][c - 1] as usize;
        let tl = pass.times[1][last];
        let first_in = pass.times[0].iter().cloned().fold(f64::INFINITY, f64::min);
        println!("label {} dec {} t {:.9} causal {} last input hidden {} at {:.9}; s-theta {:.4}, first pixel {:.4}", d.labels[i], dec, td, c, last, tl, pass.s_minus_theta[1][dec], first_in);
        let h = pass.order[0].len();
        let lastpx = pass.order[0][pass.causal[0][last] as usize - 1];
        println!("   hidden {last}: causal {} of {h}, last pixel {} t {:.6}", pass.causal[0][last], lastpx, pass.times[0][lastpx as usize]);
    }
}
