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
//! where z's time origin lies), or, with [`loss::LossOrigin::Time`], over the spike times
//! themselves, `L = t_g/(T tau) + ln sum_k exp(-t_k/(T tau))`; plus the weight-sum cost
//! `K sum_j max(0, theta - sum_i w_ji)` and an L2 term.
//!
//! **Files.** Every binary file (model `.bin`, rate model `.bin`, trace `.trace`, training
//! checkpoint `.ckpt`) is an 8-byte magic (`FSPKMODL`, `FSPKRATE`, `FSPKTRCE`, `FSPKCKPT`), a
//! format version (u32, little-endian; today model 2, or 3 with a convolution, rate model 1,
//! trace 1, checkpoint 7 for a run with the time softmax loss, 6 for one with a fixed loss
//! origin, else 5;
//! model files of version 1 are still read) and a bincode 1.3 payload with
//! fixed-width little-endian integers (`fileformat.rs`). A file of another magic or version is
//! refused with a message saying so. Beside each model, `NAME.json` describes it in readable form
//! (architecture, units, encoding, training settings, seed, measured accuracy, the sha256 of
//! the weights). Dense weights are stored input-major:
//! `w[i * n_out + j]` is the weight from input `i` to neuron `j`; a convolution's kernel as
//! `w[((ky * k + kx) * c_in + c) * c_out + o]`, and feature maps are numbered
//! `(row * width + column) * channels + channel` ([`network::Conv`]).
//!
//! **Architectures** ([`Arch`]): `784-800-10` (dense layers) or `28x28-16c5s2-32c5s2-10`
//! (an input map, convolutions `<channels>c<kernel>[s<stride>][p<padding>]`, dense layers).
//!
//! # Tutorial
//!
//! Each step runs as a test (`cargo test --doc`), on the 1,000 MNIST test digits embedded in
//! the library and the shipped 784-800-10 model.
//!
//! **Load a model and evaluate it** with the analytic solver (f64), on two threads:
//!
//! ```
//! use firstspike::{evaluate, mnist_test_slice, Model, Net, NO_PROGRESS};
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/models/mnist-784-800-10.bin");
//! let model = Model::load(path.as_ref())?;
//! assert_eq!(model.arch(), [784, 800, 10]);
//! let test = mnist_test_slice()?;
//! let stats = evaluate(&Net::<f64>::from_model(&model), &model.encoding, &test, 2, NO_PROGRESS);
//! assert_eq!(stats.total, 1000);
//! assert!(stats.accuracy() > 0.97, "accuracy {}", stats.accuracy());
//! # Ok::<(), firstspike::Error>(())
//! ```
//!
//! **Simulate spike by spike** with the discrete-event engine, stopping each digit at its
//! decision (the first output spike), and check it against the analytic solver:
//!
//! ```
//! use firstspike::{mnist_test_slice, simulate, verify, EventNet, Model, RunOptions, NO_PROGRESS};
//! use firstspike::simulate::Record;
//! # let path = concat!(env!("CARGO_MANIFEST_DIR"), "/models/mnist-784-800-10.bin");
//! # let model = Model::load(path.as_ref())?;
//! let mut digits = mnist_test_slice()?;
//! digits.truncate(20)?;
//! let net = EventNet::from_model(&model)?.compile()?;
//! let opts = RunOptions { until_decision: true };
//! let report = simulate(&net, &model.encoding, &digits, opts, 1, Record::CountsOnly, NO_PROGRESS)?;
//! let spikes: u64 = report.runs.iter().map(|r| r.total_spikes()).sum();
//! assert!(report.correct >= 19 && spikes < 20 * 1594, "{} correct, {spikes} spikes", report.correct);
//! // The two engines agree on every spike of the full runs.
//! assert!(verify(&model, &digits, 2, NO_PROGRESS)?.agree());
//! # Ok::<(), firstspike::Error>(())
//! ```
//!
//! **Record a trace and replay it**: every spike and causal set of a run, from which the
//! loss gradients are recomputed without simulating again; the same gradients come from
//! either engine's traces.
//!
//! ```
//! use firstspike::{mnist_test_slice, record_samples, replay_gradients, EngineKind, LossOrigin, Model, NO_PROGRESS};
//! # let path = concat!(env!("CARGO_MANIFEST_DIR"), "/models/mnist-784-800-10.bin");
//! # let model = Model::load(path.as_ref())?;
//! let digits = mnist_test_slice()?;
//! let picks = [0, 1, 2];
//! let (event, _) = record_samples(&model, &digits, &picks, EngineKind::Event, 1, NO_PROGRESS)?;
//! let (solver, _) = record_samples(&model, &digits, &picks, EngineKind::Analytic, 1, NO_PROGRESS)?;
//! assert_eq!(event[0].decision.map(|d| d.0), Some(7)); // test digit 0 is a 7
//! let (g_event, loss, n) = replay_gradients(&model, &event, LossOrigin::Input, 0.01)?;
//! let (g_solver, _, _) = replay_gradients(&model, &solver, LossOrigin::Input, 0.01)?;
//! assert_eq!((n, g_event.len()), (3, 2));
//! assert!(loss.is_finite());
//! assert_eq!(g_event, g_solver);
//! # Ok::<(), firstspike::Error>(())
//! ```
//!
//! **Train a small network** (784-30-10, two epochs on 800 digits, seeded) and evaluate it on
//! digits it has not seen:
//!
//! ```
//! use firstspike::{evaluate, mnist_test_slice, train, Arch, Net, TrainConfig, NO_PROGRESS};
//! let digits = mnist_test_slice()?;
//! let (mut train_set, mut held_out) = (digits.clone(), digits.select(&(800..1000).collect::<Vec<_>>())?);
//! train_set.truncate(800)?;
//! let cfg = TrainConfig { arch: Arch::dense(&[784, 30, 10]), epochs: 2, threads: 2, seed: 3, ..TrainConfig::default() };
//! let out = train(&cfg, &train_set, None, |_| {})?;
//! let stats = evaluate(&Net::<f64>::from_model(&out.model), &cfg.encoding, &held_out, 2, NO_PROGRESS);
//! assert!(stats.accuracy() > 0.6, "held-out accuracy {}", stats.accuracy());
//! # let _ = &mut held_out;
//! # Ok::<(), firstspike::Error>(())
//! ```
#![deny(unsafe_code)]
// allowed in three places only: `cpu`, `analytic::dense_simd` and `analytic::conv_simd`, for the CPU-specific kernels
#![warn(missing_docs, unreachable_pub)]

