// Longer than 600 lines on purpose: one concern, mapping a NIR graph onto a model; its first
// hundred lines are the documentation of that mapping (every accepted node and formula).
//! The import of a feedforward NIR graph as a firstspike model.
//!
//! [`read_model`] reads a NIR graph file (HDF5, whoever wrote it) and returns the model that
//! fires exactly the graph's spikes, or refuses the graph with [`Error::NirImport`], naming
//! the node and the reason ([`NirRefusal`]). Export then import gives back the same model:
//! the same weights bit for bit, the same `tau_syn`, `theta` and encoding.
//!
//! # What is accepted
//!
//! One chain from an `Input` to an `Output` (no branch, no cycle, no other node), made of
//! layers, each
//!
//! ```text
//! [Flatten] -> Affine | Linear | Conv2d -> (LI -> IF | CubaLIF)
//! ```
//!
//! - `Affine` (`y = W x + b`, `W` of shape `(n_out, n_in)`) with `b = 0`, or `Linear`.
//! - `Conv2d` with a square kernel `(c_out, c_in, k, k)`, the same stride and padding on both
//!   axes (`padding` a number, `"valid"` = 0, or `"same"` with stride 1 and an odd `k`, which
//!   is `(k - 1)/2`), padding below `k`, `dilation = 1`, `groups = 1`, `bias = 0`, fed a
//!   `(C, H, W)` map (the `Input`'s shape, or the previous convolution's neurons).
//! - `Flatten` of a whole map (`start_dim = 0`, `end_dim = -1`), before an `Affine`. Where it
//!   flattens a convolution's neurons, the `Affine`'s columns (NIR's channel-major order) are
//!   permuted into firstspike's order ([`super::order`]). Where it flattens the `Input`, the
//!   model is dense and takes its inputs in NIR's flattened order.
//! - Neurons: `LI -> IF` or one `CubaLIF`, parameter arrays of the layer's shape.
//!
//! Refused, with the node named: any other node type (`LIF` and a `CubaLIF` whose `tau_mem`
//! is finite as a leaky membrane, [`NirRefusal::Leak`]; `Delay`, pooling, `Threshold`,
//! `Scale`, `I`, `CubaLI`, nested graphs as [`NirRefusal::UnknownNode`]); a bias that is not
//! zero ([`NirRefusal::Bias`]: a constant input current would drive the integrator without any
//! input spike, and firstspike's neuron has none); a cycle ([`NirRefusal::Recurrent`]); a
//! branch, merge, second input or output, or stray node ([`NirRefusal::Branching`]); nodes in
//! another order ([`NirRefusal::Sequence`]); shapes that disagree ([`NirRefusal::Shape`]); and
//! values firstspike cannot represent ([`NirRefusal::Unrepresentable`], below).
//!
//! # The neurons, and why the weights are rescaled (exact)
//!
//! A spike into an `Affine` is `x(t) = delta(t - t_i)`, so the next node receives `W_ji`
//! times a delta. With `LI -> IF`, neuron `j` (time unit of the graph, potential in the unit
//! of its `v_threshold`):
//!
//! ```text
//! LI:  tau_j dv/dt = (v_leak - v) + r_LI,j I      v_leak = 0 required
//!      a spike of weight W makes v jump by r_LI,j W / tau_j, then v decays with tau_j
//! IF:  dV/dt = r_IF,j v                            fires when V reaches v_threshold,j
//!      V(t) = sum_i r_IF,j r_LI,j W_ji (1 - exp(-(t - t_i)/tau_j))   (t > t_i)
//! ```
//!
//! so a unit of weight adds `g_j = r_LI,j r_IF,j` to V in the long run (the integral of the
//! jump's decay, `(r_LI W / tau) tau = r_LI W`, times `r_IF`). firstspike's neuron is
//! `V(t) = sum_i w_ji (1 - exp(-(t - t_i)/tau_syn))`, firing at `theta`. Neuron `j` fires at
//! the same time in both iff `tau_j = tau_syn` and `V_nir / v_threshold,j = V_fs / theta`,
//! that is
//!
//! ```text
//! w_ji = W_ji s_j,     s_j = g_j / (v_threshold,j / theta)   (dimensionless)
//! ```
//!
//! firstspike has one `tau_syn` and one `theta` per model, and one kernel per convolution
//! channel, so: every `tau_j` of the graph must be the same number (else refused), which
//! becomes `tau_syn` (times stay in the graph's time unit: NIR graphs from other tools are
//! usually in seconds); `theta` is the graph's `v_threshold` if every neuron has the same one
//! (then `v_threshold / theta = 1` and `s_j = g_j`), else 1 (then each neuron's weights are
//! divided by its own threshold). In a convolution every neuron of a channel must have the
//! same `s_j` (else refused: a shared kernel cannot absorb per-position gains). Thresholds,
//! `r` and `w_in` must be finite and > 0, `tau` finite and > 0.
//!
//! **Each neuron fires at most once.** firstspike's neuron ignores all input after its first
//! spike, and the import reads every `IF` and `CubaLIF` so (firstspike's exports say it in the
//! `fires_at_most_once` metadata; other graphs rarely say anything). A graph meant for neurons
//! that reset and fire again has the same first spikes in its first layer; in later layers it
//! has them only as long as no neuron below would have fired a second time before them.
//!
//! The rescaling is exact in real numbers; in f64 each weight is `W * s` rounded once, and
//! `s` itself is exact when the `r` are 1 and the thresholds equal (every firstspike export:
//! then `s = 1` and the weights come back bit for bit). `v_reset` is not read: each neuron
//! fires at most once and is never reset. NIR's `IF` fires when `V > v_threshold`,
//! firstspike's when V reaches theta: the two differ only on a set of input times of measure
//! zero (a potential that touches the threshold without crossing it).
//!
//! `CubaLIF` is `tau_syn dI/dt = -I + w_in S` and `tau_mem dv/dt = (v_leak - v) + r I`. Its
//! current is the `LI` above with `tau = tau_syn`, `r_LI = w_in`. Its membrane leaks unless
//! `tau_mem = +inf`, and at `+inf` NIR's equation does not fix `dv/dt` (it reads
//! `inf dv/dt = r I`); firstspike reads `tau_mem = +inf` as the membrane of NIR's `IF`,
//! `dv/dt = r I`, so `CubaLIF(tau_syn, tau_mem = inf, r, w_in)` is `LI(tau_syn, r = w_in)
//! -> IF(r)` and `g_j = w_in,j r_j`. A finite `tau_mem`, however large, is refused
//! ([`NirRefusal::Leak`]): it leaks, and NIR's equation then gives `dv/dt = (r / tau_mem) I`
//! plus the leak, which tends to 0, not to `r I`, as `tau_mem` grows, so no finite value is
//! close to the reading of `+inf`. `v_leak` must be 0.
//!
//! # The input
//!
//! If the `Input` node's metadata carries firstspike's encoding (`encoding`, `t_max`,
//! `silent_below`, as the export writes them), the model encodes images with it. Otherwise the
//! model gets the default encoding scaled to its time unit (linear, `t_max = 3 tau_syn`,
//! every pixel spiking) and is meant to be given spike times (`--inputs times.npy`,
//! `Model.forward(times)`); the model's `meta.import` says which. A map input is numbered as
//! firstspike numbers maps (`(y W + x) C + c`), the same as NIR's for one channel.

