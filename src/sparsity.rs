//! Sparsity in the units the literature uses: spikes per neuron, and synaptic operations
//! against the multiply-accumulates of a ReLU network of the same shape.
//!
//! Owns the conversion of mean counts per inference into those units ([`Sparsity::of`]) and the
//! size they are measured against ([`NetSize`]). It does not count: the event engine counts the
//! first-spike network's spikes and synaptic events ([`crate::event::RunSummary`]), the rate
//! simulator the rate network's ([`crate::rate::sim`]).
//!
//! # The units
//!
//! With `s_l` the mean spikes of layer `l` per inference (layer 0 = the input spikes, one per
//! non-silent pixel for first-spike coding), `n_l` its neurons (pixels for layer 0), `E` the
//! mean synaptic events per inference (one per spike and target) and `M` the synapses of the
//! network:
//!
//! - **spikes per neuron** of layer `l`: `s_l / n_l` (dimensionless; at most 1 in a first-spike
//!   network, where each neuron fires at most once). Overall: `sum_l s_l / sum_l n_l`, inputs
//!   included; also without the input layer, `sum_{l>=1} s_l / sum_{l>=1} n_l`, and over the
//!   hidden layers alone (`1 <= l < L`), the figure Stanojevic et al. (Nature Communications
//!   15:6793, 2024) report ("0.3 spikes per neuron").
//! - **synaptic operations per ReLU multiply-accumulate**: `E / M`. A ReLU network of the same
//!   shape does `M` multiply-accumulates per image when it skips nothing (one per synapse;
//!   a convolution's synapses are every neuron's inputs inside the map), and a spiking network
//!   does one accumulate per synaptic event; the ratio is how Rueckauer and Liu (ISCAS 2018)
//!   compare converted networks with the network they came from. Below 1: fewer operations
//!   than the ReLU network.
//!
//! No energy figure is derived: that needs per-operation energies of a named chip.

use crate::network::Layer;
use serde::Serialize;

/// What sparsity is measured against: a network's neurons per layer and its synapses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NetSize {
    /// Neurons per layer, inputs first (layer 0 = the inputs, one per pixel).
    pub neurons: Vec<usize>,
    /// Synapses, all layers: the multiply-accumulates per image of a ReLU network of the same
    /// shape that skips nothing.
    pub synapses: u64,
}

impl NetSize {
    /// The size of a stack of layers (of any kind).
    pub fn of_layers<F>(layers: &[Layer<F>]) -> NetSize {
        let mut neurons = vec![layers.first().map_or(0, |l| l.n_in())];
        neurons.extend(layers.iter().map(|l| l.n_out()));
        NetSize {
            neurons,
            synapses: layers.iter().map(|l| l.n_synapses()).sum(),
        }
    }
}

/// Mean counts per inference in the literature's units (see the module notes).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Sparsity {
    /// `s_l / n_l` per layer, inputs first.
    pub spikes_per_neuron_per_layer: Vec<f64>,
    /// `sum_l s_l / sum_l n_l`, input layer included.
    pub spikes_per_neuron: f64,
    /// The same without the input layer (hidden and output neurons).
    pub spikes_per_neuron_without_inputs: f64,
    /// The same over the hidden layers alone; `None` for a network without one.
    pub spikes_per_hidden_neuron: Option<f64>,
    /// Mean synaptic events per inference, `E`.
    pub synaptic_events: f64,
    /// Multiply-accumulates per image of the ReLU network of the same shape, `M`.
    pub relu_macs: u64,
    /// `E / M`.
    pub synaptic_events_per_relu_mac: f64,
}

/// `a / b`, `NaN` for an empty denominator (no neurons: no figure).
fn per(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        f64::NAN
    }
}

impl Sparsity {
    /// The figures of mean spikes per layer `spikes` (inputs first, one per layer of `size`)
    /// and mean synaptic events `events`, both per inference.
    pub fn of(size: &NetSize, spikes: &[f64], events: f64) -> Sparsity {
        debug_assert_eq!(spikes.len(), size.neurons.len());
        let nl = size.neurons.len().min(spikes.len());
        let sum = |r: std::ops::Range<usize>| -> (f64, f64) {
            r.fold((0.0, 0.0), |(s, n), l| {
                (s + spikes[l], n + size.neurons[l] as f64)
            })
        };
        let ratio = |(s, n): (f64, f64)| per(s, n);
        Sparsity {
            spikes_per_neuron_per_layer: (0..nl)
                .map(|l| per(spikes[l], size.neurons[l] as f64))
                .collect(),
            spikes_per_neuron: ratio(sum(0..nl)),
            spikes_per_neuron_without_inputs: ratio(sum(1.min(nl)..nl)),
            spikes_per_hidden_neuron: (nl > 2).then(|| ratio(sum(1..nl - 1))),
            synaptic_events: events,
            relu_macs: size.synapses,
            synaptic_events_per_relu_mac: per(events, size.synapses as f64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{Conv, Shape};

    /// 4 inputs, 3 hidden, 2 outputs; 2 input spikes, 1 hidden, 1 output per inference.
    #[test]
    fn spikes_per_neuron_by_layer_and_overall() {
        let size = NetSize {
            neurons: vec![4, 3, 2],
            synapses: 4 * 3 + 3 * 2,
        };
        let s = Sparsity::of(&size, &[2.0, 1.0, 1.0], 9.0);
        assert_eq!(s.spikes_per_neuron_per_layer, vec![0.5, 1.0 / 3.0, 0.5]);
        assert_eq!(s.spikes_per_neuron, 4.0 / 9.0);
        assert_eq!(s.spikes_per_neuron_without_inputs, 2.0 / 5.0);
        assert_eq!(s.spikes_per_hidden_neuron, Some(1.0 / 3.0));
        assert_eq!(s.synaptic_events_per_relu_mac, 9.0 / 18.0);
        let flat = Sparsity::of(
            &NetSize {
                neurons: vec![4, 2],
                synapses: 8,
            },
            &[2.0, 1.0],
            2.0,
        );
        assert_eq!(flat.spikes_per_hidden_neuron, None);
    }

    /// A convolution's multiply-accumulates are its neurons' inputs inside the map: 3 x 3
    /// input, 2 x 2 kernel, stride 1, no padding, 2 channels: 4 positions x 4 taps x 2.
    #[test]
    fn a_convolution_counts_its_synapses() {
        let conv = Conv {
            input: Shape { h: 3, w: 3, c: 1 },
            channels: 2,
            kernel: 2,
            stride: 1,
            pad: 0,
            w: vec![0.0f32; 8],
        };
        let layers = vec![Layer::Conv(conv), Layer::dense(8, 3, vec![0.0f32; 24])];
        let size = NetSize::of_layers(&layers);
        assert_eq!(size.neurons, vec![9, 8, 3]);
        assert_eq!(size.synapses, 4 * 4 * 2 + 8 * 3);
    }
}
