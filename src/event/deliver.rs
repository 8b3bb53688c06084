//! How a spike reaches its targets: one by one (general layers), run by run of consecutive
//! targets with the layer's factors computed once (a layer sharing one reference time, a
//! convolution's), or in one sweep over the layer (a dense layer). Every path integrates with
//! [`crate::neuron::integrate`] and classifies the target with test (1) of
//! [`super::Engine`]'s docs.

use super::engine::Engine;
use super::layers::{InputFactor, Status};
// `holds`: test (1), `A > exp((T - t_ref)/tau) k(T) (S - theta)`.
use crate::neuron::{arrival, integrate, provably_later as holds};

impl Engine<'_> {
    /// A spike at `t` of the layer before layer `l`, which shares one reference time: every
    /// spike of that layer counts as one of `l`'s inputs (whether or not it reaches a neuron),
    /// the first sets the reference time, a later one past `REBASE_LIMIT` rebases the whole
    /// layer (as `on_input` rebases one neuron), before any neuron integrates it.
    pub(super) fn shared_input(&mut self, l: usize, t: f64) {
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
    pub(super) fn deliver(&mut self, src: usize, t: f64, factor: &mut InputFactor) {
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
                // Test (1) at T = t: the spike comes after t. Deferred, guard t. Only a
                // general layer keeps a watch list: a dense one or one sharing its
                // reference time is re-tested by blocks over all its neurons.
                self.status[j] = Status::Deferred;
                let layer = &mut self.layers[net.layer[j] as usize];
                let listed = layer.dense.is_none() && layer.shared.is_none();
                if listed && !self.watched[j] {
                    self.watched[j] = true;
                    layer.watch.push(tg);
                }
            } else {
                self.predict(j, net.layer[j] as usize);
            }
        }
    }

    /// Whether neuron `src` of layer `layer` reaches only layer `layer + 1`, a layer sharing
    /// one reference time (a convolution's).
    #[inline]
    pub(super) fn feeds_shared(&self, src: usize, layer: usize) -> bool {
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
    pub(super) fn deliver_shared(&mut self, l: usize, src: usize, t: f64) {
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
    pub(super) fn deliver_dense(&mut self, l: usize, src: usize, t: f64) {
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
}
