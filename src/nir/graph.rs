//! The export of a model as a NIR graph: nodes, edges and metadata in `nir.write`'s layout (see
//! the [module documentation](super) for the mapping and the neuron order), and the model's
//! own numbers as JSON, the reference `tools/nir-roundtrip.py` checks a graph against.

use super::h5::{f64_array, i64_array, scalar_f64, scalar_i64, scalar_str};
use super::order::{nir_index, nir_shape};
use super::{
    affine_node, conv_node, flatten_node, hdf5_error, if_node, li_node, nir_at, INPUT_NODE,
    NIR_VERSION, OUTPUT_NODE, PRODUCER,
};
use crate::encoding::{Encoding, EncodingKind};
use crate::error::{Error, Result};
use crate::fsio;
use crate::model::{Layer, Model};
use crate::network::Shape;
use hdf5_pure::{FileBuilder, GroupBuilder};
use serde_json::json;
use std::path::Path;

/// Name of layer `l`'s (1-based) weight node: `affine_l` or `conv_l`.
fn weight_node(layer: &Layer, l: usize) -> String {
    match layer {
        Layer::Dense(_) => affine_node(l),
        Layer::Conv(_) => conv_node(l),
    }
}

/// The feature map layer `k` (0-based) reads, if the layer before it is a convolution and it
/// is dense (its inputs then come through a `Flatten`, in NIR's channel-major order).
fn flattened_map(layers: &[Layer], k: usize) -> Option<Shape> {
    match (k.checked_sub(1).map(|p| &layers[p]), &layers[k]) {
        (Some(Layer::Conv(c)), Layer::Dense(_)) => Some(c.output()),
        _ => None,
    }
}

/// The NIR shape of a layer's neurons: `(C, H, W)` for a convolution, `(n)` for a dense layer.
fn neuron_shape(layer: &Layer) -> Vec<u64> {
    match layer {
        Layer::Dense(d) => vec![d.n_out as u64],
        Layer::Conv(c) => nir_shape(c.output()).map(|x| x as u64).to_vec(),
    }
}

/// The NIR shape of the network's input: `(c_in, H, W)` when the first layer is a
/// convolution, else `(n_inputs)`.
fn input_shape(model: &Model) -> Vec<u64> {
    match model.layers.first() {
        Some(Layer::Conv(c)) => nir_shape(c.input).map(|x| x as u64).to_vec(),
        _ => vec![model.n_inputs() as u64],
    }
}

/// The graph's nodes in chain order: `input`, then per layer `l` its weight node (preceded by
/// `flatten_{l-1}` where a convolution's map feeds it), `li_l`, `if_l`, then `output`.
fn chain(layers: &[Layer]) -> Vec<String> {
    let mut chain = vec![INPUT_NODE.to_string()];
    for (k, layer) in layers.iter().enumerate() {
        let l = k + 1;
        if flattened_map(layers, k).is_some() {
            chain.push(flatten_node(k));
        }
        chain.extend([weight_node(layer, l), li_node(l), if_node(l)]);
    }
    chain.push(OUTPUT_NODE.to_string());
    chain
}

