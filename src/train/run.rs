//! The training loop.

use super::adam::Adam;
use super::{init_model, TrainConfig};
use crate::analytic::{evaluate, forward, ForwardPass, LayerScratch, Net};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::grad::{backward, BackScratch, BackwardStats};
use crate::loss::{output_loss, weight_costs};
use crate::event::{Engine, EventNet, RunOptions};
use crate::model::Model;
use crate::trace::{EngineKind, TraceRecorder};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::time::Instant;

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
    /// Test accuracy after the epoch (f64 analytic solver), if a test set was given.
    pub test_accuracy: Option<f64>,
    /// Training samples on which no output fired.
    pub no_output_spike: usize,
    /// Adam step size used.
    pub lr: f64,
    /// Wall time of the epoch's training part (not the test evaluation), seconds.
    pub seconds: f64,
    /// Neurons whose gradient denominator S - theta was floored (see `grad::DENOM_FLOOR`).
    pub floored: u64,
    /// Neurons too late to pass gradient (see `grad::GRAD_TIME_LIMIT`).
    pub too_late: u64,
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
}

/// The result of [`train`].
#[derive(Clone, Debug)]
pub struct TrainOutcome {
    /// The trained model (weights in f64, settings in its metadata).
    pub model: Model,
    /// One entry per epoch.
    pub log: Vec<EpochLog>,
    /// Seconds spent in training steps (all epochs, without test evaluations).
    pub train_seconds: f64,
}

/// What a worker needs to run the event engine instead of the analytic solver.
struct EventSide<'a> {
    engine: Engine<'a>,
    rec: TraceRecorder<'a>,
    model: &'a Model,
}

struct Worker {
    grads: Vec<Vec<f32>>,
    scratch: LayerScratch<f32>,
    back: BackScratch<f32>,
    pass: ForwardPass<f32>,
    t_in: Vec<f32>,
    dl: Vec<f64>,
    dl32: Vec<f32>,
    t_out: Vec<f64>,
    loss: f64,
    loss_n: usize,
    correct: usize,
    silent: usize,
    stats: BackwardStats,
}

impl Worker {
    fn new(net: &Net<f32>) -> Self {
        Worker {
            grads: net.layers.iter().map(|l| vec![0.0; l.2.len()]).collect(),
            scratch: LayerScratch::default(),
            back: BackScratch::default(),
            pass: ForwardPass::default(),
            t_in: Vec::new(),
            dl: vec![0.0; net.n_outputs()],
            dl32: vec![0.0; net.n_outputs()],
            t_out: vec![0.0; net.n_outputs()],
            loss: 0.0,
            loss_n: 0,
            correct: 0,
            silent: 0,
            stats: BackwardStats::default(),
        }
    }

