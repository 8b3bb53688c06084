//! The ReLU network of the rate-coded baseline: a bias-free feedforward network of any
//! architecture the first-spike networks have (dense layers and convolutions).
//!
//! Owns the network type ([`ReluNet`]), its forward pass and its backward pass (softmax
//! cross-entropy), one sample at a time. It does not train (see [`super::train`]), convert
//! (see [`mod@super::convert`]) or simulate spikes (see [`super::sim`]); one input's synapses
//! are the private `scatter` module's.
//!
//! **No biases**, on purpose (Diehl et al. 2015): in the converted spiking network a bias is a
//! constant current into every neuron at every step, work that spike counts would not show.
//!
//! Inputs are pixels scaled to `x = p / 255` in [0, 1]. Hidden layers apply ReLU; the output
//! layer is linear (its values are the logits). Layers are the crate's
//! [`crate::network::Layer`] in f32, with the same weight layouts as a first-spike model's, and
//! every pass is input-major: an active input (or a spike) adds its weights to the neurons it
//! reaches.

use super::scatter::{gather_dot, scatter, scatter_grad};
use crate::network::{Arch, Layer};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

/// One fully connected layer without bias, input-major: the crate's dense layer in f32.
pub type Dense = crate::network::Dense<f32>;

/// A bias-free ReLU network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReluNet {
    /// Layers, input side first.
    pub layers: Vec<Layer<f32>>,
}

impl ReluNet {
    /// He-initialised weights, `w ~ N(0, 2 / fan_in)` (`fan_in` = a neuron's inputs: `n_in`
    /// for a dense layer, `k k c_in` for a convolution), drawn layer by layer in weight order
    /// from a ChaCha8 generator seeded by `seed`. `arch` is checked by the caller (e.g. with
    /// [`Arch::parse`]).
    pub fn init(arch: &Arch, seed: u64) -> ReluNet {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let layers = arch.build(|_, fan_in, n| {
            let d = Normal::new(0.0f32, (2.0 / fan_in as f32).sqrt()).expect("finite sd");
            (0..n).map(|_| d.sample(&mut rng)).collect()
        });
        ReluNet { layers }
    }

    /// Layer sizes, input first.
    pub fn arch(&self) -> Vec<usize> {
        crate::network::sizes(&self.layers)
    }

    /// Architecture as a string, e.g. `784-800-10` or `28x28-32c5s2p2-64c5s2p2-10`.
    pub fn arch_string(&self) -> String {
        Arch::of_layers(&self.layers).to_string()
    }

    /// Inputs of the first layer.
    pub fn n_inputs(&self) -> usize {
        self.layers.first().map_or(0, |l| l.n_in())
    }

    /// Neurons of the output layer (classes).
    pub fn n_outputs(&self) -> usize {
        self.layers.last().map_or(0, |l| l.n_out())
    }

    /// Multiply-accumulates of one forward pass that skips nothing: one per synapse,
    /// `sum_l` [`Layer::n_synapses`].
    pub fn dense_macs(&self) -> u64 {
        self.layers.iter().map(|l| l.n_synapses()).sum()
    }

    /// Checks shapes and that every weight is finite.
    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        crate::network::check_layers(&self.layers)
    }
}

/// Scales pixels to network inputs, `x = p / 255` (white = 1, black = 0).
pub fn pixels_into(px: &[u8], out: &mut Vec<f32>) {
    out.clear();
    out.extend(px.iter().map(|&p| p as f32 * (1.0 / 255.0)));
}

/// What a forward pass leaves behind: `a[0]` the input, `a[l]` the output of layer `l`
/// (ReLU for hidden layers, the logits for the last).
#[derive(Clone, Debug, Default)]
pub struct Pass {
    /// Activations per layer, input first.
    pub a: Vec<Vec<f32>>,
}

impl Pass {
    /// The logits.
    pub(crate) fn logits(&self) -> &[f32] {
        self.a.last().map_or(&[], |v| v.as_slice())
    }
}

/// Hidden-layer dropout while training: each hidden activation is zeroed with probability
/// `p` and the survivors scaled by `1 / (1 - p)` (inverted dropout), drawn from `rng`.
pub struct Dropout<'r> {
    /// Probability of dropping a unit, in [0, 1).
    pub(crate) p: f32,
    /// The generator of the masks.
    pub(crate) rng: &'r mut ChaCha8Rng,
}

