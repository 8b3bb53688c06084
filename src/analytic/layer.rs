//! What every layer's forward pass shares, dense or convolutional, generic or AVX-512: the
//! per-thread buffers ([`LayerScratch`]), the record a pass writes ([`LayerRecord`]), the
//! sort of the layer's inputs by (time, index) that starts every pass, and the dense kernel's
//! per-input plan ([`Step`], [`StepTimes`]).

use super::conv_plan::ConvPlan;
#[cfg(doc)]
use crate::pass::ForwardPass;
use crate::real::Real;

/// Reusable per-thread buffers for [`super::layer_forward`].
#[derive(Clone, Debug, Default)]
pub struct LayerScratch<F> {
    pub(super) s: Vec<F>,
    pub(super) a: Vec<F>,
    /// Per output position of a convolution: its last input's time and that input's
    /// position in the sorted order (the reference convolution sweep).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) t_last: Vec<F>,
    pub(super) last: Vec<u32>,
    pub(super) keys: Vec<u128>,
    pub(super) keys64: Vec<u64>,
    /// The second buffer of [`radix_sort`].
    pub(super) keys_tmp: Vec<u64>,
    /// The explicit-SIMD dense sweep's inputs in time order, and their times.
    pub(super) steps: Vec<Step<F>>,
    pub(super) times: Vec<StepTimes<F>>,
    /// Per segment: some neuron passed the candidate test against the next input.
    pub(super) flagged: Vec<bool>,
    /// Per segment: neurons that have not fired yet.
    pub(super) left: Vec<u32>,
    /// The position-major convolution sweep's plan.
    pub(super) conv: ConvPlan<F>,
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
pub(super) fn sort_inputs<F: Real>(
    t_in: &[F],
    scratch: &mut LayerScratch<F>,
    order: &mut Vec<u32>,
) {
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

/// One input of a layer's sweep, in time order: what every block of neurons needs of it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Step<F> {
    /// Offset of the input's weight row in the layer's weights.
    pub(crate) row: usize,
    /// `z = exp((t_k - t_ref)/tau)`, with `t_ref` rebased before this input if due.
    pub(crate) z: F,
    /// The candidate threshold after this input: the next input's `z` against this input's
    /// `t_ref`, times `1 + margin`; `+inf` after the last input.
    pub(crate) zc: F,
    /// Factor `exp(-(t_k - t_ref)/tau)` that rebases `A` before this input, or 1 if none.
    pub(crate) rebase: F,
}

/// Times of one input of the sweep, read only when some neuron may fire before it; one more
/// entry after the last input holds that input's time and the final `t_ref`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct StepTimes<F> {
    /// This input's time (a pending crossing no later than it fires before it).
    pub(crate) t: F,
    /// The previous input's time (a crossing is never earlier: it only absorbs rounding).
    pub(crate) t_prev: F,
    /// The time origin of `A` until this input's rebase.
    pub(crate) t_ref: F,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

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
