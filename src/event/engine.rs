//! The simulation loop.

use super::network::CompiledNet;
use super::queue::SpikeQueue;
use super::recorder::Recorder;
use crate::error::{Error, Result};
// `holds`: test (1) below, `A > exp((T - t_ref)/tau) k(T) (S - theta)`.
use crate::neuron::{arrival, crossing_time, integrate, provably_later as holds};
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
#[repr(u8)]
enum Status {
    /// No input yet, or `S <= theta` (V tends to S and never crosses). In a dense layer also
    /// `Deferred` when `S > theta` (the status is not written per input there).
    Silent,
    /// The exact prediction is in `pred` and queued.
    Exact,
    /// Deferred: the prediction is later than the layer's guard.
    Deferred,
    /// Fired; ignores every later input.
    Fired,
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

    /// `exp((T - t_ref)/tau) k(T)` of test (1), from `e = exp((T - t_ref)/tau)`.
    #[inline]
    fn of(e: f64, t: f64, t_ref: f64, tau: f64) -> f64 {
        crate::neuron::bound_factor(e, t, t_ref, tau)
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

/// The factors of one input at time `t` for neurons of reference time `t_ref`, computed as
/// `on_input` does: the rebase factor `exp(-x)` if `x = (t - t_ref)/tau > REBASE_LIMIT`,
/// then `exp(x)` (1 after a rebase), and the factor of test (1) at `T = t`.
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

    /// The factors of `(t, t_ref)`, computed again only when they change (memoised: the
    /// targets of one spike mostly share `t_ref`).
    #[inline]
    fn get(&mut self, t: f64, t_ref: f64, tau: f64) -> &InputFactor {
        if t != self.t || t_ref != self.t_ref {
            *self = Self::new(t, t_ref, tau);
        }
        self
    }

    fn new(t: f64, t_ref: f64, tau: f64) -> InputFactor {
        let (mut x, rebase) = arrival(t, t_ref, tau);
        let mut tr = t_ref;
        if rebase.is_some() {
            tr = t;
            x = 0.0;
        }
        let e = x.exp();
        InputFactor {
            t,
            t_ref,
            rebase,
            e,
            ek: BoundFactor::of(e, t, tr, tau),
        }
    }
}

/// A dense layer: neurons `lo..hi`, each fed by exactly the same sources, each of which
/// reaches exactly this layer's neurons in id order (a fully connected layer). Every neuron
/// that has not fired then has the same `t_ref` and `t_last`, kept once for the layer, and an
/// input is one sweep over the layer's rows of `S`, `A` and input counts.
#[derive(Clone, Copy, Debug)]
struct Dense {
    lo: usize,
    hi: usize,
    /// Whether an input has reached the layer (`t_ref` is then set).
    started: bool,
    /// The layer's `t_ref`.
    t_ref: f64,
    /// The layer's last input time.
    t_last: f64,
}

/// A layer (not dense) whose neurons share one reference time: neurons `lo..hi`.
#[derive(Clone, Copy, Debug)]
struct Shared {
    lo: usize,
    hi: usize,
    /// Whether an input has reached the layer (`t_ref` of its neurons is then set).
    started: bool,
    /// Input spikes delivered to the layer so far.
    delivered: u32,
}

/// Per layer: its deferred neurons and their guard.
#[derive(Clone, Debug)]
struct LayerState {
    /// No deferred neuron of the layer fires at or before this time (+inf: none deferred).
    guard: f64,
    /// Neurons that may be deferred, in a layer that is neither dense nor sharing one
    /// reference time (entries whose neuron left that state are dropped at the next
    /// re-test).
    watch: Vec<u32>,
    /// The layer's shape, if dense (then every neuron of it is watched, without a list).
    dense: Option<Dense>,
    /// The layer's neurons, if not dense and they share one reference time.
    shared: Option<Shared>,
}

/// Neurons per block of a dense layer's re-test.
const RETEST_BLOCK: usize = 64;

/// How one neuron's spike is delivered.
const GENERAL: u32 = u32::MAX;

/// The synapses' targets of neuron `i`.
fn targets(net: &CompiledNet, i: usize) -> &[u32] {
    &net.targets[net.offsets[i]..net.offsets[i + 1]]
}

/// Each layer's state (dense, sharing a reference time, or general) and, per neuron, the
/// dense layer whose row its synapses are (or `GENERAL`).
fn layer_states(net: &CompiledNet) -> (Vec<LayerState>, Vec<u32>) {
    let (n, nl) = (net.len(), net.n_layers());
    // Layer l's ids: first[l]..first[l + 1] (ids are by layer).
    let mut first = vec![0usize; nl + 1];
    for l in 0..nl {
        first[l + 1] = first[l] + net.layer_sizes[l];
    }
    // A source whose synapses are exactly layer l's neurons, in id order, is a row of l.
    let mut row_of: Vec<u32> = (0..n)
        .map(|i| {
            let tg = targets(net, i);
            let Some(&j0) = tg.first() else {
                return GENERAL;
            };
            let l = net.layer[j0 as usize] as usize;
            let whole = tg.len() == net.layer_sizes[l]
                && tg
                    .iter()
                    .enumerate()
                    .all(|(k, &j)| j as usize == first[l] + k);
            if whole {
                l as u32
            } else {
                GENERAL
            }
        })
        .collect();
    // Layer l is dense iff every neuron of it has exactly as many synapses in as l has
    // rows (so that all of its synapses come from its rows).
    let mut fan_in = vec![0usize; n];
    net.targets.iter().for_each(|&j| fan_in[j as usize] += 1);
    let mut rows = vec![0usize; nl];
    row_of
        .iter()
        .filter(|&&l| l != GENERAL)
        .for_each(|&l| rows[l as usize] += 1);
    let layers: Vec<LayerState> = (0..nl)
        .map(|l| {
            let ids = first[l]..first[l + 1];
            let dense = l > 0 && rows[l] > 0 && ids.clone().all(|j| fan_in[j] == rows[l]);
            LayerState {
                guard: f64::INFINITY,
                watch: Vec::new(),
                dense: dense.then_some(Dense {
                    lo: ids.start,
                    hi: ids.end,
                    started: false,
                    t_ref: 0.0,
                    t_last: 0.0,
                }),
                shared: (!dense && net.shared_ref[l]).then_some(Shared {
                    lo: ids.start,
                    hi: ids.end,
                    started: false,
                    delivered: 0,
                }),
            }
        })
        .collect();
    for r in &mut row_of {
        if *r != GENERAL && layers[*r as usize].dense.is_none() {
            *r = GENERAL;
        }
    }
    (layers, row_of)
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
    net: &'n CompiledNet,
    // Per neuron (dense id), structure of arrays.
    /// S (`-inf` once fired, which keeps a fired neuron of a dense layer out of every test).
    s: Vec<f64>,
    /// A, relative to `t_ref`.
    a: Vec<f64>,
    /// `t_ref` (outside dense layers).
    t_ref: Vec<f64>,
    /// Last integrated input's time (outside dense layers).
    t_last: Vec<f64>,
    /// The exact prediction, when the status is `Exact` (for inputs: their time).
    pred: Vec<f64>,
    /// Inputs integrated (the causal set's size once fired).
    n_in: Vec<u32>,
    /// In a layer sharing its reference time: one past the position of the last integrated
    /// input among the layer's inputs (the causal bound that layer records).
    bound: Vec<u32>,
    status: Vec<Status>,
    /// On its layer's watch list (layers neither dense nor sharing a reference time).
    watched: Vec<bool>,
    queue: SpikeQueue,
    layers: Vec<LayerState>,
    /// Per neuron: the dense layer its synapses are exactly (a row of it), or `GENERAL`.
    row_of: Vec<u32>,
    /// Per neuron: the layers its synapses reach, `lo..hi` (empty for none).
    reach: Vec<(u32, u32)>,
    /// Scratch of [`Engine::deliver_shared`]: the targets to predict exactly.
    to_predict: Vec<u32>,
    /// Neuron i's targets as runs of consecutive ids `(first id, length)`:
    /// `runs[run_off[i]..run_off[i + 1]]`, in target order (a convolution's source reaches
    /// one run of its layer's channels per output position).
    runs: Vec<(u32, u32)>,
    run_off: Vec<u32>,
}

/// Every neuron's targets split into maximal runs of consecutive ids, `(runs, offsets)` as
/// [`Engine`] keeps them.
fn target_runs(net: &CompiledNet) -> (Vec<(u32, u32)>, Vec<u32>) {
    let mut runs = Vec::new();
    let mut off = vec![0u32];
    for i in 0..net.len() {
        let first = runs.len();
        for &j in targets(net, i) {
            match runs[first..].last_mut() {
                Some((j0, len)) if *j0 + *len == j => *len += 1,
                _ => runs.push((j, 1)),
            }
        }
        off.push(runs.len() as u32);
    }
    (runs, off)
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

    /// A spike at `t` of the layer before layer `l`, which shares one reference time: every
    /// spike of that layer counts as one of `l`'s inputs (whether or not it reaches a neuron),
    /// the first sets the reference time, a later one past `REBASE_LIMIT` rebases the whole
    /// layer (as `on_input` rebases one neuron), before any neuron integrates it.
    fn shared_input(&mut self, l: usize, t: f64) {
        let tau = self.net.params.tau_syn;
        let Some(sh) = &mut self.layers[l].shared else {
            return;
        };
        let ids = sh.lo..sh.hi;
        sh.delivered += 1;
        if !sh.started {
            sh.started = true;
            self.t_ref[ids].fill(t);
        } else {
            if let (_, Some(r)) = arrival(t, self.t_ref[sh.lo], tau) {
                self.a[ids.clone()].iter_mut().for_each(|a| *a *= r);
                self.t_ref[ids].fill(t);
            }
        }
    }

    /// Delivers neuron `src`'s spike at `t` to each of its targets, one by one.
    fn deliver(&mut self, src: usize, t: f64, factor: &mut InputFactor) {
        let net = self.net;
        let (theta, tau) = (net.params.theta, net.params.tau_syn);
        // Every neuron this spike defers has its spike after t: the guards of the layers it
        // reaches come down to t (at most; a layer may have no new deferral).
        let (lo, hi) = self.reach[src];
        for l in &mut self.layers[lo as usize..hi as usize] {
            l.guard = l.guard.min(t);
        }
        let (a, b) = (net.offsets[src], net.offsets[src + 1]);
        for (&tg, &w) in net.targets[a..b].iter().zip(&net.weights[a..b]) {
            let j = tg as usize;
            match self.status[j] {
                Status::Fired => continue,
                // The pending spike comes no later than this input: ignored.
                Status::Exact if self.pred[j] <= t => continue,
                _ => {}
            }
            // Integrate: the operations of `NeuronState::on_input`, in its order (in a layer
            // sharing its reference time, `t_ref` was set above).
            if self.n_in[j] == 0 && self.layers[net.layer[j] as usize].shared.is_none() {
                self.t_ref[j] = t;
            }
            let f = factor.get(t, self.t_ref[j], tau);
            if let Some(r) = f.rebase {
                self.a[j] *= r;
                self.t_ref[j] = t;
            }
            integrate(&mut self.s[j], &mut self.a[j], w, f.e);
            self.n_in[j] += 1;
            self.t_last[j] = t;
            if let Some(sh) = &self.layers[net.layer[j] as usize].shared {
                self.bound[j] = sh.delivered;
            }
            let d = self.s[j] - theta;
            if d <= 0.0 {
                // No crossing (`S <= theta`): nothing pending, nothing queued.
                self.status[j] = Status::Silent;
            } else if holds(self.a[j], f.ek, d) {
                // Test (1) at T = t: the spike comes after t. Deferred, guard t.
                self.status[j] = Status::Deferred;
                if !self.watched[j] {
                    self.watched[j] = true;
                    self.layers[net.layer[j] as usize].watch.push(tg);
                }
            } else {
                self.predict(j, net.layer[j] as usize);
            }
        }
    }

    /// Whether neuron `src` of layer `layer` reaches only layer `layer + 1`, a layer sharing
    /// one reference time (a convolution's).
    #[inline]
    fn feeds_shared(&self, src: usize, layer: usize) -> bool {
        let next = layer as u32 + 1;
        self.reach[src] == (next, next + 1)
            && self.layers[next as usize]
                .shared
                .is_some_and(|sh| sh.started)
    }

    /// Delivers neuron `src`'s spike at `t` to its targets, all in layer `l`, whose neurons
    /// share one reference time ([`Self::feeds_shared`]): [`Self::deliver`]'s operations,
    /// with the layer's factors and bookkeeping looked up once, run by run of consecutive
    /// targets (a convolution's channels at one position). [`Self::shared_input`] has already
    /// set or rebased the layer's reference time for this spike, so `x = (t - t_ref)/tau` is
    /// within `REBASE_LIMIT` and no neuron rebases here.
    fn deliver_shared(&mut self, l: usize, src: usize, t: f64) {
        crate::cpu::best(
            #[inline(always)]
            || self.deliver_shared_body(l, src, t),
        )
    }

    /// [`Self::deliver_shared`]'s body, inlined into the copy for each instruction set.
    ///
    /// Each run goes in one sweep without a branch per neuron: a neuron that ignores the
    /// input (fired, or queued no later than `t`) keeps every value (selected, not branched
    /// around); the others integrate and become `Silent` (`S <= theta`) or `Deferred`. Only
    /// a run where some neuron fails test (1) at `T = t` is gone through again, neuron by
    /// neuron, to predict it exactly. Deferred neurons need no watch list: the layer is
    /// re-tested by blocks, as a dense one ([`Self::retest`]).
    #[inline(always)]
    fn deliver_shared_body(&mut self, l: usize, src: usize, t: f64) {
        let net = self.net;
        let (theta, tau) = (net.params.theta, net.params.tau_syn);
        let sh = self.layers[l]
            .shared
            .expect("a layer sharing its reference time");
        let f = InputFactor::new(t, self.t_ref[sh.lo], tau);
        debug_assert!(f.rebase.is_none(), "the layer was rebased for this spike");
        let (e, ek, delivered) = (f.e, f.ek, sh.delivered);
        let Engine {
            s,
            a,
            n_in,
            t_last,
            bound,
            status,
            pred,
            layers,
            to_predict,
            runs,
            run_off,
            ..
        } = self;
        let layer = &mut layers[l];
        layer.guard = layer.guard.min(t);
        let mut wo = net.offsets[src];
        for &(j0, len) in &runs[run_off[src] as usize..run_off[src + 1] as usize] {
            let (j0, len) = (j0 as usize, len as usize);
            let w = &net.weights[wo..wo + len];
            wo += len;
            let r = j0..j0 + len;
            let (s, a, n_in) = (&mut s[r.clone()], &mut a[r.clone()], &mut n_in[r.clone()]);
            let (t_last, bound) = (&mut t_last[r.clone()], &mut bound[r.clone()]);
            let (status, pred) = (&mut status[r.clone()], &pred[r.clone()]);
            let mut again = false;
            for k in 0..len {
                let st = status[k];
                // The pending spike comes no later than this input, or it has fired: ignored.
                let skip = st == Status::Fired || (st == Status::Exact && pred[k] <= t);
                let (mut s1, mut a1) = (s[k], a[k]);
                integrate(&mut s1, &mut a1, w[k], e);
                let d = s1 - theta;
                let open = !skip & (d > 0.0);
                again |= open & !holds(a1, ek, d);
                s[k] = if skip { s[k] } else { s1 };
                a[k] = if skip { a[k] } else { a1 };
                n_in[k] += u32::from(!skip);
                t_last[k] = if skip { t_last[k] } else { t };
                bound[k] = if skip { bound[k] } else { delivered };
                status[k] = match (skip, d > 0.0) {
                    (true, _) => st,
                    (false, false) => Status::Silent,
                    (false, true) => Status::Deferred,
                };
            }
            if again {
                for k in 0..len {
                    if status[k] == Status::Deferred && !holds(a[k], ek, s[k] - theta) {
                        to_predict.push((j0 + k) as u32);
                    }
                }
            }
        }
        self.predict_due(l);
    }

    /// Delivers neuron `src`'s spike at `t` to dense layer `l`, whose every neuron it reaches:
    /// one sweep `S += w`, `A += w exp((t - t_ref)/tau)` over the layer, with the factor (and
    /// a rebase) computed once. Test (1) at `T = t` runs in the same sweep; the rare neurons
    /// that fail it are predicted exactly afterwards.
    fn deliver_dense(&mut self, l: usize, src: usize, t: f64) {
        crate::cpu::best(
            #[inline(always)]
            || self.deliver_dense_body(l, src, t),
        )
    }

    /// [`Self::deliver_dense`]'s body, inlined into the copy for each instruction set.
    #[inline(always)]
    fn deliver_dense_body(&mut self, l: usize, src: usize, t: f64) {
        let net = self.net;
        let (theta, tau) = (net.params.theta, net.params.tau_syn);
        // A neuron of the layer whose exact prediction is no later than t ignores the input;
        // only then does the sweep need to look at statuses.
        let exact_due = self.valid_top(l).is_some_and(|(tp, _)| tp <= t);
        let exact_any = self.valid_top(l).is_some();
        let d = self.layers[l].dense.as_mut().expect("a dense layer");
        if !d.started {
            d.started = true;
            d.t_ref = t;
        }
        let (lo, hi) = (d.lo, d.hi);
        let f = InputFactor::new(t, d.t_ref, tau);
        if let Some(r) = f.rebase {
            self.a[lo..hi].iter_mut().for_each(|a| *a *= r);
            d.t_ref = t;
        }
        d.t_last = t;
        let (e, ek) = (f.e, f.ek);
        let w = &net.weights[net.offsets[src]..net.offsets[src + 1]];
        let s = &mut self.s[lo..hi];
        let a = &mut self.a[lo..hi];
        let n_in = &mut self.n_in[lo..hi];
        let mut fails = false;
        if !exact_any {
            // No neuron of the layer is queued: every one that has not fired integrates.
            // Fired ones (S = -inf) integrate too, harmlessly (never read again) and never
            // pass the test; no branch per neuron.
            for (((s, a), n), &w) in s.iter_mut().zip(a.iter_mut()).zip(n_in).zip(w) {
                integrate(s, a, w, e);
                *n += 1;
                let d = *s - theta;
                fails |= (d > 0.0) & !holds(*a, ek, d);
            }
        } else {
            let status = &mut self.status[lo..hi];
            let pred = &self.pred[lo..hi];
            for k in 0..s.len() {
                match status[k] {
                    Status::Fired => continue,
                    Status::Exact if exact_due && pred[k] <= t => continue,
                    // Its prediction is later than t: integrates, no longer queued.
                    Status::Exact => status[k] = Status::Deferred,
                    _ => {}
                }
                integrate(&mut s[k], &mut a[k], w[k], e);
                n_in[k] += 1;
                let d = s[k] - theta;
                fails |= (d > 0.0) & !holds(a[k], ek, d);
            }
        }
        if fails {
            for j in lo..hi {
                let d = self.s[j] - theta;
                let open = matches!(self.status[j], Status::Silent | Status::Deferred);
                if open && d > 0.0 && !holds(self.a[j], ek, d) {
                    self.predict(j, l);
                }
            }
        }
        let g = &mut self.layers[l].guard;
        *g = g.min(t);
    }

    /// Predicts (and queues) every neuron of layer `l` in `to_predict`, which it empties.
    /// The order does not matter: the queue orders by time and id, not by push.
    fn predict_due(&mut self, l: usize) {
        let mut due = std::mem::take(&mut self.to_predict);
        for &j in &due {
            self.predict(j as usize, l);
        }
        due.clear();
        self.to_predict = due;
    }

    /// Neuron `j` (of layer `l`) predicted exactly, as `on_input` does,
    /// `max(t_ref + tau ln(A / (S - theta)), t_last)` (`S > theta`), and queued.
    fn predict(&mut self, j: usize, l: usize) {
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
    fn next_spike(&mut self) -> Option<(u32, f64)> {
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
    fn head(&mut self) -> Option<(usize, f64, u32)> {
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
    fn valid_top(&mut self, l: usize) -> Option<(f64, u32)> {
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
    fn live(&self, key: u64, id: u32) -> bool {
        let j = id as usize;
        self.status[j] == Status::Exact && self.pred[j].order_key() == key
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
            t_l = t_l.min(self.layers[lower].guard);
        }
        let (theta, tau) = (self.net.params.theta, self.net.params.tau_syn);
        let mut bound = BoundFactor::NONE;
        let mut deferred = false;
        // A dense layer, or one sharing its reference time: every neuron has the same t_ref.
        let block = match (&self.layers[l].dense, &self.layers[l].shared) {
            (Some(d), _) => Some((d.lo, d.hi, d.t_ref)),
            (None, Some(sh)) => Some((sh.lo, sh.hi, self.t_ref[sh.lo])),
            (None, None) => None,
        };
        if let Some((lo, hi, t_ref)) = block {
            let ek = bound.get(t_l, t_ref, tau);
            // Blocks of RETEST_BLOCK neurons, each first tested as a whole without a branch per
            // neuron (fired neurons have S = -inf and drop out); only a block with a neuron
            // that fails test (1) is gone through one by one. A neuron with S > theta that
            // is queued or passes keeps the guard finite (at worst one more re-test).
            for lo in (lo..hi).step_by(RETEST_BLOCK) {
                let hi = (lo + RETEST_BLOCK).min(hi);
                let (s, a) = (&self.s[lo..hi], &self.a[lo..hi]);
                let mut fails = false;
                for (&s, &a) in s.iter().zip(a) {
                    let dd = s - theta;
                    deferred |= dd > 0.0;
                    fails |= (dd > 0.0) & !holds(a, ek, dd);
                }
                if !fails {
                    continue;
                }
                for j in lo..hi {
                    let dd = self.s[j] - theta;
                    let open = matches!(self.status[j], Status::Silent | Status::Deferred);
                    if open && dd > 0.0 && !holds(self.a[j], ek, dd) {
                        self.predict(j, l);
                    }
                }
            }
        } else {
            let Engine {
                s,
                a,
                t_ref,
                status,
                watched,
                layers,
                to_predict,
                ..
            } = self;
            // Slices, not the vectors: their headers would be reloaded after every store.
            let (s, a, t_ref, status) = (&s[..], &a[..], &t_ref[..], &status[..]);
            let watched = &mut watched[..];
            layers[l].watch.retain(|&id| {
                let j = id as usize;
                if status[j] != Status::Deferred {
                    watched[j] = false;
                    return false;
                }
                if holds(a[j], bound.get(t_l, t_ref[j], tau), s[j] - theta) {
                    deferred = true;
                    return true;
                }
                watched[j] = false;
                to_predict.push(id);
                false
            });
            self.predict_due(l);
        }
        self.layers[l].guard = if deferred { t_l } else { f64::INFINITY };
    }
}
