//! The analytic solver: layer by layer, closed-form spike times.
//!
//! Owns the batched forward pass ([`forward`]) and the parallel evaluation of a data set
//! ([`evaluate`]). Backward passes live in [`crate::grad`] and consume the [`ForwardPass`]
//! records this module produces; the event engine lives in [`crate::event`].
//!
//! All neurons of a fully connected layer see the same inputs, so the layer's input times are
//! sorted once (by time, then input index) and every neuron is swept along that order at
//! once: each input adds one contiguous row of weights to the running sums `S` and `A` of all
//! neurons ([`crate::neuron`]). A neuron's spike is decided when its predicted crossing comes no later
//! than the next input. The arithmetic is that of [`crate::neuron::NeuronState::on_input`],
//! operation for operation: every sweep and kernel here, the event engine and `on_input`
//! itself call the same helpers of [`crate::neuron`] (`arrival` for the exponent and rebase,
//! `integrate`, `crossing_time`, the bound tests); that is why the engines agree bit for bit.

mod conv;
mod conv_lanes;
mod conv_plan;
mod conv_simd;
mod dense_simd;
mod eval;
mod forward;
mod layer;
mod net;

pub use crate::pass::{argmin_finite, ForwardPass};
pub(crate) use conv_plan::TargetTables;
#[doc(hidden)] // an implementation detail of `Real`: the AVX-512 dense sweep
pub use eval::{evaluate, EvalStats};
pub use forward::{forward, layer_forward};
pub use layer::{LayerRecord, LayerScratch};
pub use net::Net;