pub mod analytic;
#[doc(hidden)] // support of the command line, not the library's API
pub mod counts;
pub(crate) mod cpu;
pub mod data;
pub mod embedded;
pub mod encoding;
pub(crate) mod error;
pub mod event;
pub(crate) mod fileformat;
#[doc(hidden)] // support of the command line, not the library's API
pub mod fsio;
pub mod grad;
mod grad_simd;
pub mod inputs;
pub mod loss;
pub mod model;
pub mod network;
pub mod neuron;
#[cfg(feature = "nir")]
pub mod nir;
pub(crate) mod npy;
pub mod npz;
pub(crate) mod parallel;
pub(crate) mod pass;
#[doc(hidden)] // support of the command line, not the library's API
pub mod plot;
pub mod progress;
#[cfg(feature = "python")]
mod python;
pub mod raster;
#[doc(hidden)] // support of the command line, not the library's API
pub mod rate;
pub(crate) mod real;
pub mod replay;
#[doc(hidden)] // support of the command line, not the library's API
pub mod robust;
pub mod simulate;
pub mod sparsity;
pub mod trace;
pub mod train;

// The API a user of the library needs, at the crate root: the network and its files, data,
// both engines, traces, training, counts and errors. The modules hold the rest.
pub use analytic::Net;
pub use analytic::{evaluate, forward, EvalStats};
pub use counts::CountReport;
pub use cpu::{Isa, ISA_VAR};
pub use data::{Dataset, Split};
pub use embedded::mnist_test_slice;
pub use encoding::{Encoding, EncodingKind};
pub use error::{Error, FileKind, NirRefusal, Result};
pub use event::{Engine, EventNet, RunOptions, RunSummary};
pub use inputs::{Inputs, Samples};
pub use loss::LossOrigin;
pub use model::{Model, ModelMeta};
pub use network::{Arch, Conv, Dense, Layer, LayerSpec, Shape};
pub use neuron::NeuronParams;
pub use pass::ForwardPass;
pub use progress::{Progress, NO_PROGRESS};
pub use real::Real;
pub use replay::{replay, replay_gradients};
pub use simulate::{record_samples, simulate, verify, SimReport, VerifyReport};
pub use trace::{EngineKind, SampleTrace, TraceFile, TraceHeader};
pub use train::{train, TrainConfig, TrainOutcome, Trainer};
