//! The training loop: a [`Trainer`] that takes one batch at a time, can be frozen into a
//! [`Checkpoint`] between any two batches, and rebuilt from one ([`Trainer::resume`]) to
//! continue bit for bit as if it had never stopped (same seed; the thread count may differ,
//! see [`Checkpoint::set_threads`]).
//!
//! [`Trainer::run`] drives the batches: it hands out a checkpoint at every epoch end, every
//! [`Schedule::checkpoint_every`] of wall time and when it stops early (a stop flag the caller
//! raises, e.g. on Ctrl-C, or a batch budget). It installs no signal handler and writes no
//! file itself: checkpoints go to the caller's callback. [`train`] runs from scratch to the end.

use super::adam::Adam;
use super::augment::{draw_flip, draw_shift, flip_rows, shift_image};
use super::average;
use super::checkpoint::{Checkpoint, DataId, EpochTotals, RngState};
use super::driver::{self, EpochSteps};
use super::gain::{GainHist, LayerGain};
use super::relu_start;
use super::teacher::{self, Teacher};
use super::update::{UpdateSettings, Updater};
use super::{init_model, TrainConfig};
use crate::analytic::{evaluate, forward, ForwardPass, LayerScratch, Net};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::event::{CompiledNet, Engine, EventNet, RunOptions};
use crate::grad::{sample_grad_with_gain, BackScratch, BackwardStats, SampleGrad};
use crate::loss::{decision_cost, distill_loss, output_loss, DistillTerm};
use crate::model::Model;
use crate::network::{quantise, Arch, Layer};
use crate::parallel::par_each_mut;
use crate::trace::{EngineKind, TraceRecorder};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Most worker threads a run may use (each holds a gradient buffer as large as the model).
pub const MAX_THREADS: usize = 256;

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

/// The result of [`train`] and [`Trainer::finish`].
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

/// When [`Trainer::run`] hands out checkpoints and when it stops early.
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

/// How [`Trainer::run`] ended.
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

/// What a worker needs to run the event engine instead of the analytic solver.
struct EventSide<'a> {
    engine: Engine<'a>,
    rec: TraceRecorder<'a>,
    model: &'a Model,
}

struct Worker {
    scratch: LayerScratch<f32>,
    back: BackScratch<f32>,
    pass: ForwardPass<f32>,
    t_in: Vec<f32>,
    /// The sample's image moved by its drawn shift (when `TrainConfig::shift` > 0).
    shifted: Vec<u8>,
    /// The sample's image mirrored (when `TrainConfig::flip` drew it), before the shift.
    mirrored: Vec<u8>,
    dl: Vec<f64>,
    dl32: Vec<f32>,
    t_out: Vec<f64>,
    /// Neurons that fired in each layer (hidden and output) during the current batch.
    fired: Vec<u64>,
    totals: EpochTotals,
    /// The epoch's counts of `S - theta` (see `train::gain`).
    gain: GainHist,
}

impl Worker {
    fn new(net: &Net<f32>) -> Self {
        Worker {
            scratch: LayerScratch::default(),
            back: BackScratch::default(),
            pass: ForwardPass::default(),
            t_in: Vec::new(),
            shifted: Vec::new(),
            mirrored: Vec::new(),
            dl: vec![0.0; net.n_outputs()],
            dl32: vec![0.0; net.n_outputs()],
            t_out: vec![0.0; net.n_outputs()],
            fired: vec![0; net.layers.len()],
            totals: EpochTotals::default(),
            gain: GainHist::new(net.layers.len()),
        }
    }

