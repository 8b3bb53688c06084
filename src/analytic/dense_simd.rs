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

use super::layer::{LayerRecord, LayerScratch, Step, StepTimes};
use crate::network::Dense;
use crate::neuron::{arrival, crossing_time};
use crate::real::Real;
use std::any::TypeId;

/// The dense layer's forward pass with the kernel of `F`, as `layer_forward` computes it:
/// returns false, doing nothing, when this CPU has no kernel or the layer is narrower than a
/// block (the generic sweep serves it better).
pub(super) fn layer_forward_simd<F: Real>(
    layer: &Dense<F>,
    t_in: &[F],
    theta: F,
    tau: F,
    scratch: &mut LayerScratch<F>,
    rec: &mut LayerRecord<'_, F>,
) -> bool {
    /// The arguments as those of precision `$t`, which `F` is (same type id).
    macro_rules! as_precision {
        ($t:ty) => {
            // SAFETY: F is $t (same type id), so these are the same types.
            unsafe {
                (
                    &*(layer as *const Dense<F> as *const Dense<$t>),
                    &*(t_in as *const [F] as *const [$t]),
                    &mut *(scratch as *mut LayerScratch<F> as *mut LayerScratch<$t>),
                    &mut *(rec as *mut LayerRecord<'_, F> as *mut LayerRecord<'_, $t>),
                )
            }
        };
    }
    if TypeId::of::<F>() == TypeId::of::<f32>() {
        let (layer, t_in, scratch, rec) = as_precision!(f32);
        // theta and tau are f32 values: exact through f64.
        let (theta, tau) = (theta.f64() as f32, tau.f64() as f32);
        return forward_with_kernel(layer, t_in, theta, tau, scratch, rec);
    }
    if TypeId::of::<F>() == TypeId::of::<f64>() {
        let (layer, t_in, scratch, rec) = as_precision!(f64);
        return forward_with_kernel(layer, t_in, theta.f64(), tau.f64(), scratch, rec);
    }
    false
}

/// [`layer_forward_simd`] for a precision with a kernel.
fn forward_with_kernel<F: Real + DenseSimd>(
    layer: &Dense<F>,
    t_in: &[F],
    theta: F,
    tau: F,
    scratch: &mut LayerScratch<F>,
    rec: &mut LayerRecord<'_, F>,
) -> bool {
    let (n_out, w) = (layer.n_out, &layer.w[..]);
    let block = F::block();
    if block == 0 || n_out < block {
        return false;
    }
    let Some((order, t_out, causal, s_minus_theta)) = rec.start(t_in, n_out, scratch) else {
        return true;
    };
    let LayerScratch { steps, times, .. } = scratch;
    plan_steps(t_in, order, n_out, tau, steps, times);
    let mut out = Outputs {
        t_out,
        causal,
        s_minus_theta,
    };
    for lo in (0..n_out).step_by(block) {
        let width = (n_out - lo).min(block);
        let ran = F::sweep_block(w, n_out, lo, width, steps, times, theta, tau, &mut out);
        debug_assert!(ran, "the kernel runs on this CPU");
    }
    true
}

/// A layer's output buffers, as the kernels fill them.
pub(crate) struct Outputs<'a, F> {
    t_out: &'a mut [F],
    causal: &'a mut [u32],
    s_minus_theta: &'a mut [F],
}

