//! The rate-coded baseline by scenario: conversion fidelity, fair counting, seeded Poisson
//! input, bad model files, and the two commands end to end on a tiny data set.

mod common;
use common::tmp;

use firstspike::data::{to_idx_bytes, Dataset};
use firstspike::event::{EventNet, RunOptions, RunSummary};
use firstspike::model::{Layer, Model, ModelMeta};
use firstspike::network::{Arch, Layer as NetLayer};
use firstspike::progress::NO_PROGRESS;
use firstspike::rate::compare::{
    rate_events_at, temporal_counts, temporal_full_counts, FullCounts,
};
use firstspike::rate::model::{RateMeta, RateModel};
use firstspike::rate::relu::{forward, pixels_into, Pass, ReluNet};
use firstspike::rate::sim::{run_sample, sample_rng, simulate, InputMode, SimConfig, SimState};
use firstspike::rate::{
    activation_scales, convert, evaluate_relu, train_relu, ReluTrainConfig, SpikingNet,
};
use firstspike::simulate::{simulate as simulate_events, Record, SimReport};
use firstspike::sparsity::NetSize;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Four classes on 4 x 4 images: class k lights quadrant k (values 120..255) over faint noise.
fn quadrants(n: usize, seed: u64) -> Dataset {
    let mut images = Vec::with_capacity(n * 16);
    let mut labels = Vec::with_capacity(n);
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) as u32
    };
    for i in 0..n {
        let k = i % 4;
        for p in 0..16 {
            let (r, c) = (p / 4, p % 4);
            let q = (r / 2) * 2 + c / 2;
            images.push(if q == k {
                120 + (next() % 136) as u8
            } else {
                (next() % 40) as u8
            });
        }
        labels.push(k as u8);
    }
    Dataset {
        images,
        labels,
        rows: 4,
        cols: 4,
    }
}

fn trained_small() -> (ReluNet, Dataset) {
    let data = quadrants(200, 3);
    let cfg = ReluTrainConfig {
        arch: Arch::dense(&[16, 12, 4]),
        epochs: 15,
        batch_size: 10,
        lr: 1e-2,
        dropout: 0.0,
        threads: 1,
        ..Default::default()
    };
    (train_relu(&cfg, &data, None, |_| {}).unwrap(), data)
}

