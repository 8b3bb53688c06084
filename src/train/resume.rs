//! Resuming a run from a [`Checkpoint`]: the checks that the checkpoint belongs to this data
//! and these settings, then the trainer rebuilt exactly as it was ([`Trainer::resume`]).

use super::adam::Adam;
use super::checkpoint::{Checkpoint, DataId};
use super::init_model;
use super::run::Trainer;
use super::setup::check_setup;
use crate::data::Dataset;
use crate::error::{Error, Result};

impl<'d> Trainer<'d> {
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
        c.validate()?;
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
}
