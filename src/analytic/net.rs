//! A network ready to run in one precision: [`Net`], the analytic solver's input.

use crate::model::Model;
use crate::network::Layer;
use crate::real::Real;

/// A network ready to run in the precision `F`: its layers and the neuron parameters (built
/// from a model with `Net::from_model`).
#[derive(Clone, Debug)]
pub struct Net<F> {
    /// The model's layers, weights converted to `F`.
    pub layers: Vec<Layer<F>>,
    /// theta in `F`.
    pub theta: F,
    /// tau_syn in `F`.
    pub tau: F,
}

impl<F> Net<F> {
    /// Number of output neurons.
    pub fn n_outputs(&self) -> usize {
        self.layers.last().map_or(0, |l| l.n_out())
    }
}

impl<F: Real> Net<F> {
    /// Converts a model's weights to `F`.
    pub fn from_model(m: &Model) -> Self {
        Net {
            layers: m.layers.iter().map(|l| l.map(|&w| F::of(w))).collect(),
            theta: F::of(m.params.theta),
            tau: F::of(m.params.tau_syn),
        }
    }

    /// Writes the weights back into a model (same shapes).
    pub(crate) fn write_to(&self, m: &mut Model) {
        for (l, mine) in m.layers.iter_mut().zip(&self.layers) {
            for (d, s) in l.weights_mut().iter_mut().zip(mine.weights()) {
                *d = s.f64();
            }
        }
    }
}
