//! The crate's one error type.
//!
//! Every fallible library call returns [`Result`]. Variants say what went wrong (a file that
//! cannot be read, a malformed model, a bad setting, a diverged run) and carry where: the file,
//! the sample, the setting's name, the epoch and batch. Messages speak of the library's own
//! names (the setting `epochs`, the field `t_max`); a front end adds its own words for them
//! (a command-line flag, a file convention). [`Error::is_usage`] tells a bad setting handed in
//! by the caller from a failure.

use std::path::{Path, PathBuf};

/// Errors of the firstspike library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A data file (IDX or `.npy`) is malformed: wrong magic, truncated, inconsistent counts,
    /// an array of the wrong dtype or shape or holding invalid values; or one is missing from
    /// its folder.
    #[error("{path}: {what}")]
    Data {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// A file the call reads does not exist: a model, a rate model, or one of a data set's
    /// IDX files. The message is the file's kind, its path and `file not found`, with a word on
    /// where the file comes from for a data file.
    #[error("{}{}: file not found{}", .file.prefix(), .path.display(), .file.suffix())]
    NotFound {
        /// The file looked for.
        path: PathBuf,
        /// What it should have held.
        file: FileKind,
    },
    /// The data folder does not exist.
    #[error("{path}: data folder not found (it should hold the MNIST IDX files)")]
    DataNotFound {
        /// The folder looked for.
        path: PathBuf,
    },
    /// A first-spike model is malformed, of another format version, or holds invalid weights.
    #[error("model{}: {what}", at(.path))]
    Model {
        /// The file concerned; `None` for a model in memory.
        path: Option<PathBuf>,
        /// What is wrong.
        what: String,
    },
    /// A rate-coded (ReLU) model is malformed, of another format version, or cannot be
    /// converted.
    #[error("rate model{}: {what}", at(.path))]
    RateModel {
        /// The file concerned; `None` for a network in memory.
        path: Option<PathBuf>,
        /// What is wrong.
        what: String,
    },
    /// A trace is malformed, of another version, or belongs to another model.
    #[error("trace{}: {}{what}", at(.path), sample_prefix(.sample))]
    Trace {
        /// The file concerned; `None` for traces in memory.
        path: Option<PathBuf>,
        /// The sample (its index in the data set) the trace of which is wrong, if one is.
        sample: Option<u64>,
        /// What is wrong.
        what: String,
    },
    /// A training checkpoint is missing, malformed, of another version, or inconsistent.
    #[error("checkpoint{}: {what}", at(.path))]
    Checkpoint {
        /// The file concerned; `None` for a checkpoint in memory.
        path: Option<PathBuf>,
        /// What is wrong.
        what: String,
    },
    /// A NIR (HDF5) file could not be built.
    #[error("NIR export{}: {what}", at(.path))]
    Nir {
        /// The file being written; `None` while building its bytes in memory.
        path: Option<PathBuf>,
        /// What went wrong.
        what: String,
    },
    /// A NIR graph could not be imported as a model: the file is not a NIR graph, or the graph
    /// holds something firstspike's network cannot compute exactly. Names the node concerned
    /// (where one is) and says why.
    #[error("NIR import{}: {}{what}", at(.path), node_prefix(.node))]
    NirImport {
        /// The file read; `None` for bytes in memory.
        path: Option<PathBuf>,
        /// The node the refusal concerns, if one does.
        node: Option<String>,
        /// The kind of refusal.
        refusal: NirRefusal,
        /// Why, as a sentence.
        what: String,
    },
    /// Shapes that must agree do not (model vs data, weights vs architecture).
    #[error("dimension mismatch: {what}")]
    Dimension {
        /// Which shapes, and how they differ.
        what: String,
    },
    /// An invalid setting handed to the library (a training or simulation setting, a limit, a
    /// thread count, an architecture string, a sample index).
    #[error("{}", setting_text(.name, .what))]
    InvalidSetting {
        /// The setting's name in the library (e.g. `epochs`, `limit`, `threads`, `arch`).
        name: &'static str,
        /// What is wrong with it, as a sentence; where it does not mention `name`, the message
        /// starts with `name: `.
        what: String,
    },
    /// Training diverged (non-finite loss or weights).
    #[error("training diverged: epoch {epoch}{}: {what}", batch_suffix(.batch))]
    Diverged {
        /// The epoch (from 1) in which it happened.
        epoch: usize,
        /// The batch (from 1) of that epoch, where known.
        batch: Option<usize>,
        /// What became non-finite.
        what: String,
    },
    /// A run was stopped on request (e.g. Ctrl-C) before it finished.
    #[error("interrupted: {what}{}", checkpoint_suffix(.checkpoint))]
    Interrupted {
        /// The checkpoint written before stopping, from which the run can continue.
        checkpoint: Option<PathBuf>,
        /// Where the run stopped.
        what: String,
    },
    /// The event engine was asked something it cannot do (an input time that is not a time, a
    /// synapse that is not feedforward, an empty network).
    #[error("engine: {what}")]
    Engine {
        /// What was asked.
        what: String,
    },
    /// A report the crate wrote (such as a robustness sweep's JSON) lacks a field or holds a
    /// value of the wrong type.
    #[error("report: {what}")]
    Report {
        /// What is missing or wrong.
        what: String,
    },
    /// The event engine and the analytic solver, run on the same inputs, disagree.
    #[error("the engines disagree: {what}")]
    EnginesDisagree {
        /// On what, and by how much.
        what: String,
    },
}

