//! Recording traces over a data set: every spike of a run with its time and causal set, by the
//! analytic solver or the event engine (both f64, the same spikes).

use super::dataset::{simulate, Record};
use crate::analytic::{forward, ForwardPass, LayerScratch, Net};
use crate::error::Result;
use crate::event::RunOptions;
use crate::inputs::{Picked, Samples};
use crate::model::Model;
use crate::parallel::par_chunks;
use crate::progress::Progress;
use crate::trace::{EngineKind, SampleTrace};

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
                Record::Traces,
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
