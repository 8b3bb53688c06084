//! Robustness: how accuracy changes when spikes come late or not at all, when weights are
//! rounded to a few bits or drift, and when the decision has a deadline; for a first-spike
//! model and, side by side, the rate-coded baseline.
//!
//! Owns the perturbations (`perturb`: pure functions, the generator passed in), the sweeps
//! of a first-spike model ([`temporal`]: the analytic solver runs every level, the event
//! engine re-runs a sample of each level's perturbed inputs and must agree exactly) and of the
//! rate baseline ([`rate`]), and what the picture of the results shows ([`picture`], drawn by
//! [`crate::plot`]; it returns text). It does no I/O and no printing.
//!
//! # The perturbations and their units
//!
//! | kind | first-spike | rate baseline | level |
//! |---|---|---|---|
//! | [`Kind::Jitter`] | `t_i <- max(0, t_i + tau sd n_i)`, `n_i ~ N(0,1)` per input spike and sample | not applied (its inputs are Poisson already) | sd, units of tau_syn |
//! | [`Kind::Deletion`] | each input spike removed with probability p | each Poisson input spike removed with probability p | p |
//! | [`Kind::WeightBits`] | every layer quantised, [`perturb::quantise`] | the converted weights `W'` quantised the same way | bits B (sign included) |
//! | [`Kind::WeightNoise`] | `w <- w (1 + sd n)`, one draw per weight per trial | the same on `W'` | relative sd |
//! | [`Kind::Deadline`] | a decision after time T is no decision | the prediction read at step T | T: tau_syn / steps |
//!
//! **Quantisation** is per layer, symmetric, uniform, with zero exact: the step is
//! `s = max|w| / (2^(B-1) - 1)`, the weights become `s round(w / s)`, at most `2^B - 1`
//! distinct values per layer. Thresholds do not move (theta stays 1 in weight units; the
//! rate network's threshold stays 1).
//!
//! **Trials and seeds.** Each level of a random perturbation runs `trials` times; trial `k` of
//! level `x` of kind `K` draws from ChaCha8 seeded with `perturb::mix``(seed, K, x, k)`,
//! sample `i` on stream `i` (so the numbers do not depend on the thread count). Quantisation is
//! deterministic and runs once. A level that changes nothing (jitter 0, deletion 0, noise 0)
//! and every deadline reuse the one unperturbed pass, whose accuracy is that of
//! `firstspike eval`. The rate baseline's Poisson input is random at every level, zero
//! included, so all its levels run `trials` times.
//!
//! **Per level**: accuracy (no decision = wrong), the fraction of samples without a decision,
//! the mean decision time and the mean spikes to decision over the decided samples; mean and
//! sample standard deviation over the trials. First-spike decision time: the first output
//! spike (units of tau_syn). Spikes to decision: every spike up to and including it, inputs
//! included (`temporal::spikes_to_decision`). Rate: the readout at step T; its decision time
//! is the step from which its prediction no longer changes up to T (as in `compare`), its
//! spikes to decision those of all layers up to that step.
//!
//! ```no_run
//! use firstspike::{data::{Dataset, Split}, model::Model, progress::NO_PROGRESS};
//! use firstspike::robust::{temporal, SweepConfig};
//! let model = Model::load("models/mnist-784-800-10.bin".as_ref())?;
//! let test = Dataset::load("data/mnist".as_ref(), Split::Test)?;
//! let res = temporal::sweep(&model, &test, &SweepConfig::default(), 2, NO_PROGRESS)?;
//! for l in &res.levels {
//!     println!("{:?} {}: {:.2} %", l.kind, l.level, 100.0 * l.accuracy.mean);
//! }
//! # Ok::<(), firstspike::Error>(())
//! ```

pub(crate) mod perturb;
pub mod picture;
pub mod rate;
pub mod temporal;

use crate::error::{Error, Result};
use serde::Serialize;
use temporal::EventCheck;

/// What is perturbed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Gaussian input spike-time jitter; level = sd in units of tau_syn.
    Jitter = 1,
    /// Input spike deletion; level = probability.
    Deletion = 2,
    /// Weight quantisation; level = bits.
    WeightBits = 3,
    /// Multiplicative weight noise; level = relative sd.
    WeightNoise = 4,
    /// Decision deadline; level = T (tau_syn for first-spike, steps for rate).
    Deadline = 5,
}

impl Kind {
    /// All kinds, in report order.
    pub const ALL: [Kind; 5] = [
        Kind::Jitter,
        Kind::Deletion,
        Kind::WeightBits,
        Kind::WeightNoise,
        Kind::Deadline,
    ];

