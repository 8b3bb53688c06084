//! NIR import: export then import gives back the same model (weights bit for bit, the same
//! spikes on MNIST test digits), for a dense and a convolutional model; a graph written here
//! node by node in `nir.write`'s layout (not by firstspike's exporter), with time constants,
//! resistances and thresholds other than 1 and differing between neurons, fires as NIR's
//! equations say (computed here independently, in NIR's neuron order); each refusal names its
//! node and kind; and the `import` command. The same check against the official `nir` package
//! is `tools/nir-import-check.py`, run by `.ci/interop`.

#![cfg(feature = "nir")]

mod common;
use common::tmp;

use firstspike::event::{Engine, EventNet, RunOptions};
use firstspike::model::{Layer, Model};
use firstspike::network::{Arch, Shape};
use firstspike::nir::{self, order, NirRefusal};
use firstspike::trace::{SampleTrace, TraceRecorder};
use firstspike::{mnist_test_slice, Error};
use hdf5_pure::{FileBuilder, GroupBuilder};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;
use std::process::Command;

// ------------------------------------------------------- a NIR writer for the tests

/// A field of a node as `nir.write` stores it.
#[derive(Clone)]
enum F {
    /// f64 array of a shape (`[]` for a scalar).
    Num(Vec<f64>, Vec<u64>),
    /// i64 array of a shape.
    Int(Vec<i64>, Vec<u64>),
    /// A scalar string.
    Str(String),
}

/// A node: name, NIR type, fields.
#[derive(Clone)]
struct N {
    name: String,
    ty: String,
    fields: Vec<(String, F)>,
}

fn node(name: &str, ty: &str, fields: Vec<(&str, F)>) -> N {
    N {
        name: name.into(),
        ty: ty.into(),
        fields: fields.into_iter().map(|(k, v)| (k.into(), v)).collect(),
    }
}

fn num(v: Vec<f64>, shape: &[usize]) -> F {
    F::Num(v, shape.iter().map(|&x| x as u64).collect())
}

fn full(x: f64, shape: &[usize]) -> F {
    num(vec![x; shape.iter().product()], shape)
}

fn ints(v: &[i64]) -> F {
    F::Int(v.to_vec(), vec![v.len() as u64])
}

fn int(x: i64) -> F {
    F::Int(vec![x], vec![])
}

fn put(g: &mut GroupBuilder, name: &str, f: &F) {
    match f {
        F::Num(v, s) => {
            g.create_dataset(name).with_f64_data(v).with_shape(s);
        }
        F::Int(v, s) => {
            g.create_dataset(name).with_i64_data(v).with_shape(s);
        }
        F::Str(t) => {
            g.create_dataset(name)
                .with_vlen_strings(&[t.as_str()])
                .with_shape(&[]);
        }
    }
}

/// The bytes of a NIR graph file of these nodes and edges, in `nir.write`'s layout.
fn nir_bytes(nodes: &[N], edges: &[(String, String)]) -> Vec<u8> {
    let mut fb = FileBuilder::new();
    fb.create_dataset("version")
        .with_vlen_strings(&["1.0.8"])
        .with_shape(&[]);
    let mut g = fb.create_group("node");
    put(&mut g, "type", &F::Str("NIRGraph".into()));
    let flat: Vec<&str> = edges
        .iter()
        .flat_map(|(a, b)| [a.as_str(), b.as_str()])
        .collect();
    g.create_dataset("edges")
        .with_vlen_strings(&flat)
        .with_shape(&[edges.len() as u64, 2]);
    let mut ns = g.create_group("nodes");
    for n in nodes {
        let mut ng = ns.create_group(&n.name);
        put(&mut ng, "type", &F::Str(n.ty.clone()));
        for (k, v) in &n.fields {
            put(&mut ng, k, v);
        }
        ns.add_group(ng.finish());
    }
    g.add_group(ns.finish());
    fb.add_group(g.finish());
    fb.finish().unwrap()
}

/// Edges along the nodes in order.
fn chain_edges(nodes: &[N]) -> Vec<(String, String)> {
    nodes
        .windows(2)
        .map(|p| (p[0].name.clone(), p[1].name.clone()))
        .collect()
}

// ------------------------------------------------------- networks in NIR's own terms

/// A layer's weights as NIR states them.
#[derive(Clone)]
enum W {
    /// `Affine.weight`, `(n_out, n_in)`, inputs in NIR's order (flattened channel-major).
    Dense {
        w: Vec<f64>,
        n_out: usize,
        n_in: usize,
    },
    /// `Conv2d`: kernel `(co, ci, k, k)`, stride, padding, input `(ci, h, w)`.
    Conv {
        k: Vec<f64>,
        co: usize,
        ci: usize,
        kk: usize,
        stride: usize,
        pad: usize,
        h: usize,
        w: usize,
    },
}

impl W {
    fn out_shape(&self) -> Vec<usize> {
        match *self {
            W::Dense { n_out, .. } => vec![n_out],
            W::Conv {
                co,
                kk,
                stride,
                pad,
                h,
                w,
                ..
            } => vec![
                co,
                (h + 2 * pad - kk) / stride + 1,
                (w + 2 * pad - kk) / stride + 1,
            ],
        }
    }

