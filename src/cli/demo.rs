//! `firstspike demo`: the shipped model on the bundled MNIST digits, no download needed.

use super::common::threads;
use clap::Args;
use firstspike::analytic::{evaluate, Net};
use firstspike::counts::CountReport;
use firstspike::embedded::mnist_test_slice;
use firstspike::event::{Engine, EventNet, RunOptions};
use firstspike::model::Model;
use firstspike::raster;
use firstspike::simulate::{simulate, verify};
use firstspike::trace::{EngineKind, TraceHeader, TraceRecorder};
use firstspike::{Error, Result};
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
    println!(
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
    );
    let st = evaluate(
        &Net::<f64>::from_model(&model),
        &model.encoding,
        &data,
        threads,
    );
    println!(
        "analytic solver on the {} bundled MNIST test digits: accuracy {:.2} % ({} / {}), no output spike on {}",
        st.total,
        100.0 * st.accuracy(),
        st.correct,
        st.total,
        st.no_output_spike
    );
    println!(
        "mean neurons fired per layer (input, hidden..., output): {}",
        st.fired_mean
            .iter()
            .map(|f| format!("{f:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let net = EventNet::from_model(&model)?.compile()?;
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
    )?;
    let secs = start.elapsed().as_secs_f64();
    let c = CountReport::of(&rep.runs);
    let events: u64 = rep.runs.iter().map(|r| r.total_events()).sum();
    println!(
        "event engine, stopping at each decision: accuracy {:.2} %, {:.1} spikes per digit (of which {:.1} input spikes), {:.0} synaptic events, decision at {:.3} tau_syn on average; {:.1} M synaptic events/s on {} threads",
        100.0 * rep.correct as f64 / data.len() as f64,
        c.spikes_total.mean,
        c.fired[0].mean,
        c.synaptic_events_total.mean,
        c.decision_time_mean.unwrap_or(f64::NAN),
        events as f64 / secs / 1e6,
        threads
    );
    let v = verify(&model, &data, threads)?;
    println!(
        "verify (event engine vs analytic solver, f64, full runs): {} spikes compared, {} prediction mismatches, {} fired-status mismatches, max relative time difference {:.1e} (tolerance {:.0e}): {}",
        v.spikes_compared,
        v.prediction_mismatches,
        v.fired_status_mismatches,
        v.max_rel_time_diff,
        v.tolerance,
        if v.agree() { "the engines agree" } else { "THE ENGINES DISAGREE" }
    );
    if !v.agree() {
        return Err(Error::Engine(
            "the engines disagree on the bundled digits".into(),
        ));
    }

    // One raster: the first bundled digit, spike by spike.
    let mut eng = Engine::new(&net);
    let mut rec = TraceRecorder::new(&net);
    rec.reset(0, Some(data.labels[0]));
    eng.run(
        &model.encoding.encode(data.image(0)),
        RunOptions::default(),
        &mut rec,
    )?;
    let dir = PathBuf::from("traces/demo");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let header = TraceHeader::for_model(&model, EngineKind::Event, true);
    let [csv, _, svg] = raster::write_all(
        &dir.join("digit0"),
        &header,
        &path.display().to_string(),
        &[rec.trace],
    )?;
    println!(
        "raster of bundled digit 0 (label {}): picture {}, spikes {}",
        data.labels[0],
        svg.display(),
        csv.display()
    );
    Ok(())
}
