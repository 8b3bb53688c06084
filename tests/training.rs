//! Training scenarios: XOR in spike times, and a short real-MNIST run.

mod common;

use firstspike::analytic::{evaluate, Net};
use firstspike::data::{Dataset, Split};
use firstspike::encoding::{Encoding, EncodingKind};
use firstspike::progress::NO_PROGRESS;
use firstspike::train::{train, TrainConfig};

/// XOR: two input pixels, each white (spike at 0) or black (spike at t_max), plus a bias
/// pixel that is always white. Class = a XOR b. Needs the hidden layer: no single neuron's
/// first spike separates XOR.
#[test]
fn tiny_network_learns_xor_in_spike_times() {
    let patterns = [
        ([255u8, 255, 255], 0u8),
        ([255, 0, 255], 1),
        ([0, 255, 255], 1),
        ([0, 0, 255], 0),
    ];
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for _ in 0..64 {
        for (p, l) in patterns {
            images.extend_from_slice(&p);
            labels.push(l);
        }
    }
    let data = Dataset {
        images,
        labels,
        rows: 1,
        cols: 3,
    };
    let cfg = TrainConfig {
        arch: firstspike::network::Arch::dense(&[3, 12, 2]),
        epochs: 60,
        batch_size: 8,
        lr: 3e-3,
        lr_decay: 0.98,
        init_mean: 2.0,
        threads: 1,
        seed: 5,
        encoding: Encoding {
            kind: EncodingKind::Linear,
            t_max: 2.0,
            silent_below: 0,
        },
        ..TrainConfig::default()
    };
    let out = train(&cfg, &data, None, |_| {}).unwrap();
    let st = evaluate(
        &Net::<f64>::from_model(&out.model),
        &cfg.encoding,
        &data,
        1,
        NO_PROGRESS,
    );
    assert_eq!(
        st.correct, st.total,
        "XOR not learned: {} / {}",
        st.correct, st.total
    );
}

/// Three epochs on the first 5,000 MNIST training images, tested on the first 1,000 test
/// images. Measured 90.5 % with these settings (seed 1: deterministic on a given machine,
/// whatever the thread count; `firstspike train --arch 784-200-10 --limit 5000
/// --test-limit 1000 --epochs 3 --seed S`), and 87.0-91.0 % over seeds 1-5, so the 86 % bound
/// leaves room for rounding changes while it catches a broken trainer (an untrained network
/// scores about 10 %; one that only learns the output layer, well under 80 %).
#[test]
fn short_mnist_run_learns() {
    let tr = common::mnist_slice(Split::Train);
    let te = common::mnist_slice(Split::Test);
    assert_eq!((tr.len(), te.len()), (5000, 1000));
    let cfg = TrainConfig {
        arch: firstspike::network::Arch::dense(&[784, 200, 10]),
        epochs: 3,
        threads: 2,
        ..TrainConfig::default()
    };
    let out = train(&cfg, &tr, Some(&te), |_| {}).unwrap();
    let acc = out.log.last().unwrap().test_accuracy.unwrap();
    assert!(acc >= 0.86, "test accuracy after three short epochs: {acc}");
}

/// Quantisation-aware fine-tuning: starting from a float model, training with the forward and
/// backward passes on 3-bit weights gives a model whose every layer holds at most 2^3 - 1
/// distinct weights, and which scores better at 3 bits than the float model rounded to 3
/// bits after training. Measured on the bundled slice (784-30-10, seed 2, one epoch of
/// fine-tuning): the rounded float model scored 63.7 %, the fine-tuned one 76.6 %; the bound
/// asks for a gain of 5 points.
#[test]
fn quantisation_aware_fine_tuning_recovers_low_bit_accuracy() {
    let tr = common::mnist_slice(Split::Train);
    let te = common::mnist_slice(Split::Test);
    let cfg = TrainConfig {
        arch: firstspike::network::Arch::dense(&[784, 30, 10]),
        epochs: 2,
        threads: 2,
        seed: 2,
        ..TrainConfig::default()
    };
    let float = train(&cfg, &tr, None, |_| {}).unwrap().model;
    let at = |m: &firstspike::Model| {
        evaluate(
            &Net::<f64>::from_model(m),
            &cfg.encoding,
            &te,
            2,
            NO_PROGRESS,
        )
        .accuracy()
    };
    let mut rounded = float.clone();
    for l in &mut rounded.layers {
        firstspike::train::quantise::quantise(l.weights_mut(), 3);
    }
    let qat_cfg = TrainConfig {
        epochs: 1,
        quantise_bits: 3,
        ..cfg.clone()
    };
    let mut t = firstspike::Trainer::from_model(&qat_cfg, &float, &tr, None).unwrap();
    t.run(&Default::default(), |_| Ok(()), |_| {}).unwrap();
    let tuned = t.finish().model;
    for (k, l) in tuned.layers.iter().enumerate() {
        let distinct: std::collections::HashSet<u64> =
            l.weights().iter().map(|w| w.to_bits()).collect();
        assert!(distinct.len() <= 7, "layer {k}: {} values", distinct.len());
    }
    let (a_rounded, a_tuned) = (at(&rounded), at(&tuned));
    eprintln!("3 bits: rounded float model {a_rounded}, fine-tuned {a_tuned}");
    assert!(
        a_tuned >= a_rounded + 0.05,
        "rounded {a_rounded}, fine-tuned {a_tuned}"
    );
}