    /// Neuron `n`'s inputs (NIR index of the input, weight).
    fn inputs_of(&self, n: usize) -> Vec<(usize, f64)> {
        match self {
            W::Dense { w, n_in, .. } => (0..*n_in).map(|i| (i, w[n * n_in + i])).collect(),
            W::Conv {
                k,
                ci,
                kk,
                stride,
                pad,
                h,
                w,
                ..
            } => {
                let o = self.out_shape();
                let (oc, oy, ox) = (n / (o[1] * o[2]), (n / o[2]) % o[1], n % o[2]);
                let mut ins = Vec::new();
                for c in 0..*ci {
                    for ky in 0..*kk {
                        for kx in 0..*kk {
                            let iy = (oy * stride + ky) as i64 - *pad as i64;
                            let ix = (ox * stride + kx) as i64 - *pad as i64;
                            if iy >= 0 && ix >= 0 && (iy as usize) < *h && (ix as usize) < *w {
                                let i = (c * h + iy as usize) * w + ix as usize;
                                ins.push((i, k[((oc * ci + c) * kk + ky) * kk + kx]));
                            }
                        }
                    }
                }
                ins
            }
        }
    }
}

/// A layer in NIR's terms: weights, then per neuron (NIR order) the synaptic time constant,
/// the two factors of the gain (LI r and IF r, or CubaLIF w_in and r) and the threshold.
#[derive(Clone)]
struct L {
    w: W,
    tau: f64,
    r1: Vec<f64>,
    r2: Vec<f64>,
    vth: Vec<f64>,
    cuba: bool,
}

/// First time V(t) = sum_i g W_i (1 - exp(-(t - t_i)/tau)) reaches `vth` (NIR's LI -> IF
/// from rest: the current jumps by r_LI W / tau and decays, the IF integrates r_IF times it),
/// inputs `(t_i, W_i)` sorted by time; bracketed input interval by input interval, bisected
/// to the last bit.
fn first_spike(ins: &[(f64, f64)], tau: f64, g: f64, vth: f64) -> Option<f64> {
    let v = |t: f64| -> f64 {
        ins.iter()
            .filter(|x| x.0 <= t)
            .map(|&(ti, w)| g * w * (1.0 - (-(t - ti) / tau).exp()))
            .sum()
    };
    for k in 0..ins.len() {
        let lo = ins[k].0;
        let hi = match ins.get(k + 1) {
            Some(n) if n.0 == lo => continue,
            Some(n) if v(n.0) >= vth => n.0,
            Some(_) => continue,
            None => {
                let v_inf: f64 = ins.iter().map(|x| g * x.1).sum();
                if v_inf <= vth {
                    return None;
                }
                let mut hi = lo + tau;
                while v(hi) < vth {
                    hi = lo + 2.0 * (hi - lo);
                }
                hi
            }
        };
        let (mut a, mut b) = (lo, hi);
        loop {
            let m = 0.5 * (a + b);
            if m <= a || m >= b {
                return Some(b);
            }
            if v(m) >= vth {
                b = m
            } else {
                a = m
            }
        }
    }
    None
}

/// Every layer's spike times in NIR's order (input first), by NIR's equations.
fn reference(layers: &[L], x: &[f64]) -> Vec<Vec<f64>> {
    let mut out = vec![x.to_vec()];
    for l in layers {
        let prev = out.last().unwrap().clone();
        let n: usize = l.w.out_shape().iter().product();
        let t = (0..n)
            .map(|j| {
                let mut ins: Vec<(f64, f64)> =
                    l.w.inputs_of(j)
                        .into_iter()
                        .filter(|&(i, _)| prev[i].is_finite())
                        .map(|(i, w)| (prev[i], w))
                        .collect();
                ins.sort_by(|a, b| a.0.total_cmp(&b.0));
                first_spike(&ins, l.tau, l.r1[j] * l.r2[j], l.vth[j]).unwrap_or(f64::INFINITY)
            })
            .collect();
        out.push(t);
    }
    out
}

/// The NIR nodes of a network: `input` of shape `in_shape`, per layer its weight node, a
/// `Flatten` where a map feeds an `Affine`, then `LI -> IF` or a `CubaLIF`; `output`.
fn graph_nodes(layers: &[L], in_shape: &[usize]) -> Vec<N> {
    let mut nodes = vec![node(
        "input",
        "Input",
        vec![("shape", ints(&as_i64(in_shape)))],
    )];
    let mut shape = in_shape.to_vec();
    for (k, l) in layers.iter().enumerate() {
        if matches!(l.w, W::Dense { .. }) && shape.len() > 1 {
            nodes.push(node(
                &format!("flat{k}"),
                "Flatten",
                vec![
                    ("start_dim", int(0)),
                    ("end_dim", int(-1)),
                    ("input_type", ints(&as_i64(&shape))),
                ],
            ));
        }
        nodes.push(weight_node(k, &l.w));
        nodes.extend(neuron_nodes(k, l));
        shape = l.w.out_shape();
    }
    nodes.push(node(
        "output",
        "Output",
        vec![("shape", ints(&as_i64(&shape)))],
    ));
    nodes
}

