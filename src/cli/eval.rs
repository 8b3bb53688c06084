//! `firstspike eval`: accuracy of a model with the analytic solver.

use super::common::{
    evaluate_with_bar, print_json, progress_bar, write_recorded, ModelOnTest, NpyInputs,
};
use clap::Args;
use firstspike::simulate::record_analytic;
use firstspike::trace::{EngineKind, TraceHeader};
use firstspike::{Result, Samples};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

/// Flags of `eval`.
#[derive(Args)]
pub struct EvalArgs {
    #[command(flatten)]
    on: ModelOnTest,
    #[command(flatten)]
    npy: NpyInputs,
    /// Write every sample's analytic trace under this folder (created if missing).
    #[arg(long)]
    record: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(a: EvalArgs) -> Result<()> {
    let (threads, model, test) = a.on.load_with(&a.npy)?;
    let start = Instant::now();
    let st = evaluate_with_bar(&model, &test, threads, "eval", a.json);
    let secs = start.elapsed().as_secs_f64();
    let mut recorded = None;
    if let Some(dir) = &a.record {
        let bar = progress_bar(test.len(), "record", a.json);
        let traces = record_analytic(&model, &test, threads, &|k| bar.inc(k))?;
        bar.finish_and_clear();
        let h = TraceHeader::for_model(&model, EngineKind::Analytic, true);
        recorded = Some(write_recorded(dir, &h, &traces, a.json)?);
    }
    // Without labels there is no accuracy: `null` in JSON, said so in text.
    let labelled = test.has_labels();
    if a.json {
        print_json(&json!({
            "model": a.on.model,
            "accuracy": labelled.then(|| st.accuracy()),
            "correct": labelled.then_some(st.correct),
            "total": st.total,
            "no_output_spike": st.no_output_spike,
            "fired_mean_per_layer": st.fired_mean,
            "seconds": secs,
            "samples_per_second": st.total as f64 / secs,
            "threads": threads,
            "recorded": recorded,
        }));
    } else if !labelled {
        println!(
            "{}: {} samples without labels (no accuracy), no output spike on {}, {:.2} s ({:.0} samples/s)",
            a.on.model.display(),
            st.total,
            st.no_output_spike,
            secs,
            st.total as f64 / secs
        );
    } else {
        println!(
            "{}: accuracy {:.2} % ({} / {}), no output spike on {}, {:.2} s ({:.0} samples/s)",
            a.on.model.display(),
            100.0 * st.accuracy(),
            st.correct,
            st.total,
            st.no_output_spike,
            secs,
            st.total as f64 / secs
        );
    }
    Ok(())
}
