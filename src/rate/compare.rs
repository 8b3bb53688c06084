//! Counting both codings the same way, and comparing them at matched accuracy.
//!
//! Owns the summaries only (pure functions over finished runs): the rate network's curve over
//! T ([`rate_curve`]), its per-sample decision times (`rate_decisions`), the first-spike
//! network's counts ([`temporal_counts`]), the operating point (`operating_point`) and the
//! whole [`Comparison`]. Running the networks is the job of [`super::sim`] and
//! [`mod@crate::simulate`]; rendering that of [`super::report`] and [`super::plot`].
//!
//! # What is counted, for both codings
//!
//! - **Spikes per inference**: every spike of every layer, **input layer included**. Temporal:
//!   spikes up to and including the decision (the first output spike), counted by the event
//!   engine; the full run (every neuron that ever fires) is reported too. Rate: spikes in
//!   steps 1..=T. Constant-current input sends no input spikes.
//! - **Synaptic events**: spikes x fan-out (the next layer's size; 0 for the output layer).
//!   With constant-current input the once-per-sample input projection (non-zero pixels x
//!   fan-out multiply-accumulates) is added, since it replaces the input spikes.
//! - **Time to decision**: temporal, the first output spike's time (units of tau_syn); rate,
//!   per sample the number of steps after which its prediction stops changing (within T).
//!   Stopping each sample there needs hindsight (an oracle), so it bounds the rate network's
//!   cost from below; the fair fixed-T figure is the operating point.
//! - **ANN work**: the ReLU network's multiply-accumulates per image, dense and skipping zeros.
//! - **The literature's units** ([`Sparsity`]): spikes per neuron, per layer and overall, and
//!   synaptic events per multiply-accumulate of the ReLU network of the same shape, for both
//!   codings (the first-spike network up to the decision and in full, the rate network at
//!   the operating point and at T).

use super::convert::SpikingNet;
use super::sim::SampleRun;
use crate::analytic::{forward, ForwardPass, LayerScratch, Net};
use crate::counts::Summary;
use crate::data::Dataset;
use crate::error::Result;
use crate::model::Model;
use crate::parallel::par_chunks;
use crate::progress::Progress;
use crate::simulate::SimReport;
use crate::sparsity::{NetSize, Sparsity};
use serde::Serialize;

/// How close (absolute, as a fraction: 0.005 = 0.5 percentage points) the rate network's
/// accuracy must come to the reference accuracy at the operating point. Half a point is about
/// the binomial standard error of an accuracy near 97 % on 1,000 images (0.54 %), and 3x that
/// on the full 10,000: differences smaller than this are not worth a longer simulation.
pub const MATCH_TOLERANCE: f64 = 0.005;

/// The rate network after every step, averaged over samples (index `t - 1` = after step t).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RateCurve {
    /// Fraction of samples whose prediction equals the label.
    pub accuracy: Vec<f64>,
    /// Mean cumulative spikes per layer (layer 0 = inputs): `spikes_per_layer[t - 1][l]`.
    pub spikes_per_layer: Vec<Vec<f64>>,
    /// Mean cumulative spikes, all layers.
    pub spikes: Vec<f64>,
    /// Mean cumulative synaptic events, all layers (plus the input projection with currents).
    pub synaptic_events: Vec<f64>,
}

impl RateCurve {
    /// Steps recorded.
    pub fn steps(&self) -> usize {
        self.accuracy.len()
    }
}

/// Synaptic events of one sample after step `t`: every spike times its neuron's fan-out, plus
/// the input projection. (`net` is the network `r` ran on.)
pub fn rate_events_at(net: &SpikingNet, r: &SampleRun, t: usize) -> u64 {
    debug_assert_eq!(net.n_layers(), r.n_layers);
    r.events_at(t) + r.input_projection_macs
}

/// The curve of `runs` (all with the same step count) against `labels`.
pub fn rate_curve(net: &SpikingNet, runs: &[SampleRun], labels: &[u8]) -> RateCurve {
    let steps = runs.first().map_or(0, |r| r.steps());
    let nl = net.n_layers();
    let n = runs.len().max(1) as f64;
    let mut c = RateCurve::default();
    for t in 1..=steps {
        let correct = runs
            .iter()
            .zip(labels)
            .filter(|(r, &y)| r.preds[t - 1] == Some(y))
            .count();
        let per: Vec<f64> = (0..nl)
            .map(|l| runs.iter().map(|r| r.spikes_at(t, l) as f64).sum::<f64>() / n)
            .collect();
        c.accuracy.push(correct as f64 / n);
        c.spikes.push(per.iter().sum());
        c.spikes_per_layer.push(per);
        c.synaptic_events.push(
            runs.iter()
                .map(|r| rate_events_at(net, r, t) as f64)
                .sum::<f64>()
                / n,
        );
    }
    c
}