/// `out = input . W` over the non-zero inputs only (zero inputs and silent ReLUs cost
/// nothing). Returns the multiply-accumulates done: the synapses of the non-zero inputs.
fn layer_forward(layer: &Layer<f32>, input: &[f32], out: &mut Vec<f32>) -> u64 {
    out.clear();
    out.resize(layer.n_out(), 0.0);
    let mut macs = 0;
    for (i, &a) in input.iter().enumerate() {
        if a != 0.0 {
            macs += scatter(layer, i, a, out);
        }
    }
    macs
}

/// Forward pass of one input `x` (length `n_inputs`). With `dropout`, hidden activations are
/// masked (training only). Returns the multiply-accumulates done, skipping zero inputs.
pub fn forward(net: &ReluNet, x: &[f32], pass: &mut Pass, mut dropout: Option<Dropout<'_>>) -> u64 {
    debug_assert_eq!(x.len(), net.n_inputs());
    let nl = net.layers.len();
    pass.a.resize_with(nl + 1, Vec::new);
    pass.a[0].clear();
    pass.a[0].extend_from_slice(x);
    let mut macs = 0;
    for (k, layer) in net.layers.iter().enumerate() {
        let (done, rest) = pass.a.split_at_mut(k + 1);
        let out = &mut rest[0];
        macs += layer_forward(layer, &done[k], out);
        if k + 1 < nl {
            out.iter_mut().for_each(|v| *v = v.max(0.0));
            if let Some(d) = dropout.as_mut() {
                let keep = 1.0 / (1.0 - d.p);
                for v in out.iter_mut() {
                    *v = if d.rng.gen::<f32>() < d.p {
                        0.0
                    } else {
                        *v * keep
                    };
                }
            }
        }
    }
    macs
}

/// Index of the largest value (ties: the lowest index).
pub(crate) fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// Softmax cross-entropy of `logits` for class `y`: `L = logsumexp(z) - z_y`; writes
/// `dL/dz = softmax(z) - onehot(y)` into `delta`. Stable: exponents are taken of `z - max z`.
pub(crate) fn softmax_xent(logits: &[f32], y: usize, delta: &mut Vec<f32>) -> f32 {
    let m = logits.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    delta.clear();
    delta.extend(logits.iter().map(|&z| (z - m).exp()));
    let s: f32 = delta.iter().sum();
    delta.iter_mut().for_each(|d| *d /= s);
    delta[y] -= 1.0;
    s.ln() + m - logits[y]
}

/// Buffers of [`backward`], reused between samples.
#[derive(Clone, Debug, Default)]
pub(crate) struct BackScratch {
    delta: Vec<f32>,
    prev: Vec<f32>,
}

