//! `firstspike eval`: accuracy of a model with the analytic solver.

use super::common::{
    evaluate_with_bar, print_json, progress_bar, write_recorded, ModelOnTest, NpyInputs,
};
use clap::Args;
use firstspike::analytic::EvalStats;
use firstspike::model::Model;
use firstspike::simulate::{record_analytic, EvalSummary};
use firstspike::trace::{EngineKind, TraceHeader};
use firstspike::{Error, Result, Samples};
use serde_json::json;
use std::path::{Path, PathBuf};
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
    /// Record the accuracy measured here in the model file as its test accuracy (its .bin and
    /// .json rewritten, each atomically): the one reading of the test set for a model chosen
    /// on validation, such as the PREFIX.best.bin of `train --validation`. Needs the model's
    /// .bin path and the IDX test set (not --inputs).
    #[arg(long, conflicts_with = "inputs")]
    save_accuracy: bool,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(a: EvalArgs) -> Result<()> {
    let (threads, model, test) = a.on.load_with(&a.npy)?;
    // Checked before the evaluation, so that a wrong path costs nothing.
    let save_to = a
        .save_accuracy
        .then(|| bin_prefix(&a.on.model))
        .transpose()?;
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
    let saved = match &save_to {
        Some(prefix) => Some(save_accuracy(model, prefix, &st)?),
        None => None,
    };
    // Without labels there is no accuracy: `null` in JSON, said so in text.
    let labelled = test.has_labels();
    if a.json {
        let summary = EvalSummary::of(Some(a.on.model.clone()), &st, labelled, secs, threads);
        let mut v = serde_json::to_value(&summary).expect("json");
        v["recorded"] = json!(recorded);
        v["saved_to"] = json!(saved);
        print_json(&v);
    } else if !labelled {
        outln!(
            "{}: {} samples without labels (no accuracy), no output spike on {}, {:.2} s ({:.0} samples/s)",
            a.on.model.display(),
            st.total,
            st.no_output_spike,
            secs,
            st.total as f64 / secs
        );
    } else {
        outln!(
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
    if let (Some(bin), false) = (&saved, a.json) {
        outln!(
            "recorded test accuracy {:.2} % ({} images) in {}",
            100.0 * st.accuracy(),
            st.total,
            bin.display()
        );
    }
    Ok(())
}

/// `NAME` of a model path `NAME.bin` (where `--save-accuracy` writes back).
fn bin_prefix(model: &Path) -> Result<PathBuf> {
    match model.to_str().and_then(|s| s.strip_suffix(".bin")) {
        Some(prefix) if model.is_file() => Ok(PathBuf::from(prefix)),
        _ => Err(Error::setting(
            "save-accuracy",
            format!(
                "--model {} is not a model's .bin file: give the NAME.bin to record the accuracy in",
                model.display()
            ),
        )),
    }
}

/// Writes `model` back to `prefix.bin` and `prefix.json` with the accuracy of `st` as its test
/// accuracy; returns the .bin path.
fn save_accuracy(mut model: Model, prefix: &Path, st: &EvalStats) -> Result<PathBuf> {
    model.meta.test_accuracy = Some(st.accuracy());
    model.meta.test_samples = st.total;
    Ok(model.save(prefix)?.0)
}
