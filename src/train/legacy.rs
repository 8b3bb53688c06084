//! The checkpoint payload of format versions 5 to 7, before distillation
//! (`TrainConfig::distill`), the gain statistics (`EpochLog::gain`) and the workers' gain
//! counts (`Checkpoint::gain`): bincode has no field names, so an older payload is read with
//! the field list it was written with, then converted. The structures mirror those of version
//! 7 field for field, in order; they are only read, never written.

use super::adam::AdamState;
use super::checkpoint::{Checkpoint, DataId, EpochTotals, RngState};
use super::{EpochLog, TrainConfig};
use crate::encoding::Encoding;
use crate::loss::LossOrigin;
use crate::network::Arch;
use crate::neuron::NeuronParams;
use crate::trace::EngineKind;
use serde::Deserialize;

/// `TrainConfig` of versions 5 to 7.
#[derive(Deserialize)]
pub(super) struct TrainConfigV7 {
    arch: Arch,
    epochs: usize,
    batch_size: usize,
    lr: f64,
    lr_decay: f64,
    weight_sum_k: f64,
    l2: f64,
    jitter_sd: f64,
    shift: usize,
    flip: bool,
    init_mean: f64,
    init_sd: f64,
    denom_floor: f64,
    clip_norm: f64,
    loss_origin: LossOrigin,
    engine: EngineKind,
    seed: u64,
    threads: usize,
    params: NeuronParams,
    encoding: Encoding,
    validation: usize,
    quantise_bits: u32,
    average: f64,
}

/// `EpochLog` of versions 5 to 7.
#[derive(Deserialize)]
pub(super) struct EpochLogV7 {
    epoch: usize,
    train_loss: f64,
    train_accuracy: f64,
    test_accuracy: Option<f64>,
    validation_accuracy: Option<f64>,
    no_output_spike: usize,
    lr: f64,
    seconds: f64,
    floored: u64,
    too_late: u64,
}

/// `Checkpoint` of versions 5 to 7.
#[derive(Deserialize)]
pub(super) struct CheckpointV7 {
    config: TrainConfigV7,
    dataset: String,
    data_dir: String,
    train_data: DataId,
    test_data: Option<DataId>,
    epoch: usize,
    batch: usize,
    weights: Vec<Vec<f32>>,
    adam: AdamState,
    average: Vec<Vec<f32>>,
    order: Vec<u32>,
    shuffle_rng: RngState,
    totals: Vec<EpochTotals>,
    log: Vec<EpochLogV7>,
    train_seconds: f64,
    epoch_seconds: f64,
}

impl From<TrainConfigV7> for TrainConfig {
    fn from(c: TrainConfigV7) -> Self {
        TrainConfig {
            arch: c.arch,
            epochs: c.epochs,
            batch_size: c.batch_size,
            lr: c.lr,
            lr_decay: c.lr_decay,
            weight_sum_k: c.weight_sum_k,
            l2: c.l2,
            jitter_sd: c.jitter_sd,
            shift: c.shift,
            flip: c.flip,
            init_mean: c.init_mean,
            init_sd: c.init_sd,
            denom_floor: c.denom_floor,
            clip_norm: c.clip_norm,
            loss_origin: c.loss_origin,
            engine: c.engine,
            seed: c.seed,
            threads: c.threads,
            params: c.params,
            encoding: c.encoding,
            validation: c.validation,
            quantise_bits: c.quantise_bits,
            average: c.average,
            distill: None,
        }
    }
}

impl From<EpochLogV7> for EpochLog {
    fn from(e: EpochLogV7) -> Self {
        EpochLog {
            epoch: e.epoch,
            train_loss: e.train_loss,
            train_accuracy: e.train_accuracy,
            test_accuracy: e.test_accuracy,
            validation_accuracy: e.validation_accuracy,
            no_output_spike: e.no_output_spike,
            lr: e.lr,
            seconds: e.seconds,
            floored: e.floored,
            too_late: e.too_late,
            gain: Vec::new(),
        }
    }
}

impl From<CheckpointV7> for Checkpoint {
    fn from(c: CheckpointV7) -> Self {
        Checkpoint {
            config: c.config.into(),
            log: c.log.into_iter().map(Into::into).collect(),
            dataset: c.dataset,
            data_dir: c.data_dir,
            train_data: c.train_data,
            test_data: c.test_data,
            epoch: c.epoch,
            batch: c.batch,
            weights: c.weights,
            adam: c.adam,
            average: c.average,
            order: c.order,
            shuffle_rng: c.shuffle_rng,
            totals: c.totals,
            train_seconds: c.train_seconds,
            epoch_seconds: c.epoch_seconds,
            gain: Vec::new(),
        }
    }
}
