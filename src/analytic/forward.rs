//! Forward pass of the analytic solver, generic over f32/f64.

use super::conv::conv_forward;
use super::dense_simd::{layer_forward_simd, Step, StepTimes};
use crate::network::{Dense, Layer, Net};
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

/// Reusable per-thread buffers for [`layer_forward`].
#[derive(Clone, Debug, Default)]
pub struct LayerScratch<F> {
    pub(super) s: Vec<F>,
    pub(super) a: Vec<F>,
    /// Per output position of a convolution: its last input's time and that input's
    /// position in the sorted order (the reference convolution sweep).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) t_last: Vec<F>,
    pub(super) last: Vec<u32>,
    keys: Vec<u128>,
    keys64: Vec<u64>,
    /// The second buffer of [`radix_sort`].
    keys_tmp: Vec<u64>,
    /// The explicit-SIMD dense sweep's inputs in time order, and their times.
    pub(super) steps: Vec<Step<F>>,
    pub(super) times: Vec<StepTimes<F>>,
    /// Per segment: some neuron passed the candidate test against the next input.
    flagged: Vec<bool>,
    /// Per segment: neurons that have not fired yet.
    left: Vec<u32>,
    /// The position-major convolution sweep's plan.
    pub(super) conv: super::conv_lanes::ConvPlan<F>,
}

/// What one layer's forward pass writes: its slots of a [`ForwardPass`].
pub struct LayerRecord<'a, F> {
    /// The layer's inputs that spiked, sorted by (time, index).
    pub order: &'a mut Vec<u32>,
    /// Its neurons' spike times (+inf = none).
    pub t_out: &'a mut Vec<F>,
    /// Per neuron, one past the position in `order` of the last input it integrated before
    /// firing (0 if it never fired): in a dense layer the size of its causal set, in a
    /// convolution a bound on its own inputs among `order`.
    pub causal: &'a mut Vec<u32>,
    /// Per neuron, `S - theta` over its causal set (0 if it never fired).
    pub s_minus_theta: &'a mut Vec<F>,
}

/// A [`LayerRecord`]'s four slots, ready for a sweep to fill.
pub(super) type Slots<'r, F> = (
    &'r mut Vec<u32>,
    &'r mut Vec<F>,
    &'r mut Vec<u32>,
    &'r mut Vec<F>,
);

impl<F: Real> LayerRecord<'_, F> {
    /// The start of every layer's pass: the inputs that spike sorted into `order`, and
    /// `n_out` neurons none of which has fired (`+inf`, causal bound 0, `S - theta` 0).
    /// The slots `(order, t_out, causal, s_minus_theta)` for the sweep, or `None` when no
    /// input spiked: the pass is then complete.
    pub(super) fn start(
        &mut self,
        t_in: &[F],
        n_out: usize,
        scratch: &mut LayerScratch<F>,
    ) -> Option<Slots<'_, F>> {
        sort_inputs(t_in, scratch, self.order);
        self.t_out.clear();
        self.t_out.resize(n_out, F::infinity());
        self.causal.clear();
        self.causal.resize(n_out, 0);
        self.s_minus_theta.clear();
        self.s_minus_theta.resize(n_out, F::zero());
        (!self.order.is_empty()).then_some((
            &mut *self.order,
            &mut *self.t_out,
            &mut *self.causal,
            &mut *self.s_minus_theta,
        ))
    }
}

