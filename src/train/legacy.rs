// Longer than 600 lines on purpose: the older checkpoint payloads (about 300 lines) and the
// tests that read a file of each older version (about 330 lines).
//! The checkpoint payloads of older format versions: bincode has no field names, so an older
//! payload is read with the field list it was written with, then converted. The structures
//! mirror those of their version field for field, in order; they are only read, never
//! written.
//!
//! - Versions 5 to 7 ([`CheckpointV7`]): before distillation (`TrainConfig::distill`), the gain
//!   statistics (`EpochLog::gain`) and the workers' gain counts (`Checkpoint::gain`).
//! - Version 8 ([`CheckpointV8`]): before gain control (`TrainConfig::gain_band`) and the
//!   start from the ReLU twin (`TrainConfig::relu_start`).
//! - Version 9 ([`CheckpointV9`]): before the decision cost (`TrainConfig::decision_cost`).

use super::adam::AdamState;
use super::checkpoint::{Checkpoint, DataId, EpochTotals, RngState};
use super::config::{Distill, GainBand, ReluStart};
use super::gain::GainHist;
use super::{EpochLog, TrainConfig};
use crate::encoding::Encoding;
use crate::loss::LossOrigin;
use crate::network::Arch;
use crate::neuron::NeuronParams;
use crate::trace::EngineKind;
use serde::Deserialize;

/// `TrainConfig` of versions 5 to 7.
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
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
#[cfg_attr(test, derive(serde::Serialize))]
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
#[cfg_attr(test, derive(serde::Serialize))]
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

/// `TrainConfig` of version 8: version 7's and distillation.
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub(super) struct TrainConfigV8 {
    v7: TrainConfigV7,
    distill: Option<Distill>,
}

/// `Checkpoint` of version 8.
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub(super) struct CheckpointV8 {
    config: TrainConfigV8,
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
    log: Vec<EpochLog>,
    train_seconds: f64,
    epoch_seconds: f64,
    gain: Vec<GainHist>,
}

/// `TrainConfig` of version 9: version 8's, gain control and the ReLU start.
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub(super) struct TrainConfigV9 {
    v8: TrainConfigV8,
    gain_band: Option<GainBand>,
    relu_start: Option<ReluStart>,
}

/// `Checkpoint` of version 9: today's payload with version 9's settings.
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub(super) struct CheckpointV9 {
    config: TrainConfigV9,
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
    log: Vec<EpochLog>,
    train_seconds: f64,
    epoch_seconds: f64,
    gain: Vec<GainHist>,
}

impl From<TrainConfigV9> for TrainConfig {
    fn from(c: TrainConfigV9) -> Self {
        TrainConfig {
            gain_band: c.gain_band,
            relu_start: c.relu_start,
            ..c.v8.into()
        }
    }
}

impl From<CheckpointV9> for Checkpoint {
    fn from(c: CheckpointV9) -> Self {
        Checkpoint {
            config: c.config.into(),
            log: c.log,
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
            gain: c.gain,
        }
    }
}

impl From<TrainConfigV8> for TrainConfig {
    fn from(c: TrainConfigV8) -> Self {
        TrainConfig {
            distill: c.distill,
            ..c.v7.into()
        }
    }
}

impl From<CheckpointV8> for Checkpoint {
    fn from(c: CheckpointV8) -> Self {
        Checkpoint {
            config: c.config.into(),
            log: c.log,
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
            gain: c.gain,
        }
    }
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
            gain_band: None,
            relu_start: None,
            decision_cost: 0.0,
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

#[cfg(test)]
mod fixture {
    use super::*;
    use crate::data::Dataset;
    use crate::model::Model;
    use crate::train::{Schedule, Trainer};