/// Layer `k`'s `Affine` or `Conv2d` node.
fn weight_node(k: usize, w: &W) -> N {
    match w {
        W::Dense { w, n_out, n_in } => node(
            &format!("fc{k}"),
            "Affine",
            vec![
                ("weight", num(w.clone(), &[*n_out, *n_in])),
                ("bias", full(0.0, &[*n_out])),
            ],
        ),
        W::Conv {
            k: kernel,
            co,
            ci,
            kk,
            stride,
            pad,
            h,
            w,
        } => node(
            &format!("conv{k}"),
            "Conv2d",
            vec![
                ("weight", num(kernel.clone(), &[*co, *ci, *kk, *kk])),
                ("stride", ints(&[*stride as i64; 2])),
                ("padding", ints(&[*pad as i64; 2])),
                ("dilation", ints(&[1, 1])),
                ("groups", int(1)),
                ("bias", full(0.0, &[*co])),
                ("input_shape", ints(&[*h as i64, *w as i64])),
            ],
        ),
    }
}

/// Layer `k`'s neurons: a `CubaLIF` (w_in = r1, r = r2), or `LI` (r = r1) then `IF` (r = r2).
fn neuron_nodes(k: usize, l: &L) -> Vec<N> {
    let s = l.w.out_shape();
    if l.cuba {
        return vec![node(
            &format!("cuba{k}"),
            "CubaLIF",
            vec![
                ("tau_syn", full(l.tau, &s)),
                ("tau_mem", full(f64::INFINITY, &s)),
                ("r", num(l.r2.clone(), &s)),
                ("v_leak", full(0.0, &s)),
                ("v_threshold", num(l.vth.clone(), &s)),
                ("v_reset", full(-0.3, &s)),
                ("w_in", num(l.r1.clone(), &s)),
            ],
        )];
    }
    vec![
        node(
            &format!("syn{k}"),
            "LI",
            vec![
                ("tau", full(l.tau, &s)),
                ("r", num(l.r1.clone(), &s)),
                ("v_leak", full(0.0, &s)),
            ],
        ),
        node(
            &format!("mem{k}"),
            "IF",
            vec![
                ("r", num(l.r2.clone(), &s)),
                ("v_threshold", num(l.vth.clone(), &s)),
                ("v_reset", full(0.0, &s)),
            ],
        ),
    ]
}

fn as_i64(s: &[usize]) -> Vec<i64> {
    s.iter().map(|&x| x as i64).collect()
}

/// Per-neuron values of a layer of shape `s`, one per output channel of a map (a convolution
/// shares its kernel, so its gains and thresholds may differ between channels only), drawn
/// from `range`.
fn per_channel(rng: &mut ChaCha8Rng, s: &[usize], range: std::ops::Range<f64>) -> Vec<f64> {
    let per = s[1..].iter().product::<usize>();
    (0..s[0])
        .flat_map(|_| vec![rng.gen_range(range.clone()); per])
        .collect()
}

/// Runs `m` with the event engine on `x` (NIR order) and returns every layer's spike times in
/// NIR's order (`maps[l]` is layer l's feature map, if it is one).
fn engine_in_nir_order(m: &Model, x_nir: &[f64]) -> Vec<Vec<f64>> {
    let maps: Vec<Option<Shape>> = std::iter::once(match m.layers.first() {
        Some(Layer::Conv(c)) => Some(c.input),
        _ => None,
    })
    .chain(m.layers.iter().map(|l| match l {
        Layer::Conv(c) => Some(c.output()),
        _ => None,
    }))
    .collect();
    let to_fs = |map: Option<Shape>, v: &[f64]| -> Vec<f64> {
        match map {
            None => v.to_vec(),
            Some(s) => (0..v.len()).map(|i| v[order::nir_index(s, i)]).collect(),
        }
    };
    let x = to_fs(maps[0], x_nir);
    let net = EventNet::from_model(m).unwrap().compile().unwrap();
    let mut eng = Engine::new(&net);
    let mut rec = TraceRecorder::new(&net);
    rec.reset(0, None);
    eng.run(&x, RunOptions::default(), &mut rec).unwrap();
    rec.trace
        .times(&m.arch())
        .iter()
        .zip(&maps)
        .map(|(t, map)| match map {
            None => t.clone(),
            Some(s) => (0..t.len())
                .map(|n| t[order::firstspike_index(*s, n)])
                .collect(),
        })
        .collect()
}

/// Relative tolerance (to max(1, t)) between the engine and the bisection reference: both
/// exact in f64 up to rounding; near a crossing dt = dV tau / (S - theta).
const TOL: f64 = 1e-9;

/// Compares the engine on the imported model with the reference on `samples` random inputs;
/// returns (neurons that fired, neurons silent) over all samples and layers.
fn compare(m: &Model, layers: &[L], n_in: usize, samples: usize, seed: u64) -> (usize, usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut fired, mut silent) = (0, 0);
    for k in 0..samples {
        let x: Vec<f64> = (0..n_in)
            .map(|_| {
                if rng.gen_bool(0.1) {
                    f64::INFINITY
                } else {
                    rng.gen_range(0.0..2.0)
                }
            })
            .collect();
        let want = reference(layers, &x);
        let got = engine_in_nir_order(m, &x);
        for (l, (a, b)) in want.iter().zip(&got).enumerate().skip(1) {
            for (j, (&ta, &tb)) in a.iter().zip(b).enumerate() {
                match (ta.is_finite(), tb.is_finite()) {
                    (true, true) => {
                        fired += 1;
                        assert!(
                            (ta - tb).abs() <= TOL * ta.abs().max(1.0),
                            "sample {k} layer {l} neuron {j} (NIR order): NIR equations {ta}, firstspike {tb}"
                        );
                    }
                    (false, false) => silent += 1,
                    _ => panic!(
                        "sample {k} layer {l} neuron {j} (NIR order): NIR equations {ta}, firstspike {tb}"
                    ),
                }
            }
        }
    }
    (fired, silent)
}

