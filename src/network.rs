//! The network description: a feedforward stack of layers, each a kind with its parameters.
//!
//! Owns the one layer type that every part of the crate shares: model files ([`crate::model`]),
//! the analytic solver ([`crate::analytic::Net`], in f32 or f64), the event engine's compiled
//! graph ([`crate::event::EventNet::from_model`]), the trainer, the rate-coded baseline's ReLU
//! network ([`crate::rate::relu::ReluNet`], in f32), the NIR export and the checks of
//! shapes on load. A layer is generic over its number type `F` (f64 in model files, f32 while
//! training), so converting a network between precisions keeps its description.
//!
//! Two kinds exist: fully connected layers ([`Dense`]) and 2-D convolutions ([`Conv`], strided
//! convolution being the reduction between feature maps). A new kind is a new [`Layer`]
//! variant with its own parameters: every `match` over [`Layer`] in the crate is exhaustive,
//! so the compiler lists each place that must learn the new kind. [`Arch`] is the
//! weight-free description a run is given (`784-800-10`, `28x28-16c5s2-32c5s2-10`).
//!
//! **Neuron order.** A convolution's inputs and neurons are numbered row-major with the
//! channel fastest (height, width, channels: index `(y * width + x) * channels + c`), so a
//! dense layer after a convolution reads its feature maps in that order, and a grey image of
//! `h x w` pixels is a `h x w x 1` input as it is.
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

/// The shape of a feature map: height, width, channels (neurons numbered
/// `(y * w + x) * c + channel`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Shape {
    /// Rows.
    pub h: usize,
    /// Columns.
    pub w: usize,
    /// Channels.
    pub c: usize,
}

impl Shape {
    /// Neurons (or inputs) of the map, `h w c`, `None` on overflow.
    pub fn len(&self) -> Option<usize> {
        self.h.checked_mul(self.w)?.checked_mul(self.c)
    }

    /// Whether the map has no neurons.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// The index of (row, column, channel).
    #[inline(always)]
    pub fn index(&self, y: usize, x: usize, c: usize) -> usize {
        (y * self.w + x) * self.c + c
    }

    /// (row, column, channel) of an index.
    #[inline(always)]
    pub fn position(&self, i: usize) -> (usize, usize, usize) {
        (i / (self.w * self.c), (i / self.c) % self.w, i % self.c)
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}x{}", self.h, self.w, self.c)
    }
}

/// A 2-D convolution of first-spike neurons, without bias: neuron `(oy, ox, o)` takes input
/// `(oy s + ky - p, ox s + kx - p, c)` with weight `w[((ky k + kx) c_in + c) c_out + o]` for
/// every tap `ky, kx < k` that falls inside the input (zero padding `p` adds no input), so
/// every neuron of a channel shares the channel's kernel. Output size
/// `(h + 2p - k)/s + 1` per axis (rounded down). Weights are in the unit of theta.
///
/// The weight layout is tap-major with the output channel fastest, so that one input spike
/// touches, per output position it reaches, one contiguous run of `c_out` weights and one of
/// `c_out` neurons.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conv<F> {
    /// The input feature map.
    pub input: Shape,
    /// Output channels.
    pub channels: usize,
    /// Kernel size k (square).
    pub kernel: usize,
    /// Stride s (both axes).
    pub stride: usize,
    /// Zero padding p on every side.
    pub pad: usize,
    /// Weights, `k k c_in c_out`, layout `[ky][kx][c_in][c_out]`.
    pub w: Vec<F>,
}

impl<F> Conv<F> {
    /// The output feature map (0 rows or columns if the kernel does not fit).
    #[inline(always)]
    pub fn output(&self) -> Shape {
        let side = |n: usize| {
            (n + 2 * self.pad)
                .checked_sub(self.kernel)
                .map_or(0, |r| r / self.stride.max(1) + 1)
        };
        Shape {
            h: side(self.input.h),
            w: side(self.input.w),
            c: self.channels,
        }
    }

    /// Weights the geometry needs, `k k c_in c_out` (`None` on overflow).
    pub fn n_weights(&self) -> Option<usize> {
        self.kernel
            .checked_mul(self.kernel)?
            .checked_mul(self.input.c)?
            .checked_mul(self.channels)
    }

