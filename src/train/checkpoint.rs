//! Training checkpoints: everything a run needs to continue exactly where it stopped.
//!
//! Owns the [`Checkpoint`] type, its format versions and its validation (sizes, shapes, finite
//! numbers, a real permutation, a consistent position), so that [`super::Trainer::resume`] can
//! trust it. The file (magic, format version, bincode payload with floats bit for bit,
//! written atomically with the checkpoint it replaces kept as `NAME.prev`, read in any
//! supported version) is `checkpoint_file.rs`; older payloads are `legacy.rs`.
//! It does not decide when to checkpoint or run anything (see [`super::Trainer::run`]).

use super::adam::AdamState;
use super::gain::GainHist;
use super::{EpochLog, TrainConfig};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::loss::LossOrigin;
use crate::model::MAX_MODEL_BYTES;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub(crate) use crate::fileformat::CHECKPOINT_MAGIC;
/// Current checkpoint format version. The payload is bincode of [`Checkpoint`], so any change
/// to it (or to [`TrainConfig`] or [`EpochLog`]) needs a new version. Version 6 added
/// [`LossOrigin::At`] as the last variant of its enum, which leaves the encoding of every
/// other value as it was: a run without a fixed loss origin is written as version 5
/// ([`CHECKPOINT_VERSION_NO_FIXED_ORIGIN`]), which older builds resume.
/// Version 7 added [`LossOrigin::Time`] after it in the same way: a run with the time softmax
/// is written as version 7, one with a fixed origin as 6, any other as 5, and all three are
/// read. Version 8 added distillation ([`TrainConfig::distill`]), the gain statistics of
/// every epoch ([`EpochLog::gain`]) and the workers' counts of the epoch in progress
/// (`Checkpoint::gain`): new fields in the middle of the payload, so every run is written as
/// version 8; versions 5 to 7 are still read (`super::legacy`), their runs resuming without
/// distillation and with the gain statistics of the epoch in progress counting only what
/// comes after the resume. Version 9 added gain control ([`TrainConfig::gain_band`]) and the
/// start from the ReLU twin ([`TrainConfig::relu_start`]) at the end of the settings: every
/// run is written as version 9, and version 8 is read too (its runs resume with neither).
/// Version 10 added the decision cost ([`TrainConfig::decision_cost`]) at the end of the
/// settings: every run is written as version 10, and version 9 is read too (its runs resume
/// without it). Files of other versions are refused.
pub const CHECKPOINT_VERSION: u32 = 10;
/// The checkpoint format before the decision cost (see [`CHECKPOINT_VERSION`]); read, no
/// longer written.
pub const CHECKPOINT_VERSION_NO_DECISION_COST: u32 = 9;
/// The checkpoint format before gain control and the ReLU start (see
/// [`CHECKPOINT_VERSION`]); read, no longer written.
pub const CHECKPOINT_VERSION_NO_GAIN_BAND: u32 = 8;
/// The checkpoint format before distillation and the gain statistics (see
/// [`CHECKPOINT_VERSION`]); read, no longer written.
pub const CHECKPOINT_VERSION_NO_GAIN: u32 = 7;
/// The checkpoint format before [`LossOrigin::Time`]: the payload of version 7 for runs that
/// do not use it.
pub const CHECKPOINT_VERSION_NO_TIME_LOSS: u32 = 6;
/// The checkpoint format before [`LossOrigin::At`]: the payload of version 7 for runs that
/// use neither it nor [`LossOrigin::Time`].
pub const CHECKPOINT_VERSION_NO_FIXED_ORIGIN: u32 = 5;
/// Largest checkpoint file we read (bytes): weights, both Adam moments and the weights'
/// average in f32 for the largest model a model file can hold ([`MAX_WEIGHTS`] weights), plus
/// room for the permutation of a large training set.
pub(crate) const MAX_CHECKPOINT_BYTES: u64 = 4 * 4 * MAX_WEIGHTS as u64 + (1 << 32);
/// Most weights a trained model may have: the network description's limit, as many f64 as
/// fit in a model file, so that every model we train can be saved and loaded again.
pub(crate) use crate::network::MAX_WEIGHTS;
const _: () = assert!(MAX_WEIGHTS as u64 * 8 <= MAX_MODEL_BYTES);

/// What identifies a data set: its size and the sha256 of its contents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataId {
    /// Number of images.
    pub samples: u64,
    /// Image height.
    pub(crate) rows: u64,
    /// Image width.
    pub(crate) cols: u64,
    /// sha256 of rows, cols (u64 little-endian), the pixels, then the labels.
    pub(crate) sha256: [u8; 32],
}

