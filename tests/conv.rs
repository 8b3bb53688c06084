//! Convolutional networks: the architecture syntax, both engines bit for bit on real digits,
//! traces from either engine giving the same gradients, model files, and training.

mod common;

use common::random_arch_model;
use firstspike::{
    mnist_test_slice, record_samples, replay_gradients, train, verify, Arch, EngineKind, Layer,
    LossOrigin, Model, NeuronParams, TrainConfig, NO_PROGRESS,
};

#[test]
fn arch_syntax_round_trips_and_explains_errors() {
    for s in [
        "784-800-10",
        "28x28-16c5s2-32c5s2-10",
        "32x32x3-8c3p1-4c3s2p1-10",
        "28x28-4c28-10",
    ] {
        let a = Arch::parse(s).unwrap();
        assert_eq!(a.to_string(), s);
    }
    let a = Arch::parse("28x28-16c5s2-32c5s2-10").unwrap();
    assert_eq!(a.sizes(), [784, 12 * 12 * 16, 4 * 4 * 32, 10]);
    for (s, why) in [
        ("784-16c5-10", "not a feature map"),
        ("28x28-16c5p5-10", "padding 5 must be less than the kernel"),
        ("28x28-16c30-10", "does not fit"),
        ("28x28-0c3-10", "a size of 0"),
        ("28x28-16c3s0-10", "a size of 0"),
        ("28x28-16cxs2-10", "not a whole number"),
        ("28x28x2x2-10", "not N, HxW or HxWxC"),
        ("28x28-10-4c3-10", "not a feature map"),
    ] {
        let e = Arch::parse(s).unwrap_err().to_string();
        assert!(e.contains(why), "{s}: {e}");
    }
}

/// The analytic solver and the event engine give the same spikes, bit for bit, and the same
/// causal sets, on 200 real digits, for conv nets with padding and strides, at three neuron
/// parameter sets.
#[test]
fn engines_agree_on_conv_nets() {
    let mut digits = mnist_test_slice().unwrap();
    digits.truncate(200).unwrap();
    for (k, arch) in ["28x28-6c5s2-8c3s2p1-10", "28x28-4c3p1-4c4s3-12-10"]
        .iter()
        .enumerate()
    {
        for (p, params) in [(1.0, 1.0), (2.5, 0.7), (0.4, 1.8)].into_iter().enumerate() {
            let params = NeuronParams {
                tau_syn: params.0,
                theta: params.1,
            };
            let model = random_arch_model(arch, 10 * k as u64 + p as u64, params);
            let rep = verify(&model, &digits, 2, NO_PROGRESS).unwrap();
            assert!(rep.agree(), "{arch} {params:?}: {rep:?}");
            assert_eq!(rep.max_abs_time_diff, 0.0, "{arch}: {rep:?}");
            assert!(rep.spikes_compared > 100_000, "{arch}: {rep:?}");
        }
    }
}

/// Traces of either engine rebuild the same forward record, so they give the same gradients.
#[test]
fn conv_traces_of_both_engines_give_the_same_gradients() {
    let digits = mnist_test_slice().unwrap();
    let model = random_arch_model("28x28-6c5s2-8c3s2p1-10", 3, NeuronParams::default());
    let picks = [0, 1, 2, 3];
    let (ev, _) =
        record_samples(&model, &digits, &picks, EngineKind::Event, 1, NO_PROGRESS).unwrap();
    let (an, _) = record_samples(
        &model,
        &digits,
        &picks,
        EngineKind::Analytic,
        1,
        NO_PROGRESS,
    )
    .unwrap();
    assert_eq!(ev, an);
    let (g_ev, loss, n) = replay_gradients(&model, &ev, LossOrigin::Input, 0.01).unwrap();
    let (g_an, _, _) = replay_gradients(&model, &an, LossOrigin::Input, 0.01).unwrap();
    assert_eq!(n, 4);
    assert!(loss.is_finite());
    assert_eq!(g_ev, g_an);
    assert!(
        g_ev[0].iter().any(|&g| g != 0.0),
        "no gradient reaches the first conv layer"
    );
}

/// A conv model survives a save and a load with the same weights, geometry and identity.
#[test]
fn conv_models_save_and_load() {
    let model = random_arch_model("28x28-6c5s2-8c3s2p1-10", 4, NeuronParams::default());
    let dir = std::env::temp_dir().join(format!("firstspike-conv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (bin, _) = model.save(&dir.join("conv")).unwrap();
    let back = Model::load(&bin).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(back.layers, model.layers);
    assert_eq!(back.weights_hash(), model.weights_hash());
    assert_eq!(back.arch_string(), "28x28-6c5s2-8c3s2p1-10");
    assert!(matches!(back.layers[0], Layer::Conv(_)));
}

/// A small conv net learns from 800 digits (two epochs) well above chance on 200 others.
#[test]
fn a_small_conv_net_learns() {
    let digits = mnist_test_slice().unwrap();
    let mut train_set = digits.clone();
    train_set.truncate(800).unwrap();
    let held_out = digits.select(&(800..1000).collect::<Vec<_>>()).unwrap();
    let cfg = TrainConfig {
        arch: Arch::parse("28x28-8c5s2-16c5s2-10").unwrap(),
        epochs: 3,
        threads: 2,
        seed: 3,
        ..TrainConfig::default()
    };
    let out = train(&cfg, &train_set, None, |_| {}).unwrap();
    let net = firstspike::Net::<f64>::from_model(&out.model);
    let stats = firstspike::evaluate(&net, &cfg.encoding, &held_out, 2, NO_PROGRESS);
    assert!(
        stats.accuracy() > 0.6,
        "held-out accuracy {}",
        stats.accuracy()
    );
}

/// Training a conv net gives the same weights whatever the number of threads (the kernel
/// gradient is split over threads by taps, each weight summing its samples in batch order).
#[test]
fn conv_training_does_not_depend_on_threads() {
    let mut digits = mnist_test_slice().unwrap();
    digits.truncate(200).unwrap();
    let run = |threads, seed| {
        let cfg = TrainConfig {
            arch: Arch::parse("28x28-4c5s2p1-6c3s2-10").unwrap(),
            epochs: 1,
            batch_size: 16,
            threads,
            seed,
            ..TrainConfig::default()
        };
        train(&cfg, &digits, None, |_| {}).unwrap().model.layers
    };
    let one = run(1, 9);
    assert_eq!(one, run(2, 9));
    assert_eq!(one, run(3, 9));
    assert_ne!(one, run(2, 10), "another seed, other weights");
}
