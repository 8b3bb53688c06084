//! Trained networks and their files.
//!
//! Owns the [`Model`] type (architecture, neuron parameters, input encoding, weights, and how it
//! was made) and its two files: `NAME.bin` (magic, format version, bincode payload) and
//! `NAME.json` (the same minus the weights, plus the weights' sha256, for people and tools).
//! Loading validates everything before returning: magic, version, shapes, finite weights.
//! It does not run networks (see [`crate::analytic`] and [`crate::event`]).

use crate::encoding::Encoding;
use crate::error::{Error, FileKind, Result};
use crate::fileformat::{self, Format, FrameError};
use crate::fsio;
use crate::network::{self, Dense};
use crate::neuron::NeuronParams;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

pub(crate) use crate::fileformat::MODEL_MAGIC;
/// Current model format version. Version 2 stores each layer as a kind with its parameters
/// ([`network::Layer`]); version 3 is the same payload for a model with a convolutional layer,
/// so that a build from before convolutions refuses such a file by its version (with a
/// message saying so) instead of failing on an unknown layer kind. A model without one is
/// still written as version 2, readable by those builds. Version 1 files (every layer dense)
/// are read and converted on load. Other versions are refused.
pub(crate) const MODEL_VERSION: u32 = 3;
/// Layers as kinds, none of them convolutional.
const MODEL_VERSION_NO_CONV: u32 = 2;
/// The first format: a stack of dense layers.
const MODEL_VERSION_DENSE_ONLY: u32 = 1;
/// Largest model file we read (bytes). A 784-800-10 model is about 5 MB.
pub(crate) const MAX_MODEL_BYTES: u64 = 1 << 31;

/// A layer of a first-spike model: weights in the unit of theta (f64).
pub type Layer = network::Layer<f64>;

/// How a model was made and how well it did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelMeta {
    /// Data set it was trained on (e.g. "mnist").
    pub dataset: String,
    /// Training settings, including the seed, as the trainer recorded them (plain JSON data,
    /// so that a model file stays readable whatever later trainers call their settings).
    pub train: Option<serde_json::Value>,
    /// Epochs trained.
    pub epochs_trained: usize,
    /// Test accuracy measured after training (fraction), and on how many images.
    pub test_accuracy: Option<f64>,
    /// Number of test images behind `test_accuracy`.
    pub test_samples: usize,
    /// Accuracy on the training images held out for validation, after the last epoch
    /// (fraction), when the run held some out. Left out of the files when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_accuracy: Option<f64>,
    /// Number of held-out images behind `validation_accuracy` (left out when 0).
    #[serde(skip_serializing_if = "is_zero")]
    pub validation_samples: usize,
    /// Where an imported model came from and how it was mapped (see [`crate::nir::import`]);
    /// `None` for a model firstspike trained. Left out of the files when `None`, so that the
    /// files of trained models are as before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import: Option<serde_json::Value>,
}

/// For `skip_serializing_if`: a count of 0 is left out of the files.
fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A feedforward first-spike network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Neuron parameters (tau_syn, theta).
    pub params: NeuronParams,
    /// Pixel-to-time encoding of the input layer.
    pub encoding: Encoding,
    /// Layers, input side first.
    pub layers: Vec<Layer>,
    /// Provenance.
    pub meta: ModelMeta,
}

/// The human-readable sidecar `NAME.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ModelCard {
    /// "firstspike-model".
    pub(crate) format: String,
    /// [`MODEL_VERSION`].
    pub(crate) version: u32,
    /// Layer sizes, e.g. [784, 800, 10].
    pub(crate) arch: Vec<usize>,
    /// The layers as `--arch` writes them, e.g. `784-800-10` or `28x28-32c5s2-64c5s2-10`
    /// (what the sizes alone do not say for a convolution). Missing in cards written before.
    #[serde(default)]
    pub(crate) layers: String,
    /// Neuron parameters.
    pub(crate) params: NeuronParams,
    /// Input encoding.
    pub(crate) encoding: Encoding,
    /// Provenance.
    pub(crate) meta: ModelMeta,
    /// sha256 of the weights (see [`Model::weights_hash`]).
    pub(crate) weights_sha256: String,
    /// Units of times and weights.
    pub(crate) units: String,
}

