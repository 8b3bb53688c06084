//! `firstspike train`: trains with the analytic solver, logs every epoch, checkpoints, saves
//! the model; `--resume` continues a checkpointed run.
//!
//! Ctrl-C (or SIGTERM) stops after the current batch, writes a checkpoint and exits with
//! code 130; a second Ctrl-C quits at once, keeping the last checkpoint written.
//!
//! The parts: `args.rs` the flags, `settings.rs` the settings made from them, `plan.rs` the
//! checks and loading before a run, `drive.rs` the loop with its checkpoints and per-epoch
//! output, `report.rs` the end of the run.

use firstspike::model::with_ext;
use firstspike::{fsio, Result};

mod args;
mod drive;
mod plan;
mod report;
mod settings;

pub use args::TrainArgs;
use drive::*;
use plan::*;
use report::*;

/// Runs `train`: plans (settings, data, outputs), trains with checkpoints, reports.
pub fn run(a: TrainArgs) -> Result<()> {
    let plan = plan(&a)?;
    let out = Outputs {
        bin: with_ext(&a.out, "bin"),
        log: with_ext(&a.out, "log.jsonl"),
        ckpt: with_ext(&a.out, "ckpt"),
    };
    // Fail on an unwritable output before hours of training, not after.
    let mut lines = String::new();
    for e in plan.ckpt.iter().flat_map(|c| &c.log) {
        lines.push_str(&serde_json::to_string(e).expect("json"));
        lines.push('\n');
    }
    fsio::write_atomic(&out.log, lines.as_bytes())?;
    let (train_set, test_set) = load_sets(&plan)?;
    let every = plan.every;
    if plan.ckpt.is_none() {
        if let Some(r) = &plan.cfg.relu_start {
            if !a.json {
                eprintln!(
                    "mapping the ReLU twin's weights ({}): choosing the scales on up to {} training images",
                    r.file, r.images
                );
            }
        }
    }
    let mut trainer = start_trainer(plan, &train_set, test_set.as_ref())?;
    // A ReLU start fills in its record when the trainer maps the weights.
    let cfg = trainer.config().clone();
    if let (Some(r), None) = (&cfg.relu_start, &a.resume) {
        eprintln!("{}", relu_start_line(r));
    }
    let run = Run {
        a: &a,
        cfg: &cfg,
        out: &out,
        train_len: train_set.len() - cfg.validation,
    };
    drive(
        &run,
        &mut trainer,
        (&train_set, test_set.as_ref()),
        &mut lines,
        every,
    )?;
    report(&run, trainer, test_set.as_ref())
}
