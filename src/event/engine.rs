//! The simulation loop: [`Engine::run`] pops the earliest spike, records it and hands it to
//! delivery, until nothing can fire any more (or the first output spike, on request).
//!
//! # For a newcomer
//!
//! The engine keeps, per neuron, the two running sums of the closed-form neuron (`S`, the sum
//! of the weights of the inputs so far, and `A`, their weights times `exp((t_i - t_ref)/tau)`;
//! units of theta), a status (`layers.rs`) saying what is known of its first spike, and
//! its exact predicted time once computed. One run goes:
//!
//! 1. the input spikes are queued at their times (layer 0);
//! 2. the earliest spike is popped ([`Engine::next_spike`]), unless some layer's deferred
//!    neurons might fire before it: that layer is re-tested first (`retest.rs`), which may
//!    queue an earlier spike;
//! 3. the popped neuron fires: it is recorded (time, causal set) and counted;
//! 4. its spike is delivered (`deliver.rs`) to every target: `S += w`, `A += w exp(x)`, then
//!    one of three outcomes: `S <= theta` (it will never fire on these inputs: silent), a
//!    test without `ln` shows its crossing is later than now (deferred), or its crossing is
//!    computed exactly and queued;
//! 5. back to 2.
//!
//! How each layer is served (one by one, by runs, or in one sweep) is decided once per
//! network (`layers.rs`). The argument that the spikes are bit for bit those of predicting
//! exactly on every input is in [`Engine`]'s docs.

use super::layers::{layer_states, target_runs, targets, InputFactor, LayerState, Status, GENERAL};
use super::network::CompiledNet;
use super::queue::SpikeQueue;
use super::recorder::Recorder;
use crate::error::{Error, Result};
use crate::neuron::crossing_time;
use crate::real::Real;

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

/// Checks one sample's input times: one per network input, each >= 0 or +inf.
fn check_inputs(net: &CompiledNet, inputs: &[f64]) -> Result<()> {
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
    Ok(())
}

