//! Training settings: everything a run needs to be repeated, recorded in the model file.

use crate::encoding::Encoding;
use crate::error::{Error, Result};
use crate::loss::LossOrigin;
use crate::network::Arch;
use crate::neuron::NeuronParams;
use crate::trace::EngineKind;
use serde::{Deserialize, Serialize};

/// Settings of a training run. Fields missing from an older record take their defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    /// The layers, input first, e.g. `784-800-10` or `28x28-16c5s2-32c5s2-10` (see
    /// [`Arch`]).
    pub arch: Arch,
    /// Passes over the training set.
    pub epochs: usize,
    /// Samples per gradient step.
    pub batch_size: usize,
    /// Adam step size at epoch 0.
    pub lr: f64,
    /// The step size is multiplied by this after every epoch.
    pub lr_decay: f64,
    /// K of the weight-sum cost K sum_j max(0, theta - sum_i w_ji). The costs take plain
    /// gradient steps of size `lr` outside Adam, so each step raises a deficient neuron's
    /// weight sum by lr K n_in.
    pub weight_sum_k: f64,
    /// lambda of the L2 cost (lambda/2) sum w^2.
    pub l2: f64,
    /// Standard deviation of the Gaussian jitter added to input spike times while training
    /// (units of tau_syn; 0 = none). Jittered times are clamped at 0. Default 0.25, chosen by
    /// measurement (784-800-10, 24 epochs, seed 1: 97.67 % without, 97.90 % at 0.1, 98.00 %
    /// at 0.25 on the MNIST test set). On a 5,000-image validation split (12 epochs, mean
    /// validation accuracy of the last four): 97.87 % without, 97.87 % at 0.1, 98.05 % at
    /// 0.25 and 98.37 % at 0.5, so 0.5 may be the better default; see docs/experiments/jitter.md.
    pub jitter_sd: f64,
    /// Data augmentation: each time a training image is used it is moved by up to this many
    /// pixels in x and in y (drawn uniformly, black coming in at the border; see
    /// `train::augment`). 0 = none (the default). Needs 2-D images.
    pub shift: usize,
    /// Data augmentation: each time a training image is used it is mirrored left-right with
    /// probability 1/2 (see `train::augment`). For data whose classes look the same mirrored
    /// (clothes, as in Fashion-MNIST), not for digits. Off by default. Needs 2-D images.
    pub flip: bool,
    /// Initial weights ~ N(init_mean * theta / n_in, (init_sd / sqrt(n_in))^2) per layer.
    pub init_mean: f64,
    /// See `init_mean`.
    pub init_sd: f64,
    /// Floor on S - theta in gradients (see `grad::DENOM_FLOOR`).
    pub denom_floor: f64,
    /// Largest L2 norm of a batch's loss gradient (all layers); larger ones are scaled down
    /// to it. 0 = no clipping.
    pub clip_norm: f64,
    /// Time origin of the loss's z (see `loss::LossOrigin`).
    pub loss_origin: LossOrigin,
    /// The engine whose traces feed the backward pass.
    pub engine: EngineKind,
    /// Seed of every random choice of the run.
    pub seed: u64,
    /// Worker threads.
    pub threads: usize,
    /// Neuron parameters of the model.
    pub params: NeuronParams,
    /// Input encoding of the model.
    pub encoding: Encoding,
    /// Training images held out for validation, taken from the end of the training data
    /// (0 = none). The trainer then never trains on them, and its per-epoch accuracy is
    /// measured on them (`EpochLog::validation_accuracy`) instead of on a test set: settings
    /// and the number of epochs are chosen on it, and the test set is read once, for the chosen
    /// model (`firstspike train` does not read it when this is set).
    pub validation: usize,
    /// Quantisation-aware training: 0 = off; else every batch runs its forward and backward
    /// passes with each layer's weights quantised to this many bits
    /// ([`crate::train::quantise::quantise`]) while the update goes to the full-precision weights
    /// (a straight-through estimator). The trained model is saved quantised.
    pub quantise_bits: u32,
    /// Weight averaging: 0 = off (the model is the last step's weights); else the model
    /// evaluated after each epoch and saved is the exponential moving average of the weights
    /// over the steps, with this factor beta in (0, 1) (see `train::average`; 0.999 spans
    /// about 1,000 steps). Training itself is unchanged: the same weights take the same steps.
    pub average: f64,
    /// Knowledge distillation from a teacher's logits (see [`Distill`]); `None` = off.
    pub distill: Option<Distill>,
    /// Gain control: a penalty holding every firing neuron's `S - theta` at its crossing in a
    /// band (see [`GainBand`]); `None` = off.
    pub gain_band: Option<GainBand>,
    /// A start from the ReLU twin's weights instead of drawn ones (see [`ReluStart`]);
    /// `None` = off.
    pub relu_start: Option<ReluStart>,
    /// Weight w of the decision cost `w t_g / tau_syn` on the label output's spike time,
    /// added to every sample's loss ([`crate::loss::decision_cost`]): it rewards an early
    /// decision, which the softmax losses do not see. Dimensionless (nats per tau_syn of
    /// delay); 0 = off (the default).
    pub decision_cost: f64,
}

