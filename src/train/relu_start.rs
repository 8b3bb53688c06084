//! A start from the ReLU twin ([`super::ReluStart`], `firstspike train --init-from-relu`): the
//! weights of an ordinary ReLU network of the run's shape, each layer scaled by one factor,
//! become the first-spike net's initial weights.
//!
//! # The file
//!
//! An `.npz` (as `tools/relu-cnn-reference.py --save-weights` writes it) with, for every layer
//! `l` of the architecture (0 = the first), PyTorch's layouts:
//!
//! - `layer{l}.weight`: a convolution's kernel `(c_out, c_in, k, k)` (`Conv2d.weight`), or a
//!   dense layer's matrix `(n_out, n_in)` (`Linear.weight`), whose inputs, when a convolution's
//!   map of `C x H x W` feeds it, are in PyTorch's `Flatten` order `(c H + y) W + x`;
//! - `layer{l}.bias` (optional): `(c_out,)` or `(n_out,)`;
//! - `check.logits` (optional): the twin's logits `(n, outputs)` for the first `n` training
//!   images as loaded (pixels / 255), which the start recomputes and compares, so that a
//!   layout, stride or padding that differs from the run's is refused instead of mapped.
//!
//! float32 or float64 throughout. In firstspike's layouts ([`crate::network`]) that is
//! `w[((ky k + kx) c_in + c) c_out + o] = weight[o][c][ky][kx]` and
//! `w[((y W + x) C + c) n_out + j] = weight[j][(c H + y) W + x]`.
//!
//! # The mapping
//!
//! The first-spike net's weights are `w_l = s_l W_l` (threshold units), one scale `s_l` per
//! layer; the biases are **dropped**: the first-spike layers have none, and a bias spike at
//! t = 0 would need an input channel the architecture does not have (a bias-free twin,
//! `relu-cnn-reference.py --no-bias`, loses nothing here). A first-spike neuron fires earlier
//! the larger its summed input, as a ReLU unit's activation grows with its pre-activation, so
//! the order of the output spikes can follow the order of the twin's logits; the scales are
//! chosen on training images ([`ScaleRule`]) to make the first output spike the twin's largest
//! logit on as many of them as possible. Nothing here trains: the run then fine-tunes from
//! these weights with its exact gradients.

use super::config::{ReluStart, ScaleRule};
use super::TrainConfig;
use crate::analytic::{evaluate, forward, ForwardPass, LayerScratch, Net};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::network::{Conv, Layer, Shape};
use crate::npy::shape_text;
use crate::npz::Npz;
use crate::parallel::par_chunks;
use crate::progress::NO_PROGRESS;
use sha2::{Digest, Sha256};
use std::path::Path;

/// Percentile of a layer's positive activations that [`ScaleRule::Norm`] scales by.
const NORM_PERCENTILE: f64 = 0.99;
/// The grid of factors the scale searches try: 2^(k/STEPS_PER_OCTAVE).
const STEPS_PER_OCTAVE: i32 = 4;
/// [`ScaleRule::Norm`]'s global factor: k in -NORM_STEPS..=NORM_STEPS (a factor of 16 each way).
const NORM_STEPS: i32 = 16;
/// [`ScaleRule::Search`]'s per-layer factors: k in -SEARCH_STEPS..=SEARCH_STEPS.
const SEARCH_STEPS: i32 = 8;
/// [`ScaleRule::Search`]'s sweeps over the layers.
const SEARCH_SWEEPS: usize = 2;
/// Relative tolerance of the twin's recomputed logits against `check.logits` (the file's
/// are float32 from PyTorch; ours f64).
const CHECK_TOL: f64 = 1e-3;

/// The ReLU twin: per layer its weights in firstspike's layout (in `layers`, whose geometry
/// is the run's) and its biases (zeros where the file has none).
#[derive(Clone, Debug)]
pub(crate) struct Twin {
    pub(crate) layers: Vec<Layer<f64>>,
    pub(crate) biases: Vec<Vec<f64>>,
    /// `check.logits`: (rows, the logits row-major).
    check: Option<(usize, Vec<f64>)>,
}

/// A layer's kind, for messages.
fn kind(layer: &Layer<f64>) -> &'static str {
    match layer {
        Layer::Dense(_) => "dense",
        Layer::Conv(_) => "convolution",
    }
}

