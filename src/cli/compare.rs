//! `firstspike compare`: a first-spike model beside the rate-coded baseline on the same test
//! images: parse the flags, load what they name, run both networks, write and print the
//! report.

use super::common::{load_split, print_json, progress_bar, simulate_to_decision, threads};
use clap::{Args, ValueEnum};
use firstspike::data::{Dataset, Split};
use firstspike::event::EventNet;
use firstspike::model::{with_ext, Model};
use firstspike::rate::compare::{temporal_full_counts, AnnWork, Comparison, MATCH_TOLERANCE};
use firstspike::rate::model::RateModel;
use firstspike::rate::plot;
use firstspike::rate::report::{self, operating_point_text, Context};
use firstspike::rate::sim::{self, InputMode, SimConfig};
use firstspike::rate::train::evaluate_relu;
use firstspike::sparsity::NetSize;
use firstspike::{fsio, Result};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

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

/// The checked settings, both models and the test images they run on.
struct Plan {
    threads: usize,
    sim: SimConfig,
    temporal: Model,
    rate: RateModel,
    data: Dataset,
}

/// What the runs measured.
struct Measured {
    c: Comparison,
    /// The ReLU network's accuracy and work.
    ann: AnnWork,
    /// Wall time of the first-spike runs (to the decision, then in full), seconds.
    temporal_secs: f64,
    /// Wall time of the rate simulation, seconds.
    rate_secs: f64,
}

/// The report files.
struct Files {
    md: PathBuf,
    csv: PathBuf,
    svg: PathBuf,
}

pub fn run(a: CompareArgs) -> Result<()> {
    let plan = plan(&a)?;
    let m = measure(&plan, a.json)?;
    let files = write_files(&a, &plan, &m.c)?;
    if a.json {
        print_json(&summary_json(&a, &plan, &m, &files));
    } else {
        print_text(&plan, &m, &files);
    }
    Ok(())
}

/// Checks the flags and the output folder, loads both models and the test set, and checks
/// that they fit.
fn plan(a: &CompareArgs) -> Result<Plan> {
    let threads = threads(a.threads)?;
    let input = match a.input {
        Input::Poisson => InputMode::Poisson { rate: a.input_rate },
        Input::Current => InputMode::Current,
    };
    let sim = SimConfig {
        steps: a.steps,
        input,
        seed: a.seed,
    };
    sim.validate()?;
    fsio::check_folder(&a.out)?;
    let temporal = Model::load(&a.temporal)?;
    let rate = RateModel::load(&a.rate)?;
    let data = load_split(&a.data, Split::Test, a.limit)?;
    temporal.check_input_dim(data.dim())?;
    rate.check_input_dim(data.dim())?;
    Ok(Plan {
        threads,
        sim,
        temporal,
        rate,
        data,
    })
}

/// Runs the first-spike network (to each decision, and in full), the rate network over T
/// steps and the ReLU network, timing the first two.
fn measure(p: &Plan, quiet: bool) -> Result<Measured> {
    let (data, threads) = (&p.data, p.threads);
    let t0 = Instant::now();
    let enet = EventNet::from_model(&p.temporal)?.compile()?;
    let bar = progress_bar(2 * data.len(), "first-spike", quiet);
    let trep = simulate_to_decision(&enet, &p.temporal, data, threads, &|k| bar.inc(k))?;
    let full = temporal_full_counts(&p.temporal, data, threads, &|k| bar.inc(k))?;
    bar.finish_and_clear();
    let temporal_secs = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let snet = p.rate.spiking()?;
    let bar = progress_bar(data.len(), "rate-coded", quiet);
    let runs = sim::simulate(&snet, data, &p.sim, threads, &|k| bar.inc(k))?;
    bar.finish_and_clear();
    let rate_secs = t1.elapsed().as_secs_f64();
    let relu = evaluate_relu(&p.rate.net, data, threads);
    let ann = AnnWork {
        accuracy: relu.accuracy(),
        dense_macs: p.rate.net.dense_macs(),
        sparse_macs_mean: relu.sparse_macs_mean,
    };
    let size = NetSize::of_layers(&p.temporal.layers);
    let c =
        Comparison::new(&snet, &runs, &data.labels, &trep, &full, &size, ann).expect("steps >= 1");
    Ok(Measured {
        c,
        ann,
        temporal_secs,
        rate_secs,
    })
}

/// The rate network's input, in words.
fn input_text(sim: &SimConfig) -> String {
    match sim.input {
        InputMode::Poisson { rate: r } => {
            format!(
                "Poisson, each pixel spikes with probability {r} x pixel/255 per step, seed {}",
                sim.seed
            )
        }
        InputMode::Current => "constant current x . W' every step (no input spikes)".into(),
    }
}

