//! The training loop: a [`Trainer`] that takes one batch at a time, can be frozen into a
//! [`Checkpoint`] between any two batches, and rebuilt from one ([`Trainer::resume`]) to
//! continue bit for bit as if it had never stopped (same seed; the thread count may differ,
//! see [`Checkpoint::set_threads`]).
//!
//! [`Trainer::run`] drives the batches: it hands out a checkpoint at every epoch end, every
//! [`Schedule::checkpoint_every`] of wall time and when it stops early (a stop flag the caller
//! raises, e.g. on Ctrl-C, or a batch budget). It installs no signal handler and writes no
//! file itself: checkpoints go to the caller's callback. [`train`] runs from scratch to the end.
//!
//! This file holds the trainer's state and its batch and epoch steps. Starting a run is
//! `setup.rs`, resuming one `resume.rs`, the per-sample pipeline of a worker `worker.rs`, and
//! what a run reports `log.rs`.

use super::adam::Adam;
use super::average;
use super::checkpoint::{Checkpoint, DataId, EpochTotals, RngState};
use super::driver::{self, EpochSteps};
use super::gain::GainHist;
use super::log::{EpochLog, Progress, RunEnd, Schedule, Step, TrainOutcome};
use super::quantise::quantise;
use super::teacher::Teacher;
use super::update::{UpdateSettings, Updater};
use super::worker::{EventSide, Worker};
use super::TrainConfig;
use crate::analytic::{evaluate, Net};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::event::{CompiledNet, Engine, EventNet};
use crate::grad::SampleGrad;
use crate::model::Model;
use crate::network::Layer;
use crate::parallel::par_each_mut;
use crate::trace::TraceRecorder;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use std::ops::Range;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// Most worker threads a run may use (each holds a gradient buffer as large as the model).
pub const MAX_THREADS: usize = 256;

/// A training run in progress: weights, optimiser, data order and position.
pub struct Trainer<'d> {
    pub(super) cfg: TrainConfig,
    pub(super) train_data: &'d Dataset,
    pub(super) test_data: Option<&'d Dataset>,
    /// The held-out validation images (the last `cfg.validation` of the training data).
    pub(super) validation: Option<Dataset>,
    pub(super) train_id: DataId,
    pub(super) test_id: Option<DataId>,
    pub(super) dataset: String,
    pub(super) data_dir: String,
    /// The f64 model: settings and provenance; its weights are written from `net` when needed.
    pub(super) model: Model,
    pub(super) net: Net<f32>,
    pub(super) adam: Adam,
    /// Source of Adam's hyper-parameters (beta1, beta2, eps).
    pub(super) workers: Vec<Worker>,
    pub(super) order: Vec<usize>,
    pub(super) shuffle_rng: ChaCha8Rng,
    /// The epoch in progress, from 1; `cfg.epochs + 1` once all are done.
    pub(super) epoch: usize,
    /// Batches of `epoch` done.
    pub(super) batch: usize,
    pub(super) log: Vec<EpochLog>,
    pub(super) train_seconds: f64,
    pub(super) epoch_seconds: f64,
    /// One gradient record per sample of a batch.
    pub(super) records: Vec<SampleGrad<f32>>,
    pub(super) updater: Updater,
    pub(super) ev_net: Option<CompiledNet>,
    /// The weights' running average (`TrainConfig::average`), per layer; empty when off.
    pub(super) average: Vec<Vec<f32>>,
    /// The teacher's logits, when the run distils (`TrainConfig::distill`).
    pub(super) teacher: Option<Teacher>,
}

/// The model as it is run and saved: with quantisation-aware training, every layer's weights
/// quantised to `cfg.quantise_bits` bits; else the model itself.
fn deployed(model: &Model, cfg: &TrainConfig) -> Model {
    let mut m = model.clone();
    if cfg.quantise_bits > 0 {
        m.layers
            .iter_mut()
            .for_each(|l| quantise(l.weights_mut(), cfg.quantise_bits));
    }
    m
}

/// The Adam step size of `epoch` (from 1): `lr lr_decay^(epoch - 1)`.
fn epoch_lr(cfg: &TrainConfig, epoch: usize) -> f64 {
    cfg.lr * cfg.lr_decay.powi(epoch as i32 - 1)
}

impl<'d> Trainer<'d> {
    /// Names the data set (recorded in checkpoints and in the final model's metadata).
    pub fn set_dataset(&mut self, name: &str) {
        self.dataset = name.to_string();
    }

