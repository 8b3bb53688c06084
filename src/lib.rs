//! # firstspike
//!
//! Exact simulation and training of feedforward spiking networks that code information in the
//! time of each neuron's **first spike** (H. Mostafa, "Supervised learning based on temporal
//! coding in spiking neural networks", IEEE TNNLS 2018).
//!
//! Neurons are non-leaky integrate-and-fire with exponentially decaying synaptic currents; a
//! neuron's first spike has a closed form ([`neuron`]). Two engines compute the same spikes:
//! the batched [`analytic`] solver (layer by layer, used for training) and the discrete-event
//! engine ([`event`]) that moves timestamped spikes through one global priority queue.
//!
//! ```no_run
//! use firstspike::{analytic, data::{Dataset, Split}, model::Model};
//! let model = Model::load("models/mnist-784-800-10.bin".as_ref())?;
//! let test = Dataset::load("data/mnist".as_ref(), Split::Test)?;
//! let net = analytic::Net::<f64>::from_model(&model);
//! let stats = analytic::evaluate(&net, &model.encoding, &test, 2);
//! println!("accuracy {:.2} %", 100.0 * stats.accuracy());
//! # Ok::<(), firstspike::Error>(())
//! ```
#![warn(missing_docs)]

pub mod analytic;
pub mod data;
pub mod embedded;
pub mod encoding;
pub mod error;
pub mod fileformat;
pub mod fsio;
pub mod grad;
pub mod loss;
pub mod model;
pub mod neuron;
pub mod real;
pub mod train;

pub use error::{Error, Result};
pub mod counts;
pub mod event;
pub mod nir;
pub mod parallel;
pub mod plot;
pub mod progress;
pub mod raster;
pub mod rate;
pub mod replay;
pub mod simulate;
pub mod trace;