/// Writes PREFIX.md, PREFIX.csv and PREFIX.svg.
fn write_files(a: &CompareArgs, p: &Plan, c: &Comparison) -> Result<Files> {
    let ctx = Context {
        temporal_model: format!("{} ({})", a.temporal.display(), p.temporal.arch_string()),
        rate_model: format!("{} ({})", a.rate.display(), p.rate.net.arch_string()),
        rate_input: input_text(&p.sim),
    };
    let files = Files {
        md: with_ext(&a.out, "md"),
        csv: with_ext(&a.out, "csv"),
        svg: with_ext(&a.out, "svg"),
    };
    fsio::write_atomic(&files.md, report::markdown(c, &ctx).as_bytes())?;
    fsio::write_atomic(&files.csv, report::csv(c).as_bytes())?;
    let title = format!(
        "Rate-coded versus first-spike coding, {} test images",
        c.samples
    );
    fsio::write_atomic(&files.svg, plot::svg(c, &title).as_bytes())?;
    Ok(files)
}

/// The `--json` object.
fn summary_json(a: &CompareArgs, p: &Plan, m: &Measured, files: &Files) -> serde_json::Value {
    let c = &m.c;
    let tc = &c.temporal;
    let ann = m.ann;
    json!({
        "samples": c.samples,
        "temporal": {
            "model": a.temporal,
            "arch": p.temporal.arch(),
            "accuracy": tc.accuracy,
            "no_output_spike": tc.no_output_spike,
            "spikes_per_inference": tc.spikes,
            "synaptic_events_per_inference": tc.synaptic_events,
            "spikes_per_layer": tc.spikes_per_layer,
            "spikes_per_inference_full_run": tc.spikes_full,
            "synaptic_events_per_inference_full_run": tc.synaptic_events_full,
            "spikes_per_layer_full_run": tc.spikes_per_layer_full,
            "decision_time_mean_tau_syn": tc.decision_time_mean,
            "sparsity": { "to_decision": tc.sparsity, "full_run": tc.sparsity_full },
            "counted": "spikes of all layers (inputs included) up to and including the first output spike",
            "wall_seconds": m.temporal_secs,
        },
        "rate": rate_json(a, p, m),
        "operating_point": {
            "step": c.op.step,
            "accuracy": c.op.accuracy,
            "target": c.op.target,
            "reference": c.op.reference,
            "reference_accuracy": c.op.reference_accuracy,
            "tolerance": MATCH_TOLERANCE,
            "rule": operating_point_text(c),
        },
        "spike_ratio": c.spike_ratio,
        "synaptic_event_ratio": c.synaptic_event_ratio,
        "ann_macs_per_image": { "dense": ann.dense_macs, "sparse_mean": ann.sparse_macs_mean },
        "threads": p.threads,
        "files": { "markdown": files.md, "csv": files.csv, "svg": files.svg },
    })
}

/// The `rate` member of the `--json` object: the operating point, the last step, and the
/// oracle stop.
fn rate_json(a: &CompareArgs, p: &Plan, m: &Measured) -> serde_json::Value {
    let c = &m.c;
    let k = c.op.step - 1;
    let last = c.curve.steps() - 1;
    json!({
        "model": a.rate,
        "arch": p.rate.net.arch(),
        "relu_accuracy": m.ann.accuracy,
        "input": input_text(&p.sim),
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
        "sparsity": c.rate_sparsity,
        "final_sparsity": c.rate_sparsity_final,
        "oracle_stop": {
            "decided": c.decisions.decided,
            "decision_steps": c.decisions.steps,
            "spikes_per_inference": c.decisions.spikes_mean,
            "synaptic_events_per_inference": c.decisions.synaptic_events_mean,
        },
        "wall_seconds": m.rate_secs,
    })
}

/// The text report.
fn print_text(p: &Plan, m: &Measured, files: &Files) {
    let c = &m.c;
    let tc = &c.temporal;
    let k = c.op.step - 1;
    let last = c.curve.steps() - 1;
    outln!(
        "{} images. first-spike: accuracy {:.2} %, {} spikes and {} synaptic events per inference up to the decision ({} / {} full run), decision at {:.3} tau_syn; {:.1} s",
        c.samples,
        100.0 * tc.accuracy,
        report::count(tc.spikes),
        report::count(tc.synaptic_events),
        report::count(tc.spikes_full),
        report::count(tc.synaptic_events_full),
        tc.decision_time_mean.unwrap_or(f64::NAN),
        m.temporal_secs
    );
    outln!(
        "rate ({}): ReLU accuracy {:.2} %; after T = {} steps {:.2} %; {:.1} s",
        input_text(&p.sim),
        100.0 * m.ann.accuracy,
        last + 1,
        100.0 * c.curve.accuracy[last],
        m.rate_secs
    );
    outln!("operating point: {}", operating_point_text(c));
    outln!(
        "  there: {} spikes, {} synaptic events per inference",
        report::count(c.curve.spikes[k]),
        report::count(c.curve.synaptic_events[k])
    );
    outln!(
        "spike ratio (rate / first-spike) {:.1} x, synaptic-event ratio {:.1} x",
        c.spike_ratio,
        c.synaptic_event_ratio
    );
    outln!(
        "wrote {}, {} and {}",
        files.md.display(),
        files.csv.display(),
        files.svg.display()
    );
}