/// Why a NIR graph cannot be imported ([`Error::NirImport`]); the message says more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NirRefusal {
    /// Not a NIR graph file this reader understands: not HDF5, a field missing or of the wrong
    /// type, an edge naming a node that does not exist.
    Malformed,
    /// A node type firstspike has no counterpart for (e.g. `Delay`, `SumPool2d`, a nested
    /// `NIRGraph`, `Threshold`).
    UnknownNode,
    /// An edge that closes a cycle: a recurrent connection (firstspike networks are
    /// feedforward).
    Recurrent,
    /// The graph is not one chain from one `Input` to one `Output`: a node with two successors
    /// or two predecessors, a second input or output, a node off the chain.
    Branching,
    /// A leaky membrane (`LIF`, or `CubaLIF` with a finite `tau_mem`): firstspike's neuron
    /// does not leak.
    Leak,
    /// An `Affine` or `Conv2d` bias that is not zero: a constant input current, which
    /// firstspike's neuron does not have.
    Bias,
    /// Nodes in an order that is not weights then neurons (`Affine`/`Linear`/`Conv2d`, then
    /// `LI -> IF` or `CubaLIF`), e.g. an `IF` without an `LI` before it.
    Sequence,
    /// Shapes that do not fit together (a weight matrix against the layer before it, a
    /// parameter array against its layer).
    Shape,
    /// Values firstspike cannot represent exactly: time constants that differ between neurons,
    /// a nonzero `v_leak`, a non-positive threshold, a convolution geometry it lacks
    /// (non-square kernel, dilation, groups, ...).
    Unrepresentable,
}

/// What a missing file ([`Error::NotFound`]) should have held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileKind {
    /// A first-spike model (`NAME.bin`).
    Model,
    /// A rate-coded (ReLU) model (`NAME.bin`).
    RateModel,
    /// An IDX file of a data set (looked for with and without `.gz`).
    Data,
}

impl FileKind {
    /// What the message says before the path.
    fn prefix(self) -> &'static str {
        match self {
            FileKind::Model => "model ",
            FileKind::RateModel => "rate model ",
            FileKind::Data => "",
        }
    }
    /// What the message says after `file not found`.
    fn suffix(self) -> &'static str {
        match self {
            FileKind::Data => {
                " (looked for it with and without .gz); see docs/getting-started.md, \"Getting MNIST and Fashion-MNIST\""
            }
            FileKind::Model | FileKind::RateModel => "",
        }
    }
}

/// `Result` with the crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// ` PATH` for a path, nothing for none.
fn at(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map_or(String::new(), |p| format!(" {}", p.display()))
}

/// `node 'NAME': ` for a node, nothing for none.
fn node_prefix(node: &Option<String>) -> String {
    node.as_ref()
        .map_or(String::new(), |n| format!("node '{n}': "))
}

/// `sample K: ` for a sample, nothing for none.
fn sample_prefix(sample: &Option<u64>) -> String {
    sample.map_or(String::new(), |k| format!("sample {k}: "))
}

/// `, batch B` for a batch, nothing for none.
fn batch_suffix(batch: &Option<usize>) -> String {
    batch.map_or(String::new(), |b| format!(", batch {b}"))
}