    /// Today's settings as versions 5 to 7 wrote them (the fields they had).
    pub(super) fn config_v7(k: TrainConfig) -> TrainConfigV7 {
        TrainConfigV7 {
            arch: k.arch,
            epochs: k.epochs,
            batch_size: k.batch_size,
            lr: k.lr,
            lr_decay: k.lr_decay,
            weight_sum_k: k.weight_sum_k,
            l2: k.l2,
            jitter_sd: k.jitter_sd,
            shift: k.shift,
            flip: k.flip,
            init_mean: k.init_mean,
            init_sd: k.init_sd,
            denom_floor: k.denom_floor,
            clip_norm: k.clip_norm,
            loss_origin: k.loss_origin,
            engine: k.engine,
            seed: k.seed,
            threads: k.threads,
            params: k.params,
            encoding: k.encoding,
            validation: k.validation,
            quantise_bits: k.quantise_bits,
            average: k.average,
        }
    }

    /// 96 images of 4 x 4 pixels, three classes.
    pub(super) fn data() -> Dataset {
        Dataset {
            images: (0..96u32 * 16).map(|k| (k * 37 % 251) as u8).collect(),
            labels: (0..96).map(|k| (k % 3) as u8).collect(),
            rows: 4,
            cols: 4,
        }
    }

    /// Two epochs of a small dense net with the time softmax (which versions 5 and 6 lack).
    pub(super) fn config() -> TrainConfig {
        TrainConfig {
            arch: Arch::dense(&[16, 8, 3]),
            epochs: 2,
            batch_size: 16,
            init_mean: 2.0,
            loss_origin: LossOrigin::Time(0.2),
            ..TrainConfig::default()
        }
    }

