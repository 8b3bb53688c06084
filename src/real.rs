//! The floating-point types the solvers run in.
//!
//! Spike times are `f64` in the engines and in every check (the reference precision). The
//! analytic solver may also run in `f32` to train faster. [`Real`] is the small set of
//! operations both need, plus two per-precision constants whose reasons are given below.

use num_traits::Float;

/// A floating-point type the analytic solver can run in (`f32` or `f64`).
pub trait Real: Float + Send + Sync + Default + std::fmt::Debug + std::iter::Sum + 'static {
    /// Largest exponent (t - t_ref)/tau_syn kept before a neuron's running sum A is rebased to a
    /// later reference time. exp(x) overflows f64 near x = 709 and f32 near x = 88; rebasing
    /// well below that leaves headroom for A = sum w_i exp(x_i) with many terms.
    const REBASE_LIMIT: Self;
    /// Relative margin within which a z-domain comparison of a predicted spike against the next
    /// input is deemed a near-tie and is re-done in the time domain, exactly as the event engine
    /// does it. Several ulps of the type, far above exp/ln rounding.
    const TIE_MARGIN: Self;
    /// From `f64`.
    fn of(x: f64) -> Self;
    /// To `f64`.
    fn f64(self) -> f64;
}

impl Real for f64 {
    const REBASE_LIMIT: f64 = 500.0;
    const TIE_MARGIN: f64 = 1e-12;
    #[inline(always)]
    fn of(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn f64(self) -> f64 {
        self
    }
}

impl Real for f32 {
    const REBASE_LIMIT: f32 = 60.0;
    const TIE_MARGIN: f32 = 1e-5;
    #[inline(always)]
    fn of(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn f64(self) -> f64 {
        self as f64
    }
}
