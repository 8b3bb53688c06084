//! Progress of long library calls, for a caller that wants to show it.
//!
//! Owns one type and one constant. A call that runs over a whole data set (evaluating,
//! simulating, verifying, recording, replaying) takes a [`Progress`]: a function that it
//! calls, from whichever worker thread finished them, with the number of samples (or files)
//! just done. The library never draws or prints anything itself; the command line turns these
//! calls into a progress bar. [`NO_PROGRESS`] ignores them and costs one indirect call per
//! sample.

/// Called with the number of items just finished; must be cheap and thread-safe (the
/// command line's progress bar adds to an atomic counter).
pub type Progress<'a> = &'a (dyn Fn(u64) + Sync);

/// A [`Progress`] that ignores every report.
pub const NO_PROGRESS: Progress<'static> = &|_| {};