    /// Forward, loss and backward of one sample, down to its gradient record `rec` (scaled
    /// by `scale`, 1/batch size).
    #[allow(clippy::too_many_arguments)]
    fn sample(
        &mut self,
        net: &Net<f32>,
        ev: Option<&mut EventSide>,
        cfg: &TrainConfig,
        data: &Dataset,
        teacher: Option<&Teacher>,
        idx: usize,
        epoch: usize,
        scale: f32,
        rec: &mut SampleGrad<f32>,
    ) {
        rec.clear();
        let enc = &cfg.encoding;
        self.t_in.clear();
        let shift = draw_shift(cfg.seed, epoch, idx, cfg.shift);
        let flip = cfg.flip && draw_flip(cfg.seed, epoch, idx);
        let image = if shift == (0, 0) && !flip {
            data.image(idx)
        } else {
            let src = if flip {
                self.mirrored.clear();
                self.mirrored.extend_from_slice(data.image(idx));
                flip_rows(&mut self.mirrored, data.cols);
                &self.mirrored[..]
            } else {
                data.image(idx)
            };
            shift_image(src, data.rows, data.cols, shift, &mut self.shifted);
            &self.shifted
        };
        self.t_in.extend(image.iter().map(|&p| enc.time(p) as f32));
        if cfg.jitter_sd > 0.0 {
            // A generator per (seed, epoch, sample): the same noise whatever the thread split.
            let mut rng = ChaCha8Rng::seed_from_u64(
                cfg.seed
                    ^ ((epoch as u64) << 40)
                    ^ (idx as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            let sd = cfg.jitter_sd as f32;
            for t in self.t_in.iter_mut().filter(|t| t.is_finite()) {
                let n: f32 = rng.sample(rand_distr::StandardNormal);
                *t = (*t + sd * n).max(0.0);
            }
        }
        match ev {
            None => forward(net, &self.t_in, &mut self.scratch, &mut self.pass),
            Some(ev) => {
                // The event engine runs in f64 on the current weights; its trace is replayed
                // into the record the backward pass consumes.
                let t64: Vec<f64> = self.t_in.iter().map(|&t| t as f64).collect();
                ev.rec.reset(idx as u64, Some(data.labels[idx]));
                ev.engine
                    .run(&t64, RunOptions::default(), &mut ev.rec)
                    .expect("encoded times are valid engine input");
                self.pass = ev.rec.trace.to_pass::<f32>(ev.model);
            }
        }
        for (l, f) in self.fired.iter_mut().enumerate() {
            *f += self.pass.fired(l + 1) as u64;
            self.gain.add(
                l,
                &self.pass.times[l + 1],
                &self.pass.s_minus_theta[l],
                cfg.denom_floor as f32,
            );
        }
        let label = data.labels[idx] as usize;
        let tot = &mut self.totals;
        match self.pass.decision() {
            Some(d) if d == label => tot.correct += 1,
            Some(_) => {}
            None => tot.silent += 1,
        }
        for (o, &t) in self.t_out.iter_mut().zip(self.pass.outputs()) {
            *o = t as f64;
        }
        let tau = cfg.params.tau_syn;
        let loss = match (teacher, &cfg.distill) {
            (Some(t), Some(d)) => {
                let kd = DistillTerm {
                    teacher: t.row(idx),
                    weight: d.weight,
                    temperature: d.temperature,
                };
                distill_loss(&self.t_out, label, tau, cfg.loss_origin, kd, &mut self.dl)
            }
            _ => output_loss(&self.t_out, label, tau, cfg.loss_origin, &mut self.dl),
        }
        .map(|l| l + decision_cost(&self.t_out, label, tau, cfg.decision_cost, &mut self.dl));
        let gain = cfg.gain_band.map(|g| g.penalty(cfg.denom_floor));
        if loss.is_some() || gain.is_some() {
            match loss {
                Some(l) => {
                    tot.loss += l;
                    tot.loss_n += 1;
                    for (d, &g) in self.dl32.iter_mut().zip(&self.dl) {
                        *d = g as f32;
                    }
                }
                // No loss (the target never fired): the gain penalty alone.
                None => self.dl32.iter_mut().for_each(|d| *d = 0.0),
            }
            let mut stats = BackwardStats::default();
            sample_grad_with_gain(
                net,
                &self.pass,
                &self.dl32,
                cfg.denom_floor as f32,
                scale,
                gain.as_ref(),
                &mut self.back,
                rec,
                &mut stats,
            );
            tot.floored += stats.floored;
            tot.too_late += stats.too_late;
        }
    }
}

/// A training run in progress: weights, optimiser, data order and position.
pub struct Trainer<'d> {
    cfg: TrainConfig,
    train_data: &'d Dataset,
    test_data: Option<&'d Dataset>,
    /// The held-out validation images (the last `cfg.validation` of the training data).
    validation: Option<Dataset>,
    train_id: DataId,
    test_id: Option<DataId>,
    dataset: String,
    data_dir: String,
    /// The f64 model: settings and provenance; its weights are written from `net` when needed.
    model: Model,
    net: Net<f32>,
    adam: Adam,
    /// Source of Adam's hyper-parameters (beta1, beta2, eps).
    workers: Vec<Worker>,
    order: Vec<usize>,
    shuffle_rng: ChaCha8Rng,
    /// The epoch in progress, from 1; `cfg.epochs + 1` once all are done.
    epoch: usize,
    /// Batches of `epoch` done.
    batch: usize,
    log: Vec<EpochLog>,
    train_seconds: f64,
    epoch_seconds: f64,
    /// One gradient record per sample of a batch.
    records: Vec<SampleGrad<f32>>,
    updater: Updater,
    ev_net: Option<CompiledNet>,
    /// The weights' running average (`TrainConfig::average`), per layer; empty when off.
    average: Vec<Vec<f32>>,
    /// The teacher's logits, when the run distils (`TrainConfig::distill`).
    teacher: Option<Teacher>,
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

/// Checks `cfg` and the data against each other and against the limits of what we can hold.
fn check_setup(cfg: &TrainConfig, train_data: &Dataset) -> Result<()> {
    cfg.validate()?;
    if cfg.threads > MAX_THREADS {
        return Err(Error::setting(
            "threads",
            format!("threads {}: at most {MAX_THREADS}", cfg.threads),
        ));
    }
    if train_data.is_empty() {
        return Err(Error::setting("train_data", "the training set is empty"));
    }
    if cfg.validation >= train_data.len() {
        return Err(Error::setting(
            "validation",
            format!(
                "{} validation images held out of {} training images leave none to train on",
                cfg.validation,
                train_data.len()
            ),
        ));
    }
    if cfg.flip && train_data.cols < 2 {
        return Err(Error::setting(
            "flip",
            format!(
                "flip mirrors the rows of 2-D images, but these are {} x {} pixels",
                train_data.rows, train_data.cols
            ),
        ));
    }
    if cfg.shift > 0 && (train_data.rows < 2 || train_data.cols < 2) {
        return Err(Error::setting(
            "shift",
            format!(
                "shift moves 2-D images, but these are {} x {} pixels",
                train_data.rows, train_data.cols
            ),
        ));
    }
    if train_data.dim() != cfg.arch.n_inputs() {
        return Err(Error::dimension(format!(
            "the architecture starts with {} inputs but the images have {} pixels",
            cfg.arch.n_inputs(),
            train_data.dim()
        )));
    }
    let classes = train_data.classes();
    let outputs = cfg.arch.n_outputs();
    if outputs < classes {
        return Err(Error::dimension(format!(
            "the architecture ends with {outputs} outputs but the labels have {classes} classes"
        )));
    }
    Ok(())
}

impl<'d> Trainer<'d> {
    /// A new run of `cfg` on `train_data`, measuring test accuracy after every epoch on
    /// `test_data` if given. Weights are drawn from `cfg.seed` ([`init_model`]), or, with
    /// `cfg.relu_start`, mapped from the ReLU twin's (see [`super::ReluStart`]; the run's
    /// settings, [`Trainer::config`], then hold the mapping's record).
    pub fn new(
        cfg: &TrainConfig,
        train_data: &'d Dataset,
        test_data: Option<&'d Dataset>,
    ) -> Result<Self> {
        check_setup(cfg, train_data)?;
        if cfg.relu_start.is_some() {
            let mut cfg = cfg.clone();
            let model = relu_start::map(&mut cfg, train_data)?;
            return Self::start(&cfg, model, train_data, test_data);
        }
        Self::start(cfg, init_model(cfg), train_data, test_data)
    }

    /// A new run of `cfg` that starts from `model`'s weights instead of drawn ones (fine-tuning,
    /// e.g. quantisation-aware, of a trained model). The model's architecture, neuron
    /// parameters and encoding must be `cfg`'s.
    pub fn from_model(
        cfg: &TrainConfig,
        model: &Model,
        train_data: &'d Dataset,
        test_data: Option<&'d Dataset>,
    ) -> Result<Self> {
        check_setup(cfg, train_data)?;
        if Arch::of_layers(&model.layers) != cfg.arch
            || model.params != cfg.params
            || model.encoding != cfg.encoding
        {
            return Err(Error::setting(
                "arch",
                format!(
                    "the starting model ({}, {:?}, {:?}) is not what the settings describe ({}, {:?}, {:?})",
                    model.arch_string(),
                    model.params,
                    model.encoding,
                    cfg.arch,
                    cfg.params,
                    cfg.encoding
                ),
            ));
        }
        let mut start = init_model(cfg);
        start.layers = model.layers.clone();
        Self::start(cfg, start, train_data, test_data)
    }

    fn start(
        cfg: &TrainConfig,
        model: Model,
        train_data: &'d Dataset,
        test_data: Option<&'d Dataset>,
    ) -> Result<Self> {
        let net = Net::<f32>::from_model(&model);
        let sizes: Vec<usize> = net.layers.iter().map(|l| l.weights().len()).collect();
        let ev_net = match cfg.engine {
            EngineKind::Analytic => None,
            EngineKind::Event => Some(EventNet::from_model(&model)?.compile()?),
        };
        let mut cfg = cfg.clone();
        let teacher = match cfg.distill.as_mut() {
            None => None,
            Some(d) => {
                let (t, sha) = teacher::load(d, train_data, cfg.arch.n_outputs())?;
                d.teacher_sha256 = sha;
                Some(t)
            }
        };
        let cfg = &cfg;
        Ok(Trainer {
            teacher,
            cfg: cfg.clone(),
            train_data,
            test_data,
            train_id: DataId::of(train_data),
            test_id: test_data.map(DataId::of),
            dataset: String::new(),
            data_dir: String::new(),
            workers: (0..cfg.threads).map(|_| Worker::new(&net)).collect(),
            records: vec![SampleGrad::default(); cfg.batch_size],
            updater: Updater::default(),
            adam: Adam::new(&sizes),
            model,
            order: (0..train_data.len() - cfg.validation).collect(),
            validation: (cfg.validation > 0)
                .then(|| {
                    let n = train_data.len();
                    train_data.select(&(n - cfg.validation..n).collect::<Vec<_>>())
                })
                .transpose()?,
            shuffle_rng: ChaCha8Rng::seed_from_u64(cfg.seed.wrapping_add(1)),
            epoch: 1,
            batch: 0,
            log: Vec::new(),
            train_seconds: 0.0,
            epoch_seconds: 0.0,
            ev_net,
            average: if cfg.average > 0.0 {
                net.layers.iter().map(|l| l.weights().to_vec()).collect()
            } else {
                Vec::new()
            },
            net,
        })
    }

    /// Continues the run frozen in `ckpt` on the same data (checked by content: a different
    /// training or test set is refused). The checkpoint's `config.epochs` may have been
    /// changed to train longer or shorter, but not shorter than what is already done.
    pub fn resume(
        ckpt: Checkpoint,
        train_data: &'d Dataset,
        test_data: Option<&'d Dataset>,
    ) -> Result<Self> {
        let c = ckpt;
        // Epochs the run must have: those finished, and the one in progress if it started.
        let least = if c.batch > 0 {
            c.epoch
        } else {
            c.epoch.saturating_sub(1)
        };
        if c.config.epochs < least {
            return Err(Error::setting(
                "epochs",
                format!(
                    "epochs {}: the checkpoint has already finished {} epoch(s){}; the run needs at least {least}",
                    c.config.epochs,
                    c.epoch.saturating_sub(1),
                    if c.batch > 0 { format!(" and is {} batches into epoch {}", c.batch, c.epoch) } else { String::new() },
                ),
            ));
        }
        c.validate().map_err(|w| Error::Checkpoint {
            path: None,
            what: w,
        })?;
        if train_data.dim() != c.config.arch.n_inputs() {
            return Err(Error::dimension(format!(
                "the checkpoint's network ({}) takes {} inputs but the images have {} pixels; resume on the data of the interrupted run",
                c.config.arch,
                c.config.arch.n_inputs(),
                train_data.dim()
            )));
        }
        // The weights come from the checkpoint: drawn ones stand in until then (a ReLU start
        // is not mapped again).
        check_setup(&c.config, train_data)?;
        let mut t = Self::start(&c.config, init_model(&c.config), train_data, test_data)?;
        if t.train_id != c.train_data {
            return Err(Error::setting(
                "train_data",
                format!(
                    "the training set ({}) is not the checkpoint's ({}); resume on the data of the interrupted run",
                    t.train_id, c.train_data
                ),
            ));
        }
        if t.test_id != c.test_data {
            let show = |d: &Option<DataId>| d.as_ref().map_or("none".into(), |d| d.to_string());
            return Err(Error::setting(
                "test_data",
                format!(
                    "the test set ({}) is not the checkpoint's ({}); resume on the data of the interrupted run",
                    show(&t.test_id),
                    show(&c.test_data)
                ),
            ));
        }
        for (layer, cw) in t.net.layers.iter_mut().zip(c.weights) {
            layer.weights_mut().copy_from_slice(&cw);
        }
        t.net.write_to(&mut t.model);
        t.adam = Adam::from_state(c.adam);
        t.average = c.average;
        t.order = c.order.iter().map(|&i| i as usize).collect();
        t.shuffle_rng = c.shuffle_rng.restore();
        for (w, tot) in t.workers.iter_mut().zip(c.totals) {
            w.totals = tot;
        }
        for (w, g) in t.workers.iter_mut().zip(c.gain) {
            if !g.bins.is_empty() {
                w.gain = g;
            }
        }
        t.epoch = c.epoch;
        t.batch = c.batch;
        t.log = c.log;
        t.train_seconds = c.train_seconds;
        t.epoch_seconds = c.epoch_seconds;
        t.dataset = c.dataset;
        t.data_dir = c.data_dir;
        Ok(t)
    }

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
