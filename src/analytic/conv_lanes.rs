//! The convolutional layer's sweep turned around: position by position, with the sums of a
//! run of output channels held in registers, lane by lane.
//!
//! [`super::conv`]'s reference sweep goes input by input along the layer's sorted inputs and
//! updates, for each, the `c_out` neurons of every output position the input reaches: two
//! loads and two stores of `S` and `A` per neuron and input. The neurons of one output
//! position do not interact with any other neuron, so the loops can be turned around, as the
//! dense layer's AVX-512 kernel does: each output position takes its own inputs (its
//! receptive field's spikes, in the layer's time order) with the sums of `C` channels kept
//! in fixed-size lane arrays, which the compiler holds in vector registers; only the
//! weights stream from memory.
//!
//! Every neuron takes the same IEEE operations in the same order as in the reference sweep
//! (the helpers of [`crate::neuron`]), so the results are the same bit for bit:
//!
//! ```text
//! per input k (layer order):  x_k = (t_k - t_ref)/tau,  ek_k = bound_factor(exp(x_k), t_k, t_ref)
//!                             a rebase (x_k > REBASE_LIMIT) multiplies every A by exp(-x_k)
//! per position, per own input k:
//!     fire the due neurons:   S - theta > 0, not provably_later(A, ek_k, S - theta),
//!                             crossing_time(S, A, theta, t_ref, tau, t_last) <= t_k
//!     integrate:              S += w,  A += w exp(x_k)        (exp(x_k) = 1 after a rebase)
//! ```
//!
//! A rebase reaches every neuron of the layer, also those that its input does not reach;
//! positions apply the layer's rebases in order as their own inputs pass them.

use super::conv_plan::{decide_lanes, ConvOut, ConvPlan, Due, RunArgs};
use super::conv_simd;
use super::layer::LayerScratch;
use crate::network::Conv;
use crate::neuron::{arrival, bound_factor, integrate, provably_later};
use crate::real::Real;

/// Channels per run of the generic sweep: the length of the lane arrays of `S`, `A` and the
/// weights (runs of 32 measured slower: their arrays went to the stack).
const RUN: usize = 16;

#[cfg(test)]
impl<F> LayerScratch<F> {
    /// The rebases of the last convolution swept (tests: that rebasing was exercised).
    pub(crate) fn conv_rebases(&self) -> &[(u32, F)] {
        &self.conv.rebases
    }
}

/// The position-major sweep of a convolution over inputs `t_in` sorted into `order`
/// (non-empty), writing the neurons that fire into `out` (which starts with every neuron
/// silent). The same outputs, bit for bit, as the reference input-major sweep.
#[inline(always)]
pub(crate) fn sweep_positions<F: Real>(
    conv: &Conv<F>,
    t_in: &[F],
    order: &[u32],
    theta: F,
    tau: F,
    scratch: &mut LayerScratch<F>,
    out: ConvOut<'_, F>,
) {
    let plan = &mut scratch.conv;
    let t_ref0 = t_in[order[0] as usize];
    let t_ref_end = plan_inputs(t_in, order, tau, plan);
    let (positions, stride) = plan_positions(conv, order, plan);
    let co = conv.channels;
    let mut out = out;
    let mut c0 = 0;
    // Runs of RUN channels, then the remainder in narrower runs (odd channel counts).
    while c0 < co {
        let width = co - c0;
        let args = RunArgs {
            w: &conv.w,
            co,
            plan,
            theta,
            tau,
            t_ref0,
            t_ref_end,
            stride,
        };
        // The AVX-512 kernel where it runs, for whole runs of its width.
        if conv_simd::run(&args, positions, c0, &mut out) {
            c0 += conv_simd::run_width::<F>();
            continue;
        }
        let done = match width {
            w if w >= RUN => args.run::<RUN>(positions, c0, &mut out),
            w if w >= 8 => args.run::<8>(positions, c0, &mut out),
            w if w >= 4 => args.run::<4>(positions, c0, &mut out),
            _ => args.run::<1>(positions, c0, &mut out),
        };
        c0 += done;
    }
}

/// Fills the per-input part of `plan` and returns the layer's reference time after its last
/// rebase.
#[inline(always)]
fn plan_inputs<F: Real>(t_in: &[F], order: &[u32], tau: F, plan: &mut ConvPlan<F>) -> F {
    plan.t.clear();
    plan.e.clear();
    plan.ek.clear();
    plan.rebases.clear();
    let mut t_ref = t_in[order[0] as usize];
    // exp and the bound factor of the previous input, reused by inputs at its time (the
    // same arguments give the same bits; a rebase changes t_ref and forgets them).
    let (mut t_prev, mut ex, mut ek) = (F::nan(), F::one(), F::one());
    for (k, &i) in order.iter().enumerate() {
        let t = t_in[i as usize];
        let (x, rebase) = arrival(t, t_ref, tau);
        if t != t_prev {
            ex = x.exp();
            ek = bound_factor(ex, t, t_ref, tau);
            t_prev = t;
        }
        plan.t.push(t);
        plan.ek.push(ek);
        match rebase {
            Some(r) => {
                plan.rebases.push((k as u32, r));
                t_ref = t;
                t_prev = F::nan();
                plan.e.push(F::one());
            }
            None => plan.e.push(ex),
        }
    }
    t_ref
}