/// The graph's edges, source to target, along [`chain`]: for a dense network
/// `input -> affine_1 -> li_1 -> if_1 -> affine_2 -> … -> if_L -> output`.
pub(crate) fn edges(layers: &[Layer]) -> Vec<(String, String)> {
    chain(layers)
        .windows(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect()
}

/// A layer's weights in its NIR node's layout, row-major, inputs in firstspike's order:
/// for a dense layer `Affine.weight`, shape `(n_out, n_in)`, element `[j][i]` (index
/// `j n_in + i`) the weight from input `i` to neuron `j` (the model stores it at
/// `i n_out + j`); for a convolution `Conv2d.weight`, shape `(c_out, c_in, k, k)`, element
/// `[o][c][ky][kx]` the model's `w[((ky k + kx) c_in + c) c_out + o]`. A dense layer after a
/// convolution reads its inputs in NIR's order in the graph: see [`nir_weights`].
pub fn nir_weight(layer: &Layer) -> Vec<f64> {
    match layer {
        Layer::Dense(d) => dense_weight(d, None),
        Layer::Conv(c) => {
            let (k, ci, co) = (c.kernel, c.input.c, c.channels);
            let mut w = vec![0.0; c.w.len()];
            for tap in 0..k * k {
                let (ky, kx) = (tap / k, tap % k);
                for ch in 0..ci {
                    for o in 0..co {
                        w[((o * ci + ch) * k + ky) * k + kx] = c.w[(tap * ci + ch) * co + o];
                    }
                }
            }
            w
        }
    }
}

/// Every layer's weights exactly as the graph holds them: [`nir_weight`], except that a dense
/// layer fed by a convolution's map has its columns in NIR's channel-major order,
/// `W[j][(c H + y) W + x] = w[((y W + x) C + c) n_out + j]`.
pub fn nir_weights(model: &Model) -> Vec<Vec<f64>> {
    model
        .layers
        .iter()
        .enumerate()
        .map(
            |(k, layer)| match (layer, flattened_map(&model.layers, k)) {
                (Layer::Dense(d), Some(map)) => dense_weight(d, Some(map)),
                _ => nir_weight(layer),
            },
        )
        .collect()
}

/// A dense layer's `(n_out, n_in)` matrix; input `i` in column `i`, or in column
/// `nir_index(map, i)` when the inputs are the neurons of `map`.
fn dense_weight(d: &crate::network::Dense<f64>, map: Option<Shape>) -> Vec<f64> {
    let mut w = vec![0.0; d.w.len()];
    for i in 0..d.n_in {
        let col = map.map_or(i, |m| nir_index(m, i));
        for (j, &x) in d.row(i).iter().enumerate() {
            w[j * d.n_in + col] = x;
        }
    }
    w
}

/// The encoding's name as the CLI spells it (`--encoding`).
pub(crate) fn encoding_name(kind: EncodingKind) -> &'static str {
    match kind {
        EncodingKind::Linear => "linear",
        EncodingKind::ZLinear => "zlinear",
    }
}

/// The encoding's formula, for people reading the metadata.
fn encoding_formula(e: &Encoding) -> String {
    let map = match e.kind {
        EncodingKind::Linear => "t = t_max * (1 - p/255)".to_string(),
        EncodingKind::ZLinear => "t = ln(1 + (exp(t_max) - 1) * (1 - p/255))".to_string(),
    };
    format!(
        "pixel p in 0..255 sends one spike at {map} (time unit of the model); pixels with p < {} send none",
        e.silent_below
    )
}

/// Serialises the model as a NIR graph file (the bytes `nir.read` takes).
pub fn graph_bytes(model: &Model) -> Result<Vec<u8>> {
    model
        .validate()
        .map_err(|w| Error::model_in_memory(format!("refusing to export: {w}")))?;
    let mut fb = FileBuilder::new();
    fb.create_dataset("version")
        .with_vlen_strings(&[NIR_VERSION])
        .with_shape(&[]);
    let mut g = fb.create_group("node");
    scalar_str(&mut g, "type", "NIRGraph");
    let e = edges(&model.layers);
    let flat: Vec<&str> = e
        .iter()
        .flat_map(|(a, b)| [a.as_str(), b.as_str()])
        .collect();
    g.create_dataset("edges")
        .with_vlen_strings(&flat)
        .with_shape(&[e.len() as u64, 2]);
    add_graph_metadata(&mut g, model);

    let mut nodes = g.create_group("nodes");
    add_input_node(&mut nodes, model);
    let weights = nir_weights(model);
    for (k, layer) in model.layers.iter().enumerate() {
        if let Some(map) = flattened_map(&model.layers, k) {
            add_flatten_node(&mut nodes, k, map);
        }
        add_weight_node(&mut nodes, k + 1, layer, &weights[k]);
        add_neuron_nodes(&mut nodes, model, k + 1, layer);
    }
    let mut out = nodes.create_group(OUTPUT_NODE);
    scalar_str(&mut out, "type", "Output");
    let shape = model.layers.last().map_or_else(Vec::new, neuron_shape);
    out.create_dataset("shape")
        .with_i64_data(&shape.iter().map(|&x| x as i64).collect::<Vec<_>>());
    nodes.add_group(out.finish());
    g.add_group(nodes.finish());
    fb.add_group(g.finish());
    fb.finish().map_err(hdf5_error)
}