/// Reads the twin from `path` for a run whose layers (geometry only) are `geometry`.
/// Returns the twin and the file's sha256 (hex).
pub(crate) fn load(path: &Path, geometry: &[Layer<f64>]) -> Result<(Twin, String)> {
    let bytes = crate::fsio::read_limited(path, crate::npy::MAX_NPY_BYTES)?;
    let sha: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let npz = Npz::parse(&bytes, path)?;
    let bad = |w: String| Error::data(path, w);
    let n = geometry.len();
    let known = |name: &str| {
        name == "check.logits"
            || (0..n)
                .any(|l| name == format!("layer{l}.weight") || name == format!("layer{l}.bias"))
    };
    if let Some((name, _)) = npz.arrays.iter().find(|(name, _)| !known(name)) {
        return Err(bad(format!(
            "array '{name}' is not one of the twin's: layer0.weight .. layer{}.weight, their .bias, check.logits (for the {n} layers of the run's network)",
            n - 1
        )));
    }
    let floats = |name: &str, want: &[usize]| -> Result<Option<Vec<f64>>> {
        let Some(a) = npz.get(name) else {
            return Ok(None);
        };
        let v = a.to_f64().ok_or_else(|| {
            bad(format!(
                "array '{name}' is {}, expected float32 or float64",
                a.dtype.name()
            ))
        })?;
        if a.shape != want {
            return Err(bad(format!(
                "array '{name}' has shape {}, expected {} for the run's network",
                shape_text(&a.shape),
                shape_text(want)
            )));
        }
        if let Some(p) = v.iter().position(|x| !x.is_finite()) {
            return Err(bad(format!(
                "array '{name}': element {p} is {}; every number must be finite",
                v[p]
            )));
        }
        Ok(Some(v))
    };
    let mut layers = Vec::with_capacity(n);
    let mut biases = Vec::with_capacity(n);
    for (l, g) in geometry.iter().enumerate() {
        let (torch_shape, units) = match g {
            Layer::Conv(c) => (vec![c.channels, c.input.c, c.kernel, c.kernel], c.channels),
            Layer::Dense(d) => (vec![d.n_out, d.n_in], d.n_out),
        };
        let wname = format!("layer{l}.weight");
        let w = floats(&wname, &torch_shape)?.ok_or_else(|| {
            bad(format!(
                "no array '{wname}' (the {} layer {l}, shape {})",
                kind(g),
                shape_text(&torch_shape)
            ))
        })?;
        // A dense layer reads the map of a convolution before it in PyTorch's Flatten order.
        let map = match (l.checked_sub(1).map(|k| &geometry[k]), g) {
            (Some(Layer::Conv(c)), Layer::Dense(_)) => Some(c.output()),
            _ => None,
        };
        layers.push(from_torch(g, &w, map));
        biases.push(floats(&format!("layer{l}.bias"), &[units])?.unwrap_or(vec![0.0; units]));
    }
    let outputs = geometry.last().map_or(0, |l| l.n_out());
    let check = match npz.get("check.logits") {
        None => None,
        Some(a) => {
            let rows = a.shape.first().copied().unwrap_or(0);
            let v = floats("check.logits", &[rows, outputs])?.unwrap_or_default();
            Some((rows, v))
        }
    };
    Ok((
        Twin {
            layers,
            biases,
            check,
        },
        sha,
    ))
}

/// Layer `g`'s geometry with the PyTorch-layout weights `w` in firstspike's layout; `map` is
/// the feature map a dense layer reads in `Flatten` order.
fn from_torch(g: &Layer<f64>, w: &[f64], map: Option<Shape>) -> Layer<f64> {
    match g {
        Layer::Conv(c) => {
            let (k, ci, co) = (c.kernel, c.input.c, c.channels);
            let mut out = vec![0.0; w.len()];
            for o in 0..co {
                for ch in 0..ci {
                    for ky in 0..k {
                        for kx in 0..k {
                            out[((ky * k + kx) * ci + ch) * co + o] =
                                w[((o * ci + ch) * k + ky) * k + kx];
                        }
                    }
                }
            }
            Layer::Conv(Conv {
                w: out,
                ..c.clone()
            })
        }
        Layer::Dense(d) => {
            let (n_in, n_out) = (d.n_in, d.n_out);
            let mut out = vec![0.0; w.len()];
            for i in 0..n_in {
                let col = match map {
                    // firstspike's input i = (y W + x) C + c is Flatten's (c H + y) W + x.
                    Some(m) => {
                        let (y, x, c) = m.position(i);
                        (c * m.h + y) * m.w + x
                    }
                    None => i,
                };
                for j in 0..n_out {
                    out[i * n_out + j] = w[j * n_in + col];
                }
            }
            Layer::dense(n_in, n_out, out)
        }
    }
}

