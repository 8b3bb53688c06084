//! The event engine's per-neuron and per-layer bookkeeping: what is known of each neuron's
//! pending spike ([`Status`]), the memoised factors of an input and of test (1)
//! ([`InputFactor`], [`BoundFactor`]), and how each layer is served ([`LayerState`]: dense,
//! sharing one reference time, or general), worked out once per network.

use super::network::CompiledNet;
use crate::neuron::arrival;

/// What is known of a neuron's pending spike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Status {
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
pub(super) struct BoundFactor {
    pub(super) t: f64,
    pub(super) t_ref: f64,
    pub(super) ek: f64,
}

impl BoundFactor {
    pub(super) const NONE: BoundFactor = BoundFactor {
        t: f64::NAN,
        t_ref: f64::NAN,
        ek: 0.0,
    };

    /// `exp((T - t_ref)/tau) k(T)` of test (1), from `e = exp((T - t_ref)/tau)`.
    #[inline]
    pub(super) fn of(e: f64, t: f64, t_ref: f64, tau: f64) -> f64 {
        crate::neuron::bound_factor(e, t, t_ref, tau)
    }

    /// `exp((t - t_ref)/tau) k(t)`, computed again only when `(t, t_ref)` changes.
    #[inline]
    pub(super) fn get(&mut self, t: f64, t_ref: f64, tau: f64) -> f64 {
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
pub(super) struct InputFactor {
    pub(super) t: f64,
    pub(super) t_ref: f64,
    pub(super) rebase: Option<f64>,
    pub(super) e: f64,
    pub(super) ek: f64,
}

impl InputFactor {
    pub(super) const NONE: InputFactor = InputFactor {
        t: f64::NAN,
        t_ref: f64::NAN,
        rebase: None,
        e: 0.0,
        ek: 0.0,
    };

    /// The factors of `(t, t_ref)`, computed again only when they change (memoised: the
    /// targets of one spike mostly share `t_ref`).
    #[inline]
    pub(super) fn get(&mut self, t: f64, t_ref: f64, tau: f64) -> &InputFactor {
        if t != self.t || t_ref != self.t_ref {
            *self = Self::new(t, t_ref, tau);
        }
        self
    }

    pub(super) fn new(t: f64, t_ref: f64, tau: f64) -> InputFactor {
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
pub(super) struct Dense {
    pub(super) lo: usize,
    pub(super) hi: usize,
    /// Whether an input has reached the layer (`t_ref` is then set).
    pub(super) started: bool,
    /// The layer's `t_ref`.
    pub(super) t_ref: f64,
    /// The layer's last input time.
    pub(super) t_last: f64,
}

/// A layer (not dense) whose neurons share one reference time: neurons `lo..hi`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Shared {
    pub(super) lo: usize,
    pub(super) hi: usize,
    /// Whether an input has reached the layer (`t_ref` of its neurons is then set).
    pub(super) started: bool,
    /// Input spikes delivered to the layer so far.
    pub(super) delivered: u32,
}

/// Per layer: its deferred neurons and their guard.
#[derive(Clone, Debug)]
pub(super) struct LayerState {
    /// No deferred neuron of the layer fires at or before this time (+inf: none deferred).
    pub(super) guard: f64,
    /// Neurons that may be deferred, in a layer that is neither dense nor sharing one
    /// reference time (entries whose neuron left that state are dropped at the next
    /// re-test).
    pub(super) watch: Vec<u32>,
    /// The layer's shape, if dense (then every neuron of it is watched, without a list).
    pub(super) dense: Option<Dense>,
    /// The layer's neurons, if not dense and they share one reference time.
    pub(super) shared: Option<Shared>,
}

/// Neurons per block of a dense layer's re-test.
pub(super) const RETEST_BLOCK: usize = 64;

/// How one neuron's spike is delivered.
pub(super) const GENERAL: u32 = u32::MAX;

/// The synapses' targets of neuron `i`.
pub(super) fn targets(net: &CompiledNet, i: usize) -> &[u32] {
    &net.targets[net.offsets[i]..net.offsets[i + 1]]
}

/// Each layer's state (dense, sharing a reference time, or general) and, per neuron, the
/// dense layer whose row its synapses are (or `GENERAL`).
pub(super) fn layer_states(net: &CompiledNet) -> (Vec<LayerState>, Vec<u32>) {
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

/// Every neuron's targets split into maximal runs of consecutive ids, `(runs, offsets)` as
/// [`Engine`] keeps them.
pub(super) fn target_runs(net: &CompiledNet) -> (Vec<(u32, u32)>, Vec<u32>) {
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
