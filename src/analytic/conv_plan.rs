//! What the convolution sweeps share, generic (`conv_lanes.rs`) and AVX-512
//! (`conv_simd.rs`): the layer's plan (each input's time and factors, each output
//! position's own inputs), the per-geometry target tables (also read by the backward pass),
//! the arguments and outputs of a run of output channels, and the exact decision of a run's
//! candidates.

use crate::network::{Conv, Shape};
use crate::neuron::crossing_time;
use crate::real::Real;

/// The per-layer plan of the position-major sweep: one entry per layer input in time order,
/// and each output position's own inputs.
#[derive(Clone, Debug, Default)]
pub(crate) struct ConvPlan<F> {
    /// Per input k of the layer's order: its time.
    pub(crate) t: Vec<F>,
    /// Per input k: the factor it is integrated with, `exp((t_k - t_ref)/tau)` (1 after
    /// its own rebase).
    pub(crate) e: Vec<F>,
    /// Per input k: the bound factor of the test without `ln` at `t_k`, before its rebase.
    pub(crate) ek: Vec<F>,
    /// The inputs that rebase the layer: `(k, exp(-x_k))`, in order.
    pub(crate) rebases: Vec<(u32, F)>,
    /// Per output position: its inputs as `(k, tap)`, `stride` slots per position.
    pub(crate) entries: Vec<(u32, u32)>,
    /// Per output position: how many of its slots are used.
    pub(crate) count: Vec<u32>,
    /// The target tables of the convolutions swept so far.
    pub(crate) tables: TargetTables,
}

/// The [`TargetTable`]s of the geometries met so far (at most `MAX_TABLES`, the oldest
/// rebuilt when more come).
#[derive(Clone, Debug, Default)]
pub(crate) struct TargetTables(Vec<TargetTable>);

impl TargetTables {
    /// The table of `conv`'s geometry, built if new.
    pub(crate) fn of<F>(&mut self, conv: &Conv<F>) -> &TargetTable {
        let key = TargetTable::key(conv);
        let t = match self.0.iter().position(|t| t.key == key) {
            Some(t) => t,
            None => {
                if self.0.len() == MAX_TABLES {
                    self.0.remove(0);
                }
                self.0.push(TargetTable::new(conv));
                self.0.len() - 1
            }
        };
        &self.0[t]
    }
}

/// The targets of every input of one convolution's geometry, `(output position, tap)` in
/// `for_each_target` order: the divisions of that walk done once per thread and geometry,
/// not once per input and sample.
#[derive(Clone, Debug)]
pub(crate) struct TargetTable {
    /// The geometry: input map, output channels, kernel, stride, padding.
    key: (Shape, usize, usize, usize, usize),
    /// Input i's targets are `targets[offsets[i]..offsets[i + 1]]`.
    offsets: Vec<u32>,
    targets: Vec<(u32, u32)>,
}

impl TargetTable {
    /// Input `i`'s targets, `(output position, tap)`, in `for_each_target` order.
    #[inline(always)]
    pub(crate) fn targets(&self, i: usize) -> &[(u32, u32)] {
        &self.targets[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    fn key<F>(conv: &Conv<F>) -> (Shape, usize, usize, usize, usize) {
        (
            conv.input,
            conv.channels,
            conv.kernel,
            conv.stride,
            conv.pad,
        )
    }

    fn new<F>(conv: &Conv<F>) -> TargetTable {
        let n_in = conv.input.len().unwrap_or(0);
        let co = conv.channels;
        let mut offsets = Vec::with_capacity(n_in + 1);
        let mut targets = Vec::new();
        offsets.push(0);
        for i in 0..n_in {
            conv.for_each_target(i, |tap, j0| targets.push(((j0 / co) as u32, tap as u32)));
            offsets.push(targets.len() as u32);
        }
        TargetTable {
            key: Self::key(conv),
            offsets,
            targets,
        }
    }
}

/// Tables kept per thread: more geometries than this in one network rebuild the oldest.
const MAX_TABLES: usize = 8;

/// The sweep's outputs, as [`super::layer::LayerRecord`]'s slots.
pub(crate) struct ConvOut<'a, F> {
    pub(crate) t_out: &'a mut [F],
    pub(crate) causal: &'a mut [u32],
    pub(crate) s_minus_theta: &'a mut [F],
}

/// What every run of the sweep reads, generic or AVX-512 (`conv_simd.rs`): the layer's
/// weights and plan and the neuron's parameters.
pub(crate) struct RunArgs<'c, F> {
    /// The kernel, `[ky][kx][c_in][c_out]`.
    pub(crate) w: &'c [F],
    /// Output channels.
    pub(crate) co: usize,
    pub(crate) plan: &'c ConvPlan<F>,
    pub(crate) theta: F,
    pub(crate) tau: F,
    /// The layer's first reference time (its first input's time).
    pub(crate) t_ref0: F,
    /// The layer's reference time after its last rebase.
    pub(crate) t_ref_end: F,
    /// Slots per position in `plan.entries`.
    pub(crate) stride: usize,
}

/// Where [`decide_lanes`] decides: before an input at `t` (`+inf` after the last input, when
/// every pending crossing happens, whatever it computes to), with the sums' origin
/// `t_ref`, the last integrated input's time `t_last`, the causal bound of a neuron that
/// fires now, and the first neuron `j0` of the run.
#[derive(Clone, Copy)]
pub(crate) struct Due<F> {
    pub(crate) t: F,
    pub(crate) t_ref: F,
    pub(crate) t_last: F,
    pub(crate) causal: u32,
    pub(crate) j0: usize,
}

/// The exact decision of the neurons of a run whose bit is set in `candidates` (sums `s`,
/// `a` by lane; the candidate test already done): each one whose crossing comes no later
/// than `at.t` fires (after the last input, `at.t = +inf`: every one), recorded in `out`.
/// Returns the mask of those that fired. The AVX-512 kernel calls it with a compare mask,
/// the generic sweep through `conv_lanes`'s `decide`.
#[cold]
#[inline(never)]
pub(crate) fn decide_lanes<F: Real>(
    s: &[F],
    a: &[F],
    mut candidates: u64,
    theta: F,
    tau: F,
    at: Due<F>,
    out: &mut ConvOut<'_, F>,
) -> u64 {
    let mut fired = 0u64;
    while candidates != 0 {
        let l = candidates.trailing_zeros() as usize;
        candidates &= candidates - 1;
        let tp = crossing_time(s[l], a[l], theta, at.t_ref, tau, at.t_last);
        if tp <= at.t || at.t == F::infinity() {
            let j = at.j0 + l;
            out.t_out[j] = tp;
            out.causal[j] = at.causal;
            out.s_minus_theta[j] = s[l] - theta;
            fired |= 1 << l;
        }
    }
    fired
}
