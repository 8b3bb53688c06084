//! `firstspike baseline train` and `firstspike compare`: the rate-coded baseline.

use super::common::{load_split, print_json, progress_bar, say_above, threads};
use clap::{Args, Subcommand, ValueEnum};
use firstspike::data::Split;
use firstspike::event::{EventNet, RunOptions};
use firstspike::model::{parse_arch, with_ext, Model};
use firstspike::rate::compare::{temporal_full_counts, AnnWork, Comparison, MATCH_TOLERANCE};
use firstspike::rate::convert::{activation_scales, DEFAULT_PERCENTILE};
use firstspike::rate::model::{ConversionCheck, RateMeta, RateModel};
use firstspike::rate::report::{self, operating_point_text, Context};
use firstspike::rate::sim::{self, InputMode, SimConfig};
use firstspike::rate::train::{evaluate_relu, train_relu, Optimizer, ReluTrainConfig};
use firstspike::rate::{compare::rate_curve, plot};
use firstspike::simulate::simulate;
use firstspike::{fsio, Error, Result};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;

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
    /// Layer sizes, input first.
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

#[derive(Clone, Copy, ValueEnum)]
enum Input {
    /// Poisson spike trains, rate proportional to the pixel.
    Poisson,
    /// Constant input currents, no input spikes.
    Current,
}

/// Flags of `compare`.
#[derive(Args)]
pub struct CompareArgs {
    /// First-spike model (NAME.bin written by 'firstspike train').
    #[arg(long)]
    temporal: PathBuf,
    /// Rate model (NAME.bin written by 'firstspike baseline train').
    #[arg(long, default_value = "models/rate-784-800-10.bin")]
    rate: PathBuf,
    /// Data folder with the IDX files [default: $FIRSTSPIKE_DATA or data/mnist].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Use only the first N test images [default: all].
    #[arg(long)]
    limit: Option<usize>,
    /// Time steps T of the rate simulation (accuracy is recorded at every step up to T).
    #[arg(long, default_value_t = 300)]
    steps: usize,
    /// Input drive of the rate network.
    #[arg(long, value_enum, default_value = "poisson")]
    input: Input,
    /// Poisson spikes per step of a white pixel, in (0, 1].
    #[arg(long, default_value_t = 1.0)]
    input_rate: f64,
    /// Seed of the Poisson inputs.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Worker threads [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Output prefix: writes PREFIX.md, PREFIX.csv and PREFIX.svg.
    #[arg(long, default_value = "traces/compare")]
    out: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run_baseline(a: BaselineArgs) -> Result<()> {
    match a.cmd {
        BaselineCmd::Train(t) => run_train(t),
    }
}

fn run_train(a: BaselineTrainArgs) -> Result<()> {
    let cfg = ReluTrainConfig {
        arch: parse_arch(&a.arch)?,
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
    // Fail on an unwritable output before training, not after.
    let log_path = with_ext(&a.out, "log.jsonl");
    fsio::write_atomic(&log_path, b"")?;
    let train = load_split(&a.data, Split::Train, a.train_limit)?;
    let test = load_split(&a.data, Split::Test, a.test_limit)?;
    let start = Instant::now();
    let mut lines = String::new();
    let mut log_err = None;
    let bar = progress_bar(cfg.epochs, "epochs", a.json);
    bar.enable_steady_tick(std::time::Duration::from_millis(500));
    let net = train_relu(&cfg, &train, Some(&test), |e| {
        bar.inc(1);
        say_above(
            &bar,
            &format!(
                "epoch {:>3}: loss {:.4}, train acc {:.2} %, test acc {:.2} %, {:.1} s, lr {:.2e}",
                e.epoch,
                e.train_loss,
                100.0 * e.train_accuracy,
                100.0 * e.test_accuracy.unwrap_or(f64::NAN),
                e.seconds,
                e.lr
            ),
        );
        lines.push_str(&serde_json::to_string(e).expect("json"));
        lines.push('\n');
        if let Err(err) = fsio::write_atomic(&log_path, lines.as_bytes()) {
            log_err.get_or_insert(err);
        }
    })?;
    bar.finish_and_clear();
    let train_seconds = start.elapsed().as_secs_f64();
    if let Some(e) = log_err {
        return Err(e);
    }
    let relu = evaluate_relu(&net, &test, cfg.threads);
    let mut norm = train.clone();
    norm.truncate(a.norm_samples.min(train.len()))?;
    let scales = activation_scales(&net, &norm, a.percentile, cfg.threads)?;
    let mut model = RateModel {
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
    };
    if a.check_steps > 0 {
        let snet = model.spiking()?;
        let sc = SimConfig {
            steps: a.check_steps,
            input: InputMode::Current,
            seed: 0,
        };
        let bar = progress_bar(test.len(), "conversion check", a.json);
        let runs = sim::simulate(&snet, &test, &sc, cfg.threads, &|k| bar.inc(k))?;
        bar.finish_and_clear();
        let curve = rate_curve(&snet, &runs, &test.labels);
        model.meta.conversion_check = Some(ConversionCheck {
            input: "current".into(),
            steps: a.check_steps,
            accuracy: *curve.accuracy.last().expect("steps > 0"),
            samples: test.len(),
        });
    }
    let (bin, card) = model.save(&a.out)?;
    let check = model.meta.conversion_check.clone();
    if a.json {
        print_json(&json!({
            "model": bin,
            "card": card,
            "log": log_path,
            "arch": model.net.arch(),
            "epochs": cfg.epochs,
            "seed": cfg.seed,
            "train_seconds": train_seconds,
            "relu_test_accuracy": relu.accuracy(),
            "test_samples": relu.total,
            "scales": model.scales,
            "percentile": a.percentile,
            "norm_samples": norm.len(),
            "conversion_check": check,
        }));
    } else {
        println!(
            "trained ReLU {} for {} epochs in {:.1} s (seed {}); test accuracy {:.2} % on {} images",
            model.net.arch_string(),
            cfg.epochs,
            train_seconds,
            cfg.seed,
            100.0 * relu.accuracy(),
            relu.total
        );
        println!(
            "normalisation scales (p{} of positive activations on {} training images): {:?}",
            a.percentile,
            norm.len(),
            model.scales
        );
        if let Some(c) = check {
            println!(
                "converted network, constant-current input, T = {}: accuracy {:.2} % on {} images",
                c.steps,
                100.0 * c.accuracy,
                c.samples
            );
        }
        println!("wrote {} and {}", bin.display(), card.display());
    }
    Ok(())
}

/// Checks that `prefix`'s folder exists, so that a long run does not end in a write error.
fn check_out_dir(prefix: &Path) -> Result<()> {
    let dir = match prefix.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if dir.is_dir() {
        Ok(())
    } else {
        Err(Error::io(
            prefix,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "output folder {} does not exist; create it first",
                    dir.display()
                ),
            ),
        ))
    }
}

