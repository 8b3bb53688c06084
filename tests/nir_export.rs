//! NIR export, Rust side: the HDF5 structure that `nir.read` / `nir.read_data` expect (read back
//! here with `hdf5-pure`'s reader), the values (weights transposed to NIR's layout, neuron
//! parameters, metadata), the spike records, and the `export` command's flags. The Python side
//! (the official `nir` package reading these files) is `tools/nir-roundtrip.py`, run by
//! `.ci/interop`.

#![cfg(feature = "nir")]

mod common;
use common::tmp;

use common::{random_layers, UNIT_CASES};
use firstspike::data::{to_idx_bytes, Dataset};
use firstspike::encoding::{Encoding, EncodingKind};
use firstspike::event::{Engine, EventNet, RunOptions};
use firstspike::model::{Layer, Model, ModelMeta};
use firstspike::neuron::NeuronParams;
use firstspike::nir::{
    self, affine_node, if_node, li_node, spike_node, INPUT_NODE, NIR_VERSION, OUTPUT_NODE,
};
use firstspike::trace::{EngineKind, SampleTrace, TraceFile, TraceHeader, TraceRecorder};
use hdf5_pure::{AttrValue, File};
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::process::Command;

/// A random network with parameters other than the defaults, so that a parameter taken from
/// the wrong place shows.
fn model(seed: u64, arch: &[usize]) -> Model {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let layers = random_layers(&mut rng, arch, -0.3..0.9);
    Model {
        params: NeuronParams {
            tau_syn: 0.5,
            theta: 1.25,
        },
        encoding: Encoding {
            kind: EncodingKind::ZLinear,
            t_max: 2.5,
            silent_below: 7,
        },
        layers,
        meta: ModelMeta::default(),
    }
}

fn traces(m: &Model, seed: u64, count: usize) -> Vec<SampleTrace> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let net = EventNet::from_model(m).unwrap().compile().unwrap();
    let mut eng = Engine::new(&net);
    let mut rec = TraceRecorder::new(&net);
    (0..count)
        .map(|k| {
            let x: Vec<f64> = (0..m.n_inputs())
                .map(|_| {
                    if rng.gen_bool(0.1) {
                        f64::INFINITY
                    } else {
                        rng.gen_range(0.0..2.0)
                    }
                })
                .collect();
            // Labels cycle through the model's outputs (a trace's label must be one of them).
            let label = (k % m.n_outputs()) as u8;
            rec.reset(10 + k as u64, Some(label));
            eng.run(&x, RunOptions::default(), &mut rec).unwrap();
            rec.trace.clone()
        })
        .collect()
}

