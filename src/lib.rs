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
//! # The model, its units and its files
//!
//! **Units.** Time is measured in the model's time unit, in which the synaptic time constant
//! `tau_syn` is given (the shipped models use `tau_syn = 1`, so their times are in units of
//! tau_syn); potentials and weights in the unit of the threshold `theta` (shipped: 1). A
//! weight is a potential: an input of weight w raises the membrane potential by exactly w in
//! the long run.
//!
//! **Neuron** ([`neuron`]): non-leaky integrate-and-fire with an exponentially decaying
//! synaptic current, firing at most once:
//!
//! ```text
//! tau dV/dt = sum_i w_i H(t - t_i) exp(-(t - t_i)/tau),   V(0) = 0
//! V(t) = S - A exp(-t/tau)   over the inputs C that have arrived, S = sum_C w_i,
//!                            A = sum_C w_i exp(t_i/tau)
//! exp(t_out/tau) = A / (S - theta)    the first spike, if S > theta and it comes no later
//!                                     than the next input (C is then the causal set)
//! ```
//!
//! **Gradients** ([`neuron::time_gradients`], [`grad`]): in `z = exp(t/tau)` a spike is linear
//! in its causal inputs, `z_out = sum_C w_i z_i / (S - theta)`, so for `i` in `C`
//! `dt_out/dw_i = tau (exp((t_i - t_out)/tau) - 1) / (S - theta)` and
//! `dt_out/dt_i = w_i exp((t_i - t_out)/tau) / (S - theta)` (zero outside `C`); training
//! floors `S - theta` at a small positive value in the gradients only.
//!
//! **Loss** ([`loss`]): softmax cross-entropy over `-z` of the output spikes,
//! `L = z_g + ln sum_k exp(-z_k)` for the label `g` ([`loss::output_loss`], which also says
//! where z's time origin lies), plus the weight-sum cost `K sum_j max(0, theta - sum_i w_ji)`
//! and an L2 term.
//!
//! **Files.** Every binary file (model `.bin`, rate model `.bin`, trace `.trace`, training
//! checkpoint `.ckpt`) is an 8-byte magic (`FSPKMODL`, `FSPKRATE`, `FSPKTRCE`, `FSPKCKPT`), a
//! format version (u32, little-endian; 1 for all four today) and a bincode 1.3 payload with
//! fixed-width little-endian integers ([`fileformat`]). A file of another magic or version is
//! refused with a message saying so. Beside each model, `NAME.json` describes it in readable form
//! (architecture, units, encoding, training settings, seed, measured accuracy, the sha256 of
//! the weights). Weights are stored input-major:
//! `w[i * n_out + j]` is the weight from input `i` to neuron `j`.
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
pub mod robust;
pub mod simulate;
pub mod trace;