    /// Calls `f(tap, neuron0)` for every output position that input `i` reaches: `tap` is
    /// the kernel tap `(ky k + kx) c_in + c` (its weights are `w[tap c_out..][..c_out]`) and
    /// `neuron0` the index of channel 0 of that position (its neurons are
    /// `neuron0..neuron0 + c_out`). Positions come in increasing neuron order.
    #[inline(always)]
    pub(crate) fn for_each_target(&self, i: usize, mut f: impl FnMut(usize, usize)) {
        let (y, x, c) = self.input.position(i);
        let out = self.output();
        let (k, s, p) = (self.kernel, self.stride, self.pad);
        // Output rows oy with oy s <= y + p < oy s + k, i.e. ky = y + p - oy s in 0..k.
        let (yp, xp) = (y + p, x + p);
        let oy_hi = (yp / s).min(out.h.saturating_sub(1));
        let oy_lo = (yp + 1).saturating_sub(k).div_ceil(s);
        let ox_hi = (xp / s).min(out.w.saturating_sub(1));
        let ox_lo = (xp + 1).saturating_sub(k).div_ceil(s);
        if out.h == 0 || out.w == 0 {
            return;
        }
        for oy in oy_lo..=oy_hi {
            let ky = yp - oy * s;
            for ox in ox_lo..=ox_hi {
                let kx = xp - ox * s;
                f((ky * k + kx) * self.input.c + c, out.index(oy, ox, 0));
            }
        }
    }

    /// Calls `f(tap, input)` for every input of output position `(oy, ox)` that lies inside
    /// the input map (padding taps skipped), in tap order.
    #[inline(always)]
    pub(crate) fn for_each_input(&self, oy: usize, ox: usize, mut f: impl FnMut(usize, usize)) {
        let (k, s, p) = (self.kernel, self.stride, self.pad);
        let cin = self.input.c;
        for ky in 0..k {
            let Some(y) = (oy * s + ky).checked_sub(p).filter(|&y| y < self.input.h) else {
                continue;
            };
            for kx in 0..k {
                let Some(x) = (ox * s + kx).checked_sub(p).filter(|&x| x < self.input.w) else {
                    continue;
                };
                let tap0 = (ky * k + kx) * cin;
                let i0 = self.input.index(y, x, 0);
                for c in 0..cin {
                    f(tap0 + c, i0 + c);
                }
            }
        }
    }

    /// The same layer with every weight converted by `f` (e.g. f64 -> f32).
    pub(crate) fn map<G>(&self, f: impl Fn(&F) -> G) -> Conv<G> {
        Conv {
            input: self.input,
            channels: self.channels,
            kernel: self.kernel,
            stride: self.stride,
            pad: self.pad,
            w: self.w.iter().map(f).collect(),
        }
    }
}

impl<F: Copy + num_traits::Zero> Conv<F> {
    /// The same layer as a dense one (input-major, zero where there is no synapse): what the
    /// convolution computes, written out.
    pub fn to_dense(&self) -> Dense<F> {
        let out = self.output();
        let (n_in, n_out) = (self.input.len().unwrap_or(0), out.len().unwrap_or(0));
        let mut w = vec![F::zero(); n_in * n_out];
        let co = self.channels;
        for oy in 0..out.h {
            for ox in 0..out.w {
                let j0 = out.index(oy, ox, 0);
                self.for_each_input(oy, ox, |tap, i| {
                    w[i * n_out + j0..i * n_out + j0 + co]
                        .copy_from_slice(&self.w[tap * co..(tap + 1) * co]);
                });
            }
        }
        Dense { n_in, n_out, w }
    }
}

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

/// A layer's kind and size, without weights: one step of an [`Arch`].
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

