//! The global spike queue: at most one pending spike per neuron, earliest first.

use crate::real::Real;
use ordered_float::OrderedFloat;
use priority_queue::PriorityQueue;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hash::{BuildHasherDefault, Hasher};

/// Hasher for dense u32 neuron ids: the id itself (ids are unique and small; no need to mix).
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | b as u64;
        }
    }
    fn write_u32(&mut self, i: u32) {
        // Spread the id over the high bits too: hashbrown uses the top 7 bits as a tag.
        self.0 = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type Key = Reverse<(OrderedFloat<f64>, u32)>;

/// Pending spikes keyed by neuron id, popped in increasing `(time, id)` order.
///
/// Complexity: `schedule`, `cancel` and `pop` are O(log n) (an indexed binary heap over a
/// hash map: `priority-queue`); `peek` is O(1).
#[derive(Clone)]
pub(crate) struct SpikeQueue {
    pq: PriorityQueue<u32, Key, BuildHasherDefault<IdHasher>>,
}

impl Default for SpikeQueue {
    fn default() -> Self {
        SpikeQueue {
            pq: PriorityQueue::with_default_hasher(),
        }
    }
}

impl SpikeQueue {
    /// An empty queue with room for `n` neurons.
    pub(crate) fn with_capacity(n: usize) -> Self {
        SpikeQueue {
            pq: PriorityQueue::with_capacity_and_default_hasher(n),
        }
    }

    /// Sets neuron `id`'s pending spike to time `t`, replacing any earlier prediction.
    #[inline]
    pub(crate) fn schedule(&mut self, id: u32, t: f64) {
        self.pq.push(id, Reverse((OrderedFloat(t), id)));
    }

    /// Removes neuron `id`'s pending spike, if any; returns its time.
    #[inline]
    pub(crate) fn cancel(&mut self, id: u32) -> Option<f64> {
        self.pq.remove(&id).map(|(_, Reverse((t, _)))| t.0)
    }

    /// Removes and returns the earliest pending spike `(id, time)` (ties: lowest id).
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<(u32, f64)> {
        self.pq.pop().map(|(id, Reverse((t, _)))| (id, t.0))
    }

    /// The earliest pending spike without removing it.
    pub(crate) fn peek(&self) -> Option<(u32, f64)> {
        self.pq.peek().map(|(&id, Reverse((t, _)))| (id, t.0))
    }

    /// Number of pending spikes.
    pub(crate) fn len(&self) -> usize {
        self.pq.len()
    }

    /// Whether nothing is pending.
    pub(crate) fn is_empty(&self) -> bool {
        self.pq.is_empty()
    }

    /// Drops everything.
    pub(crate) fn clear(&mut self) {
        self.pq.clear();
    }
}

/// The engine's queue: one binary min-heap of `(time, id)` per layer, and the global order
/// over their minima (the engine compares the layers' heads: a handful of layers).
///
/// Entries are never updated or removed in place: a neuron re-predicted pushes a new entry
/// and the engine drops stale ones when they reach a head (lazy deletion: an entry is live
/// iff its neuron is still pending at exactly that time). Keys are
/// [`Real::order_key`]`(t)`, whose integer order is the numeric order of the times, then the
/// neuron id: the order `(time, id)` of [`SpikeQueue`]. `push` and `pop` are O(log n), `peek`
/// O(1), with no hashing.
#[derive(Clone, Debug, Default)]
pub(crate) struct LayerQueue {
    heaps: Vec<BinaryHeap<Reverse<(u64, u32)>>>,
}

impl LayerQueue {
    /// Empty heaps for `n_layers` layers.
    pub(crate) fn new(n_layers: usize) -> Self {
        LayerQueue {
            heaps: vec![BinaryHeap::new(); n_layers],
        }
    }

    /// Queues neuron `id` of layer `layer` at time `t`.
    #[inline]
    pub(crate) fn push(&mut self, layer: usize, t: f64, id: u32) {
        self.heaps[layer].push(Reverse((t.order_key(), id)));
    }

    /// The earliest entry `(order key, id)` of `layer`.
    #[inline]
    pub(crate) fn peek(&self, layer: usize) -> Option<(u64, u32)> {
        self.heaps[layer].peek().map(|r| r.0)
    }

    /// Drops the earliest entry of `layer`.
    #[inline]
    pub(crate) fn pop(&mut self, layer: usize) {
        self.heaps[layer].pop();
    }

    /// Drops everything.
    pub(crate) fn clear(&mut self) {
        self.heaps.iter_mut().for_each(BinaryHeap::clear);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, HashMap};

    #[test]
    fn ties_pop_lowest_id_first() {
        let mut q = SpikeQueue::default();
        q.schedule(7, 1.0);
        q.schedule(3, 1.0);
        q.schedule(5, 0.5);
        assert_eq!(q.pop(), Some((5, 0.5)));
        assert_eq!(q.pop(), Some((3, 1.0)));
        assert_eq!(q.pop(), Some((7, 1.0)));
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn reschedule_replaces_the_pending_entry() {
        let mut q = SpikeQueue::default();
        q.schedule(1, 5.0);
        q.schedule(1, 2.0);
        q.schedule(1, 3.0);
        assert_eq!(q.len(), 1);
        assert_eq!(q.pop(), Some((1, 3.0)));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Schedule(u32, u8),
        Cancel(u32),
        Pop,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u32..20, 0u8..8).prop_map(|(i, t)| Op::Schedule(i, t)),
            (0u32..20).prop_map(Op::Cancel),
            Just(Op::Pop),
        ]
    }

    proptest! {
        /// The queue against a shadow: a map id -> time plus a BTreeMap ordered by (time, id).
        #[test]
        fn matches_a_btreemap_shadow(ops in proptest::collection::vec(op(), 1..200)) {
            let mut q = SpikeQueue::default();
            let mut by_id: HashMap<u32, f64> = HashMap::new();
            let mut order: BTreeMap<(OrderedFloat<f64>, u32), ()> = BTreeMap::new();
            for o in ops {
                match o {
                    Op::Schedule(i, t) => {
                        let t = t as f64 * 0.5; // small grid: many ties
                        if let Some(old) = by_id.insert(i, t) {
                            order.remove(&(OrderedFloat(old), i));
                        }
                        order.insert((OrderedFloat(t), i), ());
                        q.schedule(i, t);
                    }
                    Op::Cancel(i) => {
                        let want = by_id.remove(&i);
                        if let Some(old) = want {
                            order.remove(&(OrderedFloat(old), i));
                        }
                        prop_assert_eq!(q.cancel(i), want);
                    }
                    Op::Pop => {
                        let want = order.keys().next().copied();
                        if let Some(k) = want {
                            order.remove(&k);
                            by_id.remove(&k.1);
                        }
                        prop_assert_eq!(q.pop(), want.map(|(t, i)| (i, t.0)));
                    }
                }
                prop_assert_eq!(q.len(), by_id.len());
            }
        }
    }
}