/// `validation` holds out the last images of the training data: the trainer never trains on
/// them, measures its per-epoch accuracy on them instead of on the test set, and refuses to
/// hold out everything.
#[test]
fn validation_split_is_held_out_and_replaces_the_per_epoch_test() {
    let digits = firstspike::mnist_test_slice().unwrap();
    let mut train_set = digits.clone();
    train_set.truncate(600).unwrap();
    let test = digits.select(&(600..800).collect::<Vec<_>>()).unwrap();
    let cfg = TrainConfig {
        arch: firstspike::network::Arch::dense(&[784, 20, 10]),
        epochs: 2,
        threads: 2,
        validation: 100,
        ..TrainConfig::default()
    };
    let out = train(&cfg, &train_set, Some(&test), |_| {}).unwrap();
    assert_eq!(out.log.len(), 2);
    for e in &out.log {
        assert_eq!(e.test_accuracy, None);
        let v = e
            .validation_accuracy
            .expect("a validation accuracy per epoch");
        assert!(
            (0.0..=1.0).contains(&v) && (v * 100.0).fract() == 0.0,
            "{v}: not k/100"
        );
    }
    // The held-out 100 are not trained on: the same run on the first 500 alone is identical.
    let mut first = train_set.clone();
    first.truncate(500).unwrap();
    let plain = TrainConfig {
        validation: 0,
        ..cfg.clone()
    };
    let alone = train(&plain, &first, None, |_| {}).unwrap();
    assert_eq!(alone.model.layers, out.model.layers);
    let all = TrainConfig {
        validation: 600,
        ..cfg
    };
    let e = train(&all, &train_set, None, |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("leave none to train on"), "{e}");
}

/// `shift` moves training images by random whole pixels: the run is the same whatever the
/// thread count, it differs from the unshifted run, the setting is recorded in the model, and
/// images of one row are refused. (The pixel moves themselves are unit-tested in
/// `train::augment`.)
#[test]
fn shift_augmentation_is_reproducible_and_changes_the_run() {
    let digits = firstspike::mnist_test_slice().unwrap();
    let mut train_set = digits.clone();
    train_set.truncate(300).unwrap();
    let cfg = TrainConfig {
        arch: firstspike::network::Arch::dense(&[784, 20, 10]),
        epochs: 2,
        threads: 1,
        shift: 2,
        ..TrainConfig::default()
    };
    let one = train(&cfg, &train_set, None, |_| {}).unwrap();
    let two = train(
        &TrainConfig {
            threads: 2,
            ..cfg.clone()
        },
        &train_set,
        None,
        |_| {},
    )
    .unwrap();
    assert_eq!(one.model.layers, two.model.layers);
    let unshifted = TrainConfig {
        shift: 0,
        ..cfg.clone()
    };
    let plain = train(&unshifted, &train_set, None, |_| {}).unwrap();
    assert_ne!(plain.model.layers, one.model.layers);
    assert_eq!(one.model.meta.train.as_ref().unwrap()["shift"], 2);

    // Images of one row cannot be shifted in 2-D.
    let flat = Dataset {
        rows: 1,
        cols: 784,
        ..train_set.clone()
    };
    let e = train(&cfg, &flat, None, |_| {}).unwrap_err().to_string();
    assert!(e.contains("shift moves 2-D images"), "{e}");
}

/// The decision cost pulls the label's output spike, and so the decision, earlier. With the
/// time softmax (which does not see a shift of every output) and the same seed, one epoch on
/// the bundled slice (784-100-10) with `decision_cost` 0.5 must bring the mean decision time on
/// the test slice at least 10 % before the run without it. Measured: 2.10 tau_syn without,
/// 1.58 with (accuracy 84.9 % and 85.7 %).
#[test]
fn the_decision_cost_brings_decisions_earlier() {
    use firstspike::analytic::{forward, ForwardPass, LayerScratch};
    use firstspike::loss::LossOrigin;
    let tr = common::mnist_slice(Split::Train);
    let te = common::mnist_slice(Split::Test);
    let mean_decision = |w: f64| {
        let cfg = TrainConfig {
            arch: firstspike::network::Arch::dense(&[784, 100, 10]),
            epochs: 1,
            threads: 2,
            loss_origin: LossOrigin::Time(0.2),
            decision_cost: w,
            ..TrainConfig::default()
        };
        let out = train(&cfg, &tr, None, |_| {}).unwrap();
        assert_eq!(out.model.meta.train.as_ref().unwrap()["decision_cost"], w);
        let net = Net::<f64>::from_model(&out.model);
        let (mut sum, mut n, mut correct) = (0.0, 0usize, 0usize);
        let (mut scratch, mut pass) = (LayerScratch::default(), ForwardPass::default());
        for i in 0..te.len() {
            let t: Vec<f64> = te.image(i).iter().map(|&p| cfg.encoding.time(p)).collect();
            forward(&net, &t, &mut scratch, &mut pass);
            if let Some(d) = pass.decision() {
                sum += pass.outputs()[d];
                n += 1;
                correct += (d == te.labels[i] as usize) as usize;
            }
        }
        (sum / n as f64, correct as f64 / te.len() as f64)
    };
    let (t0, acc0) = mean_decision(0.0);
    let (t1, acc1) = mean_decision(0.5);
    assert!(acc0 > 0.7 && acc1 > 0.7, "accuracy {acc0} and {acc1}");
    assert!(
        t1 < 0.9 * t0,
        "mean decision time {t1} with the cost, {t0} without"
    );
}
