// Longer than 600 lines on purpose: one concern, training the rate baseline's ReLU network
// (about 500 lines), with its tests beside it.
//! Training and evaluating the baseline's ReLU network: mini-batch gradient descent (Adam or
//! SGD with momentum) on softmax cross-entropy, optional hidden dropout.
//!
//! Owns the settings ([`ReluTrainConfig`]), the loop ([`train_relu`]) and the accuracy measure
//! ([`evaluate_relu`]). Forward and backward passes come from [`super::relu`]; nothing here
//! prints: each epoch goes to a callback.
//!
//! **Reproducibility.** Every batch is split into `GRAD_SHARDS` fixed shards whatever the
//! thread count; each shard sums its samples' gradients in order and the shards are summed in
//! order, so a run depends on its seed only, not on `threads`. Initial weights and shuffles
//! come from a ChaCha8 generator seeded with `seed` (stream 0); the dropout masks of shard `s`
//! of global step `k` from the same seed on stream `1 + k * GRAD_SHARDS + s`.

use super::relu::{argmax, backward, forward, pixels_into, BackScratch, Dropout, Pass, ReluNet};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::network::Arch;
use crate::parallel::{par_chunks, par_each_mut};
use crate::train::adam::Adam;
use crate::train::driver::{self, EpochSteps};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Fixed number of gradient shards per batch (see the module notes). Four lets up to four
/// threads work; each shard costs one gradient buffer (2.5 MB for 784-800-10).
pub(crate) const GRAD_SHARDS: usize = 4;

/// The optimiser.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Optimizer {
    /// Adam (Kingma & Ba 2015), beta1 0.9, beta2 0.999, eps 1e-8 ([`crate::train::adam`]).
    Adam,
    /// Plain SGD with momentum: `v <- mu v - lr g`, `w <- w + v`.
    Sgd {
        /// The momentum mu, in [0, 1).
        momentum: f64,
    },
}

/// Settings of a ReLU training run, recorded in the rate model file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReluTrainConfig {
    /// The architecture, in the syntax of `train --arch` (dense layers and convolutions).
    /// Files written before convolutions held the layer sizes of a dense stack, read as such.
    #[serde(deserialize_with = "arch_or_sizes")]
    pub arch: Arch,
    /// Passes over the training set.
    pub epochs: usize,
    /// Samples per step.
    pub batch_size: usize,
    /// Step size at epoch 1.
    pub lr: f64,
    /// Step size factor after every epoch.
    pub lr_decay: f64,
    /// Optimiser.
    pub optimizer: Optimizer,
    /// Dropout probability of hidden units while training (0 = none).
    pub dropout: f64,
    /// Seed of every random choice.
    pub seed: u64,
    /// Worker threads (does not change the result, see the module notes).
    pub threads: usize,
    /// Training images held out for validation, the last ones of the training data (0 =
    /// none): never trained on, their accuracy is measured after every epoch
    /// ([`ReluEpochLog::validation_accuracy`]) and the test set is then not looked at while
    /// training, so settings and the number of epochs are chosen on them.
    #[serde(default)]
    pub validation: usize,
}

impl Default for ReluTrainConfig {
    fn default() -> Self {
        ReluTrainConfig {
            arch: Arch::dense(&[784, 800, 10]),
            epochs: 20,
            batch_size: 100,
            lr: 1e-3,
            lr_decay: 0.9,
            optimizer: Optimizer::Adam,
            dropout: 0.2,
            seed: 1,
            threads: 2,
            validation: 0,
        }
    }
}

/// Reads an architecture written as `train --arch` writes it, or as the layer sizes of a dense
/// stack (`[784, 800, 10]`, the files of before convolutions).
fn arch_or_sizes<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Arch, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Sizes(Vec<usize>),
        Text(String),
    }
    match Written::deserialize(d)? {
        Written::Sizes(v) => Ok(Arch::dense(&v)),
        Written::Text(t) => Arch::parse(&t).map_err(serde::de::Error::custom),
    }
}

