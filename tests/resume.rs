//! Checkpoints and resume: a run stopped after any batch and resumed from its checkpoint ends
//! with bit-identical weights (and log, and checkpoints along the way) to a run never
//! stopped, with the same seed, on the same or another thread count. Also: divergence,
//! silent layers, Ctrl-C.

mod common;
use common::tmp;

use common::run_for;
use firstspike::data::{to_idx_bytes, Dataset};
use firstspike::encoding::{Encoding, EncodingKind};
use firstspike::model::Model;
use firstspike::trace::EngineKind;
use firstspike::train::{
    Checkpoint, Distill, GainBand, Progress, ReluStart, RunEnd, ScaleRule, Schedule, TrainConfig,
    Trainer, CHECKPOINT_VERSION,
};
use firstspike::{Error, LossOrigin};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// `n` random 4x4 images; the label (0..4) is the brightest quadrant, so there is something
/// to learn.
fn data(n: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let images: Vec<u8> = (0..n * 16).map(|_| rng.gen()).collect();
    let labels = images
        .chunks(16)
        .map(|im| {
            let q = |r0: usize, c0: usize| {
                (0..2)
                    .flat_map(|r| (0..2).map(move |c| (r, c)))
                    .map(|(r, c)| im[(r0 + r) * 4 + c0 + c] as u32)
                    .sum::<u32>()
            };
            let s = [q(0, 0), q(0, 2), q(2, 0), q(2, 2)];
            (0..4).max_by_key(|&k| (s[k], 4 - k)).unwrap() as u8
        })
        .collect();
    Dataset {
        images,
        labels,
        rows: 4,
        cols: 4,
    }
}

/// 200 samples in batches of 16: 13 batches per epoch, the last one of 8.
fn config() -> TrainConfig {
    TrainConfig {
        arch: firstspike::network::Arch::dense(&[16, 12, 4]),
        epochs: 3,
        batch_size: 16,
        lr: 3e-3,
        lr_decay: 0.95,
        jitter_sd: 0.05,
        init_mean: 2.0,
        threads: 2,
        seed: 11,
        encoding: Encoding {
            kind: EncodingKind::Linear,
            t_max: 2.0,
            silent_below: 0,
        },
        ..TrainConfig::default()
    }
}

const PER_EPOCH: u64 = 13;

fn bits(m: &Model) -> Vec<u64> {
    m.layers
        .iter()
        .flat_map(|l| l.weights().iter().map(|w| w.to_bits()))
        .collect()
}

/// A checkpoint with its wall-clock fields zeroed, as bytes: what must match exactly.
fn timeless(c: &Checkpoint) -> Vec<u8> {
    let mut c = c.clone();
    c.train_seconds = 0.0;
    c.epoch_seconds = 0.0;
    c.log.iter_mut().for_each(|e| e.seconds = 0.0);
    c.to_bytes()
}

/// Runs `cfg` to the end without stopping: final model and every checkpoint (one per batch).
fn unstopped(cfg: &TrainConfig, train: &Dataset, test: &Dataset) -> (Model, Vec<Vec<u8>>) {
    interrupted(cfg, train, test, &[])
}

/// Runs `cfg` stopping after each of `stops` batches (counted per session), each time going
/// through the last checkpoint's bytes into a new trainer; returns the final model and every
/// checkpoint handed out (one per batch: the stop needs no extra one).
fn interrupted(
    cfg: &TrainConfig,
    train: &Dataset,
    test: &Dataset,
    stops: &[u64],
) -> (Model, Vec<Vec<u8>>) {
    let every = Schedule {
        checkpoint_every: Some(Duration::ZERO),
        ..Schedule::default()
    };
    let mut ckpts = Vec::new();
    let mut t = Trainer::new(cfg, train, Some(test)).unwrap();
    for &k in stops {
        let mut last = None;
        let end = t
            .run(
                &Schedule {
                    max_batches: Some(k),
                    ..every
                },
                |c| {
                    last = Some(c.to_bytes());
                    ckpts.push(timeless(c));
                    Ok(())
                },
                |_| {},
            )
            .unwrap();
        if end == RunEnd::Finished {
            break;
        }
        let c = Checkpoint::from_bytes(&last.unwrap(), Path::new("mem.ckpt")).unwrap();
        t = Trainer::resume(c, train, Some(test)).unwrap();
    }
    assert_eq!(
        t.run(
            &every,
            |c| {
                ckpts.push(timeless(c));
                Ok(())
            },
            |_| {}
        )
        .unwrap(),
        RunEnd::Finished
    );
    (t.finish().model, ckpts)
}

