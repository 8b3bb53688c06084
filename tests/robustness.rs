//! Robustness sweeps by scenario, on the shipped models and the MNIST slice bundled in the
//! binary (no data folder needed): quantisation really has few levels, a zero perturbation
//! changes nothing and reproduces `eval`, the same seed gives the same numbers (on any thread
//! count), and the event engine agrees exactly on perturbed inputs and weights.

use firstspike::analytic::{evaluate, Net};
use firstspike::data::Dataset;
use firstspike::embedded::mnist_test_slice;
use firstspike::model::Model;
use firstspike::progress::NO_PROGRESS;
use firstspike::rate::RateModel;
use firstspike::robust::temporal::{event_check, key, perturbed_model, run_outcomes, InputNoise};
use firstspike::robust::{self, Kind, SweepConfig};
use std::collections::HashSet;

fn model() -> Model {
    Model::load("models/mnist-784-800-10.bin".as_ref()).unwrap()
}

fn deep() -> Model {
    Model::load("models/mnist-784-400-400-10.bin".as_ref()).unwrap()
}

fn slice(n: usize) -> Dataset {
    let mut d = mnist_test_slice().unwrap();
    d.truncate(n).unwrap();
    d
}

/// A small sweep: every kind, few levels, few samples.
fn small_config() -> SweepConfig {
    SweepConfig {
        seed: 7,
        trials: 2,
        event_check: 10,
        jitter: vec![0.0, 0.3],
        deletion: vec![0.0, 0.2],
        bits: vec![6, 3],
        noise: vec![0.0, 0.1],
        deadline: vec![1.5, 3.0],
        rate_steps: 20,
        rate_input: 1.0,
        rate_deadline: vec![5, 20],
    }
}

#[test]
fn quantised_layers_have_at_most_two_to_the_b_values() {
    for m in [model(), deep()] {
        for bits in 2..=8u32 {
            let q = perturbed_model(&m, Kind::WeightBits, bits as f64, 0);
            for (l, (a, b)) in q.layers.iter().zip(&m.layers).enumerate() {
                let distinct: HashSet<u64> = a.weights().iter().map(|w| w.to_bits()).collect();
                // 2^B - 1 codes at most (the grid is symmetric), so fewer than 2^B values.
                assert!(
                    distinct.len() < 1 << bits,
                    "{bits} bits, layer {l}: {} values",
                    distinct.len()
                );
                assert_ne!(
                    a.weights(),
                    b.weights(),
                    "{bits} bits changed nothing in layer {l}"
                );
            }
        }
    }
    let rate = RateModel::load("models/rate-784-800-10.bin".as_ref()).unwrap();
    for bits in [2u32, 4, 6] {
        let net = robust::rate::perturbed_net(&rate, Kind::WeightBits, bits as f64, 0).unwrap();
        for l in &net.layers {
            let distinct: HashSet<u32> = l.weights().iter().map(|w| w.to_bits()).collect();
            assert!(
                distinct.len() < 1 << bits,
                "rate, {bits} bits: {}",
                distinct.len()
            );
        }
    }
}

#[test]
fn zero_jitter_changes_nothing_and_reproduces_eval() {
    let m = model();
    let data = slice(300);
    let plain = run_outcomes(&m, &data, InputNoise::None, 0, 2, NO_PROGRESS);
    for noise in [InputNoise::Jitter(0.0), InputNoise::Delete(0.0)] {
        assert_eq!(run_outcomes(&m, &data, noise, 99, 2, NO_PROGRESS), plain);
    }
    // Jitter of 0.3 tau_syn does change spike times (so the comparison above can fail).
    let jittered = run_outcomes(&m, &data, InputNoise::Jitter(0.3), 99, 2, NO_PROGRESS);
    assert_ne!(jittered, plain);

    let res = robust::temporal::sweep(&m, &data, &small_config(), 2, NO_PROGRESS).unwrap();
    let eval = evaluate(
        &Net::<f64>::from_model(&m),
        &m.encoding,
        &data,
        2,
        NO_PROGRESS,
    );
    assert_eq!(res.base.accuracy, eval.accuracy());
    for l in res.levels.iter().filter(|l| l.level == 0.0) {
        assert_eq!(l.accuracy.mean, eval.accuracy(), "{:?} at 0", l.kind);
        assert_eq!(l.accuracy.sd, 0.0);
    }
    // A deadline no earlier than every decision is no deadline.
    let late = res
        .levels
        .iter()
        .find(|l| l.kind == Kind::Deadline && l.level == 3.0)
        .unwrap();
    let last = plain
        .iter()
        .filter_map(|o| o.decision.map(|d| d.1))
        .fold(0.0, f64::max);
    if last <= 3.0 {
        assert_eq!(late.accuracy.mean, eval.accuracy());
    }
}