/// Fills each output position's own inputs `(k, tap)` in time order; returns the number of
/// positions and the slots per position (the receptive field's size).
#[inline(always)]
fn plan_positions<F>(conv: &Conv<F>, order: &[u32], plan: &mut ConvPlan<F>) -> (usize, usize) {
    let out = conv.output();
    let positions = out.h * out.w;
    let stride = conv.kernel * conv.kernel * conv.input.c;
    plan.count.clear();
    plan.count.resize(positions, 0);
    plan.entries.resize(positions * stride, (0, 0));
    let table = plan.tables.of(conv);
    let (entries, count) = (&mut plan.entries[..], &mut plan.count[..]);
    for (k, &i) in order.iter().enumerate() {
        for &(p, tap) in table.targets(i as usize) {
            let p = p as usize;
            let n = count[p] as usize;
            entries[p * stride + n] = (k as u32, tap);
            count[p] += 1;
        }
    }
    (positions, stride)
}

impl<F: Real> RunArgs<'_, F> {
    /// Channels `c0..c0 + C` of every position through its own inputs; returns `C`.
    #[inline(always)]
    fn run<const C: usize>(&self, positions: usize, c0: usize, out: &mut ConvOut<'_, F>) -> usize {
        for p in 0..positions {
            self.position::<C>(p, c0, out);
        }
        C
    }

    /// Channels `c0..c0 + C` of output position `p` (see the module doc).
    #[inline(always)]
    fn position<const C: usize>(&self, p: usize, c0: usize, out: &mut ConvOut<'_, F>) {
        let (theta, tau, plan) = (self.theta, self.tau, self.plan);
        let (co, w) = (self.co, self.w);
        let n = plan.count[p] as usize;
        let own = &plan.entries[p * self.stride..p * self.stride + n];
        let mut s = [F::zero(); C];
        let mut a = [F::zero(); C];
        let mut t_ref = self.t_ref0;
        let mut t_last = F::zero();
        let mut last = 0u32;
        let rebases = &plan.rebases[..];
        let mut r = 0;
        let j0 = p * co + c0;
        for &(k, tap) in own {
            let ku = k as usize;
            // The layer's rebases before this input reach this position's sums too.
            while r < rebases.len() && rebases[r].0 < k {
                let f = rebases[r].1;
                a.iter_mut().for_each(|v| *v = *v * f);
                t_ref = plan.t[rebases[r].0 as usize];
                r += 1;
            }
            let (t, ek) = (plan.t[ku], plan.ek[ku]);
            // Pending crossings no later than this input fire before it reaches them.
            let due = s.iter().zip(&a).fold(false, |m, (&sv, &av)| {
                let d = sv - theta;
                m | ((d > F::zero()) & !provably_later(av, ek, d))
            });
            if due {
                let at = Due {
                    t,
                    t_ref,
                    t_last,
                    causal: last + 1,
                    j0,
                };
                let fired = decide(s, a, ek, theta, tau, at, out);
                for (l, sv) in s.iter_mut().enumerate() {
                    if fired >> l & 1 == 1 {
                        *sv = F::neg_infinity();
                    }
                }
            }
            if r < rebases.len() && rebases[r].0 == k {
                let f = rebases[r].1;
                a.iter_mut().for_each(|v| *v = *v * f);
                t_ref = t;
                r += 1;
            }
            let e = plan.e[ku];
            let row = tap as usize * co + c0;
            let wr: &[F; C] = w[row..row + C].try_into().expect("C weights");
            for l in 0..C {
                integrate(&mut s[l], &mut a[l], wr[l], e);
            }
            t_last = t;
            last = k;
        }
        // After the layer's last input: the rebases after this position's last input, then
        // whatever crossing is pending happens.
        if r < rebases.len() {
            for &(_, f) in &rebases[r..] {
                a.iter_mut().for_each(|v| *v = *v * f);
            }
            t_ref = self.t_ref_end;
        }
        let at = Due {
            t: F::infinity(),
            t_ref,
            t_last,
            causal: last + 1,
            j0,
        };
        // With ek = +inf no crossing is provably later: every neuron with S > theta fires.
        decide(s, a, F::infinity(), theta, tau, at, out);
    }
}

