//! The record one forward pass leaves behind, whichever engine made it.
//!
//! Owns [`ForwardPass`] (every layer's spike times, each layer's input order and each neuron's
//! causal set) and the decision rule ([`argmin_finite`]: the output that fired first). The
//! analytic solver fills it directly, a trace rebuilds it ([`crate::trace::SampleTrace::to_pass`]);
//! the backward pass ([`crate::grad`]) and the loss read it and never run an engine.

use crate::real::Real;

/// What one forward pass leaves behind: every layer's spike times, the order in which each
/// layer's inputs arrived, and each neuron's causal set (its size along that order).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ForwardPass<F> {
    /// `times[0]` are the input spike times, `times[l + 1]` those of layer `l`'s neurons;
    /// `+inf` for no spike. Units of tau_syn.
    pub(crate) times: Vec<Vec<F>>,
    /// `order[l]`: the inputs of layer `l` that spiked, sorted by (time, index).
    pub(crate) order: Vec<Vec<u32>>,
    /// `causal[l][j]`: one past the position in `order[l]` of the last input neuron j integrated
    /// (0 if it never fired): in a dense layer the size of its causal set, in a convolution a
    /// bound on its own inputs among `order[l]`.
    pub causal: Vec<Vec<u32>>,
    /// `s_minus_theta[l][j]`: S - theta over the causal set (0 if it never fired).
    pub s_minus_theta: Vec<Vec<F>>,
}

impl<F: Real> ForwardPass<F> {
    /// Output spike times.
    pub fn outputs(&self) -> &[F] {
        self.times.last().map_or(&[], |v| v.as_slice())
    }

    /// Spike times of layer `l` (0 = the inputs, `l` = layer `l - 1`'s neurons), `+inf` for
    /// no spike; units of tau_syn.
    pub fn times_of(&self, l: usize) -> &[F] {
        &self.times[l]
    }

    /// The decision: the output neuron that fired first (ties: lowest index), `None` if no
    /// output fired.
    pub fn decision(&self) -> Option<usize> {
        argmin_finite(self.outputs())
    }

    /// Number of neurons that fired in layer `l` (0 = inputs).
    pub(crate) fn fired(&self, l: usize) -> usize {
        self.times[l].iter().filter(|t| t.is_finite()).count()
    }
}

/// Index of the smallest finite value (first on ties), `None` if none is finite.
pub fn argmin_finite<F: Real>(ts: &[F]) -> Option<usize> {
    let mut best: Option<(usize, F)> = None;
    for (k, &t) in ts.iter().enumerate() {
        if t.is_finite() && best.is_none_or(|(_, b)| t < b) {
            best = Some((k, t));
        }
    }
    best.map(|b| b.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmin_prefers_lowest_index_on_ties() {
        assert_eq!(argmin_finite(&[2.0, 1.0, 1.0]), Some(1));
        assert_eq!(argmin_finite::<f64>(&[f64::INFINITY]), None);
    }
}