#[test]
fn stopped_and_resumed_runs_match_an_unstopped_run_bit_for_bit() {
    let (train, test) = (data(200, 1), data(40, 2));
    let cfg = config();
    let (reference, ref_ckpts) = unstopped(&cfg, &train, &test);
    assert_eq!(ref_ckpts.len() as u64, 3 * PER_EPOCH);
    // Stops: after the first batch, mid-epoch, exactly at an epoch end, one batch before an
    // epoch end, in the last epoch, and many times over.
    let cases: Vec<Vec<u64>> = vec![
        vec![1],
        vec![5],
        vec![PER_EPOCH],
        vec![PER_EPOCH - 1],
        vec![2 * PER_EPOCH + 3],
        vec![7; 6],
        vec![1, 1, 11, 1, 12],
    ];
    for stops in cases {
        let (model, ckpts) = interrupted(&cfg, &train, &test, &stops);
        assert_eq!(
            bits(&model),
            bits(&reference),
            "stops {stops:?}: final weights differ"
        );
        assert_eq!(model.meta.train, reference.meta.train);
        assert_eq!(ckpts.len(), ref_ckpts.len(), "stops {stops:?}");
        for (k, (a, b)) in ckpts.iter().zip(&ref_ckpts).enumerate() {
            assert!(
                a == b,
                "stops {stops:?}: the checkpoint after batch {} differs",
                k + 1
            );
        }
    }
}

/// A run that holds images out for validation, of a convolutional net, resumes bit for bit
/// (the checkpoint's order covers only the images trained on).
#[test]
fn a_conv_run_with_validation_resumes_bit_for_bit() {
    let (train, test) = (data(200, 1), data(40, 2));
    let cfg = TrainConfig {
        arch: firstspike::network::Arch::parse("4x4-3c2-4").unwrap(),
        validation: 40,
        epochs: 2,
        // The dense tests' 2 thresholds leave this small net's target outputs silent, and so
        // its loss without gradient; 8 makes them fire.
        init_mean: 8.0,
        ..config()
    };
    let mut t = Trainer::new(&cfg, &train, Some(&test)).unwrap();
    t.run(&Schedule::default(), |_| Ok(()), |_| {}).unwrap();
    let out = t.finish();
    assert!(
        out.log.iter().all(|e| e.train_loss > 0.5),
        "the loss must pass gradient for the test to mean anything: {:?}",
        out.log
    );
    let (reference, _) = unstopped(&cfg, &train, &test);
    assert_eq!(bits(&out.model), bits(&reference));
    let (model, _) = interrupted(&cfg, &train, &test, &[3, 12]);
    assert_eq!(bits(&model), bits(&reference));
}

/// Mirrored and shifted training images: the draws depend on (seed, epoch, sample) alone, so
/// such a run resumes bit for bit too; and mirroring does change what is learnt.
#[test]
fn a_run_with_mirrored_and_shifted_images_resumes_bit_for_bit() {
    let (train, test) = (data(200, 1), data(40, 2));
    let cfg = TrainConfig {
        flip: true,
        shift: 1,
        epochs: 2,
        ..config()
    };
    let (reference, _) = unstopped(&cfg, &train, &test);
    let (model, _) = interrupted(&cfg, &train, &test, &[3, 12]);
    assert_eq!(bits(&model), bits(&reference));
    let unmirrored = TrainConfig {
        flip: false,
        ..cfg.clone()
    };
    assert_ne!(
        bits(&unstopped(&unmirrored, &train, &test).0),
        bits(&reference)
    );
    assert_eq!(reference.meta.train.as_ref().unwrap()["flip"], true);
}

/// The losses added after format version 5 (a fixed origin, the time softmax) and
/// distillation from a teacher's logits on top of each loss, each resumed bit for bit through
/// its checkpoints (all of the current format version), each a different run
/// from the default loss's; the model records the loss and the distillation by name.
#[test]
fn runs_with_the_newer_losses_resume_bit_for_bit() {
    let (train, test) = (data(200, 1), data(40, 2));
    let (default, ckpts) = unstopped(&config(), &train, &test);
    assert!(ckpts
        .iter()
        .all(|c| c[8..12] == CHECKPOINT_VERSION.to_le_bytes()));
    let teacher = write_teacher(&train, "losses");
    let distill = |weight, temperature| {
        Some(Distill {
            teacher: teacher.to_string_lossy().into_owned(),
            teacher_sha256: String::new(),
            weight,
            temperature,
        })
    };
    let mut others = Vec::new();
    for (origin, distill, stops, key, value) in [
        (LossOrigin::At(1.5), None, [5, 9], "At", 1.5),
        (LossOrigin::Time(0.2), None, [4, 11], "Time", 0.2),
        (LossOrigin::Input, distill(0.5, 4.0), [3, 10], "", 0.0),
        (LossOrigin::FirstOutput, distill(0.9, 2.0), [6, 7], "", 0.0),
        (
            LossOrigin::Time(0.2),
            distill(0.5, 4.0),
            [2, 12],
            "Time",
            0.2,
        ),
    ] {
        let cfg = TrainConfig {
            loss_origin: origin,
            distill: distill.clone(),
            epochs: 2,
            ..config()
        };
        let (reference, ckpts) = unstopped(&cfg, &train, &test);
        assert!(ckpts
            .iter()
            .all(|c| c[8..12] == CHECKPOINT_VERSION.to_le_bytes()));
        let (model, _) = interrupted(&cfg, &train, &test, &stops);
        assert_eq!(bits(&model), bits(&reference), "{origin} {distill:?}");
        assert_ne!(bits(&default), bits(&reference), "{origin} {distill:?}");
        assert!(!others.contains(&bits(&reference)), "{origin} {distill:?}");
        others.push(bits(&reference));
        let rec = reference.meta.train.as_ref().unwrap();
        if !key.is_empty() {
            assert_eq!(rec["loss_origin"][key], value, "{rec}");
        }
        match &distill {
            Some(d) => {
                assert_eq!(rec["distill"]["weight"], d.weight, "{rec}");
                assert_eq!(rec["distill"]["temperature"], d.temperature, "{rec}");
                assert_eq!(rec["distill"]["teacher_sha256"].as_str().unwrap().len(), 64);
            }
            None => assert!(rec["distill"].is_null(), "{rec}"),
        }
    }
}

