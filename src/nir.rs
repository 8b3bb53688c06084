//! NIR export: a model as a NIR graph, recorded spikes as NIR `EventData`, both HDF5.
//!
//! Owns the mapping from firstspike's network to the Neuromorphic Intermediate Representation
//! (NIR, <https://neuroir.org>, Python package `nir`) and the HDF5 layout that `nir.read` /
//! `nir.read_data` (nir 1.0.x) expect, written in pure Rust with `hdf5-pure` (no libhdf5). It
//! does not read NIR files, simulate, or print; `tools/nir-roundtrip.py` checks these files with
//! the official `nir` package, and `tools/nest-check` simulates them in NEST.
//!
//! # The mapping (exact)
//!
//! Layer `l` (1-based, as in rasters: layer 0 is the input) becomes three nodes in a chain,
//! `affine_l -> li_l -> if_l`, between an `input` and an `output` node:
//!
//! ```text
//! Affine:  y(t) = W x(t) + b          W[j][i] = w_ji (shape n_out x n_in), b = 0
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
//! # The HDF5 layout (as `nir.write` of nir 1.0.8 lays it out)
//!
//! `/version` (string), `/node` = the graph: `type` = `"NIRGraph"`, `edges` (n x 2 strings),
//! `metadata/…`, `nodes/<name>/type` plus one dataset per field (`weight`, `bias`, `tau`, `r`,
//! `v_leak`, `v_threshold`, `v_reset`, `shape`) and optional `nodes/<name>/metadata/…`.
//! Strings are scalar variable-length UTF-8 datasets, numbers f64 (weights exactly as
//! trained), shapes i64. Large arrays are deflate-compressed, as `nir.write` does by default.
//!
//! Spike records follow `nir.write_data`: the root has attribute `__type__ = "NIRGraphData"`
//! and a group `nodes/<name>` (`__type__ = "NIRNodeData"`) per layer, named after the node
//! whose output the spikes are (`input`, `if_1`, …, `if_L`), holding
//! `observables/spikes` (`__type__ = "EventData"`, attributes `n_neurons`, `t_max`; datasets
//! `idx` (n_samples x n_events, i64, `-1` = no event) and `time` (same shape, f64, `+inf` = no
//! event)), events of a sample in time order (ties by neuron). `/firstspike` holds which data
//! set samples the rows are, their labels and decisions (NIR readers ignore it).

use crate::encoding::{Encoding, EncodingKind};
use crate::error::{Error, Result};
use crate::fsio;
use crate::model::{Layer, Model};
use crate::trace::{SampleTrace, TraceHeader};
use hdf5_pure::{make_f64_type, make_i64_type, AttrValue, FileBuilder, GroupBuilder};
use serde_json::json;
use std::path::Path;

/// The `nir` package version whose `nir.write` layout these files reproduce (and that
/// `tools/nir-roundtrip.py` reads them with). Written to `/version`.
pub const NIR_VERSION: &str = "1.0.8";
/// Name of the graph's input node.
pub const INPUT_NODE: &str = "input";
/// Name of the graph's output node.
pub const OUTPUT_NODE: &str = "output";
/// Name of the observable that holds spike times in an `EventData` file.
pub const SPIKES_OBSERVABLE: &str = "spikes";
/// Arrays with at least this many elements are deflate-compressed (smaller ones are not worth
/// a chunk index).
const DEFLATE_MIN_ELEMENTS: usize = 4096;
/// zlib level of that compression: 4 keeps a 784-800-10 export under a second.
const DEFLATE_LEVEL: u32 = 4;
/// What produced the files.
const PRODUCER: &str = concat!("firstspike ", env!("CARGO_PKG_VERSION"));

