//! Forward pass of a convolutional layer in the analytic solver, generic over f32/f64.
//!
//! [`conv_forward`] runs the position-major sweep of `conv_lanes.rs` (AVX-512 in
//! `conv_simd.rs`); the input-major sweep this module describes is its reference
//! ([`conv_forward_reference`]), which it equals bit for bit.
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

use super::conv_lanes::sweep_positions;
use super::conv_plan::ConvOut;
use super::layer::{LayerRecord, LayerScratch};
use crate::network::Conv;
use crate::neuron::{arrival, bound_factor, crossing_time, integrate, provably_later};
use crate::real::Real;

/// One convolutional layer: input times `t_in` (+inf = none, `(row, column, channel)` order)
/// to output times, recording the input order, each neuron's causal bound and `S - theta` at
/// its spike (see the module doc). Compiled for the CPU's widest instruction set
/// ([`crate::cpu::best`]); every copy computes the same bits.
///
/// It runs the position-major sweep of [`super::conv_lanes`], which gives this module's
/// input-major reference sweep ([`conv_forward_reference`]) bit for bit.
pub(crate) fn conv_forward<F: Real>(
    conv: &Conv<F>,
    t_in: &[F],
    theta: F,
    tau: F,
    scratch: &mut LayerScratch<F>,
    mut out: LayerRecord<'_, F>,
) {
    crate::cpu::best(
        #[inline(always)]
        || {
            let n_out = conv.output().len().unwrap_or(0);
            debug_assert_eq!(Some(t_in.len()), conv.input.len());
            let Some((order, t_out, causal, s_minus_theta)) = out.start(t_in, n_out, scratch)
            else {
                return;
            };
            let out = ConvOut {
                t_out,
                causal,
                s_minus_theta,
            };
            sweep_positions(conv, t_in, order, theta, tau, scratch, out)
        },
    )
}

/// [`conv_forward`] with the input-major sweep described in the module doc: the reference
/// the position-major sweep is tested against.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn conv_forward_reference<F: Real>(
    conv: &Conv<F>,
    t_in: &[F],
    theta: F,
    tau: F,
    scratch: &mut LayerScratch<F>,
    out: LayerRecord<'_, F>,
) {
    crate::cpu::best(
        #[inline(always)]
        || conv_sweep(conv, t_in, theta, tau, scratch, out),
    )
}

/// [`conv_forward_reference`]'s body, inlined into the copy for each instruction set.
#[cfg_attr(not(test), allow(dead_code))]
#[inline(always)]
fn conv_sweep<F: Real>(
    conv: &Conv<F>,
    t_in: &[F],
    theta: F,
    tau: F,
    scratch: &mut LayerScratch<F>,
    mut out: LayerRecord<'_, F>,
) {
    let n_out = conv.output().len().unwrap_or(0);
    debug_assert_eq!(Some(t_in.len()), conv.input.len());
    let Some((order, t_out, causal, s_minus_theta)) = out.start(t_in, n_out, scratch) else {
        return;
    };
    let co = conv.channels;
    let LayerScratch {
        s, a, t_last, last, ..
    } = scratch;
    for v in [&mut *s, &mut *a] {
        v.clear();
        v.resize(n_out, F::zero());
    }
    // The neurons of one output position (its `co` channels) share their inputs, so the
    // last input's time and position are kept per position.
    t_last.clear();
    t_last.resize(n_out / co, F::zero());
    last.clear();
    last.resize(n_out / co, 0);
    let mut sw = Sweep {
        theta,
        tau,
        co,
        t_ref: t_in[order[0] as usize],
        s,
        a,
        t_last,
        last,
        t_out,
        causal,
        s_minus_theta,
    };
    // exp(x) and the test factor of the previous input, reused by the inputs at its time
    // (same x; a rebase forgets them, as x is then 0).
    let (mut t_prev, mut ex, mut ek) = (F::nan(), F::one(), F::one());
    for (k, &i) in order.iter().enumerate() {
        let t = t_in[i as usize];
        let (x, rebase) = arrival(t, sw.t_ref, tau);
        // The pending crossings of the neurons this input reaches are checked against the
        // state before a rebase, as the event engine predicted them.
        if t != t_prev {
            ex = x.exp();
            ek = bound_factor(ex, t, sw.t_ref, tau);
            t_prev = t;
        }
        let k = k as u32;
        if let Some(r) = rebase {
            conv.for_each_target(
                i as usize,
                #[inline(always)]
                |_, j0| sw.fire_due(j0, t, ek),
            );
            sw.rebase(t, r);
            t_prev = F::nan();
            conv.for_each_target(
                i as usize,
                #[inline(always)]
                |tap, j0| sw.integrate(j0, &conv.w[tap * co..(tap + 1) * co], t, F::one(), k),
            );
        } else {
            // Without a rebase, each position's check and update can go together: they
            // touch only that position's neurons.
            conv.for_each_target(
                i as usize,
                #[inline(always)]
                |tap, j0| {
                    sw.fire_due(j0, t, ek);
                    sw.integrate(j0, &conv.w[tap * co..(tap + 1) * co], t, ex, k);
                },
            );
        }
    }
    sw.fire_pending();
}