/// Gain control (`TrainConfig::gain_band`), on a dense and a convolutional net, resumes bit
/// for bit, differs from the run without it, and is recorded in the model.
#[test]
fn runs_with_gain_control_resume_bit_for_bit() {
    let (train, test) = (data(200, 1), data(40, 2));
    let band = Some(GainBand {
        low: 0.3,
        high: 2.0,
        weight: 1.0,
    });
    let dense = TrainConfig {
        epochs: 2,
        ..config()
    };
    let conv = TrainConfig {
        arch: firstspike::network::Arch::parse("4x4-3c2-4").unwrap(),
        init_mean: 8.0,
        ..dense.clone()
    };
    for base in [dense, conv] {
        let cfg = TrainConfig {
            gain_band: band,
            ..base.clone()
        };
        let (reference, _) = unstopped(&cfg, &train, &test);
        let (model, _) = interrupted(&cfg, &train, &test, &[4, 9]);
        assert_eq!(bits(&model), bits(&reference), "{}", cfg.arch);
        assert_ne!(
            bits(&unstopped(&base, &train, &test).0),
            bits(&reference),
            "{}",
            cfg.arch
        );
        let rec = reference.meta.train.as_ref().unwrap();
        assert_eq!(rec["gain_band"]["low"], 0.3, "{rec}");
        assert_eq!(rec["gain_band"]["weight"], 1.0, "{rec}");
    }
}

/// A ReLU twin of `config()`'s 16-12-4 net that solves its task: hidden unit k (k < 4) sums
/// quadrant k's pixels, the other 8 have no weights, output k reads hidden unit k; biases of
/// 0.01. PyTorch's layouts, float32.
fn write_twin(name: &str) -> PathBuf {
    let mut w0 = vec![0f32; 12 * 16];
    for p in 0..16 {
        let (r, c) = (p / 4, p % 4);
        let q = 2 * (r / 2) + c / 2;
        w0[q * 16 + p] = 1.0;
    }
    let mut w1 = vec![0f32; 4 * 12];
    (0..4).for_each(|k| w1[k * 12 + k] = 1.0);
    let f32s = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let bytes = common::npz(&[
        ("layer0.weight", common::npy("<f4", &[12, 16], &f32s(&w0))),
        ("layer0.bias", common::npy("<f4", &[12], &f32s(&[0.01; 12]))),
        ("layer1.weight", common::npy("<f4", &[4, 12], &f32s(&w1))),
    ]);
    let path = tmp(&format!("twin-{name}")).join("twin.npz");
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A start from the ReLU twin: the mapped net follows the twin's logits (its first output is
/// the twin's largest logit on most images, and so it classifies them), the record is filled
/// in and kept in the model, and the run resumes bit for bit without the twin's file (the
/// weights are in the checkpoint; nothing is mapped again).
#[test]
fn a_run_from_the_relu_twin_records_its_mapping_and_resumes_bit_for_bit() {
    let (train, test) = (data(200, 1), data(40, 2));
    let twin = write_twin("resume");
    for rule in [ScaleRule::Norm, ScaleRule::Search] {
        let cfg = TrainConfig {
            epochs: 2,
            validation: 40,
            relu_start: Some(ReluStart {
                file: twin.to_string_lossy().into_owned(),
                sha256: String::new(),
                rule,
                images: 100,
                scales: Vec::new(),
                agreement: 0.0,
                relu_accuracy: 0.0,
                mapped_accuracy: 0.0,
                mapped_validation_accuracy: None,
                largest_bias_dropped: 0.0,
            }),
            ..config()
        };
        let t = Trainer::new(&cfg, &train, Some(&test)).unwrap();
        let r = t.config().relu_start.clone().unwrap();
        assert_eq!((r.sha256.len(), r.scales.len(), r.images), (64, 2, 100));
        assert_eq!(r.relu_accuracy, 1.0, "the twin solves the task");
        assert!(r.agreement > 0.8, "{rule:?}: {r:?}");
        assert!(r.mapped_accuracy > 0.8, "{rule:?}: {r:?}");
        assert!(
            r.mapped_validation_accuracy.unwrap() > 0.7,
            "{rule:?}: {r:?}"
        );
        assert!((r.largest_bias_dropped - 0.01).abs() < 1e-6);
        let (reference, _) = unstopped(&cfg, &train, &test);
        let rec = reference.meta.train.as_ref().unwrap();
        assert_eq!(rec["relu_start"]["agreement"], r.agreement, "{rec}");
        assert_eq!(rec["relu_start"]["scales"][1], r.scales[1], "{rec}");
        // Stopped after 3 batches; the file is gone by the time the run resumes.
        let mut t = Trainer::new(&cfg, &train, Some(&test)).unwrap();
        let mut last = None;
        t.run(
            &Schedule {
                max_batches: Some(3),
                ..Schedule::default()
            },
            |c| {
                last = Some(c.to_bytes());
                Ok(())
            },
            |_| {},
        )
        .unwrap();
        let moved = twin.with_extension("moved");
        std::fs::rename(&twin, &moved).unwrap();
        let c = Checkpoint::from_bytes(&last.unwrap(), Path::new("mem.ckpt")).unwrap();
        let mut t = Trainer::resume(c, &train, Some(&test)).unwrap();
        t.run(&Schedule::default(), |_| Ok(()), |_| {}).unwrap();
        let model = t.finish().model;
        std::fs::rename(&moved, &twin).unwrap();
        assert_eq!(bits(&model), bits(&reference), "{rule:?}");
        assert_eq!(model.meta.train, reference.meta.train);
    }
}

/// A teacher's logits for `train` (float32, one row per image, 4 outputs): a noisy guess
/// of the brightest quadrant, written to a temporary folder named after `name`.
fn write_teacher(train: &Dataset, name: &str) -> PathBuf {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut raw = Vec::new();
    for &label in &train.labels {
        for k in 0..4u8 {
            let x = if k == label { 2.0f32 } else { 0.0 } + rng.gen_range(-1.0f32..1.0);
            raw.extend(x.to_le_bytes());
        }
    }
    let path = tmp(&format!("teacher-{name}")).join("teacher.npy");
    std::fs::write(&path, common::npy("<f4", &[train.len(), 4], &raw)).unwrap();
    path
}

/// A distilling run refuses to resume with a teacher file whose contents changed, naming it.
#[test]
fn a_distilling_run_refuses_a_changed_teacher() {
    let (train, test) = (data(200, 1), data(40, 2));
    let teacher = write_teacher(&train, "changed");
    let cfg = TrainConfig {
        distill: Some(Distill {
            teacher: teacher.to_string_lossy().into_owned(),
            teacher_sha256: String::new(),
            weight: 0.5,
            temperature: 2.0,
        }),
        ..config()
    };
    let mut t = Trainer::new(&cfg, &train, Some(&test)).unwrap();
    let mut last = None;
    t.run(
        &Schedule {
            max_batches: Some(3),
            ..Schedule::default()
        },
        |c| {
            last = Some(c.clone());
            Ok(())
        },
        |_| {},
    )
    .unwrap();
    let c = last.unwrap();
    Trainer::resume(c.clone(), &train, Some(&test)).unwrap();
    let other = write_teacher(&data(200, 9), "changed-other");
    std::fs::copy(&other, &teacher).unwrap();
    let e = Trainer::resume(c, &train, Some(&test))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("teacher's logits changed since the run started"),
        "{e}"
    );
    assert!(e.contains("teacher.npy"), "{e}");
}

