//! The Python exception of each library error, chosen by the error's kind (its variant and,
//! for I/O, the operating system's error kind), never by its message.

use crate::Error;
use pyo3::exceptions::{
    PyFileNotFoundError, PyKeyboardInterrupt, PyOSError, PyPermissionError, PyRuntimeError,
    PyValueError,
};
use pyo3::PyErr;

/// The Python exception for a library error, with the library's message: a missing file
/// `FileNotFoundError`, other I/O `OSError` (or `PermissionError`), a stop on request
/// `KeyboardInterrupt`, a diverged run, disagreeing engines or a failed NIR write
/// `RuntimeError`, everything else (malformed files, shapes, settings, engine inputs)
/// `ValueError`.
pub(super) fn py_err(e: Error) -> PyErr {
    let msg = e.to_string();
    match &e {
        Error::Io { source, .. } => match source.kind() {
            std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(msg),
            std::io::ErrorKind::PermissionDenied => PyPermissionError::new_err(msg),
            _ => PyOSError::new_err(msg),
        },
        Error::NotFound { .. } | Error::DataNotFound { .. } => PyFileNotFoundError::new_err(msg),
        Error::Interrupted { .. } => PyKeyboardInterrupt::new_err(msg),
        Error::Diverged { .. } | Error::EnginesDisagree { .. } | Error::Nir { .. } => {
            PyRuntimeError::new_err(msg)
        }
        _ => PyValueError::new_err(msg),
    }
}

/// `Result` of the library into `PyResult`.
pub(super) trait OrPy<T> {
    fn py(self) -> pyo3::PyResult<T>;
}

impl<T> OrPy<T> for crate::Result<T> {
    fn py(self) -> pyo3::PyResult<T> {
        self.map_err(py_err)
    }
}

/// A `ValueError` with `msg`: an argument the Python caller got wrong.
pub(super) fn value_err(msg: impl Into<String>) -> PyErr {
    PyValueError::new_err(msg.into())
}

/// The thread count of a call: `None` = every core; 0 or negative is refused as the library
/// refuses a bad setting.
pub(super) fn thread_count(t: Option<i64>) -> pyo3::PyResult<usize> {
    match t {
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
        Some(n) if n >= 1 => Ok(n as usize),
        Some(n) => Err(py_err(Error::setting(
            "threads",
            format!("threads must be at least 1, got {n}"),
        ))),
    }
}