/// Gain control: the penalty `weight sum_l (1/N_l) sum_{j fired} phi(S_j - theta)` per
/// sample, added to the loss, with `phi` zero inside `[low, high]` and the squared distance
/// in log space outside it (see [`crate::loss::GainPenalty`]; below the gradient floor
/// `denom_floor` it continues as its tangent line). Its gradient goes through Adam with the
/// loss's. `low` and `high` are potentials, in the unit of theta (like `denom_floor`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GainBand {
    /// Lower edge a of the band, > `denom_floor` (potential, unit of theta).
    pub low: f64,
    /// Upper edge b of the band, > `low` (potential, unit of theta).
    pub high: f64,
    /// Weight of the penalty (dimensionless: the loss is in nats), > 0.
    pub weight: f64,
}

/// Default weight of the gain penalty (`firstspike train --gain-weight`, Python `train`'s
/// `gain_weight`).
pub const GAIN_WEIGHT: f64 = 0.1;

impl GainBand {
    /// The penalty this band sets for a run whose gradient floor is `denom_floor` (the knee
    /// of the penalty).
    pub fn penalty(&self, denom_floor: f64) -> crate::loss::GainPenalty {
        crate::loss::GainPenalty {
            low: self.low,
            high: self.high,
            knee: denom_floor,
            weight: self.weight,
        }
    }
}

/// How [`ReluStart`] chooses the scale `s_l` of each layer (`w_l = s_l W_l`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum ScaleRule {
    /// Start from `Norm`'s scales, then search each layer's scale in turn (two sweeps, a grid
    /// of factors 2^(k/4), k in -8..=8) for the most images on which the first-spike net's
    /// first output is the twin's largest logit (ties broken by how many pairs of outputs are
    /// in the logits' order).
    Search,
    /// Data-based normalisation (as in ReLU-to-rate conversion): `s_l = g theta
    /// lambda_{l-1} / lambda_l`, `lambda_l` the 99th percentile of layer l's positive ReLU
    /// activations on the images (`lambda_0` = 1, the brightest pixel), and one global
    /// factor `g` (a grid of 2^(k/4), k in -16..=16) searched for the same agreement.
    Norm,
}

impl std::fmt::Display for ScaleRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ScaleRule::Search => "search",
            ScaleRule::Norm => "norm",
        })
    }
}

/// A start from the ReLU twin (`firstspike train --init-from-relu FILE.npz`): the twin's
/// weights `W_l` (an `.npz` as `tools/relu-cnn-reference.py --save-weights` writes it, see
/// `train::relu_start`), each layer multiplied by one scale `s_l` (threshold units per unit
/// of ReLU activation), become the first-spike net's weights `w_l = s_l W_l`; the twin's
/// biases are **dropped** (the first-spike layers have none). The scales are chosen on the
/// first `images` training images (never validation ones) by `rule`; then training goes on
/// from there with the run's settings. The fields after `images` are filled in when the run
/// starts (a record of the mapping, kept in the model card).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReluStart {
    /// The `.npz` file of the twin's weights and biases.
    pub file: String,
    /// sha256 of the file's bytes (hex); empty until the run starts.
    pub sha256: String,
    /// How the scales are chosen.
    pub rule: ScaleRule,
    /// Training images the scales are chosen on: the first ones of the training part (all of
    /// it, if it has fewer; the record holds the number used).
    pub images: usize,
    /// The chosen scale of each layer (threshold units per unit of activation).
    pub scales: Vec<f64>,
    /// Of the `images`, the fraction on which the mapped net's first output spike is the
    /// twin's largest logit.
    pub agreement: f64,
    /// The twin's accuracy on the `images` (with its biases).
    pub relu_accuracy: f64,
    /// The mapped first-spike net's accuracy on the `images`, before any training.
    pub mapped_accuracy: f64,
    /// The mapped net's accuracy on the validation images before any training, when the run
    /// holds some out.
    pub mapped_validation_accuracy: Option<f64>,
    /// The largest |bias| of the twin, dropped by the mapping.
    pub largest_bias_dropped: f64,
}

