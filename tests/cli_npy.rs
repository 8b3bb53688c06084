//! `--inputs FILE.npy` and `--labels FILE.npy` through the binary: the same digits given as
//! IDX files, as uint8 `.npy` images and as float64 `.npy` spike times give the same results;
//! without labels there is no accuracy; every bad array exits 1 naming its file.

mod common;
use common::tmp;

use common::{mnist_slice, npy, npy_f64};
use firstspike::data::{to_idx_bytes, Dataset, Split};
use firstspike::model::Model;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The shipped model the comparisons run.
const MODEL: &str = "models/mnist-784-800-10.bin";
/// Digits compared: enough for errors and silent outputs to be possible, quick to run.
const N: usize = 40;

/// Runs the binary: (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_firstspike"))
        .args(args)
        .env_remove("FIRSTSPIKE_DATA")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    (out.status.code().unwrap_or(-1), stdout, err)
}

/// The JSON a command prints, without the members that measure time.
fn json_of(args: &[&str]) -> Value {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    let mut v: Value = serde_json::from_str(&out).unwrap();
    for k in [
        "seconds",
        "samples_per_second",
        "wall_seconds",
        "seconds_per_sample",
        "synaptic_events_per_second",
        "synaptic_events_per_second_per_thread",
    ] {
        v.as_object_mut().unwrap().remove(k);
    }
    v
}

