//! ANN-to-SNN conversion: data-based weight normalisation (Diehl et al. 2015; Rueckauer et
//! al. 2017) of a trained [`ReluNet`] into a rate-coded spiking network.
//!
//! Owns the normalisation scales ([`activation_scales`]) and the converted network
//! ([`SpikingNet`]). It does not simulate (see [`super::sim`]).
//!
//! **The rule.** Let `lambda_l` be the `p`-th percentile (default [`DEFAULT_PERCENTILE`]) of
//! the **positive** activations of layer `l` over a set of training images (zeros excluded, as
//! in the SNN toolbox of Rueckauer et al.), and `lambda_0 = 1` since inputs lie in [0, 1]. The
//! spiking network uses
//!
//! ```text
//! W'_l = W_l * lambda_{l-1} / lambda_l
//! ```
//!
//! with integrate-and-fire neurons of threshold 1 and reset by subtraction. A neuron whose
//! ReLU activation is `a` then fires at about `a / lambda_l` spikes per step when its inputs
//! fire at their normalised rates; the percentile (rather than the maximum) keeps a few
//! outliers from slowing every other neuron down, at the price of saturating those outliers
//! at one spike per step. The rule is the same for every layer kind: a convolution's
//! activations are pooled over all its positions and channels, as a dense layer's over its
//! neurons, and its shared kernel is scaled like a dense layer's weights.

use super::relu::{forward, pixels_into, Pass, ReluNet};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::network::Layer;
use crate::parallel::par_chunks;
use crate::sparsity::NetSize;

/// Percentile of the positive training activations that maps to one spike per step (Rueckauer
/// et al. 2017 recommend 99.9 to 99.999).
pub const DEFAULT_PERCENTILE: f64 = 99.9;

/// Nearest-rank `p`-th percentile (p in (0, 100]) of `v`, reordering `v`; `None` if empty.
pub(crate) fn percentile(v: &mut [f32], p: f64) -> Option<f32> {
    if v.is_empty() {
        return None;
    }
    let n = v.len();
    // Rank ceil(p n / 100), with the product shrunk by a relative 1e-12 so that a product
    // that is a whole number in exact arithmetic (99.9 % of 1000) is not rounded up by one
    // ulp of error (99.9 / 100 * 1000 = 999.0000000000001 in f64).
    let exact = p / 100.0 * n as f64;
    let rank = ((exact * (1.0 - 1e-12)).ceil() as usize).clamp(1, n) - 1;
    let (_, x, _) = v.select_nth_unstable_by(rank, |a, b| a.total_cmp(b));
    Some(*x)
}

/// `lambda_l` for every layer `l >= 1` (see the module notes), from the ReLU activations of
/// `net` on `data`. An error if `p` is outside (0, 100] or a layer is never active on `data`.
pub fn activation_scales(
    net: &ReluNet,
    data: &Dataset,
    p: f64,
    threads: usize,
) -> Result<Vec<f32>> {
    if !(p > 0.0 && p <= 100.0) {
        return Err(Error::setting(
            "percentile",
            format!("the normalisation percentile must be in (0, 100], got {p}"),
        ));
    }
    if data.is_empty() {
        return Err(Error::setting(
            "norm_samples",
            "no images to normalise the conversion with",
        ));
    }
    let nl = net.layers.len();
    let parts = par_chunks(data.len(), threads, |range| {
        let mut pos: Vec<Vec<f32>> = vec![Vec::new(); nl];
        let (mut x, mut pass) = (Vec::new(), Pass::default());
        for i in range {
            pixels_into(data.image(i), &mut x);
            forward(net, &x, &mut pass, None);
            for (l, out) in pos.iter_mut().enumerate() {
                out.extend(pass.a[l + 1].iter().copied().filter(|&a| a > 0.0));
            }
        }
        pos
    });
    let mut scales = Vec::with_capacity(nl);
    for l in 0..nl {
        let mut all: Vec<f32> = parts.iter().flat_map(|p| p[l].iter().copied()).collect();
        match percentile(&mut all, p) {
            Some(s) if s.is_finite() && s > 0.0 => scales.push(s),
            _ => {
                return Err(Error::RateModel {
                    path: None,
                    what: format!(
                        "layer {} is never active on the {} normalisation images; cannot scale it",
                        l + 1,
                        data.len()
                    ),
                })
            }
        }
    }
    Ok(scales)
}

/// A converted, rate-coded spiking network: integrate-and-fire neurons, threshold
/// `SpikingNet::THRESHOLD`, reset by subtraction, no leak, no bias.
#[derive(Clone, Debug, PartialEq)]
pub struct SpikingNet {
    /// Normalised weights `W'_l`, in the layouts of [`crate::network::Layer`].
    pub layers: Vec<Layer<f32>>,
    /// The `lambda_l` used, one per layer.
    pub scales: Vec<f32>,
}

impl SpikingNet {
    /// Firing threshold, in the units of the normalised weights.
    pub(crate) const THRESHOLD: f32 = 1.0;

    /// Layers including the input layer.
    pub(crate) fn n_layers(&self) -> usize {
        self.layers.len() + 1
    }

    /// Neurons per layer and synapses, for [`crate::sparsity`].
    pub(crate) fn size(&self) -> NetSize {
        NetSize::of_layers(&self.layers)
    }

    /// Inputs of the first layer.
    pub(crate) fn n_inputs(&self) -> usize {
        self.layers.first().map_or(0, |l| l.n_in())
    }
}

/// Converts `net` with scales `lambda` (one per layer, finite and > 0).
pub fn convert(net: &ReluNet, lambda: &[f32]) -> Result<SpikingNet> {
    if lambda.len() != net.layers.len() {
        return Err(Error::dimension(format!(
            "{} scales for {} layers",
            lambda.len(),
            net.layers.len()
        )));
    }
    if let Some((l, s)) = lambda
        .iter()
        .enumerate()
        .find(|(_, s)| !(s.is_finite() && **s > 0.0))
    {
        return Err(Error::setting(
            "scales",
            format!(
                "scale of layer {} is {s}; scales must be finite and > 0",
                l + 1
            ),
        ));
    }
    let layers = net
        .layers
        .iter()
        .enumerate()
        .map(|(l, d)| {
            let prev = if l == 0 { 1.0 } else { lambda[l - 1] };
            let f = prev / lambda[l];
            d.map(|w| w * f)
        })
        .collect();
    Ok(SpikingNet {
        layers,
        scales: lambda.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentile() {
        let mut v: Vec<f32> = (1..=1000).map(|x| x as f32).collect();
        assert_eq!(percentile(&mut v, 99.9), Some(999.0));
        assert_eq!(percentile(&mut v, 100.0), Some(1000.0));
        assert_eq!(percentile(&mut v, 50.0), Some(500.0));
        assert_eq!(percentile(&mut [], 50.0), None);
    }

    #[test]
    fn convert_scales_by_neighbouring_lambdas() {
        let net = ReluNet {
            layers: vec![Layer::dense(1, 1, vec![2.0]), Layer::dense(1, 1, vec![3.0])],
        };
        let s = convert(&net, &[4.0, 6.0]).unwrap();
        assert_eq!(s.layers[0].weights(), [0.5]); // 2 * 1 / 4
        assert_eq!(s.layers[1].weights(), [2.0]); // 3 * 4 / 6
        assert!(convert(&net, &[4.0, 0.0]).is_err());
    }
}