impl DataId {
    /// The identity of `ds`. Cost: one sha256 pass over its bytes (about 0.1 s for MNIST's
    /// 47 MB of training images).
    pub(crate) fn of(ds: &Dataset) -> Self {
        let mut h = Sha256::new();
        h.update((ds.rows as u64).to_le_bytes());
        h.update((ds.cols as u64).to_le_bytes());
        h.update(&ds.images);
        h.update(&ds.labels);
        DataId {
            samples: ds.len() as u64,
            rows: ds.rows as u64,
            cols: ds.cols as u64,
            sha256: h.finalize().into(),
        }
    }
}

impl std::fmt::Display for DataId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hex: String = self.sha256[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        write!(
            f,
            "{} images of {}x{} pixels, sha256 {hex}…",
            self.samples, self.rows, self.cols
        )
    }
}

/// The position of a ChaCha8 generator: seed, stream and word position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RngState {
    /// The 32-byte seed.
    pub(crate) seed: [u8; 32],
    /// The stream.
    pub(crate) stream: u64,
    /// Words (32-bit) consumed since the start of the stream.
    pub(crate) word_pos: u128,
}

impl RngState {
    /// Where `rng` stands.
    pub(crate) fn of(rng: &ChaCha8Rng) -> Self {
        RngState {
            seed: rng.get_seed(),
            stream: rng.get_stream(),
            word_pos: rng.get_word_pos(),
        }
    }

    /// A generator standing exactly there: it draws what the saved one would have drawn.
    pub(crate) fn restore(&self) -> ChaCha8Rng {
        let mut r = ChaCha8Rng::from_seed(self.seed);
        r.set_stream(self.stream);
        r.set_word_pos(self.word_pos);
        r
    }
}

/// One worker's running totals over the current epoch (they make the epoch's log entry).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochTotals {
    /// Sum of output losses.
    pub(crate) loss: f64,
    /// Samples that had a target spike (and so a loss).
    pub(crate) loss_n: u64,
    /// Samples classified correctly.
    pub(crate) correct: u64,
    /// Samples on which no output fired.
    pub(crate) silent: u64,
    /// See [`crate::grad::BackwardStats::floored`].
    pub(crate) floored: u64,
    /// See [`crate::grad::BackwardStats::too_late`].
    pub(crate) too_late: u64,
}

impl EpochTotals {
    /// The totals of `self` and `other` together.
    pub(crate) fn plus(&self, other: &EpochTotals) -> EpochTotals {
        EpochTotals {
            loss: self.loss + other.loss,
            loss_n: self.loss_n + other.loss_n,
            correct: self.correct + other.correct,
            silent: self.silent + other.silent,
            floored: self.floored + other.floored,
            too_late: self.too_late + other.too_late,
        }
    }
}

/// A training run frozen between two batches.
///
/// Resuming it with the same data gives, batch for batch, the same weights as a run that was
/// never stopped: the weights and Adam state are stored exactly (f32), and so are the shuffle
/// generator's position, the epoch's permutation and the workers' running totals. Input
/// jitter and image shifts need no state (their generators are derived from seed, epoch and
/// sample).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The run's settings. `epochs` may be changed before resuming (the schedule does not
    /// depend on it); changing anything else breaks the equality with an unstopped run.
    pub config: TrainConfig,
    /// Name of the data set as the caller gave it (recorded in the final model).
    pub dataset: String,
    /// Where the caller loaded the data from, if it said (a hint for resuming: the data
    /// themselves are checked by content, [`Checkpoint::train_data`]).
    pub data_dir: String,
    /// The training set the run uses.
    pub train_data: DataId,
    /// The test set of the per-epoch test accuracy, if any.
    pub test_data: Option<DataId>,
    /// The epoch in progress, from 1 (`epochs + 1` once every epoch is done).
    pub epoch: usize,
    /// Batches of that epoch already done.
    pub batch: usize,
    /// Weights per layer, f32, input-major like [`crate::network::Dense::w`].
    pub weights: Vec<Vec<f32>>,
    /// Adam's moments and step count.
    pub(crate) adam: AdamState,
    /// The weights' running average (`TrainConfig::average`), one buffer per layer like
    /// `weights`; empty when averaging is off.
    pub(crate) average: Vec<Vec<f32>>,
    /// The permutation of the training set that the current epoch walks through.
    pub order: Vec<u32>,
    /// The shuffle generator, after the current epoch's shuffle.
    pub(crate) shuffle_rng: RngState,
    /// Per worker (`config.threads` of them): running totals of the current epoch.
    pub totals: Vec<EpochTotals>,
    /// One entry per finished epoch.
    pub log: Vec<EpochLog>,
    /// Seconds of training steps in finished epochs.
    pub train_seconds: f64,
    /// Seconds of training steps so far in the current epoch.
    pub epoch_seconds: f64,
    /// Per worker: its counts of `S - theta` over the current epoch (see `train::gain`);
    /// empty in a checkpoint of version 7 or older.
    pub(crate) gain: Vec<GainHist>,
}

