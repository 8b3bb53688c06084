//! Progress of a long call, shown through Python: the caller's `progress=` resolved by
//! `firstspike._progress.resolve` into a sink (a callable's adapter, a `tqdm` bar, or lines
//! printed with `print`), which the library's worker threads feed. Nothing is written to the
//! process's stderr, so a notebook shows all of it.
//!
//! The workers call [`Reporter::add`] or [`Reporter::set`] without the GIL; a report takes the
//! GIL only when at least [`EVERY`] has passed since the last one (or the work is done), so the
//! workers seldom wait for Python. The first exception a sink raises is kept and raised when
//! the call returns ([`Reporter::finish`]); [`Reporter::failed`] tells a call that can stop
//! early (training) to stop.

use pyo3::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Least time between two reports to Python.
const EVERY: Duration = Duration::from_millis(100);

/// Reports of one call to its sink, if it has one.
pub(super) struct Reporter {
    sink: Option<Py<PyAny>>,
    total: u64,
    done: AtomicU64,
    reported: AtomicU64,
    last: Mutex<Option<Instant>>,
    err: Mutex<Option<PyErr>>,
    failed: AtomicBool,
}

impl Reporter {
    /// The reporter of a call over `total` items named `desc`, showing progress as
    /// `progress` says (see `firstspike._progress.resolve`); `lines`: whether a sink without
    /// `tqdm` prints a line per tenth of the work (or only what the call writes).
    pub(super) fn new(
        py: Python<'_>,
        progress: Option<&Bound<'_, PyAny>>,
        total: u64,
        desc: &str,
        lines: bool,
    ) -> PyResult<Reporter> {
        let sink = match progress {
            None => None,
            Some(p) => {
                let s = py
                    .import("firstspike._progress")?
                    .call_method1("resolve", (p, total, desc, lines))?;
                (!s.is_none()).then(|| s.unbind())
            }
        };
        Ok(Reporter {
            sink,
            total,
            done: AtomicU64::new(0),
            reported: AtomicU64::new(0),
            last: Mutex::new(None),
            err: Mutex::new(None),
            failed: AtomicBool::new(false),
        })
    }

    /// `k` more items done (called from the library's worker threads).
    pub(super) fn add(&self, k: u64) {
        let done = self.done.fetch_add(k, Ordering::Relaxed) + k;
        self.maybe_report(done);
    }

    /// `done` items done in all (called from the library's worker threads).
    pub(super) fn set(&self, done: u64) {
        self.done.store(done, Ordering::Relaxed);
        self.maybe_report(done);
    }

    /// Whether a sink raised: the call should stop.
    pub(super) fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    /// Writes `line` through the sink (above a bar), if there is one.
    pub(super) fn write(&self, line: &str) {
        if let Some(s) = &self.sink {
            Python::attach(|py| self.keep(s.call_method1(py, "write", (line,)).map(drop)));
        }
    }

    /// Reports `done` unless a report went out less than [`EVERY`] ago (the last one always
    /// goes out) or another thread is reporting.
    fn maybe_report(&self, done: u64) {
        let Some(s) = &self.sink else { return };
        let Ok(mut last) = self.last.try_lock() else {
            return;
        };
        if done < self.total && last.is_some_and(|t| t.elapsed() < EVERY) {
            return;
        }
        *last = Some(Instant::now());
        self.reported.store(done, Ordering::Relaxed);
        Python::attach(|py| self.keep(s.call_method1(py, "update", (done, self.total)).map(drop)));
    }

    /// Keeps the first error of a sink.
    fn keep(&self, r: PyResult<()>) {
        if let Err(e) = r {
            self.failed.store(true, Ordering::Relaxed);
            self.err.lock().expect("lock").get_or_insert(e);
        }
    }

    /// After the work (with the GIL): the last count if it did not go out, the sink closed;
    /// the first exception a sink raised, if one did.
    pub(super) fn finish(&self, py: Python<'_>) -> PyResult<()> {
        if let Some(s) = &self.sink {
            let done = self.done.load(Ordering::Relaxed);
            if self.reported.load(Ordering::Relaxed) != done && !self.failed() {
                self.keep(s.call_method1(py, "update", (done, self.total)).map(drop));
            }
            self.keep(s.call_method0(py, "close").map(drop));
        }
        match self.err.lock().expect("lock").take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
