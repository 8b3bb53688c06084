//! `firstspike demo`: the shipped model embedded in the binary on the bundled MNIST digits,
//! no file and no download needed, from any folder: the analytic solver, the event engine up to each decision, both engines compared, and one
//! raster, each step reported as it finishes.

use super::common::{evaluate_with_bar, print_json, progress_bar, simulate_to_decision, threads};
use clap::Args;
use firstspike::analytic::EvalStats;
use firstspike::counts::CountReport;
use firstspike::data::Dataset;
use firstspike::embedded::{demo_model, mnist_test_slice, DEMO_MODEL_NAME};
use firstspike::event::EventNet;
use firstspike::model::Model;
use firstspike::progress::NO_PROGRESS;
use firstspike::raster;
use firstspike::simulate::{record_samples, verify, SimReport, VerifyReport};
use firstspike::trace::{EngineKind, TraceHeader};
use firstspike::{Error, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Flags of `demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// Model to run [default: the shipped models/mnist-conv-32c5s2p2-64c5s2p2-10.bin, embedded
    /// in the binary].
    #[arg(long)]
    model: Option<PathBuf>,
    /// Worker threads [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(a: DemoArgs) -> Result<()> {
    let threads = threads(a.threads)?;
    let (path, model) = match &a.model {
        Some(p) => (p.clone(), Model::load(p)?),
        None => (
            PathBuf::from(format!("<embedded models/{DEMO_MODEL_NAME}>")),
            demo_model()?,
        ),
    };
    let data = mnist_test_slice()?;
    model.check_input_dim(data.dim())?;
    // Text goes out as each step finishes; with --json, one object at the end.
    let say = |line: String| {
        if !a.json {
            outln!("{line}");
        }
    };
    say(model_line(&path, &model));
    let st = evaluate_with_bar(&model, &data, threads, "analytic", a.json);
    say(analytic_line(&st));
    say(format!(
        "mean neurons fired per layer (input, hidden..., output): {}",
        st.fired_mean
            .iter()
            .map(|f| format!("{f:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let ev = run_event(&model, &data, threads, a.json)?;
    say(ev.line());
    let bar = progress_bar(data.len(), "verify", a.json);
    let v = verify(&model, &data, threads, &|k| bar.inc(k))?;
    bar.finish_and_clear();
    say(verify_line(&v));
    if !v.agree() {
        return Err(Error::EnginesDisagree {
            what: "on the bundled digits".into(),
        });
    }
    let [csv, json, svg] = write_raster(&model, &path, &data)?;
    say(format!(
        "raster of bundled digit 0 (label {}): picture {}, spikes {}",
        data.labels[0],
        svg.display(),
        csv.display()
    ));
    if a.json {
        print_json(&DemoJson {
            model: &path,
            arch: model.arch(),
            samples: data.len(),
            analytic: AnalyticJson {
                accuracy: st.accuracy(),
                correct: st.correct,
                no_output_spike: st.no_output_spike,
                fired_mean_per_layer: &st.fired_mean,
            },
            event_until_decision: ev.json(),
            verify: &v,
            agree: v.agree(),
            raster: RasterFiles {
                csv: &csv,
                json: &json,
                svg: &svg,
            },
        });
    }
    Ok(())
}

/// The `--json` object of `demo`.
#[derive(Serialize)]
struct DemoJson<'a> {
    /// The model run (the embedded one is named `<embedded models/NAME>`).
    model: &'a Path,
    /// Neurons per layer, input first.
    arch: Vec<usize>,
    /// Bundled digits run.
    samples: usize,
    /// The analytic solver's results.
    analytic: AnalyticJson<'a>,
    /// The event engine's, each digit stopped at its decision.
    event_until_decision: EventJson,
    /// Both engines compared spike by spike on full runs.
    verify: &'a VerifyReport,
    /// Whether they agree.
    agree: bool,
    /// The raster of digit 0.
    raster: RasterFiles<'a>,
}

/// The analytic solver's part of `demo --json`.
#[derive(Serialize)]
struct AnalyticJson<'a> {
    /// Fraction of digits classified correctly.
    accuracy: f64,
    /// Digits classified correctly.
    correct: usize,
    /// Digits on which no output neuron fired.
    no_output_spike: usize,
    /// Mean number of neurons that fired per digit, per layer (index 0: input spikes).
    fired_mean_per_layer: &'a [f64],
}

/// The event engine's part of `demo --json` (each digit stopped at its decision).
#[derive(Serialize)]
struct EventJson {
    /// Fraction of digits classified correctly.
    accuracy: f64,
    /// Digits classified correctly.
    correct: usize,
    /// Mean spikes per digit, input spikes included.
    spikes_per_sample_mean: f64,
    /// Mean input spikes per digit.
    input_spikes_per_sample_mean: f64,
    /// Mean synaptic events per digit.
    synaptic_events_per_sample_mean: f64,
    /// Mean decision time (units of tau_syn); `null` if no digit was decided.
    decision_time_mean: Option<f64>,
    /// Synaptic events per second of wall time.
    synaptic_events_per_second: f64,
    /// Worker threads.
    threads: usize,
}

/// The raster files `demo` writes.
#[derive(Serialize)]
struct RasterFiles<'a> {
    /// Spikes, one per line.
    csv: &'a Path,
    /// The sidecar describing them.
    json: &'a Path,
    /// The picture.
    svg: &'a Path,
}

/// The model's file, architecture and trained accuracy.
fn model_line(path: &Path, model: &Model) -> String {
    format!(
        "model {} ({}, trained test accuracy {})",
        path.display(),
        model.arch_string(),
        model
            .meta
            .test_accuracy
            .map_or("unknown".into(), |a| format!(
                "{:.2} % on {} images",
                100.0 * a,
                model.meta.test_samples
            ))
    )
}

fn analytic_line(st: &EvalStats) -> String {
    format!(
        "analytic solver on the {} bundled MNIST test digits: accuracy {:.2} % ({} / {}), no output spike on {}",
        st.total,
        100.0 * st.accuracy(),
        st.correct,
        st.total,
        st.no_output_spike
    )
}

/// The event engine's runs to the decision, and their speed.
struct EventRun {
    rep: SimReport,
    counts: CountReport,
    accuracy: f64,
    /// Synaptic events per second of wall time.
    events_per_second: f64,
    threads: usize,
}

/// Runs the event engine on every digit, each stopped at its decision.
fn run_event(model: &Model, data: &Dataset, threads: usize, quiet: bool) -> Result<EventRun> {
    let net = EventNet::from_model(model)?.compile()?;
    let bar = progress_bar(data.len(), "event engine", quiet);
    let start = Instant::now();
    let rep = simulate_to_decision(&net, model, data, threads, &|k| bar.inc(k))?;
    let secs = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let events: u64 = rep.runs.iter().map(|r| r.total_events()).sum();
    Ok(EventRun {
        counts: CountReport::of(&rep.runs),
        accuracy: rep.correct as f64 / data.len() as f64,
        events_per_second: events as f64 / secs,
        threads,
        rep,
    })
}

impl EventRun {
    fn line(&self) -> String {
        let c = &self.counts;
        format!(
            "event engine, stopping at each decision: accuracy {:.2} %, {:.1} spikes per digit (of which {:.1} input spikes), {:.0} synaptic events, decision at {:.3} tau_syn on average; {:.1} M synaptic events/s on {} threads",
            100.0 * self.accuracy,
            c.spikes_total.mean,
            c.fired[0].mean,
            c.synaptic_events_total.mean,
            c.decision_time_mean.unwrap_or(f64::NAN),
            self.events_per_second / 1e6,
            self.threads
        )
    }

    fn json(&self) -> EventJson {
        let c = &self.counts;
        EventJson {
            accuracy: self.accuracy,
            correct: self.rep.correct,
            spikes_per_sample_mean: c.spikes_total.mean,
            input_spikes_per_sample_mean: c.fired[0].mean,
            synaptic_events_per_sample_mean: c.synaptic_events_total.mean,
            decision_time_mean: c.decision_time_mean,
            synaptic_events_per_second: self.events_per_second,
            threads: self.threads,
        }
    }
}

fn verify_line(v: &VerifyReport) -> String {
    format!(
        "verify (event engine vs analytic solver, f64, full runs): {} spikes compared, {} prediction mismatches, {} fired-status mismatches, max relative time difference {:.1e} (tolerance {:.0e}): {}",
        v.spikes_compared,
        v.prediction_mismatches,
        v.fired_status_mismatches,
        v.max_rel_time_diff,
        v.tolerance,
        if v.agree() { "the engines agree" } else { "THE ENGINES DISAGREE" }
    )
}

/// Draws the first bundled digit, spike by spike, under `traces/demo/digit0`; returns the
/// CSV, JSON and SVG written.
fn write_raster(model: &Model, path: &Path, data: &Dataset) -> Result<[PathBuf; 3]> {
    let (traces, _) = record_samples(model, data, &[0], EngineKind::Event, 1, NO_PROGRESS)?;
    let dir = PathBuf::from("traces/demo");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let header = TraceHeader::for_model(model, EngineKind::Event, true);
    raster::write_all(
        &dir.join("digit0"),
        &header,
        &path.display().to_string(),
        &raster::layer_maps(model),
        &traces,
    )
}
