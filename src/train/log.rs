//! What a training run reports and how it is driven: the log of each epoch ([`EpochLog`]),
//! the progress events a caller receives ([`Progress`]), the schedule of a run
//! ([`Schedule`]), how it ended ([`RunEnd`], [`Step`]) and its outcome ([`TrainOutcome`]).
//! Plain data: nothing here runs.

use super::gain::LayerGain;
use crate::model::Model;
use serde::{Deserialize, Serialize};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// What one epoch measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochLog {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean output loss over the training samples that had a target spike.
    pub train_loss: f64,
    /// Fraction of training samples classified correctly during the epoch (with jitter, weights
    /// changing as it goes).
    pub train_accuracy: f64,
    /// Test accuracy after the epoch (f64 analytic solver), if a test set was given and no
    /// validation set is held out.
    pub test_accuracy: Option<f64>,
    /// Accuracy on the held-out validation images after the epoch (f64 analytic solver),
    /// when the run holds some out (`TrainConfig::validation`).
    #[serde(default)]
    pub validation_accuracy: Option<f64>,
    /// Training samples on which no output fired.
    pub no_output_spike: usize,
    /// Adam step size used.
    pub lr: f64,
    /// Wall time of the epoch's training steps (not the test evaluation), seconds.
    pub seconds: f64,
    /// Neurons whose gradient denominator S - theta was floored (see `grad::DENOM_FLOOR`).
    pub floored: u64,
    /// Neurons too late to pass gradient (see `grad::GRAD_TIME_LIMIT`).
    pub too_late: u64,
    /// Per layer of neurons: the distribution of `S - theta` at the crossing over the
    /// epoch's training passes, and how many were below the gradient floor (see
    /// `train::gain`). Empty in logs written before it was measured.
    #[serde(default)]
    pub gain: Vec<LayerGain>,
}

/// Progress reports for the caller (e.g. a progress bar).
#[derive(Clone, Debug)]
pub enum Progress<'a> {
    /// A batch finished: epoch (from 1), samples done in this epoch, samples per epoch.
    Batch {
        /// Epoch, from 1.
        epoch: usize,
        /// Samples done this epoch.
        done: usize,
        /// Samples per epoch.
        total: usize,
    },
    /// An epoch finished.
    Epoch(&'a EpochLog),
    /// No neuron of a layer fired on any sample of a whole batch, so that layer (and every
    /// layer before it) got no gradient from the batch. A warning: training goes on.
    SilentLayer {
        /// Epoch, from 1.
        epoch: usize,
        /// Batch of the epoch, from 1.
        batch: usize,
        /// The silent layer, numbered as in traces: 1 = first hidden layer (0 would be the
        /// inputs), `layers` = the output layer.
        layer: usize,
        /// Layers of neurons (hidden and output).
        layers: usize,
        /// Neurons in the silent layer.
        neurons: usize,
    },
}

/// The result of [`train`](super::train) and [`Trainer::finish`](super::Trainer::finish).
#[derive(Clone, Debug)]
pub struct TrainOutcome {
    /// The trained model (weights in f64, settings in its metadata).
    pub model: Model,
    /// One entry per epoch.
    pub log: Vec<EpochLog>,
    /// Seconds spent in training steps (all epochs, without test evaluations; a resumed run
    /// counts the steps before its checkpoint too).
    pub train_seconds: f64,
}

/// When [`Trainer::run`](super::Trainer::run) hands out checkpoints and when it stops early.
#[derive(Clone, Copy, Debug, Default)]
pub struct Schedule<'a> {
    /// Also hand out a checkpoint once this much wall time has passed since the last one
    /// (checked after every batch). One is always handed out at every epoch end and when the
    /// run stops early.
    pub checkpoint_every: Option<Duration>,
    /// Stop after this many batches of this call (tests use it to simulate an interruption).
    pub max_batches: Option<u64>,
    /// Stop once this is set (checked before every batch). The caller raises it, e.g. from a
    /// Ctrl-C handler; the library installs none.
    pub stop: Option<&'a AtomicBool>,
}

/// How [`Trainer::run`](super::Trainer::run) ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunEnd {
    /// Every epoch is done.
    Finished,
    /// Stopped early, after handing out a checkpoint of this position.
    Stopped {
        /// The epoch in progress, from 1.
        epoch: usize,
        /// Batches of it done.
        batch: usize,
    },
}

/// What one `Trainer::step` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// One batch, within an epoch.
    Batch,
    /// One batch, the last of its epoch, and the epoch's end (log entry, test accuracy).
    EpochEnd,
    /// Nothing: every epoch was already done.
    Finished,
}