impl ReluTrainConfig {
    /// Checks the settings ([`Error::InvalidSetting`] naming the field).
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &'static str, m: String| Err(Error::setting(name, m));
        self.arch.check()?;
        if self.epochs == 0 {
            return bad("epochs", "epochs must be at least 1".into());
        }
        if self.batch_size == 0 {
            return bad("batch_size", "batch_size must be at least 1".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("lr", format!("lr must be finite and > 0, got {}", self.lr));
        }
        if !(self.lr_decay.is_finite() && self.lr_decay > 0.0) {
            return bad(
                "lr_decay",
                format!("lr_decay must be finite and > 0, got {}", self.lr_decay),
            );
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(
                "dropout",
                format!("dropout must be in [0, 1), got {}", self.dropout),
            );
        }
        if let Optimizer::Sgd { momentum } = self.optimizer {
            if !(0.0..1.0).contains(&momentum) {
                return bad(
                    "momentum",
                    format!("momentum must be in [0, 1), got {momentum}"),
                );
            }
        }
        if self.threads == 0 {
            return bad("threads", "threads must be at least 1".into());
        }
        Ok(())
    }
}

/// What one epoch measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReluEpochLog {
    /// Epoch, from 1.
    pub epoch: usize,
    /// Mean training loss (with dropout, weights changing as it goes).
    pub train_loss: f64,
    /// Training accuracy during the epoch (same caveats).
    pub train_accuracy: f64,
    /// Test accuracy after the epoch, if a test set was given and no validation images are
    /// held out.
    pub test_accuracy: Option<f64>,
    /// Accuracy on the held-out validation images after the epoch, when the run holds some
    /// out ([`ReluTrainConfig::validation`]).
    #[serde(default)]
    pub validation_accuracy: Option<f64>,
    /// Step size used.
    pub lr: f64,
    /// Wall time of the training part, seconds.
    pub seconds: f64,
}

/// Accuracy of a ReLU network on a data set, and its work.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct ReluEval {
    /// Samples classified correctly (argmax of the logits, ties to the lowest index).
    pub(crate) correct: usize,
    /// Samples.
    pub total: usize,
    /// Mean multiply-accumulates per image when zero inputs and silent ReLUs are skipped.
    pub sparse_macs_mean: f64,
}

impl ReluEval {
    /// `correct / total`.
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.total.max(1) as f64
    }
}

/// Accuracy of `net` on `data`, on `threads` threads.
pub fn evaluate_relu(net: &ReluNet, data: &Dataset, threads: usize) -> ReluEval {
    let parts = par_chunks(data.len(), threads, |range| {
        let (mut x, mut pass) = (Vec::new(), Pass::default());
        let (mut correct, mut macs) = (0usize, 0u64);
        for i in range {
            pixels_into(data.image(i), &mut x);
            macs += forward(net, &x, &mut pass, None);
            correct += (argmax(pass.logits()) == data.labels[i] as usize) as usize;
        }
        (correct, macs)
    });
    let (correct, macs) = parts
        .into_iter()
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    ReluEval {
        correct,
        total: data.len(),
        sparse_macs_mean: macs as f64 / data.len().max(1) as f64,
    }
}

/// One shard's buffers and sums.
struct Shard {
    grads: Vec<Vec<f32>>,
    pass: Pass,
    back: BackScratch,
    x: Vec<f32>,
    loss: f64,
    correct: usize,
}

/// The optimiser's state.
enum OptState {
    Adam(Adam),
    Sgd { momentum: f32, v: Vec<Vec<f32>> },
}

impl OptState {
    fn step(&mut self, net: &mut ReluNet, grads: &[Vec<f32>], lr: f32) {
        match self {
            OptState::Adam(a) => {
                let mut ps: Vec<&mut [f32]> =
                    net.layers.iter_mut().map(|l| l.weights_mut()).collect();
                let gs: Vec<&[f32]> = grads.iter().map(|g| g.as_slice()).collect();
                a.step(&mut ps, &gs, lr);
            }
            OptState::Sgd { momentum, v } => {
                for ((l, g), v) in net.layers.iter_mut().zip(grads).zip(v.iter_mut()) {
                    for ((w, &g), v) in l.weights_mut().iter_mut().zip(g).zip(v.iter_mut()) {
                        *v = *momentum * *v - lr * g;
                        *w += *v;
                    }
                }
            }
        }
    }
}

