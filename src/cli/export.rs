//! `firstspike export`: a model, or recorded spikes, in formats other tools read.
//!
//! - `--format nir --model M --out F.nir`: the network as a NIR graph (HDF5; `nir.read`).
//! - `--format json --model M --out F.json`: the model's numbers in its own layout (the
//!   reference `tools/nir-roundtrip.py` checks a `.nir` against).
//! - `--format nir-events --trace T --out F.nir`: recorded spikes as NIR `EventData`
//!   (`nir.read_data`), one node per layer; or `--model M --index K,...` to simulate those test
//!   digits with the event engine first (its time is reported with `--json`).

// Without the `nir` feature only the arguments and the refusal are compiled.
#![cfg_attr(not(feature = "nir"), allow(dead_code, unused_imports))]

use super::common::{load_split, pick_samples, print_json, progress_bar, threads};
use clap::{Args, ValueEnum};
use firstspike::data::Split;
use firstspike::event::{EventNet, RunOptions};
use firstspike::model::Model;
#[cfg(feature = "nir")]
use firstspike::nir;
use firstspike::simulate::{simulate as run_events, Record};
use firstspike::trace::{trace_files, EngineKind, SampleTrace, TraceFile, TraceHeader};
use firstspike::{fsio, Error, Result};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What `export` writes.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The network as a NIR graph: Affine or Conv2d -> LI -> IF per layer (needs --model).
    Nir,
    /// Spike times as NIR EventData, one node per layer (needs --trace, or --model with --index).
    NirEvents,
    /// The model's numbers as JSON, weights in the model's input-major layout (needs --model).
    Json,
}

/// Flags of `export`.
#[derive(Args)]
pub struct ExportArgs {
    /// What to write.
    #[arg(long, value_enum)]
    format: Format,
    /// Model file (NAME.bin). With nir-events and --trace, checks that the traces are its own.
    #[arg(long)]
    model: Option<PathBuf>,
    /// nir-events: a trace file, or a folder of them, to export.
    #[arg(long)]
    trace: Option<PathBuf>,
    /// nir-events: test samples to export, e.g. 0,1,2 (from --trace: which recorded samples
    /// [default: all]; with --model alone: which test digits to simulate).
    #[arg(long, value_delimiter = ',')]
    index: Vec<usize>,
    /// Data folder [default: $FIRSTSPIKE_DATA or data/mnist] (nir-events with --model).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Output file (e.g. model.nir, spikes.nir, model.json).
    #[arg(long)]
    out: PathBuf,
    /// Worker threads for nir-events with --model [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Print one JSON object describing what was written.
    #[arg(long)]
    json: bool,
}

pub fn run(a: ExportArgs) -> Result<()> {
    #[cfg(not(feature = "nir"))]
    {
        let _ = a;
        Err(no_nir())
    }
    #[cfg(feature = "nir")]
    run_nir(a)
}

/// The error of a command that needs NIR in a build without it.
#[cfg(not(feature = "nir"))]
fn no_nir() -> firstspike::Error {
    firstspike::Error::setting(
        "nir",
        "this firstspike was built without NIR support (the cargo feature `nir`, on by default); build it with default features",
    )
}

/// `run` with NIR built in.
#[cfg(feature = "nir")]
fn run_nir(a: ExportArgs) -> Result<()> {
    let mut report = match a.format {
        Format::Nir | Format::Json => {
            let Some(mp) = &a.model else {
                return Err(Error::setting(
                    "model",
                    "export --format nir/json needs --model FILE",
                ));
            };
            if a.trace.is_some() || !a.index.is_empty() {
                return Err(Error::setting(
                    "trace",
                    "--trace and --index only go with --format nir-events",
                ));
            }
            let model = Model::load(mp)?;
            if a.format == Format::Nir {
                nir::write_graph(&model, &a.out)?;
            } else {
                let text = serde_json::to_vec(&nir::model_numbers(&model)).expect("json");
                fsio::write_atomic(&a.out, &text)?;
            }
            json!({"arch": model.arch(), "model_sha256": model.weights_hash()})
        }
        Format::NirEvents => export_events(&a)?,
    };
    let format = a
        .format
        .to_possible_value()
        .expect("named")
        .get_name()
        .to_string();
    report["format"] = json!(format);
    report["out"] = json!(a.out);
    if a.json {
        print_json(&report);
    } else {
        outln!("wrote {} ({format})", a.out.display());
        if let Some(eps) = report.get("synaptic_events_per_second") {
            outln!(
                "event engine: {} samples, {} synaptic events in {:.3} s ({:.1} M events/s on {} threads)",
                report["samples"],
                report["synaptic_events"],
                report["engine_seconds"].as_f64().unwrap_or(0.0),
                eps.as_f64().unwrap_or(0.0) / 1e6,
                report["threads"]
            );
        }
    }
    Ok(())
}

