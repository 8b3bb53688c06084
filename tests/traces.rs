//! Traces: round trip through files, refusal of bad files, and gradients replayed from either
//! engine's traces.

mod common;

use common::{random_layers, UNIT_CASES};
use firstspike::analytic::{forward, ForwardPass, LayerScratch, Net};
use firstspike::data::Split;
use firstspike::encoding::Encoding;
use firstspike::event::{Engine, EventNet, RunOptions};
use firstspike::grad::{backward, BackScratch, BackwardStats};
use firstspike::loss::output_loss;
use firstspike::loss::LossOrigin;
use firstspike::model::{Model, ModelMeta};
use firstspike::neuron::NeuronParams;
use firstspike::progress::NO_PROGRESS;
use firstspike::replay::{replay, replay_gradients};
use firstspike::trace::{EngineKind, SampleTrace, TraceFile, TraceHeader, TraceRecorder};
use firstspike::train::{train, TrainConfig};
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};

/// Relative tolerance between gradients replayed from the two engines' traces (f64). Both
/// traces hold the same spike times (to rounding, in practice exactly), so the gradients
/// agree to rounding.
const GRAD_AGREE_TOL: f64 = 1e-9;

fn model(seed: u64, arch: &[usize]) -> Model {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    Model {
        params: NeuronParams::default(),
        encoding: Encoding::default(),
        layers: random_layers(&mut rng, arch, -0.2..0.6),
        meta: ModelMeta::default(),
    }
}

fn inputs(seed: u64, n: usize, count: usize) -> Vec<Vec<f64>> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            (0..n)
                .map(|_| {
                    if rng.gen_bool(0.1) {
                        f64::INFINITY
                    } else {
                        rng.gen_range(0.0..2.0)
                    }
                })
                .collect()
        })
        .collect()
}

fn both_traces(m: &Model, ins: &[Vec<f64>]) -> (Vec<SampleTrace>, Vec<SampleTrace>) {
    let anet = Net::<f64>::from_model(m);
    let enet = EventNet::from_model(m).unwrap().compile().unwrap();
    let mut eng = Engine::new(&enet);
    let mut rec = TraceRecorder::new(&enet);
    let (mut a, mut e) = (Vec::new(), Vec::new());
    for (k, t) in ins.iter().enumerate() {
        let mut pass = ForwardPass::default();
        forward(&anet, t, &mut LayerScratch::default(), &mut pass);
        a.push(SampleTrace::from_pass(
            &pass,
            k as u64,
            Some((k % m.n_outputs()) as u8),
        ));
        rec.reset(k as u64, Some((k % m.n_outputs()) as u8));
        eng.run(t, RunOptions::default(), &mut rec).unwrap();
        e.push(rec.trace.clone());
    }
    (a, e)
}

fn max_rel_diff(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    a.iter()
        .flatten()
        .zip(b.iter().flatten())
        .map(|(x, y)| (x - y).abs() / x.abs().max(y.abs()).max(1e-12))
        .fold(0.0, f64::max)
}

#[test]
fn event_and_analytic_traces_give_the_same_gradients() {
    let m = model(11, &[20, 12, 4]);
    let ins = inputs(12, 20, 64);
    let (a, e) = both_traces(&m, &ins);
    let (ga, la, na) = replay_gradients(&m, &a, LossOrigin::Input, 0.01).unwrap();
    let (ge, le, ne) = replay_gradients(&m, &e, LossOrigin::Input, 0.01).unwrap();
    assert!(na > 30, "only {na} samples had a target spike");
    assert_eq!(na, ne);
    assert!((la - le).abs() <= GRAD_AGREE_TOL * la.abs());
    let d = max_rel_diff(&ga, &ge);
    assert!(d <= GRAD_AGREE_TOL, "gradients differ by {d}");
    assert!(ga.iter().flatten().any(|&g| g != 0.0));
}

