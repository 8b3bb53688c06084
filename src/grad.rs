// Longer than 600 lines on purpose: one concern, the backward pass over a recorded forward
// pass; its dense and convolution sums share the per-layer limits and the causal masks, and
// splitting them would put the two halves of one formula in two files.
//! Backward pass: gradients of the loss with respect to every weight, from a forward record.
//!
//! Owns only differentiation. It reads a [`ForwardPass`] (from the analytic solver, or rebuilt
//! from a trace of either engine) and never runs an engine.
//!
//! For neuron j of a layer with causal set C_j (its inputs among the first `causal[j]` of the
//! layer's inputs in arrival order: all of them in a dense layer, its patch in a convolution),
//! `r_ij = exp((t_i - t_j)/tau)` and `D_j = max(S_j - theta, DENOM_FLOOR)`:
//!
//! ```text
//! dt_j/dw_ji = tau (r_ij - 1) / D_j        dt_j/dt_i = w_ji r_ij / D_j       (i in C_j)
//! ```
//!
//! (the z-domain rules dz_j/dw_i = (z_i - z_j)/(S - theta), dz_j/dz_i = w_i/(S - theta) of
//! [`crate::neuron::time_gradients`], under t = tau ln z). With `delta_j = dL/dt_j`, `q_j = delta_j / D_j` and
//! `h_j = q_j exp((t_ref - t_j)/tau)` this is, per input i at position k along the order,
//!
//! ```text
//! dL/dw_ji += tau (e_i h_j - q_j)  for k < causal[j],      e_i = exp((t_i - t_ref)/tau)
//! dL/dt_i  += e_i sum_{j: k < causal[j]} w_ji h_j
//! ```
//!
//! The work is split in two, so that a whole batch's weight gradient can be summed one
//! weight row at a time (a row stays in cache while every sample adds to it, instead of every
//! sample streaming through the whole gradient matrix):
//!
//! 1. [`sample_grad`], per sample: the deltas of every layer, top down (the `dL/dt_i` sums,
//!    a masked product with the weights), kept as a small [`SampleGrad`] record of
//!    O(inputs + neurons) numbers per layer: `e_i` and the position of each input, and
//!    `a_j = s tau h_j`, `b_j = s tau q_j` and `causal[j]` of each neuron (`s` a scale, e.g.
//!    1/batch size).
//! 2. `add_rows`, per weight row i and any number of samples:
//!    `dL/dw_ji += e_i a_j - b_j` for every j with `k_i < causal[j]`, vectorised over j.
//!
//! [`backward`] chains the two for one sample.
//!
//! **Gain control** ([`GainPenalty`], `TrainConfig::gain_band`): with a penalty
//! `weight phi(d_j) / N_l` on each firing neuron's `d_j = S_j - theta` (`N_l` the neurons of
//! its layer), whose derivative over a fixed causal set is `dd_j/dw_ji = 1` for i in C_j and
//! 0 for every input time, the record's `b_j` becomes `s (tau q_j - weight phi'(d_j) / N_l)`
//! and every neuron that fired is kept in the record (with `a_j = 0` if it has no delta), so
//! that `add_rows` adds `s weight phi'(d_j) / N_l` to each of its causal weights. The deltas of
//! the layers below are unchanged. Neurons too late to pass gradient (`GRAD_TIME_LIMIT`) get
//! no penalty.

use crate::analytic::Net;
use crate::analytic::TargetTables;
use crate::grad_simd::{conv_input_sum, LANES};
use crate::loss::GainPenalty;
use crate::network::{Conv, Dense, Layer};
use crate::pass::ForwardPass;
use crate::real::Real;
use std::ops::Range;

/// Default guard on `S - theta` in gradients (threshold units). A neuron that barely crosses
/// threshold has S - theta near 0+, and 1/(S - theta) would blow its gradients up (its spike
/// time is then extremely sensitive). Gradients use `max(S - theta, floor)`: exact for every
/// neuron with S - theta >= floor, bounded for the others. The forward pass is unchanged.
/// Training takes the floor from its settings (`TrainConfig::denom_floor`).
pub const DENOM_FLOOR: f64 = 0.01;

