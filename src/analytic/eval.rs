//! Accuracy of a network on a data set with the analytic solver, on several threads.

use super::forward::forward;
use super::layer::LayerScratch;
use super::net::Net;
use crate::encoding::Encoding;
use crate::inputs::Samples;
use crate::parallel::par_chunks;
use crate::pass::ForwardPass;
use crate::progress::Progress;
use crate::real::Real;
use serde::Serialize;

/// Result of [`evaluate`].
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct EvalStats {
    /// Images classified correctly.
    pub correct: usize,
    /// Images evaluated.
    pub total: usize,
    /// Images on which no output neuron fired (counted as errors).
    pub no_output_spike: usize,
    /// Mean number of neurons that fired, per layer (index 0 = input spikes).
    pub fired_mean: Vec<f64>,
}

impl EvalStats {
    /// correct / total.
    pub fn accuracy(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.correct as f64 / self.total as f64
        }
    }

    fn merge(&mut self, o: &EvalStats) {
        self.correct += o.correct;
        self.total += o.total;
        self.no_output_spike += o.no_output_spike;
        if self.fired_mean.len() < o.fired_mean.len() {
            self.fired_mean.resize(o.fired_mean.len(), 0.0);
        }
        for (a, b) in self.fired_mean.iter_mut().zip(&o.fired_mean) {
            *a += b; // sums until finished
        }
    }
}

/// Evaluates `net` on `data` (images encoded with `enc`) on `threads` threads, reporting each
/// finished sample to `progress`. Unlabelled samples count as not correct.
pub fn evaluate<F: Real, D: Samples + ?Sized>(
    net: &Net<F>,
    enc: &Encoding,
    data: &D,
    threads: usize,
    progress: Progress,
) -> EvalStats {
    let parts = par_chunks(data.len(), threads, |range| {
        let mut st = EvalStats {
            fired_mean: vec![0.0; net.layers.len() + 1],
            ..Default::default()
        };
        let mut scratch = LayerScratch::default();
        let mut pass = ForwardPass::default();
        let mut t64 = vec![0.0; data.dim()];
        let mut t_in = vec![F::zero(); data.dim()];
        for i in range {
            data.times_into(i, enc, &mut t64);
            for (o, &t) in t_in.iter_mut().zip(&t64) {
                *o = F::of(t);
            }
            forward(net, &t_in, &mut scratch, &mut pass);
            st.total += 1;
            match pass.decision() {
                Some(d) if Some(d) == data.label(i).map(usize::from) => st.correct += 1,
                Some(_) => {}
                None => st.no_output_spike += 1,
            }
            for (l, f) in st.fired_mean.iter_mut().enumerate() {
                *f += pass.fired(l) as f64;
            }
            progress(1);
        }
        st
    });
    let mut total = EvalStats::default();
    for p in &parts {
        total.merge(p);
    }
    if total.total > 0 {
        for f in &mut total.fired_mean {
            *f /= total.total as f64;
        }
    }
    total
}