/// With constant currents and scales at the 100th percentile (no neuron asked to exceed one
/// spike per step), IF neurons with reset by subtraction count their integrated input:
///
/// - hidden neuron j gets current I_j = a_j / lambda_1 in [0, 1] each step, so after T steps
///   it has fired floor(T I_j) times (exactly, up to f32 rounding of the running sum): the
///   layer total is within n_hidden (+1 for rounding) below T sum_j I_j;
/// - output k then receives U_k = T z_k / lambda_2 - E_k with |E_k| <= B_k = sum_j |w'_jk|
///   (each hidden count is short by less than one spike), and its count differs from U_k by
///   its final potential, which lies within [-2 B_k, 1 + P_k] (P_k = sum_j max(w'_jk, 0), the
///   most one step can add). So |count_k - T z_k / lambda_2| <= C = 3 B + P + 2.
///
/// Hence the spike-count prediction equals the ReLU prediction whenever T times the gap
/// between the two largest normalised logits exceeds 2C. T = 4000 makes that hold for most
/// samples; the test demands it for all of those, and that they are most of the data.
#[test]
fn conversion_preserves_relu_predictions_in_the_long_run() {
    let (net, data) = trained_small();
    let scales = activation_scales(&net, &data, 100.0, 2).unwrap();
    let snet = convert(&net, &scales).unwrap();
    let steps = 4000;
    let cfg = SimConfig {
        steps,
        input: InputMode::Current,
        seed: 0,
    };
    let runs = simulate(&snet, &data, &cfg, 2, NO_PROGRESS).unwrap();
    let NetLayer::Dense(w2) = &snet.layers[1] else {
        panic!("a dense layer")
    };
    let b = (0..w2.n_out)
        .map(|k| {
            (0..w2.n_in)
                .map(|j| w2.w[j * w2.n_out + k].abs())
                .sum::<f32>()
        })
        .fold(0.0f32, f32::max);
    let p = (0..w2.n_out)
        .map(|k| {
            (0..w2.n_in)
                .map(|j| w2.w[j * w2.n_out + k].max(0.0))
                .sum::<f32>()
        })
        .fold(0.0f32, f32::max);
    let c = (3.0 * b + p + 2.0) as f64;
    let (mut x, mut pass) = (Vec::new(), Pass::default());
    let (mut qualified, mut agreed) = (0, 0);
    for (i, r) in runs.iter().enumerate() {
        pixels_into(data.image(i), &mut x);
        forward(&net, &x, &mut pass, None);
        let hidden: f64 = pass.a[1].iter().map(|&a| (a / scales[0]) as f64).sum();
        let h_count = r.spikes_at(steps, 1) as f64;
        assert!(
            h_count <= steps as f64 * hidden + 1.0 && h_count >= steps as f64 * hidden - 12.0 - 1.0,
            "sample {i}: hidden spikes {h_count}, integrated input {}",
            steps as f64 * hidden
        );
        let z: Vec<f64> = pass.a[2].iter().map(|&v| (v / scales[1]) as f64).collect();
        let o_expected: f64 = z.iter().map(|v| v.max(0.0)).sum::<f64>() * steps as f64;
        let o_count = r.spikes_at(steps, 2) as f64;
        assert!(
            (o_count - o_expected).abs() <= 4.0 * c,
            "sample {i}: output spikes {o_count}, expected about {o_expected}"
        );
        let mut sorted = z.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        if steps as f64 * (sorted[0] - sorted[1]) > 2.0 * c && steps as f64 * sorted[0] > c {
            qualified += 1;
            let relu_pred = z
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .unwrap()
                .0 as u8;
            if r.preds[steps - 1] == Some(relu_pred) {
                agreed += 1;
            } else {
                panic!("sample {i}: spiking prediction {:?}, ReLU prediction {relu_pred}, normalised logits {z:?}", r.preds[steps - 1]);
            }
        }
    }
    assert!(
        qualified >= data.len() * 3 / 4,
        "only {qualified} of {} samples had a clear margin",
        data.len()
    );
    assert_eq!(agreed, qualified);
}

/// A rate twin with a convolution, trained on the quadrants, runs as its dense form does:
/// the simulator gives the same spikes and predictions step for step (the convolution's
/// missing synapses are the dense form's zero weights), but counts only the synapses that
/// exist, so its synaptic events are fewer; the converted net agrees with the ReLU net.
#[test]
fn a_conv_twin_simulates_as_its_dense_form() {
    let data = quadrants(200, 5);
    let cfg = ReluTrainConfig {
        arch: Arch::parse("4x4-3c3s1p1-4").unwrap(),
        epochs: 15,
        batch_size: 10,
        lr: 1e-2,
        dropout: 0.0,
        threads: 2,
        ..Default::default()
    };
    let net = train_relu(&cfg, &data, None, |_| {}).unwrap();
    let relu = evaluate_relu(&net, &data, 2);
    assert!(relu.accuracy() > 0.9, "ReLU accuracy {}", relu.accuracy());
    assert!(relu.sparse_macs_mean < net.dense_macs() as f64);
    let scales = activation_scales(&net, &data, 99.9, 2).unwrap();
    let conv = convert(&net, &scales).unwrap();
    let NetLayer::Conv(c) = &conv.layers[0] else {
        panic!("a convolution")
    };
    let dense = SpikingNet {
        layers: vec![NetLayer::Dense(c.to_dense()), conv.layers[1].clone()],
        scales: conv.scales.clone(),
    };
    let sim = SimConfig {
        steps: 100,
        input: InputMode::Poisson { rate: 1.0 },
        seed: 3,
    };
    let a = simulate(&conv, &data, &sim, 2, NO_PROGRESS).unwrap();
    let b = simulate(&dense, &data, &sim, 2, NO_PROGRESS).unwrap();
    let mut fewer = 0;
    for (x, y) in a.iter().zip(&b) {
        assert_eq!((&x.spikes, &x.preds), (&y.spikes, &y.preds));
        assert!(x.events_at(100) <= y.events_at(100));
        fewer += usize::from(x.events_at(100) < y.events_at(100));
    }
    assert!(fewer > 0, "border inputs have fewer targets");
    let correct = a
        .iter()
        .zip(&data.labels)
        .filter(|(r, &l)| r.preds[99] == Some(l))
        .count();
    assert!(
        correct >= 180,
        "converted conv net: {correct} of 200 correct"
    );
}

