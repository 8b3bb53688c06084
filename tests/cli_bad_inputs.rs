//! The binary on a table of bad inputs: each gets its own clear message and exit code
//! (2 usage, 1 other), never a panic, never a half-written output.

use firstspike::data::{to_idx_bytes, Dataset};
use firstspike::model::{Layer, Model, ModelMeta};
use std::path::{Path, PathBuf};
use std::process::Command;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("firstspike-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn small_model(n_in: usize) -> Model {
    Model {
        params: Default::default(),
        encoding: Default::default(),
        layers: vec![
            Layer { n_in, n_out: 3, w: vec![0.01; n_in * 3] },
            Layer { n_in: 3, n_out: 10, w: vec![0.5; 30] },
        ],
        meta: ModelMeta::default(),
    }
}

fn write_data(dir: &Path, rows: usize, n: usize) {
    let ds = Dataset { images: vec![128; n * rows * rows], labels: (0..n).map(|i| (i % 10) as u8).collect(), rows, cols: rows };
    let (i, l) = to_idx_bytes(&ds);
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), &i).unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), &l).unwrap();
    std::fs::write(dir.join("train-images-idx3-ubyte"), &i).unwrap();
    std::fs::write(dir.join("train-labels-idx1-ubyte"), &l).unwrap();
}

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_firstspike")).args(args).env_remove("FIRSTSPIKE_DATA").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    (out.status.code().unwrap_or(-1), err)
}

#[test]
fn bad_inputs_table() {
    let d = tmp("table");
    let good = d.join("good");
    small_model(16).save(&good).unwrap();
    let good_bin = d.join("good.bin");
    let bytes = std::fs::read(&good_bin).unwrap();
    std::fs::write(d.join("trunc.bin"), &bytes[..bytes.len() / 2]).unwrap();
    std::fs::write(d.join("garbage.bin"), b"this is not a model at all").unwrap();
    let mut v = bytes.clone();
    v[8] = 42;
    std::fs::write(d.join("version.bin"), &v).unwrap();
    let mut nan = small_model(16);
    nan.layers[0].w[5] = f64::NAN;
    // Bypass save()'s validation to produce a file with a NaN weight, as a foreign tool might.
    std::fs::write(d.join("nan.bin"), nan.to_bytes()).unwrap();
    let data = d.join("data");
    std::fs::create_dir_all(&data).unwrap();
    write_data(&data, 4, 20);
    let truncated = d.join("truncated");
    std::fs::create_dir_all(&truncated).unwrap();
    write_data(&truncated, 4, 20);
    let img = std::fs::read(truncated.join("t10k-images-idx3-ubyte")).unwrap();
    std::fs::write(truncated.join("t10k-images-idx3-ubyte"), &img[..img.len() - 7]).unwrap();
    let swapped = d.join("swapped");
    std::fs::create_dir_all(&swapped).unwrap();
    write_data(&swapped, 4, 20);
    std::fs::copy(swapped.join("t10k-labels-idx1-ubyte"), swapped.join("t10k-images-idx3-ubyte")).unwrap();
    let mnist_like = d.join("mnist28");
    std::fs::create_dir_all(&mnist_like).unwrap();
    write_data(&mnist_like, 28, 20);

    let s = |p: &Path| p.to_str().unwrap().to_string();
    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (vec!["eval".into(), "--model".into(), s(&d.join("missing.bin")), "--data".into(), s(&data)], 1, "file not found"),
        (vec!["eval".into(), "--model".into(), s(&d.join("garbage.bin")), "--data".into(), s(&data)], 1, "bad magic"),
        (vec!["eval".into(), "--model".into(), s(&d.join("trunc.bin")), "--data".into(), s(&data)], 1, "truncated"),
        (vec!["eval".into(), "--model".into(), s(&d.join("version.bin")), "--data".into(), s(&data)], 1, "version 42"),
        (vec!["eval".into(), "--model".into(), s(&d.join("nan.bin")), "--data".into(), s(&data)], 1, "is NaN"),
        (vec!["eval".into(), "--model".into(), s(&good_bin), "--data".into(), s(&d.join("nodata"))], 1, "data folder not found"),
        (vec!["eval".into(), "--model".into(), s(&good_bin), "--data".into(), s(&truncated)], 1, "truncated"),
        (vec!["eval".into(), "--model".into(), s(&good_bin), "--data".into(), s(&swapped)], 1, "wrong magic"),
        (vec!["eval".into(), "--model".into(), s(&good_bin), "--data".into(), s(&mnist_like)], 1, "takes 16 inputs but the images have 784"),
        (vec!["simulate".into(), "--model".into(), s(&good_bin), "--data".into(), s(&mnist_like)], 1, "takes 16 inputs"),
        (vec!["verify".into(), "--model".into(), s(&good_bin), "--data".into(), s(&mnist_like)], 1, "takes 16 inputs"),
        (vec!["eval".into(), "--model".into(), s(&good_bin), "--data".into(), s(&data), "--limit".into(), "0".into()], 2, "--limit must be at least 1"),
        (vec!["eval".into(), "--model".into(), s(&good_bin), "--data".into(), s(&data), "--limit".into(), "999".into()], 2, "larger than the data set"),
        (vec!["eval".into(), "--model".into(), s(&good_bin), "--data".into(), s(&data), "--threads".into(), "0".into()], 2, "--threads"),
        (vec!["train".into(), "--arch".into(), "784-0-10".into(), "--out".into(), s(&d.join("m"))], 2, "a layer of size 0"),
        (vec!["train".into(), "--arch".into(), "16-x-10".into(), "--out".into(), s(&d.join("m"))], 2, "not a whole number"),
        (vec!["train".into(), "--lr".into(), "NaN".into(), "--out".into(), s(&d.join("m"))], 2, "--lr"),
        (vec!["train".into(), "--epochs".into(), "0".into(), "--out".into(), s(&d.join("m"))], 2, "--epochs"),
        (vec!["train".into(), "--t-max=-1".into(), "--out".into(), s(&d.join("m"))], 2, "t_max"),
        (vec!["train".into(), "--data".into(), s(&data), "--arch".into(), "16-4-10".into(), "--out".into(), s(&d.join("no/such/dir/m"))], 1, "does not exist"),
        (vec!["train".into(), "--data".into(), s(&data), "--arch".into(), "784-4-10".into(), "--epochs".into(), "1".into(), "--out".into(), s(&d.join("m"))], 1, "784 inputs but the images have 16"),
        (vec!["train".into(), "--no-such-flag".into()], 2, "unexpected argument"),
    ];
    for (args, code, msg) in &cases {
        let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        let (c, err) = run(&a);
        assert_eq!(c, *code, "{a:?}: exit {c}, stderr: {err}");
        assert!(err.contains(msg), "{a:?}: expected '{msg}' in: {err}");
    }
    // Nothing half-written: a failed train leaves no model behind.
    assert!(!d.join("m.bin").exists());
    std::fs::remove_dir_all(&d).unwrap();
}