/// The first `N` test digits, written under `dir` as an IDX data folder (`dir/idx`), as uint8
/// images `(N, 28, 28)`, as float64 times encoded with the model's encoding, and their labels
/// as int64: (digits, images.npy, times.npy, labels.npy).
fn fixtures(dir: &Path) -> (Dataset, PathBuf, PathBuf, PathBuf) {
    let mut ds = mnist_slice(Split::Test);
    ds.truncate(N).unwrap();
    let idx = dir.join("idx");
    std::fs::create_dir_all(&idx).unwrap();
    let (i, l) = to_idx_bytes(&ds);
    std::fs::write(idx.join("t10k-images-idx3-ubyte"), &i).unwrap();
    std::fs::write(idx.join("t10k-labels-idx1-ubyte"), &l).unwrap();
    let enc = Model::load(MODEL.as_ref()).unwrap().encoding;
    let times: Vec<f64> = ds.images.iter().map(|&p| enc.time(p)).collect();
    let paths = ["images.npy", "times.npy", "labels.npy"].map(|n| dir.join(n));
    std::fs::write(&paths[0], npy("|u1", &[N, 28, 28], &ds.images)).unwrap();
    std::fs::write(&paths[1], npy_f64(&[N, 784], &times)).unwrap();
    let labels: Vec<u8> = ds
        .labels
        .iter()
        .flat_map(|&l| (l as i64).to_le_bytes())
        .collect();
    std::fs::write(&paths[2], npy("<i8", &[N], &labels)).unwrap();
    let [a, b, c] = paths;
    (ds, a, b, c)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn npy_times_and_images_give_what_idx_gives() {
    let d = tmp("same");
    let (_, images, times, labels) = fixtures(&d);
    let idx = d.join("idx");
    for cmd in [
        &["eval"][..],
        &["simulate"],
        &["simulate", "--until-decision"],
    ] {
        let with = |extra: &[&str]| {
            let mut a: Vec<&str> = cmd.to_vec();
            a.extend(["--model", MODEL, "--json", "--threads", "2"]);
            a.extend(extra);
            json_of(&a)
        };
        let want = with(&["--data", s(&idx)]);
        assert!(want["correct"].as_u64().unwrap() > N as u64 / 2, "{want}");
        for inputs in [&images, &times] {
            let got = with(&["--inputs", s(inputs), "--labels", s(&labels)]);
            assert_eq!(got, want, "{cmd:?} {}", inputs.display());
        }
        // Without labels: the same spikes, and no accuracy.
        let mut got = with(&["--inputs", s(&times)]);
        assert!(
            got["accuracy"].is_null() && got["correct"].is_null(),
            "{got}"
        );
        let mut want = want.clone();
        for v in [&mut got, &mut want] {
            v["accuracy"] = Value::Null;
            v["correct"] = Value::Null;
        }
        assert_eq!(got, want, "{cmd:?} without labels");
    }
    // --limit keeps the first rows.
    let v = json_of(&[
        "eval",
        "--model",
        MODEL,
        "--json",
        "--inputs",
        s(&times),
        "--limit",
        "7",
    ]);
    assert_eq!(v["total"], 7);
    // Text says there is no accuracy.
    let (code, out, _) = run(&["eval", "--model", MODEL, "--inputs", s(&images)]);
    assert_eq!(code, 0);
    assert!(out.contains("without labels (no accuracy)"), "{out}");
    let (code, out, _) = run(&["simulate", "--model", MODEL, "--inputs", s(&times)]);
    assert_eq!(code, 0);
    assert!(out.contains("no labels (no accuracy)"), "{out}");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn verify_and_raster_take_npy_inputs() {
    let d = tmp("verify");
    let (_, images, times, labels) = fixtures(&d);
    let v = json_of(&["verify", "--model", MODEL, "--json", "--inputs", s(&times)]);
    assert_eq!(v["agree"], true, "{v}");
    assert_eq!(v["samples"], N);
    assert!(v["spikes_compared"].as_u64().unwrap() > 10_000, "{v}");
    let raster = |name: &str, extra: &[&str]| {
        let out = d.join(name);
        let mut a = vec!["raster", "--model", MODEL, "--index", "3,0,5"];
        a.extend(["--out", s(&out)]);
        a.extend(extra);
        let (code, _, err) = run(&a);
        assert_eq!(code, 0, "{err}");
        let csv = std::fs::read_to_string(out.with_extension("csv")).unwrap();
        let side: Value =
            serde_json::from_str(&std::fs::read_to_string(out.with_extension("json")).unwrap())
                .unwrap();
        (csv, side["samples"].clone())
    };
    let (want_csv, want_samples) = raster("idx", &["--data", s(&d.join("idx"))]);
    let (csv, samples) = raster("img", &["--inputs", s(&images), "--labels", s(&labels)]);
    assert_eq!((&csv, &samples), (&want_csv, &want_samples));
    let (csv, samples) = raster("times", &["--inputs", s(&times)]);
    assert_eq!(csv, want_csv);
    assert!(samples[0]["label"].is_null() && samples[0]["decision"] == want_samples[0]["decision"]);
    std::fs::remove_dir_all(&d).unwrap();
}

/// A bad-input case: name, bytes of the inputs, bytes of the labels if any, what the message
/// says.
type Case = (&'static str, Vec<u8>, Option<Vec<u8>>, &'static str);

/// Each bad array exits 1 with a message naming the file and what is wrong.
#[test]
fn bad_arrays_exit_1_naming_the_file() {
    let d = tmp("bad");
    let (_, _, times, labels) = fixtures(&d);
    let good_times = std::fs::read(&times).unwrap();
    let t = |v: f64| {
        let mut x = vec![0.5; 2 * 784];
        x[784 + 9] = v;
        npy_f64(&[2, 784], &x)
    };
    let ints = |v: &[i64]| {
        let b: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        npy("<i8", &[v.len()], &b)
    };
    let fortran = {
        let mut b = npy_f64(&[2, 784], &vec![0.5; 2 * 784]);
        let k = b.windows(5).position(|w| w == b"False").unwrap();
        b.splice(k..k + 5, *b"True ");
        b
    };
    let cases: Vec<Case> = vec![
        (
            "int-inputs",
            npy("<i4", &[1, 784], &[0; 4 * 784]),
            None,
            "dtype int32",
        ),
        (
            "wrong-shape",
            npy_f64(&[2, 783], &vec![0.5; 2 * 783]),
            None,
            "give an array of shape (N, 784)",
        ),
        ("nan", t(f64::NAN), None, "sample 1, input 9: time NaN"),
        ("negative", t(-0.25), None, "sample 1, input 9: time -0.25"),
        ("huge", t(1e300), None, "are refused"),
        (
            "truncated",
            good_times[..good_times.len() - 3].to_vec(),
            None,
            "truncated",
        ),
        ("fortran", fortran, None, "Fortran order"),
        ("not-npy", b"hello".to_vec(), None, "not a .npy file"),
        (
            "label-range",
            t(1.0),
            Some(ints(&[3, 10])),
            "label 10 of sample 1 is out of range",
        ),
        (
            "label-negative",
            t(1.0),
            Some(ints(&[-1, 0])),
            "label -1 of sample 0",
        ),
        (
            "label-count",
            t(1.0),
            Some(ints(&[1, 2, 3])),
            "must have shape (2,)",
        ),
        (
            "label-float",
            t(1.0),
            Some(npy_f64(&[2], &[1.0, 2.0])),
            "labels must be integers",
        ),
    ];
    for (name, inputs, labels, why) in cases {
        let ip = d.join(format!("{name}.npy"));
        std::fs::write(&ip, &inputs).unwrap();
        let lp = d.join(format!("{name}-labels.npy"));
        let mut args = vec!["eval", "--model", MODEL, "--inputs", s(&ip)];
        // A bad labels file is the one named; otherwise the inputs.
        let named = match &labels {
            Some(l) => {
                std::fs::write(&lp, l).unwrap();
                args.extend(["--labels", s(&lp)]);
                &lp
            }
            None => &ip,
        };
        for cmd in ["eval", "simulate", "verify"] {
            args[0] = cmd;
            let (code, _, err) = run(&args);
            assert_eq!(code, 1, "{name} {cmd}: {err}");
            assert!(
                err.contains(s(named)) && err.contains(why),
                "{name} {cmd}: '{why}' or the file not in: {err}"
            );
        }
    }
    // --labels without --inputs is a usage error.
    let (code, _, err) = run(&["eval", "--model", MODEL, "--labels", s(&labels)]);
    assert_eq!(code, 2, "{err}");
    std::fs::remove_dir_all(&d).unwrap();
}
