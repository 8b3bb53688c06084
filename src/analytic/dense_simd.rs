//! The dense layer's sweep as explicit AVX-512 code, with each block's sums in registers.
//!
//! [`super::forward::layer_forward`] adds every input's weight row to every silent neuron,
//! in time order. Neurons do not interact within a layer, so the loops can be turned
//! around: a block of neurons (4 vectors: 32 in f64, 64 in f32) takes every input in turn,
//! with its sums `S` and `A` held in 8 vector registers for the whole layer instead of being
//! loaded and stored once per input. Only the weights stream from memory. The compiler does
//! not keep such a block in registers when the loop is written generically (measured: the
//! sums went to the stack and the sweep got slower), hence the intrinsics.
//!
//! Every neuron takes the same IEEE operations in the same order as in the generic sweep and
//! in [`crate::neuron::NeuronState`], so the result is the same bit for bit (tests compare
//! both on random layers, and `verify` compares the solver with the event engine).
//!
//! The kernel runs when the CPU has AVX-512 (F, BW, DQ, VL), checked at run time; elsewhere
//! the generic sweep runs. This file and `cpu.rs` hold the crate's `unsafe`: intrinsics of
//! a feature the build does not assume, and loads through raw pointers (bounds checked once
//! per input, before the loads).

#![allow(unsafe_code)]

use super::forward::{reset_outputs, sort_inputs, LayerScratch, Outputs};
use crate::real::Real;

/// The dense layer's forward pass with the kernel of `F`, as `layer_forward` computes it:
/// returns false, doing nothing, when this CPU lacks the kernel's instructions.
#[allow(clippy::too_many_arguments)]
pub(super) fn layer_forward_simd<F: Real>(
    w: &[F],
    n_out: usize,
    t_in: &[F],
    theta: F,
    tau: F,
    scratch: &mut LayerScratch<F>,
    order: &mut Vec<u32>,
    t_out: &mut Vec<F>,
    causal: &mut Vec<u32>,
    s_minus_theta: &mut Vec<F>,
) -> bool {
    if !F::has_kernel() {
        return false;
    }
    sort_inputs(t_in, scratch, order);
    reset_outputs(n_out, t_out, causal, s_minus_theta);
    if order.is_empty() {
        return true;
    }
    let LayerScratch { steps, times, .. } = scratch;
    plan_steps(t_in, order, n_out, tau, steps, times);
    let mut out = Outputs {
        t_out,
        causal,
        s_minus_theta,
    };
    for lo in (0..n_out).step_by(F::BLOCK) {
        let width = (n_out - lo).min(F::BLOCK);
        let ran = F::sweep_block(w, n_out, lo, width, steps, times, theta, tau, &mut out);
        debug_assert!(ran, "the kernel runs on this CPU");
    }
    true
}

/// One input of a layer's sweep, in time order: what every block of neurons needs of it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Step<F> {
    /// Offset of the input's weight row in the layer's weights.
    pub(super) row: usize,
    /// `z = exp((t_k - t_ref)/tau)`, with `t_ref` rebased before this input if due.
    pub(super) z: F,
    /// The candidate threshold after this input: the next input's `z` against this input's
    /// `t_ref`, times `1 + margin`; `+inf` after the last input.
    pub(super) zc: F,
    /// Factor `exp(-(t_k - t_ref)/tau)` that rebases `A` before this input, or 1 if none.
    pub(super) rebase: F,
}

/// Times of one input of the sweep, read only when some neuron may fire before it; one more
/// entry after the last input holds that input's time and the final `t_ref`.
#[derive(Clone, Copy, Debug, Default)]
pub struct StepTimes<F> {
    /// This input's time (a pending crossing no later than it fires before it).
    pub(super) t: F,
    /// The previous input's time (a crossing is never earlier: it only absorbs rounding).
    pub(super) t_prev: F,
    /// The time origin of `A` until this input's rebase.
    pub(super) t_ref: F,
}

