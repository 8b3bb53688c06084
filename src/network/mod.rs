//! The network description: a feedforward stack of layers, each a kind with its parameters.
//!
//! Owns the one layer type that every part of the crate shares: model files ([`crate::model`]),
//! the analytic solver ([`crate::analytic::Net`], in f32 or f64), the event engine's compiled
//! graph ([`crate::event::EventNet::from_model`]), the trainer, the rate-coded baseline's ReLU
//! network ([`crate::rate::relu::ReluNet`], in f32), the NIR export and the checks of
//! shapes on load. A layer is generic over its number type `F` (f64 in model files, f32 while
//! training), so converting a network between precisions keeps its description.
//!
//! Two kinds exist: fully connected layers ([`Dense`]) and 2-D convolutions ([`Conv`], strided
//! convolution being the reduction between feature maps). A new kind is a new [`Layer`]
//! variant with its own parameters: every `match` over [`Layer`] in the crate is exhaustive,
//! so the compiler lists each place that must learn the new kind. [`Arch`] is the
//! weight-free description a run is given (`784-800-10`, `28x28-16c5s2-32c5s2-10`).
//!
//! **Neuron order.** A convolution's inputs and neurons are numbered row-major with the
//! channel fastest (height, width, channels: index `(y * width + x) * channels + c`), so a
//! dense layer after a convolution reads its feature maps in that order, and a grey image of
//! `h x w` pixels is a `h x w x 1` input as it is.
//!
//! It does not run networks, hold neuron parameters (see [`crate::neuron::NeuronParams`]) or
//! know how a network was trained.
//!
//! The files: `layer.rs` the layer kinds ([`Layer`], [`LayerSpec`]), `dense.rs` a fully
//! connected layer ([`Dense`]), `conv.rs` the
//! geometry of a convolution ([`Shape`], [`Conv`]), `arch.rs` the one architecture syntax and
//! its parser ([`Arch`]), `check.rs` the checks of a stack of layers where it enters.

mod arch;
mod check;
mod conv;
mod dense;
mod layer;

pub use arch::Arch;
pub(crate) use check::{check_layers, MAX_WEIGHTS};
pub use conv::{Conv, Shape};
pub use dense::Dense;
pub(crate) use layer::sizes;
pub use layer::{Layer, LayerSpec};
