use firstspike::analytic::{evaluate, Net};
use firstspike::data::{Dataset, Split};
use firstspike::model::Model;
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let m = Model::load(a[1].as_ref()).unwrap();
    let mut tr = Dataset::load("data/mnist".as_ref(), Split::Train).unwrap();
    tr.truncate(20000).unwrap();
    let te = Dataset::load("data/mnist".as_ref(), Split::Test).unwrap();
    for (name, d) in [("train20k", &tr), ("test", &te)] {
        let a64 = evaluate(&Net::<f64>::from_model(&m), &m.encoding, d, 2).accuracy();
        let a32 = evaluate(&Net::<f32>::from_model(&m), &m.encoding, d, 2).accuracy();
        println!("{name}: f64 {a64:.4} f32 {a32:.4}");
    }
}
