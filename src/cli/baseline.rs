//! `firstspike baseline train`: trains the rate-coded baseline (a ReLU network), converts
//! and normalises it, checks the conversion and saves it: parse the flags, train, convert,
//! check, save, report. The comparison with a first-spike model is `compare`.

use super::common::{load_split, print_json, progress_bar, say_above, threads, JsonlLog};
use clap::{Args, Subcommand, ValueEnum};
use firstspike::data::{Dataset, Split};
use firstspike::model::with_ext;
use firstspike::network::Arch;
use firstspike::rate::compare::rate_curve;
use firstspike::rate::convert::{activation_scales, DEFAULT_PERCENTILE};
use firstspike::rate::model::{ConversionCheck, RateMeta, RateModel};
use firstspike::rate::relu::ReluNet;
use firstspike::rate::sim::{self, InputMode, SimConfig};
use firstspike::rate::train::{
    evaluate_relu, train_relu, Optimizer, ReluEpochLog, ReluEval, ReluTrainConfig,
};
use firstspike::{Error, Result};
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Flags of `baseline`.
#[derive(Args)]
pub struct BaselineArgs {
    #[command(subcommand)]
    cmd: BaselineCmd,
}

#[derive(Subcommand)]
enum BaselineCmd {
    /// Train the ReLU network, convert and normalise it, save PREFIX.bin and PREFIX.json.
    Train(BaselineTrainArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum Opt {
    /// Adam (beta1 0.9, beta2 0.999).
    Adam,
    /// SGD with momentum (--momentum).
    Sgd,
}

/// Flags of `baseline train`.
#[derive(Args)]
pub struct BaselineTrainArgs {
    /// Data folder with the IDX files [default: $FIRSTSPIKE_DATA or data/mnist].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Name of the data set, recorded in the model.
    #[arg(long, default_value = "mnist")]
    dataset: String,
    /// Architecture, as for 'firstspike train': layer sizes input first, or an input map and
    /// convolutions (e.g. 28x28-32c5s2p2-64c5s2p2-10).
    #[arg(long, default_value = "784-800-10")]
    arch: String,
    /// Passes over the training set.
    #[arg(long, default_value_t = ReluTrainConfig::default().epochs)]
    epochs: usize,
    /// Samples per step.
    #[arg(long, default_value_t = ReluTrainConfig::default().batch_size)]
    batch: usize,
    /// Step size.
    #[arg(long, default_value_t = ReluTrainConfig::default().lr)]
    lr: f64,
    /// Step size factor per epoch.
    #[arg(long, default_value_t = ReluTrainConfig::default().lr_decay)]
    lr_decay: f64,
    /// Optimiser.
    #[arg(long, value_enum, default_value = "adam")]
    optimizer: Opt,
    /// Momentum of SGD.
    #[arg(long, default_value_t = 0.9)]
    momentum: f64,
    /// Dropout probability of hidden units while training.
    #[arg(long, default_value_t = ReluTrainConfig::default().dropout)]
    dropout: f64,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Use only the first N training images [default: all].
    #[arg(long)]
    train_limit: Option<usize>,
    /// Use only the first N test images for the accuracies.
    #[arg(long)]
    test_limit: Option<usize>,
    /// Hold out the last N training images (after --train-limit) for validation: the
    /// per-epoch accuracy is then measured on them, and the test set is used once, at the end.
    #[arg(long, default_value_t = 0)]
    validation: usize,
    /// Percentile of the positive training activations that maps to one spike per step.
    #[arg(long, default_value_t = DEFAULT_PERCENTILE)]
    percentile: f64,
    /// Training images the normalisation scales are measured on (the first N).
    #[arg(long, default_value_t = 10_000)]
    norm_samples: usize,
    /// Steps of the check of the converted network (constant-current input, test set); 0 = skip.
    #[arg(long, default_value_t = 200)]
    check_steps: usize,
    /// Worker threads [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Output prefix: writes PREFIX.bin, PREFIX.json and PREFIX.log.jsonl (required, so that
    /// the shipped baseline models/rate-784-800-10 is only replaced on purpose).
    #[arg(long)]
    out: PathBuf,
    /// Print one JSON object at the end.
    #[arg(long)]
    json: bool,
}

pub fn run_baseline(a: BaselineArgs) -> Result<()> {
    match a.cmd {
        BaselineCmd::Train(t) => run_train(t),
    }
}

fn run_train(a: BaselineTrainArgs) -> Result<()> {
    let cfg = plan(&a)?;
    let log = JsonlLog::create(with_ext(&a.out, "log.jsonl"))?;
    let train = load_split(&a.data, Split::Train, a.train_limit)?;
    let test = load_split(&a.data, Split::Test, a.test_limit)?;
    let start = Instant::now();
    let (net, log) = train_logged(&cfg, &train, &test, log, a.json)?;
    let train_seconds = start.elapsed().as_secs_f64();
    let log_path = log.finish()?;
    let relu = evaluate_relu(&net, &test, cfg.threads);
    let mut model = convert(&a, &cfg, net, &train, &relu)?;
    if a.check_steps > 0 {
        let check = check_conversion(&model, &test, a.check_steps, cfg.threads, a.json)?;
        model.meta.conversion_check = Some(check);
    }
    let (bin, card) = model.save(&a.out)?;
    if a.json {
        print_json(&json!({
            "model": bin,
            "card": card,
            "log": log_path,
            "arch": model.net.arch(),
            "layers": model.net.arch_string(),
            "epochs": cfg.epochs,
            "seed": cfg.seed,
            "train_seconds": train_seconds,
            "relu_test_accuracy": relu.accuracy(),
            "test_samples": relu.total,
            "scales": model.scales,
            "percentile": a.percentile,
            "norm_samples": model.meta.norm_samples,
            "conversion_check": model.meta.conversion_check,
        }));
    } else {
        print_text(&cfg, &model, &relu, train_seconds);
        outln!("wrote {} and {}", bin.display(), card.display());
    }
    Ok(())
}

/// The training settings of the flags, checked, and the checks of the conversion flags.
fn plan(a: &BaselineTrainArgs) -> Result<ReluTrainConfig> {
    let cfg = ReluTrainConfig {
        arch: Arch::parse(&a.arch)?,
        epochs: a.epochs,
        batch_size: a.batch,
        lr: a.lr,
        lr_decay: a.lr_decay,
        optimizer: match a.optimizer {
            Opt::Adam => Optimizer::Adam,
            Opt::Sgd => Optimizer::Sgd {
                momentum: a.momentum,
            },
        },
        dropout: a.dropout,
        seed: a.seed,
        threads: threads(a.threads)?,
        validation: a.validation,
    };
    cfg.validate()?;
    if !(a.percentile > 0.0 && a.percentile <= 100.0) {
        return Err(Error::setting(
            "percentile",
            format!("--percentile must be in (0, 100], got {}", a.percentile),
        ));
    }
    if a.norm_samples == 0 {
        return Err(Error::setting(
            "norm_samples",
            "--norm-samples must be at least 1",
        ));
    }
    Ok(cfg)
}

/// Trains the ReLU network, printing each epoch on stderr and appending it to `log`.
fn train_logged(
    cfg: &ReluTrainConfig,
    train: &Dataset,
    test: &Dataset,
    mut log: JsonlLog,
    quiet: bool,
) -> Result<(ReluNet, JsonlLog)> {
    let bar = progress_bar(cfg.epochs, "epochs", quiet);
    bar.enable_steady_tick(Duration::from_millis(500));
    let net = train_relu(cfg, train, Some(test), |e| {
        bar.inc(1);
        say_above(&bar, &epoch_line(e));
        log.push(e);
    })?;
    bar.finish_and_clear();
    Ok((net, log))
}

/// One epoch as the stderr line says it.
fn epoch_line(e: &ReluEpochLog) -> String {
    let (what, acc) = match e.validation_accuracy {
        Some(v) => ("validation", v),
        None => ("test", e.test_accuracy.unwrap_or(f64::NAN)),
    };
    format!(
        "epoch {:>3}: loss {:.4}, train acc {:.2} %, {what} acc {:.2} %, {:.1} s, lr {:.2e}",
        e.epoch,
        e.train_loss,
        100.0 * e.train_accuracy,
        100.0 * acc,
        e.seconds,
        e.lr
    )
}

/// The rate model of the trained `net`: normalisation scales measured on the first
/// `--norm-samples` training images, and how it was made (`relu`: its test accuracy).
fn convert(
    a: &BaselineTrainArgs,
    cfg: &ReluTrainConfig,
    net: ReluNet,
    train: &Dataset,
    relu: &ReluEval,
) -> Result<RateModel> {
    let mut norm = train.clone();
    norm.truncate(a.norm_samples.min(train.len()))?;
    let scales = activation_scales(&net, &norm, a.percentile, cfg.threads)?;
    Ok(RateModel {
        net,
        scales,
        meta: RateMeta {
            dataset: a.dataset.clone(),
            train: Some(cfg.clone()),
            epochs_trained: cfg.epochs,
            relu_test_accuracy: Some(relu.accuracy()),
            test_samples: relu.total,
            percentile: a.percentile,
            norm_samples: norm.len(),
            conversion_check: None,
        },
    })
}

/// Runs the converted network on `test` with constant-current input for `steps` steps.
fn check_conversion(
    model: &RateModel,
    test: &Dataset,
    steps: usize,
    threads: usize,
    quiet: bool,
) -> Result<ConversionCheck> {
    let snet = model.spiking()?;
    let sc = SimConfig {
        steps,
        input: InputMode::Current,
        seed: 0,
    };
    let bar = progress_bar(test.len(), "conversion check", quiet);
    let runs = sim::simulate(&snet, test, &sc, threads, &|k| bar.inc(k))?;
    bar.finish_and_clear();
    let curve = rate_curve(&snet, &runs, &test.labels);
    Ok(ConversionCheck {
        input: "current".into(),
        steps,
        accuracy: *curve.accuracy.last().expect("steps > 0"),
        samples: test.len(),
    })
}

/// The text report, up to the files written.
fn print_text(cfg: &ReluTrainConfig, model: &RateModel, relu: &ReluEval, train_seconds: f64) {
    outln!(
        "trained ReLU {} for {} epochs in {:.1} s (seed {}); test accuracy {:.2} % on {} images",
        model.net.arch_string(),
        cfg.epochs,
        train_seconds,
        cfg.seed,
        100.0 * relu.accuracy(),
        relu.total
    );
    outln!(
        "normalisation scales (p{} of positive activations on {} training images): {:?}",
        model.meta.percentile,
        model.meta.norm_samples,
        model.scales
    );
    if let Some(c) = &model.meta.conversion_check {
        outln!(
            "converted network, constant-current input, T = {}: accuracy {:.2} % on {} images",
            c.steps,
            100.0 * c.accuracy,
            c.samples
        );
    }
}