/// A graph written by other code than firstspike's exporter: input (2, 7, 7), Conv2d 3x3
/// stride 2 padding 1 to (3, 4, 4) with LI -> IF whose r and thresholds differ per channel,
/// Flatten, Affine to 5 with a CubaLIF whose w_in, r and thresholds differ per neuron; tau 0.7.
fn foreign_conv_net(seed: u64) -> Vec<L> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let tau = 0.7;
    let conv = W::Conv {
        k: (0..3 * 2 * 9).map(|_| rng.gen_range(-0.2..0.6)).collect(),
        co: 3,
        ci: 2,
        kk: 3,
        stride: 2,
        pad: 1,
        h: 7,
        w: 7,
    };
    let s = conv.out_shape();
    let l1 = L {
        r1: per_channel(&mut rng, &s, 0.5..2.0),
        r2: per_channel(&mut rng, &s, 0.5..2.0),
        vth: per_channel(&mut rng, &s, 0.6..1.6),
        w: conv,
        tau,
        cuba: false,
    };
    let dense = W::Dense {
        w: (0..5 * 48).map(|_| rng.gen_range(-0.15..0.35)).collect(),
        n_out: 5,
        n_in: 48,
    };
    let l2 = L {
        w: dense,
        tau,
        r1: (0..5).map(|_| rng.gen_range(0.5..2.0)).collect(),
        r2: (0..5).map(|_| rng.gen_range(0.5..2.0)).collect(),
        vth: (0..5).map(|_| rng.gen_range(0.5..1.5)).collect(),
        cuba: true,
    };
    vec![l1, l2]
}

#[test]
fn a_foreign_conv_graph_fires_as_nir_says() {
    let layers = foreign_conv_net(1);
    let nodes = graph_nodes(&layers, &[2, 7, 7]);
    let m = nir::model_from_bytes(&nir_bytes(&nodes, &chain_edges(&nodes))).unwrap();
    assert_eq!(m.arch_string(), "7x7x2-3c3s2p1-5");
    assert_eq!(m.params.tau_syn, 0.7);
    assert_eq!(m.params.theta, 1.0, "thresholds differ: theta is 1");
    let info = m.meta.import.as_ref().unwrap();
    assert!(info["encoding"].as_str().unwrap().starts_with("default"));
    assert_eq!(m.encoding.t_max, 3.0 * 0.7);
    let (fired, silent) = compare(&m, &layers, 98, 30, 2);
    assert!(
        fired > 300 && silent > 40,
        "{fired} neurons fired, {silent} stayed silent: too few of either compared"
    );
}

#[test]
fn a_foreign_dense_graph_with_one_threshold_keeps_it_as_theta() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (tau, vth) = (2.5, 0.8);
    let mk = |rng: &mut ChaCha8Rng, n_out: usize, n_in: usize, cuba: bool| L {
        w: W::Dense {
            w: (0..n_out * n_in)
                .map(|_| rng.gen_range(-0.1..0.3))
                .collect(),
            n_out,
            n_in,
        },
        tau,
        r1: (0..n_out).map(|_| rng.gen_range(0.5..2.0)).collect(),
        r2: (0..n_out).map(|_| rng.gen_range(0.5..2.0)).collect(),
        vth: vec![vth; n_out],
        cuba,
    };
    let layers = vec![mk(&mut rng, 12, 20, true), mk(&mut rng, 4, 12, false)];
    let nodes = graph_nodes(&layers, &[20]);
    let m = nir::model_from_bytes(&nir_bytes(&nodes, &chain_edges(&nodes))).unwrap();
    assert_eq!((m.params.tau_syn, m.params.theta), (tau, vth));
    assert_eq!(m.arch(), [20, 12, 4]);
    // w = W * r1 * r2 when the thresholds are theta.
    let Layer::Dense(d) = &m.layers[1] else {
        panic!("dense")
    };
    let W::Dense { w, .. } = &layers[1].w else {
        panic!("dense")
    };
    assert_eq!(
        d.w[5 * 4 + 2],
        w[2 * 12 + 5] * (layers[1].r1[2] * layers[1].r2[2])
    );
    let (fired, silent) = compare(&m, &layers, 20, 30, 4);
    assert!(fired > 100 && silent > 20, "{fired} fired, {silent} silent");
}

#[test]
fn a_flattened_input_map_makes_a_dense_model_taking_nir_order() {
    // Input (2, 3, 3) -> Flatten -> Affine 4 x 18: a dense model whose 18 inputs are NIR's
    // flattened input, as given (no permutation: there is no firstspike map to permute from).
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let layers = vec![L {
        w: W::Dense {
            w: (0..4 * 18).map(|_| rng.gen_range(-0.25..0.3)).collect(),
            n_out: 4,
            n_in: 18,
        },
        tau: 1.5,
        r1: vec![1.0; 4],
        r2: vec![2.0; 4],
        vth: vec![1.2; 4],
        cuba: false,
    }];
    let mut nodes = graph_nodes(&layers, &[2, 3, 3]);
    assert_eq!(nodes[1].ty, "Flatten");
    // The same weights as a Linear node (no bias field).
    nodes[2].ty = "Linear".into();
    nodes[2].fields.retain(|(k, _)| k != "bias");
    let m = nir::model_from_bytes(&nir_bytes(&nodes, &chain_edges(&nodes))).unwrap();
    assert_eq!((m.arch_string().as_str(), m.params.theta), ("18-4", 1.2));
    let (fired, silent) = compare(&m, &layers, 18, 30, 13);
    assert!(fired > 20 && silent > 5, "{fired} fired, {silent} silent");
}

