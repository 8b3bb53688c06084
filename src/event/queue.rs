//! The global spike queue: a two-level priority queue, earliest `(time, neuron id)` first.
//!
//! Level one is a binary min-heap of `(time, id)` entries per layer (std `BinaryHeap`, integer
//! keys, lazy deletion). Level two is the global order: an indexed priority queue from the
//! `priority-queue` crate, keyed by layer, whose priority is the layer's current head
//! `(OrderedFloat(time), id)`. A layer whose head changed (a push that becomes the head, a
//! pop) is entered again before the next read of the global top, so that top is always the
//! earliest entry of the whole queue.

use crate::real::Real;
use ordered_float::OrderedFloat;
use priority_queue::PriorityQueue;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hash::{BuildHasherDefault, Hasher};

/// Hasher for small dense integer ids (here: layer indices): the id itself, spread over the
/// high bits (hashbrown, under `priority-queue`'s index map, uses the top 7 bits as a tag).
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
        self.0 = self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn write_u32(&mut self, i: u32) {
        self.0 = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn write_usize(&mut self, i: usize) {
        self.0 = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// The time whose [`Real::order_key`] is `key` (the inverse map; `-0` comes back as `+0`,
/// which the key does not distinguish).
#[inline]
fn time_of_key(key: u64) -> f64 {
    f64::from_bits(if key >> 63 == 1 {
        key & !(1 << 63)
    } else {
        !key
    })
}

/// A layer's head in the global order: greatest priority = smallest `(time, id)`.
type Head = Reverse<(OrderedFloat<f64>, u32)>;

/// Every queued spike of the engine, popped in increasing `(time, id)` order.
///
/// Per layer, a binary min-heap of `(`[`Real::order_key`]`(t), id)`: the key's integer order
/// is the numeric order of the times (`-0` and `+0` equal), then the neuron id. Entries are
/// never updated or removed in place: a neuron re-predicted pushes a new entry, and the
/// engine drops stale ones when they reach a layer's head (lazy deletion: an entry is live
/// iff its neuron is still pending at exactly that time).
///
/// Over the layers, a `PriorityQueue<layer, Reverse<(OrderedFloat<f64>, id)>>` holds each
/// non-empty layer's head (live or stale). `push` and `pop` mark a layer whose head changed;
/// [`SpikeQueue::peek_min`] first brings the marked layers' priorities up to date (once per
/// layer, however many entries were pushed or dropped meanwhile: lazy deletion pops stale
/// entries in runs), then returns its top, the earliest entry of the whole queue. Ids are
/// unique across layers, so the order is total and ties between layers break by id.
///
/// Complexity: `push` and `pop` are O(log n) in the layer's heap; `peek_min` is O(1) plus
/// O(log L) per layer whose head changed (L layers); `peek` is O(1).
#[derive(Clone, Debug)]
pub(crate) struct SpikeQueue {
    heaps: Vec<BinaryHeap<Reverse<(u64, u32)>>>,
    heads: PriorityQueue<u32, Head, BuildHasherDefault<IdHasher>>,
    /// Layers whose head changed since `heads` last saw them, each once.
    changed: Vec<u32>,
    /// Per layer: in `changed`.
    is_changed: Vec<bool>,
}

impl SpikeQueue {
    /// An empty queue for `n_layers` layers.
    pub(crate) fn new(n_layers: usize) -> Self {
        SpikeQueue {
            heaps: vec![BinaryHeap::new(); n_layers],
            heads: PriorityQueue::with_capacity_and_default_hasher(n_layers),
            changed: Vec::with_capacity(n_layers),
            is_changed: vec![false; n_layers],
        }
    }

    /// Marks `layer`'s head as changed.
    #[inline]
    fn touch(&mut self, layer: usize) {
        if !self.is_changed[layer] {
            self.is_changed[layer] = true;
            self.changed.push(layer as u32);
        }
    }

    /// Queues neuron `id` of layer `layer` at time `t`.
    #[inline]
    pub(crate) fn push(&mut self, layer: usize, t: f64, id: u32) {
        let key = t.order_key();
        let heap = &mut self.heaps[layer];
        let new_head = heap.peek().is_none_or(|h| (key, id) < h.0);
        heap.push(Reverse((key, id)));
        if new_head {
            self.touch(layer);
        }
    }

    /// The earliest entry `(order key, id)` of `layer` (live or stale).
    #[inline]
    pub(crate) fn peek(&self, layer: usize) -> Option<(u64, u32)> {
        self.heaps[layer].peek().map(|r| r.0)
    }

    /// The earliest entry of the whole queue, `(layer, order key, id)`: the top of the
    /// global priority queue, once the changed layers' heads are entered in it.
    #[inline]
    pub(crate) fn peek_min(&mut self) -> Option<(usize, u64, u32)> {
        for l in self.changed.drain(..) {
            self.is_changed[l as usize] = false;
            match self.heaps[l as usize].peek() {
                // Inserts the layer or moves it to its new head.
                Some(&Reverse((key, id))) => {
                    self.heads
                        .push(l, Reverse((OrderedFloat(time_of_key(key)), id)));
                }
                None => {
                    self.heads.remove(&l);
                }
            }
        }
        let (&layer, _) = self.heads.peek()?;
        let (key, id) = self.heaps[layer as usize].peek()?.0;
        Some((layer as usize, key, id))
    }

    /// Drops the earliest entry of `layer`; the layer's place in the global order follows
    /// its new head (or the layer leaves it, when empty) at the next `peek_min`.
    #[inline]
    pub(crate) fn pop(&mut self, layer: usize) {
        if self.heaps[layer].pop().is_some() {
            self.touch(layer);
        }
    }

    /// Drops everything.
    pub(crate) fn clear(&mut self) {
        self.heaps.iter_mut().for_each(BinaryHeap::clear);
        self.heads.clear();
        self.changed.clear();
        self.is_changed.fill(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    const LAYERS: usize = 3;

    /// Ids are unique across layers in the engine; here id `i` is in layer `i % LAYERS`.
    fn layer_of(id: u32) -> usize {
        id as usize % LAYERS
    }

    /// Pops the earliest entry of the whole queue, as `(id, time)`.
    fn pop_min(q: &mut SpikeQueue) -> Option<(u32, f64)> {
        let (l, key, id) = q.peek_min()?;
        q.pop(l);
        Some((id, time_of_key(key)))
    }

    #[test]
    fn ties_pop_lowest_id_first_across_layers() {
        let mut q = SpikeQueue::new(LAYERS);
        for (id, t) in [(7, 1.0), (3, 1.0), (5, 0.5), (4, 1.0), (9, -0.0), (6, 0.0)] {
            q.push(layer_of(id), t, id);
        }
        let got: Vec<_> = std::iter::from_fn(|| pop_min(&mut q)).collect();
        assert_eq!(
            got,
            [(6, 0.0), (9, 0.0), (5, 0.5), (3, 1.0), (4, 1.0), (7, 1.0)]
        );
        assert_eq!(q.peek_min(), None);
    }

    #[test]
    fn time_of_key_inverts_order_key() {
        for t in [
            0.0,
            1e-300,
            0.5,
            3.0,
            1e300,
            f64::INFINITY,
            -2.0,
            f64::NEG_INFINITY,
        ] {
            assert_eq!(time_of_key(t.order_key()).to_bits(), t.to_bits());
        }
        assert_eq!(time_of_key((-0.0f64).order_key()).to_bits(), 0f64.to_bits());
    }

    #[derive(Debug, Clone)]
    enum Op {
        Push(u32, u8),
        PopMin,
        Pop(usize),
        Clear,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0u32..20, 0u8..8).prop_map(|(i, t)| Op::Push(i, t)),
            3 => Just(Op::PopMin),
            2 => (0..LAYERS).prop_map(Op::Pop),
            1 => Just(Op::Clear),
        ]
    }

    proptest! {
        /// The two-level queue against a shadow: per layer, a BTreeMap multiset of entries
        /// `(time, id)`; the global head is the smallest of the layers' smallest.
        #[test]
        fn matches_a_btreemap_shadow(ops in proptest::collection::vec(op(), 1..300)) {
            let mut q = SpikeQueue::new(LAYERS);
            let mut shadow: Vec<BTreeMap<(OrderedFloat<f64>, u32), usize>> =
                vec![BTreeMap::new(); LAYERS];
            let first = |m: &BTreeMap<(OrderedFloat<f64>, u32), usize>| m.keys().next().copied();
            let pop_first = |m: &mut BTreeMap<(OrderedFloat<f64>, u32), usize>| {
                let k = m.keys().next().copied()?;
                let n = m.get_mut(&k).expect("present");
                *n -= 1;
                if *n == 0 {
                    m.remove(&k);
                }
                Some(k)
            };
            for o in ops {
                match o {
                    Op::Push(i, t) => {
                        let t = t as f64 * 0.5; // small grid: many ties, duplicates too
                        *shadow[layer_of(i)].entry((OrderedFloat(t), i)).or_default() += 1;
                        q.push(layer_of(i), t, i);
                    }
                    Op::PopMin => {
                        let want = (0..LAYERS)
                            .filter_map(|l| first(&shadow[l]).map(|k| (k, l)))
                            .min()
                            .map(|(_, l)| l)
                            .and_then(|l| pop_first(&mut shadow[l]));
                        prop_assert_eq!(pop_min(&mut q), want.map(|(t, i)| (i, t.0)));
                    }
                    Op::Pop(l) => {
                        pop_first(&mut shadow[l]);
                        q.pop(l);
                    }
                    Op::Clear => {
                        shadow.iter_mut().for_each(BTreeMap::clear);
                        q.clear();
                    }
                }
                for (l, m) in shadow.iter().enumerate() {
                    prop_assert_eq!(
                        q.peek(l),
                        first(m).map(|(t, i)| (t.0.order_key(), i))
                    );
                }
                let want = shadow
                    .iter()
                    .enumerate()
                    .filter_map(|(l, m)| first(m).map(|(t, i)| (t, i, l)))
                    .min()
                    .map(|(t, i, l)| (l, t.0.order_key(), i));
                prop_assert_eq!(q.peek_min(), want);
            }
        }
    }
}
