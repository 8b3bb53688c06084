//! Gradients of the whole network against central finite differences (f64), at the default
//! neuron parameters and at others (see `common::UNIT_CASES`).

mod common;

use common::UNIT_CASES;

use firstspike::analytic::{forward, ForwardPass, LayerScratch, Net};
use firstspike::grad::{backward, backward_with_gain, BackScratch, BackwardStats, DENOM_FLOOR};
use firstspike::loss::{output_loss, GainPenalty, LossOrigin};
use firstspike::network::Arch;
use rand::{Rng, SeedableRng};

/// Relative tolerance of analytic vs finite-difference gradients. The map is piecewise smooth;
/// a step of 1e-7 theta crosses a causal-set boundary only if one lies within 1e-7 theta of
/// the point, which we detect (the causal sets differ) and skip. Within a piece the central
/// difference errs by ~1e-14 (curvature) plus ~1e-9 (rounding of a loss of order 1 over
/// 2e-7); 1e-4 leaves room for steep neurons, and a factor tau or theta off is far outside.
const GRAD_REL_TOL: f64 = 1e-4;
/// Finite-difference step on the weights, in units of theta (weights are potentials).
const STEP: f64 = 1e-7;

fn loss(net: &Net<f64>, t_in: &[f64], label: usize, origin: LossOrigin) -> (f64, ForwardPass<f64>) {
    let mut pass = ForwardPass::default();
    forward(net, t_in, &mut LayerScratch::default(), &mut pass);
    let mut g = vec![0.0; net.n_outputs()];
    (
        output_loss(pass.outputs(), label, net.tau, origin, &mut g).unwrap_or(f64::NAN),
        pass,
    )
}

/// Every weight gradient of random 6-5-4-3 networks against central differences of the
/// loss, for each parameter set and the three kinds of loss origin (input, first output, a
/// fixed time): weights in [-0.3, 0.9) theta and input times in [0, 2) tau, so that the
/// networks behave alike in every unit, while every formula sees other numbers.
#[test]
fn network_gradients_match_finite_differences() {
    for p in UNIT_CASES {
        for origin in [
            LossOrigin::FirstOutput,
            LossOrigin::Input,
            LossOrigin::At(1.2),
        ] {
            check_network_gradients("6-5-4-3", p.tau_syn, p.theta, origin, 500);
        }
    }
}

/// The same for convolutional networks: a padded convolution, a strided one, then a dense
/// output layer (a kernel weight's gradient sums over every position it is used at).
#[test]
fn conv_network_gradients_match_finite_differences() {
    for p in UNIT_CASES {
        for origin in [
            LossOrigin::FirstOutput,
            LossOrigin::Input,
            LossOrigin::At(1.2),
        ] {
            check_network_gradients("5x5-3c3p1-2c3s2-3", p.tau_syn, p.theta, origin, 500);
        }
    }
}

/// A net of `arch` with weights drawn in [-0.3, 0.9) theta, and input times in [0, 2) tau.
fn random_case(
    arch: &Arch,
    rng: &mut rand_chacha::ChaCha8Rng,
    tau: f64,
    theta: f64,
) -> (Net<f64>, Vec<f64>) {
    let layers = arch.build(|_, _, n| {
        (0..n)
            .map(|_| theta * rng.gen_range(-0.3..0.9))
            .collect::<Vec<f64>>()
    });
    let t_in = (0..arch.n_inputs())
        .map(|_| tau * rng.gen_range(0.0..2.0))
        .collect();
    (Net { layers, theta, tau }, t_in)
}

