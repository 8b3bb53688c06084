//! Driving a run: the Ctrl-C handler, the loop over batches with checkpoints, the progress
//! bar, the per-epoch line and log, and the best model on a validation split.

use super::super::common::progress_bar;
use super::{args::*, plan::*};
use firstspike::data::Dataset;
use firstspike::model::with_ext;
use firstspike::plot;
use firstspike::train::{Checkpoint, EpochLog, Progress, RunEnd, Schedule, TrainConfig, Trainer};
use firstspike::{fsio, Error, Result};
use indicatif::ProgressStyle;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Raised by the Ctrl-C handler; the training loop stops before its next batch.
pub(super) static STOP: AtomicBool = AtomicBool::new(false);

/// Ctrl-C (and SIGTERM): the first asks the loop to stop and checkpoint, the second quits.
pub(super) fn install_stop_handler() {
    let res = ctrlc::set_handler(|| {
        if STOP.swap(true, Ordering::SeqCst) {
            eprintln!("\nsecond interrupt: quitting now; the last checkpoint written is kept");
            std::process::exit(130);
        }
        eprintln!("\ninterrupt: finishing the current batch, then writing a checkpoint (Ctrl-C again quits at once)");
    });
    if let Err(e) = res {
        eprintln!("warning: cannot catch Ctrl-C ({e}); an interruption will lose the work since the last checkpoint");
    }
}

/// What `drive` and `report` share: the flags, the settings, the output files, the size of
/// the training set.
pub(super) struct Run<'r> {
    pub(super) a: &'r TrainArgs,
    pub(super) cfg: &'r TrainConfig,
    pub(super) out: &'r Outputs,
    pub(super) train_len: usize,
}

/// Runs the training to its end with a progress bar, the per-epoch log and curve, a
/// checkpoint at every epoch end and every `every`, and Ctrl-C.
pub(super) fn drive(
    run: &Run,
    trainer: &mut Trainer,
    sets: (&Dataset, Option<&Dataset>),
    lines: &mut String,
    every: Duration,
) -> Result<()> {
    let (a, cfg) = (run.a, run.cfg);
    let ckpt_path = &run.out.ckpt;
    let bar = progress_bar(run.train_len, "", a.json);
    bar.set_style(
        ProgressStyle::with_template(
            "epoch {prefix} [{bar:30}] {pos}/{len} {per_sec} eta {eta} {msg}",
        )
        .expect("template")
        .progress_chars("=> "),
    );
    let mut log_err = None;
    let mut last_ckpt: Option<(usize, usize)> = None;
    let mut warned: HashSet<(usize, usize)> = HashSet::new();
    install_stop_handler();
    let schedule = Schedule {
        checkpoint_every: Some(every),
        max_batches: None,
        stop: Some(&STOP),
    };
    let per_epoch = trainer.batches_per_epoch();
    let res = trainer.run(
        &schedule,
        |c| {
            c.save(ckpt_path)?;
            last_ckpt = Some((c.epoch, c.batch));
            if c.batch == 0 {
                keep_best(c, &a.out, sets)?;
            }
            Ok(())
        },
        |p| match p {
            Progress::Batch { epoch, done, .. } => {
                bar.set_prefix(format!("{epoch}/{}", cfg.epochs));
                bar.set_position(done as u64);
            }
            Progress::SilentLayer { epoch, batch, layer, layers, neurons } => {
                // Once per layer and epoch: a dead layer stays dead for many batches.
                if warned.insert((epoch, layer)) {
                    let which = if layer == layers { "the output layer".to_string() } else { format!("hidden layer {layer}") };
                    bar.suspend(|| {
                        eprintln!(
                            "warning: epoch {epoch}, batch {batch}: no neuron of {which} ({neurons} neurons) fired on any sample of the batch, so it passes no gradient; if this persists, try a larger --init-mean or --weight-sum-k"
                        )
                    });
                }
            }
            Progress::Epoch(e) => {
                // suspend() prints whether or not the bar is drawn (stderr not a terminal).
                bar.suspend(|| eprintln!("{}", epoch_line(e)));
                if let Err(err) = write_epoch(run, e, lines) {
                    log_err.get_or_insert(err);
                }
                bar.reset();
            }
        },
    );
    bar.finish_and_clear();
    run_end(res, ckpt_path, last_ckpt, per_epoch)?;
    log_err.map_or(Ok(()), Err)
}