/// Writes the EventData file; returns what to report.
#[cfg(feature = "nir")]
fn export_events(a: &ExportArgs) -> Result<serde_json::Value> {
    let (header, samples, mut report) = match (&a.trace, &a.model) {
        (Some(tp), model) => {
            let (header, samples) = load_traces(tp, &a.index)?;
            if let Some(m) = model {
                header.check_model(&Model::load(m)?, tp)?;
            }
            (header, samples, json!({}))
        }
        (None, Some(mp)) => simulate(a, mp)?,
        (None, None) => return Err(Error::setting(
            "trace",
            "export --format nir-events needs --trace FILE|DIR, or --model FILE with --index K,...",
        )),
    };
    nir::write_events(&header, &samples, &a.out)?;
    report["samples"] = json!(samples.len());
    report["arch"] = json!(header.arch);
    report["model_sha256"] = json!(header.model_sha256);
    report["spikes"] = json!(samples.iter().map(|s| s.spikes.len()).sum::<usize>());
    Ok(report)
}

/// The samples of one trace file or a folder of them (all of one model), optionally picked.
fn load_traces(path: &Path, index: &[usize]) -> Result<(TraceHeader, Vec<SampleTrace>)> {
    let mut header: Option<TraceHeader> = None;
    let mut all = Vec::new();
    for p in trace_files(path)? {
        let f = TraceFile::load(&p)?;
        match &header {
            None => header = Some(f.header.clone()),
            Some(h) if h.model_sha256 != f.header.model_sha256 || h.arch != f.header.arch => {
                return Err(Error::trace(
                    &p,
                    "made with another model than the other files in the folder",
                ));
            }
            Some(_) => {}
        }
        all.extend(f.samples);
    }
    let header = header.expect("trace_files returns at least one file");
    if index.is_empty() {
        return Ok((header, all));
    }
    let picked = pick_samples(&all, index, path)?;
    Ok((header, picked))
}

/// Runs the event engine (to the end of each sample) on test digits `index`, recording every
/// spike. Reports the engine's time (the runs alone: loading, picking the digits and building
/// the network are not timed) and synaptic events (spikes x fan-out), which
/// `tools/nest-check` compares with NEST's (it asks for one thread).
fn simulate(
    a: &ExportArgs,
    mp: &Path,
) -> Result<(TraceHeader, Vec<SampleTrace>, serde_json::Value)> {
    if a.index.is_empty() {
        return Err(Error::setting(
            "index",
            "export --format nir-events --model needs --index K,... (test digits to simulate)",
        ));
    }
    let threads = threads(a.threads)?;
    let model = Model::load(mp)?;
    let max = *a.index.iter().max().expect("not empty");
    let data = load_split(&a.data, Split::Test, Some(max + 1))?;
    model.check_input_dim(data.dim())?;
    let digits = data.select(&a.index)?;
    let net = EventNet::from_model(&model)?.compile()?;
    let bar = progress_bar(a.index.len(), "simulate", a.json);
    let start = Instant::now();
    let rep = run_events(
        &net,
        &model.encoding,
        &digits,
        RunOptions::default(),
        threads,
        Record::Traces,
        &|k| bar.inc(k),
    )?;
    let secs = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let events: u64 = rep.runs.iter().map(|r| r.total_events()).sum();
    let mut traces = rep.traces;
    for (t, &k) in traces.iter_mut().zip(&a.index) {
        t.sample = k as u64; // its index in the test set, not among the picked digits
    }
    let eps = events as f64 / secs.max(1e-12);
    let report = json!({
        "engine": "event",
        "threads": threads,
        "synaptic_events": events,
        "engine_seconds": secs,
        "synaptic_events_per_second": eps,
        "synaptic_events_per_second_per_thread": eps / threads as f64,
    });
    Ok((
        TraceHeader::for_model(&model, EngineKind::Event, true),
        traces,
        report,
    ))
}
