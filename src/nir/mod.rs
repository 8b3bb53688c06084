//! NIR: a model as a NIR graph and back, recorded spikes as NIR `EventData`, all HDF5.
//!
//! Owns the mapping between firstspike's network and the Neuromorphic Intermediate
//! Representation (NIR, <https://neuroir.org>, Python package `nir`) and the HDF5 layout that
//! `nir.read` / `nir.read_data` (nir 1.0.x) expect, in pure Rust with `hdf5-pure` (no
//! libhdf5): the export ([`graph_bytes`], [`write_graph`], [`events_bytes`]) and the import of a
//! feedforward graph as a model ([`read_model`], [`model_from_bytes`]). It does not simulate
//! or print; `tools/nir-roundtrip.py` checks exported files with the official `nir` package,
//! `tools/nir-import-check.py` imports a graph that package wrote, and `tools/nest-check`
//! simulates exports in NEST.
//!
//! # The mapping (exact)
//!
//! Layer `l` (1-based, as in rasters: layer 0 is the input) becomes three nodes in a chain,
//! a weight node, `li_l` and `if_l`, between an `input` and an `output` node. The weight node
//! is `affine_l` for a dense layer and `conv_l` for a convolution:
//!
//! ```text
//! Affine:  y(t) = W x(t) + b          W[j][i] = w_ji (shape n_out x n_in), b = 0
//! Conv2d:  y[o][oy][ox](t) = sum_{c,ky,kx} K[o][c][ky][kx] x[c][oy s + ky - p][ox s + kx - p](t)
//!          K shape (c_out, c_in, k, k), stride (s, s), padding (p, p), dilation 1, groups 1,
//!          bias 0, input_shape (H, W); taps outside the input map add nothing (zero padding)
//! LI:      tau dv/dt = (v_leak - v) + r I,   tau = tau_syn, r = 1, v_leak = 0
//! IF:      dV/dt = r I,  spike when V reaches v_threshold;   r = 1, v_threshold = theta
//! ```
//!
//! With input spikes `x(t) = sum_i delta(t - t_i)`, each spike makes the LI state `v` jump by
//! `r w_i / tau = w_i / tau_syn`, then decay with `tau`: `v` is exactly
//! `dV/dt = (1/tau_syn) sum_i w_i H(t - t_i) exp(-(t - t_i)/tau_syn)`, and the IF node
//! integrates it without leak: the firstspike neuron (see [`crate::neuron`]). Per unit weight V
//! rises by `r_IF r_LI = 1` in the long run, as in firstspike, where a weight is a potential.
//! (With `r_LI = tau_syn`, V would rise by `tau_syn w`: the same network only at tau_syn = 1.)
//! What NIR cannot say goes in node metadata: each `if_l` neuron
//! **fires at most once** (it ignores all input after its first spike, so `v_reset` is
//! irrelevant), the `input` node carries the pixel-to-spike-time encoding, and the graph carries
//! the units (time in units of the model's time unit, in which `tau_syn` is given; potential in
//! units of theta), the model's weights sha256 and the producer.
//!
//! # Neuron order of feature maps (convolutions)
//!
//! NIR, like PyTorch, shapes a feature map `(C, H, W)` and flattens it channel-major: the
//! element `[c][y][x]` is number `(c H + y) W + x`. firstspike numbers the same neuron
//! `(y W + x) C + c` (row, column, then channel fastest: see [`crate::network`]). So:
//!
//! - a convolution's `li_l` and `if_l` nodes have shape `(C, H, W)` (parameters uniform, so
//!   their order does not matter), and the `input` node of a network whose first layer is a
//!   convolution has shape `(c_in, H, W)`;
//! - the kernel is `K[o][c][ky][kx] = w[((ky k + kx) c_in + c) c_out + o]` (firstspike stores
//!   it `[ky][kx][c_in][c_out]`);
//! - where a convolution's map feeds a dense layer, a `flatten_l` node (`Flatten`,
//!   `start_dim = 0`, `end_dim = -1`, `input_type = (C, H, W)`) sits between `if_l` and
//!   `affine_{l+1}`, whose weight columns are therefore in channel-major order:
//!   `W[j][(c H + y) W + x] = w[((y W + x) C + c) n_out + j]` ([`order`]).
//!
//! For one channel (a grey image) both orders are the same. Spike records ([`events_bytes`])
//! and rasters keep firstspike's numbering (see `/firstspike/layout` in the file).
//!
//! # The HDF5 layout (as `nir.write` of nir 1.0.8 lays it out)
//!
//! `/version` (string), `/node` = the graph: `type` = `"NIRGraph"`, `edges` (n x 2 strings),
//! `metadata/…`, `nodes/<name>/type` plus one dataset per field (`weight`, `bias`, `tau`, `r`,
//! `v_leak`, `v_threshold`, `v_reset`, `shape`; for `Conv2d` also `stride`, `padding`,
//! `dilation` (i64, shape (2,)), `groups` (i64 scalar) and `input_shape` (i64, (2,)); for
//! `Flatten` `start_dim`, `end_dim` (i64 scalars) and `input_type` (i64 array)) and optional
//! `nodes/<name>/metadata/…`. Strings are scalar variable-length UTF-8 datasets, numbers f64
//! (weights exactly as trained), shapes i64. Large arrays are deflate-compressed, as
//! `nir.write` does by default.
//!
//! Spike records follow `nir.write_data`: the root has attribute `__type__ = "NIRGraphData"`
//! and a group `nodes/<name>` (`__type__ = "NIRNodeData"`) per layer, named after the node
//! whose output the spikes are (`input`, `if_1`, …, `if_L`), holding
//! `observables/spikes` (`__type__ = "EventData"`, attributes `n_neurons`, `t_max`; datasets
//! `idx` (n_samples x n_events, i64, `-1` = no event) and `time` (same shape, f64, `+inf` = no
//! event)), events of a sample in time order (ties by neuron). `/firstspike` holds which data
//! set samples the rows are, their labels and decisions (NIR readers ignore it).
//!
//! # Import
//!
//! [`read_model`] takes a feedforward NIR graph, whoever wrote it, and returns the model that
//! computes the same spikes, or refuses it with [`crate::Error::NirImport`], naming the node
//! and the reason ([`NirRefusal`]). What it accepts, and how it maps NIR's time constants,
//! resistances and thresholds onto firstspike's one `tau_syn` and `theta`, is documented in
//! [`import`]. Export then import gives back the same weights, bit for bit.

