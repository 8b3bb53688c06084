//! Bounded randomized robustness test of every file reader: real files (IDX images and
//! labels, plain and gzipped; a model; a trace file; a checkpoint; a NIR graph) mutated by random bit
//! flips, byte rewrites, truncations, insertions, deletions and rewrites of header and length
//! fields (seeded ChaCha8, a fixed number of mutations per reader). Each reader must answer
//! every input with `Ok` or an error: never a panic, never an allocation out of proportion to
//! its input (a header claiming huge dimensions is refused before allocating), and an `Ok`
//! must hold a consistent value.
//!
//! Allocations are measured by a counting global allocator (this test binary only): the
//! largest single request made on the reader's thread while it ran.
//!
//! Crashes found become the named regression tests at the end of the file.

mod common;

use common::run_for;
use firstspike::analytic::{forward, ForwardPass, LayerScratch, Net};
use firstspike::data::{to_idx_bytes, Dataset};
use firstspike::loss::LossOrigin;
use firstspike::model::{Layer, Model, ModelMeta};
use firstspike::progress::NO_PROGRESS;
use firstspike::replay::{replay, replay_gradients};
use firstspike::trace::{EngineKind, SampleTrace, TraceFile, TraceHeader};
use firstspike::train::{Checkpoint, TrainConfig, Trainer};
use flate2::{write::GzEncoder, Compression};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// Passes every request to the system allocator, remembering per thread the largest one.
struct Counting;