/// A hand-made spiking net: 4 inputs -> 3 hidden -> 2 outputs.
fn hand_net() -> SpikingNet {
    SpikingNet {
        layers: vec![
            NetLayer::dense(4, 3, vec![0.3; 12]),
            NetLayer::dense(3, 2, vec![0.5, 0.2, 0.5, 0.2, 0.5, 0.2]),
        ],
        scales: vec![1.0, 1.0],
    }
}

#[test]
fn rate_counts_include_input_spikes() {
    // White pixels spike every step at rate 1; black ones never.
    let net = hand_net();
    let cfg = SimConfig {
        steps: 50,
        input: InputMode::Poisson { rate: 1.0 },
        seed: 9,
    };
    let r = run_sample(
        &net,
        &[255, 255, 0, 0],
        &cfg,
        &mut sample_rng(9, 0),
        &mut SimState::default(),
    );
    for t in 1..=50 {
        assert_eq!(
            r.spikes_at(t, 0),
            2 * t as u32,
            "input spikes after step {t}"
        );
    }
    // Hidden neurons get 0.6 per step: they fire 30 times in 50 steps, 3 of them.
    assert_eq!(r.spikes_at(50, 1), 90);
    let expected_events = 2 * 50 * 3 + 90 * 2;
    assert_eq!(rate_events_at(&net, &r, 50), expected_events as u64);
}

#[test]
fn temporal_counts_include_input_spikes() {
    // 4 pixels -> 2 outputs. White pixels spike at t = 0 and carry weight 1 to output 0:
    // S = 2 > theta = 1, so output 0 fires at ln(A / (S - theta)) = ln 2 = 0.69, before the
    // grey pixel (t = 2 (1 - 128/255) = 0.996) and the black one (t = 2). Up to the decision:
    // 2 input spikes + 1 output spike; the full run: all 4 input spikes.
    let model = Model {
        params: Default::default(),
        encoding: Default::default(),
        layers: vec![Layer::dense(
            4,
            2,
            vec![1.0, 0.0, 1.0, 0.0, 0.0, 0.1, 0.0, 0.1],
        )],
        meta: ModelMeta::default(),
    };
    let data = Dataset {
        images: vec![255, 255, 128, 0],
        labels: vec![0],
        rows: 2,
        cols: 2,
    };
    let net = EventNet::from_model(&model).unwrap().compile().unwrap();
    let rep = simulate_events(
        &net,
        &model.encoding,
        &data,
        RunOptions {
            until_decision: true,
        },
        1,
        Record::CountsOnly,
        NO_PROGRESS,
    )
    .unwrap();
    let full = temporal_full_counts(&model, &data, 1, NO_PROGRESS).unwrap();
    let size = NetSize::of_layers(&model.layers);
    let tc = temporal_counts(&rep, &full, &size);
    assert_eq!(tc.spikes_per_layer, vec![2.0, 1.0]);
    assert_eq!(tc.spikes, 3.0);
    assert_eq!(
        tc.synaptic_events, 4.0,
        "2 input spikes x fan-out 2, output fan-out 0"
    );
    assert_eq!(tc.spikes_per_layer_full[0], 4.0);
    assert_eq!(tc.synaptic_events_full, 8.0 + 0.0);
    assert_eq!(tc.accuracy, 1.0);
    // In the literature's units: 3 spikes over 6 neurons up to the decision, 1 of 2 outputs;
    // 4 synaptic events over the 8 multiply-accumulates of a 4-2 ReLU net.
    assert_eq!(tc.sparsity.spikes_per_neuron, 0.5);
    assert_eq!(tc.sparsity.spikes_per_neuron_per_layer, vec![0.5, 0.5]);
    assert_eq!(tc.sparsity.spikes_per_hidden_neuron, None);
    assert_eq!(tc.sparsity.synaptic_events_per_relu_mac, 0.5);
    assert_eq!(tc.sparsity_full.synaptic_events_per_relu_mac, 1.0);
    // A summary built by hand is counted the same way.
    let hand = SimReport {
        runs: vec![RunSummary {
            decision: Some((0, 1.0)),
            fired: vec![5, 2, 1],
            fired_before_decision: vec![5, 2, 1],
            synaptic_events: vec![15, 4, 0],
            synaptic_events_before_decision: vec![15, 4, 0],
        }],
        correct: 1,
        ..Default::default()
    };
    let full = FullCounts {
        spikes: vec![vec![5], vec![2], vec![1]],
        synaptic_events: vec![19],
    };
    let size = NetSize {
        neurons: vec![5, 3, 2],
        synapses: 5 * 3 + 3 * 2,
    };
    let tc = temporal_counts(&hand, &full, &size);
    assert_eq!(tc.spikes, 8.0);
    assert_eq!(tc.synaptic_events, 19.0);
    assert_eq!(tc.sparsity.spikes_per_hidden_neuron, Some(2.0 / 3.0));
    assert_eq!(tc.sparsity.spikes_per_neuron, 0.8);
}