impl<F: Real> Outputs<'_, F> {
    /// Neuron `j` fires at `t` with the first `k` inputs as its causal set.
    #[inline(always)]
    fn fire(&mut self, j: usize, t: F, k: usize, s_minus_theta: F) {
        self.t_out[j] = t;
        self.causal[j] = k as u32;
        self.s_minus_theta[j] = s_minus_theta;
    }
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
        let (x, rebase) = arrival(t, t_ref, tau);
        // `zx`: this input's z against the previous input's origin, the candidate threshold
        // after the previous input (whose `A` is not rebased yet).
        let (z, zx, rebase) = match (steps.last(), rebase) {
            // The first input is the origin.
            (None, _) => (F::one(), F::one(), F::one()),
            (_, Some(f)) => {
                t_ref = t;
                (F::one(), x.exp(), f)
            }
            // A tie: the same exp of the same argument (a tied input cannot rebase).
            (Some(p), None) if t == t_prev => (p.z, p.z, F::one()),
            (Some(_), None) => {
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

/// The explicit-SIMD dense sweep of one precision (f32 and f64; generic code reaches it
/// through [`layer_forward_simd`], which dispatches on the type, so that [`Real`] stays a
/// numeric trait and does not depend on a kernel).
pub(crate) trait DenseSimd: Sized {
    /// Neurons per block of this CPU's kernel (4 vectors), 0 if it has none.
    fn block() -> usize;

    /// Neurons `lo..lo + width` (`1 <= width <= block()`) of a layer with `n_out` neurons
    /// and weights `w` (`n_in x n_out`, row-major) through every input of `steps`, writing
    /// the neurons that fire into `out`. Returns false, doing nothing, if this CPU has no
    /// kernel or the block is out of range.
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

/// Whether this CPU has the AVX-512 subsets of the kernels (F, BW, DQ, VL; checked at run
/// time, cached by std). Without them the generic sweep runs: an AVX2 kernel (vectors of 4
/// f64 or 8 f32, 16 registers) measured slower than the generic sweep compiled for AVX2.
/// `FIRSTSPIKE_ISA` below `avx512` turns the kernel off ([`crate::cpu::Isa::current`]).
fn has_avx512() -> bool {
    crate::cpu::Isa::current() == crate::cpu::Isa::Avx512
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
        let tp = crossing_time(s[l], a[l], theta, tk.t_ref, tau, tk.t_prev);
        if tp <= tk.t {
            out.fire(lo + l, tp, k, s[l] - theta);
            fired |= 1 << l;
        }
    }
    fired
}

/// The vector operations of one instruction set and precision, all the kernel needs: `N`
/// lanes of `T` per vector `V`; masks of lanes as the low bits of a `u64`.
macro_rules! ops {
    ($mod:ident, $feat:literal, $t:ty, $v:ty, $n:expr,
     splat: $splat:expr, load: $load:expr, load_lanes: $load_lanes:expr, store: $store:expr,
     add: $add:expr, mul: $mul:expr, sub: $sub:expr,
     candidates: $cand:expr, replace: $replace:expr) => {
        #[cfg(target_arch = "x86_64")]
        #[allow(clippy::missing_safety_doc)]
        mod $mod {
            #[allow(unused_imports)]
            use std::arch::x86_64::*;
            pub(super) type T = $t;
            pub(super) type V = $v;
            /// Lanes per vector.
            pub(super) const N: usize = $n;
            #[inline]
            #[target_feature(enable = $feat)]
            pub(super) fn splat(x: T) -> V {
                ($splat)(x)
            }
            /// `p` must be valid for `N` reads.
            #[inline]
            #[target_feature(enable = $feat)]
            pub(super) unsafe fn load(p: *const T) -> V {
                unsafe { ($load)(p) }
            }
            /// Lanes whose bit is set in `lanes`, zero in the others; `p` must be valid for
            /// reads of those lanes (the others are not touched).
            #[inline]
            #[target_feature(enable = $feat)]
            pub(super) unsafe fn load_lanes(p: *const T, lanes: u64) -> V {
                unsafe { ($load_lanes)(p, lanes) }
            }
            /// `p` must be valid for `N` writes.
            #[inline]
            #[target_feature(enable = $feat)]
            pub(super) unsafe fn store(p: *mut T, v: V) {
                unsafe { ($store)(p, v) }
            }
            #[inline]
            #[target_feature(enable = $feat)]
            pub(super) fn add(x: V, y: V) -> V {
                ($add)(x, y)
            }
            #[inline]
            #[target_feature(enable = $feat)]
            pub(super) fn mul(x: V, y: V) -> V {
                ($mul)(x, y)
            }
            #[inline]
            #[target_feature(enable = $feat)]
            pub(super) fn sub(x: V, y: V) -> V {
                ($sub)(x, y)
            }
            /// The candidate test per lane: `S > theta` and `A <= zc (S - theta)`, as bits.
            #[inline]
            #[target_feature(enable = $feat)]
            pub(super) fn candidates(s: V, a: V, th: V, zc: V) -> u64 {
                ($cand)(s, th, a, mul(zc, sub(s, th)))
            }
            /// `v` with the lanes whose bit is set in `lanes` replaced by those of `by`.
            #[inline]
            #[target_feature(enable = $feat)]
            pub(super) fn replace(v: V, lanes: u64, by: V) -> V {
                ($replace)(v, lanes, by)
            }
        }
    };
}

ops!(avx512_f64, "avx512f,avx512bw,avx512dq,avx512vl", f64, __m512d, 8,
    splat: _mm512_set1_pd,
    load: |p| _mm512_loadu_pd(p),
    load_lanes: |p, l: u64| _mm512_maskz_loadu_pd(l as u8, p),
    store: |p, v| _mm512_storeu_pd(p, v),
    add: _mm512_add_pd, mul: _mm512_mul_pd, sub: _mm512_sub_pd,
    candidates: |s, th, a, r| u64::from(_mm512_mask_cmp_pd_mask::<_CMP_LE_OQ>(
        _mm512_cmp_pd_mask::<_CMP_GT_OQ>(s, th), a, r)),
    replace: |v, l: u64, by| _mm512_mask_mov_pd(v, l as u8, by)
);
ops!(avx512_f32, "avx512f,avx512bw,avx512dq,avx512vl", f32, __m512, 16,
    splat: _mm512_set1_ps,
    load: |p| _mm512_loadu_ps(p),
    load_lanes: |p, l: u64| _mm512_maskz_loadu_ps(l as u16, p),
    store: |p, v| _mm512_storeu_ps(p, v),
    add: _mm512_add_ps, mul: _mm512_mul_ps, sub: _mm512_sub_ps,
    candidates: |s, th, a, r| u64::from(_mm512_mask_cmp_ps_mask::<_CMP_LE_OQ>(
        _mm512_cmp_ps_mask::<_CMP_GT_OQ>(s, th), a, r)),
    replace: |v, l: u64, by| _mm512_mask_mov_ps(v, l as u16, by)
);
/// Defines the block sweep of one instruction set and precision over the operations of
/// module `$m` (see `ops!`).
macro_rules! kernel {
    ($name:ident, $m:ident, $feat:literal) => {
        /// The block sweep (see [`DenseSimd::sweep_block`]) with the operations of `$m`: a
        /// block of 4 vectors of neurons.
        ///
        /// # Safety
        /// The CPU must have the features `$feat`; `steps` must come from [`plan_steps`]
        /// for a layer of `n_out` neurons whose weights are `w`; `1 <= width <= 4 N` and
        /// `lo + width <= n_out`.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $feat)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn $name(
            w: &[$m::T],
            n_out: usize,
            lo: usize,
            width: usize,
            steps: &[Step<$m::T>],
            times: &[StepTimes<$m::T>],
            theta: $m::T,
            tau: $m::T,
            out: &mut Outputs<'_, $m::T>,
        ) {
            use $m::{add, candidates, mul, replace, splat, N, T, V};
            const B: usize = 4 * N;
            debug_assert!((1..=B).contains(&width) && lo + width <= n_out);
            let th = splat(theta);
            let gone = splat(T::NEG_INFINITY);
            let zero = splat(0.0);
            // Lanes past `width` start at S = -inf: they never pass a test.
            let live: u64 = if width == B {
                (1u64 << (B - 1) << 1).wrapping_sub(1)
            } else {
                (1u64 << width) - 1
            };
            let lanes = |v: usize| (live >> (N * v)) & ((1u64 << N) - 1);
            let [mut s0, mut s1, mut s2, mut s3] =
                [0, 1, 2, 3].map(|v| replace(gone, lanes(v), zero));
            let [mut a0, mut a1, mut a2, mut a3] = [zero; 4];
            let mut silent = width;
            // Bit l: neuron lo + l passed the candidate test against the current input.
            let mut pending = 0u64;
            // The sums by lane, for the exact decisions (rare: a neuron about to fire). The
            // sums are passed by value, never by reference, so that they stay in registers.
            let spill = |s: [V; 4], a: [V; 4]| {
                let (mut sc, mut ac) = ([0.0 as T; B], [0.0 as T; B]);
                for v in 0..4 {
                    // SAFETY: sc and ac hold 4 vectors of N lanes.
                    unsafe {
                        $m::store(sc.as_mut_ptr().add(v * N), s[v]);
                        $m::store(ac.as_mut_ptr().add(v * N), a[v]);
                    }
                }
                (sc, ac)
            };
            // One vector of neurons takes weights `wv`: S += w, A += w z; then the candidate
            // test against the next input, as lane bits.
            let update = |s: V, a: V, wv: V, z: V, zc: V| {
                let (s, a) = (add(s, wv), add(a, mul(wv, z)));
                (s, a, candidates(s, a, th, zc))
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
                    let f = |v: usize| (fired >> (N * v)) & ((1u64 << N) - 1);
                    s0 = replace(s0, f(0), gone);
                    s1 = replace(s1, f(1), gone);
                    s2 = replace(s2, f(2), gone);
                    s3 = replace(s3, f(3), gone);
                }
                if st.rebase != 1.0 {
                    let f = splat(st.rebase);
                    a0 = mul(a0, f);
                    a1 = mul(a1, f);
                    a2 = mul(a2, f);
                    a3 = mul(a3, f);
                }
                // The bounds of this input's loads, checked: the block's lanes of its row.
                assert!(st.row + lo + width <= w.len(), "weight row out of bounds");
                // SAFETY: lanes within `width` are in bounds (checked just above); a masked
                // load does not touch the others. The pointer of a vector without a live lane
                // (past `width` in a partial block) may lie past the row, even past the
                // allocation: it is formed with `wrapping_add`, which is defined for any
                // offset (`add` would be undefined behaviour there), and the load with an
                // empty mask reads nothing through it.
                let load = |v: usize| unsafe {
                    let p = w.as_ptr().wrapping_add(st.row + lo + v * N);
                    if width == B {
                        $m::load(p)
                    } else {
                        $m::load_lanes(p, lanes(v))
                    }
                };
                let (z, zc) = (splat(st.z), splat(st.zc));
                let (m0, m1, m2, m3);
                (s0, a0, m0) = update(s0, a0, load(0), z, zc);
                (s1, a1, m1) = update(s1, a1, load(1), z, zc);
                (s2, a2, m2) = update(s2, a2, load(2), z, zc);
                (s3, a3, m3) = update(s3, a3, load(3), z, zc);
                pending = m0 | m1 << N | m2 << (2 * N) | m3 << (3 * N);
            }
            // After the last input: whatever crossing is pending happens.
            let end = times[steps.len()];
            let (sc, ac) = spill([s0, s1, s2, s3], [a0, a1, a2, a3]);
            for l in 0..width {
                if sc[l] > theta {
                    let tp = crossing_time(sc[l], ac[l], theta, end.t_ref, tau, end.t_prev);
                    out.fire(lo + l, tp, steps.len(), sc[l] - theta);
                }
            }
        }
    };
}

