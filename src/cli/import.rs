//! `firstspike import --nir FILE --out PREFIX`: a NIR graph as a model (PREFIX.bin and
//! PREFIX.json), or the reason it cannot be one (see `firstspike::nir::import`).

// Without the `nir` feature only the arguments and the refusal are compiled.
#![cfg_attr(not(feature = "nir"), allow(dead_code, unused_imports))]

use super::common::print_json;
use clap::Args;
use firstspike::encoding::Encoding;
#[cfg(feature = "nir")]
use firstspike::nir;
use firstspike::Result;
use serde::Serialize;
use std::path::{Path, PathBuf};

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

/// The `--json` object of `import`.
#[derive(Serialize)]
struct ImportJson<'a> {
    /// The NIR graph read.
    nir: &'a Path,
    /// The model file written (PREFIX.bin).
    model: &'a Path,
    /// Its card (PREFIX.json).
    card: &'a Path,
    /// Neurons per layer, input first.
    arch: Vec<usize>,
    /// The architecture in the syntax of `train --arch`.
    arch_string: String,
    /// The synaptic time constant the graph maps to (the unit of time).
    tau_syn: f64,
    /// The threshold the graph maps to (the unit of weights).
    theta: f64,
    /// The input encoding the graph's metadata gives, or the default.
    encoding: &'a Encoding,
    /// sha256 of the weights.
    model_sha256: String,
    /// Where the model came from and how each quantity was mapped (as in its card).
    import: &'a serde_json::Value,
}

/// `run` with NIR built in.
#[cfg(feature = "nir")]
fn run_nir(a: ImportArgs) -> Result<()> {
    let model = nir::read_model(&a.nir)?;
    let (bin, card) = model.save(&a.out)?;
    let info = model.meta.import.clone().unwrap_or_default();
    if a.json {
        print_json(&ImportJson {
            nir: &a.nir,
            model: &bin,
            card: &card,
            arch: model.arch(),
            arch_string: model.arch_string(),
            tau_syn: model.params.tau_syn,
            theta: model.params.theta,
            encoding: &model.encoding,
            model_sha256: model.weights_hash(),
            import: &info,
        });
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
