//! Sparse spike counts: per-sample counts of the event engine, summarised per layer.
//!
//! Owns the statistics only (mean, median, p90, max); the counting itself happens in the
//! engine ([`crate::event::RunSummary`]).

use crate::event::RunSummary;
use serde::Serialize;

/// Name of layer `l` of `nl` (0 = input).
pub fn layer_name(l: usize, nl: usize) -> String {
    if l == 0 {
        "input".into()
    } else if l + 1 == nl {
        "output".into()
    } else {
        format!("hidden {l}")
    }
}

/// Mean, median, 90th percentile and maximum of a count over samples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Mean.
    pub mean: f64,
    /// Median (lower middle for an even count).
    pub median: f64,
    /// 90th percentile (nearest rank).
    pub p90: f64,
    /// Maximum.
    pub max: f64,
}

impl Summary {
    /// Summarises `xs` (empty: all zero).
    pub(crate) fn of(xs: &[u64]) -> Summary {
        if xs.is_empty() {
            return Summary::default();
        }
        let mut v = xs.to_vec();
        v.sort_unstable();
        let n = v.len();
        let rank = |q: f64| v[((q * n as f64).ceil() as usize).clamp(1, n) - 1] as f64;
        Summary {
            mean: v.iter().sum::<u64>() as f64 / n as f64,
            median: v[(n - 1) / 2] as f64,
            p90: rank(0.9),
            max: v[n - 1] as f64,
        }
    }
}

/// Per-layer summaries of spike counts over many samples (layer 0 = input spikes).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CountReport {
    /// Samples summarised.
    pub(crate) samples: usize,
    /// Neurons that fired, per layer.
    pub fired: Vec<Summary>,
    /// Neurons that fired no later than the decision, per layer.
    pub fired_before_decision: Vec<Summary>,
    /// Synaptic events (spikes x fan-out) caused by each layer's spikes.
    pub(crate) synaptic_events: Vec<Summary>,
    /// Synaptic events before the decision, per layer.
    pub(crate) synaptic_events_before_decision: Vec<Summary>,
    /// All spikes per sample, inputs included.
    pub spikes_total: Summary,
    /// All spikes up to the decision per sample, inputs included.
    pub spikes_before_decision_total: Summary,
    /// All synaptic events per sample.
    pub synaptic_events_total: Summary,
    /// Decision time (first output spike), units of tau_syn, over samples with a decision.
    pub decision_time_mean: Option<f64>,
}

impl CountReport {
    /// Summarises the runs of many samples (all from the same network).
    pub fn of(runs: &[RunSummary]) -> CountReport {
        let nl = runs.first().map_or(0, |r| r.fired.len());
        let per = |f: &dyn Fn(&RunSummary) -> &Vec<u64>| -> Vec<Summary> {
            (0..nl)
                .map(|l| Summary::of(&runs.iter().map(|r| f(r)[l]).collect::<Vec<_>>()))
                .collect()
        };
        let total = |f: &dyn Fn(&RunSummary) -> &Vec<u64>| -> Summary {
            Summary::of(&runs.iter().map(|r| f(r).iter().sum()).collect::<Vec<_>>())
        };
        let dts: Vec<f64> = runs
            .iter()
            .filter_map(|r| r.decision.map(|d| d.1))
            .collect();
        CountReport {
            samples: runs.len(),
            fired: per(&|r| &r.fired),
            fired_before_decision: per(&|r| &r.fired_before_decision),
            synaptic_events: per(&|r| &r.synaptic_events),
            synaptic_events_before_decision: per(&|r| &r.synaptic_events_before_decision),
            spikes_total: total(&|r| &r.fired),
            spikes_before_decision_total: total(&|r| &r.fired_before_decision),
            synaptic_events_total: total(&|r| &r.synaptic_events),
            decision_time_mean: (!dts.is_empty())
                .then(|| dts.iter().sum::<f64>() / dts.len() as f64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_one_to_ten() {
        let s = Summary::of(&(1..=10).collect::<Vec<u64>>());
        assert_eq!(
            s,
            Summary {
                mean: 5.5,
                median: 5.0,
                p90: 9.0,
                max: 10.0
            }
        );
    }
}
