//! Training: mini-batch gradient descent with Adam on the analytic solver.
//!
//! Owns the training loop ([`Trainer`], [`train`]), its settings ([`TrainConfig`]), the
//! optimiser ([`adam`]) and checkpoints ([`Checkpoint`]: a run frozen between two batches, to
//! resume bit for bit). Forward passes come from [`crate::analytic`], gradients from
//! [`crate::grad`], the loss from [`crate::loss`]. Nothing here prints or installs signal
//! handlers: progress and checkpoints go to callbacks, a stop request comes in as a flag.
//!
//! Each batch runs in two parallel phases on `threads` crossbeam scoped threads. First the
//! samples are split between workers: forward pass, loss and backward pass down to a small
//! per-sample gradient record ([`crate::grad::sample_grad`]). Then the weight rows are split
//! between threads ([`update`]): each sums its rows' gradient over the batch's records, takes
//! Adam's step on the loss gradient, then the weight-sum and L2 costs' own plain gradient step
//! (outside Adam, see `TrainConfig::weight_sum_k`). Every random choice (initial weights,
//! shuffling, input jitter, image shifts) comes from ChaCha8 generators seeded from `seed`, and no sum's
//! order depends on the thread split, so a run is reproducible bit for bit for a given seed
//! whatever the thread count, and so is a run stopped and resumed from a checkpoint any number
//! of times.
//!
//! ```no_run
//! use firstspike::data::{Dataset, Split};
//! use firstspike::train::{Checkpoint, RunEnd, Schedule, TrainConfig, Trainer};
//! let data = Dataset::load("data/mnist".as_ref(), Split::Train)?;
//! let cfg = TrainConfig { epochs: 2, ..TrainConfig::default() };
//! let mut last = None;
//! let mut t = Trainer::new(&cfg, &data, None)?;
//! // Stop after 100 batches, as an interruption would.
//! let schedule = Schedule { max_batches: Some(100), ..Schedule::default() };
//! let end = t.run(&schedule, |c| {
//!     last = Some(c.to_bytes());
//!     Ok(())
//! }, |_| {})?;
//! assert!(matches!(end, RunEnd::Stopped { .. }));
//! // Later: continue where it stopped.
//! let ckpt = Checkpoint::from_bytes(&last.unwrap(), "run.ckpt".as_ref())?;
//! let mut t = Trainer::resume(ckpt, &data, None)?;
//! t.run(&Schedule::default(), |_| Ok(()), |_| {})?;
//! let model = t.finish().model;
//! # Ok::<(), firstspike::Error>(())
//! ```

pub mod adam;
mod augment;
mod average;
mod checkpoint;
mod checkpoint_file;
mod config;
pub(crate) mod driver;
pub mod gain;
mod init;
mod legacy;
mod log;
pub mod quantise;
pub(crate) mod relu_start;
mod resume;
mod run;
mod setup;
mod teacher;
pub mod update;
mod worker;

pub use checkpoint::{
    Checkpoint, CHECKPOINT_VERSION, CHECKPOINT_VERSION_NO_DECISION_COST,
    CHECKPOINT_VERSION_NO_FIXED_ORIGIN, CHECKPOINT_VERSION_NO_GAIN,
    CHECKPOINT_VERSION_NO_GAIN_BAND, CHECKPOINT_VERSION_NO_TIME_LOSS,
};
pub use config::{
    Distill, GainBand, ReluStart, ScaleRule, TrainConfig, DISTILL_TEMPERATURE,
    DISTILL_TEMPERATURES, DISTILL_WEIGHT, GAIN_WEIGHT, LOSS_TEMPERATURES, MAX_LOSS_ORIGIN,
    RELU_IMAGES,
};
pub use init::init_model;
pub use log::{EpochLog, Progress, RunEnd, Schedule, Step, TrainOutcome};
pub use run::MAX_THREADS;
pub use run::{train, Trainer};
