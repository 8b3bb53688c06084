//! Running the event engine over a data set, on several threads, and checking it against the
//! analytic solver.
//!
//! Owns the data-set-level jobs of the engines: [`simulate`] (accuracy and spike counts),
//! [`verify`] (spike-by-spike agreement with the analytic solver, f64), and recording the
//! traces of a data set ([`record_analytic`]) or of chosen samples with either engine
//! ([`record_samples`]).

use crate::analytic::{forward, ForwardPass, LayerScratch, Net};
use crate::counts::CountReport;
use crate::encoding::Encoding;
use crate::error::Result;
use crate::event::{CompiledNet, Engine, NoRecord, RunOptions, RunSummary, SpikeLog};
use crate::inputs::{Picked, Samples};
use crate::model::Model;
use crate::parallel::par_chunks;
use crate::progress::Progress;
use crate::sparsity::{NetSize, Sparsity};
use crate::trace::{EngineKind, SampleTrace, TraceRecorder};
use serde::Serialize;

/// Relative tolerance on spike times between the engines: |t_a - t_e| <= TOL * max(|t|, tau).
/// Both do the same floating-point operations per neuron in the same order, so they normally
/// agree exactly; the tolerance leaves room for simultaneous spikes whose sums are formed in
/// another order (a few ulps), and is far below any time scale of the model.
pub const VERIFY_REL_TOL: f64 = 1e-9;

/// Result of [`simulate`].
#[derive(Clone, Debug, Default)]
pub struct SimReport {
    /// Per-sample counts, in data order.
    pub runs: Vec<RunSummary>,
    /// Samples whose decision equals the label (0 for unlabelled samples).
    pub correct: usize,
    /// Samples with no output spike.
    pub no_output_spike: usize,
    /// Every sample's trace, if recording was asked for.
    pub traces: Vec<SampleTrace>,
}

/// Simulates every sample of `data` with the event engine; with `record`, keeps every
/// sample's trace (`net` must then be layered, from [`crate::event::EventNet::from_model`]).
pub fn simulate<D: Samples + ?Sized>(
    net: &CompiledNet,
    enc: &Encoding,
    data: &D,
    opts: RunOptions,
    threads: usize,
    record: bool,
    progress: Progress,
) -> Result<SimReport> {
    type Part = (Vec<RunSummary>, Vec<SampleTrace>);
    let parts = par_chunks(data.len(), threads, |range| -> Result<Part> {
        let mut eng = Engine::new(net);
        let mut t_in = vec![0.0; data.dim()];
        let mut out = Vec::with_capacity(range.len());
        let mut traces = Vec::new();
        let mut rec = TraceRecorder::new(net);
        for i in range {
            data.times_into(i, enc, &mut t_in);
            if record {
                rec.reset(i as u64, data.label(i));
                out.push(eng.run(&t_in, opts, &mut rec)?);
                traces.push(rec.trace.clone());
            } else {
                out.push(eng.run(&t_in, opts, &mut NoRecord)?);
            }
            progress(1);
        }
        Ok((out, traces))
    });
    let mut rep = SimReport::default();
    for p in parts {
        let (runs, traces) = p?;
        rep.runs.extend(runs);
        rep.traces.extend(traces);
    }
    for (i, r) in rep.runs.iter().enumerate() {
        match r.decision {
            Some((d, _)) if Some(d) == data.label(i).map(usize::from) => rep.correct += 1,
            Some(_) => {}
            None => rep.no_output_spike += 1,
        }
    }
    Ok(rep)
}

/// Result of [`verify`].
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct VerifyReport {
    /// Samples compared.
    pub samples: usize,
    /// Spikes compared (neurons that fired in both engines, inputs excluded).
    pub spikes_compared: u64,
    /// Samples whose decisions differ.
    pub prediction_mismatches: usize,
    /// Neurons that fired in one engine and not the other.
    pub fired_status_mismatches: u64,
    /// Neurons whose causal-set sizes differ.
    pub causal_set_mismatches: u64,
    /// Largest |t_analytic - t_event| (units of tau_syn).
    pub max_abs_time_diff: f64,
    /// Largest |t_analytic - t_event| / max(|t|, tau).
    pub max_rel_time_diff: f64,
    /// The tolerance applied to `max_rel_time_diff`.
    pub tolerance: f64,
}