#[test]
fn same_seed_same_numbers_on_any_thread_count() {
    let m = deep();
    let data = slice(120);
    let cfg = small_config();
    let a = robust::temporal::sweep(&m, &data, &cfg, 1, NO_PROGRESS).unwrap();
    let b = robust::temporal::sweep(&m, &data, &cfg, 2, NO_PROGRESS).unwrap();
    assert_eq!(a, b);
    let other = SweepConfig {
        seed: 8,
        ..cfg.clone()
    };
    let c = robust::temporal::sweep(&m, &data, &other, 2, NO_PROGRESS).unwrap();
    assert_ne!(a.levels, c.levels, "the seed is not used");

    let rate = RateModel::load("models/rate-784-800-10.bin".as_ref()).unwrap();
    let data = slice(60);
    let ra = robust::rate::sweep(&rate, &data, &cfg, 1, NO_PROGRESS).unwrap();
    let rb = robust::rate::sweep(&rate, &data, &cfg, 2, NO_PROGRESS).unwrap();
    assert_eq!(ra, rb);
    assert!(ra.levels.iter().all(|l| l.kind != Kind::Jitter));
    assert_eq!(
        ra.levels
            .iter()
            .filter(|l| l.kind == Kind::Deadline)
            .count(),
        2
    );
}

#[test]
fn event_engine_agrees_on_perturbed_inputs_and_weights() {
    let data = slice(40);
    for m in [model(), deep()] {
        let mut spikes = 0;
        let cases = [
            (Kind::Jitter, 0.5, InputNoise::Jitter(0.5)),
            (Kind::Jitter, 1.0, InputNoise::Jitter(1.0)),
            (Kind::Deletion, 0.4, InputNoise::Delete(0.4)),
            (Kind::WeightBits, 4.0, InputNoise::None),
            (Kind::WeightNoise, 0.2, InputNoise::Jitter(0.2)),
        ];
        for (kind, level, noise) in cases {
            let k = key(3, kind, level, 0);
            let p = perturbed_model(&m, kind, level, k);
            let chk = event_check(&p, &data, noise, k, data.len(), 2).unwrap();
            assert!(chk.agree(), "{kind:?} {level}: {chk:?}");
            assert_eq!(chk.verify.samples, data.len());
            spikes += chk.verify.spikes_compared;
        }
        assert!(spikes > 20_000, "only {spikes} spikes compared");
    }
}

#[test]
fn spike_counts_to_decision_match_the_event_engine_stopped_at_the_decision() {
    use firstspike::event::{Engine, EventNet, NoRecord, RunOptions};
    let m = model();
    let data = slice(30);
    let enet = EventNet::from_model(&m).unwrap().compile().unwrap();
    let mut eng = Engine::new(&enet);
    let outs = run_outcomes(&m, &data, InputNoise::Jitter(0.2), 5, 1, NO_PROGRESS);
    let mut t = vec![0.0; data.dim()];
    for (i, o) in outs.iter().enumerate() {
        robust::temporal::perturbed_inputs(
            &m,
            data.image(i),
            InputNoise::Jitter(0.2),
            5,
            i,
            &mut t,
        );
        let s = eng
            .run(
                &t,
                RunOptions {
                    until_decision: true,
                },
                &mut NoRecord,
            )
            .unwrap();
        assert_eq!(s.decision, o.decision);
        assert_eq!(
            s.fired_before_decision.iter().sum::<u64>(),
            o.spikes,
            "sample {i}"
        );
        assert!(o.spikes > 50);
    }
}