impl Checkpoint {
    /// Continues the run on `threads` threads. The thread count changes no result (samples and
    /// weight rows are split between threads, never the order of a sum), so the weights go on
    /// bit for bit; only the epoch's running totals are merged, so the epoch's logged mean
    /// loss may differ in its last bits.
    pub fn set_threads(&mut self, threads: usize) {
        if threads == self.config.threads || threads == 0 {
            return;
        }
        let sum = self
            .totals
            .iter()
            .fold(EpochTotals::default(), |acc, t| acc.plus(t));
        self.totals = vec![EpochTotals::default(); threads];
        self.totals[0] = sum;
        if !self.gain.is_empty() {
            let mut all = GainHist::default();
            self.gain.iter().for_each(|g| all.merge(g));
            let layers = self.weights.len();
            self.gain = vec![GainHist::new(layers); threads];
            self.gain[0] = all;
        }
        self.config.threads = threads;
    }

    /// Batches per epoch.
    pub(crate) fn batches_per_epoch(&self) -> usize {
        self.order.len().div_ceil(self.config.batch_size.max(1))
    }

    /// Checks everything a resume relies on: an [`Error::Checkpoint`] (of a checkpoint in
    /// memory) says what is wrong.
    pub fn validate(&self) -> Result<()> {
        self.problems()
            .map_err(|what| Error::Checkpoint { path: None, what })
    }

    /// What [`Checkpoint::validate`] finds wrong, if anything, in words.
    pub(super) fn problems(&self) -> std::result::Result<(), String> {
        self.config
            .validate()
            .map_err(|e| format!("holds invalid settings: {e}"))?;
        self.check_buffers()?;
        self.check_adam()?;
        self.check_order()?;
        self.check_progress()
    }

    /// The weights, both Adam moments and (with averaging) the weights' average: one buffer
    /// per layer of the architecture, each of that layer's size, all finite.
    fn check_buffers(&self) -> std::result::Result<(), String> {
        let c = &self.config;
        // The settings' check bounds the weights by MAX_WEIGHTS: building is safe.
        let sizes: Vec<usize> = c
            .arch
            .build(|_, _, n| vec![(); n])
            .iter()
            .map(|l| l.weights().len())
            .collect();
        let n_layers = sizes.len();
        let units = c.arch.sizes();
        let mut buffers = vec![
            ("weights", &self.weights),
            ("Adam first moments", &self.adam.m),
            ("Adam second moments", &self.adam.v),
        ];
        if c.average > 0.0 {
            buffers.push(("weight averages", &self.average));
        } else if !self.average.is_empty() {
            return Err(format!(
                "{} layers of weight averages for a run without averaging",
                self.average.len()
            ));
        }
        for (name, bufs) in buffers {
            if bufs.len() != n_layers {
                return Err(format!(
                    "{} layers of {name} for architecture {}",
                    bufs.len(),
                    c.arch
                ));
            }
            for (k, (b, &n)) in bufs.iter().zip(&sizes).enumerate() {
                if b.len() != n {
                    return Err(format!(
                        "layer {k}: {} {name} for {} x {} neurons ({n} weights)",
                        b.len(),
                        units[k],
                        units[k + 1]
                    ));
                }
                if let Some(p) = b.iter().position(|x| !x.is_finite()) {
                    return Err(format!("layer {k}: {name} {p} is {}", b[p]));
                }
            }
        }
        Ok(())
    }

    /// Adam's second moments are not negative, nor is its step count.
    fn check_adam(&self) -> std::result::Result<(), String> {
        if let Some((k, _)) = self
            .adam
            .v
            .iter()
            .enumerate()
            .find(|(_, v)| v.iter().any(|&x| x < 0.0))
        {
            return Err(format!("layer {k}: a negative Adam second moment"));
        }
        if self.adam.t < 0 {
            return Err(format!("Adam step count {} is negative", self.adam.t));
        }
        Ok(())
    }