    /// Records where the data came from (kept in checkpoints, as a hint for resuming).
    pub fn set_data_dir(&mut self, dir: &str) {
        self.data_dir = dir.to_string();
    }

    /// The run's settings.
    pub fn config(&self) -> &TrainConfig {
        &self.cfg
    }

    /// Where the run stands: the epoch in progress (from 1; `epochs + 1` when all are done)
    /// and the batches of it done.
    pub fn position(&self) -> (usize, usize) {
        (self.epoch, self.batch)
    }

    /// Batches per epoch.
    pub fn batches_per_epoch(&self) -> usize {
        self.order.len().div_ceil(self.cfg.batch_size)
    }

    /// Whether every epoch is done.
    pub(crate) fn is_finished(&self) -> bool {
        self.epoch > self.cfg.epochs
    }

    /// The log of the finished epochs.
    pub fn log(&self) -> &[EpochLog] {
        &self.log
    }

    /// Freezes the run as it stands (between two batches).
    pub(crate) fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            config: self.cfg.clone(),
            dataset: self.dataset.clone(),
            data_dir: self.data_dir.clone(),
            train_data: self.train_id.clone(),
            test_data: self.test_id.clone(),
            epoch: self.epoch,
            batch: self.batch,
            weights: self
                .net
                .layers
                .iter()
                .map(|l| l.weights().to_vec())
                .collect(),
            adam: self.adam.state.clone(),
            average: self.average.clone(),
            order: self.order.iter().map(|&i| i as u32).collect(),
            shuffle_rng: RngState::of(&self.shuffle_rng),
            totals: self.workers.iter().map(|w| w.totals).collect(),
            gain: self.workers.iter().map(|w| w.gain.clone()).collect(),
            log: self.log.clone(),
            train_seconds: self.train_seconds,
            epoch_seconds: self.epoch_seconds,
        }
    }

    /// Runs batches until every epoch is done or `schedule` stops it, handing every
    /// checkpoint to `on_checkpoint` (an error from it ends the run with that error) and
    /// reporting to `progress`. On divergence it returns [`Error::Diverged`] without a
    /// checkpoint of the diverged state, so the last one handed out stays the last good one.
    pub fn run(
        &mut self,
        schedule: &Schedule,
        mut on_checkpoint: impl FnMut(&Checkpoint) -> Result<()>,
        mut progress: impl FnMut(Progress),
    ) -> Result<RunEnd> {
        let mut last = Instant::now();
        let mut done = 0u64;
        let mut saved_here = false;
        while !self.is_finished() {
            let stop = schedule.stop.is_some_and(|s| s.load(Ordering::SeqCst))
                || schedule.max_batches.is_some_and(|m| done >= m);
            if stop {
                if !saved_here {
                    on_checkpoint(&self.checkpoint())?;
                }
                return Ok(RunEnd::Stopped {
                    epoch: self.epoch,
                    batch: self.batch,
                });
            }
            let step = self.step(&mut progress)?;
            done += 1;
            saved_here = step == Step::EpochEnd
                || schedule
                    .checkpoint_every
                    .is_some_and(|d| last.elapsed() >= d);
            if saved_here {
                on_checkpoint(&self.checkpoint())?;
                last = Instant::now();
            }
        }
        Ok(RunEnd::Finished)
    }

    /// One batch (and, after the last batch of an epoch, the epoch's end), by the epoch
    /// driver (`train::driver`: shuffle before an epoch's first batch, batches, the epoch's end).
    pub fn step(&mut self, progress: &mut dyn FnMut(Progress)) -> Result<Step> {
        driver::step(self, progress)
    }

    /// With quantisation-aware training, quantises the weights the passes will see and
    /// returns the full-precision ones; `None` otherwise.
    fn quantise_for_passes(&mut self) -> Option<Vec<Vec<f32>>> {
        let bits = self.cfg.quantise_bits;
        (bits > 0).then(|| {
            self.net
                .layers
                .iter_mut()
                .map(|l| {
                    let keep = l.weights().to_vec();
                    quantise(l.weights_mut(), bits);
                    keep
                })
                .collect()
        })
    }

    /// Gives the event engine (when its traces feed the backward pass) the current weights.
    fn refresh_event_net(&mut self) -> Result<()> {
        let Some(en) = self.ev_net.as_mut() else {
            return Ok(());
        };
        self.net.write_to(&mut self.model);
        let layers = &self.model.layers;
        if layers.iter().all(|l| matches!(l, Layer::Dense(_))) {
            en.set_weights(layers.iter().flat_map(|l| l.weights().iter().copied()))
        } else {
            // A convolution's weights are shared between synapses: laid out anew.
            *en = EventNet::from_model(&self.model)?.compile()?;
            Ok(())
        }
    }

    /// Runs the forward and backward passes of the batch's samples (`self.order[batch]`)
    /// over the workers, into the gradient records; returns how many workers had samples.
    fn run_samples(&mut self, batch: Range<usize>) -> usize {
        let (cfg, epoch) = (&self.cfg, self.epoch);
        let batch = &self.order[batch];
        let per = batch.len().div_ceil(cfg.threads);
        let scale = 1.0 / batch.len() as f32;
        let records = &mut self.records[..batch.len()];
        let (net, data) = (&self.net, self.train_data);
        let (ev_net, model) = (&self.ev_net, &self.model);
        let teacher = self.teacher.as_ref();
        let mut jobs: Vec<_> = self
            .workers
            .iter_mut()
            .zip(batch.chunks(per).zip(records.chunks_mut(per)))
            .collect();
        par_each_mut(&mut jobs, |_, (w, (part, recs))| {
            w.fired.iter_mut().for_each(|f| *f = 0);
            let mut ev = ev_net.as_ref().map(|n| EventSide {
                engine: Engine::new(n),
                rec: TraceRecorder::new(n),
                model,
            });
            for (&idx, rec) in part.iter().zip(recs.iter_mut()) {
                w.sample(net, ev.as_mut(), cfg, data, teacher, idx, epoch, scale, rec);
            }
        });
        batch.chunks(per).count()
    }

    /// Reports every layer of which no neuron fired on any sample of the batch (it passes no
    /// gradient), given the number of workers that had samples.
    fn report_silent_layers(&self, used: usize, progress: &mut dyn FnMut(Progress)) {
        let layers = self.net.layers.len();
        for l in 0..layers {
            if self.workers[..used].iter().all(|w| w.fired[l] == 0) {
                progress(Progress::SilentLayer {
                    epoch: self.epoch,
                    batch: self.batch + 1,
                    layer: l + 1,
                    layers,
                    neurons: self.net.layers[l].n_out(),
                });
            }
        }
    }

    /// Writes the weights that the run evaluates and saves into `self.model`: with averaging
    /// (`TrainConfig::average`) the weights' average, else the weights themselves.
    fn write_model(&mut self) {
        self.net.write_to(&mut self.model);
        for (l, a) in self.model.layers.iter_mut().zip(&self.average) {
            for (d, &s) in l.weights_mut().iter_mut().zip(a) {
                *d = f64::from(s);
            }
        }
    }

    /// Consumes the trainer: the model as it stands (fully trained once finished; with
    /// averaging, the weights' average), its log.
    pub fn finish(mut self) -> TrainOutcome {
        self.write_model();
        self.model = deployed(&self.model, &self.cfg);
        self.model.meta.epochs_trained = self.log.len();
        self.model.meta.train = Some(self.cfg.record());
        self.model.meta.dataset = self.dataset.clone();
        TrainOutcome {
            model: self.model,
            log: self.log,
            train_seconds: self.train_seconds,
        }
    }
}