    /// The checkpoint of `cfg`'s run after `batches` batches, and the model of the same run
    /// never stopped.
    pub(super) fn stopped_run(
        cfg: &TrainConfig,
        data: &Dataset,
        batches: u64,
    ) -> (Checkpoint, Model) {
        let mut t = Trainer::new(cfg, data, None).unwrap();
        let mut ckpt = None;
        let stop = Schedule {
            max_batches: Some(batches),
            ..Schedule::default()
        };
        t.run(
            &stop,
            |c| {
                ckpt = Some(c.clone());
                Ok(())
            },
            |_| {},
        )
        .unwrap();
        t.run(&Schedule::default(), |_| Ok(()), |_| {}).unwrap();
        (ckpt.unwrap(), t.finish().model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{Schedule, Trainer};

    /// A checkpoint of today as version 7 wrote it (what an older build's file holds).
    fn as_v7(c: &Checkpoint) -> CheckpointV7 {
        let c = c.clone();
        let k = c.config;
        CheckpointV7 {
            config: fixture::config_v7(k),
            log: c
                .log
                .into_iter()
                .map(|e| EpochLogV7 {
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
                })
                .collect(),
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
        }
    }

    /// Files of versions 5 to 7 are read (their runs had no distillation and no gain counts)
    /// and resume to the very weights of a run never stopped.
    #[test]
    fn older_checkpoints_are_read_and_resume_bit_for_bit() {
        use crate::fileformat;
        use crate::train::checkpoint::{CHECKPOINT_MAGIC, MAX_CHECKPOINT_BYTES};
        let data = fixture::data();
        let (ckpt, want) = fixture::stopped_run(&fixture::config(), &data, 8);
        assert!(!ckpt.gain.is_empty() && !ckpt.log[0].gain.is_empty());
        for version in [7u32, 6, 5] {
            let mut old = as_v7(&ckpt);
            if version < 7 {
                old.config.loss_origin = LossOrigin::Input;
            }
            let bytes =
                fileformat::write(CHECKPOINT_MAGIC, version, MAX_CHECKPOINT_BYTES, &old).unwrap();
            let read = Checkpoint::from_bytes(&bytes, "old.ckpt".as_ref()).unwrap();
            assert!(read.gain.is_empty() && read.log.iter().all(|e| e.gain.is_empty()));
            assert_eq!(read.config.distill, None);
            assert_eq!(read.weights, ckpt.weights);
            if version == 7 {
                let mut t = Trainer::resume(read, &data, None).unwrap();
                t.run(&Schedule::default(), |_| Ok(()), |_| {}).unwrap();
                assert_eq!(t.finish().model.layers, want.layers);
            }
        }
        // A version-6 file cannot hold the time softmax.
        let bytes =
            fileformat::write(CHECKPOINT_MAGIC, 6, MAX_CHECKPOINT_BYTES, &as_v7(&ckpt)).unwrap();
        let e = Checkpoint::from_bytes(&bytes, "old.ckpt".as_ref()).unwrap_err();
        assert!(e.to_string().contains("cannot hold its settings"), "{e}");
    }
}

#[cfg(test)]
mod v8_tests {
    use super::*;
    use crate::fileformat;
    use crate::train::checkpoint::{CHECKPOINT_MAGIC, MAX_CHECKPOINT_BYTES};
    use crate::train::{Schedule, Trainer};

    /// A checkpoint of today as version 8 wrote it (its settings without gain control and
    /// the ReLU start).
    fn as_v8(c: &Checkpoint) -> CheckpointV8 {
        let c = c.clone();
        let k = c.config;
        let distill = k.distill.clone();
        CheckpointV8 {
            config: TrainConfigV8 {
                v7: fixture::config_v7(k),
                distill,
            },
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
            log: c.log,
            train_seconds: c.train_seconds,
            epoch_seconds: c.epoch_seconds,
            gain: c.gain,
        }
    }

    /// A checkpoint of today as version 9 wrote it (its settings without the decision cost).
    fn as_v9(c: &Checkpoint) -> CheckpointV9 {
        let v8 = as_v8(c);
        let c = c.clone();
        CheckpointV9 {
            config: TrainConfigV9 {
                v8: v8.config,
                gain_band: c.config.gain_band,
                relu_start: c.config.relu_start,
            },
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
            log: c.log,
            train_seconds: c.train_seconds,
            epoch_seconds: c.epoch_seconds,
            gain: c.gain,
        }
    }

    /// A file of version 9 is read (with its gain band, without a decision cost) and equals
    /// today's checkpoint of the same run; a decision cost changes the payload, so a version-9
    /// reader could not take today's file.
    #[test]
    fn version_9_checkpoints_are_read() {
        let cfg = TrainConfig {
            gain_band: Some(GainBand {
                low: 0.1,
                high: 10.0,
                weight: 0.1,
            }),
            ..fixture::config()
        };
        let (ckpt, _) = fixture::stopped_run(&cfg, &fixture::data(), 3);
        let bytes =
            fileformat::write(CHECKPOINT_MAGIC, 9, MAX_CHECKPOINT_BYTES, &as_v9(&ckpt)).unwrap();
        let read = Checkpoint::from_bytes(&bytes, "old.ckpt".as_ref()).unwrap();
        assert_eq!(read, ckpt);
        assert!(read.config.gain_band.is_some());
        let costly = Checkpoint {
            config: TrainConfig {
                decision_cost: 0.05,
                ..ckpt.config.clone()
            },
            ..ckpt.clone()
        };
        let today = Checkpoint::from_bytes(&costly.to_bytes(), "new.ckpt".as_ref()).unwrap();
        assert_eq!(today.config.decision_cost, 0.05);
        assert_ne!(costly.to_bytes(), bytes);
    }

    /// A file of version 8 is read (gain statistics and all, without gain control or a ReLU
    /// start) and resumes to the very weights of a run never stopped; today's checkpoints
    /// are version 10.
    #[test]
    fn version_8_checkpoints_are_read_and_resume_bit_for_bit() {
        let data = fixture::data();
        let (ckpt, want) = fixture::stopped_run(&fixture::config(), &data, 8);
        assert_eq!(ckpt.format_version(), 10);
        let bytes =
            fileformat::write(CHECKPOINT_MAGIC, 8, MAX_CHECKPOINT_BYTES, &as_v8(&ckpt)).unwrap();
        let read = Checkpoint::from_bytes(&bytes, "old.ckpt".as_ref()).unwrap();
        assert_eq!(read, ckpt);
        let mut t = Trainer::resume(read, &data, None).unwrap();
        t.run(&Schedule::default(), |_| Ok(()), |_| {}).unwrap();
        assert_eq!(t.finish().model.layers, want.layers);
    }
}
