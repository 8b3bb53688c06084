//! The network description: a feedforward stack of layers, each a kind with its parameters.
//!
//! Owns the one layer type that every part of the crate shares: model files ([`crate::model`]),
//! the analytic solver ([`crate::analytic::Net`], in f32 or f64), the event engine's compiled
//! graph ([`crate::event::EventNet::from_model`]), the trainer, the rate-coded baseline's ReLU
//! network ([`crate::rate::relu::ReluNet`], dense layers in f32), the NIR export and the checks of
//! shapes on load. A layer is generic over its number type `F` (f64 in model files, f32 while
//! training), so converting a network between precisions keeps its description.
//!
//! Only fully connected layers ([`Dense`]) exist today. A new kind (a convolution, a pooling
//! node) is a new [`Layer`] variant with its own parameters: every `match` over [`Layer`] in the
//! crate is exhaustive, so the compiler lists each place that must learn the new kind.
//!
//! It does not run networks, hold neuron parameters (see [`crate::neuron::NeuronParams`]) or
//! know how a network was trained.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Most weights a network may hold, all layers together (2 GiB of f64, the most a model file
/// holds). Checked on load and before training, before anything is allocated from a size.
pub(crate) const MAX_WEIGHTS: usize = 1 << 28;

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

/// One layer of a feedforward network: its kind, with the kind's parameters and weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Layer<F> {
    /// Every input connects to every neuron.
    Dense(Dense<F>),
}

impl<F> Layer<F> {
    /// A dense layer of `n_in` inputs and `n_out` neurons with input-major weights `w`.
    pub fn dense(n_in: usize, n_out: usize, w: Vec<F>) -> Self {
        Layer::Dense(Dense { n_in, n_out, w })
    }

    /// Inputs the layer takes.
    pub fn n_in(&self) -> usize {
        match self {
            Layer::Dense(d) => d.n_in,
        }
    }

    /// Neurons of the layer.
    pub fn n_out(&self) -> usize {
        match self {
            Layer::Dense(d) => d.n_out,
        }
    }

    /// The layer's trainable weights, in the kind's own layout.
    pub fn weights(&self) -> &[F] {
        match self {
            Layer::Dense(d) => &d.w,
        }
    }

    /// The layer's trainable weights, mutable.
    pub fn weights_mut(&mut self) -> &mut [F] {
        match self {
            Layer::Dense(d) => &mut d.w,
        }
    }

    /// The same layer with every weight converted by `f` (e.g. f64 -> f32).
    pub(crate) fn map<G>(&self, f: impl Fn(&F) -> G) -> Layer<G> {
        match self {
            Layer::Dense(d) => Layer::Dense(d.map(f)),
        }
    }
}

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

/// Layer sizes of a stack, input first, e.g. `[784, 800, 10]`.
pub(crate) fn arch<F>(layers: &[Layer<F>]) -> Vec<usize> {
    let mut a: Vec<usize> = layers.first().map(|l| l.n_in()).into_iter().collect();
    a.extend(layers.iter().map(|l| l.n_out()));
    a
}

/// Layer sizes as a string, e.g. `784-800-10` (the form [`parse_arch`] reads).
pub fn format_arch(sizes: &[usize]) -> String {
    sizes
        .iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join("-")
}

/// Parses an architecture string like `784-800-10`.
pub fn parse_arch(s: &str) -> Result<Vec<usize>> {
    let bad = |why: &str| {
        Error::setting(
            "arch",
            format!("arch '{s}': {why} (expected e.g. 784-800-10)"),
        )
    };
    let sizes: Vec<usize> = s
        .split('-')
        .map(|p| {
            p.trim()
                .parse::<usize>()
                .map_err(|_| bad(&format!("'{p}' is not a whole number")))
        })
        .collect::<Result<_>>()?;
    if sizes.len() < 2 {
        return Err(bad("needs at least an input and an output size"));
    }
    if sizes.contains(&0) {
        return Err(bad("a layer of size 0"));
    }
    Ok(sizes)
}

