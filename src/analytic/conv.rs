//! Forward pass of a convolutional layer in the analytic solver, generic over f32/f64.
//!
//! A neuron's spike depends only on its own inputs, in arrival order. The layer's inputs are
//! sorted once by (time, index), as for a dense layer, and swept in that order; each input
//! spike updates only the neurons it reaches (one run of `c_out` neurons per output
//! position, with one run of `c_out` weights). Before input k reaches a neuron with
//! `S > theta`, the neuron's pending crossing is checked: if it comes no later than the
//! input, the neuron has fired and ignores it (and every later input).
//!
//! The arithmetic is the event engine's for a layer that shares one reference time
//! (`crate::event`), operation for operation:
//!
//! ```text
//! x = (t - t_ref)/tau         t_ref: the layer's first input time
//! if x > REBASE_LIMIT:  A <- A exp(-x) for every neuron of the layer,  t_ref <- t,  x <- 0
//! S_j <- S_j + w,   A_j <- A_j + w exp(x),   t_last_j <- t
//! t_pred_j = max(t_ref + tau ln(A_j / (S_j - theta)), t_last_j)     (S_j > theta)
//! ```
//!
//! A crossing is only computed (one `ln`) when the test without `ln`,
//! `A_j > exp(x) k (S_j - theta)` (`k` a rounding margin slightly above 1), cannot prove it
//! later than the input; so there is about one `ln` per neuron that fires.
//!
//! **Causal sets** are recorded as for a dense layer, along the layer's sorted inputs: a
//! neuron's causal set is its own inputs among the first `causal[j]` of that order, where
//! `causal[j]` is one past the position of the last input it integrated.

use super::forward::{sort_inputs, LayerScratch};
use crate::network::Conv;
use crate::real::Real;

/// `exp((T - t_ref)/tau) k(T)` with `k(T) = 1 + TIE_MARGIN + 4 eps (|T| + |t_ref|)/tau`: when
/// `A > this (S - theta)`, the crossing `t_ref + tau ln(A/(S - theta))` computed in `F` is
/// strictly later than `T` (the margin covers the rounding of exp, ln and the products, and
/// the ulps of the absolute times).
#[inline]
pub(crate) fn bound_factor<F: Real>(e: F, t: F, t_ref: F, tau: F) -> F {
    let four = F::of(4.0);
    e * (F::one() + F::TIE_MARGIN + four * F::epsilon() * (t.abs() + t_ref.abs()) / tau)
}

/// The test without `ln`: true when the crossing of a neuron with sums `A = a`,
/// `S - theta = d > 0` is provably later than the time of `ek` ([`bound_factor`]). False when
/// in doubt, NaN included (the crossing is then computed).
#[inline(always)]
fn later<F: Real>(a: F, ek: F, d: F) -> bool {
    a > ek * d
}

