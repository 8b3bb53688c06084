//! Forward pass of the analytic solver, generic over f32/f64.

use super::conv::conv_forward;
use super::dense_simd::layer_forward_simd;
use super::layer::{LayerRecord, LayerScratch};
use super::net::Net;
use crate::network::{Dense, Layer};
use crate::neuron::{arrival, crossing_time, integrate, may_cross_by};
use crate::pass::ForwardPass;
use crate::real::Real;

/// Neurons per segment of [`layer_forward`]'s sweep: each segment keeps a flag "some neuron
/// here passed the candidate test" and a count of its silent neurons, so that the exact
/// decision only visits flagged segments and the sweep skips segments whose neurons have all
/// fired. Segments of 64 made the f64 sweep slower (bookkeeping per segment), 128 and 256
/// measured alike.
const SEG: usize = 128;

/// Neurons per block of the exact decision within a flagged segment.
const LANES: usize = 16;

/// Bit l set: neuron l of `s`, `a` (at most `LANES`) passes the candidate test against `zc`.
/// Fixed-size lanes, so that the tests vectorise into one mask.
#[inline(always)]
fn candidates<F: Real>(s: &[F], a: &[F], theta: F, zc: F) -> u32 {
    match (<&[F; LANES]>::try_from(s), <&[F; LANES]>::try_from(a)) {
        (Ok(s), Ok(a)) => (0..LANES).fold(0, |m, l| {
            m | u32::from(may_cross_by(s[l], a[l], theta, zc)) << l
        }),
        _ => s.iter().zip(a).enumerate().fold(0, |m, (l, (&sj, &aj))| {
            m | u32::from(may_cross_by(sj, aj, theta, zc)) << l
        }),
    }
}

/// One fully connected layer: input times `t_in` (+inf = none) to output times, recording the
/// input order and each neuron's causal set.
///
/// For each input k in (time, index) order, first every still-silent neuron whose pending
/// crossing `max(t_ref + tau ln(A/(S - theta)), t_last)` (with `S > theta`; `t_last` the last
/// integrated input's time, which only absorbs rounding) is no later than input k fires,
/// with the first k inputs as its causal set; then input k's row is added:
/// `S += w`, `A += w exp((t_k - t_ref)/tau)`. `t_ref` is the first input's time, rebased as in
/// [`crate::neuron::NeuronState::on_input`]; the crossing, rebase and tests are the helpers of
/// [`crate::neuron`]. Stops early once every neuron has fired.
///
/// Cost O(inputs until all fired x n_out), in one vectorised sweep per input: the update of
/// input k, which also tests every neuron against the next input,
/// `A <= z_{k+1} (1 + margin)(S - theta)` (a test without division), and flags each segment
/// of `SEG` neurons where some neuron passed. Only then does input k + 1 start by deciding
/// the flagged segments' candidates exactly in the time domain, `LANES` neurons at a time
/// through a bit mask of the candidates (with jittered inputs most neurons fire alone, each
/// after such a decision: a branch per neuron tested was a fifth of the training forward
/// pass). A neuron that has fired gets `S = -inf`, which keeps it out of every later test;
/// a segment whose neurons have all fired is no longer swept.
///
/// On a CPU with AVX-512, layers of at least 32 (f64) or 64 (f32) neurons run the same
/// computation with the loops turned around: a block of neurons takes every input in turn
/// with its sums in vector registers (measured: `eval` 1.14x less CPU on a quiet machine,
/// more on a busy one). Each neuron takes the same operations in the same order either way,
/// so the results are the same bit for bit.
pub fn layer_forward<F: Real>(
    layer: &Dense<F>,
    t_in: &[F],
    theta: F,
    tau: F,
    scratch: &mut LayerScratch<F>,
    mut out: LayerRecord<'_, F>,
) {
    if layer_forward_simd(layer, t_in, theta, tau, scratch, &mut out) {
        return;
    }
    layer_forward_generic(layer, t_in, theta, tau, scratch, out)
}

/// [`layer_forward`] without the explicit-SIMD kernel: the sweep written for every CPU
/// (compiled for the widest instruction set the CPU has). The same results, bit for bit.
pub(crate) fn layer_forward_generic<F: Real>(
    layer: &Dense<F>,
    t_in: &[F],
    theta: F,
    tau: F,
    scratch: &mut LayerScratch<F>,
    out: LayerRecord<'_, F>,
) {
    crate::cpu::best(
        #[inline(always)]
        || sweep_layer(layer, t_in, theta, tau, scratch, out),
    )
}

