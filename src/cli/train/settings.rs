//! The run's settings from the flags: over the defaults, or checked against a checkpoint's
//! settings with `--resume` (a flag that differs is named).

use super::args::*;
use firstspike::encoding::EncodingKind;
use firstspike::loss::LossOrigin;
use firstspike::network::Arch;
use firstspike::trace::EngineKind;
use firstspike::train::{
    Distill, GainBand, ReluStart, ScaleRule, TrainConfig, DISTILL_TEMPERATURE, DISTILL_WEIGHT,
    GAIN_WEIGHT, RELU_IMAGES,
};
use firstspike::{Error, Result};

/// A setting as the command line spells it (`--loss time:0.2`, `--encoding zlinear`), for
/// messages.
pub(super) trait AsFlag {
    fn as_flag(&self) -> String;
}

macro_rules! as_flag_by_display {
    ($($t:ty),*) => {$(
        impl AsFlag for $t {
            fn as_flag(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
as_flag_by_display!(u8, u32, u64, usize, f64, bool, LossOrigin, Arch);

impl AsFlag for EncodingKind {
    fn as_flag(&self) -> String {
        value_name(*self)
    }
}

impl AsFlag for EngineKind {
    fn as_flag(&self) -> String {
        value_name(*self)
    }
}

/// Applies flags to a configuration: each flag given replaces the field, or, when `strict`
/// (resuming), must equal it; disagreements are collected as messages naming the flag.
pub(super) struct Apply {
    strict: bool,
    clashes: Vec<String>,
}

impl Apply {
    fn set<T: PartialEq + AsFlag>(&mut self, flag: &str, given: Option<T>, field: &mut T) {
        if let Some(v) = given {
            if self.strict && v != *field {
                self.clashes.push(format!(
                    "{flag} {} differs from the checkpoint's {}",
                    v.as_flag(),
                    field.as_flag()
                ));
            } else {
                *field = v;
            }
        }
    }
}

/// The run's settings: the flags over the defaults, or over the checkpoint's settings with
/// `--resume` (where only `--epochs` and `--threads` may differ).
pub(super) fn settings(a: &TrainArgs, base: &TrainConfig, resuming: bool) -> Result<TrainConfig> {
    let mut c = base.clone();
    let mut ap = Apply {
        strict: resuming,
        clashes: Vec::new(),
    };
    let arch = a.arch.as_deref().map(Arch::parse).transpose()?;
    ap.set("--arch", arch, &mut c.arch);
    if let Some(e) = a.epochs {
        c.epochs = e;
    }
    ap.set("--seed", a.seed, &mut c.seed);
    ap.set("--validation", a.validation, &mut c.validation);
    if let Some(t) = a.threads {
        c.threads = t;
    }
    ap.set("--batch", a.batch, &mut c.batch_size);
    ap.set("--lr", a.lr, &mut c.lr);
    ap.set("--lr-decay", a.lr_decay, &mut c.lr_decay);
    ap.set("--weight-sum-k", a.weight_sum_k, &mut c.weight_sum_k);
    ap.set("--l2", a.l2, &mut c.l2);
    ap.set("--decision-cost", a.decision_cost, &mut c.decision_cost);
    ap.set("--jitter", a.jitter, &mut c.jitter_sd);
    ap.set("--shift", a.shift, &mut c.shift);
    ap.set("--flip", a.flip.then_some(true), &mut c.flip);
    ap.set("--encoding", a.encoding, &mut c.encoding.kind);
    ap.set("--t-max", a.t_max, &mut c.encoding.t_max);
    ap.set(
        "--silent-below",
        a.silent_below,
        &mut c.encoding.silent_below,
    );
    ap.set("--init-mean", a.init_mean, &mut c.init_mean);
    ap.set("--init-sd", a.init_sd, &mut c.init_sd);
    ap.set("--denom-floor", a.denom_floor, &mut c.denom_floor);
    ap.set("--clip", a.clip, &mut c.clip_norm);
    ap.set("--loss-origin", a.loss_origin, &mut c.loss_origin);
    ap.set("--engine", a.engine, &mut c.engine);
    ap.set("--average", a.average, &mut c.average);
    ap.set("--quantise-bits", a.quantise_bits, &mut c.quantise_bits);
    distill_settings(a, &mut c, &mut ap)?;
    gain_settings(a, &mut c, &mut ap)?;
    if let Some(f) = &a.init_from_relu {
        // clap keeps it from --resume.
        c.relu_start = Some(ReluStart {
            file: f.to_string_lossy().into_owned(),
            sha256: String::new(),
            rule: a.relu_scale.unwrap_or(ScaleRule::Search),
            images: a.relu_images.unwrap_or(RELU_IMAGES),
            scales: Vec::new(),
            agreement: 0.0,
            relu_accuracy: 0.0,
            mapped_accuracy: 0.0,
            mapped_validation_accuracy: None,
            largest_bias_dropped: 0.0,
        });
    }
    if !ap.clashes.is_empty() {
        return Err(Error::setting(
            "resume",
            format!(
                "{}: a resumed run keeps the settings it started with; drop the flag, or start a new run without --resume",
                ap.clashes.join("; ")
            ),
        ));
    }
    Ok(c)
}

/// `--teacher`, `--distill-weight` and `--distill-temperature` onto `c`: a new run distils
/// with `--teacher`, and the other two need it; a resumed run keeps its weight and
/// temperature, and takes a `--teacher` path only if it distils (the file is checked by
/// content when the trainer loads it).
pub(super) fn distill_settings(a: &TrainArgs, c: &mut TrainConfig, ap: &mut Apply) -> Result<()> {
    let teacher = a.teacher.as_ref().map(|p| p.to_string_lossy().into_owned());
    match (&mut c.distill, teacher) {
        (Some(d), t) if ap.strict => {
            if let Some(t) = t {
                d.teacher = t;
            }
            ap.set("--distill-weight", a.distill_weight, &mut d.weight);
            ap.set(
                "--distill-temperature",
                a.distill_temperature,
                &mut d.temperature,
            );
        }
        (None, Some(_)) if ap.strict => ap
            .clashes
            .push("--teacher, but the checkpoint's run does not distil".into()),
        (_, Some(t)) => {
            if t.is_empty() {
                return Err(Error::setting(
                    "teacher",
                    "--teacher needs a file name (FILE.npy)",
                ));
            }
            c.distill = Some(Distill {
                teacher: t,
                teacher_sha256: String::new(),
                weight: a.distill_weight.unwrap_or(DISTILL_WEIGHT),
                temperature: a.distill_temperature.unwrap_or(DISTILL_TEMPERATURE),
            });
        }
        (_, None) => {
            if let Some(flag) = [
                ("--distill-weight", a.distill_weight),
                ("--distill-temperature", a.distill_temperature),
            ]
            .iter()
            .find_map(|(f, v)| v.map(|_| *f))
            {
                if ap.strict {
                    ap.clashes
                        .push(format!("{flag}, but the checkpoint's run does not distil"));
                } else {
                    return Err(Error::setting(
                        "teacher",
                        format!("{flag} sets how to distil from a teacher: give the teacher's logits with --teacher FILE.npy"),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// `--gain-band` and `--gain-weight` onto `c`: a new run has gain control with
/// `--gain-band`, and `--gain-weight` needs it; a resumed run keeps its band and weight (a flag
/// given must repeat them).
pub(super) fn gain_settings(a: &TrainArgs, c: &mut TrainConfig, ap: &mut Apply) -> Result<()> {
    match (&mut c.gain_band, a.gain_band) {
        (Some(g), band) if ap.strict => {
            if let Some((lo, hi)) = band {
                if (lo, hi) != (g.low, g.high) {
                    ap.clashes.push(format!(
                        "--gain-band {lo}:{hi} differs from the checkpoint's {}:{}",
                        g.low, g.high
                    ));
                }
            }
            ap.set("--gain-weight", a.gain_weight, &mut g.weight);
        }
        (None, Some(_)) if ap.strict => ap
            .clashes
            .push("--gain-band, but the checkpoint's run has no gain control".into()),
        (_, Some((low, high))) => {
            c.gain_band = Some(GainBand {
                low,
                high,
                weight: a.gain_weight.unwrap_or(GAIN_WEIGHT),
            })
        }
        (_, None) if a.gain_weight.is_some() => {
            if ap.strict {
                ap.clashes
                    .push("--gain-weight, but the checkpoint's run has no gain control".into());
            } else {
                return Err(Error::setting(
                    "gain_band",
                    "--gain-weight sets the weight of the gain penalty: give its band with --gain-band LOW:HIGH (e.g. 0.1:10)",
                ));
            }
        }
        (_, None) => {}
    }
    Ok(())
}