impl VerifyReport {
    /// Whether the engines agree: no mismatch of any kind, times within tolerance.
    pub fn agree(&self) -> bool {
        self.prediction_mismatches == 0
            && self.fired_status_mismatches == 0
            && self.causal_set_mismatches == 0
            && self.max_rel_time_diff <= self.tolerance
    }

    fn merge(&mut self, o: &VerifyReport) {
        self.samples += o.samples;
        self.spikes_compared += o.spikes_compared;
        self.prediction_mismatches += o.prediction_mismatches;
        self.fired_status_mismatches += o.fired_status_mismatches;
        self.causal_set_mismatches += o.causal_set_mismatches;
        self.max_abs_time_diff = self.max_abs_time_diff.max(o.max_abs_time_diff);
        self.max_rel_time_diff = self.max_rel_time_diff.max(o.max_rel_time_diff);
    }
}

/// Compares one sample's analytic pass with an event-engine spike log.
pub fn compare(
    net: &CompiledNet,
    pass: &ForwardPass<f64>,
    log: &SpikeLog,
    event_decision: Option<usize>,
    rep: &mut VerifyReport,
) {
    let tau = net.params.tau_syn;
    let nl = net.n_layers();
    let mut ev_t: Vec<Vec<f64>> = (0..nl)
        .map(|l| vec![f64::INFINITY; net.layer_sizes[l]])
        .collect();
    let mut ev_c: Vec<Vec<u32>> = (0..nl).map(|l| vec![0; net.layer_sizes[l]]).collect();
    for &(id, t, c) in &log.spikes {
        let (l, j) = (
            net.layer[id as usize] as usize,
            net.index[id as usize] as usize,
        );
        ev_t[l][j] = t;
        ev_c[l][j] = c;
    }
    rep.samples += 1;
    if pass.decision() != event_decision {
        rep.prediction_mismatches += 1;
    }
    for l in 1..nl {
        for j in 0..net.layer_sizes[l] {
            let (ta, te) = (pass.times[l][j], ev_t[l][j]);
            match (ta.is_finite(), te.is_finite()) {
                (true, true) => {
                    rep.spikes_compared += 1;
                    let d = (ta - te).abs();
                    rep.max_abs_time_diff = rep.max_abs_time_diff.max(d);
                    rep.max_rel_time_diff = rep.max_rel_time_diff.max(d / ta.abs().max(tau));
                    if pass.causal[l - 1][j] != ev_c[l][j] {
                        rep.causal_set_mismatches += 1;
                    }
                }
                (false, false) => {}
                _ => rep.fired_status_mismatches += 1,
            }
        }
    }
}

/// Runs both engines in f64 on every sample of `data` and compares every spike.
pub fn verify<D: Samples + ?Sized>(
    model: &Model,
    data: &D,
    threads: usize,
    progress: Progress,
) -> Result<VerifyReport> {
    model.check_input_dim(data.dim())?;
    let anet = Net::<f64>::from_model(model);
    let enet = crate::event::EventNet::from_model(model)?.compile()?;
    let enc = model.encoding;
    let parts = par_chunks(data.len(), threads, |range| -> Result<VerifyReport> {
        let mut rep = VerifyReport::default();
        let mut eng = Engine::new(&enet);
        let mut scratch = LayerScratch::default();
        let mut pass = ForwardPass::default();
        let mut log = SpikeLog::default();
        let mut t_in = vec![0.0; data.dim()];
        for i in range {
            data.times_into(i, &enc, &mut t_in);
            forward(&anet, &t_in, &mut scratch, &mut pass);
            log.spikes.clear();
            let s = eng.run(&t_in, RunOptions::default(), &mut log)?;
            compare(&enet, &pass, &log, s.decision.map(|d| d.0), &mut rep);
            progress(1);
        }
        Ok(rep)
    });
    let mut rep = VerifyReport {
        tolerance: VERIFY_REL_TOL,
        ..Default::default()
    };
    for p in parts {
        rep.merge(&p?);
    }
    Ok(rep)
}

