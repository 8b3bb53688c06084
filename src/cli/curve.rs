//! `firstspike curve`: the accuracy curve of a training log as an SVG picture.

use clap::Args;
use firstspike::train::EpochLog;
use firstspike::{fsio, plot, Error, Result};
use std::path::{Path, PathBuf};

/// Flags of `curve`.
#[derive(Args)]
pub struct CurveArgs {
    /// A training log (PREFIX.log.jsonl, one JSON object per epoch).
    #[arg(long)]
    log: PathBuf,
    /// The picture to write (SVG).
    #[arg(long)]
    out: PathBuf,
    /// Title of the picture [default: the model's name from the log's file name, with the
    /// architecture from the model's PREFIX.json beside the log when it is there].
    #[arg(long)]
    title: Option<String>,
    /// Also write this picture: the accuracy curve beside the gain of each layer per epoch
    /// (log10 of S - theta at the crossing: median and 10 % quantile, and the gradient floor),
    /// as `train` writes it to PREFIX.gain.svg. Needs a log with gain statistics.
    #[arg(long, value_name = "FILE.svg")]
    gain: Option<PathBuf>,
    /// Print one JSON object: the picture written and each epoch's accuracies.
    #[arg(long)]
    json: bool,
}

/// The accuracies of each epoch, as the accuracy curve draws them.
pub fn accuracies(logs: &[EpochLog]) -> Vec<plot::EpochAccuracy> {
    logs.iter()
        .map(|e| plot::EpochAccuracy {
            epoch: e.epoch,
            train_accuracy: e.train_accuracy,
            test_accuracy: e.test_accuracy,
            validation_accuracy: e.validation_accuracy,
        })
        .collect()
}

/// The gain statistics of each epoch and layer, as the gain chart draws them.
pub fn gains(logs: &[EpochLog]) -> Vec<plot::EpochGain> {
    logs.iter()
        .flat_map(|e| {
            e.gain.iter().map(|g| plot::EpochGain {
                epoch: e.epoch,
                layer: g.layer,
                p10: g.quantiles[1],
                p50: g.quantiles[2],
                floored: g.floored as f64 / g.fired.max(1) as f64,
            })
        })
        .collect()
}

/// The accuracy curve beside the gain chart, one picture (see `CurveArgs::gain`).
pub fn curve_and_gain(title: &str, logs: &[EpochLog], floor: f64) -> String {
    let gain_title = title.replace(": accuracy per epoch", ": gain per epoch");
    plot::side_by_side(
        &plot::accuracy_curve(title, &accuracies(logs)),
        &plot::gain_chart(&gain_title, &gains(logs), floor),
    )
}

/// The gradient floor of the run, from the PREFIX.json beside the log (the default when it
/// is not there).
fn run_floor(log: &Path) -> f64 {
    let name = plot::model_name(log);
    log.parent()
        .map(|dir| dir.join(format!("{name}.json")))
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["train"]["denom_floor"].as_f64())
        .unwrap_or(firstspike::grad::DENOM_FLOOR)
}

/// The epochs of a JSON-lines training log (lines that do not parse are skipped).
pub fn parse_log(text: &str) -> Vec<EpochLog> {
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The model's name from the log's file name, and its architecture from the PREFIX.json that
/// `train` writes beside the log (left out when that file is missing or unreadable).
fn default_title(log: &Path) -> String {
    let name = plot::model_name(log);
    let arch: Option<Vec<usize>> = log
        .parent()
        .map(|dir| dir.join(format!("{name}.json")))
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| serde_json::from_value(v["arch"].clone()).ok());
    plot::curve_title(&name, arch.as_deref())
}

/// The `--json` object of `curve`.
#[derive(serde::Serialize)]
struct CurveJson<'a> {
    /// The picture written (SVG).
    out: &'a Path,
    /// With `--gain`: the second picture written; else `null`.
    gain: Option<&'a Path>,
    /// The picture's title.
    title: &'a str,
    /// Epochs in the log.
    epochs: usize,
    /// Each epoch's training accuracy.
    train_accuracy: Vec<f64>,
    /// Each epoch's held-out accuracy (test or validation); `null` where none was measured.
    test_accuracy: Vec<Option<f64>>,
}

pub fn run(a: CurveArgs) -> Result<()> {
    let text = std::fs::read_to_string(&a.log).map_err(|e| Error::io(&a.log, e))?;
    let logs = parse_log(&text);
    if logs.is_empty() {
        return Err(Error::data(&a.log, "no epoch records in this file; give the PREFIX.log.jsonl that 'firstspike train' writes"));
    }
    let title = a.title.clone().unwrap_or_else(|| default_title(&a.log));
    fsio::write_atomic(
        &a.out,
        plot::accuracy_curve(&title, &accuracies(&logs)).as_bytes(),
    )?;
    if let Some(g) = &a.gain {
        if logs.iter().all(|e| e.gain.is_empty()) {
            return Err(Error::data(&a.log, "no gain statistics in this log (it was written before train measured them); --gain needs a log of this version"));
        }
        fsio::write_atomic(
            g,
            curve_and_gain(&title, &logs, run_floor(&a.log)).as_bytes(),
        )?;
    }
    if a.json {
        super::common::print_json(&CurveJson {
            out: &a.out,
            gain: a.gain.as_deref(),
            title: &title,
            epochs: logs.len(),
            train_accuracy: logs.iter().map(|e| e.train_accuracy).collect(),
            test_accuracy: logs.iter().map(|e| e.test_accuracy).collect(),
        });
    } else {
        outln!("wrote {} ({} epochs)", a.out.display(), logs.len());
    }
    Ok(())
}
