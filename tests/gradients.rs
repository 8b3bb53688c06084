//! Gradients of the whole network against central finite differences (f64).

use firstspike::analytic::{forward, ForwardPass, LayerScratch, Net};
use firstspike::grad::{backward, BackScratch, BackwardStats, DENOM_FLOOR};
use firstspike::loss::{output_loss, LossOrigin};
use rand::{Rng, SeedableRng};

/// Relative tolerance of analytic vs finite-difference gradients. The map is piecewise smooth;
/// a step of 1e-7 crosses a causal-set boundary only if one lies within 1e-7 of the point,
/// which we detect (the causal sets differ) and skip.
const GRAD_REL_TOL: f64 = 1e-4;
const STEP: f64 = 1e-7;

fn loss(net: &Net<f64>, t_in: &[f64], label: usize) -> (f64, ForwardPass<f64>) {
    let mut pass = ForwardPass::default();
    forward(net, t_in, &mut LayerScratch::default(), &mut pass);
    let mut g = vec![0.0; net.n_outputs()];
    (
        output_loss(pass.outputs(), label, 1.0, LossOrigin::FirstOutput, &mut g)
            .unwrap_or(f64::NAN),
        pass,
    )
}

#[test]
#[allow(clippy::needless_range_loop)] // index loops mirror the layer/weight indices
fn network_gradients_match_finite_differences() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
    let mut checked = 0;
    for trial in 0..80 {
        let arch = [6usize, 5, 4, 3];
        let layers = arch
            .windows(2)
            .map(|p| {
                (
                    p[0],
                    p[1],
                    (0..p[0] * p[1])
                        .map(|_| rng.gen_range(-0.3..0.9))
                        .collect::<Vec<f64>>(),
                )
            })
            .collect();
        let mut net = Net {
            layers,
            theta: 1.0,
            tau: 1.0,
        };
        let t_in: Vec<f64> = (0..arch[0]).map(|_| rng.gen_range(0.0..2.0)).collect();
        let label = trial % 3;
        let (l0, pass) = loss(&net, &t_in, label);
        if !l0.is_finite() {
            continue;
        }
        // Skip networks where a neuron sits below the gradient floor (gradient is guarded there).
        if pass
            .s_minus_theta
            .iter()
            .flatten()
            .any(|&s| s > 0.0 && s < DENOM_FLOOR)
        {
            continue;
        }
        let mut g_out = vec![0.0; 3];
        output_loss(
            pass.outputs(),
            label,
            1.0,
            LossOrigin::FirstOutput,
            &mut g_out,
        )
        .unwrap();
        let mut grads: Vec<Vec<f64>> = net.layers.iter().map(|l| vec![0.0; l.2.len()]).collect();
        backward(
            &net,
            &pass,
            &g_out,
            &mut grads,
            DENOM_FLOOR,
            &mut BackScratch::default(),
            &mut BackwardStats::default(),
        );
        for l in 0..net.layers.len() {
            for p in 0..net.layers[l].2.len() {
                let w0 = net.layers[l].2[p];
                net.layers[l].2[p] = w0 + STEP;
                let (lp, pp) = loss(&net, &t_in, label);
                net.layers[l].2[p] = w0 - STEP;
                let (lm, pm) = loss(&net, &t_in, label);
                net.layers[l].2[p] = w0;
                if pp.causal != pass.causal || pm.causal != pass.causal {
                    continue; // a causal-set boundary within the step: not differentiable here
                }
                let fd = (lp - lm) / (2.0 * STEP);
                let an = grads[l][p];
                assert!(
                    (fd - an).abs() <= GRAD_REL_TOL * (1.0 + fd.abs().max(an.abs())),
                    "trial {trial} layer {l} weight {p}: finite difference {fd} vs backward {an}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 500, "only {checked} gradients checked");
}
