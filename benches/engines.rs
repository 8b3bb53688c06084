//! Throughput of the engines on real MNIST test digits (the embedded 1,000-image slice) with
//! the shipped 784-800-10 model (a freshly initialised one if it is missing).
//!
//! Groups: `analytic` (forward pass per sample, f64 and f32; the trainer's steps, two batches
//! of 32 samples with the update, f32, one thread) reported as samples/s; `event` (full run and
//! stop-at-decision) reported as synaptic events/s, single thread. Run: `cargo bench --bench engines`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use firstspike::analytic::{forward, ForwardPass, LayerScratch, Net};
use firstspike::embedded::mnist_test_slice;
use firstspike::event::{Engine, EventNet, NoRecord, RunOptions};
use firstspike::model::Model;
use firstspike::train::{init_model, TrainConfig, Trainer};
use std::hint::black_box;

const SAMPLES: usize = 64;

fn setup() -> (Model, Vec<Vec<f64>>) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/models/mnist-784-800-10.bin");
    let model = Model::load(path.as_ref()).unwrap_or_else(|_| {
        eprintln!("{path} not found: benchmarking a freshly initialised 784-800-10 network");
        init_model(&TrainConfig::default())
    });
    let data = mnist_test_slice().expect("embedded slice");
    let inputs = (0..SAMPLES)
        .map(|i| model.encoding.encode(data.image(i)))
        .collect();
    (model, inputs)
}

fn analytic(c: &mut Criterion) {
    let (model, inputs) = setup();
    let mut g = c.benchmark_group("analytic");
    g.throughput(Throughput::Elements(SAMPLES as u64));
    let n64 = Net::<f64>::from_model(&model);
    let n32 = Net::<f32>::from_model(&model);
    let in32: Vec<Vec<f32>> = inputs
        .iter()
        .map(|v| v.iter().map(|&t| t as f32).collect())
        .collect();
    g.bench_function("forward_f64", |b| {
        let (mut s, mut p) = (LayerScratch::default(), ForwardPass::default());
        b.iter(|| {
            for t in &inputs {
                forward(&n64, t, &mut s, &mut p);
                black_box(p.decision());
            }
        })
    });
    g.bench_function("forward_f32", |b| {
        let (mut s, mut p) = (LayerScratch::default(), ForwardPass::default());
        b.iter(|| {
            for t in &in32 {
                forward(&n32, t, &mut s, &mut p);
                black_box(p.decision());
            }
        })
    });
    g.bench_function("train_step_f32", |b| {
        // Training itself, on one thread: the trainer's steps over the 1,000 embedded digits
        // (an epoch end every 32 steps) in batches of 32 (forward, loss, per-sample gradient records, then the row-wise update:
        // gradient sums, Adam, costs), two steps per iteration, no input jitter, default
        // settings otherwise.
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
        let mut trainer = Trainer::from_model(&cfg, &model, &digits, None).expect("trainer");
        b.iter(|| {
            for _ in 0..2 {
                black_box(trainer.step(&mut |_| {}).expect("training step"));
            }
        })
    });
    g.finish();
}

fn event(c: &mut Criterion) {
    let (model, inputs) = setup();
    let net = EventNet::from_model(&model).unwrap().compile().unwrap();
    let mut g = c.benchmark_group("event");
    for until_decision in [false, true] {
        let opts = RunOptions { until_decision };
        // Count the synaptic events of these samples once, for the throughput figure.
        let mut eng = Engine::new(&net);
        let events: u64 = inputs
            .iter()
            .map(|t| eng.run(t, opts, &mut NoRecord).unwrap().total_events())
            .sum();
        g.throughput(Throughput::Elements(events));
        let name = if until_decision {
            "until_decision"
        } else {
            "full_run"
        };
        g.bench_with_input(
            BenchmarkId::new("synaptic_events", name),
            &opts,
            |b, &opts| {
                b.iter(|| {
                    for t in &inputs {
                        black_box(eng.run(t, opts, &mut NoRecord).unwrap());
                    }
                })
            },
        );
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(5));
    targets = analytic, event
}
criterion_main!(benches);
