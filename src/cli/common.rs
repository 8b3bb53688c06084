//! Helpers shared by the commands: data loading, printing JSON, thread counts.

use firstspike::data::{resolve_data_dir, Dataset, Split};
use firstspike::{Error, Result};
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
        Some(0) => Err(Error::Usage("--threads must be at least 1".into())),
        Some(n) => Ok(n),
        None => Ok(default_threads()),
    }
}

/// Prints one JSON object on stdout.
pub fn print_json(v: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(v).expect("json"));
}