#[test]
fn poisson_runs_depend_on_the_seed_only() {
    let net = hand_net();
    let data = Dataset {
        images: vec![128, 64, 200, 30, 90, 90, 90, 90, 255, 0, 10, 128],
        labels: vec![0, 1, 0],
        rows: 2,
        cols: 2,
    };
    let cfg = SimConfig {
        steps: 200,
        input: InputMode::Poisson { rate: 1.0 },
        seed: 11,
    };
    let a = simulate(&net, &data, &cfg, 1, NO_PROGRESS).unwrap();
    let b = simulate(&net, &data, &cfg, 2, NO_PROGRESS).unwrap();
    assert_eq!(a, b, "same seed, different thread count: runs differ");
    let c = simulate(&net, &data, &SimConfig { seed: 12, ..cfg }, 1, NO_PROGRESS).unwrap();
    assert_ne!(
        a[0].spikes, c[0].spikes,
        "another seed gave the same spikes"
    );
    // Sample 1 alone gives what it gave among others.
    let one = Dataset {
        images: data.image(1).to_vec(),
        labels: vec![1],
        rows: 2,
        cols: 2,
    };
    let mut st = SimState::default();
    let solo = run_sample(&net, one.image(0), &cfg, &mut sample_rng(11, 1), &mut st);
    assert_eq!(solo, a[1]);
}

fn tiny_rate_model() -> RateModel {
    RateModel {
        net: ReluNet::init(&Arch::dense(&[16, 8, 10]), 5),
        scales: vec![1.0, 2.0],
        meta: RateMeta::default(),
    }
}

#[test]
fn corrupt_or_truncated_rate_model_is_a_clear_error() {
    let d = tmp("files");
    let m = tiny_rate_model();
    let (bin, json) = m.save(&d.join("r")).unwrap();
    assert!(json.is_file());
    assert_eq!(RateModel::load(&bin).unwrap(), m);
    let bytes = std::fs::read(&bin).unwrap();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (bytes[..bytes.len() / 2].to_vec(), "truncated"),
        (bytes[..10].to_vec(), "bad magic"),
        (b"not a model at all".to_vec(), "bad magic"),
        (
            {
                let mut v = bytes.clone();
                v[8] = 3;
                v
            },
            "version 3",
        ),
    ];
    for (k, (b, msg)) in cases.iter().enumerate() {
        let p = d.join(format!("bad{k}.bin"));
        std::fs::write(&p, b).unwrap();
        let e = RateModel::load(&p).unwrap_err();
        assert!(
            e.to_string().contains(msg),
            "case {k}: expected '{msg}' in '{e}'"
        );
        assert!(
            e.to_string().contains(&format!("bad{k}.bin")),
            "the error names the file: {e}"
        );
    }
    let mut nan = m.clone();
    nan.net.layers[1].weights_mut()[3] = f32::NAN;
    std::fs::write(d.join("nan.bin"), nan.to_bytes()).unwrap();
    let e = RateModel::load(&d.join("nan.bin")).unwrap_err();
    assert!(e.to_string().contains("NaN"), "{e}");
    let e = RateModel::load(&d.join("missing.bin")).unwrap_err();
    assert!(e.to_string().contains("not found"), "{e}");
    std::fs::remove_dir_all(&d).unwrap();
}

