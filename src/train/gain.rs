//! The gain of the neurons while training: the distribution of `S - theta` at each spike's
//! crossing, per layer and epoch.
//!
//! A neuron's spike time moves by `dz_out/dz_i = w_i / (S - theta)` per input (the z-domain
//! rule of `crate::neuron::time_gradients`): `1/(S - theta)` is its gain, and the gradient
//! floor (`TrainConfig::denom_floor`) caps it. Each worker counts, over the epoch's training
//! passes (with jitter and augmentation, on the weights of the moment), every neuron that
//! fired into a histogram of `S - theta` per layer, and how many of them were below the floor;
//! the epoch's log gets the counts and quantiles ([`LayerGain`]). Counts are integers, summed
//! over workers: the statistics do not depend on the thread split, and checkpoints keep the
//! histograms so that a resumed epoch reports what an unstopped one would.
//!
//! The histogram bins `S - theta` by the bits of its f32 value: 8 bins per octave
//! (`BIN_BITS` mantissa bits, bins 6-12 % wide) from 2^`MIN_EXP` (~1e-6) to 2^`MAX_EXP`
//! (~1.6e4), with a bin below (zero, negative, tiny or NaN) and one above; a quantile is
//! interpolated linearly inside its bin, so it is within a bin's width of the exact one.

use serde::{Deserialize, Serialize};

/// Mantissa bits of a bin: 2^3 = 8 bins per octave.
const BIN_BITS: u32 = 3;
/// Smallest octave binned: values below 2^-20 go to the bin below.
const MIN_EXP: i32 = -20;
/// One past the largest octave binned: values from 2^14 go to the bin above.
const MAX_EXP: i32 = 14;
/// Bins per layer: the octaves, then the bin below and the bin above.
pub(crate) const BINS: usize = ((MAX_EXP - MIN_EXP) as usize) << BIN_BITS;
const BELOW: usize = BINS;
const ABOVE: usize = BINS + 1;

/// The quantiles logged, as fractions.
pub const QUANTILES: [f64; 5] = [0.01, 0.1, 0.5, 0.9, 0.99];

/// One worker's counts over the current epoch, per layer of neurons.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GainHist {
    /// Per layer: `BINS + 2` counts of `S - theta` (see the module's description).
    pub(crate) bins: Vec<Vec<u64>>,
    /// Per layer: neurons that fired with `S - theta` below the gradient floor.
    pub(crate) floored: Vec<u64>,
}

/// The bin of `x`.
fn bin(x: f32) -> usize {
    if x.is_nan() || x < f32::MIN_POSITIVE {
        return BELOW;
    }
    let bits = x.to_bits();
    let exp = ((bits >> 23) & 0xff) as i32 - 127;
    if exp < MIN_EXP {
        BELOW
    } else if exp >= MAX_EXP {
        ABOVE
    } else {
        let sub = ((bits >> (23 - BIN_BITS)) & ((1 << BIN_BITS) - 1)) as usize;
        (((exp - MIN_EXP) as usize) << BIN_BITS) + sub
    }
}

/// The values of bin `b` (of the octave bins): `[lo, hi)`.
fn bin_range(b: usize) -> (f64, f64) {
    let per = 1usize << BIN_BITS;
    let exp = (b / per) as i32 + MIN_EXP;
    let sub = (b % per) as f64;
    let base = 2f64.powi(exp);
    (
        base * (1.0 + sub / per as f64),
        base * (1.0 + (sub + 1.0) / per as f64),
    )
}

impl GainHist {
    /// Empty counts for `layers` layers.
    pub(crate) fn new(layers: usize) -> Self {
        GainHist {
            bins: vec![vec![0; BINS + 2]; layers],
            floored: vec![0; layers],
        }
    }

    /// Counts layer `l`'s neurons that fired (`t` finite) with their `S - theta`.
    pub(crate) fn add<F: crate::real::Real>(&mut self, l: usize, t: &[F], smt: &[F], floor: f32) {
        let (bins, floored) = (&mut self.bins[l], &mut self.floored[l]);
        for (&tj, &s) in t.iter().zip(smt) {
            if tj.is_finite() {
                let s = s.f64() as f32;
                bins[bin(s)] += 1;
                *floored += u64::from(s < floor);
            }
        }
    }

