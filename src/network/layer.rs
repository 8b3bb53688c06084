//! The layer kinds of a feedforward network, fully connected ([`Dense`]) or a convolution
//! ([`crate::network::Conv`]), as one [`Layer`] generic over its number type, and a layer's
//! kind and size without weights ([`LayerSpec`]).

use super::conv::Conv;
use super::dense::Dense;
use serde::{Deserialize, Serialize};

/// One layer of a feedforward network: its kind, with the kind's parameters and weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Layer<F> {
    /// Every input connects to every neuron.
    Dense(Dense<F>),
    /// A 2-D convolution: every neuron of a channel applies the channel's kernel to its patch
    /// of the input map.
    Conv(Conv<F>),
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
            Layer::Conv(c) => c.input.len().unwrap_or(usize::MAX),
        }
    }

    /// Neurons of the layer.
    pub fn n_out(&self) -> usize {
        match self {
            Layer::Dense(d) => d.n_out,
            Layer::Conv(c) => c.output().len().unwrap_or(usize::MAX),
        }
    }

    /// Synapses of the layer (for a convolution, every neuron's inputs inside the map).
    pub fn n_synapses(&self) -> u64 {
        match self {
            Layer::Dense(d) => d.n_in as u64 * d.n_out as u64,
            Layer::Conv(c) => {
                let out = c.output();
                let mut n = 0u64;
                for oy in 0..out.h {
                    for ox in 0..out.w {
                        c.for_each_input(oy, ox, |_, _| n += 1);
                    }
                }
                n * c.channels as u64
            }
        }
    }

    /// Targets of each input (its fan-out): `n_out` for every input of a dense layer; for a
    /// convolution, the output positions it reaches times the channels (fewer at the
    /// borders, none for an input no kernel covers).
    pub fn fan_outs(&self) -> Vec<u64> {
        match self {
            Layer::Dense(d) => vec![d.n_out as u64; d.n_in],
            Layer::Conv(c) => (0..c.input.len().unwrap_or(0))
                .map(|i| {
                    let mut n = 0u64;
                    c.for_each_target(i, |_, _| n += 1);
                    n * c.channels as u64
                })
                .collect(),
        }
    }

    /// The layer's trainable weights, in the kind's own layout.
    pub fn weights(&self) -> &[F] {
        match self {
            Layer::Dense(d) => &d.w,
            Layer::Conv(c) => &c.w,
        }
    }

    /// The layer's trainable weights, mutable.
    pub fn weights_mut(&mut self) -> &mut [F] {
        match self {
            Layer::Dense(d) => &mut d.w,
            Layer::Conv(c) => &mut c.w,
        }
    }

    /// The same layer with every weight converted by `f` (e.g. f64 -> f32).
    pub(crate) fn map<G>(&self, f: impl Fn(&F) -> G) -> Layer<G> {
        match self {
            Layer::Dense(d) => Layer::Dense(d.map(f)),
            Layer::Conv(c) => Layer::Conv(c.map(f)),
        }
    }

    /// The layer's spec (its kind and size, without weights).
    pub fn spec(&self) -> LayerSpec {
        match self {
            Layer::Dense(d) => LayerSpec::Dense(d.n_out),
            Layer::Conv(c) => LayerSpec::Conv {
                channels: c.channels,
                kernel: c.kernel,
                stride: c.stride,
                pad: c.pad,
            },
        }
    }
}

/// A layer's kind and size, without weights: one step of an [`Arch`](super::Arch).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LayerSpec {
    /// A fully connected layer of this many neurons (`800`).
    Dense(usize),
    /// A convolution (`16c5s2p1`: 16 channels, 5 x 5 kernel, stride 2, padding 1; stride 1 and
    /// padding 0 when left out).
    Conv {
        /// Output channels.
        channels: usize,
        /// Kernel size.
        kernel: usize,
        /// Stride.
        stride: usize,
        /// Zero padding.
        pad: usize,
    },
}

impl std::fmt::Display for LayerSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            LayerSpec::Dense(n) => write!(f, "{n}"),
            LayerSpec::Conv {
                channels,
                kernel,
                stride,
                pad,
            } => {
                write!(f, "{channels}c{kernel}")?;
                if stride != 1 {
                    write!(f, "s{stride}")?;
                }
                if pad != 0 {
                    write!(f, "p{pad}")?;
                }
                Ok(())
            }
        }
    }
}

/// Layer sizes of a stack, input first, e.g. `[784, 800, 10]`.
pub(crate) fn sizes<F>(layers: &[Layer<F>]) -> Vec<usize> {
    let mut a: Vec<usize> = layers.first().map(|l| l.n_in()).into_iter().collect();
    a.extend(layers.iter().map(|l| l.n_out()));
    a
}
