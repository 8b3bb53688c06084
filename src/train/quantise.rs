//! Symmetric uniform quantisation of weights: quantisation-aware training
//! (`--quantise-bits`) and the robustness sweep of low-bit weights use it.

/// Fewest and most bits [`quantise`] accepts.
pub const BITS_RANGE: std::ops::RangeInclusive<u32> = 2..=16;

/// The step of [`quantise`] for a layer whose largest |w| is `max_abs`:
/// `s = max_abs / (2^(B-1) - 1)` (0 for an all-zero layer).
pub fn quant_step<F: num_traits::Float>(max_abs: F, bits: u32) -> F {
    max_abs / F::from((1u64 << (bits - 1)) - 1).expect("a small integer")
}

/// Symmetric uniform quantisation of one layer's weights to `bits` bits (sign included):
/// `w_q = s * round(w / s)` with the per-layer step `s` of [`quant_step`], so that the integer
/// codes `round(w / s)` lie in `[-(2^(B-1) - 1), 2^(B-1) - 1]` and zero is exact. That is
/// `2^B - 1` distinct values at most (the code `-2^(B-1)` is left unused to keep the grid
/// symmetric). The largest weight keeps its value; the threshold is not touched (in codes it is
/// `theta / s`, generally not an integer: a chip would store it at its own precision).
/// `bits` must lie in [`BITS_RANGE`] (checked by the caller: it panics otherwise).
pub fn quantise<F: num_traits::Float>(w: &mut [F], bits: u32) {
    assert!(BITS_RANGE.contains(&bits), "{bits} bits");
    let max_abs = w.iter().fold(F::zero(), |m, x| m.max(x.abs()));
    let s = quant_step(max_abs, bits);
    if s == F::zero() {
        return;
    }
    for x in w.iter_mut() {
        let code = (*x / s).round();
        // Code 0 is stored as +0.0 (not -0.0 from a small negative weight): one zero value.
        *x = if code == F::zero() {
            F::zero()
        } else {
            s * code
        };
    }
}