/// Name of layer `l`'s (1-based) weight node.
pub fn affine_node(l: usize) -> String {
    format!("affine_{l}")
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

/// The graph's edges, source to target: `input -> affine_1 -> li_1 -> if_1 -> affine_2 -> … ->
/// if_L -> output`, for `n_layers` layers.
pub(crate) fn edges(n_layers: usize) -> Vec<(String, String)> {
    let mut chain = vec![INPUT_NODE.to_string()];
    for l in 1..=n_layers {
        chain.extend([affine_node(l), li_node(l), if_node(l)]);
    }
    chain.push(OUTPUT_NODE.to_string());
    chain
        .windows(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect()
}

/// A layer's weights in NIR's `Affine.weight` layout: shape `(n_out, n_in)`, row-major, so
/// that element `[j][i]` (index `j * n_in + i`) is the weight from input `i` to neuron `j`
/// (the model stores it at `i * n_out + j`). A convolution is written out as the dense
/// matrix it computes ([`crate::network::Conv::to_dense`]: zero where no synapse).
pub fn nir_weight(layer: &Layer) -> Vec<f64> {
    let unrolled;
    let layer = match layer {
        Layer::Dense(d) => d,
        Layer::Conv(c) => {
            unrolled = c.to_dense();
            &unrolled
        }
    };
    let mut w = vec![0.0; layer.w.len()];
    for i in 0..layer.n_in {
        for (j, &x) in layer.row(i).iter().enumerate() {
            w[j * layer.n_in + i] = x;
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
    let e = edges(model.layers.len());
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
    for (k, layer) in model.layers.iter().enumerate() {
        add_layer_nodes(&mut nodes, model, k + 1, layer);
    }
    let mut out = nodes.create_group(OUTPUT_NODE);
    scalar_str(&mut out, "type", "Output");
    out.create_dataset("shape")
        .with_i64_data(&[model.n_outputs() as i64]);
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
    scalar_str(
        &mut meta,
        "mapping",
        "layer l = affine_l (W, b = 0) -> li_l (tau = tau_syn, r = 1, v_leak = 0: the synaptic current, dV/dt) -> if_l (r = 1, v_threshold = theta), each IF neuron firing at most once",
    );
    scalar_str(&mut meta, "decision", "the class is the output neuron that fires first (ties: lowest index); no output spike = no decision");
    g.add_group(meta.finish());
}

/// The `input` node, with the encoding of pixels into spike times.
fn add_input_node(nodes: &mut GroupBuilder, model: &Model) {
    let mut input = nodes.create_group(INPUT_NODE);
    scalar_str(&mut input, "type", "Input");
    input
        .create_dataset("shape")
        .with_i64_data(&[model.n_inputs() as i64]);
    let mut im = input.create_group("metadata");
    scalar_str(&mut im, "encoding", encoding_name(model.encoding.kind));
    scalar_f64(&mut im, "t_max", model.encoding.t_max);
    scalar_i64(&mut im, "silent_below", model.encoding.silent_below as i64);
    scalar_str(&mut im, "formula", &encoding_formula(&model.encoding));
    scalar_str(&mut im, "spikes_per_input", "at most one");
    input.add_group(im.finish());
    nodes.add_group(input.finish());
}

/// Layer `l`'s three nodes: `affine_l` (its weights), `li_l` (the synaptic current) and
/// `if_l` (the neurons, each firing at most once).
fn add_layer_nodes(nodes: &mut GroupBuilder, model: &Model, l: usize, layer: &Layer) {
    let p = model.params;
    let n = layer.n_out();
    let mut a = nodes.create_group(&affine_node(l));
    scalar_str(&mut a, "type", "Affine");
    f64_array(
        &mut a,
        "weight",
        &nir_weight(layer),
        &[n as u64, layer.n_in() as u64],
    );
    f64_array(&mut a, "bias", &vec![0.0; n], &[n as u64]);
    nodes.add_group(a.finish());

    let mut li = nodes.create_group(&li_node(l));
    scalar_str(&mut li, "type", "LI");
    f64_array(&mut li, "tau", &vec![p.tau_syn; n], &[n as u64]);
    // r = 1, not tau_syn: a spike of weight w then adds w / tau_syn to v = dV/dt, and V
    // rises by w in the long run (the model's `tau dV/dt = sum w exp(..)`).
    f64_array(&mut li, "r", &vec![1.0; n], &[n as u64]);
    f64_array(&mut li, "v_leak", &vec![0.0; n], &[n as u64]);
    let mut lm = li.create_group("metadata");
    scalar_str(&mut lm, "role", "synaptic current = dV/dt of the IF node: an input spike of weight w adds w / tau to it, so V rises by w in the long run");
    li.add_group(lm.finish());
    nodes.add_group(li.finish());

    let mut f = nodes.create_group(&if_node(l));
    scalar_str(&mut f, "type", "IF");
    f64_array(&mut f, "r", &vec![1.0; n], &[n as u64]);
    f64_array(&mut f, "v_threshold", &vec![p.theta; n], &[n as u64]);
    f64_array(&mut f, "v_reset", &vec![0.0; n], &[n as u64]);
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

/// Serialises spike records as NIR `EventData` (the bytes `nir.read_data` takes): one node per
/// layer (`input`, `if_1`, …), one row per sample. `header` gives the layer sizes and units.
pub fn events_bytes(header: &TraceHeader, samples: &[SampleTrace]) -> Result<Vec<u8>> {
    let arch = &header.arch;
    for s in samples {
        s.validate(arch)
            .map_err(|w| Error::sample_trace(None, s.sample, w))?;
    }
    // t_max: the end of the recording, the last spike of any layer and sample.
    let t_max = samples
        .iter()
        .flat_map(|s| s.spikes.iter().map(|x| x.time))
        .fold(0.0f64, f64::max);
    let mut fb = FileBuilder::new();
    fb.set_attr("__type__", AttrValue::VarLenString("NIRGraphData".into()));
    let mut nodes = fb.create_group("nodes");
    for (l, &n_neurons) in arch.iter().enumerate() {
        add_event_node(&mut nodes, l, n_neurons, &layer_rows(samples, l), t_max);
    }
    fb.add_group(nodes.finish());
    add_firstspike_group(&mut fb, header, samples);
    fb.finish().map_err(hdf5_error)
}

/// Each sample's spikes of layer `l`, (time, neuron) in time order (ties by neuron).
fn layer_rows(samples: &[SampleTrace], l: usize) -> Vec<Vec<(f64, u32)>> {
    samples
        .iter()
        .map(|s| {
            let mut r: Vec<(f64, u32)> = s
                .spikes
                .iter()
                .filter(|x| x.layer as usize == l)
                .map(|x| (x.time, x.neuron))
                .collect();
            r.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            r
        })
        .collect()
}

/// Layer `l`'s node: an `EventData` of one row per sample (`rows`), padded to the longest row
/// with index -1 and time +inf.
fn add_event_node(
    nodes: &mut GroupBuilder,
    l: usize,
    n_neurons: usize,
    rows: &[Vec<(f64, u32)>],
    t_max: f64,
) {
    let n_samples = rows.len();
    let n_events = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut idx = vec![-1i64; n_samples * n_events];
    let mut time = vec![f64::INFINITY; n_samples * n_events];
    for (s, r) in rows.iter().enumerate() {
        for (e, &(t, j)) in r.iter().enumerate() {
            idx[s * n_events + e] = j as i64;
            time[s * n_events + e] = t;
        }
    }
    let shape = [n_samples as u64, n_events as u64];
    let mut node = nodes.create_group(&spike_node(l));
    node.set_attr("__type__", AttrValue::VarLenString("NIRNodeData".into()));
    let mut obs = node.create_group("observables");
    let mut ev = obs.create_group(SPIKES_OBSERVABLE);
    ev.set_attr("__type__", AttrValue::VarLenString("EventData".into()));
    ev.set_attr("n_neurons", AttrValue::I64(n_neurons as i64));
    ev.set_attr("t_max", AttrValue::F64(t_max));
    if idx.is_empty() {
        ev.create_dataset("idx")
            .with_dtype(make_i64_type())
            .with_shape(&shape);
        ev.create_dataset("time")
            .with_dtype(make_f64_type())
            .with_shape(&shape);
    } else {
        let d = ev.create_dataset("idx");
        d.with_i64_data(&idx).with_shape(&shape);
        if idx.len() >= DEFLATE_MIN_ELEMENTS {
            d.with_deflate(DEFLATE_LEVEL);
        }
        f64_array(&mut ev, "time", &time, &shape);
    }
    obs.add_group(ev.finish());
    node.add_group(obs.finish());
    nodes.add_group(node.finish());
}

/// The `firstspike` group: the model's identity and units, and per sample its index, label
/// and decision (-1 or +inf where missing).
fn add_firstspike_group(fb: &mut FileBuilder, header: &TraceHeader, samples: &[SampleTrace]) {
    let mut fs = fb.create_group("firstspike");
    fs.set_attr("producer", AttrValue::VarLenString(PRODUCER.into()));
    fs.set_attr(
        "model_sha256",
        AttrValue::VarLenString(header.model_sha256.clone()),
    );
    fs.set_attr(
        "arch",
        AttrValue::I64Array(header.arch.iter().map(|&n| n as i64).collect()),
    );
    fs.set_attr("tau_syn", AttrValue::F64(header.tau_syn));
    fs.set_attr("theta", AttrValue::F64(header.theta));
    fs.set_attr(
        "engine",
        AttrValue::VarLenString(format!("{:?}", header.engine).to_lowercase()),
    );
    fs.set_attr("complete", AttrValue::I64(header.complete as i64));
    fs.set_attr(
        "layout",
        AttrValue::VarLenString(
            "nodes/input = raster layer 0 (input spikes), nodes/if_l = layer l; rows are the samples listed in firstspike/sample; times in the model's time unit".into(),
        ),
    );
    if !samples.is_empty() {
        let ids: Vec<i64> = samples.iter().map(|s| s.sample as i64).collect();
        let labels: Vec<i64> = samples
            .iter()
            .map(|s| s.label.map_or(-1, i64::from))
            .collect();
        let dec: Vec<i64> = samples
            .iter()
            .map(|s| s.decision.map_or(-1, |d| d.0 as i64))
            .collect();
        let dect: Vec<f64> = samples
            .iter()
            .map(|s| s.decision.map_or(f64::INFINITY, |d| d.1))
            .collect();
        fs.create_dataset("sample").with_i64_data(&ids);
        fs.create_dataset("label")
            .with_i64_data(&labels)
            .set_attr("missing", AttrValue::I64(-1));
        fs.create_dataset("decision")
            .with_i64_data(&dec)
            .set_attr("missing", AttrValue::I64(-1));
        fs.create_dataset("decision_time").with_f64_data(&dect);
    }
    fb.add_group(fs.finish());
}

/// Writes spike records as NIR `EventData` at `path` (atomically).
pub fn write_events(header: &TraceHeader, samples: &[SampleTrace], path: &Path) -> Result<()> {
    fsio::write_atomic(
        path,
        &events_bytes(header, samples).map_err(|e| nir_at(e, path))?,
    )
}

/// The model's own numbers as JSON, in the **model's** layout (`w[i * n_out + j]`, input `i`
/// to neuron `j`), not NIR's: the reference that `tools/nir-roundtrip.py` checks a NIR file
/// against, so that a transposition in the NIR writer would show. f64 values print in the
/// shortest form that parses back to the same bits.
pub fn model_numbers(model: &Model) -> serde_json::Value {
    json!({
        "format": "firstspike-model-numbers",
        "producer": PRODUCER,
        "arch": model.arch(),
        "tau_syn": model.params.tau_syn,
        "theta": model.params.theta,
        "encoding": {
            "kind": encoding_name(model.encoding.kind),
            "t_max": model.encoding.t_max,
            "silent_below": model.encoding.silent_below,
        },
        "weights_sha256": model.weights_hash(),
        "layout": "layers[k].w[i * n_out + j] is the weight from input i to neuron j of layer k + 1",
        "nodes": {
            "input": INPUT_NODE,
            "output": OUTPUT_NODE,
            "per_layer": ["affine_{l}", "li_{l}", "if_{l}"],
            "edges": edges(model.layers.len()),
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

/// A NIR error of building bytes, as one of writing `path`.
fn nir_at(e: Error, path: &Path) -> Error {
    match e {
        Error::Nir { path: None, what } => Error::Nir {
            path: Some(path.to_path_buf()),
            what,
        },
        e => e,
    }
}

fn hdf5_error(e: hdf5_pure::Error) -> Error {
    Error::Nir {
        path: None,
        what: format!("HDF5 writer: {e}"),
    }
}

fn scalar_str(g: &mut GroupBuilder, name: &str, value: &str) {
    g.create_dataset(name)
        .with_vlen_strings(&[value])
        .with_shape(&[]);
}

fn scalar_f64(g: &mut GroupBuilder, name: &str, value: f64) {
    g.create_dataset(name)
        .with_f64_data(&[value])
        .with_shape(&[]);
}

fn scalar_i64(g: &mut GroupBuilder, name: &str, value: i64) {
    g.create_dataset(name)
        .with_i64_data(&[value])
        .with_shape(&[]);
}

fn f64_array(g: &mut GroupBuilder, name: &str, data: &[f64], shape: &[u64]) {
    let d = g.create_dataset(name);
    d.with_f64_data(data).with_shape(shape);
    if data.len() >= DEFLATE_MIN_ELEMENTS {
        d.with_deflate(DEFLATE_LEVEL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

    #[test]
    fn nir_weight_is_the_transpose() {
        let m = tiny();
        // Model: input 0 -> (0.1, 0.2), input 1 -> (0.3, 0.4), input 2 -> (0.5, 0.6).
        // NIR rows are neurons: neuron 0 <- (0.1, 0.3, 0.5), neuron 1 <- (0.2, 0.4, 0.6).
        assert_eq!(nir_weight(&m.layers[0]), vec![0.1, 0.3, 0.5, 0.2, 0.4, 0.6]);
        assert_eq!(nir_weight(&m.layers[1]), vec![1.0, 2.0]);
    }

    #[test]
    fn edges_chain_every_layer() {
        let e = edges(2);
        let names: Vec<&str> = e.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(
            names,
            ["input", "affine_1", "li_1", "if_1", "affine_2", "li_2", "if_2"]
        );
        assert_eq!(e.last().unwrap().1, "output");
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
}