    /// The counts of `self` and `other` together.
    pub(crate) fn merge(&mut self, other: &GainHist) {
        if self.bins.is_empty() {
            *self = other.clone();
            return;
        }
        for (a, b) in self.bins.iter_mut().zip(&other.bins) {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
        for (a, b) in self.floored.iter_mut().zip(&other.floored) {
            *a += b;
        }
    }

    /// Whether the counts have the shape of `layers` layers (checkpoint validation).
    pub(crate) fn fits(&self, layers: usize) -> bool {
        (self.bins.is_empty() && self.floored.is_empty())
            || (self.bins.len() == layers
                && self.floored.len() == layers
                && self.bins.iter().all(|b| b.len() == BINS + 2))
    }

    /// The statistics of every layer.
    pub(crate) fn summary(&self) -> Vec<LayerGain> {
        self.bins
            .iter()
            .zip(&self.floored)
            .enumerate()
            .map(|(l, (bins, &floored))| {
                let fired: u64 = bins.iter().sum();
                LayerGain {
                    layer: l + 1,
                    fired,
                    floored,
                    below: bins[BELOW],
                    above: bins[ABOVE],
                    quantiles: QUANTILES.map(|q| quantile(bins, fired, q)),
                }
            })
            .collect()
    }
}

/// Quantile `q` of a layer's histogram of `n` values, interpolated linearly inside its bin; 0
/// if it falls in the bin below, +inf in the bin above, NaN with no values.
fn quantile(bins: &[u64], n: u64, q: f64) -> f64 {
    if n == 0 {
        return f64::NAN;
    }
    // The rank, from 0, of the value sought (nearest rank).
    let rank = ((q * n as f64).ceil() as u64).clamp(1, n) - 1;
    if rank < bins[BELOW] {
        return 0.0;
    }
    let mut seen = bins[BELOW];
    for (b, &c) in bins[..BINS].iter().enumerate() {
        if rank < seen + c {
            let (lo, hi) = bin_range(b);
            let frac = (rank - seen) as f64 + 0.5;
            return lo + (hi - lo) * frac / c as f64;
        }
        seen += c;
    }
    f64::INFINITY
}

/// One layer's gain over an epoch's training passes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerGain {
    /// The layer, numbered as in traces: 1 = the first hidden layer, the last = the outputs.
    pub layer: usize,
    /// Spikes counted (neurons that fired, over every training pass of the epoch).
    pub fired: u64,
    /// Of them, those whose `S - theta` was below the gradient floor
    /// (`TrainConfig::denom_floor`): their gradient is capped.
    pub floored: u64,
    /// Of them, those with `S - theta` below 2^-20 (~1e-6), counted as 0 in the quantiles.
    pub below: u64,
    /// Of them, those with `S - theta` of 2^14 or more, counted as +inf in the quantiles.
    pub above: u64,
    /// The quantiles of `S - theta` ([`QUANTILES`]: 1, 10, 50, 90 and 99 %), threshold units,
    /// each within a bin (6-12 %) of the exact value.
    pub quantiles: [f64; 5],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_hold_their_values() {
        for x in [1e-6f32, 3e-4, 0.01, 0.0123, 0.5, 1.0, 1.7, 100.0, 9999.0] {
            let b = bin(x);
            assert!(b < BINS, "{x}");
            let (lo, hi) = bin_range(b);
            assert!(lo <= x as f64 && (x as f64) < hi, "{x}: [{lo}, {hi})");
            assert!(hi / lo <= 1.126, "{x}");
        }
        assert_eq!(bin(0.0), BELOW);
        assert_eq!(bin(-1.0), BELOW);
        assert_eq!(bin(f32::NAN), BELOW);
        assert_eq!(bin(1e-7), BELOW);
        assert_eq!(bin(2e4), ABOVE);
        assert_eq!(bin(f32::INFINITY), ABOVE);
    }

    /// Quantiles of a known spread of values fall within a bin of the exact ones; silent
    /// neurons are not counted; the floored count is exact.
    #[test]
    fn quantiles_are_within_a_bin() {
        let mut h = GainHist::new(2);
        let vals: Vec<f32> = (1..=1000).map(|k| k as f32 * 1e-3).collect();
        let t: Vec<f32> = (0..1000)
            .map(|k| if k % 2 == 0 { 1.0 } else { 2.0 })
            .collect();
        h.add(1, &t, &vals, 0.01);
        h.add(0, &[f32::INFINITY, 1.0], &[0.0, 0.5], 0.01);
        let s = h.summary();
        assert_eq!(s[0].fired, 1);
        assert_eq!(
            s[0].quantiles[2],
            bin_range(bin(0.5)).0 + (bin_range(bin(0.5)).1 - bin_range(bin(0.5)).0) * 0.5
        );
        assert_eq!((s[1].fired, s[1].floored, s[1].layer), (1000, 9, 2));
        for (q, got) in QUANTILES.iter().zip(s[1].quantiles) {
            let exact = q;
            assert!((got - exact).abs() <= 0.126 * exact, "{q}: {got}");
        }
        let mut m = GainHist::default();
        m.merge(&h);
        m.merge(&h);
        assert_eq!(m.summary()[1].fired, 2000);
        assert!(m.fits(2) && !m.fits(3) && GainHist::default().fits(3));
        assert!(GainHist::new(1).summary()[0].quantiles[0].is_nan());
    }
}