#[test]
fn event_engine_run_resumes_bit_for_bit() {
    let (train, test) = (data(64, 3), data(16, 4));
    let cfg = TrainConfig {
        engine: EngineKind::Event,
        epochs: 2,
        ..config()
    };
    let (reference, _) = unstopped(&cfg, &train, &test);
    let (model, _) = interrupted(&cfg, &train, &test, &[3]);
    assert_eq!(bits(&model), bits(&reference));
}

/// Weight averaging changes what is evaluated and saved, not the training: the weights step
/// for step are those of the run without it; the saved model is the exponential moving
/// average of them, computed here independently in f64 from every batch's checkpoint; and an
/// averaging run stopped and resumed ends bit for bit as one never stopped.
#[test]
fn weight_averaging_saves_the_average_of_unchanged_training_and_resumes_bit_for_bit() {
    let (train, test) = (data(200, 1), data(40, 2));
    let beta = 0.9;
    let cfg = TrainConfig {
        average: beta,
        ..config()
    };
    let every = Schedule {
        checkpoint_every: Some(Duration::ZERO),
        ..Schedule::default()
    };
    let weights_per_batch = |cfg: &TrainConfig| {
        let mut t = Trainer::new(cfg, &train, Some(&test)).unwrap();
        let mut ws: Vec<Vec<f32>> = Vec::new();
        t.run(
            &every,
            |c| {
                ws.push(c.weights.concat());
                Ok(())
            },
            |_| {},
        )
        .unwrap();
        (ws, t.finish())
    };
    let (plain_ws, plain) = weights_per_batch(&config());
    let (avg_ws, averaged) = weights_per_batch(&cfg);
    assert_eq!(avg_ws.len() as u64, 3 * PER_EPOCH);
    assert_eq!(avg_ws, plain_ws, "averaging changed the training itself");
    // wbar starts at the initial weights; after step t (from 0) it moves by (1 - beta_t) towards
    // the weights, beta_t = min(beta, (1 + t)/(10 + t)).
    let flat =
        |m: &Model| -> Vec<f64> { m.layers.iter().flat_map(|l| l.weights().to_vec()).collect() };
    let mut want = flat(&firstspike::train::init_model(&cfg));
    for (t, w) in avg_ws.iter().enumerate() {
        let b = beta.min((1.0 + t as f64) / (10.0 + t as f64));
        for (a, &w) in want.iter_mut().zip(w) {
            *a = b * *a + (1.0 - b) * f64::from(w);
        }
    }
    let (got, last) = (flat(&averaged.model), flat(&plain.model));
    assert_eq!(got.len(), want.len());
    let worst = got
        .iter()
        .zip(&want)
        .map(|(g, w)| (g - w).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-5, "saved weights are {worst} from the average");
    let moved = got
        .iter()
        .zip(&last)
        .map(|(g, l)| (g - l).abs())
        .fold(0.0, f64::max);
    assert!(
        moved > 1e-3,
        "the saved model is the last step's weights (max difference {moved})"
    );
    assert_eq!(
        averaged.model.meta.train.as_ref().unwrap()["average"],
        serde_json::json!(beta)
    );
    // The per-epoch held-out accuracy is the averaged model's: the last epoch's is the saved
    // model's accuracy on the test set.
    let acc = firstspike::analytic::evaluate(
        &firstspike::analytic::Net::<f64>::from_model(&averaged.model),
        &cfg.encoding,
        &test,
        1,
        firstspike::progress::NO_PROGRESS,
    )
    .accuracy();
    assert_eq!(averaged.log.last().unwrap().test_accuracy, Some(acc));
    // Stopped and resumed, mid-epoch and at an epoch end.
    let (reference, _) = unstopped(&cfg, &train, &test);
    assert_eq!(bits(&reference), bits(&averaged.model));
    for stops in [vec![5], vec![PER_EPOCH, 7]] {
        let (model, _) = interrupted(&cfg, &train, &test, &stops);
        assert_eq!(bits(&model), bits(&reference), "stops {stops:?}");
    }
}