/// Checks a stack of layers: at least one, no zero size, at most [`MAX_WEIGHTS`] weights in
/// all, each layer holding as many as its shape needs and taking as many inputs as the one
/// before has neurons, and every weight finite. The error says which layer (from 0) and what
/// is wrong.
pub(crate) fn check_layers<F: num_traits::Float + std::fmt::Display>(
    layers: &[Layer<F>],
) -> std::result::Result<(), String> {
    check_shapes(layers.iter().map(|l| match l {
        Layer::Dense(d) => (d.n_in, d.n_out, d.n_in.checked_mul(d.n_out), &d.w[..]),
    }))
}

/// [`check_layers`] for a stack of dense layers held as such (the ReLU baseline).
pub(crate) fn check_dense<F: num_traits::Float + std::fmt::Display>(
    layers: &[Dense<F>],
) -> std::result::Result<(), String> {
    check_shapes(
        layers
            .iter()
            .map(|d| (d.n_in, d.n_out, d.n_in.checked_mul(d.n_out), &d.w[..])),
    )
}

/// The checks of [`check_layers`] over (inputs, neurons, weights the shape needs or `None` if
/// that overflows, weights). Weight positions in messages are dense (input, neuron) pairs.
fn check_shapes<'a, F: num_traits::Float + std::fmt::Display + 'a>(
    layers: impl Iterator<Item = (usize, usize, Option<usize>, &'a [F])>,
) -> std::result::Result<(), String> {
    let mut before: Option<usize> = None;
    let mut total = 0usize;
    for (k, (n_in, n_out, want, w)) in layers.enumerate() {
        if n_in == 0 || n_out == 0 {
            return Err(format!("layer {k} has a zero size ({n_in} -> {n_out})"));
        }
        let want = want.filter(|&n| n <= MAX_WEIGHTS - total).ok_or_else(|| {
            format!(
                "layer {k}: {n_in} x {n_out} weights, more than the {MAX_WEIGHTS} a network may hold"
            )
        })?;
        total += want;
        if w.len() != want {
            return Err(format!(
                "layer {k}: {} weights for {n_in} x {n_out}",
                w.len()
            ));
        }
        if let Some(prev) = before.filter(|&p| p != n_in) {
            return Err(format!(
                "layer {k} takes {n_in} inputs but layer {} has {prev} neurons",
                k - 1
            ));
        }
        if let Some(p) = w.iter().position(|x| !x.is_finite()) {
            return Err(format!(
                "layer {k}: weight {p} (input {}, neuron {}) is {}",
                p / n_out,
                p % n_out,
                w[p]
            ));
        }
        before = Some(n_out);
    }
    match before {
        None => Err("the network has no layers".into()),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arch_and_precision_of_a_dense_stack() {
        let layers = vec![
            Layer::dense(3, 2, vec![0.5f64; 6]),
            Layer::dense(2, 4, vec![1.0; 8]),
        ];
        assert_eq!(arch(&layers), [3, 2, 4]);
        assert_eq!(check_layers(&layers), Ok(()));
        let f32s = layers[1].map(|&w| w as f32);
        assert_eq!(f32s.weights(), [1.0f32; 8]);
        assert_eq!((f32s.n_in(), f32s.n_out()), (2, 4));
    }

    #[test]
    fn check_layers_names_the_bad_layer() {
        let ok = Layer::dense(3, 2, vec![0.5f64; 6]);
        let chained = |second: Layer<f64>| check_layers(&[ok.clone(), second]).unwrap_err();
        assert!(chained(Layer::dense(3, 2, vec![0.0; 6])).contains("layer 1 takes 3 inputs"));
        assert!(chained(Layer::dense(2, 2, vec![0.0; 5])).contains("layer 1: 5 weights"));
        assert!(chained(Layer::dense(2, 0, vec![])).contains("zero size"));
        let mut nan = vec![0.0; 4];
        nan[3] = f64::NAN;
        assert!(chained(Layer::dense(2, 2, nan)).contains("input 1, neuron 1) is NaN"));
        assert!(check_layers::<f64>(&[]).unwrap_err().contains("no layers"));
        let huge = Layer::<f64>::Dense(Dense {
            n_in: usize::MAX / 2,
            n_out: 3,
            w: vec![],
        });
        assert!(check_layers(&[huge]).unwrap_err().contains("more than"));
    }
}