/// Fills `steps` and `times` for the inputs in `order` (non-empty), with the same `exp`
/// arguments as the generic sweep, so the same values bit for bit.
fn plan_steps<F: Real>(
    t_in: &[F],
    order: &[u32],
    n_out: usize,
    tau: F,
    steps: &mut Vec<Step<F>>,
    times: &mut Vec<StepTimes<F>>,
) {
    steps.clear();
    times.clear();
    let mut t_ref = t_in[order[0] as usize];
    let mut t_prev = t_ref;
    let near = F::one() + F::TIE_MARGIN;
    for (k, &i) in order.iter().enumerate() {
        let t = t_in[i as usize];
        times.push(StepTimes { t, t_prev, t_ref });
        let x = (t - t_ref) / tau;
        // `zx`: this input's z against the previous input's origin, the candidate threshold
        // after the previous input (whose `A` is not rebased yet).
        let (z, zx, rebase) = match steps.last() {
            // The first input is the origin.
            None => (F::one(), F::one(), F::one()),
            _ if x > F::REBASE_LIMIT => {
                // As NeuronState::on_input rebases, so that both engines round alike.
                let f = (-x).exp();
                t_ref = t;
                (F::one(), x.exp(), f)
            }
            // A tie: the same exp of the same argument (a tied input cannot rebase).
            Some(p) if t == t_prev => (p.z, p.z, F::one()),
            Some(_) => {
                let z = x.exp();
                (z, z, F::one())
            }
        };
        if k > 0 {
            steps[k - 1].zc = zx * near;
        }
        steps.push(Step {
            row: i as usize * n_out,
            z,
            zc: F::infinity(),
            rebase,
        });
        t_prev = t;
    }
    times.push(StepTimes {
        t: F::infinity(),
        t_prev,
        t_ref,
    });
}

/// The explicit-SIMD dense sweep of one precision.
pub trait DenseSimd: Sized {
    /// Neurons per block: 4 vectors.
    const BLOCK: usize;

    /// Whether this CPU runs [`DenseSimd::sweep_block`].
    fn has_kernel() -> bool;

    /// Neurons `lo..lo + width` (`width <= BLOCK`) of a layer with `n_out` neurons and
    /// weights `w` (`n_in x n_out`, row-major) through every input of `steps`, writing the
    /// neurons that fire into `out`. Returns false, doing nothing, if the CPU lacks the
    /// kernel's instructions.
    #[allow(clippy::too_many_arguments)]
    fn sweep_block(
        w: &[Self],
        n_out: usize,
        lo: usize,
        width: usize,
        steps: &[Step<Self>],
        times: &[StepTimes<Self>],
        theta: Self,
        tau: Self,
        out: &mut Outputs<'_, Self>,
    ) -> bool;
}

/// The CPU has the AVX-512 subsets the kernels use.
#[cfg(target_arch = "x86_64")]
fn has_avx512() -> bool {
    std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx512bw")
        && std::is_x86_feature_detected!("avx512dq")
        && std::is_x86_feature_detected!("avx512vl")
}

/// The exact decision of a block before input `k`: each neuron `lo + l` of the `pending`
/// mask (candidates) whose crossing `max(t_ref + tau ln(A/(S - theta)), t_prev)` is no
/// later than the input fires, with the first `k` inputs as its causal set. Returns the
/// mask of those that fired.
///
/// Out of line and cold, so that the block's loop keeps its sums in registers (the `ln`
/// call here would clobber them).
#[cold]
#[inline(never)]
#[allow(clippy::too_many_arguments)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn decide<F: Real>(
    s: &[F],
    a: &[F],
    mut pending: u64,
    tk: StepTimes<F>,
    theta: F,
    tau: F,
    lo: usize,
    k: usize,
    out: &mut Outputs<'_, F>,
) -> u64 {
    let mut fired = 0u64;
    while pending != 0 {
        let l = pending.trailing_zeros() as usize;
        pending &= pending - 1;
        let tp = (tk.t_ref + tau * (a[l] / (s[l] - theta)).ln()).max(tk.t_prev);
        if tp <= tk.t {
            out.fire(lo + l, tp, k, s[l] - theta);
            fired |= 1 << l;
        }
    }
    fired
}

