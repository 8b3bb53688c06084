//! The architecture syntax (`784-800-10`, `28x28-16c5s2-32c5s2-10`): [`Arch`], its one
//! parser and its checks, and the layers it builds.

use super::check::MAX_WEIGHTS;
use super::conv::{Conv, Shape};
use super::layer::{Layer, LayerSpec};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

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
        arch.fit().map_err(bad)?;
        Ok(arch)
    }

    /// Checks the layers fit together: at least one layer, no zero size, convolutions on a
    /// map with a kernel that fits, stride >= 1, padding below the kernel, at most
    /// 2^28 weights (the most a model file holds). The error is an
    /// [`Error::InvalidSetting`] of `arch` that says what does not fit.
    pub fn check(&self) -> Result<()> {
        self.fit()
            .map_err(|why| Error::setting("arch", format!("arch {self}: {why}")))
    }

    /// What [`Arch::check`] finds wrong, if anything, in words.
    fn fit(&self) -> std::result::Result<(), String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arch_strings() {
        assert_eq!(Arch::parse("784-800-10").unwrap().sizes(), [784, 800, 10]);
        assert_eq!(Arch::parse("784-800-10").unwrap().to_string(), "784-800-10");
        let bad = |s: &str| Arch::parse(s).unwrap_err().to_string();
        assert!(bad("784-0-10").contains("a layer of size 0"));
        assert!(bad("784").contains("needs at least an input and an output size"));
        assert!(bad("784-x-10").contains("'x' is not a whole number"));
        let c = Arch::parse("28x28-16c5s2p1-10").unwrap();
        assert_eq!(c.to_string(), "28x28-16c5s2p1-10");
        assert!(!c.is_dense());
    }

    #[test]
    fn check_is_a_typed_setting_error() {
        let mut a = Arch::dense(&[4, 3]);
        assert!(a.check().is_ok());
        a.layers.push(LayerSpec::Dense(0));
        let e = a.check().unwrap_err();
        assert!(matches!(e, Error::InvalidSetting { .. }), "{e:?}");
        assert_eq!(e.to_string(), "arch 4-3-0: a layer of size 0");
    }
}