#[allow(clippy::needless_range_loop)] // index loops mirror the layer/weight indices
fn check_network_gradients(arch: &str, tau: f64, theta: f64, origin: LossOrigin, want: usize) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
    let mut checked = 0;
    let arch = Arch::parse(arch).unwrap();
    for trial in 0..40 {
        let (mut net, t_in) = random_case(&arch, &mut rng, tau, theta);
        let label = trial % 3;
        let (l0, pass) = loss(&net, &t_in, label, origin);
        if !l0.is_finite() {
            continue;
        }
        // Skip networks where a neuron sits below the gradient floor (gradient is guarded there).
        if pass
            .s_minus_theta
            .iter()
            .flatten()
            .any(|&s| s > 0.0 && s < DENOM_FLOOR * theta)
        {
            continue;
        }
        let mut g_out = vec![0.0; 3];
        output_loss(pass.outputs(), label, tau, origin, &mut g_out).unwrap();
        let mut grads: Vec<Vec<f64>> = net
            .layers
            .iter()
            .map(|l| vec![0.0; l.weights().len()])
            .collect();
        backward(
            &net,
            &pass,
            &g_out,
            &mut grads,
            DENOM_FLOOR * theta,
            &mut BackScratch::default(),
            &mut BackwardStats::default(),
        );
        for l in 0..net.layers.len() {
            for p in 0..net.layers[l].weights().len() {
                let w0 = net.layers[l].weights()[p];
                let h = STEP * theta;
                net.layers[l].weights_mut()[p] = w0 + h;
                let (lp, pp) = loss(&net, &t_in, label, origin);
                net.layers[l].weights_mut()[p] = w0 - h;
                let (lm, pm) = loss(&net, &t_in, label, origin);
                net.layers[l].weights_mut()[p] = w0;
                if pp.causal != pass.causal || pm.causal != pass.causal {
                    continue; // a causal-set boundary within the step: not differentiable here
                }
                let fd = (lp - lm) / (2.0 * h);
                let an = grads[l][p];
                assert!(
                    (fd - an).abs() <= GRAD_REL_TOL * (1.0 + fd.abs().max(an.abs())),
                    "tau {tau} theta {theta} {origin:?} trial {trial} layer {l} weight {p}: \
                     finite difference {fd} vs backward {an}"
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked > want,
        "tau {tau} theta {theta} {origin:?}: only {checked} gradients checked"
    );
}

/// Gain control (`GainPenalty`, `train --gain-band`): the gradient of the penalty on every
/// firing neuron's S - theta, alone (no loss gradient at all) and added to the loss's, against
/// central differences of the penalty (and of loss + penalty), for dense and convolutional
/// networks at every parameter set. The band and the knee are set so that the neurons of the
/// random networks fall in every piece of the penalty: below the knee (its tangent line),
/// between the knee and the band, inside the band and above it; each piece is counted.
#[test]
fn gain_penalty_gradients_match_finite_differences() {
    for p in UNIT_CASES {
        for arch in ["6-5-4-3", "5x5-3c3p1-2c3s2-3"] {
            for with_loss in [false, true] {
                check_gain_gradients(arch, p.tau_syn, p.theta, with_loss);
            }
        }
    }
}

#[allow(clippy::needless_range_loop)] // index loops mirror the layer/weight indices
fn check_gain_gradients(arch: &str, tau: f64, theta: f64, with_loss: bool) {
    let gain = GainPenalty {
        low: 0.5 * theta,
        high: 1.0 * theta,
        knee: 0.2 * theta,
        weight: 0.7,
    };
    let origin = LossOrigin::Input;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let arch = Arch::parse(arch).unwrap();
    let (mut checked, mut pushed) = (0, 0);
    // Neurons seen below the knee, between knee and band, in the band, above it.
    let mut pieces = [0usize; 4];
    for trial in 0..40 {
        let (mut net, t_in) = random_case(&arch, &mut rng, tau, theta);
        let label = trial % 3;
        let total = |net: &Net<f64>| {
            let (l, pass) = loss(net, &t_in, label, origin);
            let l = if with_loss { l } else { 0.0 };
            (l + gain.of_pass(&pass), pass)
        };
        let (l0, pass) = total(&net);
        if !l0.is_finite() {
            continue;
        }
        // With the loss, skip networks where its gradient is guarded by the floor.
        if with_loss
            && pass
                .s_minus_theta
                .iter()
                .flatten()
                .any(|&s| s > 0.0 && s < DENOM_FLOOR * theta)
        {
            continue;
        }
        for (l, smt) in pass.s_minus_theta.iter().enumerate() {
            for (&t, &d) in pass.times_of(l + 1).iter().zip(smt) {
                if t.is_finite() {
                    let k = if d < gain.knee {
                        0
                    } else if d < gain.low {
                        1
                    } else if d <= gain.high {
                        2
                    } else {
                        3
                    };
                    pieces[k] += 1;
                }
            }
        }
        let mut g_out = vec![0.0; 3];
        if with_loss {
            output_loss(pass.outputs(), label, tau, origin, &mut g_out).unwrap();
        }
        let mut grads: Vec<Vec<f64>> = net
            .layers
            .iter()
            .map(|l| vec![0.0; l.weights().len()])
            .collect();
        backward_with_gain(
            &net,
            &pass,
            &g_out,
            &mut grads,
            DENOM_FLOOR * theta,
            Some(&gain),
            &mut BackScratch::default(),
            &mut BackwardStats::default(),
        );
        for l in 0..net.layers.len() {
            for p in 0..net.layers[l].weights().len() {
                let w0 = net.layers[l].weights()[p];
                let h = STEP * theta;
                net.layers[l].weights_mut()[p] = w0 + h;
                let (lp, pp) = total(&net);
                net.layers[l].weights_mut()[p] = w0 - h;
                let (lm, pm) = total(&net);
                net.layers[l].weights_mut()[p] = w0;
                if pp.causal != pass.causal || pm.causal != pass.causal {
                    continue; // a causal-set boundary within the step
                }
                let fd = (lp - lm) / (2.0 * h);
                let an = grads[l][p];
                assert!(
                    (fd - an).abs() <= GRAD_REL_TOL * (1.0 + fd.abs().max(an.abs())),
                    "tau {tau} theta {theta} loss {with_loss} trial {trial} layer {l} weight {p}: \
                     finite difference {fd} vs backward {an}"
                );
                checked += 1;
                pushed += usize::from(an != 0.0);
            }
        }
    }
    assert!(
        checked > 300 && pushed > 100,
        "tau {tau} theta {theta} loss {with_loss}: {checked} gradients checked, {pushed} nonzero"
    );
    assert!(
        pieces.iter().all(|&n| n >= 3),
        "tau {tau} theta {theta}: neurons per piece of the penalty {pieces:?}"
    );
}