use super::h5::Array;
use super::order::nir_index;
use super::read::{self, Conv2dNode, Graph, Node, Padding};
use crate::encoding::{Encoding, EncodingKind};
use crate::error::{Error, NirRefusal, Result};
use crate::fsio;
use crate::model::{Layer, Model, ModelMeta, MAX_MODEL_BYTES};
use crate::network::{Conv, Dense, Shape};
use crate::neuron::NeuronParams;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::path::Path;

/// `t_max` of the default encoding of an imported model, in units of its tau_syn (that of
/// [`Encoding::default`] at tau_syn = 1).
const DEFAULT_T_MAX_TAUS: f64 = 3.0;

/// Reads the NIR graph file `path` as a model (see the [module documentation](self)).
pub fn read_model(path: &Path) -> Result<Model> {
    let bytes = fsio::read_limited(path, MAX_MODEL_BYTES)?;
    let mut m = model_from_bytes(&bytes).map_err(|e| at_path(e, path))?;
    if let Some(info) = m.meta.import.as_mut() {
        info["file"] = json!(path.display().to_string());
    }
    Ok(m)
}

/// The model of a NIR graph file's bytes (see the [module documentation](self)).
pub fn model_from_bytes(bytes: &[u8]) -> Result<Model> {
    let g = read::graph(bytes.to_vec())?;
    let chain = read::chain(&g)?;
    let (input_encoding, layers) = layers(&g, &chain)?;
    let (tau_syn, theta) = neuron_params(&layers)?;
    let built = layers
        .iter()
        .map(|l| build_layer(l, theta))
        .collect::<Result<Vec<_>>>()?;
    let (encoding, encoding_note) = match input_encoding {
        Some(e) => (e, "from the graph's Input node metadata"),
        None => (
            Encoding {
                kind: EncodingKind::Linear,
                t_max: DEFAULT_T_MAX_TAUS * tau_syn,
                silent_below: 0,
            },
            "default (linear, t_max = 3 tau_syn): the graph carries no firstspike encoding; give the model spike times",
        ),
    };
    let uniform = layers
        .iter()
        .all(|l| l.threshold.iter().all(|&v| v == theta));
    let meta = ModelMeta {
        import: Some(json!({
            "format": "nir",
            "file_sha256": hex_sha256(bytes),
            "nir_version": g.version,
            "producer": g.producer,
            "model_sha256_in_graph": g.model_sha256,
            "nodes": chain,
            "tau_syn": "the graph's synaptic time constant (LI tau, CubaLIF tau_syn), the same for every neuron; times in the graph's time unit",
            "theta": if uniform { "the graph's v_threshold, the same for every neuron" } else { "1: thresholds differ, each neuron's weights divided by its threshold" },
            "weights": "w = W * r_LI * r_IF (CubaLIF: w_in * r) / (v_threshold / theta)",
            "encoding": encoding_note,
        })),
        ..ModelMeta::default()
    };
    let m = Model {
        params: NeuronParams { tau_syn, theta },
        encoding,
        layers: built,
        meta,
    };
    m.validate().map_err(|w| {
        Error::nir_import(
            None,
            NirRefusal::Unrepresentable,
            format!("the imported network is not a valid firstspike model: {w}"),
        )
    })?;
    Ok(m)
}