/// Largest `(t_j - t_ref)/tau` for which a neuron passes gradient: beyond it, exp would lose
/// all precision in f32 (and such late spikes carry no useful signal). Such neurons are
/// counted in [`BackwardStats::too_late`].
pub(crate) const GRAD_TIME_LIMIT: f64 = 60.0;

/// Position marking an input that is in no causal set with gradient.
const NOT_CAUSAL: u32 = u32::MAX;

/// Counters of what the guards did during backward passes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BackwardStats {
    /// Neurons whose S - theta was below the floor.
    pub(crate) floored: u64,
    /// Neurons beyond [`GRAD_TIME_LIMIT`].
    pub(crate) too_late: u64,
}

/// Per-thread buffers for [`sample_grad`] (the deltas `dL/dt` of every layer and the `h_j`
/// of the current one) and [`backward`] (its one-sample record).
#[derive(Clone, Debug, Default)]
pub struct BackScratch<F> {
    delta: Vec<Vec<F>>,
    h: Vec<F>,
    record: SampleGrad<F>,
    /// The convolutions' input-to-target tables.
    tables: TargetTables,
}

/// What the weight gradient of one layer needs from one sample (see the module doc).
#[derive(Clone, Debug, Default)]
pub(crate) struct LayerGrad<F> {
    /// Per input: its position k along the arrival order, or `NOT_CAUSAL` if it is in no
    /// causal set of a neuron with gradient.
    pos: Vec<u32>,
    /// Per input with a position: `e_i = exp((t_i - t_ref)/tau)` (dimensionless).
    e: Vec<F>,
    /// Per neuron: `a_j = s tau h_j` (loss per unit weight).
    a: Vec<F>,
    /// Per neuron: `b_j = s tau q_j` (loss per unit weight).
    b: Vec<F>,
    /// Per neuron: the causal-set size, 0 for a neuron without gradient.
    c: Vec<u32>,
}

/// One sample's gradient record: a `LayerGrad` per layer, or nothing if the sample gives no
/// gradient (its target never fired).
#[derive(Clone, Debug, Default)]
pub struct SampleGrad<F> {
    layers: Vec<LayerGrad<F>>,
    active: bool,
}

impl<F> SampleGrad<F> {
    /// Marks the record as giving no gradient (e.g. for a sample without loss).
    pub fn clear(&mut self) {
        self.active = false;
    }
}

/// Runs the backward pass of one sample down to its [`SampleGrad`] record, given `dl_dt_out`
/// (dL/dt of each output neuron) and the forward record `pass` of the same weights, with
/// `denom_floor` guarding S - theta (see [`DENOM_FLOOR`]) and every weight gradient
/// multiplied by `scale`. The weight gradient itself is left to `add_rows`.
#[allow(clippy::too_many_arguments)]
pub fn sample_grad<F: Real>(
    net: &Net<F>,
    pass: &ForwardPass<F>,
    dl_dt_out: &[F],
    denom_floor: F,
    scale: F,
    scratch: &mut BackScratch<F>,
    out: &mut SampleGrad<F>,
    stats: &mut BackwardStats,
) {
    sample_grad_with_gain(
        net,
        pass,
        dl_dt_out,
        denom_floor,
        scale,
        None,
        scratch,
        out,
        stats,
    )
}

/// [`sample_grad`] with gain control: the record also carries the gradient of
/// `gain`'s penalty on every firing neuron's `S - theta` (see the module doc and
/// [`GainPenalty`]), scaled by `scale` like the loss's. `None` is [`sample_grad`], bit for bit.
#[allow(clippy::too_many_arguments)]
pub fn sample_grad_with_gain<F: Real>(
    net: &Net<F>,
    pass: &ForwardPass<F>,
    dl_dt_out: &[F],
    denom_floor: F,
    scale: F,
    gain: Option<&GainPenalty>,
    scratch: &mut BackScratch<F>,
    out: &mut SampleGrad<F>,
    stats: &mut BackwardStats,
) {
    crate::cpu::best(
        #[inline(always)]
        || {
            grad_record(
                net,
                pass,
                dl_dt_out,
                denom_floor,
                scale,
                gain,
                scratch,
                out,
                stats,
            )
        },
    )
}

