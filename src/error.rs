//! The crate's one error type.
//!
//! Every fallible library call returns [`Result`]. Variants carry the offending input (a path,
//! a field, a value) so that a message can say what is wrong and what to do; the CLI maps
//! [`Error::Usage`] to exit code 2 and everything else to 1.

use std::path::PathBuf;

/// Errors of the firstspike library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A data file (IDX) is malformed: wrong magic, truncated, inconsistent counts.
    #[error("{path}: {what}")]
    Data {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong, and what to do about it.
        what: String,
    },
    /// A model file is malformed, of another format version, or holds invalid weights.
    #[error("model {path}: {what}")]
    Model {
        /// The file concerned (or `<memory>`).
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// A trace file is malformed, of another version, or belongs to another model.
    #[error("trace {path}: {what}")]
    Trace {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// Shapes that must agree do not (model vs data, weights vs architecture).
    #[error("dimension mismatch: {0}")]
    Dimension(String),
    /// An invalid value given by the caller (a setting, an input time, an architecture string).
    #[error("{0}")]
    Usage(String),
    /// Training diverged (non-finite loss or weights).
    #[error("training diverged: {0}")]
    Diverged(String),
    /// The event engine was asked something it cannot do (e.g. an event in the past).
    #[error("engine: {0}")]
    Engine(String),
}

/// `Result` with the crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

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
    /// A malformed or invalid model.
    pub fn model(path: impl Into<PathBuf>, what: impl Into<String>) -> Self {
        Error::Model {
            path: path.into(),
            what: what.into(),
        }
    }
    /// A malformed or mismatched trace.
    pub fn trace(path: impl Into<PathBuf>, what: impl Into<String>) -> Self {
        Error::Trace {
            path: path.into(),
            what: what.into(),
        }
    }
    /// Whether this is a usage error (exit code 2 in the CLI).
    pub fn is_usage(&self) -> bool {
        matches!(self, Error::Usage(_))
    }
}