    /// The training data fits the input layer, and the sample order is a permutation of the
    /// images that are not held out for validation.
    fn check_order(&self) -> std::result::Result<(), String> {
        let d = &self.train_data;
        let units = self.config.arch.sizes();
        if d.samples == 0 || d.rows.checked_mul(d.cols) != Some(units[0] as u64) {
            return Err(format!(
                "training data of {} images of {}x{} pixels for {} inputs",
                d.samples, d.rows, d.cols, units[0]
            ));
        }
        // The last `validation` images are held out: the order covers the others.
        let trained = d.samples.checked_sub(self.config.validation as u64);
        if trained.is_none_or(|n| n == 0 || self.order.len() as u64 != n) {
            return Err(format!(
                "a permutation of {} samples for {} training images of which {} are held out for validation",
                self.order.len(),
                d.samples,
                self.config.validation
            ));
        }
        let mut seen = vec![false; self.order.len()];
        for &i in &self.order {
            match seen.get_mut(i as usize) {
                Some(s) if !*s => *s = true,
                _ => return Err(format!("the sample order is not a permutation (sample {i} is out of range or repeated)")),
            }
        }
        Ok(())
    }

    /// Where the run stands: worker totals, epoch, batch, log and clocks agree with the
    /// settings and with each other.
    fn check_progress(&self) -> std::result::Result<(), String> {
        let c = &self.config;
        if self.totals.len() != c.threads {
            return Err(format!(
                "{} worker totals for {} threads",
                self.totals.len(),
                c.threads
            ));
        }
        let layers = self.weights.len();
        if !(self.gain.is_empty() || self.gain.len() == c.threads)
            || self.gain.iter().any(|g| !g.fits(layers))
        {
            return Err(format!(
                "gain counts of {} workers for {} threads and {layers} layers",
                self.gain.len(),
                c.threads
            ));
        }
        // Counts are sums of spikes: 2^53 of them would take years. More is corruption (and
        // would overflow when the workers' counts are merged).
        for l in 0..layers {
            let total = self.gain.iter().try_fold(0u64, |acc, g| {
                g.bins[l].iter().try_fold(acc, |a, &c| a.checked_add(c))
            });
            let floored = self
                .gain
                .iter()
                .try_fold(0u64, |acc, g| acc.checked_add(g.floored[l]));
            match (total, floored) {
                (Some(t), Some(f)) if t < 1 << 53 && f <= t => {}
                _ => return Err(format!("layer {l}: gain counts out of range")),
            }
        }
        if let Some(t) = self.totals.iter().find(|t| !t.loss.is_finite()) {
            return Err(format!("an epoch loss total of {}", t.loss));
        }
        let after_last = c.epochs.saturating_add(1);
        if self.epoch == 0 || self.epoch > after_last {
            return Err(format!("epoch {} of a {}-epoch run", self.epoch, c.epochs));
        }
        if self.batch >= self.batches_per_epoch() || (self.epoch == after_last && self.batch > 0) {
            return Err(format!(
                "batch {} of epoch {} ({} batches per epoch, {} epochs)",
                self.batch,
                self.epoch,
                self.batches_per_epoch(),
                c.epochs
            ));
        }
        if self.log.len() + 1 != self.epoch
            || self.log.iter().enumerate().any(|(k, e)| e.epoch != k + 1)
        {
            return Err(format!(
                "a log of {} epochs at epoch {}",
                self.log.len(),
                self.epoch
            ));
        }
        for (name, s) in [
            ("train_seconds", self.train_seconds),
            ("epoch_seconds", self.epoch_seconds),
        ] {
            if !(s.is_finite() && s >= 0.0) {
                return Err(format!("{name} is {s}"));
            }
        }
        Ok(())
    }

    /// The format version this checkpoint is written with: [`CHECKPOINT_VERSION`] (its
    /// payload differs from every older one's).
    pub fn format_version(&self) -> u32 {
        CHECKPOINT_VERSION
    }

    /// The oldest format version that can hold this run's loss origin (a version 5-7 file
    /// claiming an origin its version did not know is corrupt).
    pub(super) fn least_version(&self) -> u32 {
        match self.config.loss_origin {
            LossOrigin::Time(_) => CHECKPOINT_VERSION_NO_GAIN,
            LossOrigin::At(_) => CHECKPOINT_VERSION_NO_TIME_LOSS,
            LossOrigin::Input | LossOrigin::FirstOutput => CHECKPOINT_VERSION_NO_FIXED_ORIGIN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngCore;

    #[test]
    fn rng_state_restores_the_stream() {
        let mut r = ChaCha8Rng::seed_from_u64(9);
        for _ in 0..5 {
            r.next_u32();
        }
        let saved = RngState::of(&r);
        let a: Vec<u64> = (0..10).map(|_| r.next_u64()).collect();
        let mut q = saved.restore();
        let b: Vec<u64> = (0..10).map(|_| q.next_u64()).collect();
        assert_eq!(a, b);
    }
}