/// [`sample_grad`]'s body, inlined into the copy for each instruction set.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn grad_record<F: Real>(
    net: &Net<F>,
    pass: &ForwardPass<F>,
    dl_dt_out: &[F],
    denom_floor: F,
    scale: F,
    gain: Option<&GainPenalty>,
    scratch: &mut BackScratch<F>,
    out: &mut SampleGrad<F>,
    stats: &mut BackwardStats,
) {
    let nl = net.layers.len();
    scratch.delta.resize_with(nl + 1, Vec::new);
    scratch.delta[nl].clear();
    scratch.delta[nl].extend_from_slice(dl_dt_out);
    out.layers.resize_with(nl, LayerGrad::default);
    out.active = true;
    for l in (0..nl).rev() {
        let (lower, upper) = scratch.delta.split_at_mut(l + 1);
        let lg = &mut out.layers[l];
        let limit = LayerLimits {
            denom_floor,
            scale,
            late: F::of(GRAD_TIME_LIMIT),
            gain,
        };
        let max_c = neuron_terms(net, pass, l, &upper[0], limit, &mut scratch.h, lg, stats);
        let h = &scratch.h;
        input_terms(
            net,
            pass,
            l,
            max_c,
            h,
            lg,
            &mut scratch.tables,
            &mut lower[l],
        );
    }
}

/// The guards, scale and gain penalty of [`neuron_terms`].
#[derive(Clone, Copy)]
struct LayerLimits<'g, F> {
    denom_floor: F,
    scale: F,
    late: F,
    gain: Option<&'g GainPenalty>,
}

/// `weight phi'(d) / n` of `gain` at `d` (see [`GainPenalty`]): the penalty's gradient on
/// each causal weight of a firing neuron of a layer of `n` neurons; 0 inside the band, which
/// is told without a logarithm.
#[inline(always)]
fn gain_push<F: Real>(gain: &GainPenalty, d: F, n: usize) -> F {
    let d = d.f64();
    if (gain.low..=gain.high).contains(&d) {
        return F::zero();
    }
    F::of(gain.weight * gain.phi(d).1 / n as f64)
}

/// Per neuron j of layer `l` with delta `d_out[j]`: `h_j` (into `h`) and the record's `a_j`,
/// `b_j`, `causal[j]` (zero for a neuron without gradient: silent, no delta, or later than
/// `GRAD_TIME_LIMIT`). Returns the largest causal bound.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn neuron_terms<F: Real>(
    net: &Net<F>,
    pass: &ForwardPass<F>,
    l: usize,
    d_out: &[F],
    lim: LayerLimits<'_, F>,
    h: &mut Vec<F>,
    lg: &mut LayerGrad<F>,
    stats: &mut BackwardStats,
) -> u32 {
    let (n_in, n_out) = (net.layers[l].n_in(), net.layers[l].n_out());
    let tau = net.tau;
    lg.pos.clear();
    lg.pos.resize(n_in, NOT_CAUSAL);
    lg.e.clear();
    lg.e.resize(n_in, F::zero());
    for v in [&mut lg.a, &mut lg.b, &mut *h] {
        v.clear();
        v.resize(n_out, F::zero());
    }
    lg.c.clear();
    lg.c.resize(n_out, 0);
    let Some(&first) = pass.order[l].first() else {
        return 0;
    };
    let t_ref = pass.times[l][first as usize];
    let t_out = &pass.times[l + 1];
    let mut max_c = 0u32;
    for j in 0..n_out {
        let cj = pass.causal[l][j];
        let late = (t_out[j] - t_ref) / tau;
        let fired = cj != 0 && t_out[j].is_finite();
        let silent = !fired || d_out[j] == F::zero();
        // Gain control: the penalty's gradient on each causal weight of a firing neuron.
        let push = match lim.gain {
            Some(g) if fired && late <= lim.late => gain_push(g, pass.s_minus_theta[l][j], n_out),
            _ => F::zero(),
        };
        if silent || late > lim.late {
            stats.too_late += u64::from(!silent);
            if push != F::zero() {
                // No delta: the penalty alone (a_j = 0, h_j = 0).
                lg.b[j] = -(lim.scale * push);
                lg.c[j] = cj;
                max_c = max_c.max(cj);
            }
            continue;
        }
        let smt = pass.s_minus_theta[l][j];
        if smt < lim.denom_floor {
            stats.floored += 1;
        }
        let qj = d_out[j] / smt.max(lim.denom_floor);
        let hj = qj * (-late).exp();
        h[j] = hj;
        // a_j and b_j carry tau and the scale.
        lg.a[j] = lim.scale * tau * hj;
        lg.b[j] = lim.scale * tau * qj;
        if push != F::zero() {
            lg.b[j] = lg.b[j] - lim.scale * push;
        }
        lg.c[j] = cj;
        max_c = max_c.max(cj);
    }
    max_c
}

