//! The simulation loop.
//!
//! # Deferred predictions
//!
//! Each synaptic event updates its target's running sums exactly as
//! [`crate::neuron::NeuronState::on_input`] does, operation for operation:
//!
//! ```text
//! x = (t - t_ref)/tau                 (t_ref = t for a neuron's first input)
//! if x > REBASE_LIMIT:  A <- A exp(-x),  t_ref <- t,  x <- 0
//! S <- S + w,   A <- A + w exp(x)
//! ```
//!
//! What it does not do on every event is the prediction
//! `t_pred = max(t_ref + tau ln(A / (S - theta)), t_last)` (`t_last`: the last integrated
//! input's time) and the queue update that goes with it. A neuron's prediction matters in two
//! places only: when its spike is the earliest in the network, and when the next input
//! reaching it could come at or after its spike (that input is then ignored). Both are
//! answered, most of the time, by a test without `ln` or division against a time `T`:
//!
//! ```text
//! A > exp((T - t_ref)/tau) k(T) (S - theta),   S > theta                         (1)
//! k(T) = 1 + TIE_MARGIN + 4 eps (|T| + |t_ref|)/tau
//! ```
//!
//! Mathematically (1) with k = 1 is `t_ref + tau ln(A/(S - theta)) > T`. The factor k covers
//! the rounding of every operation on both sides (the exp and the products in (1), the
//! division, ln, product and sum of the prediction: a few ulps of z, plus ulps of the absolute
//! times `T` and `t_ref` relative to tau), so that when (1) holds in floating point, the
//! prediction the engine would compute is strictly later than `T`. When (1) fails, the
//! prediction is computed exactly (the same operations as `on_input`) and queued.
//!
//! A neuron whose prediction is known to be later than `T` this way is *deferred*: it is on
//! its layer's watch list, and the layer's guard `G_l` is a time no later than any deferred
//! neuron's spike. Two tests use (1):
//!
//! - right after an input at `t` (with `T = t`; `exp((t - t_ref)/tau)` is the factor just
//!   used): the prediction is later than `t`, so a second input at the same time is
//!   integrated, as `on_input` would (its prediction is `> t`). The neuron is deferred with
//!   guard `t`, which lets every other spike at time `t` (lower ids: earlier layers) pop
//!   first without a single prediction: simultaneous input spikes are delivered as a batch.
//! - when the earliest queued spike is later than a layer's guard (`G_l < t_next`): every
//!   deferred neuron of layer l is tested against `T_l`, the earliest time any neuron of an
//!   earlier layer can fire (the earliest queued spike of those layers and their guards); a
//!   neuron of layer l cannot receive an input before `T_l`. Those that pass stay deferred
//!   (`G_l = T_l`); the others get their exact prediction and are queued. After the last
//!   input of a layer, `T_l = +inf` and every remaining neuron is predicted exactly once.
//!
//! A spike is popped only when no guard is earlier than it, so every deferred neuron fires
//! strictly later than the popped spike: the pop order is that of a queue holding every
//! prediction, and the spikes, their times and causal sets are bit for bit those of the eager
//! engine (and of the analytic solver).

use super::network::CompiledNet;
use super::queue::LayerQueue;
use super::recorder::Recorder;
use crate::error::{Error, Result};
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

/// What is known of a neuron's pending spike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    /// No spike pending: no input yet, or `S <= theta` (V tends to S and never crosses).
    Silent,
    /// The exact prediction is in `Cell::pred` and queued.
    Exact,
    /// Deferred: the prediction is later than the layer's guard (on the watch list).
    Deferred,
    /// Fired; ignores every later input.
    Fired,
}

/// One neuron's running state (the fields of [`crate::neuron::NeuronState`], plus what the
/// deferral needs).
#[derive(Clone, Copy, Debug)]
struct Cell {
    /// S = sum of the weights integrated so far.
    s: f64,
    /// A = sum of w_i exp((t_i - t_ref)/tau) over the inputs integrated so far.
    a: f64,
    /// Reference time of `a`.
    t_ref: f64,
    /// Time of the last integrated input (a prediction is never earlier).
    t_last: f64,
    /// The exact predicted spike time, when `status` is `Exact`.
    pred: f64,
    /// Inputs integrated (the causal set's size once the neuron fires).
    n_in: u32,
    status: Status,
    /// On its layer's watch list.
    watched: bool,
}

impl Cell {
    const NEW: Cell = Cell {
        s: 0.0,
        a: 0.0,
        t_ref: 0.0,
        t_last: 0.0,
        pred: 0.0,
        n_in: 0,
        status: Status::Silent,
        watched: false,
    };

    /// The exact prediction, as `on_input` computes it:
    /// `max(t_ref + tau ln(A / (S - theta)), t_last)` (`S > theta`).
    #[inline]
    fn predict(&self, theta: f64, tau: f64) -> f64 {
        let z = self.a / (self.s - theta);
        (self.t_ref + tau * z.ln()).max(self.t_last)
    }
}

/// `exp((T - t_ref)/tau) k(T)` of test (1), for one `(T, t_ref)` pair; memoised, since every
/// neuron of a fully connected layer has the same `t_ref`.
#[derive(Clone, Copy)]
struct BoundFactor {
    t: f64,
    t_ref: f64,
    ek: f64,
}

