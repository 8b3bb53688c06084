//! Helpers shared by the commands: data loading, printing JSON, thread counts, progress bars,
//! runs to the decision, training logs, recorded traces, picking recorded samples.

use firstspike::analytic::{evaluate, EvalStats, Net};
use firstspike::data::{Dataset, Split};
use firstspike::event::{CompiledNet, RunOptions};
use firstspike::model::Model;
use firstspike::progress::Progress;
use firstspike::simulate::{simulate, Record, SimReport};
use firstspike::trace::{write_traces, SampleTrace, TraceHeader};
use firstspike::{fsio, Arch, Error, Inputs, Result, Samples};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Environment variable naming the data folder when `--data` is not given. The command line
/// reads it; the library takes folders as arguments and reads no environment.
pub const DATA_ENV: &str = "FIRSTSPIKE_DATA";
/// Data folder used when neither `--data` nor [`DATA_ENV`] is given.
pub const DEFAULT_DATA_DIR: &str = "data/mnist";

/// Resolves the data folder: the flag, else `FIRSTSPIKE_DATA`, else `data/mnist`.
pub fn resolve_data_dir(flag: Option<&Path>) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    match std::env::var_os(DATA_ENV) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from(DEFAULT_DATA_DIR),
    }
}

/// Samples per trace file written by `--record`.
const TRACES_PER_FILE: usize = 1000;

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
pub fn print_json(v: &impl serde::Serialize) {
    // Through a `Value`, whose members are sorted by key: every command's object prints its
    // keys in the same (alphabetical) order, whether it comes from a struct or from `json!`.
    let v = serde_json::to_value(v).expect("json");
    outln!("{}", serde_json::to_string_pretty(&v).expect("json"));
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

/// The flags that give a command its samples as `.npy` arrays instead of IDX files.
#[derive(clap::Args)]
pub struct NpyInputs {
    /// Inputs as a .npy array instead of the IDX test set: float64 spike times (N, n_inputs),
    /// inf = no spike, or uint8 images (N, n_inputs), (N, H, W) or (N, H, W, C); --limit keeps
    /// the first rows.
    #[arg(long, conflicts_with = "data")]
    pub inputs: Option<PathBuf>,
    /// Labels of --inputs as a .npy array of integers (N,) [default: none, no accuracy].
    #[arg(long, requires = "inputs")]
    pub labels: Option<PathBuf>,
}

impl NpyInputs {
    /// The samples for `model`: the `.npy` arrays if `--inputs` is given, else the IDX test set
    /// of `data`; keeping the first `limit`.
    pub fn load(
        &self,
        data: &Option<PathBuf>,
        model: &Model,
        limit: Option<usize>,
    ) -> Result<Inputs> {
        match &self.inputs {
            Some(path) => {
                let arch = Arch::of_layers(&model.layers);
                let mut inputs = Inputs::load(path, self.labels.as_deref(), &arch)?;
                if let Some(n) = limit {
                    inputs.truncate(n)?;
                }
                Ok(inputs)
            }
            None => {
                let test = load_split(data, Split::Test, limit)?;
                model.check_input_dim(test.dim())?;
                Ok(Inputs::from_dataset(test))
            }
        }
    }
}

impl ModelOnTest {
    /// Checks the thread count, loads the model and the test set, and checks that they fit:
    /// (threads, model, test set).
    pub fn load(&self) -> Result<(usize, Model, Dataset)> {
        let threads = threads(self.threads)?;
        let model = Model::load(&self.model)?;
        let test = load_split(&self.data, Split::Test, self.limit)?;
        model.check_input_dim(test.dim())?;
        Ok((threads, model, test))
    }

    /// As [`ModelOnTest::load`], the samples being `npy`'s arrays if given: (threads, model,
    /// samples).
    pub fn load_with(&self, npy: &NpyInputs) -> Result<(usize, Model, Inputs)> {
        let threads = threads(self.threads)?;
        let model = Model::load(&self.model)?;
        let test = npy.load(&self.data, &model, self.limit)?;
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

/// Runs `model` (compiled as `net`) on every sample of `data` with the event engine, each
/// stopped at its decision, recording nothing.
pub fn simulate_to_decision<D: Samples + ?Sized>(
    net: &CompiledNet,
    model: &Model,
    data: &D,
    threads: usize,
    progress: Progress,
) -> Result<SimReport> {
    let opts = RunOptions {
        until_decision: true,
    };
    simulate(
        net,
        &model.encoding,
        data,
        opts,
        threads,
        Record::CountsOnly,
        progress,
    )
}

/// A JSON-lines training log rewritten in full (atomically) after every line, so that an
/// interrupted run leaves a whole file. A failed write is kept, not raised, so that training
/// goes on; [`JsonlLog::finish`] returns the first one.
pub struct JsonlLog {
    path: PathBuf,
    lines: String,
    err: Option<Error>,
}

impl JsonlLog {
    /// An empty log at `path`, written at once: an unwritable output fails before any work.
    pub fn create(path: PathBuf) -> Result<JsonlLog> {
        fsio::write_atomic(&path, b"")?;
        Ok(JsonlLog {
            path,
            lines: String::new(),
            err: None,
        })
    }

    /// Appends `entry` as one line and rewrites the file.
    pub fn push(&mut self, entry: &impl serde::Serialize) {
        self.lines
            .push_str(&serde_json::to_string(entry).expect("json"));
        self.lines.push('\n');
        if let Err(e) = fsio::write_atomic(&self.path, self.lines.as_bytes()) {
            self.err.get_or_insert(e);
        }
    }

    /// The log's path, or the first write error.
    pub fn finish(self) -> Result<PathBuf> {
        self.err.map_or(Ok(self.path), Err)
    }
}

/// Writes `traces` under `dir` (files of [`TRACES_PER_FILE`] samples), says so on stderr and
/// returns what the commands' `recorded` JSON member holds.
pub fn write_recorded(
    dir: &Path,
    header: &TraceHeader,
    traces: &[SampleTrace],
    quiet: bool,
) -> Result<serde_json::Value> {
    let bar = progress_bar(traces.len(), "write traces", quiet);
    let files = write_traces(dir, header, traces, TRACES_PER_FILE, &|k| bar.inc(k))?;
    bar.finish_and_clear();
    eprintln!(
        "recorded {} traces in {} files under {}",
        traces.len(),
        files.len(),
        dir.display()
    );
    Ok(json!({ "folder": dir, "traces": traces.len(), "files": files.len() }))
}

/// The recorded samples numbered `index`, in that order (`--index`); an index not among them
/// is an error naming `source`, the trace file or folder they came from.
pub fn pick_samples(
    samples: &[SampleTrace],
    index: &[usize],
    source: &Path,
) -> Result<Vec<SampleTrace>> {
    index
        .iter()
        .map(|&k| {
            samples
                .iter()
                .find(|s| s.sample == k as u64)
                .cloned()
                .ok_or_else(|| {
                    Error::setting(
                        "index",
                        format!("--index {k}: sample {k} is not in {}", source.display()),
                    )
                })
        })
        .collect()
}

/// The analytic solver's accuracy of `model` on `data` (f64), behind a progress bar labelled
/// `what`.
pub fn evaluate_with_bar<D: Samples + ?Sized>(
    model: &Model,
    data: &D,
    threads: usize,
    what: &str,
    quiet: bool,
) -> EvalStats {
    let bar = progress_bar(data.len(), what, quiet);
    let net = Net::<f64>::from_model(model);
    let st = evaluate(&net, &model.encoding, data, threads, &|k| bar.inc(k));
    bar.finish_and_clear();
    st
}
