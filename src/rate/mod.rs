//! The rate-coded baseline: how much sparser is first-spike coding really?
//!
//! Owns the standard alternative to first-spike coding and its comparison with it: a ReLU
//! network of the same shape, dense or convolutional ([`relu`], trained by [`train`]),
//! converted to integrate-and-fire neurons with reset by subtraction and data-based weight
//! normalisation ([`mod@convert`]; Diehl et al. 2015, Rueckauer et al. 2017), simulated in time steps with Poisson or constant-current
//! input ([`sim`], the only place in the crate where a dt lives), saved in its own model files
//! ([`model`]), and counted the same way as the first-spike network ([`compare`]), with a
//! Markdown/CSV report ([`report`]) and an SVG picture ([`plot`]). The first-spike side is the
//! discrete-event engine ([`crate::event`], run by [`crate::simulate::simulate`]).
//!
//! ```
//! use firstspike::embedded::mnist_test_slice;
//! use firstspike::progress::NO_PROGRESS;
//! use firstspike::rate::{sim, RateModel};
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/models/rate-784-800-10.bin");
//! let rate = RateModel::load(path.as_ref())?;
//! let mut test = mnist_test_slice()?;
//! test.truncate(100)?;
//! let net = rate.spiking()?;
//! let cfg = sim::SimConfig { steps: 100, input: sim::InputMode::Poisson { rate: 1.0 }, seed: 1 };
//! let runs = sim::simulate(&net, &test, &cfg, 2, NO_PROGRESS)?;
//! let curve = firstspike::rate::compare::rate_curve(&net, &runs, &test.labels);
//! assert!(curve.accuracy[99] > 0.9, "accuracy after 100 steps {}", curve.accuracy[99]);
//! # Ok::<(), firstspike::Error>(())
//! ```

pub mod compare;
pub mod convert;
pub mod model;
pub mod plot;
pub mod relu;
pub mod report;
pub(crate) mod scatter;
pub mod sim;
pub mod train;

pub use convert::{activation_scales, convert, SpikingNet};
pub use model::RateModel;
pub(crate) use sim::{InputMode, SimConfig};
pub use train::{evaluate_relu, train_relu, ReluTrainConfig};
