//! The sweeps of a first-spike model: the analytic solver runs every level, the event engine
//! re-runs a sample of each level's perturbed inputs and must agree exactly.

use super::perturb::{self, mix};
use super::{Kind, Level, MeanSd, SweepConfig, TemporalSweep, TrialStats};
use crate::analytic::{forward, ForwardPass, LayerScratch, Net};
use crate::data::Dataset;
use crate::error::Result;
use crate::event::{Engine, EventNet, RunOptions, SpikeLog};
use crate::model::Model;
use crate::parallel::par_chunks;
use crate::progress::Progress;
use crate::simulate::{compare, VerifyReport, VERIFY_REL_TOL};
use serde::Serialize;

/// What one sample's forward pass decided.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outcome {
    /// The first output spike: (class, time in the model's time unit); `None` if no output fired.
    pub decision: Option<(usize, f64)>,
    /// Spikes up to and including the decision, inputs included (see `spikes_to_decision`).
    pub spikes: u64,
}

/// Spikes up to and including the decision of a pass: every input and hidden neuron whose
/// spike time is `<= t_d` (the decision time), plus the deciding output spike itself. That is
/// what the event engine counts when it stops at the decision: it pops spikes by (time, id),
/// so hidden spikes tied with the decision come first and output spikes tied with it (higher
/// index) after. 0 if no output fired.
pub(crate) fn spikes_to_decision(pass: &ForwardPass<f64>) -> u64 {
    let Some(d) = pass.decision() else {
        return 0;
    };
    let td = pass.outputs()[d];
    let nl = pass.times.len();
    let hidden: usize = pass.times[..nl - 1]
        .iter()
        .map(|ts| ts.iter().filter(|&&t| t <= td).count())
        .sum();
    hidden as u64 + 1
}

/// An input perturbation, drawn per sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum InputNoise {
    /// Nothing.
    None,
    /// `perturb::jitter` with this sd (units of tau_syn).
    Jitter(f64),
    /// `perturb::delete` with this probability.
    Delete(f64),
}

/// The input times of sample `i` under `noise`, drawn from stream `i` of the generator `key`.
pub fn perturbed_inputs(
    model: &Model,
    pixels: &[u8],
    noise: InputNoise,
    key: u64,
    i: usize,
    out: &mut [f64],
) {
    model.encoding.encode_into(pixels, out);
    match noise {
        InputNoise::None => {}
        InputNoise::Jitter(sd) => perturb::jitter(
            out,
            sd,
            model.params.tau_syn,
            &mut perturb::rng(key, i as u64),
        ),
        InputNoise::Delete(p) => perturb::delete(out, p, &mut perturb::rng(key, i as u64)),
    }
}

/// Runs `model` (already perturbed in its weights, if at all) on every sample of `data` with
/// input noise `noise` from generator `key`: one [`Outcome`] per sample, in data order.
pub fn run_outcomes(
    model: &Model,
    data: &Dataset,
    noise: InputNoise,
    key: u64,
    threads: usize,
    progress: Progress,
) -> Vec<Outcome> {
    let net = Net::<f64>::from_model(model);
    let parts = par_chunks(data.len(), threads, |range| {
        let mut scratch = LayerScratch::default();
        let mut pass = ForwardPass::default();
        let mut t_in = vec![0.0; data.dim()];
        let mut out = Vec::with_capacity(range.len());
        for i in range {
            perturbed_inputs(model, data.image(i), noise, key, i, &mut t_in);
            forward(&net, &t_in, &mut scratch, &mut pass);
            out.push(Outcome {
                decision: pass.decision().map(|d| (d, pass.outputs()[d])),
                spikes: spikes_to_decision(&pass),
            });
            progress(1);
        }
        out
    });
    parts.into_iter().flatten().collect()
}