#[test]
fn padding_may_be_named_valid_or_same() {
    for (pad, want) in [("same", "5x5-2c3p1-10"), ("valid", "5x5-2c3-10")] {
        let side = if pad == "same" { 5 } else { 3 };
        let s = [2, side, side];
        let nodes = vec![
            node("input", "Input", vec![("shape", ints(&[1, 5, 5]))]),
            node(
                "c",
                "Conv2d",
                vec![
                    ("weight", full(0.3, &[2, 1, 3, 3])),
                    ("stride", ints(&[1, 1])),
                    ("padding", F::Str(pad.into())),
                    ("dilation", ints(&[1, 1])),
                    ("groups", int(1)),
                    ("bias", full(0.0, &[2])),
                ],
            ),
            node(
                "s",
                "LI",
                vec![
                    ("tau", full(1.0, &s)),
                    ("r", full(1.0, &s)),
                    ("v_leak", full(0.0, &s)),
                ],
            ),
            node(
                "f",
                "IF",
                vec![("r", full(1.0, &s)), ("v_threshold", full(1.0, &s))],
            ),
            node(
                "flat",
                "Flatten",
                vec![("start_dim", int(0)), ("end_dim", int(-1))],
            ),
            node(
                "fc",
                "Linear",
                vec![("weight", full(0.1, &[10, 2 * side * side]))],
            ),
            node(
                "cuba",
                "CubaLIF",
                vec![
                    ("tau_syn", full(1.0, &[10])),
                    ("tau_mem", full(f64::INFINITY, &[10])),
                    ("r", full(1.0, &[10])),
                    ("v_leak", full(0.0, &[10])),
                    ("v_threshold", full(1.0, &[10])),
                ],
            ),
            node("output", "Output", vec![("shape", ints(&[10]))]),
        ];
        let m = nir::model_from_bytes(&nir_bytes(&nodes, &chain_edges(&nodes))).unwrap();
        assert_eq!(m.arch_string(), want);
    }
}

/// A graph the official `nir` package wrote (`nir.write`: h5py, gzip-compressed float32
/// weights; `tools/nir-import-check.py --fixtures tests/data/nir`), read in NIR's terms here
/// with `hdf5-pure`: the conv graph of that script (input (2, 9, 9), Conv2d 4x2x3x3 stride 2
/// padding 1, LI -> IF per channel, Flatten, Affine 6 x 100, CubaLIF per neuron, tau 2.5).
#[test]
fn a_graph_written_by_the_nir_package_fires_as_nir_says() {
    let path = Path::new("tests/data/nir/foreign-conv.nir");
    let bytes = std::fs::read(path).unwrap();
    let f = hdf5_pure::File::from_bytes(bytes.clone()).unwrap();
    let read = |p: &str| {
        f.dataset(&format!("node/nodes/{p}"))
            .unwrap()
            .read_f64()
            .unwrap()
    };
    let layers = vec![
        L {
            w: W::Conv {
                k: read("conv/weight"),
                co: 4,
                ci: 2,
                kk: 3,
                stride: 2,
                pad: 1,
                h: 9,
                w: 9,
            },
            tau: 2.5,
            r1: read("syn/r"),
            r2: read("mem/r"),
            vth: read("mem/v_threshold"),
            cuba: false,
        },
        L {
            w: W::Dense {
                w: read("fc/weight"),
                n_out: 6,
                n_in: 100,
            },
            tau: 2.5,
            r1: read("cuba/w_in"),
            r2: read("cuba/r"),
            vth: read("cuba/v_threshold"),
            cuba: true,
        },
    ];
    assert!(read("cuba/tau_mem").iter().all(|t| *t == f64::INFINITY));
    let m = nir::read_model(path).unwrap();
    assert_eq!(m.arch_string(), "9x9x2-4c3s2p1-6");
    assert_eq!((m.params.tau_syn, m.params.theta), (2.5, 1.0));
    assert_eq!(
        m,
        nir::model_from_bytes(&bytes)
            .map(|mut b| {
                b.meta.import.as_mut().unwrap()["file"] =
                    serde_json::json!(path.display().to_string());
                b
            })
            .unwrap()
    );
    let (fired, silent) = compare(&m, &layers, 162, 20, 11);
    assert!(fired > 500 && silent > 5, "{fired} fired, {silent} silent");

    let leaky = nir::read_model(Path::new("tests/data/nir/leaky.nir")).unwrap_err();
    match &leaky {
        Error::NirImport {
            refusal: NirRefusal::Leak,
            node: Some(n),
            path: Some(_),
            ..
        } if n == "lif_1" => {}
        e => panic!("{e}"),
    }
    assert!(
        leaky.to_string().contains("tests/data/nir/leaky.nir"),
        "{leaky}"
    );
}

