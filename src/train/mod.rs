//! Training: mini-batch gradient descent with Adam on the analytic solver (SPEC 2).
//!
//! Owns the training loop, its settings ([`TrainConfig`]) and the optimiser ([`adam`]).
//! Forward passes come from [`crate::analytic`], gradients from [`crate::grad`], the loss from
//! [`crate::loss`]. Nothing here prints: progress goes to a callback the caller passes.
//!
//! Each batch is split between `threads` workers (crossbeam scoped threads), each with its own
//! gradient buffers; the buffers are summed, the weight-sum and L2 costs added, and Adam takes
//! one step. Every random choice (initial weights, shuffling, input jitter) comes from ChaCha8
//! generators seeded from `seed`, so a run is reproducible for a given seed and thread count.

pub mod adam;
mod config;
mod init;
mod run;

pub use config::TrainConfig;
pub use init::init_model;
pub use run::{train, EpochLog, Progress, TrainOutcome};
