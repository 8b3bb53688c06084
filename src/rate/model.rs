//! The rate baseline's model files: `NAME.bin` and `NAME.json`.
//!
//! Owns [`RateModel`] (the trained ReLU weights, the normalisation scales `lambda_l`, and
//! how they were made) and its files, in the same pattern as [`crate::model`]: `NAME.bin` is a
//! magic, a format version and a bincode payload; `NAME.json` is the same minus the weights,
//! plus their sha256. Both are written atomically. Loading validates everything before
//! returning: magic, version, shapes, finite weights, finite positive scales.
//!
//! The file keeps the **unnormalised** ReLU weights and the scales, not the converted weights:
//! the ReLU network stays inspectable and the conversion ([`super::convert::convert`]) is
//! one exact rescaling away.

use super::convert::{convert, SpikingNet};
use super::relu::ReluNet;
use super::train::ReluTrainConfig;
use crate::error::{Error, FileKind, Result};
use crate::fileformat::{self, Format, FrameError};
use crate::model::{read_bin, save_bin_and_card};
use crate::network::Layer;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

pub(crate) use crate::fileformat::RATE_MAGIC;
/// Current rate model format version: version 2 stores each layer as a kind with its
/// parameters ([`crate::network::Layer`]) and is written for a network with a convolution,
/// so that a build from before convolutions refuses such a file by its version; a network of
/// dense layers only is still written as version 1 (a stack of dense layers), which every
/// build reads. Other versions are refused.
pub(crate) const RATE_VERSION: u32 = 2;
/// The first format: a stack of dense layers.
const RATE_VERSION_DENSE_ONLY: u32 = 1;
/// Largest rate model file we read (bytes). A 784-800-10 model is about 2.5 MB.
pub(crate) const MAX_RATE_MODEL_BYTES: u64 = 1 << 31;

/// A quick check of the converted network made at training time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConversionCheck {
    /// Input drive ("current" or "poisson").
    pub input: String,
    /// Steps simulated.
    pub steps: usize,
    /// Accuracy of the spiking network after `steps` steps (fraction).
    pub accuracy: f64,
    /// Test images behind it.
    pub samples: usize,
}

/// How a rate model was made and how well it did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateMeta {
    /// Data set (e.g. "mnist").
    pub dataset: String,
    /// Training settings, including the seed.
    pub train: Option<ReluTrainConfig>,
    /// Epochs trained.
    pub epochs_trained: usize,
    /// Test accuracy of the ReLU network (fraction).
    pub relu_test_accuracy: Option<f64>,
    /// Test images behind `relu_test_accuracy`.
    pub test_samples: usize,
    /// Percentile of the positive activations behind the scales.
    pub percentile: f64,
    /// Training images the scales were measured on.
    pub norm_samples: usize,
    /// A check of the converted network, if one was made.
    pub conversion_check: Option<ConversionCheck>,
}

/// A trained ReLU network with its conversion scales.
#[derive(Clone, Debug, PartialEq)]
pub struct RateModel {
    /// The ReLU network (unnormalised weights).
    pub net: ReluNet,
    /// `lambda_l`, one per layer (see [`mod@super::convert`]).
    pub scales: Vec<f32>,
    /// Provenance.
    pub meta: RateMeta,
}

/// The human-readable sidecar `NAME.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct RateCard {
    /// "firstspike-rate-model".
    pub(crate) format: String,
    /// [`RATE_VERSION`].
    pub(crate) version: u32,
    /// Layer sizes, e.g. [784, 800, 10].
    pub(crate) arch: Vec<usize>,
    /// The layers as `--arch` writes them, e.g. `784-800-10` or `28x28-32c5s2p2-64c5s2p2-10`.
    /// Missing in cards written before.
    #[serde(default)]
    pub(crate) layers: String,
    /// `lambda_l` per layer.
    pub(crate) scales: Vec<f32>,
    /// The spiking neuron the scales are for.
    pub(crate) neuron: String,
    /// Provenance.
    pub(crate) meta: RateMeta,
    /// sha256 of the weights and scales (see [`RateModel::weights_hash`]).
    pub(crate) weights_sha256: String,
}

/// The `.bin` payload; provenance as JSON text so that it can gain fields without a new
/// format version.
#[derive(Serialize, Deserialize)]
struct RateBin {
    net: ReluNet,
    scales: Vec<f32>,
    meta_json: String,
}

/// The payload of format version 1: the same, with every layer dense.
#[derive(Serialize, Deserialize)]
struct RateBinDenseOnly {
    layers: Vec<crate::network::Dense<f32>>,
    scales: Vec<f32>,
    meta_json: String,
}

