//! `firstspike replay` and `firstspike raster`: reading traces and drawing spikes.

use super::common::{pick_samples, print_json, progress_bar, threads, NpyInputs};
use clap::Args;
use firstspike::model::Model;
use firstspike::network::Shape;
use firstspike::raster;
use firstspike::replay::replay;
use firstspike::simulate::record_samples;
use firstspike::trace::{trace_files, EngineKind, SampleTrace, TraceFile, TraceHeader};
use firstspike::{Error, Result};
use std::path::{Path, PathBuf};

/// Flags of `replay`.
#[derive(Args)]
pub struct ReplayArgs {
    /// A trace file, or a folder of them.
    #[arg(long)]
    trace: PathBuf,
    /// The model that recorded the traces (NAME.bin).
    #[arg(long)]
    model: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Flags of `raster`.
#[derive(Args)]
pub struct RasterArgs {
    /// Model to simulate (with --index); not needed with --trace.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Data folder [default: $FIRSTSPIKE_DATA or data/mnist].
    #[arg(long)]
    data: Option<PathBuf>,
    #[command(flatten)]
    npy: NpyInputs,
    /// Test-set sample(s) (or rows of --inputs) to draw, e.g. 0 or 0,1,2 (with --model); with
    /// --trace, which recorded samples to draw [default: the first].
    #[arg(long, value_delimiter = ',')]
    index: Vec<usize>,
    /// Draw from a recorded trace file instead of simulating.
    #[arg(long)]
    trace: Option<PathBuf>,
    /// Engine that simulates the samples (with --model); both give the same spikes.
    #[arg(long, value_enum, default_value = "event")]
    engine: EngineKind,
    /// Worker threads [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Output prefix: writes PREFIX.csv, PREFIX.json, PREFIX.svg.
    #[arg(long)]
    out: PathBuf,
    /// Print one JSON object describing what was written.
    #[arg(long)]
    json: bool,
}

pub fn run_replay(a: ReplayArgs) -> Result<()> {
    let model = Model::load(&a.model)?;
    let files: Vec<(PathBuf, TraceFile)> = trace_files(&a.trace)?
        .into_iter()
        .map(|p| TraceFile::load(&p).map(|f| (p, f)))
        .collect::<Result<_>>()?;
    let n: usize = files.iter().map(|(_, f)| f.samples.len()).sum();
    let bar = progress_bar(n, "replay", a.json);
    let rep = replay(&model, &files, &|k| bar.inc(k))?;
    bar.finish_and_clear();
    if a.json {
        let mut v = serde_json::to_value(&rep).expect("json");
        v["files"] = serde_json::json!(files.len());
        v["accuracy"] = serde_json::json!(rep.correct as f64 / rep.labelled.max(1) as f64);
        print_json(&v);
    } else {
        outln!(
            "replayed {} samples from {} files: decision mismatches {}, accuracy {:.2} % ({} / {}), mean spikes per layer {}",
            rep.samples,
            files.len(),
            rep.decision_mismatches,
            100.0 * rep.correct as f64 / rep.labelled.max(1) as f64,
            rep.correct,
            rep.labelled,
            rep.spikes_per_layer_mean.iter().map(|x| format!("{x:.1}")).collect::<Vec<_>>().join(", ")
        );
        match rep.loss_mean {
            Some(l) => outln!(
                "gradients replayed on {} samples: mean loss {:.4}, gradient norm per layer {}",
                rep.gradients_replayed,
                l,
                rep.grad_norm_per_layer
                    .iter()
                    .map(|x| format!("{x:.3e}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => {
                outln!("no gradients replayed (traces stopped at the decision, or no labels)")
            }
        }
    }
    if rep.decision_mismatches > 0 {
        return Err(Error::Trace {
            path: Some(a.trace),
            sample: None,
            what: format!(
                "{} recorded decisions differ from the replayed spikes",
                rep.decision_mismatches
            ),
        });
    }
    Ok(())
}

pub fn run_raster(a: RasterArgs) -> Result<()> {
    let (header, traces, model_name, maps) = match (&a.trace, &a.model) {
        (Some(tp), _) => raster_from_trace(&a, tp)?,
        (None, Some(mp)) => raster_from_model(&a, mp)?,
        (None, None) => {
            return Err(Error::setting(
                "model",
                "raster needs --model with --index, or --trace",
            ))
        }
    };
    let [csv, json, svg] = raster::write_all(&a.out, &header, &model_name, &maps, &traces)?;
    if a.json {
        print_json(&serde_json::json!({
            "files": { "csv": csv, "json": json, "svg": svg },
            "samples": traces.iter().map(|t| t.sample).collect::<Vec<_>>(),
            "labels": traces.iter().map(|t| t.label).collect::<Vec<_>>(),
            "decisions": traces.iter().map(|t| t.decision.map(|d| d.0)).collect::<Vec<_>>(),
            "spikes": traces.iter().map(|t| t.spikes.len()).collect::<Vec<_>>(),
            "engine": format!("{:?}", header.engine).to_lowercase(),
            "arch": header.arch,
        }));
    } else {
        outln!(
            "wrote {}, {} and {}",
            csv.display(),
            json.display(),
            svg.display()
        );
    }
    Ok(())
}

/// What a raster draws: the traces' header, the samples, the model's name for the titles, and
/// the layers' feature maps (empty when there are none, or no model to tell them).
type Drawn = (TraceHeader, Vec<SampleTrace>, String, Vec<Option<Shape>>);

/// The samples to draw from the trace file `tp` (`--index`, or its first), checked against
/// `--model` if given (which also gives the feature maps of a conv model).
fn raster_from_trace(a: &RasterArgs, tp: &Path) -> Result<Drawn> {
    let f = TraceFile::load(tp)?;
    let picked: Vec<SampleTrace> = if a.index.is_empty() {
        f.samples.iter().take(1).cloned().collect()
    } else {
        pick_samples(&f.samples, &a.index, tp)?
    };
    let mut maps = Vec::new();
    if let Some(m) = &a.model {
        let model = Model::load(m)?;
        f.header.check_model(&model, tp)?;
        maps = raster::layer_maps(&model);
    }
    let name = a
        .model
        .as_ref()
        .map_or(String::new(), |m| m.display().to_string());
    Ok((f.header, picked, name, maps))
}

/// Simulates the test samples (or rows of `--inputs`) `--index` with the model `mp` and the
/// engine `--engine`.
fn raster_from_model(a: &RasterArgs, mp: &Path) -> Result<Drawn> {
    if a.index.is_empty() {
        return Err(Error::setting(
            "index",
            "raster --model needs --index K (one or more test samples)",
        ));
    }
    let threads = threads(a.threads)?;
    let model = Model::load(mp)?;
    let max = *a.index.iter().max().expect("not empty");
    // The IDX test set is read up to the last sample drawn; an index past an array's end is
    // refused by `record_samples`.
    let limit = a.npy.inputs.is_none().then_some(max + 1);
    let data = a.npy.load(&a.data, &model, limit)?;
    let bar = progress_bar(a.index.len(), "raster", a.json);
    let (traces, _) = record_samples(&model, &data, &a.index, a.engine, threads, &|k| bar.inc(k))?;
    bar.finish_and_clear();
    Ok((
        TraceHeader::for_model(&model, a.engine, true),
        traces,
        mp.display().to_string(),
        raster::layer_maps(&model),
    ))
}