/// Per input i of layer `l` among the first `max_c` along the order: its position and
/// `e_i` in the record, and (below the first layer) `d_in[i] = dL/dt_i =
/// e_i sum_{j: k_i < causal[j]} w_ji h_j`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn input_terms<F: Real>(
    net: &Net<F>,
    pass: &ForwardPass<F>,
    l: usize,
    max_c: u32,
    h: &[F],
    lg: &mut LayerGrad<F>,
    tables: &mut TargetTables,
    d_in: &mut Vec<F>,
) {
    let n_out = net.layers[l].n_out();
    let table = match &net.layers[l] {
        Layer::Conv(conv) if l > 0 => Some(tables.of(conv)),
        _ => None,
    };
    let (order, t_in) = (&pass.order[l], &pass.times[l]);
    d_in.clear();
    d_in.resize(t_in.len(), F::zero());
    let Some(&first) = order.first() else {
        return;
    };
    let t_ref = t_in[first as usize];
    for (k, &i) in order.iter().enumerate().take(max_c as usize) {
        let i = i as usize;
        let e = ((t_in[i] - t_ref) / net.tau).exp();
        lg.pos[i] = k as u32;
        lg.e[i] = e;
        if l == 0 {
            continue;
        }
        let k = k as u32;
        let acc = match &net.layers[l] {
            Layer::Dense(Dense { w, .. }) => {
                masked_dot(&w[i * n_out..(i + 1) * n_out], h, &lg.c, k)
            }
            Layer::Conv(conv) => {
                // The targets as `for_each_target` lists them, from the layer's table, summed
                // in LANES partial sums (see `LaneSum`), by the AVX-512 kernel where it runs.
                let co = conv.channels;
                let targets = table.map_or(&[][..], |t| t.targets(i));
                match conv_input_sum(targets, co, &conv.w, h, &lg.c, k) {
                    Some(sum) => sum,
                    None => {
                        let mut acc = LaneSum::new();
                        for &(p, tap) in targets {
                            let (j0, tap) = (p as usize * co, tap as usize);
                            let row = &conv.w[tap * co..(tap + 1) * co];
                            acc.add_masked(row, &h[j0..j0 + co], &lg.c[j0..j0 + co], k);
                        }
                        acc.total()
                    }
                }
            }
        };
        d_in[i] = e * acc;
    }
}

/// `sum_j w_j h_j` over the neurons j with `k < c_j` (those whose causal set holds the input
/// at position k).
#[inline(always)]
fn masked_dot<F: Real>(w: &[F], h: &[F], c: &[u32], k: u32) -> F {
    w.iter()
        .zip(h)
        .zip(c)
        .fold(F::zero(), |acc, ((&wj, &hj), &cj)| {
            acc + if k < cj { wj * hj } else { F::zero() }
        })
}

/// A sum `sum_j w_j h_j` kept as [`LANES`] partial sums, so that the products of a target
/// row are added in vector lanes instead of one long chain: term j of a row goes to partial
/// sum `j % LANES`, rows are added one after another in the order given, and
/// [`LaneSum::total`] adds the partial sums pairwise (lane l and l + 8, then l + 4, ...).
/// The order of additions is fixed by the row lengths alone, so the result does not depend
/// on the thread count; [`crate::grad_simd`] makes the same operations with AVX-512.
struct LaneSum<F> {
    lanes: [F; LANES],
}