fn write_data(dir: &Path, ds: &Dataset) {
    let (i, l) = to_idx_bytes(ds);
    for split in ["t10k", "train"] {
        std::fs::write(dir.join(format!("{split}-images-idx3-ubyte")), &i).unwrap();
        std::fs::write(dir.join(format!("{split}-labels-idx1-ubyte")), &l).unwrap();
    }
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_firstspike"))
        .args(args)
        .env_remove("FIRSTSPIKE_DATA")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        err,
    )
}

#[test]
fn baseline_train_and_compare_end_to_end() {
    let d = tmp("cli");
    let data = d.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mut ds = quadrants(120, 8);
    ds.labels.iter_mut().for_each(|l| *l *= 2); // labels 0, 2, 4, 6 of 10 classes
    write_data(&data, &ds);
    let temporal = Model {
        params: Default::default(),
        encoding: Default::default(),
        layers: vec![
            Layer::dense(16, 6, vec![0.2; 96]),
            Layer::dense(6, 10, vec![0.5; 60]),
        ],
        meta: ModelMeta::default(),
    };
    temporal.save(&d.join("t")).unwrap();
    let s = |p: PathBuf| p.to_str().unwrap().to_string();
    let (dd, rp, tp, cp) = (
        s(data.clone()),
        s(d.join("r")),
        s(d.join("t.bin")),
        s(d.join("c")),
    );
    let (code, out, err) = run(&[
        "baseline",
        "train",
        "--data",
        &dd,
        "--arch",
        "16-12-10",
        "--epochs",
        "3",
        "--lr",
        "0.01",
        "--check-steps",
        "50",
        "--out",
        &rp,
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["relu_test_accuracy"].as_f64().unwrap() > 0.5, "{v}");
    // `--arch` takes the syntax of `train`, convolutions included.
    let cp2 = s(d.join("rc"));
    let (code, out, err) = run(&[
        "baseline",
        "train",
        "--data",
        &dd,
        "--arch",
        "4x4-3c3s2p1-10",
        "--epochs",
        "3",
        "--lr",
        "0.01",
        "--check-steps",
        "20",
        "--out",
        &cp2,
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let cv: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(cv["layers"], "4x4-3c3s2p1-10", "{cv}");
    assert_eq!(cv["arch"], serde_json::json!([16, 12, 10]), "{cv}");
    let conv = RateModel::load(Path::new(&format!("{cp2}.bin"))).unwrap();
    assert!(matches!(conv.net.layers[0], NetLayer::Conv(_)));
    let (code, _, err) = run(&[
        "baseline",
        "train",
        "--data",
        &dd,
        "--arch",
        "4x4-3c5-10",
        "--out",
        &cp2,
    ]);
    assert_eq!(
        code, 2,
        "a kernel larger than the map is a usage error: {err}"
    );
    assert!(err.contains("does not fit"), "{err}");
    let (code, out, err) = run(&[
        "compare",
        "--temporal",
        &tp,
        "--rate",
        &format!("{rp}.bin"),
        "--data",
        &dd,
        "--steps",
        "40",
        "--json",
        "--out",
        &cp,
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    for key in [
        "accuracy",
        "spikes_per_inference",
        "synaptic_events_per_inference",
    ] {
        assert!(
            v["temporal"][key].is_number(),
            "temporal.{key} missing: {v}"
        );
        assert!(v["rate"][key].is_number(), "rate.{key} missing: {v}");
    }
    assert!(v["rate"]["steps"].as_u64().unwrap() >= 1);
    assert!(
        v["spike_ratio"].is_number() && v["synaptic_event_ratio"].is_number(),
        "{v}"
    );
    assert!(v["operating_point"]["reference"].is_string(), "{v}");
    // The literature's units: the first-spike net (16-6-10) to the decision and in full, the
    // rate net at the operating point; both against the 16 x 6 + 6 x 10 = 156 MACs of the
    // temporal shape, and 16 x 12 + 12 x 10 = 312 for the rate net's own.
    for (key, macs) in [
        (&v["temporal"]["sparsity"]["to_decision"], 156),
        (&v["temporal"]["sparsity"]["full_run"], 156),
        (&v["rate"]["sparsity"], 312),
        (&v["rate"]["final_sparsity"], 312),
    ] {
        assert_eq!(key["relu_macs"], macs, "{v}");
        assert_eq!(
            key["spikes_per_neuron_per_layer"].as_array().unwrap().len(),
            3
        );
        let e = key["synaptic_events"].as_f64().unwrap();
        let r = key["synaptic_events_per_relu_mac"].as_f64().unwrap();
        assert!((r - e / macs as f64).abs() < 1e-12, "{v}");
        assert!(key["spikes_per_hidden_neuron"].is_number(), "{v}");
    }
    assert_eq!(
        v["temporal"]["sparsity"]["to_decision"]["synaptic_events"],
        v["temporal"]["synaptic_events_per_inference"]
    );
    for ext in ["md", "csv", "svg"] {
        let f = d.join(format!("c.{ext}"));
        assert!(f.is_file(), "{} missing", f.display());
    }
    let csv = std::fs::read_to_string(d.join("c.csv")).unwrap();
    assert_eq!(csv.lines().filter(|l| l.starts_with("rate,")).count(), 40);
    // Bad inputs: usage errors exit 2, bad files exit 1, nothing written.
    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (
            vec![
                "compare".into(),
                "--temporal".into(),
                tp.clone(),
                "--rate".into(),
                format!("{rp}.bin"),
                "--data".into(),
                dd.clone(),
                "--steps".into(),
                "0".into(),
                "--out".into(),
                s(d.join("x")),
            ],
            2,
            "--steps",
        ),
        (
            vec![
                "compare".into(),
                "--temporal".into(),
                tp.clone(),
                "--rate".into(),
                format!("{rp}.bin"),
                "--data".into(),
                dd.clone(),
                "--input-rate".into(),
                "1.5".into(),
                "--out".into(),
                s(d.join("x")),
            ],
            2,
            "input rate",
        ),
        (
            vec![
                "compare".into(),
                "--temporal".into(),
                tp.clone(),
                "--rate".into(),
                tp.clone(),
                "--data".into(),
                dd.clone(),
                "--out".into(),
                s(d.join("x")),
            ],
            1,
            "this is a model file, not a rate model file",
        ),
        (
            vec![
                "compare".into(),
                "--temporal".into(),
                format!("{rp}.bin"),
                "--rate".into(),
                format!("{rp}.bin"),
                "--data".into(),
                dd.clone(),
                "--out".into(),
                s(d.join("x")),
            ],
            1,
            "this is a rate model file, not a model file",
        ),
        (
            vec![
                "compare".into(),
                "--temporal".into(),
                tp.clone(),
                "--rate".into(),
                format!("{rp}.bin"),
                "--data".into(),
                dd.clone(),
                "--out".into(),
                s(d.join("no/dir/x")),
            ],
            1,
            "does not exist",
        ),
        (
            vec![
                "baseline".into(),
                "train".into(),
                "--data".into(),
                dd.clone(),
                "--arch".into(),
                "16-12-10".into(),
                "--dropout".into(),
                "1".into(),
                "--out".into(),
                s(d.join("x")),
            ],
            2,
            "--dropout",
        ),
        (
            vec![
                "baseline".into(),
                "train".into(),
                "--data".into(),
                dd.clone(),
                "--arch".into(),
                "784-12-10".into(),
                "--out".into(),
                s(d.join("x")),
            ],
            1,
            "784 inputs",
        ),
    ];
    for (args, code, msg) in &cases {
        let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        let (c, _, err) = run(&a);
        assert_eq!(c, *code, "{a:?}: exit {c}, stderr: {err}");
        assert!(err.contains(msg), "{a:?}: expected '{msg}' in: {err}");
    }
    assert!(!d.join("x.md").exists() && !d.join("x.bin").exists());
    std::fs::remove_dir_all(&d).unwrap();
}
