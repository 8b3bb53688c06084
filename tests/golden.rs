//! A fresh simulation of MNIST test digit 0 against the golden trace and raster in
//! traces/golden/ (regenerate with tools/make-golden.sh).

use firstspike::embedded::mnist_test_slice;
use firstspike::event::{Engine, EventNet, RunOptions};
use firstspike::model::Model;
use firstspike::trace::{TraceFile, TraceRecorder};
use std::path::Path;

/// Relative tolerance on golden spike times: the computation is deterministic IEEE arithmetic,
/// so only a change of the code or of the libm's exp/ln may move a time, by a few ulps; any
/// real change of the model's behaviour moves them far more.
const GOLDEN_TOL: f64 = 1e-12;

#[test]
fn simulation_matches_the_golden_trace_and_raster() {
    let g = Path::new(env!("CARGO_MANIFEST_DIR")).join("traces/golden");
    let model = Model::load(&g.join("tiny-784-20-10.bin")).unwrap();
    let golden = TraceFile::load(&g.join("samples-000000-000000.trace")).unwrap();
    golden.header.check_model(&model, &g).unwrap();
    let data = mnist_test_slice().unwrap();
    let net = EventNet::from_model(&model).unwrap().compile().unwrap();
    let mut rec = TraceRecorder::new(&net);
    rec.reset(0, Some(data.labels[0]));
    Engine::new(&net)
        .run(
            &model.encoding.encode(data.image(0)),
            RunOptions::default(),
            &mut rec,
        )
        .unwrap();
    let fresh = rec.trace;
    let gold = &golden.samples[0];
    assert_eq!(fresh.causal, gold.causal);
    assert_eq!(fresh.decision.map(|d| d.0), gold.decision.map(|d| d.0));
    assert_eq!(fresh.spikes.len(), gold.spikes.len());
    for (a, b) in fresh.spikes.iter().zip(&gold.spikes) {
        assert_eq!((a.layer, a.neuron), (b.layer, b.neuron));
        assert!(
            (a.time - b.time).abs() <= GOLDEN_TOL * b.time.abs().max(1.0),
            "{a:?} vs {b:?}"
        );
    }
    // The raster CSV holds the same spikes.
    let csv = std::fs::read_to_string(g.join("sample0.csv")).unwrap();
    let rows: Vec<(u16, u32, f64)> = csv
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows.len(), fresh.spikes.len());
    for (r, s) in rows.iter().zip(&fresh.spikes) {
        assert_eq!((r.0, r.1), (s.layer, s.neuron));
        assert!((r.2 - s.time).abs() <= GOLDEN_TOL * s.time.abs().max(1.0));
    }
}
