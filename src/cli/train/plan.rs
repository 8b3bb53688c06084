//! What a run will do before it starts: its settings, data, outputs and checkpoint interval
//! checked, the data sets loaded and the trainer built (new, from a model, or resumed).

use super::super::common::resolve_data_dir;
use super::super::common::{default_threads, load_split};
use super::{args::*, settings::*};
use firstspike::data::{Dataset, Split};
use firstspike::model::Model;
use firstspike::network::Arch;
use firstspike::train::{Checkpoint, TrainConfig, Trainer};
use firstspike::{Error, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `--checkpoint-every` as a duration.
pub(super) fn checkpoint_interval(minutes: f64) -> Result<Duration> {
    let shown = if minutes.is_finite() && minutes.abs() >= 1e9 {
        format!("{minutes:e}")
    } else {
        minutes.to_string()
    };
    let bad = |why: &str| {
        Error::setting(
            "checkpoint_every",
            format!("--checkpoint-every {shown}: {why} (e.g. --checkpoint-every 10)"),
        )
    };
    if !(minutes.is_finite() && minutes > 0.0) {
        return Err(bad("must be a number of minutes > 0"));
    }
    Duration::try_from_secs_f64(minutes * 60.0).map_err(|_| bad("too large"))
}

/// Refuses an `--out` that names a folder rather than a file prefix.
pub(super) fn check_out_prefix(out: &Path) -> Result<()> {
    let s = out.as_os_str().to_string_lossy();
    if out.is_dir() || s.is_empty() || s.ends_with('/') || s.ends_with(std::path::MAIN_SEPARATOR) {
        return Err(Error::setting("out", format!(
            "--out '{s}' names a folder; give a file prefix inside it, e.g. --out {}/run1 (writes run1.bin, run1.json, run1.log.jsonl, run1.ckpt)",
            s.trim_end_matches(['/', std::path::MAIN_SEPARATOR])
        )));
    }
    Ok(())
}

/// Loads a split keeping the first `limit` images, with messages naming `flag`. `limit` may
/// also come from a checkpoint (`from_ckpt`), in which case a smaller set is left whole for
/// the checkpoint's data check to refuse.
pub(super) fn load_limited(
    data: &Option<PathBuf>,
    split: Split,
    limit: Option<usize>,
    (name, flag): (&'static str, &str),
    from_ckpt: bool,
) -> Result<Dataset> {
    if limit == Some(0) {
        return Err(Error::setting(name, format!("{flag} must be at least 1")));
    }
    let mut ds = load_split(data, split, None)?;
    match limit {
        Some(n) if n < ds.len() => ds.truncate(n)?,
        Some(n) if n > ds.len() && !from_ckpt => {
            return Err(Error::setting(
                name,
                format!(
                    "{flag} {n} is larger than the data set ({} images); use at most {}",
                    ds.len(),
                    ds.len()
                ),
            ))
        }
        _ => {}
    }
    Ok(ds)
}

/// A data-set size flag with `--resume`: given, it must match the checkpoint's; not given, it
/// takes the checkpoint's.
pub(super) fn resume_limit(
    flag: &str,
    given: Option<usize>,
    ckpt: Option<u64>,
    errs: &mut Vec<String>,
) -> (Option<usize>, bool) {
    match (given, ckpt) {
        (Some(g), Some(c)) if g as u64 != c => {
            errs.push(format!(
                "{flag} {g} differs from the checkpoint's {c} images"
            ));
            (given, false)
        }
        (Some(_), _) => (given, false),
        (None, c) => (c.map(|c| c as usize), true),
    }
}

/// What a train command will do, settled from its flags and, with `--resume` or `--init`,
/// the checkpoint or starting model.
pub(super) struct Plan {
    pub(super) every: Duration,
    pub(super) ckpt: Option<Checkpoint>,
    pub(super) start_model: Option<Model>,
    /// (train limit, whether the flag fixed it, test limit, whether the flag fixed it).
    pub(super) limits: (Option<usize>, bool, Option<usize>, bool),
    /// The test set is not read (`--no-test`, `--validation`, or a checkpoint of such a run).
    pub(super) no_test: bool,
    pub(super) dataset: String,
    pub(super) data: Option<PathBuf>,
    pub(super) cfg: TrainConfig,
}

/// The files a run writes: `PREFIX.bin`, `PREFIX.log.jsonl`, `PREFIX.ckpt`.
pub(super) struct Outputs {
    pub(super) bin: PathBuf,
    pub(super) log: PathBuf,
    pub(super) ckpt: PathBuf,
}

/// Parses: the flags over the defaults, the checkpoint's settings (`--resume`) or the
/// starting model's network (`--init`); checks them against each other.
pub(super) fn plan(a: &TrainArgs) -> Result<Plan> {
    let every = checkpoint_interval(a.checkpoint_every)?;
    check_out_prefix(&a.out)?;
    let mut defaults = TrainConfig {
        threads: default_threads(),
        ..TrainConfig::default()
    };
    let ckpt = a.resume.as_deref().map(Checkpoint::load).transpose()?;
    // Fine-tuning starts from a model's weights, architecture, neuron parameters and encoding.
    let start_model = a.init.as_deref().map(Model::load).transpose()?;
    if let Some(m) = &start_model {
        defaults.arch = Arch::of_layers(&m.layers);
        defaults.params = m.params;
        defaults.encoding = m.encoding;
    }
    let mut limits = (a.train_limit, false, a.test_limit, false);
    let mut dataset = a.dataset.clone().unwrap_or_else(|| "mnist".into());
    let mut no_test = a.no_test;
    if let Some(c) = &ckpt {
        // A checkpoint of a run without the test set resumes without it.
        no_test = c.test_data.is_none();
        defaults = c.config.clone();
        let mut errs = Vec::new();
        let (l, lf) = resume_limit(
            "--train-limit",
            a.train_limit,
            Some(c.train_data.samples),
            &mut errs,
        );
        let (t, tf) = resume_limit(
            "--test-limit",
            a.test_limit,
            c.test_data.as_ref().map(|d| d.samples),
            &mut errs,
        );
        limits = (l, lf, t, tf);
        match &a.dataset {
            Some(d) if *d != c.dataset => errs.push(format!(
                "--dataset {d} differs from the checkpoint's {}",
                c.dataset
            )),
            _ => dataset = c.dataset.clone(),
        }
        if a.no_test && !no_test {
            errs.push("--no-test, but the checkpoint's run reads the test set".into());
        }
        if !errs.is_empty() {
            return Err(Error::setting(
                "resume",
                format!(
                    "{}: a resumed run uses the data it started with; drop the flag, or start a new run without --resume",
                    errs.join("; ")
                ),
            ));
        }
    }
    // With --resume and no --data, the folder the interrupted run read (checked by content).
    let data = a.data.clone().or_else(|| {
        ckpt.as_ref()
            .filter(|c| !c.data_dir.is_empty())
            .map(|c| PathBuf::from(&c.data_dir))
    });
    let cfg = settings(a, &defaults, ckpt.is_some())?;
    cfg.validate()?;
    // A new run reads no test set with --no-test, nor with a validation split (it measures
    // nothing on it); a resumed one follows its checkpoint (above).
    if ckpt.is_none() {
        no_test = a.no_test || cfg.validation > 0;
    }
    if no_test && a.test_limit.is_some() {
        let why = if ckpt.is_some() {
            "the checkpoint's run"
        } else if a.no_test {
            "--no-test"
        } else {
            "a run with --validation"
        };
        return Err(Error::setting(
            "test_limit",
            format!("--test-limit sets how much of the test set to read, but {why} reads none of it: drop --test-limit"),
        ));
    }
    Ok(Plan {
        every,
        ckpt,
        start_model,
        limits,
        no_test,
        dataset,
        data,
        cfg,
    })
}

/// The training and test sets the plan asks for (no test set with `--no-test` or
/// `--validation`).
pub(super) fn load_sets(plan: &Plan) -> Result<(Dataset, Option<Dataset>)> {
    let train_set = load_limited(
        &plan.data,
        Split::Train,
        plan.limits.0,
        ("train_limit", "--train-limit"),
        plan.limits.1,
    )?;
    let test_set = if plan.no_test {
        None
    } else {
        Some(load_limited(
            &plan.data,
            Split::Test,
            plan.limits.2,
            ("test_limit", "--test-limit"),
            plan.limits.3,
        )?)
    };
    Ok((train_set, test_set))
}

/// A new run, a fine-tuning run from the starting model, or the resumed one.
pub(super) fn start_trainer<'d>(
    plan: Plan,
    train_set: &'d Dataset,
    test_set: Option<&'d Dataset>,
) -> Result<Trainer<'d>> {
    let cfg = &plan.cfg;
    let mut trainer = match plan.ckpt {
        None => match &plan.start_model {
            Some(m) => Trainer::from_model(cfg, m, train_set, test_set)?,
            None => Trainer::new(cfg, train_set, test_set)?,
        },
        Some(mut c) => {
            c.config.epochs = cfg.epochs;
            c.set_threads(cfg.threads);
            Trainer::resume(c, train_set, test_set)?
        }
    };
    trainer.set_dataset(&plan.dataset);
    let dir = resolve_data_dir(plan.data.as_deref());
    trainer.set_data_dir(&std::fs::canonicalize(&dir).unwrap_or(dir).to_string_lossy());
    Ok(trainer)
}
