//! `firstspike train`: trains with the analytic solver, logs every epoch, checkpoints, saves
//! the model; `--resume` continues a checkpointed run.
//!
//! Ctrl-C (or SIGTERM) stops after the current batch, writes a checkpoint and exits with
//! code 130; a second Ctrl-C quits at once, keeping the last checkpoint written.

use super::common::{default_threads, load_split, print_json, progress_bar};
use clap::{Args, ValueEnum};
use firstspike::analytic::{evaluate, Net};
use firstspike::data::{resolve_data_dir, Dataset, Split};
use firstspike::encoding::EncodingKind;
use firstspike::loss::LossOrigin;
use firstspike::model::{with_ext, Model};
use firstspike::network::Arch;
use firstspike::plot;
use firstspike::progress::NO_PROGRESS;
use firstspike::trace::EngineKind;
use firstspike::train::{
    Checkpoint, Distill, EpochLog, GainBand, Progress, ReluStart, RunEnd, ScaleRule, Schedule,
    TrainConfig, Trainer, DISTILL_TEMPERATURE, DISTILL_WEIGHT, GAIN_WEIGHT, RELU_IMAGES,
};
use firstspike::{fsio, Error, Result};
use indicatif::ProgressStyle;
use serde_json::json;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Flags of `train`. The training settings are optional so that, with `--resume`, a flag
/// given can be checked against the checkpoint and one not given takes the checkpoint's
/// value; without `--resume`, a flag not given takes the default shown.
#[derive(Args)]
pub struct TrainArgs {
    /// Data folder with the IDX files [default: $FIRSTSPIKE_DATA or data/mnist; with --resume,
    /// the interrupted run's].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Name of the data set, recorded in the model (e.g. mnist, fashion) [default: mnist].
    #[arg(long)]
    dataset: Option<String>,
    #[arg(long, help = with_default("Layers, input first: sizes of fully connected layers (784-800-10), or an input map HxW[xC] with convolutions <channels>c<kernel>[s<stride>][p<padding>] (28x28-16c5s2-32c5s2-10)", dflt().arch.to_string()))]
    arch: Option<String>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Passes over the training set (with --resume, may differ from the checkpoint's, to train longer or shorter)", dflt().epochs))]
    epochs: Option<usize>,
    /// Use only the first N training images [default: all; with --resume, the checkpoint's].
    #[arg(long)]
    train_limit: Option<usize>,
    /// Use only the first N test images for the per-epoch test accuracy [default: all].
    #[arg(long)]
    test_limit: Option<usize>,
    /// Hold out the last N training images (after --train-limit) for validation: the
    /// per-epoch accuracy is then measured on them and the test set is not read at all; the
    /// model of the best epoch so far is kept as PREFIX.best.bin. Read the test set once, for
    /// the model you choose, with `eval --save-accuracy` [default: 0, none; with --resume, the
    /// checkpoint's].
    #[arg(long)]
    validation: Option<usize>,
    /// Do not read the test set at all: no per-epoch accuracy on it and none at the end (the
    /// data folder needs no test files). For the final run on every training image once the
    /// settings and the number of epochs have been chosen on a --validation split; then read
    /// the test set once, with `eval --save-accuracy`. The weights are those of the same run
    /// with the test set [with --resume, the checkpoint's].
    #[arg(long)]
    no_test: bool,
    #[arg(long, allow_negative_numbers = true, help = with_default("Seed of every random choice", dflt().seed))]
    seed: Option<u64>,
    /// Worker threads [default: all cores; with --resume, the checkpoint's]. The result does
    /// not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Samples per step", dflt().batch_size))]
    batch: Option<usize>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Adam step size", dflt().lr))]
    lr: Option<f64>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Step size factor per epoch", dflt().lr_decay))]
    lr_decay: Option<f64>,
    #[arg(long, allow_negative_numbers = true, help = with_default("K of the weight-sum cost", dflt().weight_sum_k))]
    weight_sum_k: Option<f64>,
    #[arg(long, allow_negative_numbers = true, help = with_default("L2 cost lambda", dflt().l2))]
    l2: Option<f64>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Weight W >= 0 of the decision cost W t_g / tau_syn on the label output's spike time t_g, added to the loss: rewards an early decision (0 = off)", dflt().decision_cost))]
    decision_cost: Option<f64>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Gaussian jitter of input times while training (tau_syn units)", dflt().jitter_sd))]
    jitter: Option<f64>,
    #[arg(long, help = with_default("Data augmentation: move each training image by up to N pixels in x and y, drawn anew each time it is used", dflt().shift))]
    shift: Option<usize>,
    /// Data augmentation: mirror each training image left-right with probability 1/2, drawn
    /// anew each time it is used (for classes that look the same mirrored, such as clothes; not
    /// digits) [default: off; with --resume, the checkpoint's].
    #[arg(long)]
    flip: bool,
    #[arg(long, value_enum, help = with_default("Input encoding", value_name(dflt().encoding.kind)))]
    encoding: Option<EncodingKind>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Latest input time (black pixels), tau_syn units", dflt().encoding.t_max))]
    t_max: Option<f64>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Pixels below this intensity send no spike", dflt().encoding.silent_below))]
    silent_below: Option<u8>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Initial mean weight sum per neuron, in thresholds", dflt().init_mean))]
    init_mean: Option<f64>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Initial weight spread (sd x sqrt(n_in))", dflt().init_sd))]
    init_sd: Option<f64>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Floor on S - theta in gradients (threshold units)", dflt().denom_floor))]
    denom_floor: Option<f64>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Clip each batch's loss-gradient L2 norm to this (0 = off)", dflt().clip_norm))]
    clip: Option<f64>,
    #[arg(long, visible_alias = "loss", allow_negative_numbers = true, help = with_default("The loss: a softmax over -z, z = exp((t - origin)/tau), with the origin input (t = 0, the paper's loss), first-output (the earliest output spike) or a fixed time in tau_syn units within ±100 (e.g. 1.5: every z divided by exp(1.5), a warmer softmax; negative: colder); or time:T, a softmax over the spike times themselves, -t/(T tau), T in 0.001..=100 tau_syn (e.g. time:0.2)", dflt().loss_origin))]
    loss_origin: Option<LossOrigin>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Weight averaging: evaluate and save the exponential moving average of the weights over the steps with this factor (e.g. 0.999, about the last 1,000 steps) instead of the last step's weights; training itself is unchanged (0 = off)", dflt().average))]
    average: Option<f64>,
    #[arg(long, value_enum, help = with_default("Engine producing the forward traces that the backward pass replays", value_name(dflt().engine)))]
    engine: Option<EngineKind>,
    #[arg(long, help = with_default("Quantisation-aware training: forward and backward passes with every layer's weights quantised to this many bits (per layer, symmetric), updates to the full-precision weights; the model is saved quantised (0 = off)", dflt().quantise_bits))]
    quantise_bits: Option<u32>,
    /// Knowledge distillation from a teacher: a .npy file of its logits (float32 or float64),
    /// one row per training image as loaded (the first --train-limit images, validation ones
    /// included) in the training files' order, one column per output; e.g. written by
    /// `tools/relu-cnn-reference.py --save-logits`. The loss becomes (1 - a) CE + a T^2
    /// KL(softmax(teacher/T) || softmax(student/T)), the student's logits being those the
    /// first-spike loss uses (-z, or -t/(T tau) for time:T). With --resume, a new path for the
    /// same file (checked by its sha256) [default: none].
    #[arg(long, value_name = "FILE.npy")]
    teacher: Option<PathBuf>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Weight a in [0, 1] of the distillation term (needs --teacher)", DISTILL_WEIGHT))]
    distill_weight: Option<f64>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Temperature T > 0 of the distillation softmaxes (needs --teacher)", DISTILL_TEMPERATURE))]
    distill_temperature: Option<f64>,
    /// Gain control: a penalty on log(S - theta) outside the band LOW:HIGH, for every neuron
    /// that fires (S - theta at its crossing, potentials in units of theta, LOW above
    /// --denom-floor; e.g. 0.1:10), added to the loss: weight x the sum over layers of each
    /// layer's mean of (ln LOW - ln(S - theta))^2 below the band and (ln(S - theta) - ln HIGH)^2
    /// above it [default: off; with --resume, the checkpoint's].
    #[arg(long, value_name = "LOW:HIGH", value_parser = parse_gain_band)]
    gain_band: Option<(f64, f64)>,
    #[arg(long, allow_negative_numbers = true, help = with_default("Weight of the gain penalty (needs --gain-band)", GAIN_WEIGHT))]
    gain_weight: Option<f64>,
    /// Start from the ReLU twin's weights: an .npz of its layers (layer0.weight, layer0.bias,
    /// ... in PyTorch's layouts, as `tools/relu-cnn-reference.py --save-weights` writes it),
    /// each layer times one scale chosen on the first --relu-images training images so that
    /// the first output spike is the twin's largest logit as often as possible; the twin's
    /// biases are dropped. The mapped net's accuracy is printed before the first epoch and
    /// recorded in the model card (train.relu_start) [default: drawn weights].
    #[arg(long, value_name = "FILE.npz", conflicts_with_all = ["resume", "init"])]
    init_from_relu: Option<PathBuf>,
    #[arg(long, value_enum, requires = "init_from_relu", help = with_default("How --init-from-relu chooses each layer's scale: search (each layer's scale in turn, from norm's) or norm (the layers' 99th percentiles of activation, one global factor searched)", ScaleRule::Search))]
    relu_scale: Option<ScaleRule>,
    #[arg(long, requires = "init_from_relu", help = with_default("Training images --init-from-relu chooses its scales on (the first ones, all if there are fewer; never validation images)", RELU_IMAGES))]
    relu_images: Option<usize>,
    /// Start from this model's weights (and its architecture, neuron parameters and encoding)
    /// instead of drawn ones: fine-tuning, e.g. with --quantise-bits.
    #[arg(long, value_name = "MODEL", conflicts_with = "resume")]
    init: Option<PathBuf>,
    /// Output prefix: writes PREFIX.bin, PREFIX.json, PREFIX.log.jsonl, PREFIX.curve.svg, PREFIX.gain.svg (the accuracy curve beside the gain of each layer) and the checkpoint
    /// PREFIX.ckpt (the one before it kept as PREFIX.ckpt.prev).
    #[arg(long)]
    out: PathBuf,
    /// Continue the run saved in this checkpoint (a PREFIX.ckpt) with its settings, data and
    /// position: the result is bit for bit that of a run never stopped.
    #[arg(long, value_name = "CHECKPOINT")]
    resume: Option<PathBuf>,
    /// Write the checkpoint at every epoch end and at least every MINUTES minutes.
    #[arg(
        long,
        value_name = "MINUTES",
        default_value_t = 10.0,
        allow_negative_numbers = true
    )]
    checkpoint_every: f64,
    /// Print one JSON object at the end.
    #[arg(long)]
    json: bool,
}