impl Twin {
    /// The twin's activations of one image (pixels / 255): per layer, the ReLU of the hidden
    /// layers' pre-activations, and the output layer's logits, into `acts`.
    pub(crate) fn forward(&self, pixels: &[u8], acts: &mut Vec<Vec<f64>>) {
        acts.resize_with(self.layers.len(), Vec::new);
        let x: Vec<f64> = pixels.iter().map(|&p| p as f64 / 255.0).collect();
        let last = self.layers.len() - 1;
        for (l, (layer, b)) in self.layers.iter().zip(&self.biases).enumerate() {
            let (done, rest) = acts.split_at_mut(l);
            let input = if l == 0 { &x } else { &done[l - 1] };
            let out = &mut rest[0];
            out.clear();
            match layer {
                Layer::Dense(d) => {
                    out.extend_from_slice(b);
                    for (i, &xi) in input.iter().enumerate().filter(|(_, &x)| x != 0.0) {
                        for (o, &w) in out.iter_mut().zip(d.row(i)) {
                            *o += xi * w;
                        }
                    }
                }
                Layer::Conv(c) => {
                    let co = c.channels;
                    let n = c.output().len().unwrap_or(0);
                    out.extend((0..n).map(|j| b[j % co]));
                    for (i, &xi) in input.iter().enumerate().filter(|(_, &x)| x != 0.0) {
                        c.for_each_target(i, |tap, j0| {
                            let row = &c.w[tap * co..(tap + 1) * co];
                            for (o, &w) in out[j0..j0 + co].iter_mut().zip(row) {
                                *o += xi * w;
                            }
                        });
                    }
                }
            }
            if l < last {
                out.iter_mut().for_each(|v| *v = v.max(0.0));
            }
        }
    }

    /// The largest |bias|.
    fn largest_bias(&self) -> f64 {
        self.biases
            .iter()
            .flatten()
            .fold(0.0, |m: f64, b| m.max(b.abs()))
    }

    /// The first-spike layers `s_l W_l`.
    fn scaled(&self, scales: &[f64]) -> Vec<Layer<f64>> {
        self.layers
            .iter()
            .zip(scales)
            .map(|(l, &s)| l.map(|&w| w * s))
            .collect()
    }
}

/// How well the first-spike net's outputs follow the twin's logits on a set of images.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Score {
    /// Images whose first output spike is the twin's largest logit.
    top: usize,
    /// Pairs of outputs (over all images) whose spike order is their logits' order (the
    /// larger logit's neuron fired, and earlier or alone).
    pairs: usize,
}

/// The images the scales are chosen on, their labels and the twin's logits for them.
struct Probe<'a> {
    data: &'a Dataset,
    images: usize,
    logits: Vec<Vec<f64>>,
}

impl Probe<'_> {
    /// The score of the first-spike net with `layers`, and its accuracy on the probe images.
    fn score(&self, cfg: &TrainConfig, layers: Vec<Layer<f64>>, threads: usize) -> (Score, usize) {
        let net = Net {
            layers,
            theta: cfg.params.theta,
            tau: cfg.params.tau_syn,
        };
        let parts = par_chunks(self.images, threads, |range| {
            let (mut scratch, mut pass) = (LayerScratch::default(), ForwardPass::default());
            let (mut s, mut correct) = (Score::default(), 0usize);
            for i in range {
                let t_in = cfg.encoding.encode(self.data.image(i));
                forward(&net, &t_in, &mut scratch, &mut pass);
                let logits = &self.logits[i];
                let out = pass.outputs();
                let best = argmax(logits);
                let decision = pass.decision();
                s.top += usize::from(decision == Some(best));
                correct += usize::from(decision == Some(self.data.labels[i] as usize));
                for a in 0..out.len() {
                    for b in 0..out.len() {
                        if logits[a] > logits[b] && out[a].is_finite() && out[b] > out[a] {
                            s.pairs += 1;
                        }
                    }
                }
            }
            (s, correct)
        });
        parts.iter().fold((Score::default(), 0), |(a, c), (s, k)| {
            (
                Score {
                    top: a.top + s.top,
                    pairs: a.pairs + s.pairs,
                },
                c + k,
            )
        })
    }
}

/// Index of the largest value (first on ties).
fn argmax(v: &[f64]) -> usize {
    v.iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |(bi, bv), (i, &x)| {
            if x > bv {
                (i, x)
            } else {
                (bi, bv)
            }
        })
        .0
}