    /// The name used in JSON and CSV.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Jitter => "jitter",
            Kind::Deletion => "deletion",
            Kind::WeightBits => "weight_bits",
            Kind::WeightNoise => "weight_noise",
            Kind::Deadline => "deadline",
        }
    }
}

/// Mean and sample standard deviation over trials.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct MeanSd {
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (0 for one trial).
    pub sd: f64,
}

/// One trial's figures (see the module notes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct TrialStats {
    /// Fraction of samples decided (by the deadline, if any) and correct.
    pub accuracy: f64,
    /// Fraction of samples with no decision (by the deadline, if any).
    pub(crate) no_output: f64,
    /// Mean decision time over the decided samples; `None` if none decided.
    pub(crate) decision_time: Option<f64>,
    /// Mean spikes to decision over the decided samples; `None` if none decided.
    pub(crate) spikes_to_decision: Option<f64>,
}

/// One level of one sweep.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Level {
    /// What is perturbed.
    pub kind: Kind,
    /// How much (units: see [`Kind`]).
    pub level: f64,
    /// Trials behind the figures.
    pub trials: usize,
    /// Accuracy (fraction).
    pub accuracy: MeanSd,
    /// Fraction of samples without a decision.
    pub no_output: MeanSd,
    /// Mean decision time (tau_syn or steps); `None` if no trial decided anything.
    pub decision_time: Option<MeanSd>,
    /// Mean spikes to decision; `None` if no trial decided anything.
    pub spikes_to_decision: Option<MeanSd>,
    /// The event engine's re-run of the first trial's first samples (first-spike only).
    pub event_check: Option<EventCheck>,
}

impl Level {
    /// Summarises the trials of one level.
    pub(crate) fn of(
        kind: Kind,
        level: f64,
        trials: &[TrialStats],
        check: Option<EventCheck>,
    ) -> Level {
        let col = |f: &dyn Fn(&TrialStats) -> Option<f64>| -> Vec<f64> {
            trials.iter().filter_map(f).collect()
        };
        Level {
            kind,
            level,
            trials: trials.len(),
            accuracy: MeanSd::of(&col(&|t| Some(t.accuracy))).unwrap_or_default(),
            no_output: MeanSd::of(&col(&|t| Some(t.no_output))).unwrap_or_default(),
            decision_time: MeanSd::of(&col(&|t| t.decision_time)),
            spikes_to_decision: MeanSd::of(&col(&|t| t.spikes_to_decision)),
            event_check: check,
        }
    }
}

/// The sweeps of a first-spike model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TemporalSweep {
    /// The unperturbed pass (what `firstspike eval` measures).
    pub base: TrialStats,
    /// The event engine's check of the unperturbed pass.
    pub base_check: EventCheck,
    /// Every level of every sweep, in sweep order.
    pub levels: Vec<Level>,
}

/// The sweeps of the rate baseline.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RateSweep {
    /// Steps simulated per sample (the readout step of every level but the deadlines).
    pub steps: usize,
    /// The unperturbed runs, over the trials (Poisson input differs between trials).
    pub base: Level,
    /// Every level of every sweep, in sweep order.
    pub levels: Vec<Level>,
}

/// What to sweep, how often, and with which seed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SweepConfig {
    /// Seed of every random draw.
    pub seed: u64,
    /// Trials per level of a random perturbation.
    pub trials: usize,
    /// Samples per level re-run by the event engine (first trial; 0 = none).
    pub event_check: usize,
    /// Jitter sds (tau_syn).
    pub jitter: Vec<f64>,
    /// Deletion probabilities, in [0, 1).
    pub deletion: Vec<f64>,
    /// Bit widths, in [`perturb::BITS_RANGE`].
    pub bits: Vec<u32>,
    /// Relative weight-noise sds, >= 0.
    pub noise: Vec<f64>,
    /// First-spike deadlines (tau_syn), > 0.
    pub deadline: Vec<f64>,
    /// Steps of each rate simulation.
    pub rate_steps: usize,
    /// Poisson spikes per step of a white pixel, in (0, 1].
    pub rate_input: f64,
    /// Rate deadlines (steps), in 1..=`rate_steps`.
    pub rate_deadline: Vec<usize>,
}

