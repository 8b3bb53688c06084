//! Initial weights.

use super::TrainConfig;
use crate::model::{Layer, Model, ModelMeta};
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

/// A model with weights drawn from N(init_mean theta / n_in, (init_sd / sqrt(n_in))^2): the mean
/// puts each neuron's weight sum at `init_mean` thresholds, so that every neuron fires once
/// enough of its inputs have arrived. Seeded by `cfg.seed`.
pub fn init_model(cfg: &TrainConfig) -> Model {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(cfg.seed);
    let layers = cfg
        .arch
        .windows(2)
        .map(|p| {
            let (n_in, n_out) = (p[0], p[1]);
            let mean = cfg.init_mean * cfg.params.theta / n_in as f64;
            let sd = cfg.init_sd / (n_in as f64).sqrt();
            let d = Normal::new(mean, sd.max(1e-12)).expect("finite parameters");
            Layer::dense(
                n_in,
                n_out,
                (0..n_in * n_out).map(|_| d.sample(&mut rng)).collect(),
            )
        })
        .collect();
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
