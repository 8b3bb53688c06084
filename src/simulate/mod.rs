//! Running the engines over a data set, on several threads, and checking one against the
//! other: the data-set-level jobs that the command line and the Python module share.
//!
//! One concern per file:
//!
//! - [`dataset`]: the event engine on every sample ([`simulate`], counts and accuracy, and
//!   each run's trace if [`Record::Traces`] is asked for);
//! - [`mod@verify`]: spike-by-spike agreement of the event engine with the analytic solver (f64)
//!   ([`verify()`], [`compare`], [`VerifyReport`]);
//! - [`record`]: the traces of a data set by the analytic solver ([`record_analytic`]) or of
//!   chosen samples by either engine ([`record_samples`]);
//! - [`summary`]: the results as the command line's `--json` prints them and the Python
//!   module returns them ([`SimSummary`], [`EvalSummary`]), each key documented once.
//!
//! Every job reads its samples through [`crate::Samples`], fans out with the library's one
//! thread pool shape (contiguous chunks, the caller waiting) and reports progress through a
//! [`crate::Progress`].

pub mod dataset;
pub mod record;
pub mod summary;
pub mod verify;

pub use dataset::{simulate, Record, SimReport};
pub use record::{record_analytic, record_samples};
pub use summary::{EvalSummary, SimSummary, SparsityPair};
pub use verify::{compare, verify, VerifyReport, VERIFY_REL_TOL};