// ------------------------------------------------------- export, then import

/// The model's weights, parameters and encoding (not its provenance, which the import
/// records).
fn same_network(a: &Model, b: &Model) {
    assert_eq!(a.params, b.params);
    assert_eq!(a.encoding, b.encoding);
    assert_eq!(a.layers.len(), b.layers.len());
    for (k, (x, y)) in a.layers.iter().zip(&b.layers).enumerate() {
        assert_eq!(x.spec(), y.spec(), "layer {k}");
        let bits = |l: &Layer| l.weights().iter().map(|w| w.to_bits()).collect::<Vec<_>>();
        assert!(bits(x) == bits(y), "layer {k}: weights differ in some bit");
    }
    assert_eq!(a.weights_hash(), b.weights_hash());
}

/// Every spike of the event engine on the first `n` embedded MNIST test digits.
fn spikes_on_digits(m: &Model, n: usize) -> Vec<SampleTrace> {
    let ds = mnist_test_slice().unwrap();
    let net = EventNet::from_model(m).unwrap().compile().unwrap();
    let mut eng = Engine::new(&net);
    let mut rec = TraceRecorder::new(&net);
    (0..n)
        .map(|k| {
            rec.reset(k as u64, Some(ds.labels[k]));
            eng.run(
                &m.encoding.encode(ds.image(k)),
                RunOptions::default(),
                &mut rec,
            )
            .unwrap();
            rec.trace.clone()
        })
        .collect()
}

#[test]
fn the_shipped_dense_model_comes_back_bit_for_bit() {
    let m = Model::load(Path::new("models/mnist-784-800-10.bin")).unwrap();
    let back = nir::model_from_bytes(&nir::graph_bytes(&m).unwrap()).unwrap();
    same_network(&m, &back);
    let info = back.meta.import.as_ref().unwrap();
    assert_eq!(info["model_sha256_in_graph"], m.weights_hash());
    assert!(info["encoding"].as_str().unwrap().contains("Input node"));
    let (a, b) = (spikes_on_digits(&m, 20), spikes_on_digits(&back, 20));
    assert!(a.iter().map(|t| t.spikes.len()).sum::<usize>() > 20 * 784);
    assert_eq!(a, b, "the same spikes on 20 test digits");
}

/// A convolutional model with random weights whose neurons fire on MNIST digits: two strided
/// convolutions of several channels (so that the order of channels matters), then a dense
/// layer; parameters other than 1.
fn conv_model(seed: u64) -> Model {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let arch = Arch::parse("28x28-4c5s2p1-6c3s2-10").unwrap();
    let layers = arch.build(|_, fan_in, n| {
        let scale = 2.4 / fan_in as f64;
        (0..n).map(|_| rng.gen_range(-0.5..1.5) * scale).collect()
    });
    let mut m = Model::load(Path::new("models/mnist-784-800-10.bin")).unwrap();
    m.layers = layers;
    m.params.tau_syn = 1.3;
    m.params.theta = 0.9;
    m
}

#[test]
fn a_conv_model_comes_back_bit_for_bit() {
    let m = conv_model(5);
    let back = nir::model_from_bytes(&nir::graph_bytes(&m).unwrap()).unwrap();
    same_network(&m, &back);
    let (a, b) = (spikes_on_digits(&m, 10), spikes_on_digits(&back, 10));
    let out_spikes = a
        .iter()
        .flat_map(|t| &t.spikes)
        .filter(|s| s.layer == 3)
        .count();
    assert!(out_spikes > 10, "only {out_spikes} output spikes");
    assert_eq!(a, b, "the same spikes on 10 test digits");
}

#[test]
fn a_conv_export_fires_as_nir_says() {
    // The export read in NIR's terms by the reference (not by the import): the Conv2d kernel,
    // the Flatten order and the Affine columns mean what NIR says they mean.
    let m = conv_model(6);
    let f = hdf5_pure::File::from_bytes(nir::graph_bytes(&m).unwrap()).unwrap();
    let read = |p: &str| f.dataset(p).unwrap().read_f64().unwrap();
    let layers = vec![
        L {
            w: W::Conv {
                k: read("node/nodes/conv_1/weight"),
                co: 4,
                ci: 1,
                kk: 5,
                stride: 2,
                pad: 1,
                h: 28,
                w: 28,
            },
            tau: 1.3,
            r1: vec![1.0; 4 * 13 * 13],
            r2: vec![1.0; 4 * 13 * 13],
            vth: vec![0.9; 4 * 13 * 13],
            cuba: false,
        },
        L {
            w: W::Conv {
                k: read("node/nodes/conv_2/weight"),
                co: 6,
                ci: 4,
                kk: 3,
                stride: 2,
                pad: 0,
                h: 13,
                w: 13,
            },
            tau: 1.3,
            r1: vec![1.0; 6 * 36],
            r2: vec![1.0; 6 * 36],
            vth: vec![0.9; 6 * 36],
            cuba: false,
        },
        L {
            w: W::Dense {
                w: read("node/nodes/affine_3/weight"),
                n_out: 10,
                n_in: 216,
            },
            tau: 1.3,
            r1: vec![1.0; 10],
            r2: vec![1.0; 10],
            vth: vec![0.9; 10],
            cuba: false,
        },
    ];
    let (fired, silent) = compare(&m, &layers, 784, 4, 7);
    assert!(fired > 200 && silent > 50, "{fired} fired, {silent} silent");
}

