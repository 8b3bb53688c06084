//! `firstspike eval`: accuracy of a model with the analytic solver.

use super::common::{load_split, print_json, threads};
use super::simulate::TRACES_PER_FILE;
use clap::Args;
use firstspike::analytic::{evaluate, Net};
use firstspike::data::Split;
use firstspike::model::Model;
use firstspike::simulate::record_analytic;
use firstspike::trace::{write_traces, EngineKind, TraceHeader};
use firstspike::Result;
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

/// Flags of `eval`.
#[derive(Args)]
pub struct EvalArgs {
    /// Model file (NAME.bin).
    #[arg(long)]
    model: PathBuf,
    /// Data folder with the IDX files [default: $FIRSTSPIKE_DATA or data/mnist].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Use only the first N test images.
    #[arg(long)]
    limit: Option<usize>,
    /// Worker threads [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Write every sample's analytic trace under this folder (created if missing).
    #[arg(long)]
    record: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(a: EvalArgs) -> Result<()> {
    let threads = threads(a.threads)?;
    let model = Model::load(&a.model)?;
    let test = load_split(&a.data, Split::Test, a.limit)?;
    model.check_input_dim(test.dim())?;
    let start = Instant::now();
    let st = evaluate(
        &Net::<f64>::from_model(&model),
        &model.encoding,
        &test,
        threads,
    );
    let secs = start.elapsed().as_secs_f64();
    if let Some(dir) = &a.record {
        let traces = record_analytic(&model, &test, threads)?;
        let h = TraceHeader::for_model(&model, EngineKind::Analytic, true);
        let files = write_traces(dir, &h, &traces, TRACES_PER_FILE)?;
        eprintln!(
            "recorded {} traces in {} files under {}",
            traces.len(),
            files.len(),
            dir.display()
        );
    }
    if a.json {
        print_json(&json!({
            "model": a.model,
            "accuracy": st.accuracy(),
            "correct": st.correct,
            "total": st.total,
            "no_output_spike": st.no_output_spike,
            "fired_mean_per_layer": st.fired_mean,
            "seconds": secs,
            "samples_per_second": st.total as f64 / secs,
        }));
    } else {
        println!(
            "{}: accuracy {:.2} % ({} / {}), no output spike on {}, {:.2} s ({:.0} samples/s)",
            a.model.display(),
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
