//! What the command line adds to a library error. The library names settings by their own
//! names (`limit`, `batch_size`) and knows no command or flag; this module turns a setting's
//! name into the flag that sets it, and appends a hint naming the flag, the environment
//! variable or the file convention that fixes the error.

use super::common::{DATA_ENV, DEFAULT_DATA_DIR};
use firstspike::{Error, FileKind};
use std::path::Path;

/// The message the user sees for `e`, raised by command `cmd` (e.g. `train`, `baseline`).
pub fn message(e: &Error, cmd: &str) -> String {
    match e {
        Error::InvalidSetting { name, what } => setting(e, name, what, cmd),
        _ => format!("{e}{}", hint(e, cmd).unwrap_or_default()),
    }
}

/// The flag that sets the library setting `name` in command `cmd`, if there is one.
fn flag(name: &str, cmd: &str) -> Option<&'static str> {
    Some(match name {
        "arch" => "--arch",
        "epochs" => "--epochs",
        "batch_size" => "--batch",
        "threads" => "--threads",
        "lr" => "--lr",
        "lr_decay" => "--lr-decay",
        "weight_sum_k" => "--weight-sum-k",
        "l2" => "--l2",
        "decision_cost" => "--decision-cost",
        "jitter_sd" => "--jitter",
        "shift" => "--shift",
        "flip" => "--flip",
        "init_sd" => "--init-sd",
        "init_mean" => "--init-mean",
        "clip_norm" => "--clip",
        "denom_floor" => "--denom-floor",
        "dropout" => "--dropout",
        "momentum" => "--momentum",
        "steps" => "--steps",
        "input_rate" => "--input-rate",
        "percentile" => "--percentile",
        "norm_samples" => "--norm-samples",
        "index" => "--index",
        "quantise_bits" => "--quantise-bits",
        "average" => "--average",
        "loss_origin" => "--loss-origin",
        "distill_weight" => "--distill-weight",
        "distill_temperature" => "--distill-temperature",
        "teacher" => "--teacher",
        "gain_band" => "--gain-band",
        "gain_weight" => "--gain-weight",
        "init_from_relu" => "--init-from-relu",
        "relu_images" => "--relu-images",
        // robustness
        "trials" => "--trials",
        "jitter" => "--jitter",
        "deletion" => "--deletion",
        "bits" => "--bits",
        "noise" => "--noise",
        "deadline" => "--deadline",
        "rate_steps" => "--rate-steps",
        "rate_input" => "--rate-input",
        "rate_deadline" => "--rate-deadline",
        // `baseline train` limits its two sets with --train-limit and --test-limit.
        "limit" if cmd != "baseline" => "--limit",
        // The command line's own settings.
        "train_limit" => "--train-limit",
        "test_limit" => "--test-limit",
        "checkpoint_every" => "--checkpoint-every",
        "out" => "--out",
        "resume" => "--resume",
        "model" => "--model",
        "trace" => "--trace",
        _ => return None,
    })
}

/// An invalid setting: a message that starts with the setting's name starts with its flag
/// instead; one that names neither gets the flag (or another hint) appended.
fn setting(e: &Error, name: &str, what: &str, cmd: &str) -> String {
    let extra = match (name, cmd) {
        ("limit", "baseline") => Some("(--train-limit, --test-limit)"),
        ("steps", _) => Some("(--steps, --limit)"),
        ("train_data", _) => Some("(pass the --data and --train-limit of the interrupted run)"),
        ("test_data", _) => Some("(pass the --data and --test-limit of the interrupted run)"),
        _ => None,
    };
    let Some(flag) = flag(name, cmd) else {
        return match extra {
            Some(x) => format!("{e} {x}"),
            None => e.to_string(),
        };
    };
    let rest = what
        .strip_prefix(name)
        .filter(|r| r.starts_with([' ', ':']));
    match (rest, extra) {
        (Some(rest), _) => format!("{flag}{rest}"),
        (None, _) if what.contains(flag) => what.to_string(),
        (None, Some(x)) => format!("{what} {x}"),
        (None, None) => format!("{what} ({flag})"),
    }
}

/// The hint appended to any other error (with its separator), if there is one.
fn hint(e: &Error, cmd: &str) -> Option<String> {
    Some(match e {
        Error::DataNotFound { .. } => format!(
            "; pass --data DIR or set {DATA_ENV} to a folder holding the MNIST IDX files, or run tools/fetch-mnist.sh to fill {DEFAULT_DATA_DIR}"
        ),
        Error::NotFound {
            file: FileKind::Model,
            ..
        } => model_hint(cmd),
        Error::NotFound {
            file: FileKind::RateModel,
            ..
        } => RATE_HINT.into(),
        Error::Model {
            path: Some(_),
            what,
        } if wrong_file(what) => model_hint(cmd),
        Error::RateModel {
            path: Some(_),
            what,
        } if wrong_file(what) => RATE_HINT.into(),
        Error::Checkpoint {
            path: Some(_),
            what,
        } if wrong_file(what) => {
            "; give --resume the PREFIX.ckpt that 'firstspike train --out PREFIX' writes".into()
        }
        Error::NirImport { .. } => {
            "; firstspike imports one feedforward chain of Affine/Linear/Conv2d nodes, each followed by LI -> IF or a CubaLIF with tau_mem = inf (docs/nir.md, \"Import\")".into()
        }
        Error::Diverged { .. } if cmd == "train" => "; try a smaller --lr or a --clip".into(),
        Error::Diverged { .. } => "; try a smaller --lr".into(),
        Error::Dimension { .. } if cmd == "train" => " (--arch, --data)".into(),
        Error::Interrupted {
            checkpoint: Some(ck),
            ..
        } if cmd == "train" => {
            // The checkpoint is PREFIX.ckpt; --out takes PREFIX.
            let prefix = ck.to_string_lossy();
            let prefix = prefix.strip_suffix(".ckpt").unwrap_or(&prefix);
            format!(
                "; continue with: firstspike train --resume {} --out {}",
                ck.display(),
                Path::new(prefix).display()
            )
        }
        _ => return None,
    })
}

/// The hint for a model file that is missing or not a model, naming the flag of `cmd` that
/// takes it.
fn model_hint(cmd: &str) -> String {
    let flag = if cmd == "compare" {
        "--temporal"
    } else {
        "--model"
    };
    format!("; give {flag} the NAME.bin written by 'firstspike train' (e.g. models/mnist-784-800-10.bin)")
}

/// The hint for a rate model file that is missing or not a rate model.
const RATE_HINT: &str =
    "; give --rate the NAME.bin written by 'firstspike baseline train' (e.g. models/rate-784-800-10.bin)";

/// Whether a file error says the file is missing or of another kind (where naming the file
/// the command wants helps), rather than damaged.
fn wrong_file(what: &str) -> bool {
    what.starts_with("file not found")
        || what.contains("bad magic")
        || what.starts_with("this is a")
}