/// A network's architecture without weights: the input and each layer's kind and size, as
/// given on the command line.
///
/// Syntax: layers joined by `-`, input first. The input is a number of inputs (`784`) or a
/// feature map `HxW` or `HxWxC` (`28x28`, a grey image; `32x32x3`). A layer is a number of
/// neurons (fully connected) or a convolution `<channels>c<kernel>[s<stride>][p<padding>]`.
/// Convolutions need a map before them (the input given as one, or another convolution);
/// a dense layer after a map reads it in (row, column, channel) order. Examples:
/// `784-800-10`, `28x28-16c5s2-32c5s2-10` (two strided convolutions, then 10 outputs).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Arch {
    /// The input: a feature map (a flat input of n is `1 x n x 1`).
    pub input: Shape,
    /// Whether the input was given as a map (`28x28`) rather than a count (`784`).
    pub input_is_map: bool,
    /// The layers, input side first.
    pub layers: Vec<LayerSpec>,
}

impl Arch {
    /// Fully connected layers of these sizes, input first (`[784, 800, 10]`).
    pub fn dense(sizes: &[usize]) -> Arch {
        Arch {
            input: Shape {
                h: 1,
                w: sizes.first().copied().unwrap_or(0),
                c: 1,
            },
            input_is_map: false,
            layers: sizes.iter().skip(1).map(|&n| LayerSpec::Dense(n)).collect(),
        }
    }

    /// Parses the syntax of [`Arch`] and checks that the layers fit together.
    pub fn parse(s: &str) -> Result<Arch> {
        let bad = |why: String| {
            Error::setting(
                "arch",
                format!("arch '{s}': {why} (expected e.g. 784-800-10 or 28x28-16c5s2-10)"),
            )
        };
        let mut parts = s.split('-').map(str::trim);
        let (input, input_is_map) = parse_input(parts.next().unwrap_or("")).map_err(bad)?;
        let layers = parts
            .map(parse_layer)
            .collect::<std::result::Result<Vec<_>, String>>()
            .map_err(bad)?;
        let arch = Arch {
            input,
            input_is_map,
            layers,
        };
        arch.check().map_err(bad)?;
        Ok(arch)
    }

