//! Replaying traces against a model: counts, decisions and gradients without simulating again.
//!
//! Owns the replay of recorded traces; the gradient arithmetic itself is [`crate::grad`]'s,
//! the same code training uses.

use crate::analytic::Net;
use crate::error::{Error, Result};
use crate::grad::{backward, BackScratch, BackwardStats};
use crate::loss::{output_loss, LossOrigin};
use crate::model::Model;
use crate::progress::Progress;
use crate::trace::{SampleTrace, TraceFile};
use serde::Serialize;
use std::path::Path;

/// What a replay found.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ReplayReport {
    /// Samples replayed.
    pub samples: usize,
    /// Samples whose decision, recomputed from the spikes, differs from the recorded one.
    pub decision_mismatches: usize,
    /// Samples with a label whose decision equals it.
    pub correct: usize,
    /// Samples with a label.
    pub labelled: usize,
    /// Mean spikes per sample, per layer (inputs first).
    pub spikes_per_layer_mean: Vec<f64>,
    /// Samples whose gradients were replayed (complete traces whose target fired).
    pub gradients_replayed: usize,
    /// Mean loss over those.
    pub loss_mean: Option<f64>,
    /// L2 norm of the mean loss gradient, per layer.
    pub grad_norm_per_layer: Vec<f64>,
}

/// Mean loss gradient over `traces` (f64), replayed against `model`: returns the per-layer
/// gradients (input-major like the weights), the mean loss and the samples used.
///
/// Errors ([`Error::Trace`], naming the sample) if a trace does not fit the model: other
/// layer sizes, or a label or decision that is not one of its outputs.
pub fn replay_gradients(
    model: &Model,
    traces: &[SampleTrace],
    origin: LossOrigin,
    denom_floor: f64,
) -> Result<(Vec<Vec<f64>>, f64, usize)> {
    let arch = model.arch();
    for t in traces {
        t.validate(&arch).map_err(|why| {
            Error::sample_trace(
                None,
                t.sample,
                format!("does not fit the model {arch:?}: {why}"),
            )
        })?;
    }
    let net = Net::<f64>::from_model(model);
    let mut grads: Vec<Vec<f64>> = net
        .layers
        .iter()
        .map(|l| vec![0.0; l.weights().len()])
        .collect();
    let mut scratch = BackScratch::default();
    let mut stats = BackwardStats::default();
    let mut dl = vec![0.0; model.n_outputs()];
    let (mut loss, mut n) = (0.0, 0usize);
    for t in traces {
        let Some(label) = t.label else { continue };
        let pass = t.to_pass::<f64>(model);
        if let Some(l) = output_loss(
            pass.outputs(),
            label as usize,
            model.params.tau_syn,
            origin,
            &mut dl,
        ) {
            backward(
                &net,
                &pass,
                &dl,
                &mut grads,
                denom_floor,
                &mut scratch,
                &mut stats,
            );
            loss += l;
            n += 1;
        }
    }
    if n > 0 {
        grads.iter_mut().flatten().for_each(|g| *g /= n as f64);
    }
    Ok((grads, if n > 0 { loss / n as f64 } else { f64::NAN }, n))
}

/// Replays trace files against `model` (each file's model identity is checked first),
/// reporting each replayed sample to `progress`.
pub fn replay(
    model: &Model,
    files: &[(std::path::PathBuf, TraceFile)],
    progress: Progress,
) -> Result<ReplayReport> {
    let arch = model.arch();
    let mut rep = ReplayReport {
        spikes_per_layer_mean: vec![0.0; arch.len()],
        ..Default::default()
    };
    // The two training settings a replay needs, read from the model's training record (plain
    // data); a model without one replays with the defaults.
    let record = model.meta.train.as_ref();
    let loss_origin: LossOrigin = match record.map(|r| &r["loss_origin"]) {
        None | Some(serde_json::Value::Null) => LossOrigin::Input,
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| {
            Error::setting(
                "loss_origin",
                format!("the model's training record has loss_origin {v}, which this build does not know ({e}); replay with the firstspike that trained it"),
            )
        })?,
    };
    let denom_floor = record
        .and_then(|r| r["denom_floor"].as_f64())
        .unwrap_or(crate::grad::DENOM_FLOOR);
    let mut all_grads: Option<Vec<Vec<f64>>> = None;
    let mut loss_sum = 0.0;
    for (path, f) in files {
        f.header.check_model(model, Path::new(path))?;
        for t in &f.samples {
            rep.samples += 1;
            if t.replayed_decision(&arch) != t.decision {
                rep.decision_mismatches += 1;
            }
            if let Some(l) = t.label {
                rep.labelled += 1;
                if t.decision.map(|d| d.0 as u8) == Some(l) {
                    rep.correct += 1;
                }
            }
            for (m, c) in rep.spikes_per_layer_mean.iter_mut().zip(t.fired(&arch)) {
                *m += c as f64;
            }
        }
        if f.header.complete {
            let (g, loss, n) = replay_gradients(model, &f.samples, loss_origin, denom_floor)?;
            if n > 0 {
                loss_sum += loss * n as f64;
                rep.gradients_replayed += n;
                let acc =
                    all_grads.get_or_insert_with(|| g.iter().map(|x| vec![0.0; x.len()]).collect());
                for (a, b) in acc.iter_mut().flatten().zip(g.iter().flatten()) {
                    *a += b * n as f64;
                }
            }
        }
        progress(f.samples.len() as u64);
    }
    if rep.samples > 0 {
        rep.spikes_per_layer_mean
            .iter_mut()
            .for_each(|m| *m /= rep.samples as f64);
    }
    if let Some(g) = all_grads {
        let n = rep.gradients_replayed as f64;
        rep.loss_mean = Some(loss_sum / n);
        rep.grad_norm_per_layer = g
            .iter()
            .map(|l| l.iter().map(|x| (x / n) * (x / n)).sum::<f64>().sqrt())
            .collect();
    }
    Ok(rep)
}
