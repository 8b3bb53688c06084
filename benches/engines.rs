//! Throughput of the engines on real MNIST test digits (the embedded 1,000-image slice).
//!
//! Groups, each over every shipped first-spike model in `models/` (the Fashion-MNIST models
//! too: the digits are only a workload there, not a test of accuracy):
//! - `analytic/forward_f64/<model>`, `analytic/forward_f32/<model>`: the analytic solver's
//!   forward pass, reported as samples/s.
//! - `event/full_run/<model>`, `event/until_decision/<model>`: the event engine, one thread,
//!   reported as synaptic events/s.
//! - `analytic/train_step_f32/<model>`: the trainer's steps on the 784-800-10 and the conv
//!   models (below).
//! - `rate/sim_t300/rate-784-800-10`: the rate-coded baseline's simulator, T = 300 steps with
//!   constant input currents, reported as samples/s.
//!
//! A model missing from `models/` is skipped (with a note), except that the 784-800-10 falls
//! back to a freshly initialised network. Run: `cargo bench --bench engines`; one model:
//! `cargo bench --bench engines -- mnist-784-400-400-10`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use firstspike::analytic::{forward, ForwardPass, LayerScratch, Net};
use firstspike::data::Dataset;
use firstspike::embedded::mnist_test_slice;
use firstspike::event::{Engine, EventNet, NoRecord, RunOptions};
use firstspike::model::Model;
use firstspike::rate::sim::{run_sample, InputMode, SimConfig, SimState};
use firstspike::rate::RateModel;
use firstspike::train::{init_model, TrainConfig, Trainer};
use std::hint::black_box;
use std::path::PathBuf;

/// Digits per benchmark iteration.
const SAMPLES: usize = 64;

/// The shipped first-spike models.
const MODELS: [&str; 6] = [
    "mnist-784-800-10",
    "mnist-784-400-400-10",
    "mnist-conv-32c5s2-64c5s2-10",
    "mnist-conv-32c5s2p2-64c5s2p2-10",
    "fashion-784-800-10",
    "fashion-784-800-10-q4",
];

fn model_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("models/{name}.bin"))
}

/// The shipped models that load, with the first `SAMPLES` embedded digits encoded for each.
fn setup() -> Vec<(String, Model, Vec<Vec<f64>>)> {
    let data = mnist_test_slice().expect("embedded slice");
    MODELS
        .iter()
        .filter_map(|&name| {
            let model = match Model::load(&model_path(name)) {
                Ok(m) => m,
                Err(_) if name == "mnist-784-800-10" => {
                    eprintln!("{name} not found: benchmarking a freshly initialised network");
                    init_model(&TrainConfig::default())
                }
                Err(e) => {
                    eprintln!("skipping {name}: {e}");
                    return None;
                }
            };
            let inputs = (0..SAMPLES)
                .map(|i| model.encoding.encode(data.image(i)))
                .collect();
            Some((name.to_string(), model, inputs))
        })
        .collect()
}

fn analytic(c: &mut Criterion) {
    let models = setup();
    let mut g = c.benchmark_group("analytic");
    g.throughput(Throughput::Elements(SAMPLES as u64));
    for (name, model, inputs) in &models {
        let n64 = Net::<f64>::from_model(model);
        let n32 = Net::<f32>::from_model(model);
        let in32: Vec<Vec<f32>> = inputs
            .iter()
            .map(|v| v.iter().map(|&t| t as f32).collect())
            .collect();
        g.bench_function(BenchmarkId::new("forward_f64", name), |b| {
            let (mut s, mut p) = (LayerScratch::default(), ForwardPass::default());
            b.iter(|| {
                for t in inputs {
                    forward(&n64, t, &mut s, &mut p);
                    black_box(p.decision());
                }
            })
        });
        g.bench_function(BenchmarkId::new("forward_f32", name), |b| {
            let (mut s, mut p) = (LayerScratch::default(), ForwardPass::default());
            b.iter(|| {
                for t in &in32 {
                    forward(&n32, t, &mut s, &mut p);
                    black_box(p.decision());
                }
            })
        });
    }
    let trained = models
        .iter()
        .filter(|(name, ..)| name == "mnist-784-800-10" || name.starts_with("mnist-conv"));
    for (name, model, _) in trained {
        g.bench_function(BenchmarkId::new("train_step_f32", name), |b| {
            // Training itself, on one thread: the trainer's steps over the 1,000 embedded
            // digits (an epoch end every 32 steps) in batches of 32 (forward, loss,
            // per-sample gradient records, then the row-wise update: gradient sums, Adam,
            // costs), two steps per iteration, no input jitter, default settings otherwise.
            let digits = mnist_test_slice().expect("embedded slice");
            let cfg = TrainConfig {
                epochs: 1_000_000,
                batch_size: 32,
                threads: 1,
                jitter_sd: 0.0,
                arch: firstspike::Arch::of_layers(&model.layers),
                params: model.params,
                encoding: model.encoding,
                ..TrainConfig::default()
            };
            let mut trainer = Trainer::from_model(&cfg, model, &digits, None).expect("trainer");
            b.iter(|| {
                for _ in 0..2 {
                    black_box(trainer.step(&mut |_| {}).expect("training step"));
                }
            })
        });
    }
    g.finish();
}

fn event(c: &mut Criterion) {
    let mut g = c.benchmark_group("event");
    for (name, model, inputs) in &setup() {
        let net = EventNet::from_model(model).unwrap().compile().unwrap();
        let mut eng = Engine::new(&net);
        for until_decision in [false, true] {
            let opts = RunOptions { until_decision };
            // Count the synaptic events of these samples once, for the throughput figure.
            let events: u64 = inputs
                .iter()
                .map(|t| eng.run(t, opts, &mut NoRecord).unwrap().total_events())
                .sum();
            g.throughput(Throughput::Elements(events));
            let run = if until_decision {
                "until_decision"
            } else {
                "full_run"
            };
            g.bench_function(BenchmarkId::new(run, name), |b| {
                b.iter(|| {
                    for t in inputs {
                        black_box(eng.run(t, opts, &mut NoRecord).unwrap());
                    }
                })
            });
        }
    }
    g.finish();
}

fn rate(c: &mut Criterion) {
    let name = "rate-784-800-10";
    let model = match RateModel::load(&model_path(name)) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("skipping {name}: {e}");
            return;
        }
    };
    let net = model.spiking().expect("a rate model converts");
    let data: Dataset = mnist_test_slice().expect("embedded slice");
    let cfg = SimConfig {
        steps: 300,
        input: InputMode::Current,
        seed: 1,
    };
    let mut g = c.benchmark_group("rate");
    g.throughput(Throughput::Elements(SAMPLES as u64));
    g.bench_function(BenchmarkId::new("sim_t300", name), |b| {
        let mut st = SimState::default();
        let mut rng = firstspike::rate::sim::sample_rng(1, 0);
        b.iter(|| {
            for i in 0..SAMPLES {
                black_box(run_sample(&net, data.image(i), &cfg, &mut rng, &mut st));
            }
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(5));
    targets = analytic, event, rate
}
criterion_main!(benches);