/// The graph's `metadata` group: the model's identity, units, neuron and mapping, in words.
fn add_graph_metadata(g: &mut GroupBuilder, model: &Model) {
    let p = model.params;
    let mut meta = g.create_group("metadata");
    scalar_str(&mut meta, "producer", PRODUCER);
    scalar_str(&mut meta, "model_sha256", &model.weights_hash());
    scalar_str(&mut meta, "arch", &model.arch_string());
    scalar_f64(&mut meta, "tau_syn", p.tau_syn);
    scalar_f64(&mut meta, "theta", p.theta);
    scalar_str(
        &mut meta,
        "time_unit",
        "the model's time unit (tau_syn is given in it; default models have tau_syn = 1); no seconds implied",
    );
    scalar_str(
        &mut meta,
        "potential_unit",
        "the model's potential unit (the threshold theta is given in it); a weight is a potential: an input spike of weight w raises V by w in the long run (dV/dt jumps by w / tau_syn)",
    );
    scalar_str(
        &mut meta,
        "neuron",
        "time-to-first-spike: tau_syn dV/dt = sum_i w_i H(t - t_i) exp(-(t - t_i)/tau_syn), V(0) = 0, fires once when V reaches theta (H. Mostafa, IEEE TNNLS 2018, there with tau_syn = 1)",
    );
    let any_conv = model.layers.iter().any(|l| matches!(l, Layer::Conv(_)));
    if any_conv {
        scalar_str(
            &mut meta,
            "mapping",
            "layer l = affine_l (W, b = 0) or conv_l (Conv2d, kernel (c_out, c_in, k, k), bias 0) -> li_l (tau = tau_syn, r = 1, v_leak = 0: the synaptic current, dV/dt) -> if_l (r = 1, v_threshold = theta), each IF neuron firing at most once; flatten_l (start_dim 0) where a convolution's map feeds a dense layer",
        );
        scalar_str(
            &mut meta,
            "neuron_order",
            "feature maps are (C, H, W), flattened channel-major as in PyTorch: NIR index (c H + y) W + x is firstspike neuron (y W + x) C + c; spike records (EventData) keep firstspike's numbering",
        );
    } else {
        scalar_str(
            &mut meta,
            "mapping",
            "layer l = affine_l (W, b = 0) -> li_l (tau = tau_syn, r = 1, v_leak = 0: the synaptic current, dV/dt) -> if_l (r = 1, v_threshold = theta), each IF neuron firing at most once",
        );
    }
    scalar_str(&mut meta, "decision", "the class is the output neuron that fires first (ties: lowest index); no output spike = no decision");
    g.add_group(meta.finish());
}

/// The `input` node, with the encoding of pixels into spike times.
fn add_input_node(nodes: &mut GroupBuilder, model: &Model) {
    let mut input = nodes.create_group(INPUT_NODE);
    scalar_str(&mut input, "type", "Input");
    let shape: Vec<i64> = input_shape(model).iter().map(|&x| x as i64).collect();
    input.create_dataset("shape").with_i64_data(&shape);
    let mut im = input.create_group("metadata");
    scalar_str(&mut im, "encoding", encoding_name(model.encoding.kind));
    scalar_f64(&mut im, "t_max", model.encoding.t_max);
    scalar_i64(&mut im, "silent_below", model.encoding.silent_below as i64);
    scalar_str(&mut im, "formula", &encoding_formula(&model.encoding));
    scalar_str(&mut im, "spikes_per_input", "at most one");
    input.add_group(im.finish());
    nodes.add_group(input.finish());
}

/// `flatten_k`: layer `k`'s feature map `map` as a vector, channel-major (`start_dim = 0`,
/// `end_dim = -1`, `input_type = (C, H, W)`).
fn add_flatten_node(nodes: &mut GroupBuilder, k: usize, map: Shape) {
    let mut f = nodes.create_group(&flatten_node(k));
    scalar_str(&mut f, "type", "Flatten");
    scalar_i64(&mut f, "start_dim", 0);
    scalar_i64(&mut f, "end_dim", -1);
    let shape = nir_shape(map).map(|x| x as i64);
    i64_array(&mut f, "input_type", &shape, &[3]);
    nodes.add_group(f.finish());
}