/// Defines the AVX-512 kernel of one precision: `$n` lanes per vector, `$mask` its lane
/// mask type, and the intrinsics of that element type.
macro_rules! avx512_kernel {
    ($name:ident, $t:ty, $v:ty, $mask:ty, $n:expr,
     $set1:ident, $loadu:ident, $maskz_loadu:ident, $storeu:ident, $add:ident, $mul:ident,
     $sub:ident, $cmp:ident, $mask_cmp:ident, $mask_mov:ident) => {
        /// The block sweep (see [`DenseSimd::sweep_block`]), block of `4 $n` neurons.
        ///
        /// # Safety
        /// The CPU must have AVX-512 F, BW, DQ and VL; `steps` must come from
        /// [`plan_steps`] for a layer of `n_out` neurons whose weights are `w`, and
        /// `lo + width <= n_out`.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
        #[allow(clippy::too_many_arguments)]
        unsafe fn $name(
            w: &[$t],
            n_out: usize,
            lo: usize,
            width: usize,
            steps: &[Step<$t>],
            times: &[StepTimes<$t>],
            theta: $t,
            tau: $t,
            out: &mut Outputs<'_, $t>,
        ) {
            use std::arch::x86_64::*;
            const B: usize = 4 * $n;
            debug_assert!((1..=B).contains(&width) && lo + width <= n_out);
            let th = $set1(theta);
            let gone = $set1(<$t>::NEG_INFINITY);
            let zero = $set1(0.0);
            // Lanes past `width` start at S = -inf: they never pass a test.
            let live: u64 = if width == B { !0 } else { (1u64 << width) - 1 };
            let lanes = |v: usize| (live >> ($n * v)) as $mask;
            let [mut s0, mut s1, mut s2, mut s3] =
                [0, 1, 2, 3].map(|v| $mask_mov(gone, lanes(v), zero));
            let [mut a0, mut a1, mut a2, mut a3] = [zero; 4];
            let mut silent = width;
            // Bit l: neuron lo + l passed the candidate test against the current input.
            let mut pending = 0u64;
            // The sums by lane, for the exact decisions (rare: a neuron about to fire). The
            // sums are passed by value, never by reference, so that they stay in registers.
            let spill = |s: [$v; 4], a: [$v; 4]| {
                let (mut sc, mut ac) = ([0.0 as $t; B], [0.0 as $t; B]);
                for v in 0..4 {
                    // SAFETY: sc and ac hold 4 vectors of $n lanes.
                    unsafe {
                        $storeu(sc.as_mut_ptr().add(v * $n), s[v]);
                        $storeu(ac.as_mut_ptr().add(v * $n), a[v]);
                    }
                }
                (sc, ac)
            };
            // One vector of neurons takes weights `wv`: S += w, A += w z; then the candidate
            // test S > theta and A <= zc (S - theta), as a lane mask.
            let update = |s: $v, a: $v, wv: $v, z: $v, zc: $v| {
                let (s, a) = ($add(s, wv), $add(a, $mul(wv, z)));
                let above = $cmp::<_CMP_GT_OQ>(s, th);
                let m = $mask_cmp::<_CMP_LE_OQ>(above, a, $mul(zc, $sub(s, th)));
                (s, a, m)
            };
            for (k, st) in steps.iter().enumerate() {
                if pending != 0 {
                    // Pending crossings no later than this input fire now (causal set =
                    // k inputs), exactly as in the generic sweep.
                    let (sc, ac) = spill([s0, s1, s2, s3], [a0, a1, a2, a3]);
                    let fired = decide(&sc, &ac, pending, times[k], theta, tau, lo, k, out);
                    silent -= fired.count_ones() as usize;
                    if silent == 0 {
                        return;
                    }
                    let f = |v: usize| (fired >> ($n * v)) as $mask;
                    s0 = $mask_mov(s0, f(0), gone);
                    s1 = $mask_mov(s1, f(1), gone);
                    s2 = $mask_mov(s2, f(2), gone);
                    s3 = $mask_mov(s3, f(3), gone);
                }
                if st.rebase != 1.0 {
                    let f = $set1(st.rebase);
                    a0 = $mul(a0, f);
                    a1 = $mul(a1, f);
                    a2 = $mul(a2, f);
                    a3 = $mul(a3, f);
                }
                // The bounds of this input's loads, checked: the block's lanes of its row.
                assert!(st.row + lo + width <= w.len(), "weight row out of bounds");
                // SAFETY: lanes within `width` are in bounds (checked just above); a masked
                // load does not touch the others.
                let load = |v: usize| unsafe {
                    let p = w.as_ptr().add(st.row + lo + v * $n);
                    if width == B {
                        $loadu(p)
                    } else {
                        $maskz_loadu(lanes(v), p)
                    }
                };
                let (z, zc) = ($set1(st.z), $set1(st.zc));
                let m0;
                let m1;
                let m2;
                let m3;
                (s0, a0, m0) = update(s0, a0, load(0), z, zc);
                (s1, a1, m1) = update(s1, a1, load(1), z, zc);
                (s2, a2, m2) = update(s2, a2, load(2), z, zc);
                (s3, a3, m3) = update(s3, a3, load(3), z, zc);
                pending = u64::from(m0)
                    | u64::from(m1) << $n
                    | u64::from(m2) << (2 * $n)
                    | u64::from(m3) << (3 * $n);
            }
            // After the last input: whatever crossing is pending happens.
            let end = times[steps.len()];
            let (sc, ac) = spill([s0, s1, s2, s3], [a0, a1, a2, a3]);
            for l in 0..width {
                if sc[l] > theta {
                    let tp = (end.t_ref + tau * (ac[l] / (sc[l] - theta)).ln()).max(end.t_prev);
                    out.fire(lo + l, tp, steps.len(), sc[l] - theta);
                }
            }
        }
    };
}