    /// Checks the layers fit together: at least one layer, no zero size, convolutions on a
    /// map with a kernel that fits, stride >= 1, padding below the kernel, at most
    /// 2^28 weights (the most a model file holds).
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.layers.is_empty() {
            return Err("needs at least an input and an output size".into());
        }
        if self.input.is_empty() || self.input.len().is_none() {
            return Err("an input of size 0".into());
        }
        let mut map = self.input_is_map.then_some(self.input);
        let mut n = self.input.len().unwrap_or(0);
        let mut weights = 0usize;
        for (k, l) in self.layers.iter().enumerate() {
            let (n_out, nw) = match *l {
                LayerSpec::Dense(m) => {
                    if m == 0 {
                        return Err("a layer of size 0".into());
                    }
                    map = None;
                    (Some(m), n.checked_mul(m))
                }
                LayerSpec::Conv {
                    channels,
                    kernel,
                    stride,
                    pad,
                } => {
                    let Some(input) = map else {
                        return Err(format!(
                            "layer {} ({l}) is a convolution but its input is not a feature map: give the input as HxW or HxWxC, or put the convolution after another",
                            k + 1
                        ));
                    };
                    if channels == 0 || kernel == 0 || stride == 0 {
                        return Err(format!("layer {} ({l}): a size of 0", k + 1));
                    }
                    if pad >= kernel {
                        return Err(format!(
                            "layer {} ({l}): padding {pad} must be less than the kernel {kernel}",
                            k + 1
                        ));
                    }
                    let conv = Conv::<f64> {
                        input,
                        channels,
                        kernel,
                        stride,
                        pad,
                        w: vec![],
                    };
                    let out = conv.output();
                    if out.h == 0 || out.w == 0 {
                        return Err(format!(
                            "layer {} ({l}): a {kernel}x{kernel} kernel does not fit a {}x{} map",
                            k + 1,
                            input.h + 2 * pad,
                            input.w + 2 * pad
                        ));
                    }
                    map = Some(out);
                    (out.len(), conv.n_weights())
                }
            };
            let nw = nw
                .filter(|&w| w <= MAX_WEIGHTS - weights)
                .ok_or_else(|| format!("more than {MAX_WEIGHTS} weights, the most a model file can hold; use smaller layers"))?;
            weights += nw;
            n = n_out.ok_or("a layer too large to count")?;
        }
        Ok(())
    }

    /// Neurons per layer, input first (`[784, 800, 10]`).
    pub fn sizes(&self) -> Vec<usize> {
        let mut out = vec![self.input.len().unwrap_or(0)];
        let mut map = self.input_is_map.then_some(self.input);
        for l in &self.layers {
            let n = match *l {
                LayerSpec::Dense(m) => {
                    map = None;
                    m
                }
                LayerSpec::Conv {
                    channels,
                    kernel,
                    stride,
                    pad,
                } => {
                    let o = Conv::<f64> {
                        input: map.unwrap_or(self.input),
                        channels,
                        kernel,
                        stride,
                        pad,
                        w: vec![],
                    }
                    .output();
                    map = Some(o);
                    o.len().unwrap_or(0)
                }
            };
            out.push(n);
        }
        out
    }

    /// Inputs of the network.
    pub fn n_inputs(&self) -> usize {
        self.input.len().unwrap_or(0)
    }

    /// Outputs of the network (classes).
    pub fn n_outputs(&self) -> usize {
        self.sizes().last().copied().unwrap_or(0)
    }

    /// Whether every layer is fully connected.
    pub fn is_dense(&self) -> bool {
        self.layers.iter().all(|l| matches!(l, LayerSpec::Dense(_)))
    }

    /// Builds the layers with weights from `init(layer index, n_in, fan_in, weights)`, which
    /// returns the layer's weights (`fan_in` is the number of inputs of each neuron).
    pub fn build<F>(&self, mut init: impl FnMut(usize, usize, usize) -> Vec<F>) -> Vec<Layer<F>> {
        let mut map = self.input_is_map.then_some(self.input);
        let mut n = self.n_inputs();
        let mut out = Vec::with_capacity(self.layers.len());
        for (k, l) in self.layers.iter().enumerate() {
            match *l {
                LayerSpec::Dense(m) => {
                    out.push(Layer::dense(n, m, init(k, n, n * m)));
                    map = None;
                    n = m;
                }
                LayerSpec::Conv {
                    channels,
                    kernel,
                    stride,
                    pad,
                } => {
                    let input = map.unwrap_or(self.input);
                    let fan_in = kernel * kernel * input.c;
                    let c = Conv {
                        input,
                        channels,
                        kernel,
                        stride,
                        pad,
                        w: init(k, fan_in, fan_in * channels),
                    };
                    map = Some(c.output());
                    n = c.output().len().unwrap_or(0);
                    out.push(Layer::Conv(c));
                }
            }
        }
        out
    }

    /// The architecture of a stack of layers.
    pub fn of_layers<F>(layers: &[Layer<F>]) -> Arch {
        match layers.first() {
            Some(Layer::Conv(c)) => Arch {
                input: c.input,
                input_is_map: true,
                layers: layers.iter().map(Layer::spec).collect(),
            },
            _ => {
                let mut a = Arch::dense(&[layers.first().map_or(0, |l| l.n_in())]);
                a.layers = layers.iter().map(Layer::spec).collect();
                a
            }
        }
    }
}

/// A whole number of an [`Arch`] string; the error names `what` it is.
fn arch_number(p: &str, what: &str) -> std::result::Result<usize, String> {
    p.parse::<usize>()
        .map_err(|_| format!("'{p}' is not a whole number ({what})"))
}

/// The input of an [`Arch`] string: `N` (a count), `HxW` or `HxWxC` (a feature map).
fn parse_input(first: &str) -> std::result::Result<(Shape, bool), String> {
    let dims: Vec<&str> = first.split('x').collect();
    let map = |h: &str, w: &str, c: usize| -> std::result::Result<Shape, String> {
        Ok(Shape {
            h: arch_number(h, "input height")?,
            w: arch_number(w, "input width")?,
            c,
        })
    };
    match dims.as_slice() {
        [n] => Ok((
            Shape {
                h: 1,
                w: arch_number(n, "inputs")?,
                c: 1,
            },
            false,
        )),
        [h, w] => Ok((map(h, w, 1)?, true)),
        [h, w, c] => Ok((map(h, w, arch_number(c, "input channels")?)?, true)),
        _ => Err(format!("input '{first}' is not N, HxW or HxWxC")),
    }
}

