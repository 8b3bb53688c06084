//! Starting a run: the checks of a run's settings against its data, a new run from drawn
//! weights, the ReLU twin or a given model ([`Trainer::new`], [`Trainer::from_model`]), and
//! the helpers every part of the run shares (the deployed model, the learning rate of an
//! epoch).

use super::adam::Adam;
use super::checkpoint::DataId;
use super::relu_start;
use super::run::{Trainer, MAX_THREADS};
use super::teacher;
use super::update::Updater;
use super::worker::Worker;
use super::{init_model, TrainConfig};
use crate::analytic::Net;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::event::EventNet;
use crate::grad::SampleGrad;
use crate::model::Model;
use crate::network::Arch;
use crate::trace::EngineKind;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Checks `cfg` and the data against each other and against the limits of what we can hold.
pub(super) fn check_setup(cfg: &TrainConfig, train_data: &Dataset) -> Result<()> {
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

    pub(super) fn start(
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
}
