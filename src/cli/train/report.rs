//! The end of a run: the saved model's summary, the final accuracy and the `--json` object.

use super::super::common::print_json;
use super::drive::*;
use firstspike::analytic::{evaluate, Net};
use firstspike::data::Dataset;
use firstspike::model::with_ext;
use firstspike::progress::NO_PROGRESS;
use firstspike::train::gain::LayerGain;
use firstspike::train::{ReluStart, Trainer};
use firstspike::Result;
use serde::Serialize;
use std::path::Path;

/// The line `train` prints about a ReLU start before the first epoch.
pub(super) fn relu_start_line(r: &ReluStart) -> String {
    let scales: Vec<String> = r.scales.iter().map(|s| format!("{s:.4}")).collect();
    let val = r.mapped_validation_accuracy.map_or(String::new(), |v| {
        format!(", validation acc {:.2} % before fine-tuning", 100.0 * v)
    });
    format!(
        "ReLU start ({}): scales {} ({}); on {} training images the first output spike is the twin's largest logit on {:.2} %, accuracy {:.2} % (the twin {:.2} %){val}; biases dropped (largest |b| {:.3})",
        r.file,
        scales.join(", "),
        r.rule,
        r.images,
        100.0 * r.agreement,
        100.0 * r.mapped_accuracy,
        100.0 * r.relu_accuracy,
        r.largest_bias_dropped
    )
}

/// The `--json` object of `train`.
#[derive(Serialize)]
struct TrainJson<'a> {
    /// The model file written (PREFIX.bin).
    model: &'a Path,
    /// Its card (PREFIX.json).
    card: &'a Path,
    /// The training log, one JSON object per epoch (PREFIX.log.jsonl).
    log: &'a Path,
    /// The last checkpoint (PREFIX.ckpt).
    checkpoint: &'a Path,
    /// The checkpoint the run was resumed from, if it was.
    resumed_from: Option<&'a Path>,
    /// Epochs of the run.
    epochs: usize,
    /// Seconds of training steps (evaluation excluded).
    train_seconds: f64,
    /// Training samples per second of training steps.
    samples_per_second: f64,
    /// Accuracy on the test set at the end; `null` when the test set was not read.
    test_accuracy: Option<f64>,
    /// Test images evaluated (0 when none).
    test_samples: usize,
    /// Test images on which no output neuron fired; `null` when the test set was not read.
    no_output_spike: Option<usize>,
    /// The last epoch's accuracy on the validation split; `null` without one.
    validation_accuracy: Option<f64>,
    /// The epoch of the best validation accuracy (the first of equals); `null` without one.
    best_epoch: Option<usize>,
    /// That accuracy.
    best_validation_accuracy: Option<f64>,
    /// The best epoch's model (PREFIX.best.bin); `null` without a validation split.
    best_model: Option<&'a Path>,
    /// The run's seed.
    seed: u64,
    /// The last epoch's gain statistics per layer (every epoch's are in the log).
    gain: Option<&'a [LayerGain]>,
    /// The start from the ReLU twin, if the run made one.
    relu_start: Option<&'a ReluStart>,
}

/// Saves the trained model and says what was done. Without a validation split the model is
/// evaluated on the test set, unless the run has none (`--no-test`). With a validation split,
/// the test set is not read at all: the user picks a
/// model on validation accuracy (this run's `PREFIX.best.bin`, or one of several runs) and
/// reads the test set once for that model, with `eval --save-accuracy`.
pub(super) fn report(run: &Run, trainer: Trainer, test_set: Option<&Dataset>) -> Result<()> {
    let (a, cfg, train_len) = (run.a, run.cfg, run.train_len);
    let (bin, log_path, ckpt_path) = (&run.out.bin, &run.out.log, &run.out.ckpt);
    let out = trainer.finish();
    let mut model = out.model;
    let st = test_set.filter(|_| cfg.validation == 0).map(|test_set| {
        evaluate(
            &Net::<f64>::from_model(&model),
            &model.encoding,
            test_set,
            cfg.threads,
            NO_PROGRESS,
        )
    });
    if let Some(st) = &st {
        model.meta.test_accuracy = Some(st.accuracy());
        model.meta.test_samples = st.total;
    }
    // The best validation epoch (the first of equals), kept as PREFIX.best.bin.
    let best = out
        .log
        .iter()
        .filter_map(|e| e.validation_accuracy.map(|v| (e.epoch, v)))
        .fold(None, |b: Option<(usize, f64)>, (k, v)| match b {
            Some((_, bv)) if bv >= v => b,
            _ => Some((k, v)),
        });
    if let Some(v) = out.log.last().and_then(|e| e.validation_accuracy) {
        model.meta.validation_accuracy = Some(v);
        model.meta.validation_samples = cfg.validation;
    }
    let (bin_w, json_w) = model.save(&a.out)?;
    debug_assert_eq!(&bin_w, bin);
    let best_bin = best.map(|_| with_ext(&best_prefix(&a.out), "bin"));
    let n = train_len * cfg.epochs;
    if a.json {
        print_json(&TrainJson {
            model: &bin_w,
            card: &json_w,
            log: log_path,
            checkpoint: ckpt_path,
            resumed_from: a.resume.as_deref(),
            epochs: cfg.epochs,
            train_seconds: out.train_seconds,
            samples_per_second: n as f64 / out.train_seconds,
            test_accuracy: st.as_ref().map(|s| s.accuracy()),
            test_samples: st.as_ref().map_or(0, |s| s.total),
            no_output_spike: st.as_ref().map(|s| s.no_output_spike),
            validation_accuracy: model.meta.validation_accuracy,
            best_epoch: best.map(|b| b.0),
            best_validation_accuracy: best.map(|b| b.1),
            best_model: best_bin.as_deref(),
            seed: cfg.seed,
            gain: out.log.last().map(|e| &e.gain[..]),
            relu_start: cfg.relu_start.as_ref(),
        });
    } else {
        let held_out = match (&st, best) {
            (Some(st), _) => format!(
                "test accuracy {:.2} % on {} images",
                100.0 * st.accuracy(),
                st.total
            ),
            (None, Some((k, v))) => format!(
                "best validation accuracy {:.2} % at epoch {k}, kept as {}; the test set was not \
                 read: measure the model you choose once, with `firstspike eval --model MODEL.bin \
                 --save-accuracy`",
                100.0 * v,
                best_bin.as_ref().expect("a best epoch").display()
            ),
            (None, None) if cfg.validation == 0 => "the test set was not read (--no-test): \
                 measure the model once, with `firstspike eval --model MODEL.bin --save-accuracy`"
                .into(),
            (None, None) => "no epoch was validated".into(),
        };
        outln!(
            "trained {} for {} epochs in {:.1} s ({:.0} samples/s); {held_out}; wrote {} and {}",
            model.arch_string(),
            cfg.epochs,
            out.train_seconds,
            n as f64 / out.train_seconds,
            bin_w.display(),
            json_w.display()
        );
    }
    Ok(())
}