/// [`layer_forward`]'s body, inlined into the copy for each instruction set.
///
/// Long by design: it is the solver's one hot loop (the update sweep, the candidate scan and
/// their shared state in registers), compiled once per instruction set; split into calls, the
/// state would cross function boundaries in every sweep.
#[inline(always)]
fn sweep_layer<F: Real>(
    layer: &Dense<F>,
    t_in: &[F],
    theta: F,
    tau: F,
    scratch: &mut LayerScratch<F>,
    mut out: LayerRecord<'_, F>,
) {
    let (n_in, n_out, w) = (layer.n_in, layer.n_out, &layer.w[..]);
    debug_assert_eq!(w.len(), n_in * n_out);
    debug_assert_eq!(t_in.len(), n_in);
    let Some((order, t_out, causal, s_minus_theta)) = out.start(t_in, n_out, scratch) else {
        return;
    };
    let LayerScratch {
        s,
        a,
        flagged,
        left,
        ..
    } = scratch;
    s.clear();
    s.resize(n_out, F::zero());
    a.clear();
    a.resize(n_out, F::zero());
    let segs = n_out.div_ceil(SEG);
    flagged.clear();
    flagged.resize(segs, false);
    left.clear();
    left.extend((0..segs).map(|c| ((c + 1) * SEG).min(n_out) as u32 - (c * SEG) as u32));
    let mut silent = n_out;
    let mut t_ref = t_in[order[0] as usize];
    let near = F::one() + F::TIE_MARGIN;
    let gone = F::neg_infinity();
    // exp((t_k - t_ref)/tau) of the current input, computed one step ahead.
    let mut z_here = F::one();
    // Whether some neuron passed the candidate test against the current input.
    let mut pending = false;

    for (k, &i) in order.iter().enumerate() {
        let t = t_in[i as usize];
        if pending {
            // Pending crossings no later than this input fire now (causal set = k inputs).
            // The candidates (A <= z_k (1 + margin)(S - theta), S > theta) of the flagged
            // segments are decided exactly in the time domain (with jittered inputs most
            // neurons fire alone, each after such a decision).
            let zc = z_here * near;
            let t_last = t_in[order[k - 1] as usize];
            for c in 0..segs {
                if !std::mem::take(&mut flagged[c]) {
                    continue;
                }
                let (lo, hi) = (c * SEG, ((c + 1) * SEG).min(n_out));
                for lo in (lo..hi).step_by(LANES) {
                    let hi = (lo + LANES).min(hi);
                    let mut mask = candidates(&s[lo..hi], &a[lo..hi], theta, zc);
                    while mask != 0 {
                        let j = lo + mask.trailing_zeros() as usize;
                        mask &= mask - 1;
                        let tp = crossing_time(s[j], a[j], theta, t_ref, tau, t_last);
                        if tp <= t {
                            t_out[j] = tp;
                            causal[j] = k as u32;
                            s_minus_theta[j] = s[j] - theta;
                            s[j] = gone;
                            silent -= 1;
                            left[c] -= 1;
                        }
                    }
                }
            }
            if silent == 0 {
                return;
            }
        }
        if let (_, Some(f)) = arrival(t, t_ref, tau) {
            a.iter_mut().for_each(|v| *v = *v * f);
            t_ref = t;
            z_here = F::one();
        }
        let z = z_here;
        // The next input's test threshold, so that the update sweep can test as it goes.
        // An input at the same time as this one has this one's z, bit for bit: the same exp
        // of the same argument, since a tied input cannot rebase (this one already did if
        // it had to). So ties (black pixels, all at t_max) cost no exp.
        let zn = match order.get(k + 1) {
            Some(&n) if t_in[n as usize] == t => z,
            Some(&n) => ((t_in[n as usize] - t_ref) / tau).exp(),
            None => F::infinity(),
        };
        let zc = zn * near;
        let row = &w[i as usize * n_out..(i as usize + 1) * n_out];
        pending = false;
        // Segments whose neurons have all fired are skipped: nothing reads their sums again.
        // The test reads the new sums from registers, not back from memory: a reload right
        // after the store stalls (store forwarding of wide vectors).
        let sweep = |s: &mut [F], a: &mut [F], w: &[F]| {
            s.iter_mut()
                .zip(a.iter_mut())
                .zip(w)
                .fold(false, |m, ((sj, aj), &wj)| {
                    let (mut s1, mut a1) = (*sj, *aj);
                    integrate(&mut s1, &mut a1, wj, z);
                    *sj = s1;
                    *aj = a1;
                    m | may_cross_by(s1, a1, theta, zc)
                })
        };
        let whole = n_out / SEG;
        for (c, ((sc, ac), wc)) in s
            .chunks_exact_mut(SEG)
            .zip(a.chunks_exact_mut(SEG))
            .zip(row.chunks_exact(SEG))
            .enumerate()
        {
            if left[c] == 0 {
                continue;
            }
            // Fixed-size segments: fully unrolled, no loop bookkeeping per segment.
            let sc: &mut [F; SEG] = sc.try_into().expect("SEG neurons");
            let ac: &mut [F; SEG] = ac.try_into().expect("SEG neurons");
            let wc: &[F; SEG] = wc.try_into().expect("SEG weights");
            let m = sweep(sc, ac, wc);
            flagged[c] = m;
            pending |= m;
        }
        if whole < segs && left[whole] > 0 {
            let lo = whole * SEG;
            let m = sweep(&mut s[lo..], &mut a[lo..], &row[lo..]);
            flagged[whole] = m;
            pending |= m;
        }
        z_here = zn;
    }
    // After the last input: whatever crossing is pending happens.
    let n = order.len() as u32;
    let t_last = t_in[order[order.len() - 1] as usize];
    for j in 0..n_out {
        if s[j] > theta {
            t_out[j] = crossing_time(s[j], a[j], theta, t_ref, tau, t_last);
            causal[j] = n;
            s_minus_theta[j] = s[j] - theta;
        }
    }
}