/// Replayed gradients take tau_syn and theta from the model: at every parameter set, the
/// gradient replayed from event-engine traces equals the backward pass run directly on the
/// analytic forward pass with the model's tau (loss) and theta (S - theta), to rounding.
#[test]
fn replayed_gradients_use_the_models_units() {
    for p in UNIT_CASES {
        let mut m = model(13, &[20, 12, 4]);
        m.params = p;
        m.layers
            .iter_mut()
            .for_each(|l| l.weights_mut().iter_mut().for_each(|w| *w *= p.theta));
        let ins: Vec<Vec<f64>> = inputs(14, 20, 48)
            .into_iter()
            .map(|t| t.into_iter().map(|x| x * p.tau_syn).collect())
            .collect();
        let (_, e) = both_traces(&m, &ins);
        let floor = 0.01 * p.theta;
        let (got, loss, n) = replay_gradients(&m, &e, LossOrigin::FirstOutput, floor).unwrap();
        let net = Net::<f64>::from_model(&m);
        let mut want: Vec<Vec<f64>> = net
            .layers
            .iter()
            .map(|l| vec![0.0; l.weights().len()])
            .collect();
        let (mut want_loss, mut want_n) = (0.0, 0);
        let mut dl = vec![0.0; m.n_outputs()];
        for (k, t) in ins.iter().enumerate() {
            let mut pass = ForwardPass::default();
            forward(&net, t, &mut LayerScratch::default(), &mut pass);
            let label = k % m.n_outputs();
            let origin = LossOrigin::FirstOutput;
            if let Some(l) = output_loss(pass.outputs(), label, p.tau_syn, origin, &mut dl) {
                backward(
                    &net,
                    &pass,
                    &dl,
                    &mut want,
                    floor,
                    &mut BackScratch::default(),
                    &mut BackwardStats::default(),
                );
                want_loss += l;
                want_n += 1;
            }
        }
        want.iter_mut().flatten().for_each(|g| *g /= want_n as f64);
        assert!(n > 20, "{p:?}: only {n} samples had a target spike");
        assert_eq!(n, want_n, "{p:?}");
        let want_loss = want_loss / want_n as f64;
        assert!(
            (loss - want_loss).abs() <= GRAD_AGREE_TOL * want_loss.abs(),
            "{p:?}: loss {loss} vs {want_loss}"
        );
        let d = max_rel_diff(&got, &want);
        assert!(d <= GRAD_AGREE_TOL, "{p:?}: gradients differ by {d}");
        assert!(got.iter().flatten().any(|&g| g != 0.0));
    }
}