/// The [`TrialStats`] of `outcomes` against `labels`.
pub(crate) fn trial_stats(outcomes: &[Outcome], labels: &[u8], deadline: f64) -> TrialStats {
    let n = outcomes.len().max(1) as f64;
    let (mut correct, mut decided, mut t_sum, mut s_sum) = (0usize, 0usize, 0.0, 0u64);
    for (o, &y) in outcomes.iter().zip(labels) {
        if let Some((c, t)) = o.decision.filter(|d| d.1 <= deadline) {
            decided += 1;
            t_sum += t;
            s_sum += o.spikes;
            correct += usize::from(c == y as usize);
        }
    }
    let per = |x: f64| (decided > 0).then(|| x / decided as f64);
    TrialStats {
        accuracy: correct as f64 / n,
        no_output: (outcomes.len() - decided) as f64 / n,
        decision_time: per(t_sum),
        spikes_to_decision: per(s_sum as f64),
    }
}

/// The event engine's re-run of some perturbed samples.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct EventCheck {
    /// Spike-by-spike comparison of full runs (as `firstspike verify`).
    pub verify: VerifyReport,
    /// Samples whose analytic spikes-to-decision count differs from the event engine's count
    /// when it stops at the decision (`--until-decision`), or whose decision differs there.
    pub(crate) count_mismatches: usize,
}

impl EventCheck {
    /// Whether the engines agree on every compared sample.
    pub fn agree(&self) -> bool {
        self.verify.agree() && self.count_mismatches == 0
    }
}

/// Re-runs the first `n` samples of `data` under `noise` (generator `key`) with the event
/// engine, on `model` as perturbed, on `threads` threads, and compares with the analytic
/// solver: every spike of a full run, and the counts of a run stopped at the decision.
pub fn event_check(
    model: &Model,
    data: &Dataset,
    noise: InputNoise,
    key: u64,
    n: usize,
    threads: usize,
) -> Result<EventCheck> {
    let anet = Net::<f64>::from_model(model);
    let enet = EventNet::from_model(model)?.compile()?;
    let parts = par_chunks(n.min(data.len()), threads, |range| -> Result<EventCheck> {
        let mut eng = Engine::new(&enet);
        let mut scratch = LayerScratch::default();
        let mut pass = ForwardPass::default();
        let mut log = SpikeLog::default();
        let mut t_in = vec![0.0; data.dim()];
        let mut chk = EventCheck::default();
        for i in range {
            perturbed_inputs(model, data.image(i), noise, key, i, &mut t_in);
            forward(&anet, &t_in, &mut scratch, &mut pass);
            log.spikes.clear();
            let full = eng.run(&t_in, RunOptions::default(), &mut log)?;
            compare(
                &enet,
                &pass,
                &log,
                full.decision.map(|d| d.0),
                &mut chk.verify,
            );
            let early = eng.run(
                &t_in,
                RunOptions {
                    until_decision: true,
                },
                &mut crate::event::NoRecord,
            )?;
            let counted: u64 = early.fired_before_decision.iter().sum();
            let analytic = pass.decision().map(|d| (d, pass.outputs()[d]));
            let want = if analytic.is_some() { counted } else { 0 };
            if early.decision != analytic || spikes_to_decision(&pass) != want {
                chk.count_mismatches += 1;
            }
        }
        Ok(chk)
    });
    let mut chk = EventCheck::default();
    chk.verify.tolerance = VERIFY_REL_TOL;
    for p in parts {
        chk.merge(&p?);
    }
    Ok(chk)
}

impl EventCheck {
    fn merge(&mut self, o: &EventCheck) {
        let v = &mut self.verify;
        v.samples += o.verify.samples;
        v.spikes_compared += o.verify.spikes_compared;
        v.prediction_mismatches += o.verify.prediction_mismatches;
        v.fired_status_mismatches += o.verify.fired_status_mismatches;
        v.causal_set_mismatches += o.verify.causal_set_mismatches;
        v.max_abs_time_diff = v.max_abs_time_diff.max(o.verify.max_abs_time_diff);
        v.max_rel_time_diff = v.max_rel_time_diff.max(o.verify.max_rel_time_diff);
        self.count_mismatches += o.count_mismatches;
    }
}