/// Full forward pass of `net` on input times `t_in`, reusing `pass` and `scratch`.
pub fn forward<F: Real>(
    net: &Net<F>,
    t_in: &[F],
    scratch: &mut LayerScratch<F>,
    pass: &mut ForwardPass<F>,
) {
    let nl = net.layers.len();
    pass.times.resize_with(nl + 1, Vec::new);
    pass.order.resize_with(nl, Vec::new);
    pass.causal.resize_with(nl, Vec::new);
    pass.s_minus_theta.resize_with(nl, Vec::new);
    pass.times[0].clear();
    pass.times[0].extend_from_slice(t_in);
    for (l, layer) in net.layers.iter().enumerate() {
        let (before, after) = pass.times.split_at_mut(l + 1);
        let out = LayerRecord {
            order: &mut pass.order[l],
            t_out: &mut after[0],
            causal: &mut pass.causal[l],
            s_minus_theta: &mut pass.s_minus_theta[l],
        };
        match layer {
            Layer::Dense(d) => layer_forward(d, &before[l], net.theta, net.tau, scratch, out),
            Layer::Conv(c) => conv_forward(c, &before[l], net.theta, net.tau, scratch, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neuron::{first_spike, NeuronParams, UNIT_CASES};
    use rand::{Rng, SeedableRng};

    /// The batched layer equals the scalar reference [`first_spike`] neuron by neuron, at
    /// every parameter set of [`UNIT_CASES`].
    #[test]
    fn layer_matches_scalar_reference() {
        for p in UNIT_CASES {
            matches_scalar_reference(7, 3.0, 1.0, p);
        }
    }

    /// The same over spans of inputs far longer than `REBASE_LIMIT` (500 tau in f64), with
    /// weak weights so that neurons fire late: both rebase A and must round alike.
    #[test]
    fn layer_matches_scalar_reference_across_rebasing() {
        for p in UNIT_CASES {
            matches_scalar_reference(8, 3000.0, 0.3, p);
        }
    }

    /// Random layers with input times in [0, span) tau and weights in [-0.5, 1) * w_scale theta.
    fn matches_scalar_reference(seed: u64, span: f64, w_scale: f64, p: NeuronParams) {
        let (tau, theta) = (p.tau_syn, p.theta);
        let span = span * tau;
        let w_scale = w_scale * theta;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut late = 0;
        for _ in 0..200 {
            let n_in = rng.gen_range(1..20);
            // Up to 80 neurons: blocks of the explicit-SIMD sweep too, with a partial one.
            let n_out = rng.gen_range(1..80);
            let w: Vec<f64> = (0..n_in * n_out)
                .map(|_| w_scale * rng.gen_range(-0.5..1.0))
                .collect();
            let t_in: Vec<f64> = (0..n_in)
                .map(|_| match rng.gen_range(0..10) {
                    0 => f64::INFINITY,
                    1 => span / 3.0, // deliberate ties
                    _ => rng.gen_range(0.0..span),
                })
                .collect();
            let (mut order, mut out, mut causal, mut smt) = (vec![], vec![], vec![], vec![]);
            let rec = LayerRecord {
                order: &mut order,
                t_out: &mut out,
                causal: &mut causal,
                s_minus_theta: &mut smt,
            };
            let layer = Dense { n_in, n_out, w };
            layer_forward(&layer, &t_in, theta, tau, &mut LayerScratch::default(), rec);
            let w = layer.w;
            for j in 0..n_out {
                let ins: Vec<(f64, f64)> = order
                    .iter()
                    .map(|&i| (t_in[i as usize], w[i as usize * n_out + j]))
                    .collect();
                match first_spike(&ins, theta, tau) {
                    Some((t, k)) => {
                        late += usize::from(t > 600.0 * tau);
                        assert_eq!(out[j], t);
                        assert_eq!(causal[j] as usize, k);
                    }
                    None => {
                        assert_eq!(out[j], f64::INFINITY);
                        assert_eq!(causal[j], 0);
                    }
                }
            }
        }
        if span > 1000.0 * tau {
            assert!(
                late > 100,
                "{p:?}: only {late} spikes after 600 tau: rebasing barely tested"
            );
        }
    }
}