/// The discrete-event engine: state for one network, reused sample after sample.
///
/// # Deferred predictions
///
/// Each synaptic event updates its target's running sums exactly as
/// [`crate::neuron::NeuronState::on_input`] does, operation for operation:
///
/// ```text
/// x = (t - t_ref)/tau                 (t_ref = t for a neuron's first input)
/// if x > REBASE_LIMIT:  A <- A exp(-x),  t_ref <- t,  x <- 0
/// S <- S + w,   A <- A + w exp(x)
/// ```
///
/// What it does not do on every event is the prediction
/// `t_pred = max(t_ref + tau ln(A / (S - theta)), t_last)` (`t_last`: the last integrated
/// input's time) and the queue update that goes with it. A neuron's prediction matters in two
/// places only: when its spike is the earliest in the network, and when the next input
/// reaching it could come at or after its spike (that input is then ignored). Both are
/// answered, most of the time, by a test without `ln` or division against a time `T`:
///
/// ```text
/// A > exp((T - t_ref)/tau) k(T) (S - theta),   S > theta                         (1)
/// k(T) = 1 + TIE_MARGIN + 4 eps (|T| + |t_ref|)/tau
/// ```
///
/// Mathematically (1) with k = 1 is `t_ref + tau ln(A/(S - theta)) > T`. The factor k covers
/// the rounding of every operation on both sides (the exp and the products in (1), the
/// division, ln, product and sum of the prediction: a few ulps of z, plus ulps of the absolute
/// times `T` and `t_ref` relative to tau), so that when (1) holds in floating point, the
/// prediction the engine would compute is strictly later than `T`. When (1) fails, the
/// prediction is computed exactly (the same operations as `on_input`) and queued.
///
/// A neuron whose prediction is known to be later than `T` this way is *deferred*: it is on
/// its layer's watch list (or, in a dense layer or one sharing its reference time, found by
/// a sweep over the layer), and the layer's guard `G_l` is a time no later than any deferred
/// neuron's spike. Two tests use (1):
///
/// - right after an input at `t` (with `T = t`; `exp((t - t_ref)/tau)` is the factor just
///   used): the prediction is later than `t`, so a second input at the same time is
///   integrated, as `on_input` would (its prediction is `> t`). The neuron is deferred with
///   guard `t`, which lets every other spike at time `t` (lower ids: earlier layers) pop
///   first without a single prediction: simultaneous input spikes are delivered as a batch.
/// - when the earliest queued spike is later than a layer's guard (`G_l < t_next`): every
///   deferred neuron of layer l is tested against `T_l`, the earliest time any neuron of an
///   earlier layer can fire (the earliest queued spike of those layers and their guards); a
///   neuron of layer l cannot receive an input before `T_l`. Those that pass stay deferred
///   (`G_l = T_l`); the others get their exact prediction and are queued. After the last
///   input of a layer, `T_l = +inf` and every remaining neuron is predicted exactly once.
///
/// A spike is popped only when no guard is earlier than it, so every deferred neuron fires
/// strictly later than the popped spike: the pop order is that of a queue holding every
/// prediction, and the spikes, their times and causal sets are bit for bit those of the eager
/// engine (and of the analytic solver).
///
/// # Dense layers
///
/// A layer whose every neuron is fed by the same sources, each reaching exactly the layer's
/// neurons (a fully connected layer, as [`crate::event::EventNet::from_model`] builds), keeps
/// one `t_ref` and one `t_last` for all its neurons: they have had the same inputs in the same
/// order, so the per-neuron values would be equal. An input is then one sweep over the layer,
/// `S_j += w_j`, `A_j += w_j exp(x)` with `exp(x)` (and a rebase) computed once, and test (1)
/// at `T = t` in the same pass; no branch per neuron, so it vectorises. A neuron that fires
/// gets `S = -inf`: the sweep may go on adding to it (its sums are never read again; its
/// causal set was recorded when it fired) and it never passes a test. When a neuron of the
/// layer is queued at the input's time or earlier (it ignores the input), the sweep looks at
/// each neuron's status instead. A layer sharing one reference time (a convolution's) takes
/// a spike run by run of consecutive targets (a position's channels), with the layer's
/// factors computed once per spike and no branch per neuron (`Engine::deliver_shared`), and
/// is re-tested by blocks as a dense layer is; other layers (sparse, skip connections) go
/// target by target with each target's own factors and keep a watch list.
pub struct Engine<'n> {
    pub(super) net: &'n CompiledNet,
    // Per neuron (dense id), structure of arrays.
    /// S (`-inf` once fired, which keeps a fired neuron of a dense layer out of every test).
    pub(super) s: Vec<f64>,
    /// A, relative to `t_ref`.
    pub(super) a: Vec<f64>,
    /// `t_ref` (outside dense layers).
    pub(super) t_ref: Vec<f64>,
    /// Last integrated input's time (outside dense layers).
    pub(super) t_last: Vec<f64>,
    /// The exact prediction, when the status is `Exact` (for inputs: their time).
    pub(super) pred: Vec<f64>,
    /// Inputs integrated (the causal set's size once fired).
    pub(super) n_in: Vec<u32>,
    /// In a layer sharing its reference time: one past the position of the last integrated
    /// input among the layer's inputs (the causal bound that layer records).
    pub(super) bound: Vec<u32>,
    pub(super) status: Vec<Status>,
    /// On its layer's watch list (layers neither dense nor sharing a reference time).
    pub(super) watched: Vec<bool>,
    pub(super) queue: SpikeQueue,
    pub(super) layers: Vec<LayerState>,
    /// Per neuron: the dense layer its synapses are exactly (a row of it), or `GENERAL`.
    pub(super) row_of: Vec<u32>,
    /// Per neuron: the layers its synapses reach, `lo..hi` (empty for none).
    pub(super) reach: Vec<(u32, u32)>,
    /// Scratch of [`Engine::deliver_shared`]: the targets to predict exactly.
    pub(super) to_predict: Vec<u32>,
    /// Neuron i's targets as runs of consecutive ids `(first id, length)`:
    /// `runs[run_off[i]..run_off[i + 1]]`, in target order (a convolution's source reaches
    /// one run of its layer's channels per output position).
    pub(super) runs: Vec<(u32, u32)>,
    pub(super) run_off: Vec<u32>,
}

