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
    if a.json {
        super::common::print_json(&serde_json::json!({
            "out": a.out,
            "title": title,
            "epochs": logs.len(),
            "train_accuracy": logs.iter().map(|e| e.train_accuracy).collect::<Vec<_>>(),
            "test_accuracy": logs.iter().map(|e| e.test_accuracy).collect::<Vec<_>>(),
        }));
    } else {
        println!("wrote {} ({} epochs)", a.out.display(), logs.len());
    }
    Ok(())
}