/// The `.bin` payload: weights in bincode, provenance as JSON text so that it can gain fields
/// without changing the format version.
#[derive(Serialize, Deserialize)]
struct ModelBin {
    params: NeuronParams,
    encoding: Encoding,
    layers: Vec<Layer>,
    meta_json: String,
}

/// The payload of format version 1: the same, with every layer dense.
#[derive(Deserialize)]
struct ModelBinDenseOnly {
    params: NeuronParams,
    encoding: Encoding,
    layers: Vec<Dense<f64>>,
    meta_json: String,
}

impl From<ModelBinDenseOnly> for ModelBin {
    fn from(b: ModelBinDenseOnly) -> ModelBin {
        ModelBin {
            params: b.params,
            encoding: b.encoding,
            layers: b.layers.into_iter().map(network::Layer::Dense).collect(),
            meta_json: b.meta_json,
        }
    }
}

/// This build's model format, as messages name it.
const MODEL_FORMAT: Format = Format {
    magic: MODEL_MAGIC,
    name: "a model file",
    version: MODEL_VERSION,
    also_reads: ", 2 or 1",
    other_version: "retrain or convert the model with a matching firstspike",
};

/// The error for `bytes` that are not a model file of a version this build reads.
fn frame_error(path: &Path, bytes: &[u8], e: FrameError) -> Error {
    Error::model(path, e.describe(bytes, &MODEL_FORMAT))
}

impl Model {
    /// Layer sizes, input first.
    pub fn arch(&self) -> Vec<usize> {
        network::sizes(&self.layers)
    }

    /// Architecture as a string, e.g. `784-800-10` or `28x28-16c5s2-10` (the syntax of
    /// [`network::Arch`]).
    pub fn arch_string(&self) -> String {
        network::Arch::of_layers(&self.layers).to_string()
    }

    /// Inputs of the first layer.
    pub fn n_inputs(&self) -> usize {
        self.layers.first().map_or(0, |l| l.n_in())
    }

    /// Neurons of the output layer (classes).
    pub fn n_outputs(&self) -> usize {
        self.layers.last().map_or(0, |l| l.n_out())
    }

