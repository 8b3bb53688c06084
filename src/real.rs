//! The floating-point types the solvers run in.
//!
//! Spike times are `f64` in the engines and in every check (the reference precision). The
//! analytic solver may also run in `f32` to train faster. [`Real`] is the small set of
//! operations both need, plus two per-precision constants whose reasons are given below.

use num_traits::Float;

/// The seal of [`Real`]: a public trait in a private module, so that code outside the crate
/// can name `Real` as a bound but cannot implement it.
mod sealed {
    /// Implemented for `f32` and `f64` only.
    #[allow(unreachable_pub)] // public on purpose: a bound of the public trait `Real`
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A floating-point type the analytic solver can run in (`f32` or `f64`).
///
/// **Sealed on purpose**: implemented for `f32` and `f64` and for no other type, inside or
/// outside the crate. The solver's SIMD kernels are chosen by the concrete type (a dense
/// layer in `f32` or `f64` takes the AVX-512 sweep of that precision), and the constants
/// below are tuned to each type's exponent range and rounding; a third type would compile and
/// then silently take the generic path with constants nobody chose for it. Numeric only: this
/// trait knows nothing of kernels.
pub trait Real:
    sealed::Sealed + Float + Send + Sync + Default + std::fmt::Debug + std::iter::Sum + 'static
{
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
    /// A key whose integer order is the numeric order of the (non-NaN) values, with -0 and +0
    /// equal: the usual map of IEEE-754 bits to an unsigned integer (flip every bit of a
    /// negative value, the sign bit of a positive one).
    fn order_key(self) -> u64;
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
    #[inline(always)]
    fn order_key(self) -> u64 {
        let b = (self + 0.0).to_bits(); // -0 + 0 = +0
        if b >> 63 == 1 {
            !b
        } else {
            b | 1 << 63
        }
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
    #[inline(always)]
    fn order_key(self) -> u64 {
        let b = (self + 0.0).to_bits(); // -0 + 0 = +0
        u64::from(if b >> 31 == 1 { !b } else { b | 1 << 31 })
    }
}

#[cfg(test)]
mod tests {
    use super::Real;

    /// Sorting by `order_key` equals sorting by value, -0 and +0 tying.
    #[test]
    fn order_key_is_monotone() {
        let v64 = [
            3.5,
            -0.0,
            0.0,
            -1e-300,
            1e-300,
            -2.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            7.0,
            0.5,
            -7.5,
        ];
        for x in v64 {
            for y in v64 {
                let (kx, ky) = (x.order_key(), y.order_key());
                assert_eq!(kx.cmp(&ky), x.partial_cmp(&y).unwrap(), "{x} {y}");
                let (fx, fy) = (x as f32, y as f32);
                assert_eq!(
                    fx.order_key().cmp(&fy.order_key()),
                    fx.partial_cmp(&fy).unwrap(),
                    "{fx} {fy}"
                );
            }
        }
    }
}
