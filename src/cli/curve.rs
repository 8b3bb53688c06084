//! `firstspike curve`: the accuracy curve of a training log as an SVG picture.

use clap::Args;
use firstspike::train::EpochLog;
use firstspike::{fsio, plot, Error, Result};
use std::path::PathBuf;

/// Flags of `curve`.
#[derive(Args)]
pub struct CurveArgs {
    /// A training log (PREFIX.log.jsonl, one JSON object per epoch).
    #[arg(long)]
    log: PathBuf,
    /// The picture to write (SVG).
    #[arg(long)]
    out: PathBuf,
    /// Print one JSON object: the picture written and each epoch's accuracies.
    #[arg(long)]
    json: bool,
}

/// The epochs of a JSON-lines training log (lines that do not parse are skipped).
pub fn parse_log(text: &str) -> Vec<EpochLog> {
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

pub fn run(a: CurveArgs) -> Result<()> {
    let text = std::fs::read_to_string(&a.log).map_err(|e| Error::io(&a.log, e))?;
    let logs = parse_log(&text);
    if logs.is_empty() {
        return Err(Error::data(&a.log, "no epoch records in this file; give the PREFIX.log.jsonl that 'firstspike train' writes"));
    }
    let title = format!("{} accuracy per epoch", a.log.display());
    fsio::write_atomic(&a.out, plot::accuracy_curve(&title, &logs).as_bytes())?;
    if a.json {
        super::common::print_json(&serde_json::json!({
            "out": a.out,
            "epochs": logs.len(),
            "train_accuracy": logs.iter().map(|e| e.train_accuracy).collect::<Vec<_>>(),
            "test_accuracy": logs.iter().map(|e| e.test_accuracy).collect::<Vec<_>>(),
        }));
    } else {
        println!("wrote {} ({} epochs)", a.out.display(), logs.len());
    }
    Ok(())
}