impl<F: Real> LaneSum<F> {
    #[inline(always)]
    fn new() -> Self {
        Self {
            lanes: [F::zero(); LANES],
        }
    }

    /// Adds `w_j h_j` for the neurons j with `k < c_j` (those whose causal set holds the
    /// input at position k); the other lanes keep their sums as they are.
    #[inline(always)]
    fn add_masked(&mut self, w: &[F], h: &[F], c: &[u32], k: u32) {
        let n = w.len().min(h.len()).min(c.len());
        for (j, ((&wj, &hj), &cj)) in w[..n].iter().zip(&h[..n]).zip(&c[..n]).enumerate() {
            let l = j % LANES;
            let prod = wj * hj;
            if k < cj {
                self.lanes[l] = self.lanes[l] + prod;
            }
        }
    }

    /// The sum of the partial sums, added pairwise.
    #[inline(always)]
    fn total(mut self) -> F {
        let mut width = LANES / 2;
        while width > 0 {
            for l in 0..width {
                self.lanes[l] = self.lanes[l] + self.lanes[l + width];
            }
            width /= 2;
        }
        self.lanes[0]
    }
}

/// Adds the weight gradient of convolutional layer `layer` (`conv`) from every active record
/// of `samples` (in order) into `g` (the kernel's layout): for every neuron j at output
/// position (oy, ox) and channel o and every input i of its patch at tap `tap`,
/// `g[tap][o] += e_i a_j - b_j` if `k_i < causal[j]`, summed over positions (the kernel is
/// shared). Only the taps in `taps` are summed; `g` holds those taps' rows.
pub(crate) fn add_conv<F: Real>(
    samples: &[SampleGrad<F>],
    layer: usize,
    conv: &Conv<F>,
    taps: Range<usize>,
    g: &mut [F],
) {
    crate::cpu::best(
        #[inline(always)]
        || sum_conv(samples, layer, conv, taps, g),
    )
}

/// [`add_conv`]'s body, inlined into the copy for each instruction set.
#[inline(always)]
fn sum_conv<F: Real>(
    samples: &[SampleGrad<F>],
    layer: usize,
    conv: &Conv<F>,
    taps: Range<usize>,
    g: &mut [F],
) {
    let out = conv.output();
    let co = conv.channels;
    for lg in samples
        .iter()
        .filter(|s| s.active)
        .map(|s| &s.layers[layer])
    {
        for oy in 0..out.h {
            for ox in 0..out.w {
                let j0 = out.index(oy, ox, 0);
                let c = &lg.c[j0..j0 + co];
                if c.iter().all(|&c| c == 0) {
                    continue;
                }
                let (a, b) = (&lg.a[j0..j0 + co], &lg.b[j0..j0 + co]);
                conv.for_each_input(
                    oy,
                    ox,
                    #[inline(always)]
                    |tap, i| {
                        let k = lg.pos[i];
                        if k == NOT_CAUSAL || !taps.contains(&tap) {
                            return;
                        }
                        let e = lg.e[i];
                        let r = tap - taps.start;
                        let gr = &mut g[r * co..(r + 1) * co];
                        for (((gj, &aj), &bj), &cj) in gr.iter_mut().zip(a).zip(b).zip(c) {
                            *gj = *gj
                                + if k < cj {
                                    e.mul_add(aj, -bj)
                                } else {
                                    F::zero()
                                };
                        }
                    },
                );
            }
        }
    }
}

/// Adds the weight gradient of rows `rows` of layer `layer` from every active record of
/// `samples` (in order) into `g`, which holds those rows (input-major, `n_out` per row):
/// `g[i][j] += e_i a_j - b_j` for each j with `k_i < causal[j]` (see the module doc).
///
/// Rows go four at a time, so that each sample's `a`, `b`, `causal` are read once per four
/// rows; every row still sums its samples in order, so the result does not depend on how
/// `rows` is split between calls.
pub(crate) fn add_rows<F: Real>(
    samples: &[SampleGrad<F>],
    layer: usize,
    rows: Range<usize>,
    n_out: usize,
    g: &mut [F],
) {
    crate::cpu::best(
        #[inline(always)]
        || sum_rows(samples, layer, rows, n_out, g),
    )
}

