//! A fully connected layer: its weights, input-major.

use serde::{Deserialize, Serialize};

/// A fully connected layer without bias. `w[i * n_out + j]` is the weight from input `i` to
/// neuron `j` (input-major, so that one input spike touches one contiguous row). Weights are
/// in the unit of the threshold theta (first-spike networks) or dimensionless (the ReLU
/// baseline).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dense<F> {
    /// Inputs (neurons of the previous layer, or pixels).
    pub n_in: usize,
    /// Neurons of this layer.
    pub n_out: usize,
    /// Weights, `n_in * n_out`, input-major.
    pub w: Vec<F>,
}

impl<F> Dense<F> {
    /// The row of weights leaving input `i`.
    #[inline]
    pub(crate) fn row(&self, i: usize) -> &[F] {
        &self.w[i * self.n_out..(i + 1) * self.n_out]
    }

    /// The same layer with every weight converted by `f` (e.g. f64 -> f32).
    pub(crate) fn map<G>(&self, f: impl Fn(&F) -> G) -> Dense<G> {
        Dense {
            n_in: self.n_in,
            n_out: self.n_out,
            w: self.w.iter().map(f).collect(),
        }
    }
}