/// Layer `l`'s weight node: `affine_l` (weights `w`, shape `(n_out, n_in)`, bias 0) or
/// `conv_l` (kernel `w`, shape `(c_out, c_in, k, k)`, stride, padding, dilation 1, groups 1,
/// bias 0, input_shape `(H, W)`).
fn add_weight_node(nodes: &mut GroupBuilder, l: usize, layer: &Layer, w: &[f64]) {
    let mut a = nodes.create_group(&weight_node(layer, l));
    match layer {
        Layer::Dense(d) => {
            scalar_str(&mut a, "type", "Affine");
            f64_array(&mut a, "weight", w, &[d.n_out as u64, d.n_in as u64]);
            f64_array(&mut a, "bias", &vec![0.0; d.n_out], &[d.n_out as u64]);
        }
        Layer::Conv(c) => {
            scalar_str(&mut a, "type", "Conv2d");
            let (k, ci, co) = (c.kernel as u64, c.input.c as u64, c.channels as u64);
            f64_array(&mut a, "weight", w, &[co, ci, k, k]);
            let pair = |x: usize| [x as i64, x as i64];
            i64_array(&mut a, "stride", &pair(c.stride), &[2]);
            i64_array(&mut a, "padding", &pair(c.pad), &[2]);
            i64_array(&mut a, "dilation", &pair(1), &[2]);
            scalar_i64(&mut a, "groups", 1);
            f64_array(&mut a, "bias", &vec![0.0; c.channels], &[co]);
            let hw = [c.input.h as i64, c.input.w as i64];
            i64_array(&mut a, "input_shape", &hw, &[2]);
        }
    }
    nodes.add_group(a.finish());
}

/// Layer `l`'s `li_l` (the synaptic current) and `if_l` (the neurons, each firing at most
/// once), every array of the layer's neuron shape.
fn add_neuron_nodes(nodes: &mut GroupBuilder, model: &Model, l: usize, layer: &Layer) {
    let p = model.params;
    let n = layer.n_out();
    let shape = neuron_shape(layer);
    let mut li = nodes.create_group(&li_node(l));
    scalar_str(&mut li, "type", "LI");
    f64_array(&mut li, "tau", &vec![p.tau_syn; n], &shape);
    // r = 1, not tau_syn: a spike of weight w then adds w / tau_syn to v = dV/dt, and V
    // rises by w in the long run (the model's `tau dV/dt = sum w exp(..)`).
    f64_array(&mut li, "r", &vec![1.0; n], &shape);
    f64_array(&mut li, "v_leak", &vec![0.0; n], &shape);
    let mut lm = li.create_group("metadata");
    scalar_str(&mut lm, "role", "synaptic current = dV/dt of the IF node: an input spike of weight w adds w / tau to it, so V rises by w in the long run");
    li.add_group(lm.finish());
    nodes.add_group(li.finish());

    let mut f = nodes.create_group(&if_node(l));
    scalar_str(&mut f, "type", "IF");
    f64_array(&mut f, "r", &vec![1.0; n], &shape);
    f64_array(&mut f, "v_threshold", &vec![p.theta; n], &shape);
    f64_array(&mut f, "v_reset", &vec![0.0; n], &shape);
    let mut fm = f.create_group("metadata");
    scalar_i64(&mut fm, "fires_at_most_once", 1);
    scalar_str(
        &mut fm,
        "firing",
        "each neuron fires at most once: after its first spike it ignores all input (v_reset is never used)",
    );
    scalar_i64(&mut fm, "layer", l as i64);
    f.add_group(fm.finish());
    nodes.add_group(f.finish());
}

/// Writes the model as a NIR graph file at `path` (atomically).
pub fn write_graph(model: &Model, path: &Path) -> Result<()> {
    fsio::write_atomic(path, &graph_bytes(model).map_err(|e| nir_at(e, path))?)
}