/// Writes into `order` the inputs that spike (finite time), sorted by (time, index): as
/// integer keys `(order_key(t) << 32) | index`, without comparator calls. An f32 time's key
/// has 32 bits, so its keys fit in a u64 (about twice as fast to sort as u128).
fn sort_inputs<F: Real>(t_in: &[F], scratch: &mut LayerScratch<F>, order: &mut Vec<u32>) {
    let spiking = (0..t_in.len()).filter(|&i| t_in[i].is_finite());
    order.clear();
    if std::mem::size_of::<F>() <= 4 {
        let keys = &mut scratch.keys64;
        keys.clear();
        keys.extend(spiking.map(|i| (t_in[i].order_key() << 32) | i as u64));
        radix_sort(keys, &mut scratch.keys_tmp);
        order.extend(keys.iter().map(|&k| k as u32));
    } else {
        let keys = &mut scratch.keys;
        keys.clear();
        keys.extend(spiking.map(|i| (u128::from(t_in[i].order_key()) << 32) | i as u128));
        keys.sort_unstable();
        order.extend(keys.iter().map(|&k| k as u32));
    }
}

/// Below this many keys [`radix_sort`] calls the comparison sort (the passes' histograms
/// cost more than they save).
const RADIX_MIN: usize = 256;

/// Sorts `keys` ascending (the same result as `sort_unstable`: any correct sort of distinct
/// keys gives one order), by least-significant-digit radix passes of 8 bits over the time
/// half (bits 32-63) only, skipping a pass whose digit is the same in every key. `tmp` is
/// scratch. A layer's input keys are distinct (their low bits are the input's index) and
/// [`sort_inputs`] lists them by ascending index; the passes are stable, so keys of equal
/// time keep that index order and the index half needs no pass.
fn radix_sort(keys: &mut Vec<u64>, tmp: &mut Vec<u64>) {
    if keys.len() < RADIX_MIN {
        keys.sort_unstable();
        return;
    }
    debug_assert!(keys.windows(2).all(|p| (p[0] as u32) < p[1] as u32));
    const DIGITS: std::ops::Range<usize> = 4..8;
    let mut counts = [[0u32; 256]; 4];
    for &k in keys.iter() {
        for (d, c) in DIGITS.zip(counts.iter_mut()) {
            c[((k >> (8 * d)) & 0xff) as usize] += 1;
        }
    }
    tmp.clear();
    tmp.resize(keys.len(), 0);
    let n = keys.len() as u32;
    for (d, c) in DIGITS.zip(counts.iter()) {
        if c.contains(&n) {
            continue; // every key has the same digit here
        }
        let mut start = [0u32; 256];
        let mut sum = 0;
        for (s, &x) in start.iter_mut().zip(c) {
            *s = sum;
            sum += x;
        }
        for &k in keys.iter() {
            let b = ((k >> (8 * d)) & 0xff) as usize;
            tmp[start[b] as usize] = k;
            start[b] += 1;
        }
        std::mem::swap(keys, tmp);
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

    /// Both key widths order inputs by (time, index), ties and -0 included, silent ones left out.
    #[test]
    fn inputs_sort_by_time_then_index() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        for _ in 0..100 {
            // Short lists take the comparison sort, long ones the radix passes.
            let t: Vec<f64> = (0..rng.gen_range(0..3000))
                .map(|_| match rng.gen_range(0..6) {
                    0 => f64::INFINITY,
                    1 => 3.0,
                    2 => -0.0,
                    3 => 0.0,
                    _ => rng.gen_range(-1.0..3.0),
                })
                .collect();
            let want = |t: &[f64]| {
                let mut o: Vec<u32> = (0..t.len() as u32)
                    .filter(|&i| t[i as usize].is_finite())
                    .collect();
                o.sort_by(|&x, &y| {
                    let (a, b) = (t[x as usize], t[y as usize]);
                    a.partial_cmp(&b).unwrap().then(x.cmp(&y))
                });
                o
            };
            let mut order = Vec::new();
            sort_inputs(&t, &mut LayerScratch::default(), &mut order);
            assert_eq!(order, want(&t));
            let t32: Vec<f32> = t.iter().map(|&x| x as f32).collect();
            sort_inputs(&t32, &mut LayerScratch::default(), &mut order);
            let t32as64: Vec<f64> = t32.iter().map(|&x| x as f64).collect();
            assert_eq!(order, want(&t32as64));
        }
    }
}
