//! `firstspike demo`: the shipped model on the bundled MNIST digits, no download needed.

use super::common::{print_json, progress_bar, threads};
use clap::Args;
use firstspike::analytic::{evaluate, Net};
use firstspike::counts::CountReport;
use firstspike::embedded::mnist_test_slice;
use firstspike::event::{EventNet, RunOptions};
use firstspike::model::Model;
use firstspike::progress::NO_PROGRESS;
use firstspike::raster;
use firstspike::simulate::{record_samples, simulate, verify};
use firstspike::trace::{EngineKind, TraceHeader};
use firstspike::{Error, Result};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

/// Flags of `demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// Model to run [default: the shipped models/mnist-784-800-10.bin].
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
    let path = a.model.unwrap_or_else(|| {
        let local = PathBuf::from("models/mnist-784-800-10.bin");
        if local.is_file() {
            local
        } else {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/mnist-784-800-10.bin")
        }
    });
    let model = Model::load(&path)?;
    let data = mnist_test_slice()?;
    model.check_input_dim(data.dim())?;
    // Text goes out as each step finishes; with --json, one object at the end.
    let say = |line: String| {
        if !a.json {
            println!("{line}");
        }
    };
    say(format!(
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
    ));
    let bar = progress_bar(data.len(), "analytic", a.json);
    let st = evaluate(
        &Net::<f64>::from_model(&model),
        &model.encoding,
        &data,
        threads,
        &|k| bar.inc(k),
    );
    bar.finish_and_clear();
    say(format!(
        "analytic solver on the {} bundled MNIST test digits: accuracy {:.2} % ({} / {}), no output spike on {}",
        st.total,
        100.0 * st.accuracy(),
        st.correct,
        st.total,
        st.no_output_spike
    ));
    say(format!(
        "mean neurons fired per layer (input, hidden..., output): {}",
        st.fired_mean
            .iter()
            .map(|f| format!("{f:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));

    let net = EventNet::from_model(&model)?.compile()?;
    let bar = progress_bar(data.len(), "event engine", a.json);
    let start = Instant::now();
    let rep = simulate(
        &net,
        &model.encoding,
        &data,
        RunOptions {
            until_decision: true,
        },
        threads,
        false,
        &|k| bar.inc(k),
    )?;
    let secs = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let c = CountReport::of(&rep.runs);
    let events: u64 = rep.runs.iter().map(|r| r.total_events()).sum();
    let event_accuracy = rep.correct as f64 / data.len() as f64;
    say(format!(
        "event engine, stopping at each decision: accuracy {:.2} %, {:.1} spikes per digit (of which {:.1} input spikes), {:.0} synaptic events, decision at {:.3} tau_syn on average; {:.1} M synaptic events/s on {} threads",
        100.0 * event_accuracy,
        c.spikes_total.mean,
        c.fired[0].mean,
        c.synaptic_events_total.mean,
        c.decision_time_mean.unwrap_or(f64::NAN),
        events as f64 / secs / 1e6,
        threads
    ));
    let bar = progress_bar(data.len(), "verify", a.json);
    let v = verify(&model, &data, threads, &|k| bar.inc(k))?;
    bar.finish_and_clear();
    say(format!(
        "verify (event engine vs analytic solver, f64, full runs): {} spikes compared, {} prediction mismatches, {} fired-status mismatches, max relative time difference {:.1e} (tolerance {:.0e}): {}",
        v.spikes_compared,
        v.prediction_mismatches,
        v.fired_status_mismatches,
        v.max_rel_time_diff,
        v.tolerance,
        if v.agree() { "the engines agree" } else { "THE ENGINES DISAGREE" }
    ));
    if !v.agree() {
        return Err(Error::EnginesDisagree {
            what: "on the bundled digits".into(),
        });
    }

    // One raster: the first bundled digit, spike by spike.
    let (traces, _) = record_samples(&model, &data, &[0], EngineKind::Event, 1, NO_PROGRESS)?;
    let dir = PathBuf::from("traces/demo");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let header = TraceHeader::for_model(&model, EngineKind::Event, true);
    let [csv, json, svg] = raster::write_all(
        &dir.join("digit0"),
        &header,
        &path.display().to_string(),
        &traces,
    )?;
    say(format!(
        "raster of bundled digit 0 (label {}): picture {}, spikes {}",
        data.labels[0],
        svg.display(),
        csv.display()
    ));
    if a.json {
        print_json(&json!({
            "model": path,
            "arch": model.arch(),
            "samples": data.len(),
            "analytic": {
                "accuracy": st.accuracy(),
                "correct": st.correct,
                "no_output_spike": st.no_output_spike,
                "fired_mean_per_layer": st.fired_mean,
            },
            "event_until_decision": {
                "accuracy": event_accuracy,
                "correct": rep.correct,
                "spikes_per_sample_mean": c.spikes_total.mean,
                "input_spikes_per_sample_mean": c.fired[0].mean,
                "synaptic_events_per_sample_mean": c.synaptic_events_total.mean,
                "decision_time_mean": c.decision_time_mean,
                "synaptic_events_per_second": events as f64 / secs,
                "threads": threads,
            },
            "verify": v,
            "agree": v.agree(),
            "raster": { "csv": csv, "json": json, "svg": svg },
        }));
    }
    Ok(())
}