    /// sha256 of every layer's shape and weights (little-endian, layer by layer), hex: the
    /// model's identity. A dense layer hashes `n_in`, `n_out` (u64) and its weights (f64); a
    /// convolution the tag `conv2d` and its input h, w, c, channels, kernel, stride and
    /// padding (u64) before its weights.
    pub fn weights_hash(&self) -> String {
        let mut h = Sha256::new();
        for l in &self.layers {
            match l {
                network::Layer::Dense(d) => {
                    h.update((d.n_in as u64).to_le_bytes());
                    h.update((d.n_out as u64).to_le_bytes());
                }
                network::Layer::Conv(c) => {
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
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Checks shapes, parameters and that every weight is finite.
    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        self.params.validate()?;
        self.encoding.validate()?;
        network::check_layers(&self.layers)
    }

    /// Checks that the model takes images of `dim` pixels.
    pub fn check_input_dim(&self, dim: usize) -> Result<()> {
        if self.n_inputs() != dim {
            return Err(Error::dimension(format!(
                "the model takes {} inputs but the images have {} pixels",
                self.n_inputs(),
                dim
            )));
        }
        Ok(())
    }

    /// The sidecar card.
    pub(crate) fn card(&self) -> ModelCard {
        ModelCard {
            format: "firstspike-model".into(),
            version: self.format_version(),
            arch: self.arch(),
            layers: self.arch_string(),
            params: self.params,
            encoding: self.encoding,
            meta: self.meta.clone(),
            weights_sha256: self.weights_hash(),
            units: "time in units of tau_syn; weights and potentials in units of theta".into(),
        }
    }

    /// The format version this model is written with: [`MODEL_VERSION`] if it has a
    /// convolutional layer, else 2.
    fn format_version(&self) -> u32 {
        if self.layers.iter().any(|l| matches!(l, Layer::Conv(_))) {
            MODEL_VERSION
        } else {
            MODEL_VERSION_NO_CONV
        }
    }

    /// Serialises to the `.bin` format (magic, version, bincode).
    pub fn to_bytes(&self) -> Vec<u8> {
        let bin = ModelBin {
            params: self.params,
            encoding: self.encoding,
            layers: self.layers.clone(),
            meta_json: serde_json::to_string(&self.meta).expect("meta serialises"),
        };
        fileformat::write(MODEL_MAGIC, self.format_version(), MAX_MODEL_BYTES, &bin)
            .expect("a model always serialises")
    }

    /// Parses and validates the `.bin` format. `path` only names the source in errors.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Model> {
        let b: ModelBin = match fileformat::read(bytes, MODEL_MAGIC, MODEL_VERSION, MAX_MODEL_BYTES)
        {
            Err(FrameError::Version(MODEL_VERSION_NO_CONV)) => {
                fileformat::read(bytes, MODEL_MAGIC, MODEL_VERSION_NO_CONV, MAX_MODEL_BYTES)
                    .map_err(|e| frame_error(path, bytes, e))?
            }
            Err(FrameError::Version(MODEL_VERSION_DENSE_ONLY)) => {
                fileformat::read::<ModelBinDenseOnly>(
                    bytes,
                    MODEL_MAGIC,
                    MODEL_VERSION_DENSE_ONLY,
                    MAX_MODEL_BYTES,
                )
                .map_err(|e| frame_error(path, bytes, e))?
                .into()
            }
            read => read.map_err(|e| frame_error(path, bytes, e))?,
        };
        let meta = serde_json::from_str(&b.meta_json)
            .map_err(|e| Error::model(path, format!("corrupt provenance record: {e}")))?;
        let m = Model {
            params: b.params,
            encoding: b.encoding,
            layers: b.layers,
            meta,
        };
        m.validate().map_err(|w| Error::model(path, w))?;
        Ok(m)
    }

    /// Writes `PREFIX.bin` and `PREFIX.json` atomically. Returns both paths.
    pub fn save(&self, prefix: &Path) -> Result<(PathBuf, PathBuf)> {
        self.validate()
            .map_err(|w| Error::model(prefix, format!("refusing to save: {w}")))?;
        save_bin_and_card(prefix, &self.to_bytes(), &self.card())
    }

    /// Loads a model from `NAME.bin` (or from `NAME.json`/`NAME`, finding `NAME.bin`).
    pub fn load(path: &Path) -> Result<Model> {
        let (bin, bytes) = read_bin(path, MAX_MODEL_BYTES, |bin| Error::NotFound {
            path: bin.to_path_buf(),
            file: FileKind::Model,
        })?;
        Model::from_bytes(&bytes, &bin)
    }
}

/// The `NAME.bin` meant by `NAME.bin`, `NAME.json` or `NAME`.
pub(crate) fn bin_path(path: &Path) -> PathBuf {
    match path.extension().and_then(|e| e.to_str()) {
        Some("bin") => path.to_path_buf(),
        Some("json") => path.with_extension("bin"),
        _ => with_ext(path, "bin"),
    }
}

/// Reads the `NAME.bin` meant by `path` (see [`bin_path`]), at most `limit` bytes: its path
/// and bytes. A missing file is the error `not_found` makes of its path.
pub(crate) fn read_bin(
    path: &Path,
    limit: u64,
    not_found: impl FnOnce(&Path) -> Error,
) -> Result<(PathBuf, Vec<u8>)> {
    let bin = bin_path(path);
    if !bin.is_file() {
        return Err(not_found(&bin));
    }
    let bytes = fsio::read_limited(&bin, limit)?;
    Ok((bin, bytes))
}

/// Writes `PREFIX.bin` (the given bytes) and `PREFIX.json` (the card, pretty JSON), each
/// atomically. Returns both paths.
pub(crate) fn save_bin_and_card(
    prefix: &Path,
    bin_bytes: &[u8],
    card: &impl Serialize,
) -> Result<(PathBuf, PathBuf)> {
    let bin = with_ext(prefix, "bin");
    let json = with_ext(prefix, "json");
    fsio::write_atomic(&bin, bin_bytes)?;
    let card = serde_json::to_vec_pretty(card).expect("card serialises");
    fsio::write_atomic(&json, &card)?;
    Ok((bin, json))
}

/// `prefix` + `.ext` (keeps dots already in the name).
pub fn with_ext(prefix: &Path, ext: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn tiny() -> Model {
        Model {
            params: NeuronParams::default(),
            encoding: Encoding::default(),
            layers: vec![
                Layer::dense(3, 2, vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6]),
                Layer::dense(2, 1, vec![1.0, 2.0]),
            ],
            meta: ModelMeta::default(),
        }
    }

    #[test]
    fn round_trip() {
        let m = tiny();
        let b = m.to_bytes();
        assert_eq!(Model::from_bytes(&b, Path::new("m")).unwrap(), m);
    }

    #[test]
    fn truncated_file_is_refused() {
        let b = tiny().to_bytes();
        let e = Model::from_bytes(&b[..b.len() - 3], Path::new("m")).unwrap_err();
        assert!(e.to_string().contains("truncated"), "{e}");
    }

    #[test]
    fn other_version_is_refused() {
        let mut b = tiny().to_bytes();
        b[8] = 99;
        let e = Model::from_bytes(&b, Path::new("m")).unwrap_err();
        assert!(e.to_string().contains("version 99"), "{e}");
    }

    #[test]
    fn nan_weight_is_refused() {
        let mut m = tiny();
        m.layers[1].weights_mut()[1] = f64::NAN;
        let e = Model::from_bytes(&m.to_bytes(), Path::new("m")).unwrap_err();
        assert!(e.to_string().contains("NaN"), "{e}");
    }

    #[test]
    fn wrong_shapes_are_refused() {
        let mut m = tiny();
        m.layers[1] = Layer::dense(3, 1, vec![0.0; 3]);
        let e = Model::from_bytes(&m.to_bytes(), Path::new("m")).unwrap_err();
        assert!(e.to_string().contains("takes 3 inputs"), "{e}");
    }

    /// Version 1 files (every layer dense, as the shipped models are) load as the same model,
    /// with the same identity.
    #[test]
    fn dense_only_version_1_loads_with_the_same_weights() {
        #[derive(Serialize)]
        struct V1 {
            params: NeuronParams,
            encoding: Encoding,
            layers: Vec<Dense<f64>>,
            meta_json: String,
        }
        let m = tiny();
        let v1 = V1 {
            params: m.params,
            encoding: m.encoding,
            layers: m
                .layers
                .iter()
                .map(|l| match l {
                    network::Layer::Dense(d) => d.clone(),
                    network::Layer::Conv(_) => unreachable!("a dense test model"),
                })
                .collect(),
            meta_json: serde_json::to_string(&m.meta).unwrap(),
        };
        let b = fileformat::write(MODEL_MAGIC, 1, MAX_MODEL_BYTES, &v1).unwrap();
        let back = Model::from_bytes(&b, Path::new("v1")).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.weights_hash(), m.weights_hash());
        assert_ne!(b, m.to_bytes(), "version 2 writes the layer kind");
    }

