//! The position-major convolution sweep of [`super::conv_lanes`] as explicit AVX-512 code:
//! a run of two vectors of output channels (32 in f32, 16 in f64) keeps its sums `S` and `A`
//! in four vector registers while the run's weights stream from memory.
//!
//! Written with intrinsics for the reason the dense kernel is: generically, the compiler
//! kept the run's lane arrays on the stack. Each neuron takes the same IEEE operations in the
//! same order as in the generic sweep (the helpers of [`crate::neuron`], lane-wise: `S + w`,
//! `A + w e` as a product then a sum, never fused; the test without `ln` as
//! `S - theta > 0` and not `A > ek (S - theta)`; the exact crossing per lane with
//! [`crate::neuron::crossing_time`]), so the results are the same bit for bit; the test
//! `the_position_sweep_equals_the_reference_bit_for_bit` compares them with the input-major
//! reference on random layers.
//!
//! Runs when [`crate::cpu::Isa::current`] is AVX-512; elsewhere the generic sweep runs. This
//! file, `dense_simd.rs` and `cpu.rs` hold the crate's `unsafe`.

#![allow(unsafe_code)]

use super::conv_plan::{decide_lanes, ConvOut, Due, RunArgs};
use crate::cpu::Isa;
use crate::real::Real;
use std::any::TypeId;

/// Channels per run of the kernel of `F` (two vectors), 0 when this CPU (or
/// `FIRSTSPIKE_ISA`) has no kernel.
pub(crate) fn run_width<F: Real>() -> usize {
    if Isa::current() != Isa::Avx512 {
        return 0;
    }
    if TypeId::of::<F>() == TypeId::of::<f32>() {
        32
    } else if TypeId::of::<F>() == TypeId::of::<f64>() {
        16
    } else {
        0
    }
}

/// Channels `c0..c0 + run_width()` of every position through the kernel of `F`; returns
/// false, doing nothing, when there is no kernel or the run does not fit the layer.
pub(crate) fn run<F: Real>(
    args: &RunArgs<'_, F>,
    positions: usize,
    c0: usize,
    out: &mut ConvOut<'_, F>,
) -> bool {
    let width = run_width::<F>();
    if width == 0 || c0 + width > args.co {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if TypeId::of::<F>() == TypeId::of::<f32>() {
            // SAFETY: F is f32 (same type id), so these are the same types.
            let (args, out) = unsafe {
                (
                    &*(args as *const RunArgs<'_, F> as *const RunArgs<'_, f32>),
                    &mut *(out as *mut ConvOut<'_, F> as *mut ConvOut<'_, f32>),
                )
            };
            for p in 0..positions {
                // SAFETY: the CPU has AVX-512 F/BW/DQ/VL (`run_width` is 0 without them),
                // and the run fits the layer's channels (checked above).
                unsafe { position_f32(args, p, c0, out) };
            }
        } else {
            // SAFETY: F is f64 (`run_width` is non-zero only for f32 and f64).
            let (args, out) = unsafe {
                (
                    &*(args as *const RunArgs<'_, F> as *const RunArgs<'_, f64>),
                    &mut *(out as *mut ConvOut<'_, F> as *mut ConvOut<'_, f64>),
                )
            };
            for p in 0..positions {
                // SAFETY: as above.
                unsafe { position_f64(args, p, c0, out) };
            }
        }
        true
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (args, positions, out);
        false
    }
}