/// At an epoch end of a run with a validation split: when the epoch just finished has the
/// best validation accuracy so far (strictly better than every earlier epoch), its model is
/// written to `PREFIX.best.bin` (and `.json`), so that the stopping epoch can be chosen on
/// validation without training again. Its test accuracy is not measured (the test set is
/// read once, for the model the user picks).
pub(super) fn keep_best(
    c: &Checkpoint,
    out: &Path,
    (train, test): (&Dataset, Option<&Dataset>),
) -> Result<()> {
    let v: Vec<f64> = c.log.iter().filter_map(|e| e.validation_accuracy).collect();
    let Some((&last, before)) = v.split_last() else {
        return Ok(());
    };
    if before.iter().any(|&b| b >= last) {
        return Ok(());
    }
    let mut model = Trainer::resume(c.clone(), train, test)?.finish().model;
    model.meta.validation_accuracy = Some(last);
    model.meta.validation_samples = c.config.validation;
    model.save(&best_prefix(out))?;
    Ok(())
}

/// `PREFIX.best`, where `keep_best` writes.
pub(super) fn best_prefix(out: &Path) -> PathBuf {
    with_ext(out, "best")
}

/// The line `train` prints after each epoch.
pub(super) fn epoch_line(e: &EpochLog) -> String {
    let held_out = match (e.validation_accuracy, e.test_accuracy) {
        (Some(v), _) => format!("validation acc {:.2} %", 100.0 * v),
        (None, Some(t)) => format!("test acc {:.2} %", 100.0 * t),
        (None, None) => "no held-out images".into(),
    };
    let gain: Vec<String> = e
        .gain
        .iter()
        .map(|g| {
            format!(
                "{:.3}/{:.3} ({:.1} % floored)",
                g.quantiles[1],
                g.quantiles[2],
                100.0 * g.floored as f64 / g.fired.max(1) as f64
            )
        })
        .collect();
    let gain = if gain.is_empty() {
        String::new()
    } else {
        format!(", S - theta p10/p50 per layer {}", gain.join(", "))
    };
    format!(
        "epoch {:>3}: loss {:.4}, train acc {:.2} %, {held_out}, {:.1} s, lr {:.2e}, no output spike {}, floored {}, too late {}{gain}",
        e.epoch,
        e.train_loss,
        100.0 * e.train_accuracy,
        e.seconds,
        e.lr,
        e.no_output_spike,
        e.floored,
        e.too_late
    )
}

/// Appends epoch `e` to the JSON-lines log `lines` and rewrites the log and the accuracy
/// curve beside the model.
pub(super) fn write_epoch(run: &Run, e: &EpochLog, lines: &mut String) -> Result<()> {
    lines.push_str(&serde_json::to_string(e).expect("json"));
    lines.push('\n');
    fsio::write_atomic(&run.out.log, lines.as_bytes())?;
    let logs = super::super::curve::parse_log(lines);
    let title = plot::curve_title(&plot::model_name(&run.a.out), Some(&run.cfg.arch.sizes()));
    let svg = plot::accuracy_curve(&title, &super::super::curve::accuracies(&logs));
    fsio::write_atomic(&with_ext(&run.a.out, "curve.svg"), svg.as_bytes())?;
    let both = super::super::curve::curve_and_gain(&title, &logs, run.cfg.denom_floor);
    fsio::write_atomic(&with_ext(&run.a.out, "gain.svg"), both.as_bytes())
}

/// How a run ended, as the command reports it: a stop by Ctrl-C names the checkpoint to
/// resume from (exit 130), a divergence says which checkpoint, if any, is the last good one.
pub(super) fn run_end(
    res: Result<RunEnd>,
    ckpt_path: &Path,
    last_ckpt: Option<(usize, usize)>,
    per_epoch: usize,
) -> Result<()> {
    match res {
        Ok(RunEnd::Finished) => Ok(()),
        // The hint (see hint.rs) gives the command that continues from the checkpoint.
        Ok(RunEnd::Stopped { epoch, batch }) => Err(Error::Interrupted {
            checkpoint: Some(ckpt_path.to_path_buf()),
            what: format!("stopped at epoch {epoch}, batch {batch} of {per_epoch}"),
        }),
        Err(Error::Diverged { epoch, batch, what }) => {
            let kept = match last_ckpt {
                Some((e, b)) => format!(
                    "the last good checkpoint, {} (epoch {e}, batch {b}), is kept",
                    ckpt_path.display()
                ),
                None => "no checkpoint had been written yet".into(),
            };
            Err(Error::Diverged {
                epoch,
                batch,
                what: format!("{what} ({kept})"),
            })
        }
        Err(e) => Err(e),
    }
}
