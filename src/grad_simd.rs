//! A convolution's input delta in the backward pass as explicit AVX-512 code.
//!
//! Input i of a convolution at position k along its layer's arrival order gets
//! `dL/dt_i = e_i sum_{(p, tap)} sum_o [k < causal_{p,o}] w_{tap,o} h_{p,o}` over its targets
//! (output position p through kernel tap `tap`) and the output channels o (see the module doc
//! of [`crate::grad`]). The generic code sums it in [`LANES`] partial sums
//! ([`crate::grad`]'s `LaneSum`): channel o of a target row goes to partial sum `o % LANES`,
//! rows one after another, the partial sums added pairwise at the end. This kernel keeps
//! those partial sums in one vector register (f32) or two (f64) and makes the same IEEE
//! operations in the same order (the product `w h`, then the sum, never fused; a masked-off
//! lane keeps its sum), so the result is the same bit for bit on every instruction set.
//!
//! Runs when [`crate::cpu::Isa::current`] is AVX-512; elsewhere the generic code runs. This
//! file, `cpu.rs`, `analytic/dense_simd.rs` and `analytic/conv_simd.rs` hold the crate's
//! `unsafe`.

#![allow(unsafe_code)]

use crate::cpu::Isa;
use crate::real::Real;
use std::any::TypeId;

/// Number of partial sums of a convolution's input delta.
pub(crate) const LANES: usize = 16;

/// The masked sum over `targets` of one input at position `k` (see the module doc), from the
/// kernel `w` (tap-major, `co` channels per tap), the output neurons' `h` and causal-set
/// sizes `c` (position-major, `co` per position); `None` when this CPU (or
/// `FIRSTSPIKE_ISA`) has no kernel for `F`, or a target lies outside the slices.
pub(crate) fn conv_input_sum<F: Real>(
    targets: &[(u32, u32)],
    co: usize,
    w: &[F],
    h: &[F],
    c: &[u32],
    k: u32,
) -> Option<F> {
    if Isa::current() != Isa::Avx512 {
        return None;
    }
    // Every row read must lie inside its slice: the kernel reads by pointer.
    let fits = targets.iter().all(|&(p, tap)| {
        (p as usize + 1) * co <= h.len().min(c.len()) && (tap as usize + 1) * co <= w.len()
    });
    if !fits {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if TypeId::of::<F>() == TypeId::of::<f32>() {
            // SAFETY: F is f32 (same type id), so these are the same types.
            let (w, h) = unsafe {
                (
                    &*(w as *const [F] as *const [f32]),
                    &*(h as *const [F] as *const [f32]),
                )
            };
            // SAFETY: the CPU has AVX-512 F/BW/DQ/VL (checked above) and every row fits.
            let s = unsafe { sum_f32(targets, co, w, h, c, k) };
            return Some(F::of(f64::from(s)));
        }
        if TypeId::of::<F>() == TypeId::of::<f64>() {
            // SAFETY: F is f64 (same type id).
            let (w, h) = unsafe {
                (
                    &*(w as *const [F] as *const [f64]),
                    &*(h as *const [F] as *const [f64]),
                )
            };
            // SAFETY: as above.
            let s = unsafe { sum_f64(targets, co, w, h, c, k) };
            return Some(F::of(s));
        }
    }
    None
}

/// The f32 kernel: the [`LANES`] partial sums in one register.
///
/// # Safety
/// The CPU must have AVX-512 F, BW, DQ and VL; every target's rows must fit `w`, `h`, `c`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
unsafe fn sum_f32(
    targets: &[(u32, u32)],
    co: usize,
    w: &[f32],
    h: &[f32],
    c: &[u32],
    k: u32,
) -> f32 {
    use std::arch::x86_64::*;
    let kv = _mm512_set1_epi32(k as i32);
    let mut acc = _mm512_setzero_ps();
    let full = co - co % LANES;
    let tail: __mmask16 = ((1u32 << (co % LANES)) - 1) as __mmask16;
    for &(p, tap) in targets {
        let (wr, hr, cr) = (
            w.as_ptr().add(tap as usize * co),
            h.as_ptr().add(p as usize * co),
            c.as_ptr().add(p as usize * co),
        );
        let mut o = 0;
        while o < full {
            let cv = _mm512_loadu_si512(cr.add(o) as *const _);
            // k < c (unsigned), as the generic mask.
            let m = _mm512_cmplt_epu32_mask(kv, cv);
            let prod = _mm512_mul_ps(_mm512_loadu_ps(wr.add(o)), _mm512_loadu_ps(hr.add(o)));
            acc = _mm512_mask_add_ps(acc, m, acc, prod);
            o += LANES;
        }
        if tail != 0 {
            let cv = _mm512_maskz_loadu_epi32(tail, cr.add(o) as *const _);
            let m = _mm512_mask_cmplt_epu32_mask(tail, kv, cv);
            let prod = _mm512_mul_ps(
                _mm512_maskz_loadu_ps(tail, wr.add(o)),
                _mm512_maskz_loadu_ps(tail, hr.add(o)),
            );
            acc = _mm512_mask_add_ps(acc, m, acc, prod);
        }
    }
    // Pairwise: lane l + lane l + 8, then + 4, + 2, + 1 (the generic total's order).
    let lo = _mm512_castps512_ps256(acc);
    let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc), 1));
    let s8 = _mm256_add_ps(lo, hi);
    let s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    let s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
    _mm_cvtss_f32(s1)
}