/// Each sample stopped at its own decision step (see the module notes).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RateDecisions {
    /// Samples with a prediction at step T.
    pub decided: usize,
    /// Decision steps over the decided samples.
    pub steps: Summary,
    /// Mean spikes per sample up to its decision step (undecided samples: up to T).
    pub spikes_mean: f64,
    /// Mean synaptic events per sample up to its decision step (undecided: up to T).
    pub synaptic_events_mean: f64,
}

/// Decision statistics of `runs`.
pub(crate) fn rate_decisions(net: &SpikingNet, runs: &[SampleRun]) -> RateDecisions {
    let n = runs.len().max(1) as f64;
    let mut steps = Vec::new();
    let (mut spikes, mut events) = (0u64, 0u64);
    for r in runs {
        let d = r.decision_steps();
        if let Some(s) = d {
            steps.push(s as u64);
        }
        let t = d.unwrap_or(r.steps());
        spikes += (0..r.n_layers)
            .map(|l| r.spikes_at(t, l) as u64)
            .sum::<u64>();
        events += rate_events_at(net, r, t);
    }
    RateDecisions {
        decided: steps.len(),
        steps: Summary::of(&steps),
        spikes_mean: spikes as f64 / n,
        synaptic_events_mean: events as f64 / n,
    }
}

/// The first-spike network's figures: counts up to the decision from the event engine, full-run
/// counts from [`temporal_full_counts`].
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TemporalCounts {
    /// Samples.
    pub(crate) samples: usize,
    /// Fraction classified correctly (no output spike = wrong).
    pub accuracy: f64,
    /// Samples without any output spike.
    pub no_output_spike: usize,
    /// Mean spikes per layer up to the decision (layer 0 = inputs).
    pub spikes_per_layer: Vec<f64>,
    /// Mean spikes up to the decision, all layers.
    pub spikes: f64,
    /// Mean synaptic events up to the decision.
    pub synaptic_events: f64,
    /// Mean spikes per layer in the full run.
    pub spikes_per_layer_full: Vec<f64>,
    /// Mean spikes in the full run.
    pub spikes_full: f64,
    /// Mean synaptic events in the full run.
    pub synaptic_events_full: f64,
    /// Mean decision time (tau_syn), over samples with a decision.
    pub decision_time_mean: Option<f64>,
    /// Up to the decision, in the literature's units.
    pub sparsity: Sparsity,
    /// The full run, in the literature's units.
    pub sparsity_full: Sparsity,
}

/// Counts of complete runs (not stopped at the decision) of a first-spike model, per sample.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FullCounts {
    /// Spikes per layer and sample, `spikes[l][sample]` (layer 0 = inputs).
    pub spikes: LayerCounts,
    /// Synaptic events per sample: each spike times its neuron's fan-out.
    pub synaptic_events: Vec<u64>,
}

/// Spikes per layer and sample, and synaptic events per sample, of complete runs (not stopped
/// at the decision) of a first-spike model. Computed with the analytic solver in f64, which
/// fires the same neurons as the event engine (`firstspike verify` checks it on every spike)
/// about ten times faster than a complete event-engine run; a spike's synaptic events are its
/// neuron's fan-out ([`crate::network::Layer::fan_outs`]), as the event engine counts them.
pub fn temporal_full_counts(
    model: &Model,
    data: &Dataset,
    threads: usize,
    progress: Progress,
) -> Result<FullCounts> {
    model.check_input_dim(data.dim())?;
    let net = Net::<f64>::from_model(model);
    let nl = model.layers.len() + 1;
    let fan: Vec<Vec<u64>> = model.layers.iter().map(|l| l.fan_outs()).collect();
    let parts = par_chunks(data.len(), threads, |range| {
        let mut scratch = LayerScratch::default();
        let mut pass = ForwardPass::default();
        let mut t_in = vec![0.0; data.dim()];
        let mut out: LayerCounts = vec![Vec::new(); nl];
        let mut events = Vec::new();
        for i in range {
            model.encoding.encode_into(data.image(i), &mut t_in);
            forward(&net, &t_in, &mut scratch, &mut pass);
            for (l, o) in out.iter_mut().enumerate() {
                o.push(pass.fired(l) as u64);
            }
            events.push(
                fan.iter()
                    .enumerate()
                    .map(|(l, f)| {
                        pass.times[l]
                            .iter()
                            .zip(f)
                            .filter(|(t, _)| t.is_finite())
                            .map(|(_, &k)| k)
                            .sum::<u64>()
                    })
                    .sum(),
            );
            progress(1);
        }
        (out, events)
    });
    Ok(FullCounts {
        spikes: (0..nl)
            .map(|l| parts.iter().flat_map(|p| p.0[l].iter().copied()).collect())
            .collect(),
        synaptic_events: parts.iter().flat_map(|p| p.1.iter().copied()).collect(),
    })
}