impl<'r> EpochSteps<dyn FnMut(Progress) + 'r> for Trainer<'_> {
    fn epoch(&self) -> usize {
        self.epoch
    }

    fn epochs(&self) -> usize {
        self.cfg.epochs
    }

    fn batch(&self) -> usize {
        self.batch
    }

    fn batches_per_epoch(&self) -> usize {
        Trainer::batches_per_epoch(self)
    }

    fn begin_epoch(&mut self) {
        self.order.shuffle(&mut self.shuffle_rng);
        let layers = self.net.layers.len();
        self.workers.iter_mut().for_each(|w| {
            w.totals = EpochTotals::default();
            w.gain = GainHist::new(layers);
        });
    }

    fn add_seconds(&mut self, seconds: f64) {
        self.epoch_seconds += seconds;
    }

    fn train_batch(&mut self, progress: &mut (dyn FnMut(Progress) + 'r)) -> Result<()> {
        let (epoch, b) = (self.epoch, self.batch);
        let bs = self.cfg.batch_size;
        let batch = b * bs..((b + 1) * bs).min(self.order.len());
        // Quantisation-aware training: the passes see the quantised weights, the update goes
        // to the full-precision ones (kept aside meanwhile).
        let full_precision = self.quantise_for_passes();
        self.refresh_event_net()?;
        let used = self.run_samples(batch.clone());
        self.report_silent_layers(used, progress);
        if let Some(full) = full_precision {
            for (l, w) in self.net.layers.iter_mut().zip(full) {
                l.weights_mut().copy_from_slice(&w);
            }
        }
        let cfg = &self.cfg;
        let settings = UpdateSettings {
            lr: epoch_lr(cfg, epoch) as f32,
            weight_sum_k: cfg.weight_sum_k as f32,
            l2: cfg.l2 as f32,
            clip_norm: cfg.clip_norm,
            threads: cfg.threads,
        };
        let records = &self.records[..batch.len()];
        let bad = self
            .updater
            .apply(&mut self.net, &mut self.adam, records, &settings);
        let loss: f64 = self.workers.iter().map(|w| w.totals.loss).sum();
        let diverged = |what: String| Error::Diverged {
            epoch,
            batch: Some(b + 1),
            what,
        };
        if !loss.is_finite() {
            return Err(diverged(format!("the training loss became {loss}")));
        }
        if let Some(bad) = bad {
            return Err(diverged(format!(
                "weight {} of layer {} became non-finite",
                bad.index, bad.layer
            )));
        }
        if cfg.average > 0.0 {
            // The step just taken is step t - 1 (Adam counts them from 1).
            let step = u64::try_from(self.adam.state.t - 1).unwrap_or(0);
            let beta = average::factor(cfg.average, step);
            let weights = self.net.layers.iter().map(|l| l.weights());
            average::update(&mut self.average, weights, beta);
        }
        self.batch += 1;
        progress(Progress::Batch {
            epoch,
            done: (self.batch * bs).min(self.order.len()),
            total: self.order.len(),
        });
        Ok(())
    }

    fn end_epoch(&mut self, progress: &mut (dyn FnMut(Progress) + 'r)) -> Result<()> {
        self.write_model();
        let cfg = &self.cfg;
        let epoch = self.epoch;
        let secs = self.epoch_seconds;
        self.train_seconds += secs;
        let sum =
            |f: fn(&EpochTotals) -> u64| self.workers.iter().map(|w| f(&w.totals)).sum::<u64>();
        let loss: f64 = self.workers.iter().map(|w| w.totals.loss).sum();
        // With a validation set, the test set is not looked at while training.
        let accuracy = |t: &Dataset| {
            evaluate(
                &Net::<f64>::from_model(&deployed(&self.model, cfg)),
                &cfg.encoding,
                t,
                cfg.threads,
                crate::progress::NO_PROGRESS,
            )
            .accuracy()
        };
        let validation_accuracy = self.validation.as_ref().map(accuracy);
        let test_accuracy = match validation_accuracy {
            Some(_) => None,
            None => self.test_data.map(accuracy),
        };
        let entry = EpochLog {
            epoch,
            train_loss: loss / sum(|t| t.loss_n).max(1) as f64,
            train_accuracy: sum(|t| t.correct) as f64 / self.order.len() as f64,
            test_accuracy,
            validation_accuracy,
            no_output_spike: sum(|t| t.silent) as usize,
            lr: epoch_lr(cfg, epoch),
            seconds: secs,
            floored: sum(|t| t.floored),
            too_late: sum(|t| t.too_late),
            gain: self
                .workers
                .iter()
                .fold(GainHist::default(), |mut acc, w| {
                    acc.merge(&w.gain);
                    acc
                })
                .summary(),
        };
        progress(Progress::Epoch(&entry));
        self.log.push(entry);
        self.epoch += 1;
        self.batch = 0;
        self.epoch_seconds = 0.0;
        Ok(())
    }
}

/// Trains a model from scratch with `cfg` on `train_data`, measuring test accuracy after every
/// epoch on `test_data` if given. `progress` is called after every batch and epoch.
pub fn train(
    cfg: &TrainConfig,
    train_data: &Dataset,
    test_data: Option<&Dataset>,
    progress: impl FnMut(Progress),
) -> Result<TrainOutcome> {
    let mut t = Trainer::new(cfg, train_data, test_data)?;
    t.run(&Schedule::default(), |_| Ok(()), progress)?;
    Ok(t.finish())
}