impl Default for SweepConfig {
    /// The levels of the table in docs/robustness.md, chosen so that both shipped models run in minutes on
    /// two cores.
    fn default() -> Self {
        SweepConfig {
            seed: 1,
            trials: 3,
            event_check: 100,
            jitter: vec![0.0, 0.1, 0.2, 0.5, 1.0],
            deletion: vec![0.0, 0.1, 0.2, 0.4, 0.6],
            bits: vec![8, 7, 6, 5, 4, 3, 2],
            noise: vec![0.0, 0.05, 0.1, 0.2, 0.4],
            deadline: vec![1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0],
            rate_steps: 50,
            rate_input: 1.0,
            rate_deadline: vec![3, 5, 7, 10, 15, 20, 30, 50],
        }
    }
}

impl SweepConfig {
    /// Checks every level (usage errors).
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &'static str, what: &str, v: String| {
            Err(Error::setting(name, format!("{what}: {v}")))
        };
        if self.trials == 0 {
            return bad("trials", "trials must be at least 1", "0".into());
        }
        if let Some(x) = self.jitter.iter().find(|x| !(x.is_finite() && **x >= 0.0)) {
            return bad(
                "jitter",
                "a jitter sd must be finite and >= 0",
                x.to_string(),
            );
        }
        if let Some(x) = self.deletion.iter().find(|x| !(**x >= 0.0 && **x < 1.0)) {
            return bad(
                "deletion",
                "a deletion probability must lie in [0, 1)",
                x.to_string(),
            );
        }
        if let Some(x) = self.bits.iter().find(|b| !perturb::BITS_RANGE.contains(b)) {
            return bad("bits", "bits must lie in 2..=16", x.to_string());
        }
        if let Some(x) = self.noise.iter().find(|x| !(x.is_finite() && **x >= 0.0)) {
            return bad(
                "noise",
                "a weight-noise sd must be finite and >= 0",
                x.to_string(),
            );
        }
        if let Some(x) = self.deadline.iter().find(|x| x.is_nan() || **x <= 0.0) {
            return bad("deadline", "a deadline must be > 0", x.to_string());
        }
        if self.rate_steps == 0 {
            return bad("rate_steps", "rate steps must be at least 1", "0".into());
        }
        if !(self.rate_input > 0.0 && self.rate_input <= 1.0) {
            return bad(
                "rate_input",
                "the rate input must lie in (0, 1] spikes per step",
                self.rate_input.to_string(),
            );
        }
        if let Some(x) = self
            .rate_deadline
            .iter()
            .find(|&&x| x == 0 || x > self.rate_steps)
        {
            return bad(
                "rate_deadline",
                &format!("a rate deadline must lie in 1..={} steps", self.rate_steps),
                x.to_string(),
            );
        }
        Ok(())
    }

    /// The first-spike sweeps as (kind, levels).
    pub(crate) fn temporal_levels(&self) -> Vec<(Kind, Vec<f64>)> {
        vec![
            (Kind::Jitter, self.jitter.clone()),
            (Kind::Deletion, self.deletion.clone()),
            (
                Kind::WeightBits,
                self.bits.iter().map(|&b| b as f64).collect(),
            ),
            (Kind::WeightNoise, self.noise.clone()),
            (Kind::Deadline, self.deadline.clone()),
        ]
    }

    /// Passes over the data set of [`temporal::sweep`] (for a progress bar).
    pub fn temporal_passes(&self) -> usize {
        let random = |v: &[f64]| v.iter().filter(|&&x| x != 0.0).count() * self.trials;
        1 + random(&self.jitter) + random(&self.deletion) + self.bits.len() + random(&self.noise)
    }

    /// Passes over the data set of [`rate::sweep`] (for a progress bar).
    pub fn rate_passes(&self) -> usize {
        let random = |v: &[f64]| v.iter().filter(|&&x| x != 0.0).count();
        self.trials * (1 + random(&self.deletion) + self.bits.len() + random(&self.noise))
    }
}

/// The mildest level of `kind` whose mean accuracy is at least `points` percentage points
/// below `reference`, walking from mild to severe (larger values are more severe, except for
/// deadlines, where shorter is more severe; for bits fewer is more severe). `None` if no
/// level loses that much.
pub fn level_losing(levels: &[Level], kind: Kind, reference: f64, points: f64) -> Option<f64> {
    let mut ls: Vec<&Level> = levels.iter().filter(|l| l.kind == kind).collect();
    let severity = |l: &Level| match kind {
        Kind::Deadline | Kind::WeightBits => -l.level,
        _ => l.level,
    };
    ls.sort_by(|a, b| severity(a).total_cmp(&severity(b)));
    ls.iter()
        .find(|l| l.accuracy.mean <= reference - points / 100.0 + 1e-12)
        .map(|l| l.level)
}