/// Full-run traces of the samples `indices` of `data`, recorded by `engine` (f64) on
/// `threads` threads, in the order of `indices`; each trace carries its index in `data`.
/// Also returns the synaptic events the event engine delivered (0 for the analytic solver).
pub fn record_samples<D: Samples + ?Sized>(
    model: &Model,
    data: &D,
    indices: &[usize],
    engine: EngineKind,
    threads: usize,
    progress: Progress,
) -> Result<(Vec<SampleTrace>, u64)> {
    model.check_input_dim(data.dim())?;
    let picked = Picked::new(data, indices)?;
    let (mut traces, events) = match engine {
        EngineKind::Analytic => (record_analytic(model, &picked, threads, progress)?, 0),
        EngineKind::Event => {
            let net = crate::event::EventNet::from_model(model)?.compile()?;
            let opts = RunOptions::default();
            let rep = simulate(
                &net,
                &model.encoding,
                &picked,
                opts,
                threads,
                true,
                progress,
            )?;
            (rep.traces, rep.runs.iter().map(|r| r.total_events()).sum())
        }
    };
    for (t, &k) in traces.iter_mut().zip(indices) {
        t.sample = k as u64;
    }
    Ok((traces, events))
}

/// The analytic solver's (f64) trace of every sample of `data`.
pub fn record_analytic<D: Samples + ?Sized>(
    model: &Model,
    data: &D,
    threads: usize,
    progress: Progress,
) -> Result<Vec<SampleTrace>> {
    model.check_input_dim(data.dim())?;
    let net = Net::<f64>::from_model(model);
    let parts = par_chunks(data.len(), threads, |range| {
        let mut scratch = LayerScratch::default();
        let mut pass = ForwardPass::default();
        let mut t_in = vec![0.0; data.dim()];
        range
            .map(|i| {
                data.times_into(i, &model.encoding, &mut t_in);
                forward(&net, &t_in, &mut scratch, &mut pass);
                progress(1);
                SampleTrace::from_pass(&pass, i as u64, data.label(i))
            })
            .collect::<Vec<_>>()
    });
    Ok(parts.into_iter().flatten().collect())
}
/// The summary of event-engine runs that `firstspike simulate --json` prints and the Python
/// module's `Model.simulate` returns (one definition, so both have the same keys): accuracy
/// (`None` without labels), counts per layer ([`CountReport`]), means, sparsity in the
/// literature's units against `size` (the network's; [`sparsity_json`]), and speed over `secs`
/// of wall time on `threads` threads; `recorded` says where traces went (`null` if nowhere).
#[allow(clippy::too_many_arguments)]
pub fn run_summary_json(
    model: impl Serialize,
    size: &NetSize,
    runs: &[RunSummary],
    correct: Option<usize>,
    until_decision: bool,
    secs: f64,
    threads: usize,
    recorded: serde_json::Value,
) -> serde_json::Value {
    let c = CountReport::of(runs);
    let n = runs.len();
    let events: u64 = runs.iter().map(|r| r.total_events()).sum();
    let eps = events as f64 / secs;
    serde_json::json!({
        "model": model,
        "accuracy": correct.map(|k| k as f64 / n as f64),
        "correct": correct,
        "samples": n,
        "no_output_spike": runs.iter().filter(|r| r.decision.is_none()).count(),
        "until_decision": until_decision,
        "spikes_per_sample_mean": c.spikes_total.mean,
        "spikes_before_decision_mean": c.spikes_before_decision_total.mean,
        "synaptic_events_per_sample_mean": c.synaptic_events_total.mean,
        "decision_time_mean": c.decision_time_mean,
        "wall_seconds": secs,
        "threads": threads,
        "seconds_per_sample": secs / n as f64,
        "synaptic_events_per_second": eps,
        "synaptic_events_per_second_per_thread": eps / threads as f64,
        "counts": c,
        "sparsity": sparsity_json(size, runs, until_decision),
        "recorded": recorded,
    })
}

/// The `sparsity` member of [`run_summary_json`]: [`Sparsity`] of the mean counts up to the
/// decision (`to_decision`) and, unless the runs stopped there, of the full runs (`full_run`,
/// else `null`).
pub fn sparsity_json(
    size: &NetSize,
    runs: &[RunSummary],
    until_decision: bool,
) -> serde_json::Value {
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
    let full = (!until_decision)
        .then(|| Sparsity::of(size, &mean(&|r| &r.fired), total(&|r| &r.synaptic_events)));
    serde_json::json!({ "to_decision": to_decision, "full_run": full })
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
        let v = run_summary_json(
            "m",
            &size,
            &runs,
            None,
            false,
            1.0,
            1,
            serde_json::Value::Null,
        );
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
        let stopped = run_summary_json(
            "m",
            &size,
            &runs,
            None,
            true,
            1.0,
            1,
            serde_json::Value::Null,
        );
        assert!(stopped["sparsity"]["full_run"].is_null());
    }
}
