//! Throughput of the engines on real MNIST test digits (the embedded 1,000-image slice) with
//! the shipped 784-800-10 model (a freshly initialised one if it is missing).
//!
//! Groups: `analytic` (forward pass per sample, f64 and f32; training steps, two batches of 32
//! samples with the update, f32, one thread) reported as samples/s; `event` (full run and stop-at-decision) reported as synaptic
//! events/s, single thread. Run: `cargo bench --bench engines`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use firstspike::analytic::{forward, ForwardPass, LayerScratch, Net};
use firstspike::embedded::mnist_test_slice;
use firstspike::event::{Engine, EventNet, NoRecord, RunOptions};
use firstspike::grad::{sample_grad, BackScratch, BackwardStats, SampleGrad};
use firstspike::loss::{output_loss, LossOrigin};
use firstspike::model::Model;
use firstspike::train::adam::Adam;
use firstspike::train::update::{UpdateSettings, Updater};
use firstspike::train::{init_model, TrainConfig};
use std::hint::black_box;

const SAMPLES: usize = 64;

fn setup() -> (Model, Vec<Vec<f64>>, Vec<u8>) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/models/mnist-784-800-10.bin");
    let model = Model::load(path.as_ref()).unwrap_or_else(|_| {
        eprintln!("{path} not found: benchmarking a freshly initialised 784-800-10 network");
        init_model(&TrainConfig::default())
    });
    let data = mnist_test_slice().expect("embedded slice");
    let inputs = (0..SAMPLES)
        .map(|i| model.encoding.encode(data.image(i)))
        .collect();
    (model, inputs, data.labels[..SAMPLES].to_vec())
}

fn analytic(c: &mut Criterion) {
    let (model, inputs, labels) = setup();
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
        // What training does per batch of 32, on one thread: forward, loss and the
        // per-sample gradient record of each sample, then the row-wise update (gradient
        // sums, Adam, costs) with the default settings.
        let (mut s, mut p) = (LayerScratch::default(), ForwardPass::default());
        let (mut bs, mut st) = (BackScratch::default(), BackwardStats::default());
        let cfg = TrainConfig::default();
        let mut net = n32.clone();
        let sizes: Vec<usize> = net.layers.iter().map(|l| l.weights().len()).collect();
        let (mut adam, mut up) = (Adam::new(&sizes), Updater::default());
        let set = UpdateSettings {
            lr: cfg.lr as f32,
            weight_sum_k: cfg.weight_sum_k as f32,
            l2: cfg.l2 as f32,
            clip_norm: cfg.clip_norm,
            threads: 1,
        };
        let mut recs = vec![SampleGrad::default(); 32];
        let mut dl = vec![0.0; 10];
        let mut t_out = vec![0.0; 10];
        let mut d32 = vec![0.0f32; 10];
        b.iter(|| {
            for (ins, ls) in in32.chunks(32).zip(labels.chunks(32)) {
                for ((t, &l), rec) in ins.iter().zip(ls).zip(recs.iter_mut()) {
                    forward(&net, t, &mut s, &mut p);
                    for (o, &x) in t_out.iter_mut().zip(p.outputs()) {
                        *o = x as f64;
                    }
                    rec.clear();
                    if output_loss(&t_out, l as usize, 1.0, LossOrigin::Input, &mut dl).is_some() {
                        d32.iter_mut().zip(&dl).for_each(|(d, &x)| *d = x as f32);
                        let scale = 1.0 / 32.0;
                        sample_grad(&net, &p, &d32, 0.01, scale, &mut bs, rec, &mut st);
                    }
                }
                black_box(up.apply(&mut net, &mut adam, &recs[..ins.len()], &set));
            }
        })
    });
    g.finish();
}

fn event(c: &mut Criterion) {
    let (model, inputs, _) = setup();
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