/// Trains a ReLU network from scratch on `train` (and reports accuracy on `test` after every
/// epoch, if given). Errors: bad settings (usage), data of the wrong size, divergence.
pub fn train_relu(
    cfg: &ReluTrainConfig,
    train: &Dataset,
    test: Option<&Dataset>,
    mut on_epoch: impl FnMut(&ReluEpochLog),
) -> Result<ReluNet> {
    let mut t = ReluTrainer::new(cfg, train, test)?;
    driver::run_to_end(&mut t, &mut on_epoch as &mut dyn FnMut(&ReluEpochLog))?;
    Ok(t.net)
}

/// Checks the settings against the data.
fn check_setup(cfg: &ReluTrainConfig, train: &Dataset) -> Result<()> {
    cfg.validate()?;
    if cfg.validation >= train.len() {
        return Err(Error::setting(
            "validation",
            format!(
                "{} validation images held out of {} training images leave none to train on",
                cfg.validation,
                train.len()
            ),
        ));
    }
    if cfg.arch.n_inputs() != train.dim() {
        return Err(Error::dimension(format!(
            "the architecture takes {} inputs but the images have {} pixels",
            cfg.arch.n_inputs(),
            train.dim()
        )));
    }
    let outputs = cfg.arch.n_outputs();
    if let Some(&bad) = train.labels.iter().find(|&&l| l as usize >= outputs) {
        return Err(Error::dimension(format!(
            "label {bad} but the network has only {outputs} outputs"
        )));
    }
    Ok(())
}

/// A ReLU training run in progress, driven epoch by epoch by [`driver`].
struct ReluTrainer<'d> {
    cfg: &'d ReluTrainConfig,
    train: &'d Dataset,
    test: Option<&'d Dataset>,
    /// The held-out validation images (the last `cfg.validation` of the training data).
    validation: Option<Dataset>,
    net: ReluNet,
    rng: ChaCha8Rng,
    opt: OptState,
    shards: Vec<Shard>,
    /// The batch gradient (mean over the batch).
    total: Vec<Vec<f32>>,
    order: Vec<usize>,
    epoch: usize,
    batch: usize,
    lr: f64,
    /// Batches done over all epochs (the dropout streams' index).
    global_step: u64,
    loss_sum: f64,
    correct: usize,
    seconds: f64,
}

impl<'d> ReluTrainer<'d> {
    fn new(
        cfg: &'d ReluTrainConfig,
        train: &'d Dataset,
        test: Option<&'d Dataset>,
    ) -> Result<Self> {
        check_setup(cfg, train)?;
        let net = ReluNet::init(&cfg.arch, cfg.seed);
        let sizes: Vec<usize> = net.layers.iter().map(|l| l.weights().len()).collect();
        let zeros = || sizes.iter().map(|&n| vec![0.0; n]).collect::<Vec<_>>();
        let opt = match cfg.optimizer {
            Optimizer::Adam => OptState::Adam(Adam::new(&sizes)),
            Optimizer::Sgd { momentum } => OptState::Sgd {
                momentum: momentum as f32,
                v: zeros(),
            },
        };
        let shards = (0..GRAD_SHARDS)
            .map(|_| Shard {
                grads: zeros(),
                pass: Pass::default(),
                back: BackScratch::default(),
                x: Vec::new(),
                loss: 0.0,
                correct: 0,
            })
            .collect();
        let n = train.len();
        let validation = match cfg.validation {
            0 => None,
            v => Some(train.select(&(n - v..n).collect::<Vec<_>>())?),
        };
        Ok(ReluTrainer {
            cfg,
            train,
            test,
            validation,
            rng: ChaCha8Rng::seed_from_u64(cfg.seed),
            net,
            opt,
            shards,
            total: zeros(),
            order: (0..n - cfg.validation).collect(),
            epoch: 1,
            batch: 0,
            lr: cfg.lr,
            global_step: 0,
            loss_sum: 0.0,
            correct: 0,
            seconds: 0.0,
        })
    }

