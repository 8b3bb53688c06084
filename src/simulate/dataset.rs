//! The event engine on every sample of a data set: decisions, spike and synaptic-event
//! counts, accuracy against the labels, and, if asked, every run's trace.

use crate::encoding::Encoding;
use crate::error::Result;
use crate::event::{CompiledNet, Engine, NoRecord, RunOptions, RunSummary};
use crate::inputs::Samples;
use crate::parallel::par_chunks;
use crate::progress::Progress;
use crate::trace::{SampleTrace, TraceRecorder};

/// What [`simulate`] keeps of each run besides its counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Record {
    /// The counts ([`RunSummary`]) only: the fastest run.
    #[default]
    CountsOnly,
    /// Every sample's trace too ([`SimReport::traces`]): each spike with its time and causal
    /// set, in emission order. The network must then be layered, from
    /// [`crate::event::EventNet::from_model`].
    Traces,
}

/// Result of [`simulate`].
#[derive(Clone, Debug, Default)]
pub struct SimReport {
    /// Per-sample counts, in data order.
    pub runs: Vec<RunSummary>,
    /// Samples whose decision equals the label (0 for unlabelled samples).
    pub correct: usize,
    /// Samples with no output spike.
    pub no_output_spike: usize,
    /// Every sample's trace, in data order, with [`Record::Traces`]; empty otherwise.
    pub traces: Vec<SampleTrace>,
}

/// Simulates every sample of `data` with the event engine on `threads` threads, keeping what
/// `record` says; `progress` is called with the samples done.
pub fn simulate<D: Samples + ?Sized>(
    net: &CompiledNet,
    enc: &Encoding,
    data: &D,
    opts: RunOptions,
    threads: usize,
    record: Record,
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
            match record {
                Record::Traces => {
                    rec.reset(i as u64, data.label(i));
                    out.push(eng.run(&t_in, opts, &mut rec)?);
                    traces.push(rec.trace.clone());
                }
                Record::CountsOnly => out.push(eng.run(&t_in, opts, &mut NoRecord)?),
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