/// One layer of an [`Arch`] string: `800` (dense) or `16c5s2p1` (a convolution: channels,
/// then the kernel, then optional `s` stride and `p` padding).
fn parse_layer(p: &str) -> std::result::Result<LayerSpec, String> {
    let Some((ch, rest)) = p.split_once('c') else {
        return Ok(LayerSpec::Dense(arch_number(p, "neurons")?));
    };
    let channels = arch_number(ch, "channels")?;
    // The fields after `c`: the kernel, then each `s` or `p` followed by its number.
    let (mut kernel, mut stride, mut pad) = (None, 1, 0);
    let mut field = 'k';
    let mut start = 0;
    for (at, ch) in rest.char_indices().chain([(rest.len(), 'k')]) {
        if ch == 's' || ch == 'p' || at == rest.len() {
            let v = arch_number(&rest[start..at], "convolution")?;
            match field {
                'k' => kernel = Some(v),
                's' => stride = v,
                _ => pad = v,
            }
            field = ch;
            start = at + ch.len_utf8();
        }
    }
    Ok(LayerSpec::Conv {
        channels,
        kernel: kernel.ok_or("a convolution without a kernel size")?,
        stride,
        pad,
    })
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = self.input;
        match (self.input_is_map, i.c) {
            (false, _) => write!(f, "{}", self.n_inputs())?,
            (true, 1) => write!(f, "{}x{}", i.h, i.w)?,
            (true, _) => write!(f, "{i}")?,
        }
        for l in &self.layers {
            write!(f, "-{l}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Arch {
    type Err = Error;
    fn from_str(s: &str) -> Result<Arch> {
        Arch::parse(s)
    }
}

impl TryFrom<String> for Arch {
    type Error = Error;
    fn try_from(s: String) -> Result<Arch> {
        Arch::parse(&s)
    }
}

impl From<Arch> for String {
    fn from(a: Arch) -> String {
        a.to_string()
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
    for (k, l) in layers.iter().enumerate() {
        if let Layer::Conv(c) = l {
            check_conv(c).map_err(|e| format!("layer {k}: {e}"))?;
            if let Some(Layer::Conv(prev)) = k.checked_sub(1).map(|p| &layers[p]) {
                if prev.output() != c.input {
                    return Err(format!(
                        "layer {k} takes a {} map but layer {} makes {}",
                        c.input,
                        k - 1,
                        prev.output()
                    ));
                }
            }
        }
    }
    check_shapes(layers.iter().map(|l| match l {
        Layer::Dense(d) => (d.n_in, d.n_out, d.n_in.checked_mul(d.n_out), &d.w[..]),
        Layer::Conv(c) => (
            c.input.len().unwrap_or(0),
            c.output().len().unwrap_or(0),
            c.n_weights(),
            &c.w[..],
        ),
    }))
}

/// The geometry of one convolution: sizes not zero and not overflowing, padding below the
/// kernel, an output of at least one position.
fn check_conv<F>(c: &Conv<F>) -> std::result::Result<(), String> {
    let sizes = [
        c.input.h, c.input.w, c.input.c, c.channels, c.kernel, c.stride,
    ];
    if sizes.contains(&0) {
        return Err(format!(
            "a convolution with a size of 0 (input {}, {} channels, kernel {}, stride {})",
            c.input, c.channels, c.kernel, c.stride
        ));
    }
    if c.input.len().is_none() || c.output().len().is_none() || c.n_weights().is_none() {
        return Err("a convolution too large to count".into());
    }
    if c.pad >= c.kernel {
        return Err(format!(
            "padding {} is not less than the kernel {}",
            c.pad, c.kernel
        ));
    }
    let out = c.output();
    if out.h == 0 || out.w == 0 {
        return Err(format!(
            "a {}x{} kernel does not fit the {} input",
            c.kernel, c.kernel, c.input
        ));
    }
    Ok(())
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