/// The exact decision of a run of `C` neurons with sums `s`, `a`: the candidates (`S -
/// theta > 0` and a crossing not provably later than the time of `ek`, its bound factor)
/// go to [`decide_lanes`]. Returns the mask of those that fired.
///
/// Out of line and cold, with the sums passed by value, so that the sweep keeps them in
/// registers where it can (the `ln` called here would clobber them).
#[cold]
#[inline(never)]
fn decide<F: Real, const C: usize>(
    s: [F; C],
    a: [F; C],
    ek: F,
    theta: F,
    tau: F,
    at: Due<F>,
    out: &mut ConvOut<'_, F>,
) -> u64 {
    let candidates = s
        .iter()
        .zip(&a)
        .enumerate()
        .fold(0u64, |m, (l, (&sv, &av))| {
            let d = sv - theta;
            m | u64::from((d > F::zero()) && !provably_later(av, ek, d)) << l
        });
    decide_lanes(&s, &a, candidates, theta, tau, at, out)
}

#[cfg(test)]
mod tests {
    use crate::analytic::conv::{conv_forward, conv_forward_reference};
    use crate::analytic::{LayerRecord, LayerScratch};
    use crate::network::{Arch, Conv, Layer};
    use crate::real::Real;
    use rand::{Rng, SeedableRng};

    /// The position-major sweep gives the input-major reference's outputs bit for bit, in
    /// f64 and f32: convolutions of several channel counts (whole runs of `RUN`, narrower
    /// runs and odd remainders), strides and paddings, with ties, silent inputs and spans
    /// long enough to rebase (f64 500 tau, f32 60 tau). Fails on a mutated sweep: enough
    /// neurons fire (and stay silent) for the comparison to mean something.
    #[test]
    fn the_position_sweep_equals_the_reference_bit_for_bit() {
        same_outputs::<f64>(31, &[3.0, 3000.0]);
        same_outputs::<f32>(32, &[3.0, 300.0]);
    }

    /// A convolution's forward pass, as both sweeps are called.
    type Sweep<F> = fn(&Conv<F>, &[F], F, F, &mut LayerScratch<F>, LayerRecord<'_, F>);

    fn same_outputs<F: Real>(seed: u64, spans: &[f64]) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let (mut fired, mut total, mut rebased) = (0, 0, 0);
        let archs = [
            "9x9x3-64c5s2p2-4",
            "8x8x2-32c3p1-4",
            "7x7-45c3s2-4",
            "6x6x4-3c2-4",
            "10x10-21c5s2p2-4",
        ];
        for &span in spans {
            for arch in archs {
                let arch = Arch::parse(arch).unwrap();
                for _ in 0..12 {
                    let (theta, tau) = (F::of(1.3), F::of(0.7));
                    let w_scale = rng.gen_range(0.3..1.2);
                    let layers = arch.build(|_, fan_in, n| {
                        (0..n)
                            .map(|_| {
                                F::of(
                                    1.3 * 4.0 * w_scale / fan_in as f64 * rng.gen_range(-0.5..1.5),
                                )
                            })
                            .collect::<Vec<F>>()
                    });
                    let Layer::Conv(conv) = &layers[0] else {
                        unreachable!("a convolution first")
                    };
                    let t_in: Vec<F> = (0..arch.n_inputs())
                        .map(|_| {
                            F::of(match rng.gen_range(0..10) {
                                0 => f64::INFINITY,
                                1 | 2 => 0.7 * span / 3.0, // deliberate ties
                                _ => 0.7 * rng.gen_range(0.0..span),
                            })
                        })
                        .collect();
                    let bits = |v: &[F]| v.iter().map(|x| x.f64().to_bits()).collect::<Vec<_>>();
                    let sc = &mut LayerScratch::default();
                    // One sweep into fresh slots: (order, times, causal bounds, S - theta).
                    let sweep = |f: Sweep<F>, sc: &mut LayerScratch<F>| {
                        let (mut o, mut t, mut c, mut m) = (vec![], vec![], vec![], vec![]);
                        let rec = LayerRecord {
                            order: &mut o,
                            t_out: &mut t,
                            causal: &mut c,
                            s_minus_theta: &mut m,
                        };
                        f(conv, &t_in, theta, tau, sc, rec);
                        (o, bits(&t), c, bits(&m))
                    };
                    let fast = sweep(conv_forward, sc);
                    rebased += usize::from(!sc.conv_rebases().is_empty());
                    let reference = sweep(conv_forward_reference, sc);
                    assert_eq!(fast, reference, "{arch:?}, span {span}");
                    fired += reference.2.iter().filter(|&&k| k > 0).count();
                    total += reference.2.len();
                }
            }
        }
        assert!(
            fired > total / 10 && fired < total * 9 / 10,
            "{fired} of {total} fired"
        );
        assert!(rebased > 10, "only {rebased} layers rebased");
    }
}