mod events;
mod graph;
mod h5;
pub mod import;
pub mod order;
mod read;

pub use crate::error::NirRefusal;
pub use events::{events_bytes, write_events};
pub use graph::{graph_bytes, model_numbers, nir_weight, nir_weights, write_graph};
pub use import::{model_from_bytes, read_model};

/// The `nir` package version whose `nir.write` layout these files reproduce (and that
/// `tools/nir-roundtrip.py` reads them with). Written to `/version`.
pub const NIR_VERSION: &str = "1.0.8";
/// Name of the graph's input node.
pub const INPUT_NODE: &str = "input";
/// Name of the graph's output node.
pub const OUTPUT_NODE: &str = "output";
/// Name of the observable that holds spike times in an `EventData` file.
pub const SPIKES_OBSERVABLE: &str = "spikes";
/// What produced the files.
const PRODUCER: &str = concat!("firstspike ", env!("CARGO_PKG_VERSION"));

/// Name of layer `l`'s (1-based) weight node when the layer is dense.
pub fn affine_node(l: usize) -> String {
    format!("affine_{l}")
}

/// Name of layer `l`'s (1-based) weight node when the layer is a convolution.
pub fn conv_node(l: usize) -> String {
    format!("conv_{l}")
}

/// Name of the node that flattens layer `l`'s (1-based) feature map for a dense layer `l + 1`.
pub fn flatten_node(l: usize) -> String {
    format!("flatten_{l}")
}

/// Name of layer `l`'s (1-based) synaptic-current node.
pub fn li_node(l: usize) -> String {
    format!("li_{l}")
}

/// Name of layer `l`'s (1-based) integrate-and-fire node, whose output is layer `l`'s spikes.
pub fn if_node(l: usize) -> String {
    format!("if_{l}")
}

/// Name of the node whose output is raster layer `l` (0 = the input spikes).
pub fn spike_node(l: usize) -> String {
    if l == 0 {
        INPUT_NODE.to_string()
    } else {
        if_node(l)
    }
}

/// A NIR error of building bytes, as one of writing `path`.
fn nir_at(e: crate::Error, path: &std::path::Path) -> crate::Error {
    match e {
        crate::Error::Nir { path: None, what } => crate::Error::Nir {
            path: Some(path.to_path_buf()),
            what,
        },
        e => e,
    }
}

/// An error of the HDF5 writer.
fn hdf5_error(e: hdf5_pure::Error) -> crate::Error {
    crate::Error::Nir {
        path: None,
        what: format!("HDF5 writer: {e}"),
    }
}
