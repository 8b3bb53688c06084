//! The simulation loop.

use super::network::CompiledNet;
use super::queue::SpikeQueue;
use super::recorder::Recorder;
use crate::error::{Error, Result};
use crate::neuron::{InputOutcome, NeuronState};

/// How far to run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Stop at the first output spike (the decision) instead of running until the queue is
    /// empty.
    pub until_decision: bool,
}

/// Counts of one run, per layer (index 0 = network inputs).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunSummary {
    /// The decision: index of the output neuron that fired first (ties: lowest index) and its
    /// time; `None` if no output fired.
    pub decision: Option<(usize, f64)>,
    /// Neurons that fired, per layer (up to the decision with `until_decision`).
    pub fired: Vec<u64>,
    /// Neurons that fired no later than the decision, per layer (the decision spike included).
    pub fired_before_decision: Vec<u64>,
    /// Synaptic events (spikes x fan-out) caused by each layer's spikes.
    pub synaptic_events: Vec<u64>,
    /// Synaptic events caused before the decision (the decision spike's own fan-out, zero for
    /// an output layer, included).
    pub synaptic_events_before_decision: Vec<u64>,
}

impl RunSummary {
    /// All spikes, inputs included.
    pub fn total_spikes(&self) -> u64 {
        self.fired.iter().sum()
    }
    /// All synaptic events.
    pub fn total_events(&self) -> u64 {
        self.synaptic_events.iter().sum()
    }
}

/// The discrete-event engine: state for one network, reused sample after sample.
pub struct Engine<'n> {
    net: &'n CompiledNet,
    states: Vec<NeuronState<f64>>,
    fired: Vec<bool>,
    pending: Vec<bool>,
    queue: SpikeQueue,
}

impl<'n> Engine<'n> {
    /// An engine for `net`.
    pub fn new(net: &'n CompiledNet) -> Self {
        let n = net.len();
        Engine {
            net,
            states: vec![NeuronState::new(); n],
            fired: vec![false; n],
            pending: vec![false; n],
            queue: SpikeQueue::with_capacity(n),
        }
    }

    /// Runs one sample: `inputs[i]` is the spike time of network input i (units of tau_syn,
    /// `+inf` = no spike). Input times must be finite and >= 0, or +inf; there must be one per
    /// input. Every spike goes to `rec`.
    pub fn run<R: Recorder>(
        &mut self,
        inputs: &[f64],
        opts: RunOptions,
        rec: &mut R,
    ) -> Result<RunSummary> {
        let net = self.net;
        if inputs.len() != net.n_inputs() {
            return Err(Error::dimension(format!(
                "{} input times for a network with {} inputs",
                inputs.len(),
                net.n_inputs()
            )));
        }
        if let Some((i, t)) = inputs
            .iter()
            .enumerate()
            .find(|(_, t)| t.is_nan() || **t < 0.0)
        {
            return Err(Error::engine(format!(
                "input {i} has spike time {t}: times must be >= 0 (or +inf for no spike)"
            )));
        }
        self.states.iter_mut().for_each(|s| *s = NeuronState::new());
        self.fired.iter_mut().for_each(|f| *f = false);
        self.pending.iter_mut().for_each(|f| *f = false);
        self.queue.clear();
        for (i, &t) in inputs.iter().enumerate() {
            if t.is_finite() {
                self.queue.schedule(i as u32, t);
                self.pending[i] = true;
            }
        }
        let nl = net.n_layers();
        let mut sum = RunSummary {
            decision: None,
            fired: vec![0; nl],
            fired_before_decision: vec![0; nl],
            synaptic_events: vec![0; nl],
            synaptic_events_before_decision: vec![0; nl],
        };
        let first_out = net.first_output();
        let theta = net.params.theta;
        let tau = net.params.tau_syn;
        let mut now = f64::NEG_INFINITY;
        while let Some((id, t)) = self.queue.pop() {
            debug_assert!(t >= now, "time order: popped {t} after {now}");
            now = t;
            let iu = id as usize;
            self.pending[iu] = false;
            self.fired[iu] = true;
            let layer = net.layer[iu] as usize;
            let fan = net.fan_out(id) as u64;
            sum.fired[layer] += 1;
            sum.synaptic_events[layer] += fan;
            rec.spike(id, t, if layer == 0 { 0 } else { self.states[iu].n_in });
            if sum.decision.is_none() {
                sum.fired_before_decision[layer] += 1;
                sum.synaptic_events_before_decision[layer] += fan;
                if id >= first_out {
                    sum.decision = Some(((id - first_out) as usize, t));
                    if opts.until_decision {
                        break;
                    }
                }
            }
            let (a, b) = (net.offsets[iu], net.offsets[iu + 1]);
            for (&tg, &w) in net.targets[a..b].iter().zip(&net.weights[a..b]) {
                let tu = tg as usize;
                if self.fired[tu] {
                    continue;
                }
                match self.states[tu].on_input(t, w, theta, tau) {
                    InputOutcome::Ignored => {}
                    InputOutcome::Integrated(Some(tp)) => {
                        self.queue.schedule(tg, tp);
                        self.pending[tu] = true;
                    }
                    InputOutcome::Integrated(None) => {
                        if self.pending[tu] {
                            self.queue.cancel(tg);
                            self.pending[tu] = false;
                        }
                    }
                }
            }
        }
        Ok(sum)
    }
}