/// Counts of the first-spike network: `rep` from the event engine (stopped at the decision or
/// not), `full` from [`temporal_full_counts`], `size` its size (for the literature's units).
pub fn temporal_counts(rep: &SimReport, full: &FullCounts, size: &NetSize) -> TemporalCounts {
    let runs = &rep.runs;
    let n = runs.len().max(1) as f64;
    let nl = runs.first().map_or(0, |r| r.fired.len());
    let mean =
        |f: &dyn Fn(&crate::event::RunSummary) -> u64| runs.iter().map(f).sum::<u64>() as f64 / n;
    let spikes_per_layer: Vec<f64> = (0..nl)
        .map(|l| mean(&|r| r.fired_before_decision[l]))
        .collect();
    let mean_of = |v: &[u64]| v.iter().sum::<u64>() as f64 / v.len().max(1) as f64;
    let spikes_per_layer_full: Vec<f64> = full.spikes.iter().map(|v| mean_of(v)).collect();
    let synaptic_events = mean(&|r| r.synaptic_events_before_decision.iter().sum());
    let synaptic_events_full = mean_of(&full.synaptic_events);
    let dts: Vec<f64> = runs
        .iter()
        .filter_map(|r| r.decision.map(|d| d.1))
        .collect();
    TemporalCounts {
        samples: runs.len(),
        accuracy: rep.correct as f64 / n,
        no_output_spike: rep.no_output_spike,
        spikes: spikes_per_layer.iter().sum(),
        spikes_full: spikes_per_layer_full.iter().sum(),
        synaptic_events,
        synaptic_events_full,
        sparsity: Sparsity::of(size, &spikes_per_layer, synaptic_events),
        sparsity_full: Sparsity::of(size, &spikes_per_layer_full, synaptic_events_full),
        spikes_per_layer,
        spikes_per_layer_full,
        decision_time_mean: (!dts.is_empty()).then(|| dts.iter().sum::<f64>() / dts.len() as f64),
    }
}

/// Which accuracy the operating point matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reference {
    /// The rate network's own accuracy at the last step T.
    RateFinal,
    /// The first-spike network's accuracy (it was lower).
    Temporal,
}

/// The step at which the rate network is compared.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct OperatingPoint {
    /// The step (1-based): the first at which `accuracy >= target`.
    pub step: usize,
    /// Rate accuracy at that step.
    pub accuracy: f64,
    /// `reference_accuracy - MATCH_TOLERANCE`.
    pub target: f64,
    /// Which accuracy was matched.
    pub reference: Reference,
    /// That accuracy.
    pub reference_accuracy: f64,
}

/// The first step at which the rate network comes within [`MATCH_TOLERANCE`] of its own final
/// accuracy, or of the temporal accuracy if that is lower. Always exists when the curve is not
/// empty (the last step meets its own target); `None` for an empty curve.
pub(crate) fn operating_point(curve: &RateCurve, temporal_accuracy: f64) -> Option<OperatingPoint> {
    let last = *curve.accuracy.last()?;
    let (reference, reference_accuracy) = if temporal_accuracy < last {
        (Reference::Temporal, temporal_accuracy)
    } else {
        (Reference::RateFinal, last)
    };
    let target = reference_accuracy - MATCH_TOLERANCE;
    let k = curve.accuracy.iter().position(|&a| a >= target)?;
    Some(OperatingPoint {
        step: k + 1,
        accuracy: curve.accuracy[k],
        target,
        reference,
        reference_accuracy,
    })
}

/// Per-layer, per-sample spike counts (for histograms): `counts[l][sample]`.
pub(crate) type LayerCounts = Vec<Vec<u64>>;

