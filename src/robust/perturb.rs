//! The perturbations themselves: pure functions, each drawing from a generator the caller
//! passes (none draws from a global or time-seeded source).
//!
//! Units: spike times in the model's time unit (units of tau_syn for the shipped models);
//! weights in units of the threshold theta (first-spike) or of the rate network's threshold 1.

use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

pub(crate) use crate::train::quantise::{quantise, BITS_RANGE};

/// Gaussian spike-time jitter: every finite time becomes `max(0, t + tau * sd * n)` with
/// `n ~ N(0, 1)` drawn independently per input, in input order. `sd` is in units of tau_syn
/// (`tau` converts it to the model's time unit); the clamp at 0 keeps input times where the
/// network is defined (inputs start at t = 0). `+inf` (no spike) stays `+inf`. With `sd = 0`
/// every time is returned unchanged.
pub(crate) fn jitter(times: &mut [f64], sd: f64, tau: f64, rng: &mut impl Rng) {
    if sd == 0.0 {
        return;
    }
    for t in times.iter_mut().filter(|t| t.is_finite()) {
        let n: f64 = StandardNormal.sample(rng);
        *t = (*t + tau * sd * n).max(0.0);
    }
}

/// Spike deletion: every finite time becomes `+inf` (no spike) with probability `p`,
/// independently per input, in input order. `p = 0` deletes nothing; `p = 1` deletes all.
pub(crate) fn delete(times: &mut [f64], p: f64, rng: &mut impl Rng) {
    if p <= 0.0 {
        return;
    }
    for t in times.iter_mut().filter(|t| t.is_finite()) {
        if rng.gen::<f64>() < p {
            *t = f64::INFINITY;
        }
    }
}

/// Multiplicative weight noise, like device mismatch: `w <- w (1 + sd * n)`, `n ~ N(0, 1)`
/// drawn once per weight (in storage order) and kept for the whole trial. `sd` is relative
/// (0.1 = 10 %). `sd = 0` leaves the weights unchanged.
pub(crate) fn weight_noise(w: &mut [f64], sd: f64, rng: &mut impl Rng) {
    if sd == 0.0 {
        return;
    }
    for x in w.iter_mut() {
        let n: f64 = StandardNormal.sample(rng);
        *x *= 1.0 + sd * n;
    }
}

/// A 64-bit hash of the parts of a random draw's name (splitmix64 steps), so that each
/// (seed, perturbation, level, trial) has its own independent generator.
pub(crate) fn mix(parts: &[u64]) -> u64 {
    let mut h = 0x9e37_79b9_7f4a_7c15u64;
    for &p in parts {
        h ^= p;
        h = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = h;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        h = z ^ (z >> 31);
    }
    h
}

/// The generator named by `key` (from [`mix`]) on stream `stream`: ChaCha8. Streams give the
/// samples of one trial independent draws that do not depend on the thread count.
pub(crate) fn rng(key: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(key);
    r.set_stream(stream);
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::quantise::quant_step;

    #[test]
    fn quantised_layer_has_at_most_two_to_the_b_values_and_keeps_its_maximum() {
        let mut g = rng(1, 0);
        for bits in 2..=8 {
            let w0: Vec<f64> = (0..5000).map(|_| g.gen_range(-3.0..5.0)).collect();
            let mut w = w0.clone();
            quantise(&mut w, bits);
            let mut v: Vec<u64> = w.iter().map(|x| x.to_bits()).collect();
            v.sort_unstable();
            v.dedup();
            assert!(v.len() < (1 << bits), "{bits} bits: {} values", v.len());
            assert!(
                v.len() >= (1 << (bits - 1)),
                "{bits} bits: only {} values",
                v.len()
            );
            let max = w0.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            assert!(w.contains(&max));
            // Rounding error at most half a step.
            let s = quant_step(max, bits);
            for (a, b) in w.iter().zip(&w0) {
                assert!((a - b).abs() <= 0.5 * s * (1.0 + 1e-12));
            }
        }
    }

    #[test]
    fn zero_levels_change_nothing() {
        let t0 = vec![0.0, 1.5, f64::INFINITY, 3.0];
        let mut t = t0.clone();
        jitter(&mut t, 0.0, 2.0, &mut rng(1, 0));
        delete(&mut t, 0.0, &mut rng(1, 0));
        weight_noise(&mut t, 0.0, &mut rng(1, 0));
        assert_eq!(t, t0);
    }

    #[test]
    fn jitter_keeps_times_non_negative_and_silent_inputs_silent() {
        let mut t = vec![0.0; 1000];
        t[3] = f64::INFINITY;
        jitter(&mut t, 1.0, 1.0, &mut rng(2, 0));
        assert!(t.iter().all(|&x| x >= 0.0));
        assert_eq!(t[3], f64::INFINITY);
        assert!(t.iter().filter(|&&x| x > 0.0 && x.is_finite()).count() > 400);
    }

    #[test]
    fn deletion_removes_about_p_of_the_spikes() {
        let mut t = vec![1.0; 10_000];
        delete(&mut t, 0.3, &mut rng(3, 0));
        let gone = t.iter().filter(|x| x.is_infinite()).count();
        assert!((2800..3200).contains(&gone), "{gone}");
    }
}