/// The state of one convolutional layer's sweep: per neuron S (`-inf` once fired) and A
/// (relative to `t_ref`), per output position its last input's time and position, and what
/// the layer records.
#[cfg_attr(not(test), allow(dead_code))]
struct Sweep<'a, F> {
    theta: F,
    tau: F,
    /// Output channels: neurons `p co..(p + 1) co` are output position `p`'s.
    co: usize,
    t_ref: F,
    s: &'a mut [F],
    a: &'a mut [F],
    t_last: &'a mut [F],
    last: &'a mut [u32],
    t_out: &'a mut [F],
    causal: &'a mut [u32],
    s_minus_theta: &'a mut [F],
}

#[cfg_attr(not(test), allow(dead_code))]
impl<F: Real> Sweep<'_, F> {
    /// Fires the neurons of the position starting at neuron `j0` whose pending crossing
    /// comes no later than an input at `t` (`ek` its factor of the test without `ln`),
    /// before that input reaches them.
    #[inline(always)]
    fn fire_due(&mut self, j0: usize, t: F, ek: F) {
        let (theta, js) = (self.theta, j0..j0 + self.co);
        let due =
            self.s[js.clone()]
                .iter()
                .zip(&self.a[js.clone()])
                .fold(false, |m, (&sv, &av)| {
                    let d = sv - theta;
                    m | ((d > F::zero()) & !provably_later(av, ek, d))
                });
        if !due {
            return;
        }
        for j in js {
            let d = self.s[j] - theta;
            if d > F::zero() && !provably_later(self.a[j], ek, d) {
                let tp = self.crossing(j);
                if tp <= t {
                    self.fire(j, tp);
                }
            }
        }
    }

    /// `max(t_ref + tau ln(A / (S - theta)), t_last)` of neuron `j` (`S > theta`).
    #[inline(always)]
    fn crossing(&self, j: usize) -> F {
        let (s, a) = (self.s[j], self.a[j]);
        crossing_time(
            s,
            a,
            self.theta,
            self.t_ref,
            self.tau,
            self.t_last[j / self.co],
        )
    }

    /// Records neuron `j`'s spike at `tp` and takes it out of every later test (`S = -inf`).
    #[inline(always)]
    fn fire(&mut self, j: usize, tp: F) {
        self.t_out[j] = tp;
        self.causal[j] = self.last[j / self.co] + 1;
        self.s_minus_theta[j] = self.s[j] - self.theta;
        self.s[j] = F::neg_infinity();
    }

    /// Moves the reference time to `t`, `A <- A r` with `r = exp(-(t - t_ref)/tau)`.
    #[inline(always)]
    fn rebase(&mut self, t: F, r: F) {
        self.a.iter_mut().for_each(|v| *v = *v * r);
        self.t_ref = t;
    }

    /// The input at position `k`, time `t` (`e = exp((t - t_ref)/tau)`), reaching the
    /// `co` neurons from `j0` with weights `w`: `S += w`, `A += w e`.
    #[inline(always)]
    fn integrate(&mut self, j0: usize, w: &[F], t: F, e: F, k: u32) {
        let js = j0..j0 + self.co;
        let (sj, aj) = (&mut self.s[js.clone()], &mut self.a[js]);
        for ((sv, av), &w) in sj.iter_mut().zip(aj.iter_mut()).zip(w) {
            integrate(sv, av, w, e);
        }
        self.t_last[j0 / self.co] = t;
        self.last[j0 / self.co] = k;
    }

    /// After the last input: whatever crossing is pending happens.
    #[inline(always)]
    fn fire_pending(&mut self) {
        for j in 0..self.s.len() {
            if self.s[j] > self.theta {
                let tp = self.crossing(j);
                self.fire(j, tp);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::analytic::Net;
    use crate::analytic::{forward, ForwardPass, LayerScratch};
    use crate::network::{Arch, Layer};
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