fn string(f: &File, path: &str) -> String {
    let v = f
        .dataset(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .read_string()
        .unwrap();
    assert_eq!(v.len(), 1, "{path} is a scalar string");
    v[0].clone()
}

fn f64s(f: &File, path: &str) -> Vec<f64> {
    f.dataset(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .read_f64()
        .unwrap()
}

fn shape(f: &File, path: &str) -> Vec<u64> {
    f.dataset(path).unwrap().shape().unwrap()
}

#[test]
fn graph_has_the_nir_layout_and_the_models_numbers() {
    let m = model(1, &[12, 7, 5, 3]);
    let f = File::from_bytes(nir::graph_bytes(&m).unwrap()).unwrap();
    assert_eq!(string(&f, "version"), NIR_VERSION);
    assert_eq!(string(&f, "node/type"), "NIRGraph");

    // Edges: an (n, 2) array of names, the chain input -> (affine, li, if) per layer -> output.
    assert_eq!(shape(&f, "node/edges"), vec![3 * 3 + 1, 2]);
    let e = f.dataset("node/edges").unwrap().read_string().unwrap();
    let mut chain = vec![INPUT_NODE.to_string()];
    for l in 1..=3 {
        chain.extend([affine_node(l), li_node(l), if_node(l)]);
    }
    chain.push(OUTPUT_NODE.into());
    let want: Vec<String> = chain.windows(2).flat_map(|p| p.to_vec()).collect();
    assert_eq!(e, want);

    let mut names = f.group("node/nodes").unwrap().groups().unwrap();
    names.sort();
    let mut want_names = chain.clone();
    want_names.sort();
    assert_eq!(names, want_names);

    assert_eq!(string(&f, "node/nodes/input/type"), "Input");
    assert_eq!(
        f.dataset("node/nodes/input/shape")
            .unwrap()
            .read_i64()
            .unwrap(),
        vec![12]
    );
    assert_eq!(string(&f, "node/nodes/output/type"), "Output");
    assert_eq!(
        f.dataset("node/nodes/output/shape")
            .unwrap()
            .read_i64()
            .unwrap(),
        vec![3]
    );
    assert_eq!(string(&f, "node/nodes/input/metadata/encoding"), "zlinear");
    assert_eq!(f64s(&f, "node/nodes/input/metadata/t_max"), vec![2.5]);
    assert_eq!(
        f.dataset("node/nodes/input/metadata/silent_below")
            .unwrap()
            .read_i64()
            .unwrap(),
        vec![7]
    );
    assert_eq!(string(&f, "node/metadata/model_sha256"), m.weights_hash());

    for (k, layer) in m.layers.iter().enumerate() {
        let l = k + 1;
        let (a, li, fi) = (
            format!("node/nodes/{}", affine_node(l)),
            format!("node/nodes/{}", li_node(l)),
            format!("node/nodes/{}", if_node(l)),
        );
        let Layer::Dense(layer) = layer else {
            panic!("layer {l} is not dense")
        };
        let n = layer.n_out;
        assert_eq!(string(&f, &format!("{a}/type")), "Affine");
        assert_eq!(
            shape(&f, &format!("{a}/weight")),
            vec![n as u64, layer.n_in as u64]
        );
        // NIR's weight[j][i] is the model's w[i * n_out + j], bit for bit.
        let w = f64s(&f, &format!("{a}/weight"));
        for i in 0..layer.n_in {
            for j in 0..n {
                assert_eq!(
                    w[j * layer.n_in + i].to_bits(),
                    layer.w[i * n + j].to_bits(),
                    "layer {l} input {i} neuron {j}"
                );
            }
        }
        assert_eq!(f64s(&f, &format!("{a}/bias")), vec![0.0; n]);
        assert_eq!(string(&f, &format!("{li}/type")), "LI");
        assert_eq!(f64s(&f, &format!("{li}/tau")), vec![0.5; n]);
        assert_eq!(f64s(&f, &format!("{li}/r")), vec![1.0; n]);
        assert_eq!(f64s(&f, &format!("{li}/v_leak")), vec![0.0; n]);
        assert_eq!(string(&f, &format!("{fi}/type")), "IF");
        assert_eq!(f64s(&f, &format!("{fi}/r")), vec![1.0; n]);
        assert_eq!(f64s(&f, &format!("{fi}/v_threshold")), vec![1.25; n]);
        assert_eq!(f64s(&f, &format!("{fi}/v_reset")), vec![0.0; n]);
        assert_eq!(
            f.dataset(&format!("{fi}/metadata/fires_at_most_once"))
                .unwrap()
                .read_i64()
                .unwrap(),
            vec![1]
        );
    }
}

// ------------------------------------------------- the graph's numbers as NEST runs them

/// Milliseconds per model time unit in the NEST mirror below (`tools/nest-check --ms-per-unit`),
/// not 1, so that a time converted the wrong way shows.
const MS_PER_UNIT: f64 = 0.1;
/// `tools/nest-check`'s membrane capacitance C_m, pF.
const C_M_PF: f64 = 1.0;
/// Relative tolerance (to max(1, t)) between the event engine's spike times and the mirror's.
/// Both evaluate the exact solution in f64, with the sums in other orders; the mirror finds
/// the crossing by bisection to the last bit. Near a crossing dt = dV tau / (S - theta), so
/// rounding of ~1e-15 in V stays below 1e-10 for S - theta > 1e-5. 1e-9 is the engines' own
/// agreement tolerance; a wrong unit conversion is off by tens of percent.
const NEST_MIRROR_TOL: f64 = 1e-9;

/// One layer as `tools/nest-check` reads it from a NIR graph: the Affine weights (n_out x n_in),
/// and per neuron the LI tau, the "jump" `r_LI / tau_LI * r_IF` (dV/dt jump per unit weight)
/// and the IF threshold.
struct NestLayer {
    n_in: usize,
    weight: Vec<f64>,
    tau: Vec<f64>,
    jump: Vec<f64>,
    theta: Vec<f64>,
}

fn nest_layers(f: &File, n_layers: usize) -> Vec<NestLayer> {
    (1..=n_layers)
        .map(|l| {
            let a = format!("node/nodes/{}", affine_node(l));
            let li = format!("node/nodes/{}", li_node(l));
            let fi = format!("node/nodes/{}", if_node(l));
            let (tau, r_li, r_if) = (
                f64s(f, &format!("{li}/tau")),
                f64s(f, &format!("{li}/r")),
                f64s(f, &format!("{fi}/r")),
            );
            NestLayer {
                n_in: shape(f, &format!("{a}/weight"))[1] as usize,
                weight: f64s(f, &format!("{a}/weight")),
                jump: (0..tau.len()).map(|j| r_li[j] / tau[j] * r_if[j]).collect(),
                tau,
                theta: f64s(f, &format!("{fi}/v_threshold")),
            }
        })
        .collect()
}

/// First time (ms) that an `iaf_psc_exp_ps` neuron without leak (tau_m = inf, E_L = V_m(0) = 0)
/// reaches `v_th` (mV), given input spikes `(t ms, w pA)` sorted by time: each makes I_syn
/// jump by w, I_syn decays with `tau_ms`, and `C_m dV/dt = I_syn`, so
/// `V(t) = sum_{t_i <= t} (w_i tau_ms / C_m) (1 - exp(-(t - t_i)/tau_ms))`, monotone between
/// inputs. The crossing is bracketed interval by interval and bisected to the last bit.
fn nest_first_spike(ins: &[(f64, f64)], tau_ms: f64, v_th: f64) -> Option<f64> {
    let v = |t: f64| -> f64 {
        ins.iter()
            .filter(|x| x.0 <= t)
            .map(|&(ti, w)| w * tau_ms / C_M_PF * (1.0 - (-(t - ti) / tau_ms).exp()))
            .sum()
    };
    for k in 0..ins.len() {
        let lo = ins[k].0;
        let hi = match ins.get(k + 1) {
            Some(n) if n.0 == lo => continue, // a tie: the interval starts at the last of them
            Some(n) if v(n.0) >= v_th => n.0,
            Some(_) => continue,
            None => {
                let v_inf: f64 = ins.iter().map(|x| x.1 * tau_ms / C_M_PF).sum();
                if v_inf <= v_th {
                    return None;
                }
                let mut hi = lo + tau_ms;
                while v(hi) < v_th {
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
            if v(m) >= v_th {
                b = m
            } else {
                a = m
            }
        }
    }
    None
}

/// The exported graph, run neuron by neuron with `tools/nest-check`'s conversion to NEST's
/// units (weight pA = w * jump * C_m / U, tau_syn ms = tau * U, V_th mV = theta) and NEST's
/// neuron equations, fires when the event engine does, at every parameter set: the NIR
/// graph's tau, r and threshold describe the firstspike neuron. Each neuron gets the engine's
/// spikes of the layer below, so a difference is that neuron's own.
#[test]
fn graph_run_with_nest_check_units_fires_like_the_engine() {
    for p in UNIT_CASES {
        // Weights in [-0.4, 0.6) theta: about a third of the neurons stay silent.
        let mut m = model(31, &[14, 8, 4]);
        m.params = p;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(33);
        m.layers = random_layers(&mut rng, &[14, 8, 4], -0.4 * p.theta..0.6 * p.theta);
        let f = File::from_bytes(nir::graph_bytes(&m).unwrap()).unwrap();
        let layers = nest_layers(&f, m.layers.len());
        let net = EventNet::from_model(&m).unwrap().compile().unwrap();
        let mut eng = Engine::new(&net);
        let mut rec = TraceRecorder::new(&net);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(32);
        let (mut fired, mut silent) = (0, 0);
        for k in 0..20 {
            let x: Vec<f64> = (0..m.n_inputs())
                .map(|_| p.tau_syn * rng.gen_range(0.0..2.0))
                .collect();
            rec.reset(k, None);
            eng.run(&x, RunOptions::default(), &mut rec).unwrap();
            let times = rec.trace.times(&m.arch());
            for (l, ly) in layers.iter().enumerate() {
                for j in 0..ly.theta.len() {
                    let mut ins: Vec<(f64, f64)> = (0..ly.n_in)
                        .filter(|&i| times[l][i].is_finite())
                        .map(|i| {
                            let w_pa =
                                ly.weight[j * ly.n_in + i] * ly.jump[j] * C_M_PF / MS_PER_UNIT;
                            (times[l][i] * MS_PER_UNIT, w_pa)
                        })
                        .collect();
                    ins.sort_by(|a, b| a.0.total_cmp(&b.0));
                    let nest = nest_first_spike(&ins, ly.tau[j] * MS_PER_UNIT, ly.theta[j])
                        .map(|t| t / MS_PER_UNIT);
                    let ours = Some(times[l + 1][j]).filter(|t| t.is_finite());
                    match (nest, ours) {
                        (Some(a), Some(b)) => {
                            fired += 1;
                            assert!(
                                (a - b).abs() <= NEST_MIRROR_TOL * b.abs().max(1.0),
                                "{p:?} sample {k} layer {} neuron {j}: NEST units {a}, engine {b}",
                                l + 1
                            );
                        }
                        (None, None) => silent += 1,
                        _ => panic!(
                            "{p:?} sample {k} layer {} neuron {j}: NEST units {nest:?}, engine {ours:?}",
                            l + 1
                        ),
                    }
                }
            }
        }
        assert!(
            fired > 60 && silent > 10,
            "{p:?}: {fired} neurons fired, {silent} stayed silent: too few of either compared"
        );
    }
}

#[test]
fn large_weights_are_compressed_and_still_exact() {
    // 784-50 = 39,200 weights: above the compression threshold.
    let m = model(2, &[784, 50, 10]);
    let bytes = nir::graph_bytes(&m).unwrap();
    let f = File::from_bytes(bytes.clone()).unwrap();
    let w = f.dataset("node/nodes/affine_1/weight").unwrap();
    assert!(w.is_chunked(), "compressed datasets are chunked");
    assert_eq!(w.read_f64().unwrap(), nir::nir_weight(&m.layers[0]));
}

#[test]
fn events_hold_every_spike_per_layer_in_time_order() {
    let m = model(3, &[20, 9, 4]);
    let tr = traces(&m, 4, 5);
    let header = TraceHeader::for_model(&m, EngineKind::Event, true);
    let f = File::from_bytes(nir::events_bytes(&header, &tr).unwrap()).unwrap();
    assert_eq!(
        f.root().attrs().unwrap()["__type__"].as_str(),
        Some("NIRGraphData")
    );
    assert_eq!(
        f.dataset("firstspike/sample").unwrap().read_i64().unwrap(),
        vec![10, 11, 12, 13, 14]
    );
    let t_max = tr
        .iter()
        .flat_map(|s| s.spikes.iter().map(|x| x.time))
        .fold(0.0, f64::max);
    for (l, &n) in m.arch().iter().enumerate() {
        let node = format!("nodes/{}", spike_node(l));
        assert_eq!(
            f.group(&node).unwrap().attrs().unwrap()["__type__"].as_str(),
            Some("NIRNodeData")
        );
        let obs = format!("{node}/observables/{}", nir::SPIKES_OBSERVABLE);
        let attrs = f.group(&obs).unwrap().attrs().unwrap();
        assert_eq!(attrs["__type__"].as_str(), Some("EventData"));
        assert_eq!(attrs["n_neurons"], AttrValue::I64(n as i64));
        assert_eq!(attrs["t_max"], AttrValue::F64(t_max));
        let sh = shape(&f, &format!("{obs}/idx"));
        assert_eq!(sh[0], tr.len() as u64);
        assert_eq!(shape(&f, &format!("{obs}/time")), sh);
        let width = sh[1] as usize;
        let idx = f
            .dataset(&format!("{obs}/idx"))
            .unwrap()
            .read_i64()
            .unwrap();
        let time = f64s(&f, &format!("{obs}/time"));
        for (r, s) in tr.iter().enumerate() {
            let mut want: Vec<(f64, i64)> = s
                .spikes
                .iter()
                .filter(|x| x.layer as usize == l)
                .map(|x| (x.time, x.neuron as i64))
                .collect();
            want.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let row = r * width..(r + 1) * width;
            let got: Vec<(f64, i64)> = time[row.clone()]
                .iter()
                .zip(&idx[row.clone()])
                .filter(|p| *p.1 >= 0)
                .map(|(&t, &j)| (t, j))
                .collect();
            assert_eq!(got, want, "layer {l} sample {r}");
            // Padding: idx -1 with time +inf, only after the events.
            for e in want.len()..width {
                assert_eq!(
                    (idx[r * width + e], time[r * width + e]),
                    (-1, f64::INFINITY)
                );
            }
        }
    }
}

#[test]
fn a_layer_without_spikes_is_an_empty_event_array() {
    // All weights 0: only the inputs spike.
    let mut m = model(5, &[6, 3, 2]);
    m.layers
        .iter_mut()
        .for_each(|l| l.weights_mut().iter_mut().for_each(|w| *w = 0.0));
    let tr = traces(&m, 6, 2);
    let header = TraceHeader::for_model(&m, EngineKind::Event, true);
    let f = File::from_bytes(nir::events_bytes(&header, &tr).unwrap()).unwrap();
    assert_eq!(shape(&f, "nodes/if_1/observables/spikes/idx"), vec![2, 0]);
    assert_eq!(shape(&f, "nodes/if_2/observables/spikes/time"), vec![2, 0]);
    assert!(shape(&f, "nodes/input/observables/spikes/idx")[1] > 0);
}

// ------------------------------------------------------------------------- the command

fn firstspike(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_firstspike"))
        .args(args)
        .output()
        .unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn export_command_writes_graph_numbers_and_events() {
    let d = tmp("cli");
    let m = model(7, &[16, 6, 10]);
    m.save(&d.join("m")).unwrap();
    let mp = d.join("m.bin");

    let out = d.join("m.nir");
    let o = firstspike(&[
        "export",
        "--model",
        s(&mp),
        "--format",
        "nir",
        "--out",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read(&out).unwrap(),
        nir::graph_bytes(&m).unwrap(),
        "the command writes what the library builds"
    );

    let js = d.join("m.json");
    let o = firstspike(&[
        "export",
        "--model",
        s(&mp),
        "--format",
        "json",
        "--out",
        s(&js),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&js).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["weights_sha256"], m.weights_hash());
    assert_eq!(v["layers"][0]["n_out"], 6);
    // Every f64 exact. serde_json (without its float_roundtrip feature) may parse a number 1 ulp
    // off, so the first layer's numbers are parsed with `str::parse`, which rounds correctly
    // (as Python's json module does).
    let start = text.find("\"w\":[").unwrap() + 5;
    let end = start + text[start..].find(']').unwrap();
    let w: Vec<f64> = text[start..end]
        .split(',')
        .map(|x| x.parse().unwrap())
        .collect();
    assert_eq!(w, m.layers[0].weights(), "model layout, every f64 exact");

    // Events from a trace file, picking samples.
    let tr = traces(&m, 8, 4);
    let tf = d.join("t.trace");
    TraceFile {
        header: TraceHeader::for_model(&m, EngineKind::Event, true),
        samples: tr.clone(),
    }
    .save(&tf)
    .unwrap();
    let ev = d.join("ev.nir");
    let o = firstspike(&[
        "export",
        "--trace",
        s(&tf),
        "--model",
        s(&mp),
        "--index",
        "12,10",
        "--format",
        "nir-events",
        "--out",
        s(&ev),
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rep: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rep["samples"], 2);
    let f = File::open(&ev).unwrap();
    assert_eq!(
        f.dataset("firstspike/sample").unwrap().read_i64().unwrap(),
        vec![12, 10]
    );

    // Events by simulating test digits: the same spikes as the library's event engine.
    let data = d.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let ds = Dataset {
        images: (0..16 * 3).map(|k| (k * 37 % 256) as u8).collect(),
        labels: vec![1, 2, 3],
        rows: 4,
        cols: 4,
    };
    let (i, l) = to_idx_bytes(&ds);
    std::fs::write(data.join("t10k-images-idx3-ubyte"), &i).unwrap();
    std::fs::write(data.join("t10k-labels-idx1-ubyte"), &l).unwrap();
    let ev2 = d.join("ev2.nir");
    let o = firstspike(&[
        "export",
        "--model",
        s(&mp),
        "--data",
        s(&data),
        "--index",
        "2,0",
        "--format",
        "nir-events",
        "--out",
        s(&ev2),
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rep: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        rep["synaptic_events"].as_u64().unwrap() > 0
            && rep["engine_seconds"].as_f64().unwrap() >= 0.0
    );
    let net = EventNet::from_model(&m).unwrap().compile().unwrap();
    let mut eng = Engine::new(&net);
    let mut rec = TraceRecorder::new(&net);
    let want: Vec<SampleTrace> = [2usize, 0]
        .iter()
        .map(|&k| {
            rec.reset(k as u64, Some(ds.labels[k]));
            eng.run(
                &m.encoding.encode(ds.image(k)),
                RunOptions::default(),
                &mut rec,
            )
            .unwrap();
            rec.trace.clone()
        })
        .collect();
    let header = TraceHeader::for_model(&m, EngineKind::Event, true);
    assert_eq!(
        std::fs::read(&ev2).unwrap(),
        nir::events_bytes(&header, &want).unwrap()
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn export_command_refuses_bad_flag_combinations() {
    let d = tmp("bad");
    model(9, &[4, 2]).save(&d.join("m")).unwrap();
    let mp = d.join("m.bin");
    let out = d.join("x.nir");
    for args in [
        vec!["export", "--format", "nir", "--out", s(&out)],
        vec![
            "export",
            "--format",
            "nir",
            "--model",
            s(&mp),
            "--index",
            "1",
            "--out",
            s(&out),
        ],
        vec![
            "export",
            "--format",
            "json",
            "--model",
            s(&mp),
            "--trace",
            s(&mp),
            "--out",
            s(&out),
        ],
        vec!["export", "--format", "nir-events", "--out", s(&out)],
        vec![
            "export",
            "--format",
            "nir-events",
            "--model",
            s(&mp),
            "--out",
            s(&out),
        ],
        vec![
            "export",
            "--format",
            "onnx",
            "--model",
            s(&mp),
            "--out",
            s(&out),
        ],
    ] {
        let o = firstspike(&args);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!out.exists(), "{args:?} wrote a file");
    }
    // Not a trace file: a clear failure (exit 1), nothing written.
    let o = firstspike(&[
        "export",
        "--format",
        "nir-events",
        "--trace",
        s(&mp),
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("this is a model file, not a trace file"));
    assert!(!out.exists());
    std::fs::remove_dir_all(&d).unwrap();
}