/// Default number of training images the ReLU start chooses its scales on (`--relu-images`).
pub const RELU_IMAGES: usize = 1000;

/// Knowledge distillation: the loss becomes `(1 - a) CE + a T^2 KL(softmax(u/T) ||
/// softmax(s/T))`, `u` the teacher's logits for the sample, `s` the student's logits that the
/// first-spike loss takes its softmax over (see [`crate::loss::distill_loss`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Distill {
    /// The `.npy` file of the teacher's logits: one row per image of the training data as
    /// loaded (after any `--train-limit`, validation images included), in file order, one
    /// column per output; float32 or float64. Read again when a run resumes.
    pub teacher: String,
    /// sha256 of the file's bytes (hex), recorded when the run starts and checked when it
    /// resumes; empty until then.
    pub teacher_sha256: String,
    /// Weight `a` in [0, 1] of the distillation term.
    pub weight: f64,
    /// Temperature `T` of both softmaxes, in `DISTILL_TEMPERATURES`.
    pub temperature: f64,
}

/// Default distillation weight `a` (`firstspike train --distill-weight`, Python `train`'s
/// `distill_weight`).
pub const DISTILL_WEIGHT: f64 = 0.5;
/// Default distillation temperature `T` (`--distill-temperature`, `distill_temperature`).
pub const DISTILL_TEMPERATURE: f64 = 4.0;

/// Temperatures T of distillation that training accepts (the gradient scales as T, the
/// softened distributions flatten out above ~100).
pub const DISTILL_TEMPERATURES: std::ops::RangeInclusive<f64> = 1e-3..=1e3;

impl TrainConfig {
    /// These settings as plain JSON data, the form a model file keeps of how it was trained
    /// ([`crate::model::ModelMeta::train`]).
    pub fn record(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("settings serialise")
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            arch: Arch::dense(&[784, 800, 10]),
            epochs: 24,
            batch_size: 32,
            lr: 1e-3,
            lr_decay: 0.8,
            weight_sum_k: 1.0,
            l2: 1e-4,
            jitter_sd: 0.25,
            shift: 0,
            flip: false,
            init_mean: 4.0,
            init_sd: 1.0,
            denom_floor: 0.01,
            clip_norm: 0.0,
            loss_origin: LossOrigin::Input,
            engine: EngineKind::Analytic,
            seed: 1,
            threads: 2,
            params: NeuronParams::default(),
            encoding: Encoding::default(),
            quantise_bits: 0,
            validation: 0,
            average: 0.0,
            distill: None,
            gain_band: None,
            relu_start: None,
            decision_cost: 0.0,
        }
    }
}

/// Largest |t_0| of a fixed loss origin, units of tau_syn. Output spikes come within a few
/// tau of the inputs; an origin hundreds of tau away makes every z overflow (a NaN loss) or
/// underflow to 0 (no gradient at all).
pub const MAX_LOSS_ORIGIN: f64 = 100.0;

/// Temperatures T of the time softmax ([`LossOrigin::Time`]) that training accepts, units of
/// tau_syn. Below 1e-3 the loss of a sample whose target trails by a few tau is ~1e4 and its
/// gradient 1e3/tau per output: a step no optimiser setting tames; above 100 the softmax is
/// flat over any spread of spike times a network produces, and trains nothing.
pub const LOSS_TEMPERATURES: std::ops::RangeInclusive<f64> = 1e-3..=100.0;