pub fn run_compare(a: CompareArgs) -> Result<()> {
    let threads = threads(a.threads)?;
    let input = match a.input {
        Input::Poisson => InputMode::Poisson { rate: a.input_rate },
        Input::Current => InputMode::Current,
    };
    let cfg = SimConfig {
        steps: a.steps,
        input,
        seed: a.seed,
    };
    cfg.validate()?;
    check_out_dir(&a.out)?;
    let temporal = Model::load(&a.temporal)?;
    let rate = RateModel::load(&a.rate)?;
    let data = load_split(&a.data, Split::Test, a.limit)?;
    temporal.check_input_dim(data.dim())?;
    if rate.net.n_inputs() != data.dim() {
        return Err(Error::dimension(format!(
            "the rate model takes {} inputs but the images have {} pixels",
            rate.net.n_inputs(),
            data.dim()
        )));
    }
    let t0 = Instant::now();
    let enet = EventNet::from_model(&temporal)?.compile()?;
    let bar = progress_bar(2 * data.len(), "first-spike", a.json);
    let trep = simulate(
        &enet,
        &temporal.encoding,
        &data,
        RunOptions {
            until_decision: true,
        },
        threads,
        false,
        &|k| bar.inc(k),
    )?;
    let full = temporal_full_counts(&temporal, &data, threads, &|k| bar.inc(k))?;
    bar.finish_and_clear();
    let temporal_secs = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let snet = rate.spiking()?;
    let bar = progress_bar(data.len(), "rate-coded", a.json);
    let runs = sim::simulate(&snet, &data, &cfg, threads, &|k| bar.inc(k))?;
    bar.finish_and_clear();
    let rate_secs = t1.elapsed().as_secs_f64();
    let relu = evaluate_relu(&rate.net, &data, threads);
    let ann = AnnWork {
        accuracy: relu.accuracy(),
        dense_macs: rate.net.dense_macs(),
        sparse_macs_mean: relu.sparse_macs_mean,
    };
    let c = Comparison::new(
        &snet,
        &runs,
        &data.labels,
        &trep,
        &full,
        &temporal.arch(),
        ann,
    )
    .expect("steps >= 1");
    let input_text = match input {
        InputMode::Poisson { rate: r } => {
            format!(
                "Poisson, each pixel spikes with probability {r} x pixel/255 per step, seed {}",
                a.seed
            )
        }
        InputMode::Current => "constant current x . W' every step (no input spikes)".into(),
    };
    let ctx = Context {
        temporal_model: format!("{} ({})", a.temporal.display(), temporal.arch_string()),
        rate_model: format!("{} ({})", a.rate.display(), rate.net.arch_string()),
        rate_input: input_text.clone(),
    };
    let (md, csv, svg) = (
        with_ext(&a.out, "md"),
        with_ext(&a.out, "csv"),
        with_ext(&a.out, "svg"),
    );
    fsio::write_atomic(&md, report::markdown(&c, &ctx).as_bytes())?;
    fsio::write_atomic(&csv, report::csv(&c).as_bytes())?;
    let title = format!(
        "Rate-coded versus first-spike coding, {} test images",
        c.samples
    );
    fsio::write_atomic(&svg, plot::svg(&c, &title).as_bytes())?;
    let k = c.op.step - 1;
    let last = c.curve.steps() - 1;
    let tc = &c.temporal;
    if a.json {
        print_json(&json!({
            "samples": c.samples,
            "temporal": {
                "model": a.temporal,
                "arch": temporal.arch(),
                "accuracy": tc.accuracy,
                "no_output_spike": tc.no_output_spike,
                "spikes_per_inference": tc.spikes,
                "synaptic_events_per_inference": tc.synaptic_events,
                "spikes_per_layer": tc.spikes_per_layer,
                "spikes_per_inference_full_run": tc.spikes_full,
                "synaptic_events_per_inference_full_run": tc.synaptic_events_full,
                "spikes_per_layer_full_run": tc.spikes_per_layer_full,
                "decision_time_mean_tau_syn": tc.decision_time_mean,
                "counted": "spikes of all layers (inputs included) up to and including the first output spike",
                "wall_seconds": temporal_secs,
            },
            "rate": {
                "model": a.rate,
                "arch": rate.net.arch(),
                "relu_accuracy": ann.accuracy,
                "input": input_text,
                "seed": a.seed,
                "steps": c.op.step,
                "accuracy": c.curve.accuracy[k],
                "spikes_per_inference": c.curve.spikes[k],
                "synaptic_events_per_inference": c.curve.synaptic_events[k],
                "spikes_per_layer": c.curve.spikes_per_layer[k],
                "final_steps": last + 1,
                "final_accuracy": c.curve.accuracy[last],
                "final_spikes_per_inference": c.curve.spikes[last],
                "final_synaptic_events_per_inference": c.curve.synaptic_events[last],
                "oracle_stop": {
                    "decided": c.decisions.decided,
                    "decision_steps": c.decisions.steps,
                    "spikes_per_inference": c.decisions.spikes_mean,
                    "synaptic_events_per_inference": c.decisions.synaptic_events_mean,
                },
                "wall_seconds": rate_secs,
            },
            "operating_point": {
                "step": c.op.step,
                "accuracy": c.op.accuracy,
                "target": c.op.target,
                "reference": c.op.reference,
                "reference_accuracy": c.op.reference_accuracy,
                "tolerance": MATCH_TOLERANCE,
                "rule": operating_point_text(&c),
            },
            "spike_ratio": c.spike_ratio,
            "synaptic_event_ratio": c.synaptic_event_ratio,
            "ann_macs_per_image": { "dense": ann.dense_macs, "sparse_mean": ann.sparse_macs_mean },
            "threads": threads,
            "files": { "markdown": md, "csv": csv, "svg": svg },
        }));
    } else {
        println!(
            "{} images. first-spike: accuracy {:.2} %, {} spikes and {} synaptic events per inference up to the decision ({} / {} full run), decision at {:.3} tau_syn; {:.1} s",
            c.samples,
            100.0 * tc.accuracy,
            report::count(tc.spikes),
            report::count(tc.synaptic_events),
            report::count(tc.spikes_full),
            report::count(tc.synaptic_events_full),
            tc.decision_time_mean.unwrap_or(f64::NAN),
            temporal_secs
        );
        println!(
            "rate ({}): ReLU accuracy {:.2} %; after T = {} steps {:.2} %; {:.1} s",
            input_text,
            100.0 * ann.accuracy,
            last + 1,
            100.0 * c.curve.accuracy[last],
            rate_secs
        );
        println!("operating point: {}", operating_point_text(&c));
        println!(
            "  there: {} spikes, {} synaptic events per inference",
            report::count(c.curve.spikes[k]),
            report::count(c.curve.synaptic_events[k])
        );
        println!(
            "spike ratio (rate / first-spike) {:.1} x, synaptic-event ratio {:.1} x",
            c.spike_ratio, c.synaptic_event_ratio
        );
        println!(
            "wrote {}, {} and {}",
            md.display(),
            csv.display(),
            svg.display()
        );
    }
    Ok(())
}