    /// A model with a convolution is written as version 3 (so builds from before convolutions
    /// refuse it by its version), one without as version 2; both read back, and a version-2
    /// file holding a convolution (as written before version 3 existed) still loads.
    #[test]
    fn conv_models_are_version_3_dense_ones_version_2() {
        let arch = network::Arch::parse("4x4-2c3-3").unwrap();
        let mut k = 0.0;
        let layers = arch.build(|_, _, n| {
            (0..n)
                .map(|_| {
                    k += 0.125;
                    k
                })
                .collect()
        });
        let conv = Model { layers, ..tiny() };
        let version = |b: &[u8]| u32::from_le_bytes(b[8..12].try_into().unwrap());
        let b = conv.to_bytes();
        assert_eq!(version(&b), 3);
        assert_eq!(conv.card().version, 3);
        assert_eq!(conv.card().layers, "4x4-2c3-3");
        assert_eq!(tiny().card().layers, "3-2-1");
        assert_eq!(Model::from_bytes(&b, Path::new("c")).unwrap(), conv);
        assert_eq!(version(&tiny().to_bytes()), 2);
        assert_eq!(tiny().card().version, 2);
        let mut old = b.clone();
        old[8..12].copy_from_slice(&2u32.to_le_bytes());
        assert_eq!(Model::from_bytes(&old, Path::new("c")).unwrap(), conv);
    }
}
