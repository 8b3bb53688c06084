//! The results of the data-set jobs as the command line's `--json` prints them and the Python
//! module returns them: one [`Serialize`] struct per result, its fields documented once here.
//! The command line adds what only it has (where traces were recorded, where an accuracy was
//! saved); the Python module's result classes carry these fields under the same names.

use crate::analytic::EvalStats;
use crate::counts::CountReport;
use crate::event::RunSummary;
use crate::sparsity::{NetSize, Sparsity};
use serde::Serialize;
use std::path::PathBuf;

/// Event-engine runs over a data set, summarised: what `firstspike simulate --json` prints
/// (with its `recorded` member added) and the Python module's `Model.simulate` returns.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SimSummary {
    /// The model file the runs used; `None` for a model in memory.
    pub model: Option<PathBuf>,
    /// `correct / samples`; `None` without labels.
    pub accuracy: Option<f64>,
    /// Samples whose decision is their label; `None` without labels.
    pub correct: Option<usize>,
    /// Samples run.
    pub samples: usize,
    /// Samples on which no output neuron fired.
    pub no_output_spike: usize,
    /// Whether each run stopped at its decision (the first output spike).
    pub until_decision: bool,
    /// Mean spikes per sample, inputs included.
    pub spikes_per_sample_mean: f64,
    /// Mean spikes per sample up to and including the decision, inputs included.
    pub spikes_before_decision_mean: f64,
    /// Mean synaptic events (spikes x fan-out) per sample.
    pub synaptic_events_per_sample_mean: f64,
    /// Mean decision time over the samples with a decision, units of tau_syn; `None` if none
    /// decided.
    pub decision_time_mean: Option<f64>,
    /// Wall time of the runs, seconds.
    pub wall_seconds: f64,
    /// Worker threads.
    pub threads: usize,
    /// `wall_seconds / samples`.
    pub seconds_per_sample: f64,
    /// Synaptic events delivered per second of wall time.
    pub synaptic_events_per_second: f64,
    /// `synaptic_events_per_second / threads`.
    pub synaptic_events_per_second_per_thread: f64,
    /// Per-layer summaries of the counts (mean, median, p90, max over samples).
    pub counts: CountReport,
    /// The counts in the literature's units.
    pub sparsity: SparsityPair,
}

impl SimSummary {
    /// The summary of `runs` (one per sample, all of `size`'s network, made from the file
    /// `model` if any): `correct` of them right (`None` without labels), each stopped at its
    /// decision if `until_decision`, in `secs` of wall time on `threads` threads.
    pub fn of(
        model: Option<PathBuf>,
        size: &NetSize,
        runs: &[RunSummary],
        correct: Option<usize>,
        until_decision: bool,
        secs: f64,
        threads: usize,
    ) -> SimSummary {
        let c = CountReport::of(runs);
        let n = runs.len();
        let events: u64 = runs.iter().map(|r| r.total_events()).sum();
        let eps = events as f64 / secs;
        SimSummary {
            model,
            accuracy: correct.map(|k| k as f64 / n as f64),
            correct,
            samples: n,
            no_output_spike: runs.iter().filter(|r| r.decision.is_none()).count(),
            until_decision,
            spikes_per_sample_mean: c.spikes_total.mean,
            spikes_before_decision_mean: c.spikes_before_decision_total.mean,
            synaptic_events_per_sample_mean: c.synaptic_events_total.mean,
            decision_time_mean: c.decision_time_mean,
            wall_seconds: secs,
            threads,
            seconds_per_sample: secs / n as f64,
            synaptic_events_per_second: eps,
            synaptic_events_per_second_per_thread: eps / threads as f64,
            counts: c,
            sparsity: SparsityPair::of(size, runs, until_decision),
        }
    }
}

/// [`Sparsity`] of event-engine runs up to the decision and in full.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SparsityPair {
    /// Of the mean counts up to and including the decision.
    pub to_decision: Sparsity,
    /// Of the mean counts of the full runs; `None` when the runs stopped at the decision.
    pub full_run: Option<Sparsity>,
}