/// The `q` quantile of the positive values of `v` (1 if there are none).
fn positive_quantile(mut v: Vec<f64>, q: f64) -> f64 {
    v.retain(|&x| x > 0.0);
    if v.is_empty() {
        return 1.0;
    }
    let k = ((v.len() - 1) as f64 * q).round() as usize;
    let (_, x, _) = v.select_nth_unstable_by(k, |a, b| a.total_cmp(b));
    *x
}

/// The factor 2^(k/STEPS_PER_OCTAVE).
fn factor(k: i32) -> f64 {
    2f64.powf(k as f64 / STEPS_PER_OCTAVE as f64)
}

/// Maps the twin of `cfg.relu_start` into a first-spike model of `cfg` and fills in the
/// record (file hash, scales, agreement, accuracies, and the images used). `train_data` is the
/// run's training data as loaded; the scales are chosen on its first `images` images (all the
/// images trained on, if there are fewer; validation images never), and the mapped net is
/// evaluated on its validation images, if the run holds some out.
pub(crate) fn map(cfg: &mut TrainConfig, train_data: &Dataset) -> Result<Model> {
    let start = cfg.relu_start.clone().expect("a run with a ReLU start");
    let mut model = super::init_model(cfg);
    let path = Path::new(&start.file);
    let (twin, sha) = load(path, &model.layers)?;
    // The first images of the training part (all of it if it has fewer).
    let n = start.images.min(train_data.len() - cfg.validation);
    let mut acts = Vec::new();
    // The twin on the probe images (and on the check rows, if the file has them).
    let check_rows = twin.check.as_ref().map_or(0, |c| c.0);
    if check_rows > train_data.len() {
        return Err(Error::data(
            path,
            format!(
                "check.logits has {check_rows} rows for {} training images",
                train_data.len()
            ),
        ));
    }
    if let Some((rows, want)) = &twin.check {
        let outputs = cfg.arch.n_outputs();
        for i in 0..*rows {
            twin.forward(train_data.image(i), &mut acts);
            let got = acts.last().expect("layers");
            for (k, (&g, &w)) in got.iter().zip(&want[i * outputs..]).enumerate() {
                if (g - w).abs() > CHECK_TOL * (1.0 + w.abs()) {
                    return Err(Error::data(
                        path,
                        format!(
                            "the twin's logit {k} of training image {i} comes out {g:.6} here but {w:.6} in check.logits: the weights' layout, strides or padding are not the run's ({}), or the file is not for these images",
                            cfg.arch
                        ),
                    ));
                }
            }
        }
    }
    let layers = model.layers.len();
    let mut logits = Vec::with_capacity(n);
    let mut positive: Vec<Vec<f64>> = vec![Vec::new(); layers];
    let mut relu_correct = 0;
    for i in 0..n {
        twin.forward(train_data.image(i), &mut acts);
        for (p, a) in positive.iter_mut().zip(&acts) {
            p.extend(a.iter().filter(|&&x| x > 0.0));
        }
        let out = acts.last().expect("layers").clone();
        relu_correct += usize::from(argmax(&out) == train_data.labels[i] as usize);
        logits.push(out);
    }
    // Norm: s_l = g theta lambda_{l-1} / lambda_l.
    let lambda: Vec<f64> = positive
        .into_iter()
        .map(|v| positive_quantile(v, NORM_PERCENTILE))
        .collect();
    let theta = cfg.params.theta;
    let norm: Vec<f64> = (0..layers)
        .map(|l| theta * if l == 0 { 1.0 } else { lambda[l - 1] } / lambda[l])
        .collect();
    let probe = Probe {
        data: train_data,
        images: n,
        logits,
    };
    let threads = cfg.threads;
    let eval = |s: &[f64]| probe.score(cfg, twin.scaled(s), threads);
    let mut best: Option<(Score, usize, Vec<f64>)> = None;
    for k in -NORM_STEPS..=NORM_STEPS {
        let s: Vec<f64> = norm.iter().map(|x| x * factor(k)).collect();
        let (score, correct) = eval(&s);
        if best.as_ref().is_none_or(|b| score > b.0) {
            best = Some((score, correct, s));
        }
    }
    let (mut score, mut correct, mut scales) = best.expect("a grid");
    if start.rule == ScaleRule::Search {
        for _ in 0..SEARCH_SWEEPS {
            for l in 0..layers {
                let here = scales[l];
                for k in (-SEARCH_STEPS..=SEARCH_STEPS).filter(|&k| k != 0) {
                    let mut s = scales.clone();
                    s[l] = here * factor(k);
                    let (sc, c) = eval(&s);
                    if sc > score {
                        (score, correct, scales) = (sc, c, s);
                    }
                }
            }
        }
    }
    model.layers = twin.scaled(&scales);
    let mapped_validation_accuracy = (cfg.validation > 0).then(|| {
        let all = train_data.len();
        let val = train_data
            .select(&(all - cfg.validation..all).collect::<Vec<_>>())
            .expect("indices in range");
        evaluate(
            &Net::<f64>::from_model(&model),
            &cfg.encoding,
            &val,
            threads,
            NO_PROGRESS,
        )
        .accuracy()
    });
    let record = ReluStart {
        sha256: sha,
        images: n,
        scales,
        agreement: score.top as f64 / n as f64,
        relu_accuracy: relu_correct as f64 / n as f64,
        mapped_accuracy: correct as f64 / n as f64,
        mapped_validation_accuracy,
        largest_bias_dropped: twin.largest_bias(),
        ..start
    };
    cfg.relu_start = Some(record);
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Arch;
    #[cfg(feature = "nir")]
    use crate::nir::nir_weights;

    /// The twin's layouts are NIR's (PyTorch's): a model's weights written in NIR's layout
    /// (`nir_weights`, the export's tested conversion) come back unchanged through
    /// `from_torch`, for a padded strided convolution, a second one and a dense layer that
    /// reads its map.
    #[test]
    #[cfg(feature = "nir")]
    fn torch_layouts_invert_the_nir_export() {
        let arch = Arch::parse("9x9x2-3c3s2p1-4c3s2p1-5").unwrap();
        let mut k = 0.0;
        let layers = arch.build(|_, _, n| {
            (0..n)
                .map(|_| {
                    k += 1.0;
                    k
                })
                .collect::<Vec<f64>>()
        });
        let model = Model {
            params: Default::default(),
            encoding: Default::default(),
            layers: layers.clone(),
            meta: Default::default(),
        };
        let nir = nir_weights(&model);
        for (l, g) in layers.iter().enumerate() {
            let map = match (l.checked_sub(1).map(|k| &layers[k]), g) {
                (Some(Layer::Conv(c)), Layer::Dense(_)) => Some(c.output()),
                _ => None,
            };
            assert_eq!(&from_torch(g, &nir[l], map), g, "layer {l}");
        }
    }

    /// The twin's forward pass equals the dense-written one (`Conv::to_dense`), biases and
    /// ReLUs included.
    #[test]
    fn the_twin_forward_matches_a_dense_reference() {
        let arch = Arch::parse("6x6-2c3s2p1-3").unwrap();
        let mut k = 0u32;
        let layers = arch.build(|_, _, n| {
            (0..n)
                .map(|_| {
                    k += 1;
                    ((k * 37 % 17) as f64 - 8.0) / 10.0
                })
                .collect::<Vec<f64>>()
        });
        let biases = vec![vec![0.1, -0.2], vec![0.3, 0.0, -0.1]];
        let twin = Twin {
            layers: layers.clone(),
            biases: biases.clone(),
            check: None,
        };
        let pixels: Vec<u8> = (0..36u32).map(|p| (p * 53 % 256) as u8).collect();
        let mut acts = Vec::new();
        twin.forward(&pixels, &mut acts);
        let x: Vec<f64> = pixels.iter().map(|&p| p as f64 / 255.0).collect();
        let Layer::Conv(c) = &layers[0] else {
            unreachable!()
        };
        let d = c.to_dense();
        let h: Vec<f64> = (0..d.n_out)
            .map(|j| {
                let pre: f64 = (0..d.n_in)
                    .map(|i| x[i] * d.w[i * d.n_out + j])
                    .sum::<f64>()
                    + biases[0][j % 2];
                pre.max(0.0)
            })
            .collect();
        let Layer::Dense(o) = &layers[1] else {
            unreachable!()
        };
        for j in 0..3 {
            let want: f64 = (0..o.n_in).map(|i| h[i] * o.w[i * 3 + j]).sum::<f64>() + biases[1][j];
            assert!(
                (acts[1][j] - want).abs() < 1e-12,
                "{j}: {} vs {want}",
                acts[1][j]
            );
        }
        for (a, b) in acts[0].iter().zip(&h) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn quantiles_and_argmax() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, -1.0]), 1);
        let v: Vec<f64> = (-50..=100).map(|x| x as f64).collect();
        assert_eq!(positive_quantile(v, 0.99), 99.0);
        assert_eq!(positive_quantile(vec![0.0, -1.0], 0.99), 1.0);
    }
}