    /// Shard `s`'s part of `batch`: gradient sums, loss and hits of its samples, in order.
    fn shard_pass(&self, s: usize, sh: &mut Shard, batch: &[usize]) {
        let cfg = self.cfg;
        let drop_p = cfg.dropout as f32;
        let keep_scale = 1.0 / (1.0 - drop_p);
        let per_shard = batch.len().div_ceil(GRAD_SHARDS);
        let mut drng = ChaCha8Rng::seed_from_u64(cfg.seed);
        drng.set_stream(1 + self.global_step * GRAD_SHARDS as u64 + s as u64);
        sh.grads
            .iter_mut()
            .for_each(|g| g.iter_mut().for_each(|v| *v = 0.0));
        sh.loss = 0.0;
        sh.correct = 0;
        let lo = (s * per_shard).min(batch.len());
        let hi = ((s + 1) * per_shard).min(batch.len());
        for &i in &batch[lo..hi] {
            pixels_into(self.train.image(i), &mut sh.x);
            let d = (drop_p > 0.0).then_some(Dropout {
                p: drop_p,
                rng: &mut drng,
            });
            forward(&self.net, &sh.x, &mut sh.pass, d);
            let y = self.train.labels[i] as usize;
            sh.correct += (argmax(sh.pass.logits()) == y) as usize;
            sh.loss += backward(
                &self.net,
                &sh.pass,
                y,
                keep_scale,
                &mut sh.grads,
                &mut sh.back,
            ) as f64;
        }
    }
}