/// [`add_rows`]'s body, inlined into the copy for each instruction set.
#[inline(always)]
fn sum_rows<F: Real>(
    samples: &[SampleGrad<F>],
    layer: usize,
    rows: Range<usize>,
    n_out: usize,
    g: &mut [F],
) {
    debug_assert_eq!(g.len(), rows.len() * n_out);
    let active = || {
        samples
            .iter()
            .filter(|s| s.active)
            .map(|s| &s.layers[layer])
    };
    let mut quads = g.chunks_exact_mut(4 * n_out);
    let mut i0 = rows.start;
    for g4 in quads.by_ref() {
        let (g0, rest) = g4.split_at_mut(n_out);
        let (g1, rest) = rest.split_at_mut(n_out);
        let (g2, g3) = rest.split_at_mut(n_out);
        for lg in active() {
            let k = [lg.pos[i0], lg.pos[i0 + 1], lg.pos[i0 + 2], lg.pos[i0 + 3]];
            if k.iter().all(|&k| k == NOT_CAUSAL) {
                continue;
            }
            // NOT_CAUSAL (u32::MAX) is below no causal[j]: such a row gets nothing.
            let e = [lg.e[i0], lg.e[i0 + 1], lg.e[i0 + 2], lg.e[i0 + 3]];
            let (a, b, c) = (&lg.a[..n_out], &lg.b[..n_out], &lg.c[..n_out]);
            let (g0, g1, g2, g3) = (
                &mut g0[..n_out],
                &mut g1[..n_out],
                &mut g2[..n_out],
                &mut g3[..n_out],
            );
            for j in 0..n_out {
                let (aj, bj, cj) = (a[j], b[j], c[j]);
                let term = |r: usize| {
                    if k[r] < cj {
                        e[r].mul_add(aj, -bj)
                    } else {
                        F::zero()
                    }
                };
                g0[j] = g0[j] + term(0);
                g1[j] = g1[j] + term(1);
                g2[j] = g2[j] + term(2);
                g3[j] = g3[j] + term(3);
            }
        }
        i0 += 4;
    }
    for (i, grow) in (i0..rows.end).zip(quads.into_remainder().chunks_exact_mut(n_out)) {
        for lg in active() {
            let k = lg.pos[i];
            if k == NOT_CAUSAL {
                continue;
            }
            let e = lg.e[i];
            for (((gj, &aj), &bj), &cj) in grow.iter_mut().zip(&lg.a).zip(&lg.b).zip(&lg.c) {
                *gj = *gj
                    + if k < cj {
                        e.mul_add(aj, -bj)
                    } else {
                        F::zero()
                    };
            }
        }
    }
}

/// Accumulates dL/dw of one sample into `grads` (one input-major buffer per layer) given
/// `dl_dt_out` (dL/dt of each output neuron) and the forward record `pass` of the same weights,
/// with `denom_floor` guarding S - theta (see [`DENOM_FLOOR`]): [`sample_grad`] then
/// `add_rows` over every row.
pub fn backward<F: Real>(
    net: &Net<F>,
    pass: &ForwardPass<F>,
    dl_dt_out: &[F],
    grads: &mut [Vec<F>],
    denom_floor: F,
    scratch: &mut BackScratch<F>,
    stats: &mut BackwardStats,
) {
    backward_with_gain(
        net,
        pass,
        dl_dt_out,
        grads,
        denom_floor,
        None,
        scratch,
        stats,
    )
}

