//! Initial weights.

use super::TrainConfig;
use crate::model::{Model, ModelMeta};
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

/// A model with weights drawn from N(init_mean theta / n_in, (init_sd / sqrt(n_in))^2), `n_in`
/// being each neuron's number of inputs (a convolution's `k k c_in`): the mean
/// puts each neuron's weight sum at `init_mean` thresholds, so that every neuron fires once
/// enough of its inputs have arrived. Seeded by `cfg.seed`.
pub fn init_model(cfg: &TrainConfig) -> Model {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(cfg.seed);
    let layers = cfg.arch.build(|_, fan_in, n| {
        let mean = cfg.init_mean * cfg.params.theta / fan_in as f64;
        let sd = cfg.init_sd / (fan_in as f64).sqrt();
        let d = Normal::new(mean, sd.max(1e-12)).expect("finite parameters");
        (0..n).map(|_| d.sample(&mut rng)).collect()
    });
    Model {
        params: cfg.params,
        encoding: cfg.encoding,
        layers,
        meta: ModelMeta {
            train: Some(cfg.record()),
            ..Default::default()
        },
    }
}