/// An import error of bytes, as one of the file `path`.
fn at_path(e: Error, path: &Path) -> Error {
    match e {
        Error::NirImport {
            path: None,
            node,
            refusal,
            what,
        } => Error::NirImport {
            path: Some(path.to_path_buf()),
            node,
            refusal,
            what,
        },
        e => e,
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What flows between nodes: a vector, or a `(C, H, W)` map (held as firstspike's [`Shape`]).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Flow {
    /// `n` values; `map` is the convolution map they were flattened from, if they were (the
    /// next `Affine`'s columns are then in NIR's channel-major order of it).
    Vector { n: usize, map: Option<Shape> },
    /// A feature map; `from_layer` says whether a layer's neurons (not the input) make it.
    Map { shape: Shape, from_layer: bool },
}

impl Flow {
    /// The NIR shape: `(n)` or `(C, H, W)`.
    fn nir_shape(&self) -> Vec<usize> {
        match *self {
            Flow::Vector { n, .. } => vec![n],
            Flow::Map { shape, .. } => vec![shape.c, shape.h, shape.w],
        }
    }

    fn len(&self) -> usize {
        self.nir_shape().iter().product()
    }
}

/// A layer's weights as read, NIR layout.
#[derive(Debug)]
enum Weights {
    /// `(n_out, n_in)`, row-major; columns in NIR's order of `map` if the inputs are a map's.
    Dense {
        n_in: usize,
        n_out: usize,
        w: Vec<f64>,
        map: Option<Shape>,
    },
    /// The geometry, with the kernel `(c_out, c_in, k, k)` row-major in `w`.
    Conv(Conv<f64>),
}

/// One layer as read: its weights and, per neuron in NIR's order, the synaptic time constant,
/// the gain (potential per unit weight) and the threshold.
#[derive(Debug)]
struct RawLayer {
    weights: Weights,
    /// The node whose time constants these are (`LI` or `CubaLIF`).
    tau_node: String,
    /// The node whose thresholds these are (`IF` or `CubaLIF`).
    fire_node: String,
    tau: Vec<f64>,
    gain: Vec<f64>,
    threshold: Vec<f64>,
}

/// The input encoding the graph's `Input` node carries (if it does) and the graph's layers,
/// read along `chain`.
fn layers(g: &Graph, chain: &[String]) -> Result<(Option<Encoding>, Vec<RawLayer>)> {
    let Node::Input { shape, encoding } = &g.nodes[&chain[0]] else {
        unreachable!("a chain starts at its Input")
    };
    let mut flow = input_flow(&chain[0], shape)?;
    let mut layers = Vec::new();
    let mut pending: Option<(String, Weights)> = None;
    let mut li: Option<(String, Array, Array)> = None;
    let last = chain.len() - 1;
    for name in &chain[1..last] {
        let node = &g.nodes[name];
        let seq = |what: String| Error::nir_import(Some(name), NirRefusal::Sequence, what);
        match (node, &pending, &li) {
            (Node::Flatten { .. }, None, None) => flow = flatten(name, node, flow)?,
            (Node::Affine { .. } | Node::Conv2d(_), None, None) => {
                let w = weights(name, node, flow)?;
                pending = Some((name.clone(), w));
            }
            (Node::Li { tau, r, v_leak }, Some((_, w)), None) => {
                let shape = out_flow(w).nir_shape();
                for (field, a) in [("tau", tau), ("r", r), ("v_leak", v_leak)] {
                    check_shape(name, field, a, &shape)?;
                }
                require_zero(name, "v_leak", v_leak, NirRefusal::Unrepresentable, V_LEAK_WHY)?;
                li = Some((name.clone(), tau.clone(), r.clone()));
            }
            (Node::If { r, v_threshold }, Some(_), Some(_)) => {
                let (_, w) = pending.take().expect("matched Some");
                let li = li.take().expect("matched Some");
                flow = out_flow(&w);
                layers.push(li_if(name, r, v_threshold, w, li)?);
            }
            (Node::CubaLif { .. }, Some(_), None) => {
                let (_, w) = pending.take().expect("matched Some");
                flow = out_flow(&w);
                layers.push(cuba_lif(name, node, w)?);
            }
            (Node::Other(t), _, _) => return Err(unknown(name, t)),
            (Node::If { .. }, Some((wn, _)), None) => {
                return Err(seq(format!(
                    "an IF directly after the weights '{wn}': fed spikes without a synaptic current it would jump at each one; firstspike's synapses are an LI (a current with a time constant) before the IF, or a CubaLIF"
                )))
            }
            (_, Some((wn, _)), None) => {
                return Err(seq(format!(
                    "{} after the weights '{wn}': neurons (LI -> IF, or CubaLIF) must follow them",
                    node.type_name()
                )))
            }
            (_, _, Some((ln, _, _))) => {
                return Err(seq(format!(
                    "{} after the LI '{ln}': an IF must follow it",
                    node.type_name()
                )))
            }
            (Node::Li { .. } | Node::If { .. } | Node::CubaLif { .. }, None, None) => {
                return Err(seq(format!(
                    "{} without weights before it (an Affine, Linear or Conv2d): {}",
                    node.type_name(),
                    if matches!(node, Node::If { .. }) {
                        "an IF fed spikes directly would jump at each one; firstspike's synapses have a current (LI) with a time constant"
                    } else {
                        "firstspike's layers are weights, then neurons"
                    }
                )))
            }
            _ => return Err(seq(format!("a {} inside the chain", node.type_name()))),
        }
    }
    finish_chain(g, chain, flow, pending, li, layers.is_empty())?;
    Ok((*encoding, layers))
}

/// Why `v_leak` must be 0.
const V_LEAK_WHY: &str = "with no input the current would relax to v_leak and drive the integrator on its own; firstspike's neuron has no such drive";

/// Checks the end of the chain: no weights or LI left without neurons, at least one layer, and
/// an `Output` of the last layer's shape.
fn finish_chain(
    g: &Graph,
    chain: &[String],
    flow: Flow,
    pending: Option<(String, Weights)>,
    li: Option<(String, Array, Array)>,
    no_layer: bool,
) -> Result<()> {
    let out = &chain[chain.len() - 1];
    let seq = |what: String| Err(Error::nir_import(Some(out), NirRefusal::Sequence, what));
    if let Some((w, _)) = pending {
        return seq(format!(
            "the chain ends after the weights '{w}' without neurons"
        ));
    }
    if let Some((l, _, _)) = li {
        return seq(format!("the chain ends after the LI '{l}' without an IF"));
    }
    if no_layer {
        return seq("the graph has no layer (weights, then neurons)".into());
    }
    let Node::Output { shape } = &g.nodes[out] else {
        unreachable!("a chain ends at its Output")
    };
    if *shape != flow.nir_shape() {
        return Err(Error::nir_import(
            Some(out),
            NirRefusal::Shape,
            format!(
                "shape {shape:?}, but the last layer's neurons are {:?}",
                flow.nir_shape()
            ),
        ));
    }
    Ok(())
}

/// The flow out of the `Input` node `name` of NIR shape `shape`: `(n)` or `(C, H, W)`.
fn input_flow(name: &str, shape: &[usize]) -> Result<Flow> {
    match *shape {
        [n] if n > 0 => Ok(Flow::Vector { n, map: None }),
        [c, h, w] if c > 0 && h > 0 && w > 0 => Ok(Flow::Map {
            shape: Shape { h, w, c },
            from_layer: false,
        }),
        _ => Err(Error::nir_import(
            Some(name),
            NirRefusal::Shape,
            format!("input shape {shape:?}: firstspike takes a vector (n) or a map (C, H, W)"),
        )),
    }
}

/// The flow out of the `Flatten` node `name` fed `flow`: the whole of it as a vector.
fn flatten(name: &str, node: &Node, flow: Flow) -> Result<Flow> {
    let Node::Flatten {
        start_dim,
        end_dim,
        input_type,
    } = node
    else {
        unreachable!("called on a Flatten")
    };
    let dims = flow.nir_shape();
    let bad = |what: String| Err(Error::nir_import(Some(name), NirRefusal::Shape, what));
    if let Some(t) = input_type.as_ref().filter(|t| **t != dims) {
        return bad(format!("input_type {t:?}, but it is fed {dims:?}"));
    }
    let nd = dims.len() as i64;
    let norm = |d: i64| if d < 0 { d + nd } else { d };
    if norm(*start_dim) != 0 || norm(*end_dim) != nd - 1 {
        return bad(format!(
            "flattens dimensions {start_dim}..={end_dim} of {dims:?}; firstspike imports a Flatten of the whole map (start_dim 0, end_dim -1)"
        ));
    }
    Ok(match flow {
        Flow::Map { shape, from_layer } => Flow::Vector {
            n: flow.len(),
            map: from_layer.then_some(shape),
        },
        v => v,
    })
}

/// The flow out of a layer with weights `w`: its neurons.
fn out_flow(w: &Weights) -> Flow {
    match w {
        Weights::Dense { n_out, .. } => Flow::Vector {
            n: *n_out,
            map: None,
        },
        Weights::Conv(c) => Flow::Map {
            shape: c.output(),
            from_layer: true,
        },
    }
}

/// The weights of the `Affine`, `Linear` or `Conv2d` node `name`, fed `flow`.
fn weights(name: &str, node: &Node, flow: Flow) -> Result<Weights> {
    let shape_err = |what: String| Error::nir_import(Some(name), NirRefusal::Shape, what);
    match (node, flow) {
        (Node::Affine { weight, bias }, Flow::Vector { n, map }) => {
            let [n_out, n_in] = weight.shape[..] else {
                return Err(shape_err(format!(
                    "weight of shape {:?}, not (n_out, n_in)",
                    weight.shape
                )));
            };
            if n_in != n {
                return Err(shape_err(format!(
                    "weight of shape {:?} takes {n_in} inputs, but it is fed {n}",
                    weight.shape
                )));
            }
            if let Some(b) = bias {
                if !(b.shape.is_empty() || b.shape == [n_out]) {
                    return Err(shape_err(format!("bias of shape {:?}, not ({n_out})", b.shape)));
                }
                require_zero(name, "bias", b, NirRefusal::Bias, BIAS_WHY)?;
            }
            Ok(Weights::Dense {
                n_in,
                n_out,
                w: weight.data.clone(),
                map,
            })
        }
        (Node::Affine { .. }, Flow::Map { shape, .. }) => Err(Error::nir_import(
            Some(name),
            NirRefusal::Sequence,
            format!(
                "fed a (C, H, W) = {:?} map directly; a Flatten must come between a map and an Affine",
                [shape.c, shape.h, shape.w]
            ),
        )),
        (Node::Conv2d(c), Flow::Map { shape, .. }) => conv(name, c, shape).map(Weights::Conv),
        (Node::Conv2d(_), Flow::Vector { n, .. }) => Err(shape_err(format!(
            "fed a vector of {n}; a Conv2d takes a (C, H, W) map"
        ))),
        _ => unreachable!("called on weights"),
    }
}

/// Why a bias is refused.
const BIAS_WHY: &str = "a bias is a constant input current, which would drive the neurons with no input spike; firstspike's neuron has none";

/// The geometry and kernel of the `Conv2d` node `name`, fed a map of `input`.
fn conv(name: &str, c: &Conv2dNode, input: Shape) -> Result<Conv<f64>> {
    let unrep = |what: String| Error::nir_import(Some(name), NirRefusal::Unrepresentable, what);
    let shape_err = |what: String| Error::nir_import(Some(name), NirRefusal::Shape, what);
    let [c_out, c_in, kh, kw] = c.weight.shape[..] else {
        return Err(shape_err(format!(
            "weight of shape {:?}, not (c_out, c_in, kH, kW)",
            c.weight.shape
        )));
    };
    if c.groups != 1 {
        return Err(unrep(format!(
            "groups = {}: firstspike's convolutions take every input channel (groups = 1)",
            c.groups
        )));
    }
    if c_in != input.c {
        return Err(shape_err(format!(
            "a kernel for {c_in} input channels, fed a map of {} (C, H, W = {:?})",
            input.c,
            [input.c, input.h, input.w]
        )));
    }
    if kh != kw {
        return Err(unrep(format!(
            "a {kh}x{kw} kernel: firstspike's kernels are square"
        )));
    }
    let k = kh;
    let pair = |v: &[i64], what: &str| -> Result<i64> {
        match *v {
            [a] | [a, _] if v.iter().all(|&x| x == a) => Ok(a),
            _ => Err(unrep(format!(
                "{what} {v:?}: firstspike uses the same {what} on both axes"
            ))),
        }
    };
    if pair(&c.dilation, "dilation")? != 1 {
        return Err(unrep(format!(
            "dilation {:?}: firstspike's kernels are not dilated",
            c.dilation
        )));
    }
    let stride = usize::try_from(pair(&c.stride, "stride")?)
        .ok()
        .filter(|&s| s > 0)
        .ok_or_else(|| unrep(format!("stride {:?}", c.stride)))?;
    let pad = match &c.padding {
        Padding::Numbers(v) => usize::try_from(pair(v, "padding")?)
            .map_err(|_| unrep(format!("padding {v:?}")))?,
        Padding::Named(s) if s == "valid" => 0,
        Padding::Named(s) if s == "same" && stride == 1 && k % 2 == 1 => (k - 1) / 2,
        Padding::Named(s) => {
            return Err(unrep(format!(
                "padding '{s}' with a {k}x{k} kernel and stride {stride}: firstspike pads every side by the same number ('same' only with stride 1 and an odd kernel)"
            )))
        }
    };
    if pad >= k {
        return Err(unrep(format!(
            "padding {pad} is not below the kernel size {k}"
        )));
    }
    if let Some(hw) = c
        .input_shape
        .as_ref()
        .filter(|hw| **hw != [input.h as i64, input.w as i64])
    {
        return Err(shape_err(format!(
            "input_shape {hw:?}, but it is fed a {}x{} map",
            input.h, input.w
        )));
    }
    if !(c.bias.shape.is_empty() || c.bias.shape == [c_out]) {
        return Err(shape_err(format!(
            "bias of shape {:?}, not ({c_out})",
            c.bias.shape
        )));
    }
    require_zero(name, "bias", &c.bias, NirRefusal::Bias, BIAS_WHY)?;
    let conv = Conv {
        input,
        channels: c_out,
        kernel: k,
        stride,
        pad,
        w: c.weight.data.clone(),
    };
    let out = conv.output();
    if out.h == 0 || out.w == 0 || c_out == 0 {
        return Err(shape_err(format!(
            "a {k}x{k} kernel (stride {stride}, padding {pad}) leaves no output on a {}x{} map",
            input.h, input.w
        )));
    }
    Ok(conv)
}

/// The layer of the `IF` node `name` (resistance `r`, thresholds `v_threshold`) after weights
/// `w` and the `LI` node `li` (its name, `tau` and `r`): gain `r_LI r_IF` per neuron.
fn li_if(
    name: &str,
    r: &Array,
    v_threshold: &Array,
    w: Weights,
    li: (String, Array, Array),
) -> Result<RawLayer> {
    let (li_name, tau, r_li) = li;
    let shape = out_flow(&w).nir_shape();
    check_shape(name, "r", r, &shape)?;
    check_shape(name, "v_threshold", v_threshold, &shape)?;
    positive(&li_name, "tau", &tau)?;
    positive(&li_name, "r", &r_li)?;
    positive(name, "r", r)?;
    positive(name, "v_threshold", v_threshold)?;
    Ok(RawLayer {
        gain: r_li.data.iter().zip(&r.data).map(|(a, b)| a * b).collect(),
        weights: w,
        tau_node: li_name,
        fire_node: name.to_string(),
        tau: tau.data,
        threshold: v_threshold.data.clone(),
    })
}

/// The layer of a `CubaLIF` node `name` after weights `w`: current `LI(tau_syn, r = w_in)`,
/// membrane `IF(r)` (see the [module documentation](self)).
fn cuba_lif(name: &str, node: &Node, w: Weights) -> Result<RawLayer> {
    let Node::CubaLif {
        tau_syn,
        tau_mem,
        r,
        v_leak,
        v_threshold,
        w_in,
    } = node
    else {
        unreachable!("called on a CubaLIF")
    };
    let shape = out_flow(&w).nir_shape();
    let ones = Array {
        shape: shape.clone(),
        data: vec![1.0; shape.iter().product()],
    };
    let w_in = w_in.as_ref().unwrap_or(&ones);
    for (field, a) in [
        ("tau_syn", tau_syn),
        ("tau_mem", tau_mem),
        ("r", r),
        ("v_leak", v_leak),
        ("v_threshold", v_threshold),
        ("w_in", w_in),
    ] {
        check_shape(name, field, a, &shape)?;
    }
    if let Some((j, &t)) = tau_mem
        .data
        .iter()
        .enumerate()
        .find(|(_, t)| **t != f64::INFINITY)
    {
        let refusal = if t > 0.0 {
            NirRefusal::Leak
        } else {
            NirRefusal::Unrepresentable
        };
        return Err(Error::nir_import(
            Some(name),
            refusal,
            format!(
                "tau_mem = {t} (neuron {j}): only tau_mem = inf is read as a membrane without leak (dv/dt = r I); a finite tau_mem leaks, and NIR's dv/dt = (v_leak - v)/tau_mem + (r/tau_mem) I does not approach r I as tau_mem grows"
            ),
        ));
    }
    require_zero(
        name,
        "v_leak",
        v_leak,
        NirRefusal::Unrepresentable,
        V_LEAK_WHY,
    )?;
    for (field, a) in [
        ("tau_syn", tau_syn),
        ("r", r),
        ("w_in", w_in),
        ("v_threshold", v_threshold),
    ] {
        positive(name, field, a)?;
    }
    Ok(RawLayer {
        weights: w,
        tau_node: name.to_string(),
        fire_node: name.to_string(),
        tau: tau_syn.data.clone(),
        gain: w_in.data.iter().zip(&r.data).map(|(a, b)| a * b).collect(),
        threshold: v_threshold.data.clone(),
    })
}

/// Refuses the node `name` unless its array `field` has the layer's shape `want`.
fn check_shape(name: &str, field: &str, a: &Array, want: &[usize]) -> Result<()> {
    if a.shape == want {
        return Ok(());
    }
    Err(Error::nir_import(
        Some(name),
        NirRefusal::Shape,
        format!(
            "{field} of shape {:?}, but its layer's neurons are {want:?}",
            a.shape
        ),
    ))
}

/// Refuses the node `name` unless every value of `field` is finite and > 0.
fn positive(name: &str, field: &str, a: &Array) -> Result<()> {
    match a
        .data
        .iter()
        .enumerate()
        .find(|(_, x)| !(x.is_finite() && **x > 0.0))
    {
        None => Ok(()),
        Some((j, x)) => Err(Error::nir_import(
            Some(name),
            NirRefusal::Unrepresentable,
            format!("{field} = {x} (neuron {j}): firstspike needs a finite {field} > 0"),
        )),
    }
}

/// Refuses the node `name` (as `refusal`, saying `why`) unless every value of `field` is 0.
fn require_zero(name: &str, field: &str, a: &Array, refusal: NirRefusal, why: &str) -> Result<()> {
    match a.data.iter().enumerate().find(|(_, x)| **x != 0.0) {
        None => Ok(()),
        Some((j, x)) => Err(Error::nir_import(
            Some(name),
            refusal,
            format!("{field}[{j}] = {x}, not 0: {why}"),
        )),
    }
}

/// The refusal of a node of a type the import does not take, with the reason.
fn unknown(name: &str, t: &str) -> Error {
    let (refusal, why) = match t {
        "LIF" => (NirRefusal::Leak, "a leaky membrane (tau dv/dt = (v_leak - v) + r I); firstspike's neuron does not leak (use LI -> IF, or CubaLIF with tau_mem = inf)"),
        "CubaLI" | "I" | "LI" => (NirRefusal::UnknownNode, "neurons without a threshold never spike"),
        "Delay" => (NirRefusal::UnknownNode, "firstspike's connections have no delays"),
        "SumPool2d" | "AvgPool2d" => (NirRefusal::UnknownNode, "pooling is not a firstspike layer (a strided convolution is)"),
        "Scale" | "Threshold" => (NirRefusal::UnknownNode, "firstspike has no such elementwise node"),
        "Conv1d" => (NirRefusal::UnknownNode, "firstspike's convolutions are two-dimensional"),
        "NIRGraph" => (NirRefusal::UnknownNode, "a nested graph: firstspike imports one flat chain"),
        _ => (NirRefusal::UnknownNode, "not a NIR node type firstspike imports (Input, Output, Affine, Linear, Conv2d, Flatten, LI, IF, CubaLIF)"),
    };
    Error::nir_import(Some(name), refusal, format!("a {t} node: {why}"))
}

/// The model's `tau_syn` (every neuron's time constant, which must be one number) and `theta`
/// (every neuron's threshold if they are one number, else 1).
fn neuron_params(layers: &[RawLayer]) -> Result<(f64, f64)> {
    let first = &layers[0];
    let tau = first.tau[0];
    for l in layers {
        if let Some((j, &t)) = l.tau.iter().enumerate().find(|(_, t)| **t != tau) {
            return Err(Error::nir_import(
                Some(&l.tau_node),
                NirRefusal::Unrepresentable,
                format!(
                    "time constant {t} (neuron {j}) differs from {tau} (neuron 0 of '{}'): firstspike has one synaptic time constant for every neuron",
                    first.tau_node
                ),
            ));
        }
    }
    let v0 = first.threshold[0];
    let uniform = layers.iter().all(|l| l.threshold.iter().all(|&v| v == v0));
    Ok((tau, if uniform { v0 } else { 1.0 }))
}

/// The firstspike layer of `l`, weights rescaled by `s_j = g_j / (v_threshold_j / theta)`.
fn build_layer(l: &RawLayer, theta: f64) -> Result<Layer> {
    let scale: Vec<f64> = l
        .gain
        .iter()
        .zip(&l.threshold)
        .map(|(g, v)| g / (v / theta))
        .collect();
    Ok(match &l.weights {
        Weights::Dense {
            n_in,
            n_out,
            w,
            map,
        } => {
            let (n_in, n_out) = (*n_in, *n_out);
            let mut out = vec![0.0; n_in * n_out];
            for i in 0..n_in {
                let col = map.map_or(i, |m| nir_index(m, i));
                for j in 0..n_out {
                    out[i * n_out + j] = w[j * n_in + col] * scale[j];
                }
            }
            Layer::Dense(Dense {
                n_in,
                n_out,
                w: out,
            })
        }
        Weights::Conv(c) => {
            let per_channel = channel_scales(l, c, &scale)?;
            let (k, ci, co) = (c.kernel, c.input.c, c.channels);
            let mut out = vec![0.0; c.w.len()];
            for o in 0..co {
                for ch in 0..ci {
                    for tap in 0..k * k {
                        let (ky, kx) = (tap / k, tap % k);
                        out[(tap * ci + ch) * co + o] =
                            c.w[((o * ci + ch) * k + ky) * k + kx] * per_channel[o];
                    }
                }
            }
            Layer::Conv(Conv {
                w: out,
                ..c.clone()
            })
        }
    })
}

/// Each output channel's scale, which must be the same for every neuron of the channel
/// (`scale` in NIR's order: channel `o` is `o H W .. (o + 1) H W`).
fn channel_scales(l: &RawLayer, c: &Conv<f64>, scale: &[f64]) -> Result<Vec<f64>> {
    let out = c.output();
    let per = out.h * out.w;
    (0..c.channels)
        .map(|o| {
            let s = &scale[o * per..(o + 1) * per];
            match s.iter().position(|&x| x != s[0]) {
                None => Ok(s[0]),
                Some(p) => Err(Error::nir_import(
                    Some(&l.fire_node),
                    NirRefusal::Unrepresentable,
                    format!(
                        "channel {o}: neurons {} and {} have different gains or thresholds (r, w_in, v_threshold); a convolution shares one kernel across positions, which cannot absorb them",
                        o * per,
                        o * per + p
                    ),
                )),
            }
        })
        .collect()
}