impl BoundFactor {
    const NONE: BoundFactor = BoundFactor {
        t: f64::NAN,
        t_ref: f64::NAN,
        ek: 0.0,
    };

    /// `k(T)` of test (1), from `exp((T - t_ref)/tau)`.
    #[inline]
    fn of(e: f64, t: f64, t_ref: f64, tau: f64) -> f64 {
        let k = 1.0 + f64::TIE_MARGIN + 4.0 * f64::EPSILON * (t.abs() + t_ref.abs()) / tau;
        e * k
    }

    /// `exp((t - t_ref)/tau) k(t)`, computed again only when `(t, t_ref)` changes.
    #[inline]
    fn get(&mut self, t: f64, t_ref: f64, tau: f64) -> f64 {
        if t != self.t || t_ref != self.t_ref {
            let e = ((t - t_ref) / tau).exp();
            *self = BoundFactor {
                t,
                t_ref,
                ek: Self::of(e, t, t_ref, tau),
            };
        }
        self.ek
    }
}

/// The factors of one input at time `t` for neurons of reference time `t_ref`: the rebase
/// factor `exp(-x)` if `x > REBASE_LIMIT`, then `exp(x)` (1 after a rebase) and the test
/// factor of (1) at `T = t`. Memoised like [`BoundFactor`].
#[derive(Clone, Copy)]
struct InputFactor {
    t: f64,
    t_ref: f64,
    rebase: Option<f64>,
    e: f64,
    ek: f64,
}

impl InputFactor {
    const NONE: InputFactor = InputFactor {
        t: f64::NAN,
        t_ref: f64::NAN,
        rebase: None,
        e: 0.0,
        ek: 0.0,
    };

    #[inline]
    fn get(&mut self, t: f64, t_ref: f64, tau: f64) -> &InputFactor {
        if t != self.t || t_ref != self.t_ref {
            // The operations of `on_input`, in its order.
            let mut x = (t - t_ref) / tau;
            let mut rebase = None;
            let mut tr = t_ref;
            if x > f64::REBASE_LIMIT {
                rebase = Some((-x).exp());
                tr = t;
                x = 0.0;
            }
            let e = x.exp();
            *self = InputFactor {
                t,
                t_ref,
                rebase,
                e,
                ek: BoundFactor::of(e, t, tr, tau),
            };
        }
        self
    }
}

/// Per layer: the deferred neurons and their guard.
#[derive(Clone, Debug, Default)]
struct Watch {
    /// Neurons that may be deferred (entries whose neuron left that state are dropped at the
    /// next re-test).
    list: Vec<u32>,
    /// No deferred neuron of the layer fires at or before this time.
    guard: f64,
}

/// The discrete-event engine: state for one network, reused sample after sample.
pub struct Engine<'n> {
    net: &'n CompiledNet,
    cells: Vec<Cell>,
    queue: LayerQueue,
    watch: Vec<Watch>,
    /// Layers reached by each neuron's synapses: `lo..hi` (empty for none).
    reach: Vec<(u32, u32)>,
}