/// The model's own numbers as JSON, in the **model's** layout (`w[i * n_out + j]`, input `i`
/// to neuron `j`; a kernel `[ky][kx][c_in][c_out]`), not NIR's: the reference that
/// `tools/nir-roundtrip.py` checks a NIR file against, so that a transposition in the NIR
/// writer would show. f64 values print in the shortest form that parses back to the same bits.
pub fn model_numbers(model: &Model) -> serde_json::Value {
    json!({
        "format": "firstspike-model-numbers",
        "producer": PRODUCER,
        "arch": model.arch(),
        "arch_string": model.arch_string(),
        "tau_syn": model.params.tau_syn,
        "theta": model.params.theta,
        "encoding": {
            "kind": encoding_name(model.encoding.kind),
            "t_max": model.encoding.t_max,
            "silent_below": model.encoding.silent_below,
        },
        "weights_sha256": model.weights_hash(),
        "layout": "layers[k].w[i * n_out + j] is the weight from input i to neuron j of layer k + 1 (inputs and neurons of a feature map numbered (y * w + x) * c + channel)",
        "nodes": {
            "input": INPUT_NODE,
            "output": OUTPUT_NODE,
            "per_layer": ["affine_{l} or conv_{l}", "li_{l}", "if_{l}"],
            "edges": edges(&model.layers),
        },
        "layers": model.layers.iter().map(|l| match l {
            Layer::Dense(d) => json!({"n_in": d.n_in, "n_out": d.n_out, "w": d.w}),
            Layer::Conv(c) => json!({
                "kind": "conv2d", "input_hwc": [c.input.h, c.input.w, c.input.c],
                "channels": c.channels, "kernel": c.kernel, "stride": c.stride, "pad": c.pad,
                "n_in": l.n_in(), "n_out": l.n_out(),
                "w_layout": "w[((ky * kernel + kx) * c_in + c) * channels + o]", "w": c.w,
            }),
        }).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Arch;
    use crate::neuron::NeuronParams;

    /// The model tests' 3-2-1 model, with parameters other than the defaults.
    fn tiny() -> Model {
        Model {
            params: NeuronParams {
                tau_syn: 2.0,
                theta: 1.5,
            },
            ..crate::model::tests::tiny()
        }
    }

    /// A `3x3x2-2c2-3` model whose weights are their own index (so every move shows).
    fn conv_model() -> Model {
        let arch = Arch::parse("3x3x2-2c2-3").unwrap();
        let mut n = 0.0;
        let layers = arch.build(|_, _, count| {
            (0..count)
                .map(|_| {
                    n += 1.0;
                    n
                })
                .collect()
        });
        Model { layers, ..tiny() }
    }

    #[test]
    fn nir_weight_is_the_transpose() {
        let m = tiny();
        // Model: input 0 -> (0.1, 0.2), input 1 -> (0.3, 0.4), input 2 -> (0.5, 0.6).
        // NIR rows are neurons: neuron 0 <- (0.1, 0.3, 0.5), neuron 1 <- (0.2, 0.4, 0.6).
        assert_eq!(nir_weight(&m.layers[0]), vec![0.1, 0.3, 0.5, 0.2, 0.4, 0.6]);
        assert_eq!(nir_weight(&m.layers[1]), vec![1.0, 2.0]);
        assert_eq!(
            nir_weights(&m),
            vec![nir_weight(&m.layers[0]), nir_weight(&m.layers[1])]
        );
    }

    #[test]
    fn a_kernel_is_given_as_c_out_c_in_k_k() {
        let m = conv_model();
        let Layer::Conv(c) = &m.layers[0] else {
            panic!("conv")
        };
        let k = nir_weight(&m.layers[0]);
        // [o][c][ky][kx] = w[((ky k + kx) c_in + c) c_out + o], k = 2, c_in = 2, c_out = 2.
        for (o, ch, ky, kx) in [(0, 0, 0, 0), (1, 0, 0, 1), (0, 1, 1, 0), (1, 1, 1, 1)] {
            assert_eq!(
                k[((o * 2 + ch) * 2 + ky) * 2 + kx],
                c.w[((ky * 2 + kx) * 2 + ch) * 2 + o]
            );
        }
    }

    #[test]
    fn a_dense_layer_after_a_map_reads_it_channel_major() {
        let m = conv_model();
        let (Layer::Conv(c), Layer::Dense(d)) = (&m.layers[0], &m.layers[1]) else {
            panic!("conv then dense")
        };
        let map = c.output(); // 2x2x2
        let w = &nir_weights(&m)[1];
        for i in 0..d.n_in {
            let (y, x, ch) = map.position(i);
            for j in 0..d.n_out {
                assert_eq!(w[j * d.n_in + (ch * 2 + y) * 2 + x], d.w[i * d.n_out + j]);
            }
        }
    }

    #[test]
    fn edges_chain_every_layer() {
        let e = edges(&tiny().layers);
        let names: Vec<&str> = e.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(
            names,
            ["input", "affine_1", "li_1", "if_1", "affine_2", "li_2", "if_2"]
        );
        assert_eq!(e.last().unwrap().1, "output");
        let e = edges(&conv_model().layers);
        let names: Vec<&str> = e.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(
            names,
            [
                "input",
                "conv_1",
                "li_1",
                "if_1",
                "flatten_1",
                "affine_2",
                "li_2",
                "if_2"
            ]
        );
    }

    #[test]
    fn graph_reads_back_with_the_nir_layout() {
        let m = tiny();
        let f = hdf5_pure::File::from_bytes(graph_bytes(&m).unwrap()).unwrap();
        assert_eq!(
            f.dataset("version").unwrap().read_string().unwrap(),
            [NIR_VERSION]
        );
        assert_eq!(
            f.dataset("node/type").unwrap().read_string().unwrap(),
            ["NIRGraph"]
        );
        let w = f.dataset("node/nodes/affine_1/weight").unwrap();
        assert_eq!(w.shape().unwrap(), vec![2, 3]);
        assert_eq!(w.read_f64().unwrap(), nir_weight(&m.layers[0]));
        assert_eq!(
            f.dataset("node/nodes/li_2/tau")
                .unwrap()
                .read_f64()
                .unwrap(),
            vec![2.0]
        );
        assert_eq!(
            f.dataset("node/nodes/if_1/v_threshold")
                .unwrap()
                .read_f64()
                .unwrap(),
            vec![1.5, 1.5]
        );
        assert_eq!(
            f.dataset("node/nodes/input/shape")
                .unwrap()
                .read_i64()
                .unwrap(),
            vec![3]
        );
        assert_eq!(
            f.dataset("node/edges").unwrap().shape().unwrap(),
            vec![7, 2]
        );
    }

    #[test]
    fn a_conv_graph_has_conv2d_and_flatten_nodes() {
        let m = conv_model();
        let f = hdf5_pure::File::from_bytes(graph_bytes(&m).unwrap()).unwrap();
        let ints = |p: &str| f.dataset(p).unwrap().read_i64().unwrap();
        let shape = |p: &str| f.dataset(p).unwrap().shape().unwrap();
        assert_eq!(ints("node/nodes/input/shape"), [2, 3, 3]);
        assert_eq!(shape("node/nodes/conv_1/weight"), [2, 2, 2, 2]);
        assert_eq!(ints("node/nodes/conv_1/stride"), [1, 1]);
        assert_eq!(ints("node/nodes/conv_1/padding"), [0, 0]);
        assert_eq!(ints("node/nodes/conv_1/dilation"), [1, 1]);
        assert_eq!(ints("node/nodes/conv_1/groups"), [1]);
        assert_eq!(ints("node/nodes/conv_1/input_shape"), [3, 3]);
        assert_eq!(shape("node/nodes/li_1/tau"), [2, 2, 2]);
        assert_eq!(shape("node/nodes/if_1/v_threshold"), [2, 2, 2]);
        assert_eq!(ints("node/nodes/flatten_1/input_type"), [2, 2, 2]);
        assert_eq!(ints("node/nodes/flatten_1/start_dim"), [0]);
        assert_eq!(shape("node/nodes/affine_2/weight"), [3, 8]);
        assert_eq!(ints("node/nodes/output/shape"), [3]);
    }
}
