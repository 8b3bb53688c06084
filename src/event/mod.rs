//! The discrete-event engine: exact, event by event, no time step anywhere.
//!
//! Owns the network graph ([`EventNet`], neurons in a `slotmap`), the global spike queue and
//! the simulation loop ([`Engine`]). It does no I/O and draws no random numbers; what it
//! records goes to a [`Recorder`] the caller passes ([`NoRecord`] costs nothing).
//!
//! # How it works
//!
//! Every neuron has at most one pending spike: its predicted first spike given the inputs it
//! has had so far. Input spikes enter the queue at their times. Popping the earliest spike
//! fires that neuron and delivers the spike to each of its targets: the target updates its
//! running sums `S`, `A` in O(1), with the operations of
//! [`crate::neuron::NeuronState::on_input`] (the same helpers of [`crate::neuron`]: `arrival`,
//! `integrate`, `crossing_time`), and its prediction changes. A neuron that has
//! fired ignores later inputs.
//!
//! One global queue orders every spike, in two levels: a binary heap of `(time, id)` per
//! layer (lazy deletion: a re-predicted neuron pushes a new entry, stale ones are dropped
//! when they surface), and over them an indexed priority queue (`priority-queue`, keyed by
//! layer, `ordered-float` times) holding each layer's head, updated whenever a layer's head
//! changes; its top is the next spike (see `src/event/queue.rs`). Predictions are computed (`ln`)
//! and queued only when they can matter: a neuron whose spike provably comes after the earliest time any earlier
//! layer can fire (a test without `ln` or division, with a margin for rounding) stays
//! deferred, and the queue does not pop past a layer's deferred neurons without re-testing
//! them. A fully connected layer takes each input in one sweep over its neurons. The engine
//! module's docs give the equations and the argument that the spikes are bit for bit those
//! of re-predicting on every input (the analytic solver's).
//!
//! **Ties** break deterministically: the queue pops the smallest `(time, neuron id)`, where
//! the id is the neuron's position in the network (inputs first, then layer by layer, in
//! index order). A neuron whose pending spike is no later than an arriving input ignores that
//! input whatever the pop order, so the spikes do not depend on the tie rule; only the order
//! of simultaneous spikes in a record does.

mod deliver;
mod engine;
mod layers;
mod network;
mod queue;
mod recorder;
mod retest;

pub use engine::{Engine, RunOptions, RunSummary};
pub use network::{CompiledNet, EventNet, NeuronKey};
pub use recorder::{NoRecord, Recorder, SpikeLog};