impl TrainConfig {
    /// Checks every setting; the error ([`Error::InvalidSetting`]) names the field.
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &'static str, m: String| Err(Error::setting(name, m));
        self.arch.check()?;
        if self.epochs == 0 {
            return bad("epochs", "epochs must be at least 1".into());
        }
        if self.batch_size == 0 {
            return bad("batch_size", "batch_size must be at least 1".into());
        }
        if self.threads == 0 {
            return bad("threads", "threads must be at least 1".into());
        }
        for (name, v, min_excl) in [("lr", self.lr, 0.0), ("lr_decay", self.lr_decay, 0.0)] {
            if !(v.is_finite() && v > min_excl) {
                return bad(name, format!("{name} must be a finite number > 0, got {v}"));
            }
        }
        for (name, v) in [
            ("weight_sum_k", self.weight_sum_k),
            ("l2", self.l2),
            ("jitter_sd", self.jitter_sd),
            ("init_sd", self.init_sd),
            ("clip_norm", self.clip_norm),
            ("decision_cost", self.decision_cost),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(
                    name,
                    format!("{name} must be a finite number >= 0, got {v}"),
                );
            }
        }
        if !(self.denom_floor.is_finite() && self.denom_floor > 0.0) {
            return bad(
                "denom_floor",
                format!(
                    "denom_floor must be a finite number > 0, got {}",
                    self.denom_floor
                ),
            );
        }
        if !(self.average.is_finite() && (0.0..1.0).contains(&self.average)) {
            return bad(
                "average",
                format!(
                    "average must be 0 (off) or a factor in (0, 1) such as 0.999, got {}",
                    self.average
                ),
            );
        }
        if !self.init_mean.is_finite() {
            return bad(
                "init_mean",
                format!("init_mean must be finite, got {}", self.init_mean),
            );
        }
        if let LossOrigin::At(x) = self.loss_origin {
            if x.is_nan() || x.abs() > MAX_LOSS_ORIGIN {
                return bad(
                    "loss_origin",
                    format!(
                        "loss_origin must be a time within -{MAX_LOSS_ORIGIN}..={MAX_LOSS_ORIGIN} tau_syn, got {x}"
                    ),
                );
            }
        }
        if let LossOrigin::Time(x) = self.loss_origin {
            if !LOSS_TEMPERATURES.contains(&x) {
                return bad(
                    "loss_origin",
                    format!(
                        "the time softmax's temperature must lie in {}..={} tau_syn, got {x}",
                        LOSS_TEMPERATURES.start(),
                        LOSS_TEMPERATURES.end()
                    ),
                );
            }
        }
        if self.quantise_bits != 0 && !super::quantise::BITS_RANGE.contains(&self.quantise_bits) {
            return bad(
                "quantise_bits",
                format!(
                    "quantise_bits must be 0 (off) or lie in 2..=16, got {}",
                    self.quantise_bits
                ),
            );
        }
        if let Some(d) = &self.distill {
            if !(d.weight.is_finite() && (0.0..=1.0).contains(&d.weight)) {
                return bad(
                    "distill_weight",
                    format!(
                        "the distillation weight must lie in [0, 1], got {}",
                        d.weight
                    ),
                );
            }
            if !DISTILL_TEMPERATURES.contains(&d.temperature) {
                return bad(
                    "distill_temperature",
                    format!(
                        "the distillation temperature must be > 0 (within {}..={}), got {}",
                        DISTILL_TEMPERATURES.start(),
                        DISTILL_TEMPERATURES.end(),
                        d.temperature
                    ),
                );
            }
            if d.teacher.is_empty() {
                return bad(
                    "teacher",
                    "distillation needs the path of a teacher file (FILE.npy)".into(),
                );
            }
        }
        if let Some(g) = &self.gain_band {
            if !(g.low.is_finite() && g.low > self.denom_floor) {
                return bad(
                    "gain_band",
                    format!(
                        "the gain band's lower edge must be a finite potential above the gradient floor denom_floor ({}), got {}: below the floor the penalty is a straight line",
                        self.denom_floor, g.low
                    ),
                );
            }
            if !(g.high.is_finite() && g.high > g.low) {
                return bad(
                    "gain_band",
                    format!(
                        "the gain band's upper edge must be finite and above its lower edge {}, got {}",
                        g.low, g.high
                    ),
                );
            }
            if !(g.weight.is_finite() && g.weight > 0.0) {
                return bad(
                    "gain_weight",
                    format!(
                        "the gain penalty's weight must be a finite number > 0, got {}",
                        g.weight
                    ),
                );
            }
        }
        if let Some(r) = &self.relu_start {
            if r.file.is_empty() {
                return bad(
                    "init_from_relu",
                    "a start from the ReLU twin needs the path of its weights (FILE.npz)".into(),
                );
            }
            if r.images == 0 {
                return bad(
                    "relu_images",
                    "the ReLU start needs at least 1 training image to choose its scales on".into(),
                );
            }
            let layers = self.arch.sizes().len() - 1;
            if !r.scales.is_empty() && r.scales.len() != layers {
                return bad(
                    "init_from_relu",
                    format!("{} ReLU start scales for {layers} layers", r.scales.len()),
                );
            }
            if let Some(x) = r.scales.iter().find(|x| !(x.is_finite() && **x > 0.0)) {
                return bad(
                    "init_from_relu",
                    format!("the ReLU start's scales must be finite and > 0, got {x}"),
                );
            }
        }
        self.params
            .validate()
            .map_err(|w| Error::setting("params", w))?;
        self.encoding
            .validate()
            .map_err(|w| Error::setting("encoding", w))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distillation's weight must lie in [0, 1] and its temperature be positive.
    #[test]
    fn distillation_settings_are_checked() {
        let with = |weight, temperature| TrainConfig {
            distill: Some(Distill {
                teacher: "t.npy".into(),
                teacher_sha256: String::new(),
                weight,
                temperature,
            }),
            ..TrainConfig::default()
        };
        for (a, t) in [(-0.1, 2.0), (1.5, 2.0), (f64::NAN, 2.0)] {
            let e = with(a, t).validate().unwrap_err().to_string();
            assert!(e.contains("weight must lie in [0, 1]"), "{a}: {e}");
        }
        for t in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let e = with(0.5, t).validate().unwrap_err().to_string();
            assert!(e.contains("temperature must be > 0"), "{t}: {e}");
        }
        for (a, t) in [(0.0, 1.0), (1.0, 4.0), (0.5, 1e-3)] {
            with(a, t).validate().unwrap();
        }
    }

    /// A fixed loss origin must be finite and within reach of the spikes, checked here for
    /// every caller (checkpoints and library users, not only the parser).
    #[test]
    fn a_fixed_loss_origin_is_checked() {
        let with = |x| TrainConfig {
            loss_origin: LossOrigin::At(x),
            ..TrainConfig::default()
        };
        for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -800.0, 100.5] {
            let e = with(x).validate().unwrap_err().to_string();
            assert!(
                e.contains("loss_origin must be a time within -100..=100"),
                "{x}: {e}"
            );
        }
        for x in [-100.0, -0.5, 0.0, 1.5, 100.0] {
            with(x).validate().unwrap();
        }
    }

    /// The time softmax's temperature must be positive, finite and within the bounds.
    #[test]
    fn a_loss_temperature_is_checked() {
        let with = |x| TrainConfig {
            loss_origin: LossOrigin::Time(x),
            ..TrainConfig::default()
        };
        for x in [f64::NAN, f64::INFINITY, -0.2, 0.0, 9e-4, 100.5] {
            let e = with(x).validate().unwrap_err().to_string();
            assert!(
                e.contains("temperature must lie in 0.001..=100 tau_syn"),
                "{x}: {e}"
            );
        }
        for x in [1e-3, 0.2, 100.0] {
            with(x).validate().unwrap();
        }
    }

    /// The gain band must lie above the gradient floor, be ordered and finite, and its
    /// weight be positive; checked here for every caller (checkpoints, Python, the library).
    #[test]
    fn a_gain_band_is_checked() {
        let with = |low, high, weight| TrainConfig {
            gain_band: Some(GainBand { low, high, weight }),
            ..TrainConfig::default()
        };
        for (lo, hi, w, want) in [
            (
                0.01,
                10.0,
                1.0,
                "lower edge must be a finite potential above the gradient floor",
            ),
            (f64::NAN, 10.0, 1.0, "lower edge"),
            (
                0.5,
                0.5,
                1.0,
                "upper edge must be finite and above its lower edge",
            ),
            (0.5, f64::INFINITY, 1.0, "upper edge"),
            (0.1, 10.0, 0.0, "weight must be a finite number > 0"),
            (0.1, 10.0, f64::NAN, "weight must be a finite number > 0"),
        ] {
            let e = with(lo, hi, w).validate().unwrap_err().to_string();
            assert!(e.contains(want), "{lo} {hi} {w}: {e}");
        }
        with(0.011, 0.012, 1e-6).validate().unwrap();
        let floor = TrainConfig {
            denom_floor: 0.2,
            ..with(0.1, 10.0, 1.0)
        };
        assert!(floor.validate().is_err());
    }

    /// A ReLU start needs a file and at least one image; recorded scales, one per layer, must
    /// be positive.
    #[test]
    fn a_relu_start_is_checked() {
        let with = |file: &str, images, scales: Vec<f64>| TrainConfig {
            relu_start: Some(ReluStart {
                file: file.into(),
                sha256: String::new(),
                rule: ScaleRule::Search,
                images,
                scales,
                agreement: 0.0,
                relu_accuracy: 0.0,
                mapped_accuracy: 0.0,
                mapped_validation_accuracy: None,
                largest_bias_dropped: 0.0,
            }),
            ..TrainConfig::default()
        };
        for (c, want) in [
            (with("", 10, vec![]), "needs the path of its weights"),
            (with("t.npz", 0, vec![]), "at least 1 training image"),
            (
                with("t.npz", 10, vec![1.0]),
                "1 ReLU start scales for 2 layers",
            ),
            (
                with("t.npz", 10, vec![1.0, -1.0]),
                "scales must be finite and > 0",
            ),
        ] {
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        }
        with("t.npz", 10, vec![]).validate().unwrap();
        with("t.npz", 10, vec![0.5, 2.0]).validate().unwrap();
    }
}