// ------------------------------------------------------- refusals

/// input(4) -> fc(3 x 4) -> syn (LI) -> mem (IF) -> output(3), valid.
fn base() -> Vec<N> {
    vec![
        node("input", "Input", vec![("shape", ints(&[4]))]),
        node(
            "fc",
            "Affine",
            vec![
                (
                    "weight",
                    num((0..12).map(|k| k as f64 * 0.1).collect(), &[3, 4]),
                ),
                ("bias", full(0.0, &[3])),
            ],
        ),
        node(
            "syn",
            "LI",
            vec![
                ("tau", full(0.5, &[3])),
                ("r", full(1.0, &[3])),
                ("v_leak", full(0.0, &[3])),
            ],
        ),
        node(
            "mem",
            "IF",
            vec![
                ("r", full(1.0, &[3])),
                ("v_threshold", full(1.0, &[3])),
                ("v_reset", full(0.0, &[3])),
            ],
        ),
        node("output", "Output", vec![("shape", ints(&[3]))]),
    ]
}

fn set(nodes: &mut [N], name: &str, field: &str, v: F) {
    let n = nodes.iter_mut().find(|n| n.name == name).unwrap();
    match n.fields.iter_mut().find(|(k, _)| k == field) {
        Some(f) => f.1 = v,
        None => n.fields.push((field.into(), v)),
    }
}

fn edge(a: &str, b: &str) -> (String, String) {
    (a.into(), b.into())
}

/// The refusal of a graph, and the node it names.
fn refused(nodes: &[N], edges: &[(String, String)]) -> (NirRefusal, Option<String>, String) {
    match nir::model_from_bytes(&nir_bytes(nodes, edges)) {
        Err(e @ Error::NirImport { .. }) => {
            let text = e.to_string();
            let Error::NirImport { refusal, node, .. } = e else {
                unreachable!()
            };
            (refusal, node, text)
        }
        Err(e) => panic!("another error: {e}"),
        Ok(m) => panic!("imported as {}", m.arch_string()),
    }
}

#[test]
fn the_base_graph_imports() {
    let b = base();
    let m = nir::model_from_bytes(&nir_bytes(&b, &chain_edges(&b))).unwrap();
    assert_eq!(m.arch(), [4, 3]);
}

/// A refusal case: what it is, the graph (nodes, edges), the refusal, the node it names and a
/// piece of its message.
type Case = (
    &'static str,
    Vec<N>,
    Vec<(String, String)>,
    NirRefusal,
    &'static str,
    &'static str,
);

