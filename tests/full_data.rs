//! The second suite: checks that need the full data sets, not the slices shipped in the
//! repository. Every test here is `#[ignore]`d, so a plain `cargo test` skips them; after
//! `tools/fetch-mnist.sh mnist` and `tools/fetch-mnist.sh fashion-mnist` run them with
//! `cargo test --release --test full_data -- --include-ignored` (CI does).
//!
//! MNIST is read from `$FIRSTSPIKE_DATA` (else `data/mnist`), Fashion-MNIST from
//! `$FIRSTSPIKE_FASHION_DATA` (else `data/fashion-mnist`), relative to the repository.

use firstspike::analytic::{evaluate, Net};
use firstspike::data::{Dataset, Split};
use firstspike::model::Model;
use firstspike::progress::NO_PROGRESS;
use firstspike::simulate::verify;
use std::path::{Path, PathBuf};

fn repo(p: impl AsRef<Path>) -> PathBuf {
    let p = p.as_ref();
    if p.is_relative() {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
    } else {
        p.to_path_buf()
    }
}

fn mnist(split: Split) -> Dataset {
    let dir = repo(
        std::env::var_os("FIRSTSPIKE_DATA")
            .filter(|v| !v.is_empty())
            .map_or_else(|| PathBuf::from("data/mnist"), PathBuf::from),
    );
    Dataset::load(&dir, split).unwrap_or_else(|e| panic!("{e}: run tools/fetch-mnist.sh first"))
}

fn fashion(split: Split) -> Dataset {
    let dir = repo(
        std::env::var_os("FIRSTSPIKE_FASHION_DATA")
            .map_or_else(|| PathBuf::from("data/fashion-mnist"), PathBuf::from),
    );
    Dataset::load(&dir, split)
        .unwrap_or_else(|e| panic!("{e}: run tools/fetch-mnist.sh fashion-mnist first"))
}

fn label_counts(d: &Dataset) -> Vec<usize> {
    let mut c = vec![0; 10];
    for i in 0..d.len() {
        c[d.labels[i] as usize] += 1;
    }
    c
}

/// The standard split, with the per-digit counts every copy of MNIST has.
#[test]
#[ignore = "needs full MNIST (tools/fetch-mnist.sh)"]
fn full_mnist_is_the_standard_split() {
    let (tr, te) = (mnist(Split::Train), mnist(Split::Test));
    assert_eq!(
        (tr.len(), te.len(), tr.dim(), te.dim()),
        (60_000, 10_000, 784, 784)
    );
    assert_eq!(
        label_counts(&tr),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        label_counts(&te),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    // The bundled slices are the first images of the full files.
    let slice = firstspike::embedded::mnist_test_slice().unwrap();
    assert_eq!(slice.images[..], te.images[..slice.images.len()]);
}

/// Evaluates a shipped model on a full test set (analytic solver, f64) and checks the
/// accuracy recorded in its file (and quoted in the README) to the image.
fn scores_its_recorded_accuracy(name: &str, test: &Dataset) {
    let model = Model::load(&repo(format!("models/{name}.bin"))).unwrap();
    let recorded = model.meta.test_accuracy.expect("a recorded accuracy");
    assert_eq!(model.meta.test_samples, 10_000, "{name}");
    let st = evaluate(
        &Net::<f64>::from_model(&model),
        &model.encoding,
        test,
        2,
        NO_PROGRESS,
    );
    assert_eq!(st.total, 10_000);
    assert_eq!(
        st.correct,
        (recorded * 10_000.0).round() as usize,
        "{name}: measured {} / 10,000, recorded {recorded}",
        st.correct
    );
}

#[test]
#[ignore = "needs full MNIST (tools/fetch-mnist.sh)"]
fn shipped_mnist_models_score_their_recorded_accuracy() {
    let te = mnist(Split::Test);
    for name in [
        "mnist-784-800-10",
        "mnist-784-400-400-10",
        "mnist-conv-32c5s2-64c5s2-10",
        "mnist-conv-32c5s2p2-64c5s2p2-10",
    ] {
        scores_its_recorded_accuracy(name, &te);
    }
}

/// The shipped convolutional models in both engines on the first 1,000 MNIST test digits:
/// same decisions, same fired neurons, same causal sets, spike times within tolerance (the
/// README quotes `firstspike verify` on all 10,000).
#[test]
#[ignore = "needs full MNIST (tools/fetch-mnist.sh)"]
fn shipped_conv_models_engines_agree_on_test_digits() {
    let mut te = mnist(Split::Test);
    te.truncate(1_000).unwrap();
    for name in [
        "mnist-conv-32c5s2-64c5s2-10",
        "mnist-conv-32c5s2p2-64c5s2p2-10",
    ] {
        let model = Model::load(&repo(format!("models/{name}.bin"))).unwrap();
        let rep = verify(&model, &te, 2, NO_PROGRESS).unwrap();
        assert_eq!(rep.samples, 1_000);
        assert!(rep.spikes_compared > 1_000_000, "{name}: {rep:?}");
        assert!(rep.agree(), "{name}: {rep:?}");
    }
}

#[test]
#[ignore = "needs full Fashion-MNIST (tools/fetch-mnist.sh fashion-mnist)"]
fn shipped_fashion_model_scores_its_recorded_accuracy() {
    let (tr, te) = (fashion(Split::Train), fashion(Split::Test));
    assert_eq!((tr.len(), te.len()), (60_000, 10_000));
    assert_eq!(label_counts(&te), [1000; 10]);
    scores_its_recorded_accuracy("fashion-784-800-10", &te);
    scores_its_recorded_accuracy("fashion-784-800-10-q4", &te);
    scores_its_recorded_accuracy("fashion-conv-32c5s2p2-64c5s2p2-10", &te);
    // The conv model in both engines on the first 1,000 Fashion-MNIST test images (the README
    // quotes `firstspike verify` on all 10,000).
    let mut first = te;
    first.truncate(1_000).unwrap();
    let model = Model::load(&repo("models/fashion-conv-32c5s2p2-64c5s2p2-10.bin")).unwrap();
    let rep = verify(&model, &first, 2, NO_PROGRESS).unwrap();
    assert_eq!(rep.samples, 1_000);
    assert!(rep.spikes_compared > 1_000_000, "{rep:?}");
    assert!(rep.agree(), "{rep:?}");
}

/// The shipped rate twins' ReLU networks on the full test sets: the accuracy recorded in each
/// file (and quoted in the README) to the image.
#[test]
#[ignore = "needs full MNIST and Fashion-MNIST (tools/fetch-mnist.sh)"]
fn shipped_rate_twins_score_their_recorded_accuracy() {
    use firstspike::rate::{evaluate_relu, RateModel};
    let (digits, clothes) = (mnist(Split::Test), fashion(Split::Test));
    for (name, test) in [
        ("rate-784-800-10", &digits),
        ("rate-mnist-conv-32c5s2p2-64c5s2p2-10", &digits),
        ("rate-fashion-784-800-10", &clothes),
        ("rate-fashion-conv-32c5s2p2-64c5s2p2-10", &clothes),
    ] {
        let m = RateModel::load(&repo(format!("models/{name}.bin"))).unwrap();
        let recorded = m.meta.relu_test_accuracy.expect("a recorded accuracy");
        assert_eq!(m.meta.test_samples, 10_000, "{name}");
        let correct = (evaluate_relu(&m.net, test, 2).accuracy() * 10_000.0).round();
        assert_eq!(
            correct,
            (recorded * 10_000.0).round(),
            "{name}: measured {correct} / 10,000, recorded {recorded}"
        );
    }
}
