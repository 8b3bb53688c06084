//! `firstspike train`: trains with the analytic solver, logs every epoch, saves the model.

use super::common::{load_split, print_json, threads};
use clap::{Args, ValueEnum};
use firstspike::analytic::{evaluate, Net};
use firstspike::data::Split;
use firstspike::encoding::{Encoding, EncodingKind};
use firstspike::loss::LossOrigin;
use firstspike::model::{parse_arch, with_ext};
use firstspike::trace::EngineKind;
use firstspike::train::{train, Progress, TrainConfig};
use firstspike::{fsio, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum)]
enum Origin {
    /// z = exp(t/tau), t from the start of the input window.
    Input,
    /// z = exp((t - t_first)/tau), t_first the earliest output spike.
    FirstOutput,
}

#[derive(Clone, Copy, ValueEnum)]
enum Eng {
    /// The layer-by-layer analytic solver (f32).
    Analytic,
    /// The discrete-event engine (f64); its traces are replayed for the gradients.
    Event,
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    Linear,
    Zlinear,
}

/// Flags of `train`.
#[derive(Args)]
pub struct TrainArgs {
    /// Data folder with the IDX files [default: $FIRSTSPIKE_DATA or data/mnist].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Name of the data set, recorded in the model (e.g. mnist, fashion).
    #[arg(long, default_value = "mnist")]
    dataset: String,
    /// Layer sizes, input first.
    #[arg(long, default_value = "784-800-10")]
    arch: String,
    /// Passes over the training set.
    #[arg(long, default_value_t = 30)]
    epochs: usize,
    /// Use only the first N training images.
    #[arg(long)]
    limit: Option<usize>,
    /// Use only the first N test images for the per-epoch test accuracy.
    #[arg(long)]
    test_limit: Option<usize>,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Worker threads [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Samples per step.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Adam step size.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Step size factor per epoch.
    #[arg(long, default_value_t = 0.9)]
    lr_decay: f64,
    /// K of the weight-sum cost.
    #[arg(long, default_value_t = TrainConfig::default().weight_sum_k)]
    weight_sum_k: f64,
    /// L2 cost lambda.
    #[arg(long, default_value_t = 1e-4)]
    l2: f64,
    /// Gaussian jitter of input times while training (tau_syn units).
    #[arg(long, default_value_t = 0.0)]
    jitter: f64,
    /// Input encoding.
    #[arg(long, value_enum, default_value = "linear")]
    encoding: Kind,
    /// Latest input time (black pixels), tau_syn units.
    #[arg(long, default_value_t = Encoding::default().t_max)]
    t_max: f64,
    /// Pixels below this intensity send no spike.
    #[arg(long, default_value_t = 0)]
    silent_below: u8,
    /// Initial mean weight sum per neuron, in thresholds.
    #[arg(long, default_value_t = TrainConfig::default().init_mean)]
    init_mean: f64,
    /// Initial weight spread (sd x sqrt(n_in)).
    #[arg(long, default_value_t = TrainConfig::default().init_sd)]
    init_sd: f64,
    /// Floor on S - theta in gradients (threshold units).
    #[arg(long, default_value_t = TrainConfig::default().denom_floor)]
    denom_floor: f64,
    /// Clip each batch's loss-gradient L2 norm to this (0 = off).
    #[arg(long, default_value_t = TrainConfig::default().clip_norm)]
    clip: f64,
    /// Time origin of the loss's z = exp((t - origin)/tau).
    #[arg(long, value_enum, default_value = "first-output")]
    loss_origin: Origin,
    /// Engine producing the forward traces that the backward pass replays.
    #[arg(long, value_enum, default_value = "analytic")]
    engine: Eng,
    /// Output prefix: writes PREFIX.bin, PREFIX.json and PREFIX.log.jsonl.
    #[arg(long)]
    out: PathBuf,
    /// Print one JSON object at the end.
    #[arg(long)]
    json: bool,
}

pub fn run(a: TrainArgs) -> Result<()> {
    let cfg = TrainConfig {
        arch: parse_arch(&a.arch)?,
        epochs: a.epochs,
        batch_size: a.batch,
        lr: a.lr,
        lr_decay: a.lr_decay,
        weight_sum_k: a.weight_sum_k,
        l2: a.l2,
        jitter_sd: a.jitter,
        init_mean: a.init_mean,
        init_sd: a.init_sd,
        denom_floor: a.denom_floor,
        clip_norm: a.clip,
        loss_origin: match a.loss_origin {
            Origin::Input => LossOrigin::Input,
            Origin::FirstOutput => LossOrigin::FirstOutput,
        },
        engine: match a.engine {
            Eng::Analytic => EngineKind::Analytic,
            Eng::Event => EngineKind::Event,
        },
        seed: a.seed,
        threads: threads(a.threads)?,
        params: Default::default(),
        encoding: Encoding {
            kind: match a.encoding {
                Kind::Linear => EncodingKind::Linear,
                Kind::Zlinear => EncodingKind::ZLinear,
            },
            t_max: a.t_max,
            silent_below: a.silent_below,
        },
    };
    cfg.validate()?;
    // Fail on an unwritable output before hours of training, not after.
    let bin = with_ext(&a.out, "bin");
    let log_path = with_ext(&a.out, "log.jsonl");
    fsio::write_atomic(&log_path, b"")?;
    let train_set = load_split(&a.data, Split::Train, a.limit)?;
    let test_set = load_split(&a.data, Split::Test, a.test_limit)?;
    let bar = ProgressBar::new(train_set.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} {per_sec} eta {eta} {msg}")
            .expect("template")
            .progress_chars("=> "),
    );
    let mut lines = String::new();
    let mut log_err = None;
    let out = train(&cfg, &train_set, Some(&test_set), |p| match p {
        Progress::Batch { epoch, done, .. } => {
            bar.set_prefix(format!("{epoch}/{}", cfg.epochs));
            bar.set_position(done as u64);
        }
        Progress::Epoch(e) => {
            bar.println(format!(
                "epoch {:>3}: loss {:.4}, train acc {:.2} %, test acc {:.2} %, {:.1} s, lr {:.2e}, no output spike {}, floored {}, too late {}",
                e.epoch,
                e.train_loss,
                100.0 * e.train_accuracy,
                100.0 * e.test_accuracy.unwrap_or(f64::NAN),
                e.seconds,
                e.lr,
                e.no_output_spike,
                e.floored,
                e.too_late
            ));
            lines.push_str(&serde_json::to_string(e).expect("json"));
            lines.push('\n');
            if let Err(err) = fsio::write_atomic(&log_path, lines.as_bytes()) {
                log_err.get_or_insert(err);
            }
            bar.reset();
        }
    })?;
    bar.finish_and_clear();
    if let Some(e) = log_err {
        return Err(e);
    }
    let mut model = out.model;
    let st = evaluate(&Net::<f64>::from_model(&model), &model.encoding, &test_set, cfg.threads);
    model.meta.dataset = a.dataset.clone();
    model.meta.test_accuracy = Some(st.accuracy());
    model.meta.test_samples = st.total;
    let (bin_w, json_w) = model.save(&a.out)?;
    debug_assert_eq!(bin_w, bin);
    let n = train_set.len() * cfg.epochs;
    if a.json {
        print_json(&json!({
            "model": bin_w,
            "card": json_w,
            "log": log_path,
            "epochs": cfg.epochs,
            "train_seconds": out.train_seconds,
            "samples_per_second": n as f64 / out.train_seconds,
            "test_accuracy": st.accuracy(),
            "test_samples": st.total,
            "no_output_spike": st.no_output_spike,
            "seed": cfg.seed,
        }));
    } else {
        println!(
            "trained {} for {} epochs in {:.1} s ({:.0} samples/s); test accuracy {:.2} % on {} images; wrote {} and {}",
            model.arch_string(),
            cfg.epochs,
            out.train_seconds,
            n as f64 / out.train_seconds,
            100.0 * st.accuracy(),
            st.total,
            bin_w.display(),
            json_w.display()
        );
    }
    Ok(())
}