// Long by design: one table row per refusal, so that a new refusal is one row more.
#[test]
fn each_refusal_names_its_node_and_kind() {
    use NirRefusal::*;
    let mut cases: Vec<Case> = Vec::new();
    let mut add = |what, nodes: Vec<N>, edges: Option<Vec<(String, String)>>, r, n, says| {
        let e = edges.unwrap_or_else(|| chain_edges(&nodes));
        cases.push((what, nodes, e, r, n, says));
    };

    let mut n = base();
    set(&mut n, "fc", "bias", num(vec![0.0, 0.5, 0.0], &[3]));
    add("bias", n, None, Bias, "fc", "bias[1] = 0.5");

    let mut n = base();
    n[3] = node(
        "mem",
        "LIF",
        vec![("tau", full(5.0, &[3])), ("r", full(1.0, &[3]))],
    );
    n.remove(2);
    add("LIF", n, None, Leak, "mem", "leaky membrane");

    let mut n = base();
    n.splice(
        2..4,
        [node(
            "cuba",
            "CubaLIF",
            vec![
                ("tau_syn", full(0.5, &[3])),
                ("tau_mem", full(1e9, &[3])),
                ("r", full(1.0, &[3])),
                ("v_leak", full(0.0, &[3])),
                ("v_threshold", full(1.0, &[3])),
            ],
        )],
    );
    add(
        "finite tau_mem",
        n,
        None,
        Leak,
        "cuba",
        "tau_mem = 1000000000",
    );

    let n = base();
    let mut e = chain_edges(&n);
    e.push(edge("mem", "fc"));
    add(
        "recurrent edge",
        n,
        Some(e),
        Recurrent,
        "fc",
        "closes a cycle",
    );

    let mut n = base();
    n.push(node("spare", "Output", vec![("shape", ints(&[3]))]));
    let mut e = chain_edges(&n[..5]);
    e.push(edge("mem", "spare"));
    add(
        "second output",
        n,
        Some(e),
        Branching,
        "spare",
        "second Output",
    );

    let mut n = base();
    n.insert(1, node("wait", "Delay", vec![("delay", full(1.0, &[4]))]));
    add("unknown node", n, None, UnknownNode, "wait", "no delays");

    let mut n = base();
    n.remove(2);
    add(
        "IF without LI",
        n,
        None,
        Sequence,
        "mem",
        "directly after the weights",
    );

    let mut n = base();
    set(&mut n, "fc", "weight", full(0.1, &[3, 5]));
    add("weight shape", n, None, Shape, "fc", "takes 5 inputs");

    let mut n = base();
    set(&mut n, "syn", "v_leak", full(0.2, &[3]));
    add("v_leak", n, None, Unrepresentable, "syn", "v_leak[0] = 0.2");

    let mut n = base();
    set(
        &mut n,
        "mem",
        "v_threshold",
        num(vec![1.0, -1.0, 1.0], &[3]),
    );
    add(
        "negative threshold",
        n,
        None,
        Unrepresentable,
        "mem",
        "v_threshold = -1",
    );

    // Two layers with different time constants.
    let mut n = base();
    let tail: Vec<N> = base()[1..4]
        .iter()
        .map(|x| N {
            name: format!("{}2", x.name),
            ..x.clone()
        })
        .collect();
    n.splice(4..4, tail);
    set(&mut n, "fc2", "weight", full(0.3, &[3, 3]));
    set(&mut n, "syn2", "tau", full(0.6, &[3]));
    add(
        "two time constants",
        n,
        None,
        Unrepresentable,
        "syn2",
        "one synaptic time constant",
    );

    // A convolution: dilation, then per-position thresholds.
    let conv = |dilation: i64, vth: Vec<f64>| {
        vec![
            node("input", "Input", vec![("shape", ints(&[1, 4, 4]))]),
            node(
                "c",
                "Conv2d",
                vec![
                    ("weight", full(0.3, &[2, 1, 3, 3])),
                    ("stride", ints(&[1, 1])),
                    ("padding", ints(&[1, 1])),
                    ("dilation", ints(&[dilation, dilation])),
                    ("groups", int(1)),
                    ("bias", full(0.0, &[2])),
                ],
            ),
            node(
                "s",
                "LI",
                vec![
                    ("tau", full(1.0, &[2, 4, 4])),
                    ("r", full(1.0, &[2, 4, 4])),
                    ("v_leak", full(0.0, &[2, 4, 4])),
                ],
            ),
            node(
                "f",
                "IF",
                vec![
                    ("r", full(1.0, &[2, 4, 4])),
                    ("v_threshold", num(vth, &[2, 4, 4])),
                ],
            ),
            node("output", "Output", vec![("shape", ints(&[2, 4, 4]))]),
        ]
    };
    add(
        "dilation",
        conv(2, vec![1.0; 32]),
        None,
        Unrepresentable,
        "c",
        "dilation",
    );
    let mut vth = vec![1.0; 32];
    vth[20] = 1.1;
    add(
        "per-position threshold",
        conv(1, vth),
        None,
        Unrepresentable,
        "f",
        "channel 1",
    );
    let mut n = conv(1, vec![1.0; 32]);
    n.splice(
        4..4,
        [node(
            "fc",
            "Affine",
            vec![("weight", full(0.1, &[2, 32])), ("bias", full(0.0, &[2]))],
        )],
    );
    add(
        "Affine on a map",
        n,
        None,
        Sequence,
        "fc",
        "a Flatten must come between",
    );

    assert!(cases.len() >= 14);
    for (what, nodes, edges, refusal, name, says) in cases {
        let (r, n, text) = refused(&nodes, &edges);
        assert_eq!((r, n.as_deref()), (refusal, Some(name)), "{what}: {text}");
        assert!(text.contains(says), "{what}: '{says}' not in '{text}'");
        assert!(text.contains(&format!("node '{name}'")), "{what}: {text}");
    }
}

#[test]
fn a_file_that_is_not_a_nir_graph_is_malformed() {
    for bytes in [b"not HDF5 at all".to_vec(), {
        let mut fb = FileBuilder::new();
        fb.create_dataset("x").with_f64_data(&[1.0]);
        fb.finish().unwrap()
    }] {
        match nir::model_from_bytes(&bytes) {
            Err(Error::NirImport {
                refusal: NirRefusal::Malformed,
                ..
            }) => {}
            other => panic!("{other:?}"),
        }
    }
    // A truncated export: refused, not a panic.
    let b = nir::graph_bytes(&conv_model(8)).unwrap();
    for cut in [b.len() / 2, b.len() - 7, 100] {
        assert!(nir::model_from_bytes(&b[..cut]).is_err());
    }
}

// ------------------------------------------------------- the command

fn firstspike(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_firstspike"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn import_command_writes_the_model_or_says_why_not() {
    let d = tmp("cli");
    let m = conv_model(9);
    let g = d.join("m.nir");
    nir::write_graph(&m, &g).unwrap();
    let out = d.join("imported");
    let o = firstspike(&[
        "import",
        "--nir",
        g.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rep: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rep["model_sha256"], m.weights_hash());
    assert_eq!(rep["arch_string"], "28x28-4c5s2p1-6c3s2-10");
    let loaded = Model::load(&out.with_extension("bin")).unwrap();
    same_network(&m, &loaded);
    assert_eq!(loaded, nir::read_model(&g).unwrap());
    assert!(d.join("imported.json").is_file());

    // Refused: exit 1, the node and the reason on stderr, nothing written.
    let mut n = base();
    set(&mut n, "fc", "bias", full(0.25, &[3]));
    let bad = d.join("bias.nir");
    std::fs::write(&bad, nir_bytes(&n, &chain_edges(&n))).unwrap();
    let out2 = d.join("nope");
    let o = firstspike(&[
        "import",
        "--nir",
        bad.to_str().unwrap(),
        "--out",
        out2.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("NIR import") && err.contains("node 'fc'") && err.contains("bias"),
        "{err}"
    );
    assert!(!d.join("nope.bin").exists());
    std::fs::remove_dir_all(&d).unwrap();
}
