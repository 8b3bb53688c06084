//! Fixtures shared by the integration tests; a test file includes them with `mod common;`.

// Each test file uses only some of these.
#![allow(dead_code)]

use firstspike::model::{Layer, Model, ModelMeta};
use firstspike::network::Arch;
use firstspike::neuron::NeuronParams;
use firstspike::train::{Checkpoint, RunEnd, Schedule, Trainer};
use rand::{Rng, SeedableRng};
use std::ops::Range;
use std::path::PathBuf;

/// A fresh, empty folder for one test: `firstspike-<test file>-<process id>-<name>` in the
/// system's temporary folder (an old one of that name is removed first).
pub fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "firstspike-{}-{}-{name}",
        env!("CARGO_CRATE_NAME"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The neuron parameters every test of a formula runs at (see the library's definition).
#[allow(unused_imports)] // each test file uses only some of these
pub use firstspike::neuron::UNIT_CASES;

/// A model of `arch` (any layer kinds, e.g. `28x28-6c5s2-10`) at neuron parameters `params`,
/// with weights drawn from `seed` so that most neurons fire: each weight is theta * 6 / fan-in
/// times a uniform factor in [-0.5, 1.5), a mean weight sum of 3 thresholds.
pub fn random_arch_model(arch: &str, seed: u64, params: NeuronParams) -> Model {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let layers = Arch::parse(arch).unwrap().build(|_, fan_in, n| {
        (0..n)
            .map(|_| params.theta * 6.0 / fan_in as f64 * rng.gen_range(-0.5..1.5))
            .collect::<Vec<f64>>()
    });
    Model {
        params,
        encoding: Default::default(),
        layers,
        meta: ModelMeta::default(),
    }
}

/// Fully connected layers of sizes `arch` (input first), every weight drawn uniformly from `w`.
pub fn random_layers(rng: &mut impl Rng, arch: &[usize], w: Range<f64>) -> Vec<Layer> {
    arch.windows(2)
        .map(|p| {
            let weights = (0..p[0] * p[1]).map(|_| rng.gen_range(w.clone())).collect();
            Layer::dense(p[0], p[1], weights)
        })
        .collect()
}

/// Runs `t` for at most `batches` more batches (or to the end), returning how it ended and
/// the last checkpoint it handed out.
pub fn run_for(t: &mut Trainer, batches: u64) -> (RunEnd, Checkpoint) {
    let mut last = None;
    let schedule = Schedule {
        max_batches: Some(batches),
        ..Schedule::default()
    };
    let end = t
        .run(
            &schedule,
            |c| {
                last = Some(c.clone());
                Ok(())
            },
            |_| {},
        )
        .unwrap();
    (end, last.expect("a checkpoint was handed out"))
}

/// The MNIST slice shipped with the repository (`tests/data/mnist-slice`, made by
/// `tools/make-embedded.sh`): the first 5,000 training and the first 1,000 test images, so
/// that tests train on real digits on a fresh clone with no data folder.
pub fn mnist_slice(split: firstspike::data::Split) -> firstspike::data::Dataset {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mnist-slice");
    firstspike::data::Dataset::load(&dir, split).expect("the bundled MNIST slice")
}

/// The bytes of a `.npy` file (format 1.0, C order) holding `data` (raw little-endian
/// elements) as an array of dtype `descr` (`<f8`, `|u1`, ...) and shape `shape`; written here
/// independently of the library's reader, as NumPy lays the file out.
pub fn npy(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out
}

/// `.npy` bytes of float64 values of shape `shape`.
pub fn npy_f64(shape: &[usize], v: &[f64]) -> Vec<u8> {
    let data: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    npy("<f8", shape, &data)
}

/// `.npz` bytes (a stored ZIP archive, as `numpy.savez` writes) of `.npy` members
/// `(name, bytes)`, each stored as `name.npy`.
#[allow(dead_code)]
pub fn npz(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut dir = Vec::new();
    for (name, data) in members {
        let name = format!("{name}.npy");
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let local = out.len() as u32;
        let sizes = [crc.sum(), data.len() as u32, data.len() as u32];
        out.extend(0x0403_4b50u32.to_le_bytes());
        out.extend([20u8, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        sizes.iter().for_each(|v| out.extend(v.to_le_bytes()));
        out.extend((name.len() as u16).to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out.extend(name.as_bytes());
        out.extend(data);
        dir.extend(0x0201_4b50u32.to_le_bytes());
        dir.extend([20u8, 3, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        sizes.iter().for_each(|v| dir.extend(v.to_le_bytes()));
        dir.extend((name.len() as u16).to_le_bytes());
        dir.extend([0u8; 12]);
        dir.extend(local.to_le_bytes());
        dir.extend(name.as_bytes());
    }
    let dir_at = out.len() as u32;
    out.extend(&dir);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0u8; 4]);
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((dir.len() as u32).to_le_bytes());
    out.extend(dir_at.to_le_bytes());
    out.extend([0u8; 2]);
    out
}