/// `; wrote the checkpoint PATH` for a checkpoint, `; no checkpoint written` for none.
fn checkpoint_suffix(checkpoint: &Option<PathBuf>) -> String {
    checkpoint
        .as_ref()
        .map_or("; no checkpoint written".into(), |p| {
            format!("; wrote the checkpoint {}", p.display())
        })
}

/// `what` if it mentions `name` as a word, else `name: what`.
fn setting_text(name: &str, what: &str) -> String {
    if mentions(what, name) {
        what.to_string()
    } else {
        format!("{name}: {what}")
    }
}

/// Whether `text` contains `word` delimited by characters that cannot be part of a name
/// (letters, digits, `_`).
pub(crate) fn mentions(text: &str, word: &str) -> bool {
    let part = |c: char| c.is_alphanumeric() || c == '_';
    !word.is_empty()
        && text.match_indices(word).any(|(i, _)| {
            !text[..i].chars().next_back().is_some_and(part)
                && !text[i + word.len()..].chars().next().is_some_and(part)
        })
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
    /// A malformed data file.
    pub fn data(path: impl Into<PathBuf>, what: impl Into<String>) -> Self {
        Error::Data {
            path: path.into(),
            what: what.into(),
        }
    }
    /// A malformed or invalid model file.
    pub(crate) fn model(path: impl Into<PathBuf>, what: impl Into<String>) -> Self {
        Error::Model {
            path: Some(path.into()),
            what: what.into(),
        }
    }
    /// An invalid model in memory.
    pub(crate) fn model_in_memory(what: impl Into<String>) -> Self {
        Error::Model {
            path: None,
            what: what.into(),
        }
    }
    /// A malformed or invalid rate model file.
    pub(crate) fn rate_model(path: impl Into<PathBuf>, what: impl Into<String>) -> Self {
        Error::RateModel {
            path: Some(path.into()),
            what: what.into(),
        }
    }
    /// A malformed or mismatched trace file.
    pub fn trace(path: impl Into<PathBuf>, what: impl Into<String>) -> Self {
        Error::Trace {
            path: Some(path.into()),
            sample: None,
            what: what.into(),
        }
    }
    /// A malformed trace of one sample, in the file `path` (`None`: in memory).
    pub(crate) fn sample_trace(path: Option<&Path>, sample: u64, what: impl Into<String>) -> Self {
        Error::Trace {
            path: path.map(Path::to_path_buf),
            sample: Some(sample),
            what: what.into(),
        }
    }
    /// A missing, malformed or inconsistent checkpoint.
    pub(crate) fn checkpoint(path: impl Into<PathBuf>, what: impl Into<String>) -> Self {
        Error::Checkpoint {
            path: Some(path.into()),
            what: what.into(),
        }
    }
    /// A NIR graph refused on import; `node` is the node concerned, if one is.
    #[cfg(feature = "nir")]
    pub(crate) fn nir_import(
        node: Option<&str>,
        refusal: NirRefusal,
        what: impl Into<String>,
    ) -> Self {
        Error::NirImport {
            path: None,
            node: node.map(str::to_string),
            refusal,
            what: what.into(),
        }
    }
    /// Shapes that do not agree.
    pub fn dimension(what: impl Into<String>) -> Self {
        Error::Dimension { what: what.into() }
    }
    /// An invalid setting `name`; `what` says what is wrong, best as a sentence that starts
    /// with the name (`"limit must be at least 1"`).
    pub fn setting(name: &'static str, what: impl Into<String>) -> Self {
        Error::InvalidSetting {
            name,
            what: what.into(),
        }
    }
    /// A malformed report.
    pub fn report(what: impl Into<String>) -> Self {
        Error::Report { what: what.into() }
    }
    /// A request the event engine cannot serve.
    pub(crate) fn engine(what: impl Into<String>) -> Self {
        Error::Engine { what: what.into() }
    }
    /// Whether this is a bad setting handed in by the caller (a usage error: exit code 2 in
    /// the CLI), rather than a failure.
    pub fn is_usage(&self) -> bool {
        matches!(self, Error::InvalidSetting { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each variant's message names what it carries: the file, the sample, the setting, the
    /// epoch and batch, the checkpoint.
    // Long by design: one table row per variant, so that a new variant is one row more.
    #[test]
    fn each_variant_names_what_it_carries() {
        let p = || PathBuf::from("dir/file.bin");
        let cases: Vec<(Error, Vec<&str>)> = vec![
            (
                Error::io(p(), std::io::Error::other("disk full")),
                vec!["dir/file.bin", "disk full"],
            ),
            (
                Error::data(p(), "wrong magic"),
                vec!["dir/file.bin", "wrong magic"],
            ),
            (
                Error::DataNotFound { path: p() },
                vec!["dir/file.bin", "data folder not found"],
            ),
            (
                Error::NotFound {
                    path: p(),
                    file: FileKind::Model,
                },
                vec!["model dir/file.bin: file not found"],
            ),
            (
                Error::NotFound {
                    path: p(),
                    file: FileKind::Data,
                },
                vec!["dir/file.bin: file not found (looked for it with and without .gz)"],
            ),
            (
                Error::model(p(), "layer 2: weights 5 is NaN"),
                vec!["model dir/file.bin", "layer 2"],
            ),
            (Error::model_in_memory("bad"), vec!["model: bad"]),
            (
                Error::rate_model(p(), "bad magic"),
                vec!["rate model dir/file.bin", "bad magic"],
            ),
            (
                Error::trace(p(), "made with another model"),
                vec!["trace dir/file.bin: made"],
            ),
            (
                Error::sample_trace(Some(&p()), 7, "label 200"),
                vec!["trace dir/file.bin: sample 7: label 200"],
            ),
            (
                Error::sample_trace(None, 7, "label 200"),
                vec!["trace: sample 7: label 200"],
            ),
            (
                Error::checkpoint(p(), "file not found"),
                vec!["checkpoint dir/file.bin: file not found"],
            ),
            (
                Error::Nir {
                    path: Some(p()),
                    what: "HDF5 writer: x".into(),
                },
                vec!["dir/file.bin", "HDF5"],
            ),
            (
                Error::NirImport {
                    path: Some(p()),
                    node: Some("li_2".into()),
                    refusal: NirRefusal::Leak,
                    what: "leaks".into(),
                },
                vec!["NIR import dir/file.bin: node 'li_2': leaks"],
            ),
            (
                Error::nir_import(None, NirRefusal::Branching, "two outputs"),
                vec!["NIR import: two outputs"],
            ),
            (
                Error::dimension("3 inputs for 4"),
                vec!["dimension mismatch: 3 inputs for 4"],
            ),
            (
                Error::setting("limit", "limit must be at least 1"),
                vec!["limit must be at least 1"],
            ),
            (
                Error::setting("threads", "must be at least 1"),
                vec!["threads: must be at least 1"],
            ),
            (
                Error::Diverged {
                    epoch: 3,
                    batch: Some(5),
                    what: "loss inf".into(),
                },
                vec!["epoch 3, batch 5: loss inf"],
            ),
            (
                Error::Diverged {
                    epoch: 3,
                    batch: None,
                    what: "loss inf".into(),
                },
                vec!["epoch 3: loss inf"],
            ),
            (
                Error::Interrupted {
                    checkpoint: Some(p()),
                    what: "at epoch 2".into(),
                },
                vec!["interrupted: at epoch 2", "dir/file.bin"],
            ),
            (
                Error::report("temporal.levels: missing"),
                vec!["report: temporal.levels: missing"],
            ),
            (
                Error::engine("the network is empty"),
                vec!["engine: the network is empty"],
            ),
            (
                Error::EnginesDisagree {
                    what: "on 3 spikes".into(),
                },
                vec!["disagree", "on 3 spikes"],
            ),
        ];
        for (e, parts) in cases {
            let text = e.to_string();
            for part in parts {
                assert!(text.contains(part), "'{part}' not in '{text}'");
            }
        }
    }

    #[test]
    fn only_invalid_settings_are_usage_errors() {
        assert!(Error::setting("epochs", "epochs must be at least 1").is_usage());
        assert!(!Error::dimension("x").is_usage());
        assert!(!Error::engine("x").is_usage());
        assert!(!Error::Interrupted {
            checkpoint: None,
            what: "x".into()
        }
        .is_usage());
    }

    #[test]
    fn a_setting_is_mentioned_only_as_a_whole_word() {
        assert!(mentions("lr must be > 0", "lr"));
        assert!(mentions("a smaller (lr) helps", "lr"));
        assert!(!mentions("already finished", "lr"));
        assert!(!mentions("lr_decay must be > 0", "lr"));
    }
}
