//! `firstspike demo`: the shipped model on the bundled MNIST digits, no download needed.

use super::common::threads;
use clap::Args;
use firstspike::analytic::{evaluate, Net};
use firstspike::embedded::mnist_test_slice;
use firstspike::model::Model;
use firstspike::Result;
use std::path::PathBuf;

/// Flags of `demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// Model to run [default: the shipped models/mnist-784-800-10.bin].
    #[arg(long)]
    model: Option<PathBuf>,
    /// Worker threads [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
}

pub fn run(a: DemoArgs) -> Result<()> {
    let threads = threads(a.threads)?;
    let path = a.model.unwrap_or_else(|| {
        let local = PathBuf::from("models/mnist-784-800-10.bin");
        if local.is_file() {
            local
        } else {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/mnist-784-800-10.bin")
        }
    });
    let model = Model::load(&path)?;
    let data = mnist_test_slice()?;
    model.check_input_dim(data.dim())?;
    println!(
        "model {} ({}, trained test accuracy {})",
        path.display(),
        model.arch_string(),
        model
            .meta
            .test_accuracy
            .map_or("unknown".into(), |a| format!("{:.2} % on {} images", 100.0 * a, model.meta.test_samples))
    );
    let st = evaluate(&Net::<f64>::from_model(&model), &model.encoding, &data, threads);
    println!(
        "analytic solver on the {} bundled MNIST test digits: accuracy {:.2} % ({} / {}), no output spike on {}",
        st.total,
        100.0 * st.accuracy(),
        st.correct,
        st.total,
        st.no_output_spike
    );
    println!(
        "mean neurons fired per layer (input, hidden..., output): {}",
        st.fired_mean.iter().map(|f| format!("{f:.1}")).collect::<Vec<_>>().join(", ")
    );
    Ok(())
}