    /// Forward, loss and backward of one sample; gradients accumulate in `self.grads`.
    fn sample(&mut self, net: &Net<f32>, ev: Option<&mut EventSide>, cfg: &TrainConfig, data: &Dataset, idx: usize, epoch: usize) {
        let enc = &cfg.encoding;
        self.t_in.clear();
        self.t_in.extend(data.image(idx).iter().map(|&p| enc.time(p) as f32));
        if cfg.jitter_sd > 0.0 {
            // A generator per (seed, epoch, sample): the same noise whatever the thread split.
            let mut rng = ChaCha8Rng::seed_from_u64(
                cfg.seed ^ ((epoch as u64) << 40) ^ (idx as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
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
        let label = data.labels[idx] as usize;
        match self.pass.decision() {
            Some(d) if d == label => self.correct += 1,
            Some(_) => {}
            None => self.silent += 1,
        }
        for (o, &t) in self.t_out.iter_mut().zip(self.pass.outputs()) {
            *o = t as f64;
        }
        if let Some(l) = output_loss(&self.t_out, label, cfg.params.tau_syn, cfg.loss_origin, &mut self.dl) {
            self.loss += l;
            self.loss_n += 1;
            for (d, &g) in self.dl32.iter_mut().zip(&self.dl) {
                *d = g as f32;
            }
            backward(net, &self.pass, &self.dl32, &mut self.grads, cfg.denom_floor as f32, &mut self.back, &mut self.stats);
        }
    }
}

/// Trains a model from scratch with `cfg` on `train_data`, measuring test accuracy after every
/// epoch on `test_data` if given. `progress` is called after every batch and epoch.
pub fn train(
    cfg: &TrainConfig,
    train_data: &Dataset,
    test_data: Option<&Dataset>,
    mut progress: impl FnMut(Progress),
) -> Result<TrainOutcome> {
    cfg.validate()?;
    if train_data.dim() != cfg.arch[0] {
        return Err(Error::Dimension(format!(
            "--arch starts with {} inputs but the images have {} pixels",
            cfg.arch[0],
            train_data.dim()
        )));
    }
    let classes = train_data.classes();
    if *cfg.arch.last().unwrap() < classes {
        return Err(Error::Dimension(format!(
            "--arch ends with {} outputs but the labels have {classes} classes",
            cfg.arch.last().unwrap()
        )));
    }
    let mut model = init_model(cfg);
    let mut net = Net::<f32>::from_model(&model);
    let sizes: Vec<usize> = net.layers.iter().map(|l| l.2.len()).collect();
    let mut adam = Adam::new(&sizes);
    let threads = cfg.threads;
    let mut workers: Vec<Worker> = (0..threads).map(|_| Worker::new(&net)).collect();
    let mut order: Vec<usize> = (0..train_data.len()).collect();
    let mut shuffle_rng = ChaCha8Rng::seed_from_u64(cfg.seed.wrapping_add(1));
    let mut log = Vec::new();
    let mut train_seconds = 0.0;
    let mut cost_grads: Vec<Vec<f32>> = sizes.iter().map(|&n| vec![0.0; n]).collect();
    let mut ev_net = match cfg.engine {
        EngineKind::Analytic => None,
        EngineKind::Event => Some(EventNet::from_model(&model)?.compile()?),
    };

    for epoch in 1..=cfg.epochs {
        let start = Instant::now();
        let lr = cfg.lr * cfg.lr_decay.powi(epoch as i32 - 1);
        order.shuffle(&mut shuffle_rng);
        for w in workers.iter_mut() {
            w.loss = 0.0;
            w.loss_n = 0;
            w.correct = 0;
            w.silent = 0;
            w.stats = BackwardStats::default();
        }
        for (b, batch) in order.chunks(cfg.batch_size).enumerate() {
            if let Some(en) = ev_net.as_mut() {
                net.write_to(&mut model);
                en.set_weights(model.layers.iter().flat_map(|l| l.w.iter().copied()))?;
            }
            let per = batch.len().div_ceil(threads);
            {
                let net = &net;
                let (ev_net, model) = (&ev_net, &model);
                crossbeam::scope(|sc| {
                    for (w, part) in workers.iter_mut().zip(batch.chunks(per)) {
                        sc.spawn(move |_| {
                            for g in w.grads.iter_mut() {
                                g.iter_mut().for_each(|x| *x = 0.0);
                            }
                            let mut ev = ev_net.as_ref().map(|n| EventSide {
                                engine: Engine::new(n),
                                rec: TraceRecorder::new(n),
                                model,
                            });
                            for &idx in part {
                                w.sample(net, ev.as_mut(), cfg, train_data, idx, epoch);
                            }
                        });
                    }
                })
                .expect("training worker panicked");
            }
            // Sum the workers' gradients (only those that ran this batch), mean over the batch.
            let used = batch.chunks(per).count();
            let inv = 1.0 / batch.len() as f32;
            let mut norm2 = 0.0f64;
            for (l, cg) in cost_grads.iter_mut().enumerate() {
                cg.iter_mut().for_each(|x| *x = 0.0);
                for w in &workers[..used] {
                    for (c, &g) in cg.iter_mut().zip(&w.grads[l]) {
                        *c += g * inv;
                    }
                }
                norm2 += cg.iter().map(|&g| (g as f64) * (g as f64)).sum::<f64>();
            }
            // Clip the loss gradient's norm (not the costs'): one sample with a huge z must
            // not throw the weights far.
            let scale = if cfg.clip_norm > 0.0 && norm2.sqrt() > cfg.clip_norm {
                (cfg.clip_norm / norm2.sqrt()) as f32
            } else {
                1.0
            };
            if scale != 1.0 {
                cost_grads.iter_mut().flatten().for_each(|x| *x *= scale);
            }
            {
                let mut params: Vec<&mut [f32]> = net.layers.iter_mut().map(|l| &mut l.2[..]).collect();
                let grads: Vec<&[f32]> = cost_grads.iter().map(|g| &g[..]).collect();
                adam.step(&mut params, &grads, lr as f32);
            }
            // The weight costs take a plain gradient step of the same size, outside Adam (as
            // AdamW decouples weight decay): inside Adam, the constant gradient K of the
            // weight-sum cost would swamp the second-moment estimates of a neuron's weights
            // and freeze its learning for thousands of steps.
            for (l, cg) in cost_grads.iter_mut().enumerate() {
                let (n_in, n_out, ref mut wl) = net.layers[l];
                cg.iter_mut().for_each(|x| *x = 0.0);
                weight_costs(wl, n_in, n_out, net.theta, cfg.weight_sum_k as f32, cfg.l2 as f32, cg);
                let step = lr as f32;
                wl.iter_mut().zip(cg.iter()).for_each(|(w, g)| *w -= step * g);
            }
            if let Some((l, p)) = net
                .layers
                .iter()
                .enumerate()
                .find_map(|(l, x)| x.2.iter().position(|w| !w.is_finite()).map(|p| (l, p)))
            {
                return Err(Error::Diverged(format!(
                    "epoch {epoch}, batch {}: weight {p} of layer {l} became non-finite; try a smaller --lr",
                    b + 1
                )));
            }
            progress(Progress::Batch {
                epoch,
                done: ((b + 1) * cfg.batch_size).min(order.len()),
                total: order.len(),
            });
        }
        let secs = start.elapsed().as_secs_f64();
        train_seconds += secs;
        let loss: f64 = workers.iter().map(|w| w.loss).sum();
        let loss_n: usize = workers.iter().map(|w| w.loss_n).sum();
        if !loss.is_finite() {
            return Err(Error::Diverged(format!("epoch {epoch}: the training loss is {loss}; try a smaller --lr")));
        }
        net.write_to(&mut model);
        let test_accuracy = test_data.map(|t| evaluate(&Net::<f64>::from_model(&model), &cfg.encoding, t, threads).accuracy());
        let entry = EpochLog {
            epoch,
            train_loss: loss / loss_n.max(1) as f64,
            train_accuracy: workers.iter().map(|w| w.correct).sum::<usize>() as f64 / order.len() as f64,
            test_accuracy,
            no_output_spike: workers.iter().map(|w| w.silent).sum(),
            lr,
            seconds: secs,
            floored: workers.iter().map(|w| w.stats.floored).sum(),
            too_late: workers.iter().map(|w| w.stats.too_late).sum(),
        };
        progress(Progress::Epoch(&entry));
        log.push(entry);
    }
    model.meta.epochs_trained = cfg.epochs;
    model.meta.train = Some(cfg.clone());
    Ok(TrainOutcome { model, log, train_seconds })
}
