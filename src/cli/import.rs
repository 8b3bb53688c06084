//! `firstspike import --nir FILE --out PREFIX`: a NIR graph as a model (PREFIX.bin and
//! PREFIX.json), or the reason it cannot be one (see `firstspike::nir::import`).

use super::common::print_json;
use clap::Args;
use firstspike::nir;
use firstspike::Result;
use serde_json::json;
use std::path::PathBuf;

/// Flags of `import`.
#[derive(Args)]
pub struct ImportArgs {
    /// NIR graph to import (HDF5, as nir.write or `firstspike export --format nir` writes it).
    #[arg(long)]
    nir: PathBuf,
    /// Output prefix: writes PREFIX.bin and PREFIX.json.
    #[arg(long)]
    out: PathBuf,
    /// Print one JSON object describing what was written.
    #[arg(long)]
    json: bool,
}

pub fn run(a: ImportArgs) -> Result<()> {
    let model = nir::read_model(&a.nir)?;
    let (bin, card) = model.save(&a.out)?;
    let info = model.meta.import.clone().unwrap_or_default();
    if a.json {
        print_json(&json!({
            "nir": a.nir,
            "model": bin,
            "card": card,
            "arch": model.arch(),
            "arch_string": model.arch_string(),
            "tau_syn": model.params.tau_syn,
            "theta": model.params.theta,
            "encoding": model.encoding,
            "model_sha256": model.weights_hash(),
            "import": info,
        }));
    } else {
        outln!(
            "imported {} as {} (tau_syn = {}, theta = {}): wrote {} and {}",
            a.nir.display(),
            model.arch_string(),
            model.params.tau_syn,
            model.params.theta,
            bin.display(),
            card.display()
        );
        outln!("theta: {}", info["theta"].as_str().unwrap_or("?"));
        outln!(
            "input encoding: {}",
            info["encoding"].as_str().unwrap_or("?")
        );
    }
    Ok(())
}