impl<'r> EpochSteps<dyn FnMut(&ReluEpochLog) + 'r> for ReluTrainer<'_> {
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
        self.order.len().div_ceil(self.cfg.batch_size)
    }

    fn begin_epoch(&mut self) {
        self.order.shuffle(&mut self.rng);
        (self.loss_sum, self.correct, self.seconds) = (0.0, 0, 0.0);
    }

    fn train_batch(&mut self, _: &mut (dyn FnMut(&ReluEpochLog) + 'r)) -> Result<()> {
        let bs = self.cfg.batch_size;
        let order = std::mem::take(&mut self.order);
        let batch = &order[self.batch * bs..((self.batch + 1) * bs).min(order.len())];
        let mut shards = std::mem::take(&mut self.shards);
        let per_thread = GRAD_SHARDS.div_ceil(self.cfg.threads.min(GRAD_SHARDS));
        let mut groups: Vec<&mut [Shard]> = shards.chunks_mut(per_thread).collect();
        let this = &*self;
        par_each_mut(&mut groups, |g, group| {
            for (k, sh) in group.iter_mut().enumerate() {
                this.shard_pass(g * per_thread + k, sh, batch);
            }
        });
        let inv = 1.0 / batch.len() as f32;
        for (l, t) in self.total.iter_mut().enumerate() {
            t.copy_from_slice(&shards[0].grads[l]);
            for sh in &shards[1..] {
                t.iter_mut().zip(&sh.grads[l]).for_each(|(a, b)| *a += b);
            }
            t.iter_mut().for_each(|v| *v *= inv);
        }
        let bl: f64 = shards.iter().map(|s| s.loss).sum();
        self.correct += shards.iter().map(|s| s.correct).sum::<usize>();
        (self.order, self.shards) = (order, shards);
        self.batch += 1;
        if !bl.is_finite() {
            return Err(Error::Diverged {
                epoch: self.epoch,
                batch: Some(self.batch),
                what: format!("the training loss became {bl}"),
            });
        }
        self.loss_sum += bl;
        self.opt.step(&mut self.net, &self.total, self.lr as f32);
        self.global_step += 1;
        Ok(())
    }

    fn add_seconds(&mut self, seconds: f64) {
        self.seconds += seconds;
    }

    fn end_epoch(&mut self, on_epoch: &mut (dyn FnMut(&ReluEpochLog) + 'r)) -> Result<()> {
        if let Err(w) = self.net.validate() {
            return Err(Error::Diverged {
                epoch: self.epoch,
                batch: None,
                what: w,
            });
        }
        let accuracy = |d: &Dataset| evaluate_relu(&self.net, d, self.cfg.threads).accuracy();
        let validation_accuracy = self.validation.as_ref().map(accuracy);
        // With a validation set, the test set is not looked at while training.
        let test_accuracy = match validation_accuracy {
            Some(_) => None,
            None => self.test.map(accuracy),
        };
        let n = self.order.len() as f64;
        on_epoch(&ReluEpochLog {
            epoch: self.epoch,
            train_loss: self.loss_sum / n,
            train_accuracy: self.correct as f64 / n,
            test_accuracy,
            validation_accuracy,
            lr: self.lr,
            seconds: self.seconds,
        });
        self.lr *= self.cfg.lr_decay;
        self.epoch += 1;
        self.batch = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two classes told apart by which half of a 2 x 2 image is bright.
    fn halves(n: usize) -> Dataset {
        let mut images = Vec::new();
        let mut labels = Vec::new();
        for i in 0..n {
            let c = (i % 2) as u8;
            let v = 100 + (i * 37 % 155) as u8;
            images.extend(if c == 0 { [v, v, 0, 0] } else { [0, 0, v, v] });
            labels.push(c);
        }
        Dataset {
            images,
            labels,
            rows: 2,
            cols: 2,
        }
    }

    #[test]
    fn learns_a_separable_problem_and_is_thread_independent() {
        let d = halves(64);
        let cfg = ReluTrainConfig {
            arch: Arch::dense(&[4, 8, 2]),
            epochs: 30,
            batch_size: 8,
            lr: 1e-2,
            threads: 1,
            ..Default::default()
        };
        let a = train_relu(&cfg, &d, None, |_| {}).unwrap();
        assert_eq!(evaluate_relu(&a, &d, 1).accuracy(), 1.0);
        let b = train_relu(
            &ReluTrainConfig {
                threads: 3,
                ..cfg.clone()
            },
            &d,
            None,
            |_| {},
        )
        .unwrap();
        assert_eq!(a, b, "thread count changed the result");
        let c = train_relu(&ReluTrainConfig { seed: 2, ..cfg }, &d, None, |_| {}).unwrap();
        assert_ne!(a, c, "the seed changed nothing");
    }

    /// The last `validation` images are never trained on (the run equals one on the other
    /// images alone), their accuracy replaces the per-epoch test accuracy, and holding out
    /// everything is refused.
    #[test]
    fn validation_images_are_held_out() {
        let d = halves(64);
        let test = halves(10);
        let cfg = ReluTrainConfig {
            arch: Arch::dense(&[4, 8, 2]),
            epochs: 3,
            batch_size: 8,
            lr: 1e-2,
            threads: 2,
            validation: 16,
            ..Default::default()
        };
        let mut logs = Vec::new();
        let held = train_relu(&cfg, &d, Some(&test), |e| logs.push(e.clone())).unwrap();
        assert_eq!(logs.len(), 3);
        for e in &logs {
            assert_eq!(e.test_accuracy, None);
            let v = e.validation_accuracy.expect("a validation accuracy");
            assert_eq!((v * 16.0).fract(), 0.0, "{v} is not k/16");
        }
        let mut first = d.clone();
        first.truncate(48).unwrap();
        let plain = ReluTrainConfig {
            validation: 0,
            ..cfg.clone()
        };
        let alone = train_relu(&plain, &first, None, |_| {}).unwrap();
        assert_eq!(alone, held);
        let all = ReluTrainConfig {
            validation: 64,
            ..cfg
        };
        let e = train_relu(&all, &d, None, |_| {}).unwrap_err().to_string();
        assert!(e.contains("leave none to train on"), "{e}");
    }

    #[test]
    fn sgd_also_learns() {
        let d = halves(64);
        let cfg = ReluTrainConfig {
            arch: Arch::dense(&[4, 8, 2]),
            epochs: 30,
            batch_size: 8,
            lr: 0.05,
            optimizer: Optimizer::Sgd { momentum: 0.9 },
            dropout: 0.0,
            threads: 2,
            ..Default::default()
        };
        let n = train_relu(&cfg, &d, None, |_| {}).unwrap();
        assert_eq!(evaluate_relu(&n, &d, 2).accuracy(), 1.0);
    }

    #[test]
    fn bad_settings_are_usage_errors() {
        let d = halves(4);
        for cfg in [
            ReluTrainConfig {
                arch: Arch::dense(&[4, 2]),
                epochs: 0,
                ..Default::default()
            },
            ReluTrainConfig {
                arch: Arch::dense(&[4, 2]),
                dropout: 1.0,
                ..Default::default()
            },
            ReluTrainConfig {
                arch: Arch::dense(&[4, 2]),
                lr: f64::NAN,
                ..Default::default()
            },
        ] {
            assert!(train_relu(&cfg, &d, None, |_| {}).unwrap_err().is_usage());
        }
        let e = train_relu(
            &ReluTrainConfig {
                arch: Arch::dense(&[5, 2]),
                ..Default::default()
            },
            &d,
            None,
            |_| {},
        )
        .unwrap_err();
        assert!(e.to_string().contains("5 inputs"), "{e}");
    }
}