#[test]
fn more_epochs_on_resume_equal_a_longer_run() {
    let (train, test) = (data(200, 1), data(40, 2));
    let long = TrainConfig {
        epochs: 4,
        ..config()
    };
    let (reference, _) = unstopped(&long, &train, &test);
    let short = TrainConfig {
        epochs: 2,
        ..config()
    };
    let mut t = Trainer::new(&short, &train, Some(&test)).unwrap();
    let (end, mut c) = run_for(&mut t, u64::MAX);
    assert_eq!(end, RunEnd::Finished);
    assert_eq!(
        (c.epoch, c.batch),
        (3, 0),
        "the last checkpoint is the end of epoch 2"
    );
    c.config.epochs = 4;
    let mut t = Trainer::resume(c.clone(), &train, Some(&test)).unwrap();
    t.run(&Schedule::default(), |_| Ok(()), |_| {}).unwrap();
    let out = t.finish();
    assert_eq!(bits(&out.model), bits(&reference));
    assert_eq!(out.log.len(), 4);
    c.config.epochs = 1;
    let e = Trainer::resume(c, &train, Some(&test)).err().unwrap();
    assert!(
        matches!(e, Error::InvalidSetting { name: "epochs", .. })
            && e.to_string().contains("the run needs at least 2"),
        "{e}"
    );
}