/// This build's rate model format, as messages name it.
const RATE_FORMAT: Format = Format {
    magic: RATE_MAGIC,
    name: "a rate model file",
    version: RATE_VERSION,
    also_reads: " or 1",
    other_version: "train it again with this firstspike",
};

/// The error for `bytes` that are not a rate model file of this version (naming a file of
/// another of the crate's formats as such).
fn frame_error(path: &Path, bytes: &[u8], e: FrameError) -> Error {
    Error::rate_model(path, e.describe(bytes, &RATE_FORMAT))
}

impl RateModel {
    /// Checks shapes, finite weights, and one finite positive scale per layer.
    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        self.net.validate()?;
        if self.scales.len() != self.net.layers.len() {
            return Err(format!(
                "{} scales for {} layers",
                self.scales.len(),
                self.net.layers.len()
            ));
        }
        if let Some((l, s)) = self
            .scales
            .iter()
            .enumerate()
            .find(|(_, s)| !(s.is_finite() && **s > 0.0))
        {
            return Err(format!(
                "scale of layer {} is {s}; scales must be finite and > 0",
                l + 1
            ));
        }
        Ok(())
    }

    /// Checks that the network takes `dim` inputs (the pixels of the images it is to see).
    pub fn check_input_dim(&self, dim: usize) -> Result<()> {
        if self.net.n_inputs() != dim {
            return Err(Error::dimension(format!(
                "the rate model takes {} inputs but the images have {} pixels",
                self.net.n_inputs(),
                dim
            )));
        }
        Ok(())
    }

    /// The converted spiking network.
    pub fn spiking(&self) -> Result<SpikingNet> {
        convert(&self.net, &self.scales)
    }

    /// sha256 of all weights and scales (little-endian f32, layer by layer), hex. A dense
    /// layer hashes `n_in`, `n_out` (u64) before its weights; a convolution the tag `conv2d`
    /// and its input h, w, c, channels, kernel, stride and padding (u64).
    pub(crate) fn weights_hash(&self) -> String {
        let mut h = Sha256::new();
        for l in &self.net.layers {
            match l {
                Layer::Dense(d) => {
                    h.update((d.n_in as u64).to_le_bytes());
                    h.update((d.n_out as u64).to_le_bytes());
                }
                Layer::Conv(c) => {
                    h.update(b"conv2d");
                    let i = c.input;
                    for x in [i.h, i.w, i.c, c.channels, c.kernel, c.stride, c.pad] {
                        h.update((x as u64).to_le_bytes());
                    }
                }
            }
            for w in l.weights() {
                h.update(w.to_le_bytes());
            }
        }
        for s in &self.scales {
            h.update(s.to_le_bytes());
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The sidecar card.
    pub(crate) fn card(&self) -> RateCard {
        RateCard {
            format: "firstspike-rate-model".into(),
            version: self.format_version(),
            arch: self.net.arch(),
            layers: self.net.arch_string(),
            scales: self.scales.clone(),
            neuron: "integrate-and-fire, threshold 1, reset by subtraction, no leak, no bias; weights W'_l = W_l lambda_{l-1} / lambda_l, lambda_0 = 1; inputs x = pixel / 255".into(),
            meta: self.meta.clone(),
            weights_sha256: self.weights_hash(),
        }
    }

    /// The dense layers, if every layer is one.
    fn dense_layers(&self) -> Option<Vec<crate::network::Dense<f32>>> {
        self.net
            .layers
            .iter()
            .map(|l| match l {
                Layer::Dense(d) => Some(d.clone()),
                _ => None,
            })
            .collect()
    }

    /// The format version this model is written with (see [`RATE_VERSION`]).
    fn format_version(&self) -> u32 {
        match self.dense_layers() {
            Some(_) => RATE_VERSION_DENSE_ONLY,
            None => RATE_VERSION,
        }
    }

    /// Serialises to the `.bin` format (magic, version, bincode).
    pub fn to_bytes(&self) -> Vec<u8> {
        let meta_json = serde_json::to_string(&self.meta).expect("meta serialises");
        let scales = self.scales.clone();
        let written = match self.dense_layers() {
            Some(layers) => fileformat::write(
                RATE_MAGIC,
                RATE_VERSION_DENSE_ONLY,
                MAX_RATE_MODEL_BYTES,
                &RateBinDenseOnly {
                    layers,
                    scales,
                    meta_json,
                },
            ),
            None => fileformat::write(
                RATE_MAGIC,
                RATE_VERSION,
                MAX_RATE_MODEL_BYTES,
                &RateBin {
                    net: self.net.clone(),
                    scales,
                    meta_json,
                },
            ),
        };
        written.expect("a rate model always serialises")
    }

    /// Parses and validates the `.bin` format. `path` only names the source in errors.
    pub(crate) fn from_bytes(bytes: &[u8], path: &Path) -> Result<RateModel> {
        let b: RateBin =
            match fileformat::read(bytes, RATE_MAGIC, RATE_VERSION, MAX_RATE_MODEL_BYTES) {
                Err(FrameError::Version(RATE_VERSION_DENSE_ONLY)) => {
                    let d: RateBinDenseOnly = fileformat::read(
                        bytes,
                        RATE_MAGIC,
                        RATE_VERSION_DENSE_ONLY,
                        MAX_RATE_MODEL_BYTES,
                    )
                    .map_err(|e| frame_error(path, bytes, e))?;
                    RateBin {
                        net: ReluNet {
                            layers: d.layers.into_iter().map(Layer::Dense).collect(),
                        },
                        scales: d.scales,
                        meta_json: d.meta_json,
                    }
                }
                read => read.map_err(|e| frame_error(path, bytes, e))?,
            };
        let meta = serde_json::from_str(&b.meta_json)
            .map_err(|e| Error::rate_model(path, format!("corrupt provenance record: {e}")))?;
        let m = RateModel {
            net: b.net,
            scales: b.scales,
            meta,
        };
        m.validate().map_err(|w| Error::rate_model(path, w))?;
        Ok(m)
    }

    /// Writes `PREFIX.bin` and `PREFIX.json` atomically. Returns both paths.
    pub fn save(&self, prefix: &Path) -> Result<(PathBuf, PathBuf)> {
        self.validate()
            .map_err(|w| Error::rate_model(prefix, format!("refusing to save: {w}")))?;
        save_bin_and_card(prefix, &self.to_bytes(), &self.card())
    }

    /// Loads from `NAME.bin` (or from `NAME.json` / `NAME`, finding `NAME.bin`).
    pub fn load(path: &Path) -> Result<RateModel> {
        let (bin, bytes) = read_bin(path, MAX_RATE_MODEL_BYTES, |bin| Error::NotFound {
            path: bin.to_path_buf(),
            file: FileKind::RateModel,
        })?;
        RateModel::from_bytes(&bytes, &bin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> RateModel {
        RateModel {
            net: ReluNet::init(&crate::network::Arch::dense(&[3, 2, 2]), 1),
            scales: vec![1.5, 2.0],
            meta: RateMeta::default(),
        }
    }

    #[test]
    fn round_trip() {
        let m = tiny();
        assert_eq!(
            RateModel::from_bytes(&m.to_bytes(), Path::new("m")).unwrap(),
            m
        );
    }

    /// A network with a convolution is written as version 2, and read back the same; a dense
    /// one as version 1, as before convolutions.
    #[test]
    fn conv_round_trip_and_versions() {
        let arch = crate::network::Arch::parse("4x4-2c3s1p1-3").unwrap();
        let m = RateModel {
            net: ReluNet::init(&arch, 2),
            scales: vec![1.0, 2.0],
            meta: RateMeta::default(),
        };
        let b = m.to_bytes();
        assert_eq!(b[8], 2, "version byte");
        assert_eq!(RateModel::from_bytes(&b, Path::new("m")).unwrap(), m);
        assert_eq!(tiny().to_bytes()[8], 1);
        assert_eq!(m.card().layers, "4x4-2c3p1-3");
    }

    #[test]
    fn other_version_and_first_spike_files_are_refused() {
        let mut b = tiny().to_bytes();
        b[8] = 7;
        let e = RateModel::from_bytes(&b, Path::new("m")).unwrap_err();
        assert!(e.to_string().contains("version 7"), "{e}");
        let mut fs = crate::model::MODEL_MAGIC.to_vec();
        fs.extend([1, 0, 0, 0, 0]);
        let e = RateModel::from_bytes(&fs, Path::new("m")).unwrap_err();
        assert!(
            e.to_string()
                .contains("this is a model file, not a rate model file"),
            "{e}"
        );
    }

    #[test]
    fn bad_scales_are_refused() {
        let mut m = tiny();
        m.scales[1] = 0.0;
        let e = RateModel::from_bytes(&m.to_bytes(), Path::new("m")).unwrap_err();
        assert!(e.to_string().contains("scale of layer 2"), "{e}");
    }
}