avx512_kernel!(
    sweep_f64,
    f64,
    __m512d,
    u8,
    8,
    _mm512_set1_pd,
    _mm512_loadu_pd,
    _mm512_maskz_loadu_pd,
    _mm512_storeu_pd,
    _mm512_add_pd,
    _mm512_mul_pd,
    _mm512_sub_pd,
    _mm512_cmp_pd_mask,
    _mm512_mask_cmp_pd_mask,
    _mm512_mask_mov_pd
);
avx512_kernel!(
    sweep_f32,
    f32,
    __m512,
    u16,
    16,
    _mm512_set1_ps,
    _mm512_loadu_ps,
    _mm512_maskz_loadu_ps,
    _mm512_storeu_ps,
    _mm512_add_ps,
    _mm512_mul_ps,
    _mm512_sub_ps,
    _mm512_cmp_ps_mask,
    _mm512_mask_cmp_ps_mask,
    _mm512_mask_mov_ps
);

/// Implements [`DenseSimd`] for one precision with its kernel.
macro_rules! dense_simd {
    ($t:ty, $kernel:ident, $n:expr) => {
        impl DenseSimd for $t {
            const BLOCK: usize = 4 * $n;

            fn has_kernel() -> bool {
                #[cfg(target_arch = "x86_64")]
                return has_avx512();
                #[cfg(not(target_arch = "x86_64"))]
                return false;
            }

            fn sweep_block(
                w: &[Self],
                n_out: usize,
                lo: usize,
                width: usize,
                steps: &[Step<Self>],
                times: &[StepTimes<Self>],
                theta: Self,
                tau: Self,
                out: &mut Outputs<'_, Self>,
            ) -> bool {
                if !Self::has_kernel() || width == 0 || width > Self::BLOCK || lo + width > n_out {
                    return false;
                }
                #[cfg(target_arch = "x86_64")]
                // SAFETY: the CPU has the features (checked above), the block is within the
                // layer (checked above) and each input's loads are bounds-checked inside.
                unsafe {
                    $kernel(w, n_out, lo, width, steps, times, theta, tau, out)
                };
                true
            }
        }
    };
}

dense_simd!(f64, sweep_f64, 8);
dense_simd!(f32, sweep_f32, 16);