kernel!(
    sweep_avx512_f64,
    avx512_f64,
    "avx512f,avx512bw,avx512dq,avx512vl"
);
kernel!(
    sweep_avx512_f32,
    avx512_f32,
    "avx512f,avx512bw,avx512dq,avx512vl"
);

/// Implements [`DenseSimd`] for one precision with its kernel of `$n` lanes per vector.
macro_rules! dense_simd {
    ($t:ty, $kernel:ident, $n:expr) => {
        impl DenseSimd for $t {
            fn block() -> usize {
                if has_avx512() {
                    4 * $n
                } else {
                    0
                }
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
                if width == 0 || width > Self::block() || lo + width > n_out {
                    return false;
                }
                // SAFETY: the CPU has the kernel's features (`block` is 0 without them), the
                // block is within the layer (checked above) and each input's loads are
                // bounds-checked inside.
                #[cfg(target_arch = "x86_64")]
                unsafe {
                    $kernel(w, n_out, lo, width, steps, times, theta, tau, out)
                };
                #[cfg(not(target_arch = "x86_64"))]
                let _ = (w, steps, times, theta, tau, out);
                true
            }
        }
    };
}

dense_simd!(f64, sweep_avx512_f64, 8);
dense_simd!(f32, sweep_avx512_f32, 16);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytic::forward::layer_forward_generic;
    use rand::{Rng, SeedableRng};

    /// The AVX-512 kernel gives the generic sweep's outputs bit for bit, in f64 and f32, on
    /// layers of whole and partial blocks, with ties, silent inputs and spans long enough to
    /// rebase.
    #[test]
    fn the_kernel_equals_the_generic_sweep_bit_for_bit() {
        if !has_avx512() {
            // Without the kernel there is nothing to compare; CI requires the kernel to run
            // where the CPU has it (FIRSTSPIKE_REQUIRE_KERNEL=1 with the default level).
            assert!(
                std::env::var("FIRSTSPIKE_REQUIRE_KERNEL").as_deref() != Ok("1"),
                "the AVX-512 kernel was required but does not run here"
            );
            eprintln!("this CPU has no AVX-512 (or FIRSTSPIKE_ISA caps it): no kernel to test");
            return;
        }
        same_outputs::<f64>(21, &[3.0, 3000.0]);
        same_outputs::<f32>(22, &[3.0, 300.0]);
    }

    fn same_outputs<F: Real + DenseSimd>(seed: u64, spans: &[f64]) {
        let block = F::block();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let (mut fired, mut total) = (0, 0);
        for &span in spans {
            for _ in 0..60 {
                let n_in = rng.gen_range(1..60);
                // One block or more, whole and partial.
                let n_out = rng.gen_range(block..3 * block + 20);
                let w_scale = rng.gen_range(0.05..0.5);
                let w: Vec<F> = (0..n_in * n_out)
                    .map(|_| F::of(w_scale * rng.gen_range(-0.5..1.0)))
                    .collect();
                let t_in: Vec<F> = (0..n_in)
                    .map(|_| {
                        F::of(match rng.gen_range(0..10) {
                            0 => f64::INFINITY,
                            1 | 2 => span / 3.0, // deliberate ties
                            _ => rng.gen_range(0.0..span),
                        })
                    })
                    .collect();
                let (theta, tau) = (F::of(1.5), F::of(0.8));
                let bits = |v: &[F]| v.iter().map(|x| x.f64().to_bits()).collect::<Vec<_>>();
                let layer = Dense { n_in, n_out, w };
                let (mut o, mut t, mut c, mut m) = (vec![], vec![], vec![], vec![]);
                let mut rec = LayerRecord {
                    order: &mut o,
                    t_out: &mut t,
                    causal: &mut c,
                    s_minus_theta: &mut m,
                };
                let sc = &mut LayerScratch::default();
                let ran = layer_forward_simd(&layer, &t_in, theta, tau, sc, &mut rec);
                assert!(ran, "block {block}");
                let kernel = (o.clone(), bits(&t), c.clone(), bits(&m));
                let rec = LayerRecord {
                    order: &mut o,
                    t_out: &mut t,
                    causal: &mut c,
                    s_minus_theta: &mut m,
                };
                layer_forward_generic(&layer, &t_in, theta, tau, sc, rec);
                let generic = (o, bits(&t), c, bits(&m));
                assert_eq!(
                    kernel, generic,
                    "block {block}, n_in {n_in}, n_out {n_out}, span {span}"
                );
                fired += generic.2.iter().filter(|&&k| k > 0).count();
                total += n_out;
            }
        }
        // Enough neurons fire (and enough stay silent) for the comparison to mean something.
        assert!(
            fired > total / 10 && fired < total * 9 / 10,
            "{fired} of {total} fired"
        );
    }
}