/// `model` with its weights perturbed as `kind` at `level`, drawing weight noise from the
/// generator `key` (stream `u64::MAX`, apart from the per-sample input streams); input
/// perturbations and deadlines return the model unchanged.
pub fn perturbed_model(model: &Model, kind: Kind, level: f64, key: u64) -> Model {
    let mut m = model.clone();
    match kind {
        Kind::WeightBits => {
            for l in &mut m.layers {
                perturb::quantise(l.weights_mut(), level as u32);
            }
        }
        Kind::WeightNoise => {
            let mut g = perturb::rng(key, u64::MAX);
            for l in &mut m.layers {
                perturb::weight_noise(l.weights_mut(), level, &mut g);
            }
        }
        _ => {}
    }
    m
}

/// The generator key of (seed, kind, level, trial).
pub fn key(seed: u64, kind: Kind, level: f64, trial: usize) -> u64 {
    mix(&[seed, kind as u64, level.to_bits(), trial as u64])
}

/// Whether a level leaves the model and its inputs exactly as they are (then one trial, the
/// unperturbed pass, stands for all).
fn is_identity(kind: Kind, level: f64) -> bool {
    match kind {
        Kind::Jitter | Kind::Deletion | Kind::WeightNoise => level == 0.0,
        Kind::Deadline => level == f64::INFINITY,
        Kind::WeightBits => false,
    }
}

/// Runs every sweep of `cfg` on `model` over `data`. `progress` is called with samples done.
pub fn sweep(
    model: &Model,
    data: &Dataset,
    cfg: &SweepConfig,
    threads: usize,
    progress: Progress,
) -> Result<TemporalSweep> {
    model.check_input_dim(data.dim())?;
    cfg.validate()?;
    let labels = &data.labels;
    let base = run_outcomes(model, data, InputNoise::None, 0, threads, progress);
    let base_stats = trial_stats(&base, labels, f64::INFINITY);
    let base_check = event_check(model, data, InputNoise::None, 0, cfg.event_check, threads)?;
    let mut levels = Vec::new();
    for (kind, values) in cfg.temporal_levels() {
        for level in values {
            if kind == Kind::Deadline || is_identity(kind, level) {
                let deadline = if kind == Kind::Deadline {
                    level
                } else {
                    f64::INFINITY
                };
                let st = trial_stats(&base, labels, deadline);
                levels.push(Level::of(kind, level, &[st], Some(base_check.clone())));
                continue;
            }
            let trials = if kind == Kind::WeightBits {
                1 // quantisation is deterministic
            } else {
                cfg.trials
            };
            let mut stats = Vec::with_capacity(trials);
            let mut check = None;
            for trial in 0..trials {
                let k = key(cfg.seed, kind, level, trial);
                let m = perturbed_model(model, kind, level, k);
                let noise = match kind {
                    Kind::Jitter => InputNoise::Jitter(level),
                    Kind::Deletion => InputNoise::Delete(level),
                    _ => InputNoise::None,
                };
                let out = run_outcomes(&m, data, noise, k, threads, progress);
                stats.push(trial_stats(&out, labels, f64::INFINITY));
                if trial == 0 {
                    check = Some(event_check(&m, data, noise, k, cfg.event_check, threads)?);
                }
            }
            levels.push(Level::of(kind, level, &stats, check));
        }
    }
    Ok(TemporalSweep {
        base: base_stats,
        base_check,
        levels,
    })
}

impl MeanSd {
    /// Mean and sample standard deviation of `xs` (sd 0 for fewer than two); `None` if empty.
    pub(crate) fn of(xs: &[f64]) -> Option<MeanSd> {
        if xs.is_empty() {
            return None;
        }
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let sd = if xs.len() < 2 {
            0.0
        } else {
            (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        };
        Some(MeanSd { mean, sd })
    }
}