/// The f64 kernel: the [`LANES`] partial sums in two registers (lanes 0-7 and 8-15).
///
/// # Safety
/// As [`sum_f32`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
unsafe fn sum_f64(
    targets: &[(u32, u32)],
    co: usize,
    w: &[f64],
    h: &[f64],
    c: &[u32],
    k: u32,
) -> f64 {
    use std::arch::x86_64::*;
    let kv = _mm512_set1_epi32(k as i32);
    let (mut acc0, mut acc1) = (_mm512_setzero_pd(), _mm512_setzero_pd());
    let full = co - co % LANES;
    let tail = ((1u32 << (co % LANES)) - 1) as __mmask16;
    for &(p, tap) in targets {
        let (wr, hr, cr) = (
            w.as_ptr().add(tap as usize * co),
            h.as_ptr().add(p as usize * co),
            c.as_ptr().add(p as usize * co),
        );
        let mut o = 0;
        while o < full {
            let cv = _mm512_loadu_si512(cr.add(o) as *const _);
            let m = _mm512_cmplt_epu32_mask(kv, cv);
            let (m0, m1) = (m as __mmask8, (m >> 8) as __mmask8);
            let p0 = _mm512_mul_pd(_mm512_loadu_pd(wr.add(o)), _mm512_loadu_pd(hr.add(o)));
            let p1 = _mm512_mul_pd(
                _mm512_loadu_pd(wr.add(o + 8)),
                _mm512_loadu_pd(hr.add(o + 8)),
            );
            acc0 = _mm512_mask_add_pd(acc0, m0, acc0, p0);
            acc1 = _mm512_mask_add_pd(acc1, m1, acc1, p1);
            o += LANES;
        }
        if tail != 0 {
            let cv = _mm512_maskz_loadu_epi32(tail, cr.add(o) as *const _);
            let m = _mm512_mask_cmplt_epu32_mask(tail, kv, cv);
            let (t0, t1) = (tail as __mmask8, (tail >> 8) as __mmask8);
            let (m0, m1) = (m as __mmask8, (m >> 8) as __mmask8);
            let p0 = _mm512_mul_pd(
                _mm512_maskz_loadu_pd(t0, wr.add(o)),
                _mm512_maskz_loadu_pd(t0, hr.add(o)),
            );
            let p1 = _mm512_mul_pd(
                // With no lane live in the second half, this pointer may lie past the
                // row (and the allocation): formed without `add`'s in-bounds promise, and
                // the masked load reads nothing there.
                _mm512_maskz_loadu_pd(t1, wr.wrapping_add(o + 8)),
                _mm512_maskz_loadu_pd(t1, hr.wrapping_add(o + 8)),
            );
            acc0 = _mm512_mask_add_pd(acc0, m0, acc0, p0);
            acc1 = _mm512_mask_add_pd(acc1, m1, acc1, p1);
        }
    }
    // Pairwise: lane l + lane l + 8 (the two registers), then + 4, + 2, + 1.
    let s8 = _mm512_add_pd(acc0, acc1);
    let s4 = _mm256_add_pd(_mm512_castpd512_pd256(s8), _mm512_extractf64x4_pd(s8, 1));
    let s2 = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd(s4, 1));
    let s1 = _mm_add_sd(s2, _mm_unpackhi_pd(s2, s2));
    _mm_cvtsd_f64(s1)
}