/// Adds the gradient of the softmax cross-entropy of one sample (its forward `pass`, label `y`)
/// to `grads` (one buffer per layer, shaped like the weights) and returns the loss.
///
/// With `delta_l = dL/dz_l` (z the layer's pre-activation), `dL/dW_l[i, j] = a_{l-1, i} delta_l[j]`
/// and `delta_{l-1}[i] = (W_l[i, :] . delta_l) * dA/dz`, where `dA/dz` is `keep_scale` if the
/// unit is active (`a > 0`) and 0 otherwise: ReLU, times the inverted-dropout factor
/// `keep_scale = 1 / (1 - p)` of a unit that survived (1 without dropout).
pub(crate) fn backward(
    net: &ReluNet,
    pass: &Pass,
    y: usize,
    keep_scale: f32,
    grads: &mut [Vec<f32>],
    s: &mut BackScratch,
) -> f32 {
    let loss = softmax_xent(pass.logits(), y, &mut s.delta);
    for k in (0..net.layers.len()).rev() {
        let layer = &net.layers[k];
        let input = &pass.a[k];
        let g = &mut grads[k];
        for (i, &a) in input.iter().enumerate() {
            if a != 0.0 {
                scatter_grad(layer, i, a, &s.delta, g);
            }
        }
        if k > 0 {
            s.prev.clear();
            s.prev.extend(input.iter().enumerate().map(|(i, &a)| {
                if a > 0.0 {
                    gather_dot(layer, i, &s.delta) * keep_scale
                } else {
                    0.0
                }
            }));
            std::mem::swap(&mut s.delta, &mut s.prev);
        }
    }
    loss
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> ReluNet {
        ReluNet::init(&Arch::dense(&[5, 4, 3]), 7)
    }

    /// A padded strided convolution, then a dense layer: 3 x 3 x 2 input, 2 channels.
    fn tiny_conv() -> ReluNet {
        ReluNet::init(&Arch::parse("3x3x2-2c3s2p1-3").unwrap(), 7)
    }

    fn loss_of(net: &ReluNet, x: &[f32], y: usize) -> f32 {
        let mut p = Pass::default();
        forward(net, x, &mut p, None);
        let mut d = Vec::new();
        softmax_xent(p.logits(), y, &mut d)
    }

    /// Backward against central finite differences, in f64-free f32: step 1e-2 on weights of
    /// order 1 keeps the truncation error (h^2) and rounding error (eps / h) both near 1e-4.
    /// A weight whose step switches a ReLU on or off (a kink, where the loss has no
    /// derivative) is skipped; at least three quarters of the weights must be checked.
    #[test]
    fn gradient_matches_finite_differences() {
        let x = [0.3, 0.0, 0.9, 0.5, 0.1];
        check_gradient(&tiny(), &x, 2);
        let x: Vec<f32> = (0..18).map(|i| ((i * 7) % 5) as f32 * 0.2).collect();
        check_gradient(&tiny_conv(), &x, 1);
    }

    /// Which hidden ReLUs are active for input `x`.
    fn active(net: &ReluNet, x: &[f32]) -> Vec<bool> {
        let mut p = Pass::default();
        forward(net, x, &mut p, None);
        let hidden = &p.a[1..p.a.len() - 1];
        hidden.iter().flatten().map(|&v| v > 0.0).collect()
    }

    fn check_gradient(net: &ReluNet, x: &[f32], y: usize) {
        let mut pass = Pass::default();
        forward(net, x, &mut pass, None);
        let mut grads: Vec<Vec<f32>> = net
            .layers
            .iter()
            .map(|l| vec![0.0; l.weights().len()])
            .collect();
        backward(net, &pass, y, 1.0, &mut grads, &mut BackScratch::default());
        assert!(
            grads.iter().flatten().any(|&g| g != 0.0),
            "all gradients zero"
        );
        let h = 1e-2;
        let base = active(net, x);
        let (mut checked, mut total) = (0, 0);
        for (k, g) in grads.iter().enumerate() {
            for (p, &gp) in g.iter().enumerate() {
                total += 1;
                let mut a = net.clone();
                a.layers[k].weights_mut()[p] += h;
                let mut b = net.clone();
                b.layers[k].weights_mut()[p] -= h;
                if active(&a, x) != base || active(&b, x) != base {
                    continue;
                }
                checked += 1;
                let fd = (loss_of(&a, x, y) - loss_of(&b, x, y)) / (2.0 * h);
                assert!(
                    (fd - gp).abs() < 2e-3,
                    "layer {k} weight {p}: fd {fd} vs {gp}"
                );
            }
        }
        assert!(
            4 * checked >= 3 * total,
            "only {checked} of {total} weights checked"
        );
    }

    #[test]
    fn zero_inputs_cost_no_macs() {
        let net = tiny();
        let mut p = Pass::default();
        let macs = forward(&net, &[0.0, 0.0, 1.0, 0.0, 0.0], &mut p, None);
        let active = p.a[1].iter().filter(|&&v| v > 0.0).count() as u64;
        assert_eq!(macs, 4 + active * 3);
    }

    #[test]
    fn softmax_xent_is_stable() {
        let mut d = Vec::new();
        let l = softmax_xent(&[1000.0, 0.0], 0, &mut d);
        assert!(l.is_finite() && l < 1e-6, "{l}");
        assert!((d[0] - 0.0).abs() < 1e-6 && (d[1] - 0.0).abs() < 1e-6);
    }
}