#[test]
fn checkpoint_file_keeps_the_previous_one() {
    let dir = std::env::temp_dir().join(format!("firstspike-resume-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("run.ckpt");
    let (train, test) = (data(200, 1), data(40, 2));
    let mut t = Trainer::new(&config(), &train, Some(&test)).unwrap();
    let mut saved = Vec::new();
    t.run(
        &Schedule {
            max_batches: Some(PER_EPOCH + 2),
            ..Schedule::default()
        },
        |c| {
            c.save(&path)?;
            saved.push(c.clone());
            Ok(())
        },
        |_| {},
    )
    .unwrap();
    assert_eq!(saved.len(), 2, "epoch end, then the stop");
    assert_eq!(Checkpoint::load(&path).unwrap(), saved[1]);
    assert_eq!(
        Checkpoint::load(&dir.join("run.ckpt.prev")).unwrap(),
        saved[0]
    );
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    assert_eq!(names.len(), 2, "no temporary left behind: {names:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn resume_refuses_other_data() {
    let (train, test) = (data(200, 1), data(40, 2));
    let mut t = Trainer::new(&config(), &train, Some(&test)).unwrap();
    let (_, c) = run_for(&mut t, 3);
    let mut other = train.clone();
    other.images[77] ^= 1;
    let e = Trainer::resume(c.clone(), &other, Some(&test))
        .err()
        .unwrap();
    assert!(
        e.is_usage() && e.to_string().contains("training set"),
        "{e}"
    );
    let e = Trainer::resume(c, &train, None).err().unwrap();
    assert!(e.to_string().contains("test set"), "{e}");
}

#[test]
fn raised_stop_flag_stops_before_the_next_batch_with_a_checkpoint() {
    let (train, test) = (data(200, 1), data(40, 2));
    let stop = AtomicBool::new(true);
    let mut t = Trainer::new(&config(), &train, Some(&test)).unwrap();
    let mut n = 0;
    let end = t
        .run(
            &Schedule {
                stop: Some(&stop),
                ..Schedule::default()
            },
            |_| {
                n += 1;
                Ok(())
            },
            |_| {},
        )
        .unwrap();
    assert_eq!(end, RunEnd::Stopped { epoch: 1, batch: 0 });
    assert_eq!(n, 1);
}

#[test]
fn huge_step_size_diverges_naming_epoch_and_batch_without_a_checkpoint() {
    let (train, test) = (data(200, 1), data(40, 2));
    // 1e39 is a finite f64 but overflows the f32 step: the first batch's weights become
    // non-finite.
    let cfg = TrainConfig {
        lr: 1e39,
        ..config()
    };
    let mut t = Trainer::new(&cfg, &train, Some(&test)).unwrap();
    let mut n = 0;
    let e = t
        .run(
            &Schedule::default(),
            |_| {
                n += 1;
                Ok(())
            },
            |_| {},
        )
        .unwrap_err();
    assert!(matches!(e, Error::Diverged { .. }), "{e}");
    assert!(e.to_string().contains("epoch 1, batch 1:"), "{e}");
    assert_eq!(n, 0, "no checkpoint of a diverged state");
}

#[test]
fn a_layer_that_never_fires_is_reported_by_name() {
    let (train, test) = (data(64, 1), data(16, 2));
    // Negative weights: no hidden neuron can reach threshold.
    let cfg = TrainConfig {
        init_mean: -4.0,
        init_sd: 0.0,
        epochs: 1,
        ..config()
    };
    let mut silent = Vec::new();
    let mut t = Trainer::new(&cfg, &train, Some(&test)).unwrap();
    t.run(
        &Schedule::default(),
        |_| Ok(()),
        |p| {
            if let Progress::SilentLayer {
                epoch,
                batch,
                layer,
                layers,
                neurons,
            } = p
            {
                silent.push((epoch, batch, layer, layers, neurons));
            }
        },
    )
    .unwrap();
    assert!(silent.contains(&(1, 1, 1, 2, 12)), "{silent:?}");
    assert!(silent.contains(&(1, 1, 2, 2, 4)), "{silent:?}");
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_firstspike")
}

fn write_idx(dir: &Path, train: &Dataset, test: &Dataset) {
    for (stem, ds) in [("train", train), ("t10k", test)] {
        let (i, l) = to_idx_bytes(ds);
        std::fs::write(dir.join(format!("{stem}-images-idx3-ubyte")), i).unwrap();
        std::fs::write(dir.join(format!("{stem}-labels-idx1-ubyte")), l).unwrap();
    }
}

/// The binary, interrupted by SIGINT, writes a checkpoint and exits 130; resumed with the same
/// flags it ends with exactly the weights of a run never interrupted.
#[cfg(unix)]
#[test]
fn ctrl_c_checkpoints_and_the_cli_resumes_bit_for_bit() {
    use std::process::{Command, Stdio};
    let d = tmp("sigint");
    write_idx(&d, &data(64, 5), &data(16, 6));
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let common = |epochs: &str| -> Vec<String> {
        [
            "train",
            "--data",
            &s(&d),
            "--arch",
            "16-8-4",
            "--batch",
            "8",
            "--threads",
            "2",
            "--seed",
            "3",
            "--jitter",
            "0.05",
            "--epochs",
            epochs,
        ]
        .iter()
        .map(|x| x.to_string())
        .collect()
    };
    let prefix = d.join("run");
    let ckpt = d.join("run.ckpt");
    // Far more epochs than it will get to: the interrupt always comes first.
    let child = Command::new(bin())
        .args(common("1000000"))
        .args(["--out", &s(&prefix)])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while !ckpt.is_file() {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no checkpoint after 60 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(
        err.contains("interrupted:") && err.contains("--resume"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let c = Checkpoint::load(&ckpt).unwrap();
    let epochs = (c.epoch + 1).to_string();
    // Resume with the original flags repeated (only --epochs changed), as a script would.
    let resumed = Command::new(bin())
        .args(common(&epochs))
        .args(["--resume", &s(&ckpt), "--out", &s(&d.join("resumed"))])
        .output()
        .unwrap();
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let reference = Command::new(bin())
        .args(common(&epochs))
        .args(["--out", &s(&d.join("reference"))])
        .output()
        .unwrap();
    assert!(
        reference.status.success(),
        "{}",
        String::from_utf8_lossy(&reference.stderr)
    );
    // Resume with no flag but --epochs: the checkpoint knows its settings and data folder.
    let bare = Command::new(bin())
        .args([
            "train",
            "--resume",
            &s(&ckpt),
            "--epochs",
            &epochs,
            "--out",
            &s(&d.join("bare")),
        ])
        .current_dir(std::env::temp_dir())
        .env_remove("FIRSTSPIKE_DATA")
        .output()
        .unwrap();
    assert!(
        bare.status.success(),
        "{}",
        String::from_utf8_lossy(&bare.stderr)
    );
    let a = Model::load(&d.join("resumed.bin")).unwrap();
    let b = Model::load(&d.join("reference.bin")).unwrap();
    assert_eq!(
        bits(&a),
        bits(&b),
        "resumed after epoch {}, batch {}",
        c.epoch,
        c.batch
    );
    assert_eq!(bits(&Model::load(&d.join("bare.bin")).unwrap()), bits(&b));
    // The log of the resumed run holds every epoch, the ones before the interrupt included.
    let log = std::fs::read_to_string(d.join("resumed.log.jsonl")).unwrap();
    assert_eq!(log.lines().count(), c.epoch + 1);
    std::fs::remove_dir_all(&d).unwrap();
}

/// The thread count splits the samples and the weight rows, never the order of a sum: the
/// weights come out bit-identical with 1, 2 or 3 threads, with and without clipping.
#[test]
fn thread_count_does_not_change_the_weights() {
    let (train, test) = (data(200, 1), data(40, 2));
    for clip_norm in [0.0, 0.05] {
        let run = |threads: usize| {
            let cfg = TrainConfig {
                threads,
                clip_norm,
                ..config()
            };
            unstopped(&cfg, &train, &test).0
        };
        let one = run(1);
        for threads in [2, 3] {
            assert_eq!(
                bits(&run(threads)),
                bits(&one),
                "{threads} threads, clip {clip_norm}"
            );
        }
    }
}

/// A run stopped on 2 threads and resumed on 1, then on 3, ends with the weights of the
/// unstopped 2-thread run; only the totals of the epoch in progress are merged.
#[test]
fn a_run_resumes_on_another_thread_count() {
    let (train, test) = (data(200, 1), data(40, 2));
    let cfg = config();
    assert_eq!(cfg.threads, 2);
    let (reference, _) = unstopped(&cfg, &train, &test);
    let mut t = Trainer::new(&cfg, &train, Some(&test)).unwrap();
    for threads in [1, 3] {
        let (end, mut c) = run_for(&mut t, PER_EPOCH + 5);
        assert!(matches!(end, RunEnd::Stopped { .. }));
        c.set_threads(threads);
        assert_eq!(c.totals.len(), threads);
        t = Trainer::resume(c, &train, Some(&test)).unwrap();
    }
    t.run(&Schedule::default(), |_| Ok(()), |_| {}).unwrap();
    let out = t.finish();
    assert_eq!(bits(&out.model), bits(&reference));
    assert_eq!(out.log.len(), 3);
}

/// With `--validation`, `train` keeps the model of the best epoch so far as `PREFIX.best.bin`:
/// it is the model of a run stopped after that epoch (same weights, bit for bit), and it
/// carries that epoch's validation accuracy. Without a validation split there is no such file.
#[test]
fn the_best_validation_epoch_is_kept_and_equals_a_run_stopped_there() {
    use std::process::Command;
    let d = tmp("best");
    write_idx(&d, &data(300, 7), &data(16, 8));
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let train = |epochs: usize, validation: usize, out: &Path| {
        let o = Command::new(bin())
            .args([
                "train",
                "--data",
                &s(&d),
                "--arch",
                "16-8-4",
                "--batch",
                "8",
            ])
            .args(["--lr", "0.01", "--seed", "3", "--threads", "2"])
            .args(["--epochs", &epochs.to_string()])
            .args(["--validation", &validation.to_string(), "--out", &s(out)])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let full = d.join("full");
    train(6, 100, &full);
    let log: Vec<serde_json::Value> = std::fs::read_to_string(d.join("full.log.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let v: Vec<f64> = log
        .iter()
        .map(|e| e["validation_accuracy"].as_f64().unwrap())
        .collect();
    // The first epoch with the highest accuracy (later ties are not "better").
    let best = (0..v.len()).fold(0, |b, k| if v[k] > v[b] { k } else { b });
    // These settings peak before the end, with a tie at the last epoch, so that the kept
    // model is not simply the final one.
    assert!(best + 1 < v.len(), "{v:?}");
    let kept = Model::load(&d.join("full.best.bin")).unwrap();
    assert_eq!(kept.meta.epochs_trained, best + 1, "{v:?}");
    assert_eq!(kept.meta.validation_accuracy, Some(v[best]));
    assert_eq!(
        kept.meta.test_accuracy, None,
        "the test set is not read for it"
    );
    let stopped = d.join("stopped");
    train(best + 1, 100, &stopped);
    let there = Model::load(&d.join("stopped.bin")).unwrap();
    assert_eq!(bits(&kept), bits(&there), "{v:?}");
    // A run with a validation split does not read the test set, not even at its end.
    assert_eq!(there.meta.test_accuracy, None);
    assert_eq!(
        Model::load(&full.with_extension("bin"))
            .unwrap()
            .meta
            .test_accuracy,
        None
    );
    // `eval --save-accuracy` reads the test set for the kept model once and records the
    // accuracy the stopped run's model has, in the .bin and the .json, weights untouched.
    let best_bin = d.join("full.best.bin");
    let eval = |model: &Path| {
        Command::new(bin())
            .args([
                "eval",
                "--data",
                &s(&d),
                "--model",
                &s(model),
                "--save-accuracy",
            ])
            .output()
            .unwrap()
    };
    let o = eval(&d.join("stopped.bin"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let there = Model::load(&d.join("stopped.bin")).unwrap();
    let o = eval(&best_bin);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let recorded = Model::load(&best_bin).unwrap();
    assert_eq!(recorded.meta.test_accuracy, there.meta.test_accuracy);
    assert!(recorded.meta.test_accuracy.is_some());
    assert_eq!(recorded.meta.test_samples, 16);
    assert_eq!(recorded.meta.validation_accuracy, Some(v[best]));
    assert_eq!(bits(&recorded), bits(&kept));
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("full.best.json")).unwrap()).unwrap();
    assert_eq!(
        card["meta"]["test_accuracy"].as_f64(),
        there.meta.test_accuracy
    );
    // Not a .bin path: refused before anything is read or written.
    let o = eval(&d.join("full.best"));
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a model's .bin file"));
    let plain = d.join("plain");
    train(1, 0, &plain);
    assert!(!d.join("plain.best.bin").exists());
}

/// `train --no-test` (the final run on every training image, settings chosen on validation)
/// never opens the test files: it runs in a folder without them, logs no held-out accuracy,
/// records none in the model, and ends with the weights of the same run with a test set;
/// its checkpoint resumes without the flag, and the flag is refused where it contradicts.
#[test]
fn a_run_without_the_test_set_reads_no_test_file_and_trains_the_same_weights() {
    use std::process::Command;
    let d = tmp("no-test");
    let (with, without) = (d.join("with"), d.join("without"));
    std::fs::create_dir_all(&with).unwrap();
    std::fs::create_dir_all(&without).unwrap();
    let (train, test) = (data(48, 11), data(16, 12));
    write_idx(&with, &train, &test);
    for f in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"] {
        std::fs::copy(with.join(f), without.join(f)).unwrap();
    }
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let fs = |dir: &Path, epochs: &str, extra: &[&str], out: &str| {
        Command::new(bin())
            .args([
                "train",
                "--data",
                &s(dir),
                "--arch",
                "16-8-4",
                "--batch",
                "8",
            ])
            .args([
                "--threads",
                "1",
                "--seed",
                "4",
                "--epochs",
                epochs,
                "--json",
            ])
            .args(extra)
            .args(["--out", &s(&d.join(out))])
            .output()
            .unwrap()
    };
    let ok = |o: &std::process::Output| {
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert!(o.status.success(), "{err}");
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let reference = ok(&fs(&with, "2", &[], "reference"));
    assert!(reference["test_accuracy"].as_f64().is_some());
    // Without the flag, the folder without test files is an error naming the file.
    let missing = fs(&without, "2", &[], "missing");
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("t10k-images"));
    let no_test = ok(&fs(&without, "2", &["--no-test"], "no-test"));
    assert!(no_test["test_accuracy"].is_null(), "{no_test}");
    let m = Model::load(&d.join("no-test.bin")).unwrap();
    assert_eq!(
        bits(&m),
        bits(&Model::load(&d.join("reference.bin")).unwrap())
    );
    assert_eq!(m.meta.test_accuracy, None);
    let log = std::fs::read_to_string(d.join("no-test.log.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 2);
    let mut last = serde_json::Value::Null;
    for line in log.lines() {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(e["test_accuracy"].is_null() && e["validation_accuracy"].is_null());
        last = e;
    }
    // The gain per layer, in the log and, for the last epoch, in the printed summary.
    let gain = last["gain"].as_array().unwrap();
    assert_eq!(gain.len(), 2, "{last}");
    assert!(gain[0]["fired"].as_u64().unwrap() > 0, "{last}");
    assert_eq!(no_test["gain"], last["gain"]);
    assert!(d.join("no-test.gain.svg").is_file());
    // One epoch, then resumed to two without repeating the flag: the checkpoint knows.
    ok(&fs(&without, "1", &["--no-test"], "short"));
    let ckpt = s(&d.join("short.ckpt"));
    ok(&fs(&without, "2", &["--resume", &ckpt], "resumed"));
    let r = Model::load(&d.join("resumed.bin")).unwrap();
    assert_eq!(bits(&r), bits(&m));
    // Contradictions are refused before any training.
    let both = fs(&with, "2", &["--no-test", "--test-limit", "8"], "both");
    assert!(!both.status.success());
    assert!(String::from_utf8_lossy(&both.stderr).contains("--no-test"));
    // A run with a validation split reads no test file either, and resumes without them.
    let val = ok(&fs(&without, "1", &["--validation", "16"], "val"));
    assert!(val["test_accuracy"].is_null(), "{val}");
    let val_ckpt = s(&d.join("val.ckpt"));
    ok(&fs(&without, "2", &["--resume", &val_ckpt], "val2"));
    let resumed_tl = fs(
        &without,
        "2",
        &["--resume", &val_ckpt, "--test-limit", "8"],
        "val3",
    );
    assert!(!resumed_tl.status.success());
    assert!(String::from_utf8_lossy(&resumed_tl.stderr)
        .contains("the checkpoint's run reads none of it"));
    let tl = fs(
        &with,
        "1",
        &["--validation", "16", "--test-limit", "8"],
        "tl",
    );
    assert!(!tl.status.success());
    assert!(String::from_utf8_lossy(&tl.stderr).contains("--test-limit"));
    let ref_ckpt = s(&d.join("reference.ckpt"));
    let contra = fs(&with, "3", &["--no-test", "--resume", &ref_ckpt], "contra");
    assert!(!contra.status.success());
    assert!(String::from_utf8_lossy(&contra.stderr).contains("reads the test set"));
    std::fs::remove_dir_all(&d).unwrap();
}
