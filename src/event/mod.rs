//! The discrete-event engine: exact, event by event, no time step anywhere.
//!
//! Owns the network graph ([`EventNet`], neurons in a `slotmap`), the global spike queue
//! ([`SpikeQueue`], on `priority-queue` with `ordered-float` keys) and the simulation loop
//! ([`Engine`]). It does no I/O and draws no random numbers; what it records goes to a
//! [`Recorder`] the caller passes ([`NoRecord`] costs nothing).
//!
//! # How it works
//!
//! Every neuron has at most one pending spike in the queue: its predicted first spike given
//! the inputs it has had so far. Input spikes enter the queue at their times. Popping the
//! earliest spike fires that neuron and delivers the spike to each of its targets: the target
//! updates its running sums `S`, `A` in O(1) ([`crate::neuron::NeuronState::on_input`]) and
//! re-predicts its own first spike, which replaces (or removes) its pending entry. A neuron
//! that has fired ignores later inputs.
//!
//! **Ties** break deterministically: the queue pops the smallest `(time, neuron id)`, where
//! the id is the neuron's position in the network (inputs first, then layer by layer, in
//! index order). A neuron whose pending spike is no later than an arriving input ignores that
//! input whatever the pop order, so the spikes do not depend on the tie rule; only the order
//! of simultaneous spikes in a record does.

mod engine;
mod network;
mod queue;
mod recorder;

pub use engine::{Engine, RunOptions, RunSummary};
pub use network::{CompiledNet, EventNet, NeuronKey};
pub(crate) use queue::SpikeQueue;
pub use recorder::{NoRecord, Recorder, SpikeLog};
