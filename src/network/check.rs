//! The checks of a stack of layers where it enters (a model file, a network built in
//! memory): sizes, weights per shape, chaining, finite weights, at most [`MAX_WEIGHTS`].

use super::conv::Conv;
use super::layer::Layer;

/// Most weights a network may hold, all layers together (2 GiB of f64, the most a model file
/// holds). Checked on load and before training, before anything is allocated from a size.
pub(crate) const MAX_WEIGHTS: usize = 1 << 28;

/// Checks a stack of layers: at least one, no zero size, at most [`MAX_WEIGHTS`] weights in
/// all, each layer holding as many as its shape needs and taking as many inputs as the one
/// before has neurons, and every weight finite. The error says which layer (from 0) and what
/// is wrong.
pub(crate) fn check_layers<F: num_traits::Float + std::fmt::Display>(
    layers: &[Layer<F>],
) -> std::result::Result<(), String> {
    for (k, l) in layers.iter().enumerate() {
        if let Layer::Conv(c) = l {
            check_conv(c).map_err(|e| format!("layer {k}: {e}"))?;
            if let Some(Layer::Conv(prev)) = k.checked_sub(1).map(|p| &layers[p]) {
                if prev.output() != c.input {
                    return Err(format!(
                        "layer {k} takes a {} map but layer {} makes {}",
                        c.input,
                        k - 1,
                        prev.output()
                    ));
                }
            }
        }
    }
    check_shapes(layers.iter().map(|l| match l {
        Layer::Dense(d) => (d.n_in, d.n_out, d.n_in.checked_mul(d.n_out), &d.w[..]),
        Layer::Conv(c) => (
            c.input.len().unwrap_or(0),
            c.output().len().unwrap_or(0),
            c.n_weights(),
            &c.w[..],
        ),
    }))
}

/// The geometry of one convolution: sizes not zero and not overflowing, padding below the
/// kernel, an output of at least one position.
fn check_conv<F>(c: &Conv<F>) -> std::result::Result<(), String> {
    let sizes = [
        c.input.h, c.input.w, c.input.c, c.channels, c.kernel, c.stride,
    ];
    if sizes.contains(&0) {
        return Err(format!(
            "a convolution with a size of 0 (input {}, {} channels, kernel {}, stride {})",
            c.input, c.channels, c.kernel, c.stride
        ));
    }
    if c.input.len().is_none() || c.output().len().is_none() || c.n_weights().is_none() {
        return Err("a convolution too large to count".into());
    }
    if c.pad >= c.kernel {
        return Err(format!(
            "padding {} is not less than the kernel {}",
            c.pad, c.kernel
        ));
    }
    let out = c.output();
    if out.h == 0 || out.w == 0 {
        return Err(format!(
            "a {}x{} kernel does not fit the {} input",
            c.kernel, c.kernel, c.input
        ));
    }
    Ok(())
}

/// The checks of [`check_layers`] over (inputs, neurons, weights the shape needs or `None` if
/// that overflows, weights). Weight positions in messages are dense (input, neuron) pairs.
fn check_shapes<'a, F: num_traits::Float + std::fmt::Display + 'a>(
    layers: impl Iterator<Item = (usize, usize, Option<usize>, &'a [F])>,
) -> std::result::Result<(), String> {
    let mut before: Option<usize> = None;
    let mut total = 0usize;
    for (k, (n_in, n_out, want, w)) in layers.enumerate() {
        if n_in == 0 || n_out == 0 {
            return Err(format!("layer {k} has a zero size ({n_in} -> {n_out})"));
        }
        let want = want.filter(|&n| n <= MAX_WEIGHTS - total).ok_or_else(|| {
            format!(
                "layer {k}: {n_in} x {n_out} weights, more than the {MAX_WEIGHTS} a network may hold"
            )
        })?;
        total += want;
        if w.len() != want {
            return Err(format!(
                "layer {k}: {} weights for {n_in} x {n_out}",
                w.len()
            ));
        }
        if let Some(prev) = before.filter(|&p| p != n_in) {
            return Err(format!(
                "layer {k} takes {n_in} inputs but layer {} has {prev} neurons",
                k - 1
            ));
        }
        if let Some(p) = w.iter().position(|x| !x.is_finite()) {
            return Err(format!(
                "layer {k}: weight {p} (input {}, neuron {}) is {}",
                p / n_out,
                p % n_out,
                w[p]
            ));
        }
        before = Some(n_out);
    }
    match before {
        None => Err("the network has no layers".into()),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{sizes, Dense};

    #[test]
    fn arch_and_precision_of_a_dense_stack() {
        let layers = vec![
            Layer::dense(3, 2, vec![0.5f64; 6]),
            Layer::dense(2, 4, vec![1.0; 8]),
        ];
        assert_eq!(sizes(&layers), [3, 2, 4]);
        assert_eq!(check_layers(&layers), Ok(()));
        let f32s = layers[1].map(|&w| w as f32);
        assert_eq!(f32s.weights(), [1.0f32; 8]);
        assert_eq!((f32s.n_in(), f32s.n_out()), (2, 4));
    }

    #[test]
    fn check_layers_names_the_bad_layer() {
        let ok = Layer::dense(3, 2, vec![0.5f64; 6]);
        let chained = |second: Layer<f64>| check_layers(&[ok.clone(), second]).unwrap_err();
        assert!(chained(Layer::dense(3, 2, vec![0.0; 6])).contains("layer 1 takes 3 inputs"));
        assert!(chained(Layer::dense(2, 2, vec![0.0; 5])).contains("layer 1: 5 weights"));
        assert!(chained(Layer::dense(2, 0, vec![])).contains("zero size"));
        let mut nan = vec![0.0; 4];
        nan[3] = f64::NAN;
        assert!(chained(Layer::dense(2, 2, nan)).contains("input 1, neuron 1) is NaN"));
        assert!(check_layers::<f64>(&[]).unwrap_err().contains("no layers"));
        let huge = Layer::<f64>::Dense(Dense {
            n_in: usize::MAX / 2,
            n_out: 3,
            w: vec![],
        });
        assert!(check_layers(&[huge]).unwrap_err().contains("more than"));
    }
}
