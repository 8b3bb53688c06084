//! The sweeps of the rate-coded baseline: the same weight perturbations and input spike
//! deletion on the converted network, and a deadline in steps.

use super::perturb::{self, mix};
use super::{Kind, Level, RateSweep, SweepConfig, TrialStats};
use crate::data::Dataset;
use crate::error::Result;
use crate::progress::Progress;
use crate::rate::sim::{self, SampleRun};
use crate::rate::{InputMode, RateModel, SimConfig, SpikingNet};

/// The converted network of `rate` with its weights `W'` perturbed as `kind` at `level`
/// (quantisation and noise exactly as for the first-spike model, per layer, in f64 and rounded
/// back to f32; other kinds leave it unchanged).
pub fn perturbed_net(rate: &RateModel, kind: Kind, level: f64, key: u64) -> Result<SpikingNet> {
    let mut net = rate.spiking()?;
    let mut g = perturb::rng(key, u64::MAX);
    for l in &mut net.layers {
        let mut w: Vec<f64> = l.weights().iter().map(|&x| x as f64).collect();
        match kind {
            Kind::WeightBits => perturb::quantise(&mut w, level as u32),
            Kind::WeightNoise => perturb::weight_noise(&mut w, level, &mut g),
            _ => {}
        }
        for (d, s) in l.weights_mut().iter_mut().zip(&w) {
            *d = *s as f32;
        }
    }
    Ok(net)
}

/// The Poisson input of a deletion level `p`: each pixel spikes with probability
/// `min(1, r x)(1 - p)` per step, which is exactly a Poisson train of rate `r` with each spike
/// then removed with probability `p`. Since `r <= 1` and `x = pixel / 255 <= 1`,
/// `min(1, r x) = r x`, so that is the input mode of rate `r (1 - p)`.
pub(crate) fn thinned_input(rate: f64, p: f64) -> InputMode {
    InputMode::Poisson {
        rate: rate * (1.0 - p),
    }
}

/// The figures of `runs` read at step `t` (1-based): the prediction at `t`, and for each
/// decided sample the step from which that prediction no longer changes (within the first `t`
/// steps) and the spikes of all layers up to that step.
pub(crate) fn stats_at(runs: &[SampleRun], labels: &[u8], t: usize) -> TrialStats {
    let n = runs.len().max(1) as f64;
    let (mut correct, mut decided, mut steps, mut spikes) = (0usize, 0usize, 0u64, 0u64);
    for (r, &y) in runs.iter().zip(labels) {
        let Some(p) = r.preds[t - 1] else { continue };
        decided += 1;
        correct += usize::from(p == y);
        let changed = r.preds[..t].iter().rposition(|q| *q != Some(p));
        let d = changed.map_or(1, |k| k + 2);
        steps += d as u64;
        spikes += (0..r.n_layers)
            .map(|l| r.spikes_at(d, l) as u64)
            .sum::<u64>();
    }
    let per = |x: u64| (decided > 0).then(|| x as f64 / decided as f64);
    TrialStats {
        accuracy: correct as f64 / n,
        no_output: (runs.len() - decided) as f64 / n,
        decision_time: per(steps),
        spikes_to_decision: per(spikes),
    }
}

/// The generator key of (seed, kind, level, trial), distinct from the first-spike sweep's.
pub(crate) fn key(seed: u64, kind: Kind, level: f64, trial: usize) -> u64 {
    mix(&[
        seed,
        0x5241_5445,
        kind as u64,
        level.to_bits(),
        trial as u64,
    ])
}

/// Runs the rate sweeps of `cfg` (deletion, bits, noise, deadline; jitter does not apply) on
/// `rate` over `data`. Every level, zero included, runs `cfg.trials` times with its own
/// Poisson seed; the deadlines read the unperturbed trials at each step.
pub fn sweep(
    rate: &RateModel,
    data: &Dataset,
    cfg: &SweepConfig,
    threads: usize,
    progress: Progress,
) -> Result<RateSweep> {
    cfg.validate()?;
    let t = cfg.rate_steps;
    let run = |kind: Kind, level: f64, trial: usize| -> Result<Vec<SampleRun>> {
        let k = key(cfg.seed, kind, level, trial);
        let net = perturbed_net(rate, kind, level, k)?;
        let p = if kind == Kind::Deletion { level } else { 0.0 };
        let sc = SimConfig {
            steps: t,
            input: thinned_input(cfg.rate_input, p),
            seed: k,
        };
        sim::simulate(&net, data, &sc, threads, progress)
    };
    let labels = &data.labels;
    let mut base_runs = Vec::with_capacity(cfg.trials);
    for trial in 0..cfg.trials {
        base_runs.push(run(Kind::Deletion, 0.0, trial)?);
    }
    let base_at = |s: usize| -> Vec<TrialStats> {
        base_runs.iter().map(|r| stats_at(r, labels, s)).collect()
    };
    let base = Level::of(Kind::Deadline, t as f64, &base_at(t), None);
    let mut levels = Vec::new();
    for (kind, values) in cfg.temporal_levels() {
        match kind {
            Kind::Jitter => continue,
            Kind::Deadline => {
                for &s in &cfg.rate_deadline {
                    levels.push(Level::of(kind, s as f64, &base_at(s), None));
                }
                continue;
            }
            _ => {}
        }
        for level in values {
            if kind != Kind::WeightBits && level == 0.0 {
                levels.push(Level::of(kind, level, &base_at(t), None));
                continue;
            }
            let mut stats = Vec::with_capacity(cfg.trials);
            for trial in 0..cfg.trials {
                stats.push(stats_at(&run(kind, level, trial)?, labels, t));
            }
            levels.push(Level::of(kind, level, &stats, None));
        }
    }
    Ok(RateSweep {
        steps: t,
        base,
        levels,
    })
}