thread_local! {
    static BIGGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = BIGGEST.try_with(|b| b.set(b.get().max(size)));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        note(l.size());
        System.alloc(l)
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        note(l.size());
        System.alloc_zeroed(l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        note(new);
        System.realloc(p, l, new)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Largest single allocation a reader may make for one of these small inputs (all under
/// 64 KiB, decompressed): 16 MiB is far beyond any honest need and far below the claims of a
/// corrupt header (up to gigabytes).
const ALLOC_LIMIT: usize = 16 << 20;

/// Mutations per reader and input stream (9 streams). With these small inputs the whole
/// file takes about 6 s in release builds (4 of them the NIR graph's HDF5), 60 s in debug
/// builds.
const MUTATIONS: usize = if cfg!(debug_assertions) {
    3_000
} else {
    20_000
};

/// Values written over header and length fields: zero, one, and sizes from large to absurd.
const INTERESTING: [u64; 10] = [
    0,
    1,
    255,
    1 << 16,
    1 << 24,
    1 << 28,
    1 << 31,
    u32::MAX as u64,
    1 << 40,
    u64::MAX,
];

/// One random mutation of `b`; returns its description.
fn mutate(rng: &mut ChaCha8Rng, b: &mut Vec<u8>, fields: &[(usize, usize, bool)]) -> String {
    let len = b.len();
    match rng.gen_range(0..8) {
        0 if len > 0 => {
            let n = rng.gen_range(1..=8);
            for _ in 0..n {
                let i = rng.gen_range(0..len);
                b[i] ^= 1 << rng.gen_range(0..8);
            }
            format!("flip {n} bits")
        }
        1 if len > 0 => {
            let i = rng.gen_range(0..len);
            b[i] = [0x00, 0xff, 0x7f, 0x80, 0x01][rng.gen_range(0..5)];
            format!("set byte {i} to {:#04x}", b[i])
        }
        2 => {
            let n = rng.gen_range(0..=len);
            b.truncate(n);
            format!("truncate to {n}")
        }
        3 => {
            let i = rng.gen_range(0..=len);
            let n = rng.gen_range(1..=16);
            let ins: Vec<u8> = (0..n).map(|_| rng.gen()).collect();
            b.splice(i..i, ins);
            format!("insert {n} bytes at {i}")
        }
        4 if len > 0 => {
            let i = rng.gen_range(0..len);
            let j = rng.gen_range(i..=len.min(i + 64));
            b.drain(i..j);
            format!("delete {i}..{j}")
        }
        5 if len >= 8 => {
            let i = rng.gen_range(0..=len - 8);
            let v = INTERESTING[rng.gen_range(0..INTERESTING.len())];
            b[i..i + 8].copy_from_slice(&v.to_le_bytes());
            format!("write u64 {v} at {i}")
        }
        _ if !fields.is_empty() => {
            // A header or length field: (offset, width, big-endian).
            let (i, w, be) = fields[rng.gen_range(0..fields.len())];
            if i + w > len {
                return "no-op (field past the end)".into();
            }
            let v = INTERESTING[rng.gen_range(0..INTERESTING.len())];
            let bytes = match (w, be) {
                (4, true) => (v as u32).to_be_bytes().to_vec(),
                (4, false) => (v as u32).to_le_bytes().to_vec(),
                (_, true) => v.to_be_bytes().to_vec(),
                _ => v.to_le_bytes().to_vec(),
            };
            b[i..i + w].copy_from_slice(&bytes);
            format!("field at {i} := {v}")
        }
        _ => "no-op".into(),
    }
}

/// Offsets of the bincode (u64 little-endian) fields of `b` that look like lengths or sizes:
/// values 1..=1,000,000.
fn length_fields(b: &[u8]) -> Vec<(usize, usize, bool)> {
    (0..b.len().saturating_sub(7))
        .filter(|&i| (1..=1_000_000).contains(&u64::from_le_bytes(b[i..i + 8].try_into().unwrap())))
        .map(|i| (i, 8, false))
        .collect()
}

/// Runs `read` on `input` on this thread: the panic message if it panicked, and the largest
/// allocation it made.
fn probe<T>(input: &[u8], read: impl FnOnce(&[u8]) -> T) -> (Result<T, String>, usize) {
    BIGGEST.with(|b| b.set(0));
    let r = catch_unwind(AssertUnwindSafe(|| read(input))).map_err(|p| {
        p.downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default()
    });
    (r, BIGGEST.with(|b| b.get()))
}

/// Mutates `valid` [`MUTATIONS`] times (1 to 3 mutations each) and feeds each result to
/// `read`, which returns `Err(description)` for an accepted but inconsistent value. Returns
/// the findings (panics, inconsistent values, single allocations above `alloc_limit`), each
/// with its reproducer.
fn fuzz(
    name: &str,
    seed: u64,
    valid: &[u8],
    fields: &[(usize, usize, bool)],
    alloc_limit: usize,
    read: impl Fn(&[u8]) -> Result<(), String>,
) -> Vec<String> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut findings = Vec::new();
    for k in 0..MUTATIONS {
        let mut b = valid.to_vec();
        let what: Vec<String> = (0..rng.gen_range(1..=3))
            .map(|_| mutate(&mut rng, &mut b, fields))
            .collect();
        let (r, biggest) = probe(&b, &read);
        let problem = match r {
            Err(panic) => Some(format!("panicked: {panic}")),
            Ok(Err(bad)) => Some(format!("accepted an inconsistent value: {bad}")),
            Ok(Ok(())) if biggest > alloc_limit => {
                Some(format!("allocated {biggest} bytes in one request"))
            }
            Ok(Ok(())) => None,
        };
        if let Some(p) = problem {
            findings.push(format!(
                "{name} mutation {k} (seed {seed}; {}): {p}; input {} bytes",
                what.join(", "),
                b.len()
            ));
        }
    }
    findings
}

fn gz(b: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn small_data() -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    Dataset {
        images: (0..40 * 16).map(|_| rng.gen()).collect(),
        labels: (0..40).map(|i| (i % 4) as u8).collect(),
        rows: 4,
        cols: 4,
    }
}

fn small_model() -> Model {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let mut layer = |n_in: usize, n_out: usize| {
        Layer::dense(
            n_in,
            n_out,
            (0..n_in * n_out).map(|_| rng.gen_range(0.0..0.6)).collect(),
        )
    };
    Model {
        params: Default::default(),
        encoding: Default::default(),
        layers: vec![layer(16, 6), layer(6, 4)],
        meta: ModelMeta {
            dataset: "fuzz".into(),
            train: Some(TrainConfig::default().record()),
            ..Default::default()
        },
    }
}

fn small_trace() -> TraceFile {
    let m = small_model();
    let ds = small_data();
    let net = Net::<f64>::from_model(&m);
    let (mut scratch, mut pass) = (LayerScratch::default(), ForwardPass::default());
    let samples = (0..5)
        .map(|i| {
            let t: Vec<f64> = ds.image(i).iter().map(|&p| m.encoding.time(p)).collect();
            forward(&net, &t, &mut scratch, &mut pass);
            SampleTrace::from_pass(&pass, i as u64, Some(ds.labels[i]))
        })
        .collect();
    TraceFile {
        header: TraceHeader::for_model(&m, EngineKind::Analytic, true),
        samples,
    }
}

fn small_checkpoint() -> Checkpoint {
    let ds = small_data();
    let cfg = TrainConfig {
        arch: firstspike::network::Arch::dense(&[16, 6, 4]),
        epochs: 2,
        batch_size: 8,
        threads: 2,
        ..TrainConfig::default()
    };
    let mut t = Trainer::new(&cfg, &ds, None).unwrap();
    run_for(&mut t, 7).1
}

fn idx_ok(r: firstspike::Result<Dataset>) -> Result<(), String> {
    match r {
        Ok(d) if d.images.len() != d.len() * d.dim() => Err(format!(
            "{} pixels for {} images of {}",
            d.images.len(),
            d.len(),
            d.dim()
        )),
        _ => Ok(()),
    }
}

fn model_ok(r: firstspike::Result<Model>) -> Result<(), String> {
    let Ok(m) = r else { return Ok(()) };
    for (k, l) in m.layers.iter().enumerate() {
        if l.n_in().checked_mul(l.n_out()) != Some(l.weights().len()) {
            return Err(format!(
                "layer {k}: {} x {} with {} weights",
                l.n_in(),
                l.n_out(),
                l.weights().len()
            ));
        }
    }
    Ok(())
}

/// Fails on any finding not of a `known` kind (a substring of the finding, with the
/// regression test that pins it); prints how many known ones there were.
fn report(findings: &[String], known: &[(&str, &str)]) {
    let (old, new): (Vec<&String>, Vec<&String>) = findings
        .iter()
        .partition(|f| known.iter().any(|(k, _)| f.contains(k)));
    for (k, test) in known {
        let n = old.iter().filter(|f| f.contains(k)).count();
        if n > 0 {
            eprintln!(
                "{n} known findings '{k}' (see {test}), e.g. {}",
                old.iter().find(|f| f.contains(k)).unwrap()
            );
        }
    }
    assert!(
        new.is_empty(),
        "{} findings, e.g.:\n{}",
        new.len(),
        new.iter()
            .take(10)
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The IDX reader grows its buffer as data arrives (see
/// `regression_idx_header_claiming_256_mib_is_refused_before_allocating`), so it is held to
/// the same bound as the other readers.
const IDX_ALLOC_LIMIT: usize = ALLOC_LIMIT;

const IDX3_FIELDS: [(usize, usize, bool); 4] =
    [(0, 4, true), (4, 4, true), (8, 4, true), (12, 4, true)];
const IDX1_FIELDS: [(usize, usize, bool); 2] = [(0, 4, true), (4, 4, true)];

#[test]
fn idx_readers_survive_mutations_plain_and_gzipped() {
    let (img, lab) = to_idx_bytes(&small_data());
    let mut f = Vec::new();
    f.extend(fuzz(
        "idx images",
        1,
        &img,
        &IDX3_FIELDS,
        IDX_ALLOC_LIMIT,
        |b| idx_ok(Dataset::from_idx_bytes(b, &lab, "mem")),
    ));
    f.extend(fuzz(
        "idx labels",
        2,
        &lab,
        &IDX1_FIELDS,
        IDX_ALLOC_LIMIT,
        |b| idx_ok(Dataset::from_idx_bytes(&img, b, "mem")),
    ));
    // The gzip container itself mutated...
    let (gi, gl) = (gz(&img), gz(&lab));
    f.extend(fuzz("gz idx images", 3, &gi, &[], IDX_ALLOC_LIMIT, |b| {
        idx_ok(Dataset::from_idx_bytes(b, &gl, "mem"))
    }));
    // ...and mutated IDX content gzipped, so that header rewrites reach the parser.
    f.extend(fuzz(
        "idx images, then gzipped",
        4,
        &img,
        &IDX3_FIELDS,
        IDX_ALLOC_LIMIT,
        |b| idx_ok(Dataset::from_idx_bytes(&gz(b), &gl, "mem")),
    ));
    f.extend(fuzz(
        "idx labels, then gzipped",
        5,
        &lab,
        &IDX1_FIELDS,
        IDX_ALLOC_LIMIT,
        |b| idx_ok(Dataset::from_idx_bytes(&gi, &gz(b), "mem")),
    ));
    report(&f, &[]);
}

#[test]
fn model_reader_survives_mutations() {
    let b = small_model().to_bytes();
    let fields = length_fields(&b);
    report(
        &fuzz("model", 6, &b, &fields, ALLOC_LIMIT, |x| {
            model_ok(Model::from_bytes(x, Path::new("mem.bin")))
        }),
        &[],
    );
}

#[test]
fn trace_reader_survives_mutations() {
    let b = small_trace().to_bytes();
    let model = small_model();
    let fields = length_fields(&b);
    let f = fuzz("trace", 7, &b, &fields, ALLOC_LIMIT, |x| {
        TraceFile::from_bytes(x, Path::new("mem.trace")).map_or(Ok(()), |t| {
            // An accepted trace must describe a network: arch of at least an input layer.
            if t.header.arch.is_empty() {
                return Err("a trace of an empty architecture".into());
            }
            // Replayed against the model that recorded it, it gives a report or an error,
            // never a panic (a mutated label or layer size must not index out of bounds).
            let _ = replay(
                &model,
                &[(PathBuf::from("mem.trace"), t.clone())],
                NO_PROGRESS,
            );
            let _ = replay_gradients(&model, &t.samples, LossOrigin::Input, 0.01);
            Ok(())
        })
    });
    report(&f, &[]);
}

#[test]
fn checkpoint_reader_survives_mutations() {
    let b = small_checkpoint().to_bytes();
    let fields = length_fields(&b);
    let f = fuzz("checkpoint", 8, &b, &fields, ALLOC_LIMIT, |x| {
        Checkpoint::from_bytes(x, Path::new("mem.ckpt"))
            .map_or(Ok(()), |c| c.validate().map_err(|e| e.to_string()))
    });
    report(&f, &[]);
}

/// A small conv model's NIR graph: every kind of node the import reads (Conv2d, Flatten,
/// Affine, LI, IF, Input with metadata, Output), strings, i64 and f64 arrays.
#[cfg(feature = "nir")]
fn small_nir_graph() -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let arch = firstspike::Arch::parse("5x5x2-3c3s2p1-4").unwrap();
    let layers = arch.build(|_, _, n| (0..n).map(|_| rng.gen_range(-0.2..0.6)).collect());
    firstspike::nir::graph_bytes(&Model {
        layers,
        ..small_model()
    })
    .unwrap()
}

#[test]
#[cfg(feature = "nir")]
fn nir_reader_survives_mutations() {
    let b = small_nir_graph();
    let f = fuzz("nir graph", 9, &b, &[], ALLOC_LIMIT, |x| {
        // An accepted graph must be a model that saves and loads again (validated on load).
        firstspike::nir::model_from_bytes(x).map_or(Ok(()), |m| {
            Model::from_bytes(&m.to_bytes(), Path::new("mem.bin"))
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    });
    report(&f, &[]);
}

/// The `.npz` reader (the ReLU twin's weights, `train --init-from-relu`) on archives NumPy
/// wrote, stored and deflated.
#[test]
fn npz_reader_survives_mutations() {
    for (k, f) in ["numpy-savez.npz", "numpy-savez-compressed.npz"]
        .iter()
        .enumerate()
    {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/npz")
            .join(f);
        let b = std::fs::read(path).unwrap();
        assert!(firstspike::npz::Npz::parse(&b, Path::new("mem.npz")).is_ok());
        let f = fuzz(f, 10 + k as u64, &b, &[], ALLOC_LIMIT, |x| {
            firstspike::npz::Npz::parse(x, Path::new("mem.npz")).map_or(Ok(()), |_| Ok(()))
        });
        report(&f, &[]);
    }
}

#[test]
fn the_valid_files_are_read_back() {
    let (img, lab) = to_idx_bytes(&small_data());
    assert_eq!(
        Dataset::from_idx_bytes(&gz(&img), &gz(&lab), "mem")
            .unwrap()
            .len(),
        40
    );
    assert_eq!(
        Model::from_bytes(&small_model().to_bytes(), Path::new("m")).unwrap(),
        small_model()
    );
    assert_eq!(
        TraceFile::from_bytes(&small_trace().to_bytes(), Path::new("t")).unwrap(),
        small_trace()
    );
    let c = small_checkpoint();
    assert_eq!(
        Checkpoint::from_bytes(&c.to_bytes(), Path::new("c")).unwrap(),
        c
    );
}

#[test]
fn checkpoint_claiming_huge_dimensions_is_refused_before_allocating() {
    let mut c = small_checkpoint();
    c.config.arch = firstspike::network::Arch::dense(&[16, 1 << 40, 4]);
    let (r, biggest) = probe(&c.to_bytes(), |b| {
        Checkpoint::from_bytes(b, Path::new("c"))
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    let msg = r.unwrap().unwrap_err();
    assert!(msg.contains("weights"), "{msg}");
    assert!(biggest <= ALLOC_LIMIT, "{biggest}");
}

// Regression tests of the findings, named after what they pin; each gives the exact
// reproducer. All three were fixed in the readers.

/// Found by `model_reader_survives_mutations` (seed 6, mutation 339: `write u64 0 at 822,
/// flip 5 bits`, which made layer 0 claim 2^63 + 16 inputs). `Model::validate` checks
/// `w.len() != n_in * n_out` with a wrapping product, so sizes whose product wraps to the
/// number of weights pass. This 256 -> 2^56 -> 256 model has no weights at all
/// (256 * 2^56 = 2^64 wraps to 0): `firstspike eval --model it --data <16x16 images>` then
/// aborts (SIGABRT, exit 134, "memory allocation of 576460752303423488 bytes failed"), which
/// no panic handler can catch. In debug builds `from_bytes` itself panics on the overflow.
#[test]
fn regression_model_whose_layer_size_wraps_is_refused() {
    let m = Model {
        params: Default::default(),
        encoding: Default::default(),
        layers: vec![
            Layer::dense(256, 1 << 56, vec![]),
            Layer::dense(1 << 56, 256, vec![]),
        ],
        meta: ModelMeta::default(),
    };
    let (r, _) = probe(&m.to_bytes(), |b| {
        Model::from_bytes(b, Path::new("wrap.bin")).map(|m| m.arch())
    });
    assert!(
        matches!(r, Ok(Err(_))),
        "accepted (or panicked on) a model of architecture 256-2^56-256 without weights: {r:?}"
    );
}

/// Found by `idx_readers_survive_mutations_plain_and_gzipped` (seed 1, e.g. mutation 26):
/// a 120-byte image file whose header claims 2^24 images of 4x4 makes the reader allocate
/// 256 MiB before reading (`read_payload` does `vec![0u8; n]` for any claim up to
/// `MAX_PAYLOAD`, 1 GiB). Fixed: the payload is now read incrementally (`take(n).read_to_end`
/// into a buffer grown as data arrives).
#[test]
fn regression_idx_header_claiming_256_mib_is_refused_before_allocating() {
    let (mut img, lab) = to_idx_bytes(&small_data());
    img[4..8].copy_from_slice(&(1u32 << 24).to_be_bytes());
    let (r, biggest) = probe(&img, |b| {
        Dataset::from_idx_bytes(b, &lab, "mem")
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    assert!(matches!(r, Ok(Err(_))), "{r:?}");
    assert!(
        biggest <= ALLOC_LIMIT,
        "one allocation of {biggest} bytes for a {}-byte file",
        img.len()
    );
}

/// Found by reading `SampleTrace::validate` while writing this test (the mutations did not
/// reach it): a trace file whose header has an empty architecture and whose sample has no
/// causal layers makes the message compute `arch.len() - 1`: an overflow panic in debug
/// builds, "0 causal layers for 18446744073709551615 layers" in release builds.
#[test]
fn regression_trace_with_empty_architecture_is_refused_clearly() {
    let mut t = small_trace();
    t.header.arch.clear();
    t.samples.truncate(1);
    t.samples[0].causal.clear();
    t.samples[0].spikes.clear();
    let (r, _) = probe(&t.to_bytes(), |b| {
        TraceFile::from_bytes(b, Path::new("t"))
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    match r {
        Ok(Err(msg)) => assert!(!msg.contains("18446744073709551615"), "{msg}"),
        other => panic!("{other:?}"),
    }
}
