//! Spike-by-spike agreement of the two engines: the event engine against the analytic solver,
//! both in f64, on every sample of a data set.

use crate::analytic::{forward, ForwardPass, LayerScratch, Net};
use crate::error::Result;
use crate::event::{CompiledNet, Engine, RunOptions, SpikeLog};
use crate::inputs::Samples;
use crate::model::Model;
use crate::parallel::par_chunks;
use crate::progress::Progress;
use serde::Serialize;

/// Relative tolerance on spike times between the engines: |t_a - t_e| <= TOL * max(|t|, tau).
/// Both do the same floating-point operations per neuron in the same order, so they normally
/// agree exactly; the tolerance leaves room for simultaneous spikes whose sums are formed in
/// another order (a few ulps), and is far below any time scale of the model.
pub const VERIFY_REL_TOL: f64 = 1e-9;

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