#[test]
fn bad_levels_are_usage_errors() {
    let bad = [
        SweepConfig {
            bits: vec![1],
            ..small_config()
        },
        SweepConfig {
            deletion: vec![1.0],
            ..small_config()
        },
        SweepConfig {
            jitter: vec![-0.1],
            ..small_config()
        },
        SweepConfig {
            trials: 0,
            ..small_config()
        },
        SweepConfig {
            rate_deadline: vec![21],
            ..small_config()
        },
    ];
    for c in bad {
        assert!(c.validate().unwrap_err().is_usage());
    }
}

/// The command end to end on 60 bundled digits: zero perturbation gives `eval`'s accuracy,
/// the JSON keys the README documents are there, `--out` writes the three files, and
/// `--redraw` draws the same picture from the JSON.
#[test]
fn command_reproduces_eval_and_writes_its_files() {
    use std::process::Command;
    let d = std::env::temp_dir().join(format!("firstspike-robust-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let (i, l) = firstspike::data::to_idx_bytes(&slice(60));
    std::fs::write(d.join("t10k-images-idx3-ubyte"), &i).unwrap();
    std::fs::write(d.join("t10k-labels-idx1-ubyte"), &l).unwrap();
    let run = |args: &[&str]| -> serde_json::Value {
        let out = Command::new(env!("CARGO_BIN_EXE_firstspike"))
            .args(args)
            .arg("--data")
            .arg(&d)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let prefix = d.join("out/r");
    let r = run(&[
        "robustness",
        "--model",
        "models/mnist-784-400-400-10.bin",
        "--trials",
        "1",
        "--check",
        "5",
        "--jitter",
        "0,0.5",
        "--deletion",
        "0",
        "--bits",
        "4",
        "--noise",
        "0",
        "--deadline",
        "2,4",
        "--rate-steps",
        "10",
        "--rate-deadline",
        "5,10",
        "--json",
        "--out",
        prefix.to_str().unwrap(),
    ]);
    let e = run(&[
        "eval",
        "--model",
        "models/mnist-784-400-400-10.bin",
        "--json",
    ]);
    assert_eq!(r["temporal"]["base"]["accuracy"], e["accuracy"]);
    for k in [
        "model",
        "rate_model",
        "samples",
        "threads",
        "config",
        "seconds",
        "temporal",
        "rate",
        "event_check",
        "loses_one_point",
        "files",
    ] {
        assert!(r.get(k).is_some(), "no key {k}");
    }
    assert_eq!(r["event_check"]["agree"], true);
    let level = &r["temporal"]["levels"][0];
    for k in [
        "kind",
        "level",
        "trials",
        "accuracy",
        "no_output",
        "decision_time",
        "spikes_to_decision",
        "event_check",
    ] {
        assert!(level.get(k).is_some(), "no level key {k}");
    }
    for ext in ["json", "csv", "svg"] {
        let f = d.join(format!("out/r.{ext}"));
        assert!(
            std::fs::metadata(&f).unwrap().len() > 100,
            "{}",
            f.display()
        );
    }
    // `--redraw` draws the same picture again from the JSON alone, touching nothing else.
    let read = |ext: &str| std::fs::read(d.join(format!("out/r.{ext}"))).unwrap();
    let (svg, json) = (read("svg"), read("json"));
    std::fs::remove_file(d.join("out/r.svg")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_firstspike"))
        .args(["robustness", "--model", "absent.bin", "--redraw", "--out"])
        .arg(&prefix)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(read("svg"), svg);
    assert_eq!(read("json"), json);
    std::fs::remove_dir_all(&d).unwrap();
}
