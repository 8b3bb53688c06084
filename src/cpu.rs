//! Runtime choice of instruction set for the hot loops.
//!
//! The default build targets its architecture's baseline (x86-64: SSE2), so that a binary or
//! wheel built on one machine runs on any other. The loops that carry the run time (the
//! analytic sweep, the event engine's dense delivery, the training's gradient sums and
//! updates) go through [`best`], which runs them compiled for AVX-512 or for x86-64-v3
//! (AVX2, FMA) when the CPU has those, checked at run time (`is_x86_feature_detected!`,
//! cached by std). Every copy computes the same results bit for bit: Rust never fuses
//! `a * b + c` on its own, and the code's explicit `mul_add` is a correctly rounded fused
//! multiply-add on every path (an instruction with FMA, libm's software `fma` without).
//!
//! This module and `analytic/dense_simd.rs` (the dense sweep in AVX-512 intrinsics) hold the
//! crate's only `unsafe`: calling a `#[target_feature]` function from code compiled without
//! those features, which is sound once the CPU is known to have them.

#![allow(unsafe_code)]

/// Runs `f`, compiled for the widest instruction set of this CPU that the crate knows.
///
/// `f` should be a closure around `#[inline(always)]` code: only what is inlined into it is
/// compiled for the chosen instruction set.
#[inline(always)]
pub(crate) fn best<T>(f: impl FnOnce() -> T) -> T {
    #[cfg(target_arch = "x86_64")]
    {
        if has_v3() {
            if std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512bw")
                && std::is_x86_feature_detected!("avx512dq")
                && std::is_x86_feature_detected!("avx512vl")
            {
                // SAFETY: the CPU has every feature `v4` enables (checked just above).
                return unsafe { v4(f) };
            }
            // SAFETY: the CPU has every feature `v3` enables (checked by `has_v3`).
            return unsafe { v3(f) };
        }
    }
    f()
}

/// The features of x86-64-v3 that `v3` enables.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn has_v3() -> bool {
    std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
        && std::is_x86_feature_detected!("bmi1")
        && std::is_x86_feature_detected!("bmi2")
        && std::is_x86_feature_detected!("lzcnt")
        && std::is_x86_feature_detected!("popcnt")
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
fn v3<T>(f: impl FnOnce() -> T) -> T {
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt,popcnt,avx512f,avx512bw,avx512dq,avx512vl")]
fn v4<T>(f: impl FnOnce() -> T) -> T {
    f()
}

#[cfg(test)]
mod tests {
    /// Whatever copy runs, it returns what the closure computes.
    #[test]
    fn best_runs_the_closure() {
        let x: Vec<f32> = (0..100).map(|i| i as f32 * 0.37).collect();
        let plain: f32 = x.iter().map(|v| v.mul_add(1.5, -0.25)).sum();
        let fast = super::best(|| x.iter().map(|v| v.mul_add(1.5, -0.25)).sum::<f32>());
        assert_eq!(plain.to_bits(), fast.to_bits());
    }
}