/// Rate spikes per layer and sample after step `t`.
pub(crate) fn rate_layer_counts(runs: &[SampleRun], t: usize) -> LayerCounts {
    let nl = runs.first().map_or(0, |r| r.n_layers);
    (0..nl)
        .map(|l| runs.iter().map(|r| r.spikes_at(t, l) as u64).collect())
        .collect()
}

/// Temporal spikes per layer and sample up to the decision.
pub(crate) fn temporal_layer_counts(rep: &SimReport) -> LayerCounts {
    let nl = rep.runs.first().map_or(0, |r| r.fired.len());
    (0..nl)
        .map(|l| {
            rep.runs
                .iter()
                .map(|r| r.fired_before_decision[l])
                .collect()
        })
        .collect()
}

/// The ReLU network's accuracy and work on the same images.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct AnnWork {
    /// Accuracy of the ReLU network.
    pub accuracy: f64,
    /// Dense multiply-accumulates per image.
    pub dense_macs: u64,
    /// Mean multiply-accumulates per image skipping zero inputs and silent ReLUs.
    pub sparse_macs_mean: f64,
}

/// Everything the comparison reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    /// Images compared.
    pub samples: usize,
    /// The first-spike network.
    pub temporal: TemporalCounts,
    /// The rate network over T.
    pub curve: RateCurve,
    /// The rate network with per-sample (oracle) stopping.
    pub decisions: RateDecisions,
    /// Where the rate network is compared.
    pub op: OperatingPoint,
    /// Rate spikes per inference at the operating point / temporal spikes up to the decision.
    pub spike_ratio: f64,
    /// The same for synaptic events.
    pub synaptic_event_ratio: f64,
    /// The ReLU network.
    pub(crate) ann: AnnWork,
    /// The rate network at the operating point, in the literature's units.
    pub rate_sparsity: Sparsity,
    /// The rate network after the last step T, in the literature's units.
    pub rate_sparsity_final: Sparsity,
    /// Temporal spikes per layer and sample, up to the decision.
    #[serde(skip)]
    pub(crate) temporal_hist: LayerCounts,
    /// Rate spikes per layer and sample, at the operating point.
    #[serde(skip)]
    pub(crate) rate_hist: LayerCounts,
}

impl Comparison {
    /// Assembles the comparison from finished runs on the same images (`labels`): the rate
    /// network's, and the first-spike network's (`temporal` from the event engine, `full` from
    /// [`temporal_full_counts`], `size` its size). `None` if there are no rate steps.
    pub fn new(
        net: &SpikingNet,
        rate_runs: &[SampleRun],
        labels: &[u8],
        temporal: &SimReport,
        full: &FullCounts,
        size: &NetSize,
        ann: AnnWork,
    ) -> Option<Comparison> {
        let curve = rate_curve(net, rate_runs, labels);
        let tc = temporal_counts(temporal, full, size);
        let op = operating_point(&curve, tc.accuracy)?;
        let k = op.step - 1;
        let last = curve.steps() - 1;
        let rate_size = net.size();
        let rate_at = |t: usize| {
            Sparsity::of(
                &rate_size,
                &curve.spikes_per_layer[t],
                curve.synaptic_events[t],
            )
        };
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::INFINITY };
        Some(Comparison {
            samples: labels.len(),
            spike_ratio: ratio(curve.spikes[k], tc.spikes),
            synaptic_event_ratio: ratio(curve.synaptic_events[k], tc.synaptic_events),
            decisions: rate_decisions(net, rate_runs),
            rate_sparsity: rate_at(k),
            rate_sparsity_final: rate_at(last),
            rate_hist: rate_layer_counts(rate_runs, op.step),
            temporal_hist: temporal_layer_counts(temporal),
            temporal: tc,
            curve,
            op,
            ann,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(acc: &[f64]) -> RateCurve {
        RateCurve {
            accuracy: acc.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn operating_point_matches_the_lower_reference() {
        let c = curve(&[0.1, 0.5, 0.93, 0.96, 0.976, 0.98]);
        let op = operating_point(&c, 0.99).unwrap();
        assert_eq!((op.step, op.reference), (5, Reference::RateFinal)); // 0.976 >= 0.98 - 0.005 > 0.96
        let op = operating_point(&c, 0.90).unwrap();
        assert_eq!((op.step, op.reference), (3, Reference::Temporal)); // 0.93 >= 0.895
        assert!(operating_point(&curve(&[]), 0.9).is_none());
    }
}