/// `--gain-band LOW:HIGH`: two numbers (checked against each other and the floor by the
/// settings' validation).
fn parse_gain_band(s: &str) -> std::result::Result<(f64, f64), String> {
    let nums = s
        .split_once(':')
        .and_then(|(a, b)| Some((a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?)));
    nums.ok_or_else(|| {
        format!("expected two potentials LOW:HIGH in units of theta (e.g. 0.1:10), got {s:?}")
    })
}

/// The defaults of the settings flags.
fn dflt() -> TrainConfig {
    TrainConfig::default()
}

/// Help text naming the default, taken from the library so that it cannot go stale.
fn with_default(what: &str, v: impl std::fmt::Display) -> String {
    format!("{what} [default: {v}]")
}

/// The command-line spelling of a value of a library enum.
fn value_name(v: impl ValueEnum) -> String {
    v.to_possible_value()
        .map_or_else(String::new, |p| p.get_name().to_string())
}

/// Raised by the Ctrl-C handler; the training loop stops before its next batch.
static STOP: AtomicBool = AtomicBool::new(false);

/// A setting as the command line spells it (`--loss time:0.2`, `--encoding zlinear`), for
/// messages.
trait AsFlag {
    fn as_flag(&self) -> String;
}

macro_rules! as_flag_by_display {
    ($($t:ty),*) => {$(
        impl AsFlag for $t {
            fn as_flag(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
as_flag_by_display!(u8, u32, u64, usize, f64, bool, LossOrigin, Arch);

impl AsFlag for EncodingKind {
    fn as_flag(&self) -> String {
        value_name(*self)
    }
}

impl AsFlag for EngineKind {
    fn as_flag(&self) -> String {
        value_name(*self)
    }
}

/// Applies flags to a configuration: each flag given replaces the field, or, when `strict`
/// (resuming), must equal it; disagreements are collected as messages naming the flag.
struct Apply {
    strict: bool,
    clashes: Vec<String>,
}

impl Apply {
    fn set<T: PartialEq + AsFlag>(&mut self, flag: &str, given: Option<T>, field: &mut T) {
        if let Some(v) = given {
            if self.strict && v != *field {
                self.clashes.push(format!(
                    "{flag} {} differs from the checkpoint's {}",
                    v.as_flag(),
                    field.as_flag()
                ));
            } else {
                *field = v;
            }
        }
    }
}

/// The run's settings: the flags over the defaults, or over the checkpoint's settings with
/// `--resume` (where only `--epochs` and `--threads` may differ).
fn settings(a: &TrainArgs, base: &TrainConfig, resuming: bool) -> Result<TrainConfig> {
    let mut c = base.clone();
    let mut ap = Apply {
        strict: resuming,
        clashes: Vec::new(),
    };
    let arch = a.arch.as_deref().map(Arch::parse).transpose()?;
    ap.set("--arch", arch, &mut c.arch);
    if let Some(e) = a.epochs {
        c.epochs = e;
    }
    ap.set("--seed", a.seed, &mut c.seed);
    ap.set("--validation", a.validation, &mut c.validation);
    if let Some(t) = a.threads {
        c.threads = t;
    }
    ap.set("--batch", a.batch, &mut c.batch_size);
    ap.set("--lr", a.lr, &mut c.lr);
    ap.set("--lr-decay", a.lr_decay, &mut c.lr_decay);
    ap.set("--weight-sum-k", a.weight_sum_k, &mut c.weight_sum_k);
    ap.set("--l2", a.l2, &mut c.l2);
    ap.set("--decision-cost", a.decision_cost, &mut c.decision_cost);
    ap.set("--jitter", a.jitter, &mut c.jitter_sd);
    ap.set("--shift", a.shift, &mut c.shift);
    ap.set("--flip", a.flip.then_some(true), &mut c.flip);
    ap.set("--encoding", a.encoding, &mut c.encoding.kind);
    ap.set("--t-max", a.t_max, &mut c.encoding.t_max);
    ap.set(
        "--silent-below",
        a.silent_below,
        &mut c.encoding.silent_below,
    );
    ap.set("--init-mean", a.init_mean, &mut c.init_mean);
    ap.set("--init-sd", a.init_sd, &mut c.init_sd);
    ap.set("--denom-floor", a.denom_floor, &mut c.denom_floor);
    ap.set("--clip", a.clip, &mut c.clip_norm);
    ap.set("--loss-origin", a.loss_origin, &mut c.loss_origin);
    ap.set("--engine", a.engine, &mut c.engine);
    ap.set("--average", a.average, &mut c.average);
    ap.set("--quantise-bits", a.quantise_bits, &mut c.quantise_bits);
    distill_settings(a, &mut c, &mut ap)?;
    gain_settings(a, &mut c, &mut ap)?;
    if let Some(f) = &a.init_from_relu {
        // clap keeps it from --resume.
        c.relu_start = Some(ReluStart {
            file: f.to_string_lossy().into_owned(),
            sha256: String::new(),
            rule: a.relu_scale.unwrap_or(ScaleRule::Search),
            images: a.relu_images.unwrap_or(RELU_IMAGES),
            scales: Vec::new(),
            agreement: 0.0,
            relu_accuracy: 0.0,
            mapped_accuracy: 0.0,
            mapped_validation_accuracy: None,
            largest_bias_dropped: 0.0,
        });
    }
    if !ap.clashes.is_empty() {
        return Err(Error::setting(
            "resume",
            format!(
                "{}: a resumed run keeps the settings it started with; drop the flag, or start a new run without --resume",
                ap.clashes.join("; ")
            ),
        ));
    }
    Ok(c)
}

/// `--teacher`, `--distill-weight` and `--distill-temperature` onto `c`: a new run distils
/// with `--teacher`, and the other two need it; a resumed run keeps its weight and
/// temperature, and takes a `--teacher` path only if it distils (the file is checked by
/// content when the trainer loads it).
fn distill_settings(a: &TrainArgs, c: &mut TrainConfig, ap: &mut Apply) -> Result<()> {
    let teacher = a.teacher.as_ref().map(|p| p.to_string_lossy().into_owned());
    match (&mut c.distill, teacher) {
        (Some(d), t) if ap.strict => {
            if let Some(t) = t {
                d.teacher = t;
            }
            ap.set("--distill-weight", a.distill_weight, &mut d.weight);
            ap.set(
                "--distill-temperature",
                a.distill_temperature,
                &mut d.temperature,
            );
        }
        (None, Some(_)) if ap.strict => ap
            .clashes
            .push("--teacher, but the checkpoint's run does not distil".into()),
        (_, Some(t)) => {
            if t.is_empty() {
                return Err(Error::setting(
                    "teacher",
                    "--teacher needs a file name (FILE.npy)",
                ));
            }
            c.distill = Some(Distill {
                teacher: t,
                teacher_sha256: String::new(),
                weight: a.distill_weight.unwrap_or(DISTILL_WEIGHT),
                temperature: a.distill_temperature.unwrap_or(DISTILL_TEMPERATURE),
            });
        }
        (_, None) => {
            if let Some(flag) = [
                ("--distill-weight", a.distill_weight),
                ("--distill-temperature", a.distill_temperature),
            ]
            .iter()
            .find_map(|(f, v)| v.map(|_| *f))
            {
                if ap.strict {
                    ap.clashes
                        .push(format!("{flag}, but the checkpoint's run does not distil"));
                } else {
                    return Err(Error::setting(
                        "teacher",
                        format!("{flag} sets how to distil from a teacher: give the teacher's logits with --teacher FILE.npy"),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// `--gain-band` and `--gain-weight` onto `c`: a new run has gain control with
/// `--gain-band`, and `--gain-weight` needs it; a resumed run keeps its band and weight (a flag
/// given must repeat them).
fn gain_settings(a: &TrainArgs, c: &mut TrainConfig, ap: &mut Apply) -> Result<()> {
    match (&mut c.gain_band, a.gain_band) {
        (Some(g), band) if ap.strict => {
            if let Some((lo, hi)) = band {
                if (lo, hi) != (g.low, g.high) {
                    ap.clashes.push(format!(
                        "--gain-band {lo}:{hi} differs from the checkpoint's {}:{}",
                        g.low, g.high
                    ));
                }
            }
            ap.set("--gain-weight", a.gain_weight, &mut g.weight);
        }
        (None, Some(_)) if ap.strict => ap
            .clashes
            .push("--gain-band, but the checkpoint's run has no gain control".into()),
        (_, Some((low, high))) => {
            c.gain_band = Some(GainBand {
                low,
                high,
                weight: a.gain_weight.unwrap_or(GAIN_WEIGHT),
            })
        }
        (_, None) if a.gain_weight.is_some() => {
            if ap.strict {
                ap.clashes
                    .push("--gain-weight, but the checkpoint's run has no gain control".into());
            } else {
                return Err(Error::setting(
                    "gain_band",
                    "--gain-weight sets the weight of the gain penalty: give its band with --gain-band LOW:HIGH (e.g. 0.1:10)",
                ));
            }
        }
        (_, None) => {}
    }
    Ok(())
}

/// The line `train` prints about a ReLU start before the first epoch.
fn relu_start_line(r: &ReluStart) -> String {
    let scales: Vec<String> = r.scales.iter().map(|s| format!("{s:.4}")).collect();
    let val = r.mapped_validation_accuracy.map_or(String::new(), |v| {
        format!(", validation acc {:.2} % before fine-tuning", 100.0 * v)
    });
    format!(
        "ReLU start ({}): scales {} ({}); on {} training images the first output spike is the twin's largest logit on {:.2} %, accuracy {:.2} % (the twin {:.2} %){val}; biases dropped (largest |b| {:.3})",
        r.file,
        scales.join(", "),
        r.rule,
        r.images,
        100.0 * r.agreement,
        100.0 * r.mapped_accuracy,
        100.0 * r.relu_accuracy,
        r.largest_bias_dropped
    )
}

/// `--checkpoint-every` as a duration.
fn checkpoint_interval(minutes: f64) -> Result<Duration> {
    let shown = if minutes.is_finite() && minutes.abs() >= 1e9 {
        format!("{minutes:e}")
    } else {
        minutes.to_string()
    };
    let bad = |why: &str| {
        Error::setting(
            "checkpoint_every",
            format!("--checkpoint-every {shown}: {why} (e.g. --checkpoint-every 10)"),
        )
    };
    if !(minutes.is_finite() && minutes > 0.0) {
        return Err(bad("must be a number of minutes > 0"));
    }
    Duration::try_from_secs_f64(minutes * 60.0).map_err(|_| bad("too large"))
}

/// Refuses an `--out` that names a folder rather than a file prefix.
fn check_out_prefix(out: &Path) -> Result<()> {
    let s = out.as_os_str().to_string_lossy();
    if out.is_dir() || s.is_empty() || s.ends_with('/') || s.ends_with(std::path::MAIN_SEPARATOR) {
        return Err(Error::setting("out", format!(
            "--out '{s}' names a folder; give a file prefix inside it, e.g. --out {}/run1 (writes run1.bin, run1.json, run1.log.jsonl, run1.ckpt)",
            s.trim_end_matches(['/', std::path::MAIN_SEPARATOR])
        )));
    }
    Ok(())
}

/// Loads a split keeping the first `limit` images, with messages naming `flag`. `limit` may
/// also come from a checkpoint (`from_ckpt`), in which case a smaller set is left whole for
/// the checkpoint's data check to refuse.
fn load_limited(
    data: &Option<PathBuf>,
    split: Split,
    limit: Option<usize>,
    (name, flag): (&'static str, &str),
    from_ckpt: bool,
) -> Result<Dataset> {
    if limit == Some(0) {
        return Err(Error::setting(name, format!("{flag} must be at least 1")));
    }
    let mut ds = load_split(data, split, None)?;
    match limit {
        Some(n) if n < ds.len() => ds.truncate(n)?,
        Some(n) if n > ds.len() && !from_ckpt => {
            return Err(Error::setting(
                name,
                format!(
                    "{flag} {n} is larger than the data set ({} images); use at most {}",
                    ds.len(),
                    ds.len()
                ),
            ))
        }
        _ => {}
    }
    Ok(ds)
}

/// A data-set size flag with `--resume`: given, it must match the checkpoint's; not given, it
/// takes the checkpoint's.
fn resume_limit(
    flag: &str,
    given: Option<usize>,
    ckpt: Option<u64>,
    errs: &mut Vec<String>,
) -> (Option<usize>, bool) {
    match (given, ckpt) {
        (Some(g), Some(c)) if g as u64 != c => {
            errs.push(format!(
                "{flag} {g} differs from the checkpoint's {c} images"
            ));
            (given, false)
        }
        (Some(_), _) => (given, false),
        (None, c) => (c.map(|c| c as usize), true),
    }
}

/// Ctrl-C (and SIGTERM): the first asks the loop to stop and checkpoint, the second quits.
fn install_stop_handler() {
    let res = ctrlc::set_handler(|| {
        if STOP.swap(true, Ordering::SeqCst) {
            eprintln!("\nsecond interrupt: quitting now; the last checkpoint written is kept");
            std::process::exit(130);
        }
        eprintln!("\ninterrupt: finishing the current batch, then writing a checkpoint (Ctrl-C again quits at once)");
    });
    if let Err(e) = res {
        eprintln!("warning: cannot catch Ctrl-C ({e}); an interruption will lose the work since the last checkpoint");
    }
}

/// What a train command will do, settled from its flags and, with `--resume` or `--init`,
/// the checkpoint or starting model.
struct Plan {
    every: Duration,
    ckpt: Option<Checkpoint>,
    start_model: Option<Model>,
    /// (train limit, whether the flag fixed it, test limit, whether the flag fixed it).
    limits: (Option<usize>, bool, Option<usize>, bool),
    /// The test set is not read (`--no-test`, `--validation`, or a checkpoint of such a run).
    no_test: bool,
    dataset: String,
    data: Option<PathBuf>,
    cfg: TrainConfig,
}

/// The files a run writes: `PREFIX.bin`, `PREFIX.log.jsonl`, `PREFIX.ckpt`.
struct Outputs {
    bin: PathBuf,
    log: PathBuf,
    ckpt: PathBuf,
}

/// Parses: the flags over the defaults, the checkpoint's settings (`--resume`) or the
/// starting model's network (`--init`); checks them against each other.
fn plan(a: &TrainArgs) -> Result<Plan> {
    let every = checkpoint_interval(a.checkpoint_every)?;
    check_out_prefix(&a.out)?;
    let mut defaults = TrainConfig {
        threads: default_threads(),
        ..TrainConfig::default()
    };
    let ckpt = a.resume.as_deref().map(Checkpoint::load).transpose()?;
    // Fine-tuning starts from a model's weights, architecture, neuron parameters and encoding.
    let start_model = a.init.as_deref().map(Model::load).transpose()?;
    if let Some(m) = &start_model {
        defaults.arch = Arch::of_layers(&m.layers);
        defaults.params = m.params;
        defaults.encoding = m.encoding;
    }
    let mut limits = (a.train_limit, false, a.test_limit, false);
    let mut dataset = a.dataset.clone().unwrap_or_else(|| "mnist".into());
    let mut no_test = a.no_test;
    if let Some(c) = &ckpt {
        // A checkpoint of a run without the test set resumes without it.
        no_test = c.test_data.is_none();
        defaults = c.config.clone();
        let mut errs = Vec::new();
        let (l, lf) = resume_limit(
            "--train-limit",
            a.train_limit,
            Some(c.train_data.samples),
            &mut errs,
        );
        let (t, tf) = resume_limit(
            "--test-limit",
            a.test_limit,
            c.test_data.as_ref().map(|d| d.samples),
            &mut errs,
        );
        limits = (l, lf, t, tf);
        match &a.dataset {
            Some(d) if *d != c.dataset => errs.push(format!(
                "--dataset {d} differs from the checkpoint's {}",
                c.dataset
            )),
            _ => dataset = c.dataset.clone(),
        }
        if a.no_test && !no_test {
            errs.push("--no-test, but the checkpoint's run reads the test set".into());
        }
        if !errs.is_empty() {
            return Err(Error::setting(
                "resume",
                format!(
                    "{}: a resumed run uses the data it started with; drop the flag, or start a new run without --resume",
                    errs.join("; ")
                ),
            ));
        }
    }
    // With --resume and no --data, the folder the interrupted run read (checked by content).
    let data = a.data.clone().or_else(|| {
        ckpt.as_ref()
            .filter(|c| !c.data_dir.is_empty())
            .map(|c| PathBuf::from(&c.data_dir))
    });
    let cfg = settings(a, &defaults, ckpt.is_some())?;
    cfg.validate()?;
    // A new run reads no test set with --no-test, nor with a validation split (it measures
    // nothing on it); a resumed one follows its checkpoint (above).
    if ckpt.is_none() {
        no_test = a.no_test || cfg.validation > 0;
    }
    if no_test && a.test_limit.is_some() {
        let why = if ckpt.is_some() {
            "the checkpoint's run"
        } else if a.no_test {
            "--no-test"
        } else {
            "a run with --validation"
        };
        return Err(Error::setting(
            "test_limit",
            format!("--test-limit sets how much of the test set to read, but {why} reads none of it: drop --test-limit"),
        ));
    }
    Ok(Plan {
        every,
        ckpt,
        start_model,
        limits,
        no_test,
        dataset,
        data,
        cfg,
    })
}

pub fn run(a: TrainArgs) -> Result<()> {
    let plan = plan(&a)?;
    let out = Outputs {
        bin: with_ext(&a.out, "bin"),
        log: with_ext(&a.out, "log.jsonl"),
        ckpt: with_ext(&a.out, "ckpt"),
    };
    // Fail on an unwritable output before hours of training, not after.
    let mut lines = String::new();
    for e in plan.ckpt.iter().flat_map(|c| &c.log) {
        lines.push_str(&serde_json::to_string(e).expect("json"));
        lines.push('\n');
    }
    fsio::write_atomic(&out.log, lines.as_bytes())?;
    let (train_set, test_set) = load_sets(&plan)?;
    let every = plan.every;
    if plan.ckpt.is_none() {
        if let Some(r) = &plan.cfg.relu_start {
            if !a.json {
                eprintln!(
                    "mapping the ReLU twin's weights ({}): choosing the scales on up to {} training images",
                    r.file, r.images
                );
            }
        }
    }
    let mut trainer = start_trainer(plan, &train_set, test_set.as_ref())?;
    // A ReLU start fills in its record when the trainer maps the weights.
    let cfg = trainer.config().clone();
    if let (Some(r), None) = (&cfg.relu_start, &a.resume) {
        eprintln!("{}", relu_start_line(r));
    }
    let run = Run {
        a: &a,
        cfg: &cfg,
        out: &out,
        train_len: train_set.len() - cfg.validation,
    };
    drive(
        &run,
        &mut trainer,
        (&train_set, test_set.as_ref()),
        &mut lines,
        every,
    )?;
    report(&run, trainer, test_set.as_ref())
}

/// The training and test sets the plan asks for (no test set with `--no-test` or
/// `--validation`).
fn load_sets(plan: &Plan) -> Result<(Dataset, Option<Dataset>)> {
    let train_set = load_limited(
        &plan.data,
        Split::Train,
        plan.limits.0,
        ("train_limit", "--train-limit"),
        plan.limits.1,
    )?;
    let test_set = if plan.no_test {
        None
    } else {
        Some(load_limited(
            &plan.data,
            Split::Test,
            plan.limits.2,
            ("test_limit", "--test-limit"),
            plan.limits.3,
        )?)
    };
    Ok((train_set, test_set))
}

/// A new run, a fine-tuning run from the starting model, or the resumed one.
fn start_trainer<'d>(
    plan: Plan,
    train_set: &'d Dataset,
    test_set: Option<&'d Dataset>,
) -> Result<Trainer<'d>> {
    let cfg = &plan.cfg;
    let mut trainer = match plan.ckpt {
        None => match &plan.start_model {
            Some(m) => Trainer::from_model(cfg, m, train_set, test_set)?,
            None => Trainer::new(cfg, train_set, test_set)?,
        },
        Some(mut c) => {
            c.config.epochs = cfg.epochs;
            c.set_threads(cfg.threads);
            Trainer::resume(c, train_set, test_set)?
        }
    };
    trainer.set_dataset(&plan.dataset);
    let dir = resolve_data_dir(plan.data.as_deref());
    trainer.set_data_dir(&std::fs::canonicalize(&dir).unwrap_or(dir).to_string_lossy());
    Ok(trainer)
}

/// What `drive` and `report` share: the flags, the settings, the output files, the size of
/// the training set.
struct Run<'r> {
    a: &'r TrainArgs,
    cfg: &'r TrainConfig,
    out: &'r Outputs,
    train_len: usize,
}

/// Runs the training to its end with a progress bar, the per-epoch log and curve, a
/// checkpoint at every epoch end and every `every`, and Ctrl-C.
fn drive(
    run: &Run,
    trainer: &mut Trainer,
    sets: (&Dataset, Option<&Dataset>),
    lines: &mut String,
    every: Duration,
) -> Result<()> {
    let (a, cfg) = (run.a, run.cfg);
    let ckpt_path = &run.out.ckpt;
    let bar = progress_bar(run.train_len, "", a.json);
    bar.set_style(
        ProgressStyle::with_template(
            "epoch {prefix} [{bar:30}] {pos}/{len} {per_sec} eta {eta} {msg}",
        )
        .expect("template")
        .progress_chars("=> "),
    );
    let mut log_err = None;
    let mut last_ckpt: Option<(usize, usize)> = None;
    let mut warned: HashSet<(usize, usize)> = HashSet::new();
    install_stop_handler();
    let schedule = Schedule {
        checkpoint_every: Some(every),
        max_batches: None,
        stop: Some(&STOP),
    };
    let per_epoch = trainer.batches_per_epoch();
    let res = trainer.run(
        &schedule,
        |c| {
            c.save(ckpt_path)?;
            last_ckpt = Some((c.epoch, c.batch));
            if c.batch == 0 {
                keep_best(c, &a.out, sets)?;
            }
            Ok(())
        },
        |p| match p {
            Progress::Batch { epoch, done, .. } => {
                bar.set_prefix(format!("{epoch}/{}", cfg.epochs));
                bar.set_position(done as u64);
            }
            Progress::SilentLayer { epoch, batch, layer, layers, neurons } => {
                // Once per layer and epoch: a dead layer stays dead for many batches.
                if warned.insert((epoch, layer)) {
                    let which = if layer == layers { "the output layer".to_string() } else { format!("hidden layer {layer}") };
                    bar.suspend(|| {
                        eprintln!(
                            "warning: epoch {epoch}, batch {batch}: no neuron of {which} ({neurons} neurons) fired on any sample of the batch, so it passes no gradient; if this persists, try a larger --init-mean or --weight-sum-k"
                        )
                    });
                }
            }
            Progress::Epoch(e) => {
                // suspend() prints whether or not the bar is drawn (stderr not a terminal).
                bar.suspend(|| eprintln!("{}", epoch_line(e)));
                if let Err(err) = write_epoch(run, e, lines) {
                    log_err.get_or_insert(err);
                }
                bar.reset();
            }
        },
    );
    bar.finish_and_clear();
    run_end(res, ckpt_path, last_ckpt, per_epoch)?;
    log_err.map_or(Ok(()), Err)
}

/// At an epoch end of a run with a validation split: when the epoch just finished has the
/// best validation accuracy so far (strictly better than every earlier epoch), its model is
/// written to `PREFIX.best.bin` (and `.json`), so that the stopping epoch can be chosen on
/// validation without training again. Its test accuracy is not measured (the test set is
/// read once, for the model the user picks).
fn keep_best(
    c: &Checkpoint,
    out: &Path,
    (train, test): (&Dataset, Option<&Dataset>),
) -> Result<()> {
    let v: Vec<f64> = c.log.iter().filter_map(|e| e.validation_accuracy).collect();
    let Some((&last, before)) = v.split_last() else {
        return Ok(());
    };
    if before.iter().any(|&b| b >= last) {
        return Ok(());
    }
    let mut model = Trainer::resume(c.clone(), train, test)?.finish().model;
    model.meta.validation_accuracy = Some(last);
    model.meta.validation_samples = c.config.validation;
    model.save(&best_prefix(out))?;
    Ok(())
}

/// `PREFIX.best`, where `keep_best` writes.
fn best_prefix(out: &Path) -> PathBuf {
    with_ext(out, "best")
}

/// The line `train` prints after each epoch.
fn epoch_line(e: &EpochLog) -> String {
    let held_out = match (e.validation_accuracy, e.test_accuracy) {
        (Some(v), _) => format!("validation acc {:.2} %", 100.0 * v),
        (None, Some(t)) => format!("test acc {:.2} %", 100.0 * t),
        (None, None) => "no held-out images".into(),
    };
    let gain: Vec<String> = e
        .gain
        .iter()
        .map(|g| {
            format!(
                "{:.3}/{:.3} ({:.1} % floored)",
                g.quantiles[1],
                g.quantiles[2],
                100.0 * g.floored as f64 / g.fired.max(1) as f64
            )
        })
        .collect();
    let gain = if gain.is_empty() {
        String::new()
    } else {
        format!(", S - theta p10/p50 per layer {}", gain.join(", "))
    };
    format!(
        "epoch {:>3}: loss {:.4}, train acc {:.2} %, {held_out}, {:.1} s, lr {:.2e}, no output spike {}, floored {}, too late {}{gain}",
        e.epoch,
        e.train_loss,
        100.0 * e.train_accuracy,
        e.seconds,
        e.lr,
        e.no_output_spike,
        e.floored,
        e.too_late
    )
}

/// Appends epoch `e` to the JSON-lines log `lines` and rewrites the log and the accuracy
/// curve beside the model.
fn write_epoch(run: &Run, e: &EpochLog, lines: &mut String) -> Result<()> {
    lines.push_str(&serde_json::to_string(e).expect("json"));
    lines.push('\n');
    fsio::write_atomic(&run.out.log, lines.as_bytes())?;
    let logs = super::curve::parse_log(lines);
    let title = plot::curve_title(&plot::model_name(&run.a.out), Some(&run.cfg.arch.sizes()));
    let svg = plot::accuracy_curve(&title, &super::curve::accuracies(&logs));
    fsio::write_atomic(&with_ext(&run.a.out, "curve.svg"), svg.as_bytes())?;
    let both = super::curve::curve_and_gain(&title, &logs, run.cfg.denom_floor);
    fsio::write_atomic(&with_ext(&run.a.out, "gain.svg"), both.as_bytes())
}

/// How a run ended, as the command reports it: a stop by Ctrl-C names the checkpoint to
/// resume from (exit 130), a divergence says which checkpoint, if any, is the last good one.
fn run_end(
    res: Result<RunEnd>,
    ckpt_path: &Path,
    last_ckpt: Option<(usize, usize)>,
    per_epoch: usize,
) -> Result<()> {
    match res {
        Ok(RunEnd::Finished) => Ok(()),
        // The hint (see hint.rs) gives the command that continues from the checkpoint.
        Ok(RunEnd::Stopped { epoch, batch }) => Err(Error::Interrupted {
            checkpoint: Some(ckpt_path.to_path_buf()),
            what: format!("stopped at epoch {epoch}, batch {batch} of {per_epoch}"),
        }),
        Err(Error::Diverged { epoch, batch, what }) => {
            let kept = match last_ckpt {
                Some((e, b)) => format!(
                    "the last good checkpoint, {} (epoch {e}, batch {b}), is kept",
                    ckpt_path.display()
                ),
                None => "no checkpoint had been written yet".into(),
            };
            Err(Error::Diverged {
                epoch,
                batch,
                what: format!("{what} ({kept})"),
            })
        }
        Err(e) => Err(e),
    }
}

/// Saves the trained model and says what was done. Without a validation split the model is
/// evaluated on the test set, unless the run has none (`--no-test`). With a validation split,
/// the test set is not read at all: the user picks a
/// model on validation accuracy (this run's `PREFIX.best.bin`, or one of several runs) and
/// reads the test set once for that model, with `eval --save-accuracy`.
fn report(run: &Run, trainer: Trainer, test_set: Option<&Dataset>) -> Result<()> {
    let (a, cfg, train_len) = (run.a, run.cfg, run.train_len);
    let (bin, log_path, ckpt_path) = (&run.out.bin, &run.out.log, &run.out.ckpt);
    let out = trainer.finish();
    let mut model = out.model;
    let st = test_set.filter(|_| cfg.validation == 0).map(|test_set| {
        evaluate(
            &Net::<f64>::from_model(&model),
            &model.encoding,
            test_set,
            cfg.threads,
            NO_PROGRESS,
        )
    });
    if let Some(st) = &st {
        model.meta.test_accuracy = Some(st.accuracy());
        model.meta.test_samples = st.total;
    }
    // The best validation epoch (the first of equals), kept as PREFIX.best.bin.
    let best = out
        .log
        .iter()
        .filter_map(|e| e.validation_accuracy.map(|v| (e.epoch, v)))
        .fold(None, |b: Option<(usize, f64)>, (k, v)| match b {
            Some((_, bv)) if bv >= v => b,
            _ => Some((k, v)),
        });
    if let Some(v) = out.log.last().and_then(|e| e.validation_accuracy) {
        model.meta.validation_accuracy = Some(v);
        model.meta.validation_samples = cfg.validation;
    }
    let (bin_w, json_w) = model.save(&a.out)?;
    debug_assert_eq!(&bin_w, bin);
    let best_bin = best.map(|_| with_ext(&best_prefix(&a.out), "bin"));
    let n = train_len * cfg.epochs;
    if a.json {
        print_json(&json!({
            "model": bin_w,
            "card": json_w,
            "log": log_path,
            "checkpoint": ckpt_path,
            "resumed_from": a.resume,
            "epochs": cfg.epochs,
            "train_seconds": out.train_seconds,
            "samples_per_second": n as f64 / out.train_seconds,
            "test_accuracy": st.as_ref().map(|s| s.accuracy()),
            "test_samples": st.as_ref().map_or(0, |s| s.total),
            "no_output_spike": st.as_ref().map(|s| s.no_output_spike),
            "validation_accuracy": model.meta.validation_accuracy,
            "best_epoch": best.map(|b| b.0),
            "best_validation_accuracy": best.map(|b| b.1),
            "best_model": best_bin,
            "seed": cfg.seed,
            // The last epoch's gain per layer (every epoch's is in the log).
            "gain": out.log.last().map(|e| &e.gain),
            "relu_start": cfg.relu_start,
        }));
    } else {
        let held_out = match (&st, best) {
            (Some(st), _) => format!(
                "test accuracy {:.2} % on {} images",
                100.0 * st.accuracy(),
                st.total
            ),
            (None, Some((k, v))) => format!(
                "best validation accuracy {:.2} % at epoch {k}, kept as {}; the test set was not \
                 read: measure the model you choose once, with `firstspike eval --model MODEL.bin \
                 --save-accuracy`",
                100.0 * v,
                best_bin.as_ref().expect("a best epoch").display()
            ),
            (None, None) if cfg.validation == 0 => "the test set was not read (--no-test): \
                 measure the model once, with `firstspike eval --model MODEL.bin --save-accuracy`"
                .into(),
            (None, None) => "no epoch was validated".into(),
        };
        println!(
            "trained {} for {} epochs in {:.1} s ({:.0} samples/s); {held_out}; wrote {} and {}",
            model.arch_string(),
            cfg.epochs,
            out.train_seconds,
            n as f64 / out.train_seconds,
            bin_w.display(),
            json_w.display()
        );
    }
    Ok(())
}