impl<'n> Engine<'n> {
    /// An engine for `net`.
    pub fn new(net: &'n CompiledNet) -> Self {
        let n = net.len();
        let nl = net.n_layers();
        let reach: Vec<(u32, u32)> = (0..n)
            .map(|i| {
                let layers = targets(net, i).iter().map(|&j| net.layer[j as usize]);
                match (layers.clone().min(), layers.max()) {
                    (Some(lo), Some(hi)) => (lo, hi + 1),
                    _ => (0, 0),
                }
            })
            .collect();
        let (layers, row_of) = layer_states(net);
        let (runs, run_off) = target_runs(net);
        Engine {
            net,
            s: vec![0.0; n],
            a: vec![0.0; n],
            t_ref: vec![0.0; n],
            t_last: vec![0.0; n],
            pred: vec![0.0; n],
            n_in: vec![0; n],
            bound: vec![0; n],
            status: vec![Status::Silent; n],
            watched: vec![false; n],
            queue: SpikeQueue::new(nl),
            layers,
            row_of,
            reach,
            to_predict: Vec::new(),
            runs,
            run_off,
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
        check_inputs(net, inputs)?;
        self.reset();
        for (i, &t) in inputs.iter().enumerate() {
            if t.is_finite() {
                self.status[i] = Status::Exact;
                self.pred[i] = t;
                self.queue.push(0, t, i as u32);
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
        let mut now = f64::NEG_INFINITY;
        let mut factor = InputFactor::NONE;
        while let Some((id, t)) = self.next_spike() {
            debug_assert!(t >= now, "time order: popped {t} after {now}");
            now = t;
            let iu = id as usize;
            self.status[iu] = Status::Fired;
            self.s[iu] = f64::NEG_INFINITY;
            let layer = net.layer[iu] as usize;
            let fan = net.fan_out(id) as u64;
            sum.fired[layer] += 1;
            sum.synaptic_events[layer] += fan;
            let causal = match (layer, &self.layers[layer].shared) {
                (0, _) => 0,
                (_, Some(_)) => self.bound[iu],
                (_, None) => self.n_in[iu],
            };
            rec.spike(id, t, causal);
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
            if self
                .layers
                .get(layer + 1)
                .is_some_and(|l| l.shared.is_some())
            {
                self.shared_input(layer + 1, t);
            }
            match self.row_of[iu] {
                GENERAL if self.feeds_shared(iu, layer) => self.deliver_shared(layer + 1, iu, t),
                GENERAL => self.deliver(iu, t, &mut factor),
                l => self.deliver_dense(l as usize, iu, t),
            }
        }
        Ok(sum)
    }

    /// Every neuron back to rest, queue and guards empty.
    fn reset(&mut self) {
        self.s.fill(0.0);
        self.a.fill(0.0);
        self.n_in.fill(0);
        self.status.fill(Status::Silent);
        self.watched.fill(false);
        self.queue.clear();
        for l in &mut self.layers {
            l.guard = f64::INFINITY;
            l.watch.clear();
            if let Some(d) = &mut l.dense {
                d.started = false;
            }
            if let Some(d) = &mut l.shared {
                d.started = false;
                d.delivered = 0;
            }
        }
    }

    /// Predicts (and queues) every neuron of layer `l` in `to_predict`, which it empties.
    /// The order does not matter: the queue orders by time and id, not by push.
    pub(super) fn predict_due(&mut self, l: usize) {
        let mut due = std::mem::take(&mut self.to_predict);
        for &j in &due {
            self.predict(j as usize, l);
        }
        due.clear();
        self.to_predict = due;
    }

    /// Neuron `j` (of layer `l`) predicted exactly, as `on_input` does,
    /// `max(t_ref + tau ln(A / (S - theta)), t_last)` (`S > theta`), and queued.
    pub(super) fn predict(&mut self, j: usize, l: usize) {
        let (theta, tau) = (self.net.params.theta, self.net.params.tau_syn);
        let (t_ref, t_last) = match &self.layers[l].dense {
            Some(d) => (d.t_ref, d.t_last),
            None => (self.t_ref[j], self.t_last[j]),
        };
        let tp = crossing_time(self.s[j], self.a[j], theta, t_ref, tau, t_last);
        self.pred[j] = tp;
        self.status[j] = Status::Exact;
        self.queue.push(l, tp, j as u32);
    }

    /// The next spike in `(time, id)` order, popped; `None` when nothing can fire any more.
    ///
    /// The earliest queued spike is popped only if no layer's guard is earlier; otherwise the
    /// lowest such layer's deferred neurons are re-tested first ([`Engine::retest`]), which may
    /// queue earlier spikes.
    pub(super) fn next_spike(&mut self) -> Option<(u32, f64)> {
        loop {
            let head = self.head();
            let t_head = head.map_or(f64::INFINITY, |(_, t, _)| t);
            match (1..self.layers.len()).find(|&l| t_head > self.layers[l].guard) {
                Some(l) => self.retest(l),
                None => {
                    let (layer, t, id) = head?;
                    self.queue.pop(layer);
                    return Some((id, t));
                }
            }
        }
    }

    /// The earliest valid queued spike `(layer, time, id)`: the top of the global priority
    /// queue, stale entries (of neurons that were re-predicted or have fired) dropped on the
    /// way.
    #[inline]
    pub(super) fn head(&mut self) -> Option<(usize, f64, u32)> {
        loop {
            let (l, key, id) = self.queue.peek_min()?;
            if self.live(key, id) {
                return Some((l, self.pred[id as usize], id));
            }
            self.queue.pop(l);
        }
    }

    /// The earliest valid entry of layer `l`'s queue, stale entries dropped.
    #[inline]
    pub(super) fn valid_top(&mut self, l: usize) -> Option<(f64, u32)> {
        while let Some((key, id)) = self.queue.peek(l) {
            if self.live(key, id) {
                return Some((self.pred[id as usize], id));
            }
            self.queue.pop(l);
        }
        None
    }

    /// Whether the queue entry `(key, id)` is live: its neuron is still pending at exactly
    /// that time.
    #[inline(always)]
    pub(super) fn live(&self, key: u64, id: u32) -> bool {
        let j = id as usize;
        self.status[j] == Status::Exact && self.pred[j].order_key() == key
    }
}
