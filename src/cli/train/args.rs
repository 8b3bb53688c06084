//! The flags of `train` (clap) and the helpers of their help texts.

use clap::{Args, ValueEnum};
use firstspike::encoding::EncodingKind;
use firstspike::loss::LossOrigin;
use firstspike::trace::EngineKind;
use firstspike::train::{
    ScaleRule, TrainConfig, DISTILL_TEMPERATURE, DISTILL_WEIGHT, GAIN_WEIGHT, RELU_IMAGES,
};
use std::path::PathBuf;

/// Flags of `train`. The training settings are optional so that, with `--resume`, a flag
/// given can be checked against the checkpoint and one not given takes the checkpoint's
/// value; without `--resume`, a flag not given takes the default shown.
#[derive(Args)]
pub struct TrainArgs {
    /// Data folder with the IDX files [default: $FIRSTSPIKE_DATA or data/mnist; with --resume,
    /// the interrupted run's].
    #[arg(long)]
    pub(super) data: Option<PathBuf>,
    /// Name of the data set, recorded in the model (e.g. mnist, fashion) [default: mnist].
    #[arg(long)]
    pub(super) dataset: Option<String>,
    #[arg(long, help = with_default("Layers, input first: sizes of fully connected layers (784-800-10), or an input map HxW[xC] with convolutions <channels>c<kernel>[s<stride>][p<padding>] (28x28-16c5s2-32c5s2-10)", dflt().arch.to_string()))]
    pub(super) arch: Option<String>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Passes over the training set (with --resume, may differ from the checkpoint's, to train longer or shorter)", dflt().epochs))]
    pub(super) epochs: Option<usize>,
    /// Use only the first N training images [default: all; with --resume, the checkpoint's].
    #[arg(long)]
    pub(super) train_limit: Option<usize>,
    /// Use only the first N test images for the per-epoch test accuracy [default: all].
    #[arg(long)]
    pub(super) test_limit: Option<usize>,
    /// Hold out the last N training images (after --train-limit) for validation: the
    /// per-epoch accuracy is then measured on them and the test set is not read at all; the
    /// model of the best epoch so far is kept as PREFIX.best.bin. Read the test set once, for
    /// the model you choose, with `eval --save-accuracy` [default: 0, none; with --resume, the
    /// checkpoint's].
    #[arg(long)]
    pub(super) validation: Option<usize>,
    /// Do not read the test set at all: no per-epoch accuracy on it and none at the end (the
    /// data folder needs no test files). For the final run on every training image once the
    /// settings and the number of epochs have been chosen on a --validation split; then read
    /// the test set once, with `eval --save-accuracy`. The weights are those of the same run
    /// with the test set [with --resume, the checkpoint's].
    #[arg(long)]
    pub(super) no_test: bool,
    #[arg(long, allow_negative_numbers = true, help = with_default("Seed of every random choice", dflt().seed))]
    pub(super) seed: Option<u64>,
    /// Worker threads [default: all cores; with --resume, the checkpoint's]. The result does
    /// not depend on it.
    #[arg(long)]
    pub(super) threads: Option<usize>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Samples per step", dflt().batch_size))]
    pub(super) batch: Option<usize>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Adam step size", dflt().lr))]
    pub(super) lr: Option<f64>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Step size factor per epoch", dflt().lr_decay))]
    pub(super) lr_decay: Option<f64>,
    #[arg(long, allow_negative_numbers = true, help = with_default("K of the weight-sum cost", dflt().weight_sum_k))]
    pub(super) weight_sum_k: Option<f64>,
    #[arg(long, allow_negative_numbers = true, help = with_default("L2 cost lambda", dflt().l2))]
    pub(super) l2: Option<f64>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Weight W >= 0 of the decision cost W t_g / tau_syn on the label output's spike time t_g, added to the loss: rewards an early decision (0 = off)", dflt().decision_cost))]
    pub(super) decision_cost: Option<f64>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Gaussian jitter of input times while training (tau_syn units)", dflt().jitter_sd))]
    pub(super) jitter: Option<f64>,
    #[arg(long, help = with_default("Data augmentation: move each training image by up to N pixels in x and y, drawn anew each time it is used", dflt().shift))]
    pub(super) shift: Option<usize>,
    /// Data augmentation: mirror each training image left-right with probability 1/2, drawn
    /// anew each time it is used (for classes that look the same mirrored, such as clothes; not
    /// digits) [default: off; with --resume, the checkpoint's].
    #[arg(long)]
    pub(super) flip: bool,
    #[arg(long, value_enum, help = with_default("Input encoding", value_name(dflt().encoding.kind)))]
    pub(super) encoding: Option<EncodingKind>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Latest input time (black pixels), tau_syn units", dflt().encoding.t_max))]
    pub(super) t_max: Option<f64>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Pixels below this intensity send no spike", dflt().encoding.silent_below))]
    pub(super) silent_below: Option<u8>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Initial mean weight sum per neuron, in thresholds", dflt().init_mean))]
    pub(super) init_mean: Option<f64>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Initial weight spread (sd x sqrt(n_in))", dflt().init_sd))]
    pub(super) init_sd: Option<f64>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Floor on S - theta in gradients (threshold units)", dflt().denom_floor))]
    pub(super) denom_floor: Option<f64>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Clip each batch's loss-gradient L2 norm to this (0 = off)", dflt().clip_norm))]
    pub(super) clip: Option<f64>,
    #[arg(long, visible_alias = "loss", allow_negative_numbers = true, help = with_default("The loss: a softmax over -z, z = exp((t - origin)/tau), with the origin input (t = 0, the paper's loss), first-output (the earliest output spike) or a fixed time in tau_syn units within ±100 (e.g. 1.5: every z divided by exp(1.5), a warmer softmax; negative: colder); or time:T, a softmax over the spike times themselves, -t/(T tau), T in 0.001..=100 tau_syn (e.g. time:0.2)", dflt().loss_origin))]
    pub(super) loss_origin: Option<LossOrigin>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Weight averaging: evaluate and save the exponential moving average of the weights over the steps with this factor (e.g. 0.999, about the last 1,000 steps) instead of the last step's weights; training itself is unchanged (0 = off)", dflt().average))]
    pub(super) average: Option<f64>,
    #[arg(long, value_enum, help = with_default("Engine producing the forward traces that the backward pass replays", value_name(dflt().engine)))]
    pub(super) engine: Option<EngineKind>,
    #[arg(long, help = with_default("Quantisation-aware training: forward and backward passes with every layer's weights quantised to this many bits (per layer, symmetric), updates to the full-precision weights; the model is saved quantised (0 = off)", dflt().quantise_bits))]
    pub(super) quantise_bits: Option<u32>,
    /// Knowledge distillation from a teacher: a .npy file of its logits (float32 or float64),
    /// one row per training image as loaded (the first --train-limit images, validation ones
    /// included) in the training files' order, one column per output; e.g. written by
    /// `tools/relu-cnn-reference.py --save-logits`. The loss becomes (1 - a) CE + a T^2
    /// KL(softmax(teacher/T) || softmax(student/T)), the student's logits being those the
    /// first-spike loss uses (-z, or -t/(T tau) for time:T). With --resume, a new path for the
    /// same file (checked by its sha256) [default: none].
    #[arg(long, value_name = "FILE.npy")]
    pub(super) teacher: Option<PathBuf>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Weight a in [0, 1] of the distillation term (needs --teacher)", DISTILL_WEIGHT))]
    pub(super) distill_weight: Option<f64>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Temperature T > 0 of the distillation softmaxes (needs --teacher)", DISTILL_TEMPERATURE))]
    pub(super) distill_temperature: Option<f64>,
    /// Gain control: a penalty on log(S - theta) outside the band LOW:HIGH, for every neuron
    /// that fires (S - theta at its crossing, potentials in units of theta, LOW above
    /// --denom-floor; e.g. 0.1:10), added to the loss: weight x the sum over layers of each
    /// layer's mean of (ln LOW - ln(S - theta))^2 below the band and (ln(S - theta) - ln HIGH)^2
    /// above it [default: off; with --resume, the checkpoint's].
    #[arg(long, value_name = "LOW:HIGH", value_parser = parse_gain_band)]
    pub(super) gain_band: Option<(f64, f64)>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Weight of the gain penalty (needs --gain-band)", GAIN_WEIGHT))]
    pub(super) gain_weight: Option<f64>,
    /// Start from the ReLU twin's weights: an .npz of its layers (layer0.weight, layer0.bias,
    /// ... in PyTorch's layouts, as `tools/relu-cnn-reference.py --save-weights` writes it),
    /// each layer times one scale chosen on the first --relu-images training images so that
    /// the first output spike is the twin's largest logit as often as possible; the twin's
    /// biases are dropped. The mapped net's accuracy is printed before the first epoch and
    /// recorded in the model card (train.relu_start) [default: drawn weights].
    #[arg(long, value_name = "FILE.npz", conflicts_with_all = ["resume", "init"])]
    pub(super) init_from_relu: Option<PathBuf>,
    #[arg(long, value_enum, requires = "init_from_relu", help = with_default("How --init-from-relu chooses each layer's scale: search (each layer's scale in turn, from norm's) or norm (the layers' 99th percentiles of activation, one global factor searched)", ScaleRule::Search))]
    pub(super) relu_scale: Option<ScaleRule>,
    #[arg(long, requires = "init_from_relu", help = with_default("Training images --init-from-relu chooses its scales on (the first ones, all if there are fewer; never validation images)", RELU_IMAGES))]
    pub(super) relu_images: Option<usize>,
    /// Start from this model's weights (and its architecture, neuron parameters and encoding)
    /// instead of drawn ones: fine-tuning, e.g. with --quantise-bits.
    #[arg(long, value_name = "MODEL", conflicts_with = "resume")]
    pub(super) init: Option<PathBuf>,
    /// Output prefix: writes PREFIX.bin, PREFIX.json, PREFIX.log.jsonl, PREFIX.curve.svg, PREFIX.gain.svg (the accuracy curve beside the gain of each layer) and the checkpoint
    /// PREFIX.ckpt (the one before it kept as PREFIX.ckpt.prev).
    #[arg(long)]
    pub(super) out: PathBuf,
    /// Continue the run saved in this checkpoint (a PREFIX.ckpt) with its settings, data and
    /// position: the result is bit for bit that of a run never stopped.
    #[arg(long, value_name = "CHECKPOINT")]
    pub(super) resume: Option<PathBuf>,
    /// Write the checkpoint at every epoch end and at least every MINUTES minutes.
    #[arg(
        long,
        value_name = "MINUTES",
        default_value_t = 10.0,
        allow_negative_numbers = true
    )]
    pub(super) checkpoint_every: f64,
    /// Print one JSON object at the end.
    #[arg(long)]
    pub(super) json: bool,
}

/// `--gain-band LOW:HIGH`: two numbers (checked against each other and the floor by the
/// settings' validation).
pub(super) fn parse_gain_band(s: &str) -> std::result::Result<(f64, f64), String> {
    let nums = s
        .split_once(':')
        .and_then(|(a, b)| Some((a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?)));
    nums.ok_or_else(|| {
        format!("expected two potentials LOW:HIGH in units of theta (e.g. 0.1:10), got {s:?}")
    })
}

/// The defaults of the settings flags.
pub(super) fn dflt() -> TrainConfig {
    TrainConfig::default()
}

/// Help text naming the default, taken from the library so that it cannot go stale.
pub(super) fn with_default(what: &str, v: impl std::fmt::Display) -> String {
    format!("{what} [default: {v}]")
}

/// The command-line spelling of a value of a library enum.
pub(super) fn value_name(v: impl ValueEnum) -> String {
    v.to_possible_value()
        .map_or_else(String::new, |p| p.get_name().to_string())
}