/// One convolutional layer: input times `t_in` (+inf = none, `(row, column, channel)` order)
/// to output times, recording the input order, each neuron's causal bound and `S - theta` at
/// its spike (see the module doc).
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_forward<F: Real>(
    conv: &Conv<F>,
    t_in: &[F],
    theta: F,
    tau: F,
    scratch: &mut LayerScratch<F>,
    order: &mut Vec<u32>,
    t_out: &mut Vec<F>,
    causal: &mut Vec<u32>,
    s_minus_theta: &mut Vec<F>,
) {
    let n_out = conv.output().len().unwrap_or(0);
    debug_assert_eq!(Some(t_in.len()), conv.input.len());
    sort_inputs(t_in, scratch, order);
    t_out.clear();
    t_out.resize(n_out, F::infinity());
    causal.clear();
    causal.resize(n_out, 0);
    s_minus_theta.clear();
    s_minus_theta.resize(n_out, F::zero());
    if order.is_empty() {
        return;
    }
    let LayerScratch {
        s, a, t_last, last, ..
    } = scratch;
    for v in [&mut *s, &mut *a, &mut *t_last] {
        v.clear();
        v.resize(n_out, F::zero());
    }
    last.clear();
    last.resize(n_out, 0);
    let co = conv.channels;
    let gone = F::neg_infinity();
    let mut t_ref = t_in[order[0] as usize];
    for (k, &i) in order.iter().enumerate() {
        let t = t_in[i as usize];
        let x = (t - t_ref) / tau;
        // The pending crossings of the neurons this input reaches are checked against the
        // state before a rebase, as the event engine predicted them.
        let ex = x.exp();
        let ek = bound_factor(ex, t, t_ref, tau);
        conv.for_each_target(i as usize, |_, j0| {
            let (sj, aj) = (&mut s[j0..j0 + co], &mut a[j0..j0 + co]);
            let due = sj.iter().zip(aj.iter()).fold(false, |m, (&sv, &av)| {
                let d = sv - theta;
                m | ((d > F::zero()) & !later(av, ek, d))
            });
            if due {
                for o in 0..co {
                    let d = sj[o] - theta;
                    if d > F::zero() && !later(aj[o], ek, d) {
                        let j = j0 + o;
                        let tp = (t_ref + tau * (aj[o] / d).ln()).max(t_last[j]);
                        if tp <= t {
                            t_out[j] = tp;
                            causal[j] = last[j] + 1;
                            s_minus_theta[j] = d;
                            sj[o] = gone;
                        }
                    }
                }
            }
        });
        let e = if x > F::REBASE_LIMIT {
            let r = (-x).exp();
            a.iter_mut().for_each(|v| *v = *v * r);
            t_ref = t;
            F::one()
        } else {
            ex
        };
        conv.for_each_target(i as usize, |tap, j0| {
            let wr = &conv.w[tap * co..(tap + 1) * co];
            let (sj, aj) = (&mut s[j0..j0 + co], &mut a[j0..j0 + co]);
            for ((sv, av), &w) in sj.iter_mut().zip(aj.iter_mut()).zip(wr) {
                *sv = *sv + w;
                *av = *av + w * e;
            }
            t_last[j0..j0 + co].iter_mut().for_each(|v| *v = t);
            last[j0..j0 + co].iter_mut().for_each(|v| *v = k as u32);
        });
    }
    // After the last input: whatever crossing is pending happens.
    for j in 0..n_out {
        if s[j] > theta {
            t_out[j] = (t_ref + tau * (a[j] / (s[j] - theta)).ln()).max(t_last[j]);
            causal[j] = last[j] + 1;
            s_minus_theta[j] = s[j] - theta;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::analytic::{forward, ForwardPass, LayerScratch};
    use crate::network::{Arch, Layer, Net};
    use crate::neuron::UNIT_CASES;
    use rand::{Rng, SeedableRng};

    /// A convolutional net and the same net with each convolution written out as a dense
    /// layer compute the same spikes, bit for bit: the convolution sweeps only a neuron's own
    /// inputs, the dense layer all of them, but the other inputs have weight +0, which leaves
    /// S and A exactly as they were. Causal sets agree as sets of the neuron's own inputs
    /// (the dense layer counts the zero-weight ones too).
    #[test]
    fn conv_equals_its_unrolled_dense_layer() {
        for p in UNIT_CASES {
            let (tau, theta) = (p.tau_syn, p.theta);
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
            for arch in ["7x6-3c3p1-4c3s2-5", "6x6x2-2c2s2-3c3p2-4", "5x5-4c5-3"] {
                let arch = Arch::parse(arch).unwrap();
                for _ in 0..30 {
                    let layers = arch.build(|_, fan_in, n| {
                        (0..n)
                            .map(|_| theta * 3.0 / fan_in as f64 * rng.gen_range(-0.5..1.5))
                            .collect::<Vec<f64>>()
                    });
                    let dense: Vec<Layer<f64>> = layers
                        .iter()
                        .map(|l| match l {
                            Layer::Conv(c) => Layer::Dense(c.to_dense()),
                            d => d.clone(),
                        })
                        .collect();
                    let t_in: Vec<f64> = (0..arch.n_inputs())
                        .map(|_| match rng.gen_range(0..8) {
                            0 => f64::INFINITY,
                            1 => tau,
                            _ => tau * rng.gen_range(0.0..3.0),
                        })
                        .collect();
                    let run = |layers: Vec<Layer<f64>>| {
                        let mut pass = ForwardPass::default();
                        let net = Net { layers, theta, tau };
                        forward(&net, &t_in, &mut LayerScratch::default(), &mut pass);
                        pass
                    };
                    let (pc, pd) = (run(layers.clone()), run(dense.clone()));
                    assert_eq!(pc.times, pd.times);
                    assert_eq!(pc.s_minus_theta, pd.s_minus_theta);
                    for (l, layer) in dense.iter().enumerate() {
                        let Layer::Dense(d) = layer else {
                            unreachable!()
                        };
                        let own = |c: u32, j: usize| -> Vec<u32> {
                            pc.order[l][..c as usize]
                                .iter()
                                .copied()
                                .filter(|&i| d.w[i as usize * d.n_out + j] != 0.0)
                                .collect()
                        };
                        for j in 0..d.n_out {
                            assert_eq!(own(pc.causal[l][j], j), own(pd.causal[l][j], j));
                        }
                    }
                }
            }
        }
    }
}
