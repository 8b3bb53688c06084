//! Helpers shared by the commands: data loading, printing JSON, thread counts, progress bars.

use firstspike::data::{resolve_data_dir, Dataset, Split};
use firstspike::{Error, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;

/// Loads a split from `--data` / `FIRSTSPIKE_DATA` / `data/mnist`, keeping `limit` images.
pub fn load_split(data: &Option<PathBuf>, split: Split, limit: Option<usize>) -> Result<Dataset> {
    let dir = resolve_data_dir(data.as_deref());
    let mut ds = Dataset::load(&dir, split)?;
    if let Some(n) = limit {
        ds.truncate(n)?;
    }
    Ok(ds)
}

/// Default worker threads: the machine's cores.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Checks a thread count.
pub fn threads(t: Option<usize>) -> Result<usize> {
    match t {
        Some(0) => Err(Error::setting("threads", "--threads must be at least 1")),
        Some(n) => Ok(n),
        None => Ok(default_threads()),
    }
}

/// Prints one JSON object on stdout.
pub fn print_json(v: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(v).expect("json"));
}

/// The flags shared by the commands that run a model on the test set.
#[derive(clap::Args)]
pub struct ModelOnTest {
    /// Model file (NAME.bin).
    #[arg(long)]
    pub model: PathBuf,
    /// Data folder with the IDX files [default: $FIRSTSPIKE_DATA or data/mnist].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Use only the first N test images [default: all].
    #[arg(long)]
    pub limit: Option<usize>,
    /// Worker threads [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
}

impl ModelOnTest {
    /// Checks the thread count, loads the model and the test set, and checks that they fit:
    /// (threads, model, test set).
    pub fn load(&self) -> Result<(usize, firstspike::model::Model, Dataset)> {
        let threads = threads(self.threads)?;
        let model = firstspike::model::Model::load(&self.model)?;
        let test = load_split(&self.data, Split::Test, self.limit)?;
        model.check_input_dim(test.dim())?;
        Ok((threads, model, test))
    }
}

/// A progress bar on stderr over `len` items, labelled `what`; hidden when `quiet` (the
/// command prints JSON) or when stderr is not a terminal, so that logs and pipes stay clean.
pub fn progress_bar(len: usize, what: &str, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
            .expect("template")
            .progress_chars("=> "),
    );
    bar.set_prefix(what.to_string());
    bar
}

/// Prints a line on stderr above `bar` (whether or not the bar is drawn).
pub fn say_above(bar: &ProgressBar, line: &str) {
    bar.suspend(|| eprintln!("{line}"));
}
