//! The re-test of a layer's deferred neurons against `T_l`, the earliest time an earlier
//! layer can fire (see [`super::Engine`]'s docs): by blocks over a dense layer or one sharing
//! its reference time, through the watch list elsewhere.

use super::engine::Engine;
use super::layers::{BoundFactor, Status, RETEST_BLOCK};
// `holds`: test (1), `A > exp((T - t_ref)/tau) k(T) (S - theta)`.
use crate::neuron::provably_later as holds;

impl Engine<'_> {
    /// Re-tests layer `l`'s deferred neurons against `T_l`, the earliest time a neuron of an
    /// earlier layer can fire (none of them can receive an input before): those that pass
    /// test (1) stay deferred with guard `T_l`, the others are predicted exactly and queued.
    pub(super) fn retest(&mut self, l: usize) {
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