impl<'n> Engine<'n> {
    /// An engine for `net`.
    pub fn new(net: &'n CompiledNet) -> Self {
        let n = net.len();
        let nl = net.n_layers();
        Engine {
            net,
            cells: vec![Cell::NEW; n],
            queue: LayerQueue::new(nl),
            watch: vec![Watch::default(); nl],
            reach: (0..n)
                .map(|i| {
                    let tg = &net.targets[net.offsets[i]..net.offsets[i + 1]];
                    let layers = tg.iter().map(|&j| net.layer[j as usize]);
                    match (layers.clone().min(), layers.max()) {
                        (Some(lo), Some(hi)) => (lo, hi + 1),
                        _ => (0, 0),
                    }
                })
                .collect(),
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
        self.cells.iter_mut().for_each(|c| *c = Cell::NEW);
        self.queue.clear();
        for w in &mut self.watch {
            w.list.clear();
            w.guard = f64::INFINITY;
        }
        for (i, &t) in inputs.iter().enumerate() {
            if t.is_finite() {
                let c = &mut self.cells[i];
                c.status = Status::Exact;
                c.pred = t;
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
        let theta = net.params.theta;
        let tau = net.params.tau_syn;
        let mut now = f64::NEG_INFINITY;
        let mut factor = InputFactor::NONE;
        while let Some((id, t)) = self.next_spike() {
            debug_assert!(t >= now, "time order: popped {t} after {now}");
            now = t;
            let iu = id as usize;
            self.cells[iu].status = Status::Fired;
            let layer = net.layer[iu] as usize;
            let fan = net.fan_out(id) as u64;
            sum.fired[layer] += 1;
            sum.synaptic_events[layer] += fan;
            rec.spike(id, t, if layer == 0 { 0 } else { self.cells[iu].n_in });
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
            // Every neuron this spike defers has its spike after t: the guards of the
            // layers it reaches come down to t (at most; a layer may have no new deferral).
            let (lo, hi) = self.reach[iu];
            for w in &mut self.watch[lo as usize..hi as usize] {
                w.guard = w.guard.min(t);
            }
            let (a, b) = (net.offsets[iu], net.offsets[iu + 1]);
            for (&tg, &w) in net.targets[a..b].iter().zip(&net.weights[a..b]) {
                let c = &mut self.cells[tg as usize];
                let st = c.status;
                // Fired, or the pending spike comes no later than this input: ignored.
                if (st == Status::Fired) | ((st == Status::Exact) & (c.pred <= t)) {
                    continue;
                }
                // Integrate: the operations of `NeuronState::on_input`, in its order.
                if c.n_in == 0 {
                    c.t_ref = t;
                }
                let f = factor.get(t, c.t_ref, tau);
                if let Some(r) = f.rebase {
                    c.a *= r;
                    c.t_ref = t;
                }
                c.s += w;
                c.a += w * f.e;
                c.n_in += 1;
                c.t_last = t;
                let d = c.s - theta;
                let crossing = d > 0.0;
                // `S <= theta`: no crossing, nothing pending. Else test (1) at T = t: the
                // spike comes after t, deferred (guard t); or it is predicted exactly.
                c.status = if crossing {
                    Status::Deferred
                } else {
                    Status::Silent
                };
                if crossing & !(c.a > f.ek * d) {
                    c.pred = c.predict(theta, tau);
                    c.status = Status::Exact;
                    self.queue.push(net.layer[tg as usize] as usize, c.pred, tg);
                } else if crossing & !c.watched {
                    c.watched = true;
                    self.watch[net.layer[tg as usize] as usize].list.push(tg);
                }
            }
        }
        Ok(sum)
    }

    /// The next spike in `(time, id)` order, popped; `None` when nothing can fire any more.
    ///
    /// The earliest queued spike is popped only if no layer's guard is earlier; otherwise the
    /// lowest such layer's deferred neurons are re-tested first ([`Engine::retest`]), which may
    /// queue earlier spikes.
    fn next_spike(&mut self) -> Option<(u32, f64)> {
        loop {
            let head = self.head();
            let t_head = head.map_or(f64::INFINITY, |(_, t, _)| t);
            let stale = (1..self.watch.len())
                .find(|&l| !self.watch[l].list.is_empty() && t_head > self.watch[l].guard);
            match stale {
                Some(l) => self.retest(l),
                None => {
                    let (layer, t, id) = head?;
                    self.queue.pop(layer);
                    return Some((id, t));
                }
            }
        }
    }

    /// The earliest valid queued spike `(layer, time, id)`; stale entries (of neurons that
    /// were re-predicted or have fired) are dropped on the way.
    fn head(&mut self) -> Option<(usize, f64, u32)> {
        let mut best: Option<(usize, f64, u32)> = None;
        for l in 0..self.watch.len() {
            if let Some((t, id)) = self.valid_top(l) {
                if best.is_none_or(|(_, bt, bid)| t < bt || (t == bt && id < bid)) {
                    best = Some((l, t, id));
                }
            }
        }
        best
    }

    /// The earliest valid entry of layer `l`'s queue, stale entries dropped.
    #[inline]
    fn valid_top(&mut self, l: usize) -> Option<(f64, u32)> {
        while let Some((key, id)) = self.queue.peek(l) {
            let c = &self.cells[id as usize];
            if c.status == Status::Exact && c.pred.order_key() == key {
                return Some((c.pred, id));
            }
            self.queue.pop(l);
        }
        None
    }

    /// Re-tests layer `l`'s deferred neurons against `T_l`, the earliest time a neuron of an
    /// earlier layer can fire (none of them can receive an input before): those that pass
    /// test (1) stay deferred with guard `T_l`, the others are predicted exactly and queued.
    fn retest(&mut self, l: usize) {
        let mut t_l = f64::INFINITY;
        for lower in 0..l {
            if let Some((t, _)) = self.valid_top(lower) {
                t_l = t_l.min(t);
            }
            if !self.watch[lower].list.is_empty() {
                t_l = t_l.min(self.watch[lower].guard);
            }
        }
        let (theta, tau) = (self.net.params.theta, self.net.params.tau_syn);
        let mut bound = BoundFactor::NONE;
        let mut list = std::mem::take(&mut self.watch[l].list);
        let cells = &mut self.cells;
        let queue = &mut self.queue;
        let mut deferred = false;
        list.retain(|&id| {
            let c = &mut cells[id as usize];
            match c.status {
                Status::Deferred => {}
                // May become deferred again: stays on the list (no push per input).
                Status::Silent => return true,
                _ => {
                    c.watched = false;
                    return false;
                }
            }
            if c.a > bound.get(t_l, c.t_ref, tau) * (c.s - theta) {
                deferred = true;
                return true;
            }
            c.pred = c.predict(theta, tau);
            c.status = Status::Exact;
            c.watched = false;
            queue.push(l, c.pred, id);
            false
        });
        // Silent neurons on the list cannot fire before their next input.
        self.watch[l].guard = if deferred { t_l } else { f64::INFINITY };
        self.watch[l].list = list;
    }
}