impl SparsityPair {
    /// The sparsity of `runs` against `size` (the network's neurons and synapses); `full_run`
    /// unless `until_decision`.
    pub fn of(size: &NetSize, runs: &[RunSummary], until_decision: bool) -> SparsityPair {
        let n = runs.len().max(1) as f64;
        let nl = size.neurons.len();
        let mean = |f: &dyn Fn(&RunSummary) -> &Vec<u64>| -> Vec<f64> {
            (0..nl)
                .map(|l| {
                    runs.iter()
                        .map(|r| f(r).get(l).copied().unwrap_or(0))
                        .sum::<u64>() as f64
                        / n
                })
                .collect()
        };
        let total = |f: &dyn Fn(&RunSummary) -> &Vec<u64>| -> f64 {
            runs.iter().map(|r| f(r).iter().sum::<u64>()).sum::<u64>() as f64 / n
        };
        let to_decision = Sparsity::of(
            size,
            &mean(&|r| &r.fired_before_decision),
            total(&|r| &r.synaptic_events_before_decision),
        );
        let full_run = (!until_decision)
            .then(|| Sparsity::of(size, &mean(&|r| &r.fired), total(&|r| &r.synaptic_events)));
        SparsityPair {
            to_decision,
            full_run,
        }
    }
}

/// The analytic solver's accuracy over a data set: what `firstspike eval --json` prints (with
/// its `recorded` and `saved_to` members added) and the Python module's `Model.evaluate`
/// returns.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvalSummary {
    /// The model file evaluated; `None` for a model in memory.
    pub model: Option<PathBuf>,
    /// `correct / total`; `None` without labels.
    pub accuracy: Option<f64>,
    /// Samples whose decision is their label; `None` without labels.
    pub correct: Option<usize>,
    /// Samples evaluated.
    pub total: usize,
    /// Samples on which no output neuron fired (counted as errors).
    pub no_output_spike: usize,
    /// Mean number of neurons that fired per sample, per layer, inputs first.
    pub fired_mean_per_layer: Vec<f64>,
    /// Wall time, seconds.
    pub seconds: f64,
    /// `total / seconds`.
    pub samples_per_second: f64,
    /// Worker threads.
    pub threads: usize,
}

impl EvalSummary {
    /// The summary of `st` (of the model file `model`, if any; `labelled`: whether the samples
    /// had labels), measured in `secs` on `threads` threads.
    pub fn of(
        model: Option<PathBuf>,
        st: &EvalStats,
        labelled: bool,
        secs: f64,
        threads: usize,
    ) -> EvalSummary {
        EvalSummary {
            model,
            accuracy: labelled.then(|| st.accuracy()),
            correct: labelled.then_some(st.correct),
            total: st.total,
            no_output_spike: st.no_output_spike,
            fired_mean_per_layer: st.fired_mean.clone(),
            seconds: secs,
            samples_per_second: st.total as f64 / secs,
            threads,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two samples of a 4-3-2 net: the `sparsity` member of the summary divides the mean
    /// counts by the layer sizes and the synapses, up to the decision and in the full run.
    #[test]
    fn summary_reports_the_literatures_units() {
        let run = |fired: Vec<u64>, before: Vec<u64>| RunSummary {
            decision: Some((0, 1.0)),
            synaptic_events: vec![fired[0] * 3, fired[1] * 2, 0],
            synaptic_events_before_decision: vec![before[0] * 3, before[1] * 2, 0],
            fired,
            fired_before_decision: before,
        };
        let runs = [
            run(vec![4, 3, 2], vec![2, 1, 1]),
            run(vec![4, 1, 1], vec![4, 1, 1]),
        ];
        let size = NetSize {
            neurons: vec![4, 3, 2],
            synapses: 4 * 3 + 3 * 2,
        };
        let v = serde_json::to_value(SimSummary::of(None, &size, &runs, None, false, 1.0, 1))
            .expect("json");
        let d = &v["sparsity"]["to_decision"];
        // Means up to the decision: 3 inputs, 1 hidden, 1 output spike; 11 synaptic events.
        assert_eq!(
            d["spikes_per_neuron_per_layer"],
            serde_json::json!([0.75, 1.0 / 3.0, 0.5])
        );
        assert_eq!(d["spikes_per_neuron"], 5.0 / 9.0);
        assert_eq!(d["spikes_per_hidden_neuron"], 1.0 / 3.0);
        assert_eq!(d["synaptic_events"], 11.0);
        assert_eq!(d["synaptic_events_per_relu_mac"], 11.0 / 18.0);
        let f = &v["sparsity"]["full_run"];
        assert_eq!(f["spikes_per_hidden_neuron"], 2.0 / 3.0);
        assert_eq!(f["synaptic_events"], 16.0);
        let stopped = SimSummary::of(None, &size, &runs, None, true, 1.0, 1);
        assert!(stopped.sparsity.full_run.is_none());
    }
}
