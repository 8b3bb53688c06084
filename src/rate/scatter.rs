//! One input's synapses in the rate baseline's layers (f32), input-major: what an active
//! input (a ReLU activation, or a spike) does to the layer after it, and the gradients back.
//!
//! Owns the three operations every part of the baseline needs for either layer kind of
//! [`crate::network::Layer`] ([`scatter`], [`gather_dot`], [`scatter_grad`]), so that the ReLU
//! network ([`super::relu`]), its conversion and the time-stepped simulator ([`super::sim`])
//! run dense layers and convolutions alike. Pure arithmetic, no state.
//!
//! With `W[i, j]` the weight from input `i` to neuron `j` (zero where there is no synapse: a
//! convolution's neuron sees only its receptive field, with its channel's shared kernel),
//! and `T(i)` the neurons input `i` reaches:
//!
//! - [`scatter`]: `out[j] += a W[i, j]` for `j` in `T(i)`; returns `|T(i)|`, the
//!   multiply-accumulates done (or the synaptic events of one spike, `a = 1`).
//! - [`gather_dot`]: `sum_{j in T(i)} W[i, j] delta[j]` (backpropagation to input `i`).
//! - [`scatter_grad`]: `dL/dW[i, j] += a delta[j]` for `j` in `T(i)`; a convolution's shared
//!   weight gathers the sum over every position that uses it.

use crate::network::Layer;

/// `out[j] += a W[i, j]` over the targets `j` of input `i`; returns how many there were.
#[inline]
pub(crate) fn scatter(layer: &Layer<f32>, i: usize, a: f32, out: &mut [f32]) -> u64 {
    match layer {
        Layer::Dense(d) => {
            for (o, &w) in out.iter_mut().zip(d.row(i)) {
                *o += a * w;
            }
            d.n_out as u64
        }
        Layer::Conv(c) => {
            let co = c.channels;
            let mut n = 0u64;
            c.for_each_target(i, |tap, j0| {
                let w = &c.w[tap * co..(tap + 1) * co];
                for (o, &w) in out[j0..j0 + co].iter_mut().zip(w) {
                    *o += a * w;
                }
                n += co as u64;
            });
            n
        }
    }
}

/// `sum_j W[i, j] delta[j]` over the targets `j` of input `i`.
#[inline]
pub(crate) fn gather_dot(layer: &Layer<f32>, i: usize, delta: &[f32]) -> f32 {
    match layer {
        Layer::Dense(d) => d.row(i).iter().zip(delta).map(|(w, e)| w * e).sum(),
        Layer::Conv(c) => {
            let co = c.channels;
            let mut s = 0.0f32;
            c.for_each_target(i, |tap, j0| {
                let w = &c.w[tap * co..(tap + 1) * co];
                s += w
                    .iter()
                    .zip(&delta[j0..j0 + co])
                    .map(|(w, e)| w * e)
                    .sum::<f32>();
            });
            s
        }
    }
}

/// `g[W[i, j]] += a delta[j]` over the targets `j` of input `i`, `g` shaped like the layer's
/// weights ([`Layer::weights`]).
#[inline]
pub(crate) fn scatter_grad(layer: &Layer<f32>, i: usize, a: f32, delta: &[f32], g: &mut [f32]) {
    match layer {
        Layer::Dense(d) => {
            let n = d.n_out;
            for (gw, &e) in g[i * n..(i + 1) * n].iter_mut().zip(delta) {
                *gw += a * e;
            }
        }
        Layer::Conv(c) => {
            let co = c.channels;
            c.for_each_target(i, |tap, j0| {
                for (gw, &e) in g[tap * co..(tap + 1) * co]
                    .iter_mut()
                    .zip(&delta[j0..j0 + co])
                {
                    *gw += a * e;
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{Conv, Shape};

    /// A padded, strided convolution against its dense form ([`Conv::to_dense`]): every
    /// operation gives the same numbers, and scatter counts the synapses that exist.
    #[test]
    fn a_convolution_acts_as_its_dense_form() {
        let conv = Conv {
            input: Shape { h: 5, w: 4, c: 2 },
            channels: 3,
            kernel: 3,
            stride: 2,
            pad: 1,
            w: (0..3 * 3 * 2 * 3)
                .map(|k| ((k + 1) as f32 * 0.37).sin())
                .collect(),
        };
        let dense = conv.to_dense();
        let (n_in, n_out) = (dense.n_in, dense.n_out);
        let (c, d) = (Layer::Conv(conv.clone()), Layer::Dense(dense.clone()));
        let delta: Vec<f32> = (0..n_out).map(|j| (j as f32 * 0.71).cos()).collect();
        let mut gc = vec![0.0f32; conv.w.len()];
        let mut gd = vec![0.0f32; dense.w.len()];
        for i in 0..n_in {
            let (mut oc, mut od) = (vec![0.0f32; n_out], vec![0.0f32; n_out]);
            let k = scatter(&c, i, 0.5, &mut oc);
            scatter(&d, i, 0.5, &mut od);
            for (a, b) in oc.iter().zip(&od) {
                assert!((a - b).abs() < 1e-6, "input {i}: {oc:?} vs {od:?}");
            }
            let synapses = (0..n_out)
                .filter(|&j| dense.w[i * n_out + j] != 0.0)
                .count();
            assert_eq!(k as usize, synapses, "input {i}");
            let (a, b) = (gather_dot(&c, i, &delta), gather_dot(&d, i, &delta));
            assert!((a - b).abs() < 1e-5, "input {i}: {a} vs {b}");
            scatter_grad(&c, i, 0.5, &delta, &mut gc);
            scatter_grad(&d, i, 0.5, &delta, &mut gd);
        }
        // The shared weight's gradient is the sum of its copies' gradients in the dense form.
        let mut sum = vec![0.0f32; conv.w.len()];
        let out = conv.output();
        for oy in 0..out.h {
            for ox in 0..out.w {
                conv.for_each_input(oy, ox, |tap, i| {
                    for o in 0..3 {
                        sum[tap * 3 + o] += gd[i * n_out + out.index(oy, ox, o)];
                    }
                });
            }
        }
        for (a, b) in gc.iter().zip(&sum) {
            assert!((a - b).abs() < 1e-4, "{gc:?} vs {sum:?}");
        }
    }
}