#[test]
fn replay_uses_the_recorded_causal_sets() {
    // Shrinking one hidden neuron's recorded causal set must change the gradients: a replay
    // that ignored the trace's causal sets (or used the wrong ones) would not notice.
    let m = model(21, &[20, 12, 4]);
    let ins = inputs(22, 20, 16);
    let (a, _) = both_traces(&m, &ins);
    let (g0, _, _) = replay_gradients(&m, &a, LossOrigin::Input, 0.01).unwrap();
    let mut bad = a.clone();
    let j = bad[0].causal[0]
        .iter()
        .position(|&c| c > 1)
        .expect("a hidden neuron with a causal set > 1");
    bad[0].causal[0][j] -= 1;
    let (g1, _, _) = replay_gradients(&m, &bad, LossOrigin::Input, 0.01).unwrap();
    assert!(
        max_rel_diff(&g0, &g1) > 1e-6,
        "gradients did not change with the causal set"
    );
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("firstspike-traces-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn round_trip_write_read_replay() {
    let m = model(31, &[20, 12, 4]);
    let ins = inputs(32, 20, 10);
    let (_, e) = both_traces(&m, &ins);
    let d = tmpdir("roundtrip");
    let p = d.join("t.trace");
    let f = TraceFile {
        header: TraceHeader::for_model(&m, EngineKind::Event, true),
        samples: e.clone(),
    };
    f.save(&p).unwrap();
    let back = TraceFile::load(&p).unwrap();
    assert_eq!(back, f);
    let rep = replay(&m, &[(p.clone(), back)], NO_PROGRESS).unwrap();
    assert_eq!(rep.samples, 10);
    assert_eq!(rep.decision_mismatches, 0);
    let arch = m.arch();
    let mean0: f64 = e.iter().map(|t| t.fired(&arch)[1] as f64).sum::<f64>() / 10.0;
    assert_eq!(rep.spikes_per_layer_mean[1], mean0);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn bad_trace_files_are_refused_clearly() {
    let m = model(41, &[20, 12, 4]);
    let (_, e) = both_traces(&m, &inputs(42, 20, 3));
    let f = TraceFile {
        header: TraceHeader::for_model(&m, EngineKind::Event, true),
        samples: e,
    };
    let bytes = f.to_bytes();
    let p = Path::new("x.trace");
    let err = |b: &[u8]| TraceFile::from_bytes(b, p).unwrap_err().to_string();
    assert!(err(&bytes[..bytes.len() - 10]).contains("truncated"));
    assert!(err(b"not a trace").contains("bad magic"));
    let mut v = bytes.clone();
    v[8] = 7;
    assert!(err(&v).contains("version 7"));
    // A spike of a neuron that does not exist.
    let mut g = f.clone();
    g.samples[0].spikes[0].neuron = 999;
    assert!(err(&g.to_bytes()).contains("does not exist"));
    // Another model.
    let other = model(43, &[20, 12, 4]);
    let e2 = f.header.check_model(&other, p).unwrap_err().to_string();
    assert!(e2.contains("another model"), "{e2}");
}

/// `train --engine event` and `--engine analytic` with the same seed reach the same accuracy
/// within a stated margin: the forward passes differ only in precision (f64 event engine vs
/// f32 analytic solver), so the trajectories drift apart slowly. Margin: 3 points.
#[test]
fn training_through_event_traces_matches_analytic_training() {
    let mut tr = common::mnist_slice(Split::Train);
    tr.truncate(3000).unwrap();
    let te = common::mnist_slice(Split::Test);
    let mut acc = Vec::new();
    for engine in [EngineKind::Analytic, EngineKind::Event] {
        let cfg = TrainConfig {
            arch: firstspike::network::Arch::dense(&[784, 100, 10]),
            epochs: 1,
            threads: 2,
            engine,
            ..TrainConfig::default()
        };
        let out = train(&cfg, &tr, Some(&te), |_| {}).unwrap();
        acc.push(out.log[0].test_accuracy.unwrap());
    }
    assert!(acc[0] > 0.75, "analytic training failed: {acc:?}");
    assert!(
        (acc[0] - acc[1]).abs() <= 0.03,
        "engines' training differ: {acc:?}"
    );
}

/// Regression: a trace whose label is not one of the model's outputs, or whose layer sizes
/// are not the model's, made the replay index out of bounds (a panic). Both are errors now,
/// from the library and from the trace reader.
#[test]
fn regression_replay_of_a_trace_that_does_not_fit_the_model_is_an_error() {
    let m = model(31, &[20, 12, 4]);
    let ins = inputs(32, 20, 3);
    let (a, _) = both_traces(&m, &ins);
    let mut bad_label = a.clone();
    bad_label[1].label = Some(4);
    let e = replay_gradients(&m, &bad_label, LossOrigin::Input, 0.01).unwrap_err();
    assert!(
        e.to_string()
            .contains("label 4, but the network has only 4 outputs"),
        "{e}"
    );
    let other = model(31, &[20, 10, 4]);
    let e = replay_gradients(&other, &a, LossOrigin::Input, 0.01).unwrap_err();
    assert!(
        e.to_string().contains("does not fit the model [20, 10, 4]"),
        "{e}"
    );
    // The file reader refuses the bad label before any replay.
    let f = TraceFile {
        header: TraceHeader::for_model(&m, EngineKind::Analytic, true),
        samples: bad_label,
    };
    let e = TraceFile::from_bytes(&f.to_bytes(), Path::new("bad.trace")).unwrap_err();
    assert!(e.to_string().contains("sample 1: label 4"), "{e}");
}