/// Defines the kernel of one precision: `$n` lanes of `$t` per vector `$v`, a run of two
/// vectors.
macro_rules! position_kernel {
    ($name:ident, $t:ty, $v:ty, $n:expr, $mask:ty,
     splat: $splat:ident, loadu: $loadu:ident, storeu: $storeu:ident,
     add: $add:ident, sub: $sub:ident, mul: $mul:ident,
     cmp: $cmp:ident, mask_cmp: $mask_cmp:ident, mask_mov: $mask_mov:ident) => {
        /// One position's run of channels `c0..c0 + 2 N` through its own inputs (see the
        /// module doc of `conv_lanes`).
        ///
        /// # Safety
        /// The CPU must have AVX-512 F, BW, DQ and VL; `c0 + 2 N <= co`.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
        unsafe fn $name(args: &RunArgs<'_, $t>, p: usize, c0: usize, out: &mut ConvOut<'_, $t>) {
            use std::arch::x86_64::*;
            const N: usize = $n;
            let plan = args.plan;
            let (theta, tau, co) = (args.theta, args.tau, args.co);
            let n = plan.count[p] as usize;
            let own = &plan.entries[p * args.stride..p * args.stride + n];
            let (zero, th, gone) = ($splat(0.0), $splat(theta), $splat(<$t>::NEG_INFINITY));
            let (mut s0, mut s1, mut a0, mut a1) = (zero, zero, zero, zero);
            let mut t_ref = args.t_ref0;
            let mut t_last: $t = 0.0;
            let mut last = 0u32;
            let rebases = &plan.rebases[..];
            let mut r = 0;
            let j0 = p * co + c0;
            // The sums by lane, for the exact decisions (rare: a neuron about to fire).
            let spill = |s0: $v, s1: $v, a0: $v, a1: $v| {
                let (mut sc, mut ac) = ([0.0 as $t; 2 * N], [0.0 as $t; 2 * N]);
                // SAFETY: sc and ac hold two vectors each.
                unsafe {
                    $storeu(sc.as_mut_ptr(), s0);
                    $storeu(sc.as_mut_ptr().add(N), s1);
                    $storeu(ac.as_mut_ptr(), a0);
                    $storeu(ac.as_mut_ptr().add(N), a1);
                }
                (sc, ac)
            };
            for &(k, tap) in own {
                let ku = k as usize;
                while r < rebases.len() && rebases[r].0 < k {
                    let f = $splat(rebases[r].1);
                    a0 = $mul(a0, f);
                    a1 = $mul(a1, f);
                    t_ref = plan.t[rebases[r].0 as usize];
                    r += 1;
                }
                let (t, ek) = (plan.t[ku], $splat(plan.ek[ku]));
                // Candidates: S - theta > 0 and not A > ek (S - theta) (NaN: a candidate).
                let (d0, d1) = ($sub(s0, th), $sub(s1, th));
                let m0 = $mask_cmp::<_CMP_NGT_UQ>($cmp::<_CMP_GT_OQ>(d0, zero), a0, $mul(ek, d0));
                let m1 = $mask_cmp::<_CMP_NGT_UQ>($cmp::<_CMP_GT_OQ>(d1, zero), a1, $mul(ek, d1));
                let due = u64::from(m0) | u64::from(m1) << N;
                if due != 0 {
                    let (sc, ac) = spill(s0, s1, a0, a1);
                    let at = Due {
                        t,
                        t_ref,
                        t_last,
                        causal: last + 1,
                        j0,
                    };
                    let fired = decide_lanes(&sc, &ac, due, theta, tau, at, out);
                    s0 = $mask_mov(s0, (fired & ((1 << N) - 1)) as $mask, gone);
                    s1 = $mask_mov(s1, (fired >> N) as $mask, gone);
                }
                if r < rebases.len() && rebases[r].0 == k {
                    let f = $splat(rebases[r].1);
                    a0 = $mul(a0, f);
                    a1 = $mul(a1, f);
                    t_ref = t;
                    r += 1;
                }
                let e = $splat(plan.e[ku]);
                let at = tap as usize * co + c0;
                let row = &args.w[at..at + 2 * N];
                // SAFETY: `row` holds two vectors (bounds checked by the slice above).
                let (w0, w1) = unsafe { ($loadu(row.as_ptr()), $loadu(row.as_ptr().add(N))) };
                s0 = $add(s0, w0);
                a0 = $add(a0, $mul(w0, e));
                s1 = $add(s1, w1);
                a1 = $add(a1, $mul(w1, e));
                t_last = t;
                last = k;
            }
            if r < rebases.len() {
                for &(_, f) in &rebases[r..] {
                    let f = $splat(f);
                    a0 = $mul(a0, f);
                    a1 = $mul(a1, f);
                }
                t_ref = args.t_ref_end;
            }
            let pending =
                u64::from($cmp::<_CMP_GT_OQ>(s0, th)) | u64::from($cmp::<_CMP_GT_OQ>(s1, th)) << N;
            if pending != 0 {
                let (sc, ac) = spill(s0, s1, a0, a1);
                let at = Due {
                    t: <$t>::INFINITY,
                    t_ref,
                    t_last,
                    causal: last + 1,
                    j0,
                };
                decide_lanes(&sc, &ac, pending, theta, tau, at, out);
            }
        }
    };
}

position_kernel!(position_f32, f32, __m512, 16, u16,
    splat: _mm512_set1_ps, loadu: _mm512_loadu_ps, storeu: _mm512_storeu_ps,
    add: _mm512_add_ps, sub: _mm512_sub_ps, mul: _mm512_mul_ps,
    cmp: _mm512_cmp_ps_mask, mask_cmp: _mm512_mask_cmp_ps_mask, mask_mov: _mm512_mask_mov_ps);
position_kernel!(position_f64, f64, __m512d, 8, u8,
    splat: _mm512_set1_pd, loadu: _mm512_loadu_pd, storeu: _mm512_storeu_pd,
    add: _mm512_add_pd, sub: _mm512_sub_pd, mul: _mm512_mul_pd,
    cmp: _mm512_cmp_pd_mask, mask_cmp: _mm512_mask_cmp_pd_mask, mask_mov: _mm512_mask_mov_pd);