/// [`backward`] with gain control: also accumulates the gradient of `gain`'s penalty
/// ([`GainPenalty::of_pass`] of this pass) into `grads` (see [`sample_grad_with_gain`]).
#[allow(clippy::too_many_arguments)]
pub fn backward_with_gain<F: Real>(
    net: &Net<F>,
    pass: &ForwardPass<F>,
    dl_dt_out: &[F],
    grads: &mut [Vec<F>],
    denom_floor: F,
    gain: Option<&GainPenalty>,
    scratch: &mut BackScratch<F>,
    stats: &mut BackwardStats,
) {
    let mut rec = std::mem::take(&mut scratch.record);
    sample_grad_with_gain(
        net,
        pass,
        dl_dt_out,
        denom_floor,
        F::one(),
        gain,
        scratch,
        &mut rec,
        stats,
    );
    for (l, layer) in net.layers.iter().enumerate() {
        let rec = std::slice::from_ref(&rec);
        match layer {
            Layer::Dense(d) => add_rows(rec, l, 0..d.n_in, d.n_out, &mut grads[l]),
            Layer::Conv(c) => {
                let taps = c.kernel * c.kernel * c.input.c;
                add_conv(rec, l, c, 0..taps, &mut grads[l])
            }
        }
    }
    scratch.record = rec;
}

#[cfg(test)]
mod tests {
    use super::LaneSum;
    use crate::grad_simd::conv_input_sum;
    use crate::real::Real;
    use rand::{Rng, SeedableRng};

    /// A convolution's input delta sums the same bit for bit in the AVX-512 kernel as in
    /// the generic `LaneSum`: random target lists over channel counts with whole vectors,
    /// tails and both (f32 and f64), masks from random causal-set sizes, signed zeros and
    /// wide magnitudes so that the order of additions shows. Where the CPU has AVX-512 and
    /// `FIRSTSPIKE_REQUIRE_KERNEL=1`, the kernel must run.
    #[test]
    fn the_input_delta_kernel_sums_as_the_generic_code() {
        same_sums::<f32>(41);
        same_sums::<f64>(42);
    }

    fn same_sums<F: Real>(seed: u64) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let (mut ran, mut live, mut masked) = (0, 0, 0);
        for co in [64, 32, 45, 16, 3, 21, 8, 9, 1] {
            let (positions, taps) = (9, 25);
            for _ in 0..40 {
                let value = |rng: &mut rand_chacha::ChaCha8Rng| {
                    F::of(match rng.gen_range(0..8) {
                        0 => 0.0,
                        1 => -0.0,
                        _ => rng.gen_range(-1.0..1.0) * 10f64.powi(rng.gen_range(-6..6)),
                    })
                };
                let w: Vec<F> = (0..taps * co).map(|_| value(&mut rng)).collect();
                let h: Vec<F> = (0..positions * co).map(|_| value(&mut rng)).collect();
                let c: Vec<u32> = (0..positions * co).map(|_| rng.gen_range(0..10)).collect();
                let k = rng.gen_range(0..10);
                let targets: Vec<(u32, u32)> = (0..rng.gen_range(0..10))
                    .map(|_| {
                        (
                            rng.gen_range(0..positions) as u32,
                            rng.gen_range(0..taps) as u32,
                        )
                    })
                    .collect();
                let mut generic = LaneSum::new();
                for &(p, tap) in &targets {
                    let (p, tap) = (p as usize * co, tap as usize * co);
                    generic.add_masked(&w[tap..tap + co], &h[p..p + co], &c[p..p + co], k);
                    live += c[p..p + co].iter().filter(|&&cj| k < cj).count();
                    masked += c[p..p + co].iter().filter(|&&cj| k >= cj).count();
                }
                let generic = generic.total();
                if let Some(kernel) = conv_input_sum(&targets, co, &w, &h, &c, k) {
                    ran += 1;
                    assert_eq!(
                        kernel.f64().to_bits(),
                        generic.f64().to_bits(),
                        "co {co}, k {k}, targets {targets:?}"
                    );
                }
            }
        }
        assert!(
            live > 1000 && masked > 1000,
            "{live} live, {masked} masked lanes"
        );
        if std::env::var("FIRSTSPIKE_REQUIRE_KERNEL").as_deref() == Ok("1") {
            assert!(ran > 0, "the AVX-512 kernel did not run");
        }
    }
}
