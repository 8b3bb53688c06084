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
//! This module, `analytic/dense_simd.rs` and `analytic/conv_simd.rs` (the dense and conv
//! sweeps in AVX-512 intrinsics) hold the crate's only `unsafe`: calling a
//! `#[target_feature]` function from code compiled without those features, which is sound
//! once the CPU is known to have them.

#![allow(unsafe_code)]

use std::sync::OnceLock;

/// The environment variable that caps the instruction set the hot loops use, read once per
/// process: `baseline` (the build's target, SSE2 on x86-64), `avx2` (x86-64-v3) or
/// `avx512` (x86-64-v4, the dense AVX-512 kernel included). Unset, or a level the CPU does
/// not have: the widest the CPU has. For testing every path on one machine (CI runs the
/// engine-agreement and kernel tests under each); results are the same bit for bit on
/// every path. The command line refuses a value that is none of these.
pub const ISA_VAR: &str = "FIRSTSPIKE_ISA";

/// An instruction-set level of the hot loops, narrowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Isa {
    /// The build's target (x86-64: SSE2); every CPU.
    Baseline,
    /// x86-64-v3: AVX2, FMA, BMI1/2, LZCNT, POPCNT.
    Avx2,
    /// x86-64-v4: AVX-512 F, BW, DQ, VL (and the dense AVX-512 kernel).
    Avx512,
}

impl Isa {
    /// The level named by `FIRSTSPIKE_ISA`'s value, or an error saying what is accepted.
    pub fn parse(name: &str) -> Result<Isa, String> {
        match name {
            "baseline" => Ok(Isa::Baseline),
            "avx2" => Ok(Isa::Avx2),
            "avx512" => Ok(Isa::Avx512),
            _ => Err(format!(
                "{ISA_VAR}={name:?} is not an instruction-set level: use baseline, avx2 or \
                 avx512, or leave it unset for the widest this CPU has"
            )),
        }
    }

    /// The level the hot loops run at in this process: the widest this CPU has, capped by
    /// `FIRSTSPIKE_ISA` (an unrecognised value caps nothing; the command line refuses it).
    pub fn current() -> Isa {
        static LEVEL: OnceLock<Isa> = OnceLock::new();
        *LEVEL.get_or_init(|| {
            let cap = std::env::var(ISA_VAR)
                .ok()
                .and_then(|v| Isa::parse(&v).ok())
                .unwrap_or(Isa::Avx512);
            detected().min(cap)
        })
    }
}

/// The widest level this CPU has.
fn detected() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        if has_v3() {
            if std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512bw")
                && std::is_x86_feature_detected!("avx512dq")
                && std::is_x86_feature_detected!("avx512vl")
            {
                return Isa::Avx512;
            }
            return Isa::Avx2;
        }
    }
    Isa::Baseline
}

/// Runs `f`, compiled for the widest instruction set of this CPU that the crate knows
/// ([`Isa::current`]).
///
/// `f` should be a closure around `#[inline(always)]` code: only what is inlined into it is
/// compiled for the chosen instruction set.
#[inline(always)]
pub(crate) fn best<T>(f: impl FnOnce() -> T) -> T {
    #[cfg(target_arch = "x86_64")]
    {
        match Isa::current() {
            // SAFETY: the CPU has every feature `v4` enables (`detected` checked them).
            Isa::Avx512 => return unsafe { v4(f) },
            // SAFETY: the CPU has every feature `v3` enables (`detected` checked them).
            Isa::Avx2 => return unsafe { v3(f) },
            Isa::Baseline => {}
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
