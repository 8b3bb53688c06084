//! `firstspike.train`: numpy arrays and explicit keyword settings onto the library's
//! [`TrainConfig`] and [`Trainer`], progress through Python, Ctrl-C between batches.

use super::arrays::npy_of;
use super::errors::{py_err, thread_count, value_err, OrPy};
use super::model::PyModel;
use super::progress::Reporter;
use super::results::epoch_log;
use crate::data::Dataset;
use crate::encoding::EncodingKind;
use crate::inputs::labels_of;
use crate::loss::LossOrigin;
use crate::network::Arch;
use crate::npy::Dtype;
use crate::trace::EngineKind;
use crate::train::{
    Distill, EpochLog, GainBand, Progress, ReluStart, RunEnd, ScaleRule, Schedule, TrainConfig,
    Trainer, DISTILL_TEMPERATURE, DISTILL_WEIGHT, GAIN_WEIGHT, RELU_IMAGES,
};
use crate::{Error, Model};
use clap::ValueEnum;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// A non-negative integer setting given as a Python int.
fn count_setting(name: &'static str, v: i64) -> PyResult<usize> {
    usize::try_from(v).map_err(|_| {
        py_err(Error::setting(
            name,
            format!("{name} must be a whole number >= 0, got {v}"),
        ))
    })
}

/// A name among a clap value enum's, case-insensitive, or a `ValueError` listing them.
fn choice<T: ValueEnum>(setting: &str, v: &str) -> PyResult<T> {
    T::from_str(v, true).map_err(|_| {
        let names: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|x| {
                x.to_possible_value()
                    .map(|p| format!("\"{}\"", p.get_name()))
            })
            .collect();
        value_err(format!(
            "{setting} must be {}, got {v:?}",
            names.join(" or ")
        ))
    })
}

/// The library's defaults of `train`'s keyword settings, by keyword (the defaults its
/// signature shows; a test checks that the two agree).
#[pyfunction]
pub(super) fn train_defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let c = TrainConfig::default();
    let d = PyDict::new(py);
    d.set_item("epochs", c.epochs)?;
    d.set_item("seed", c.seed)?;
    d.set_item("batch_size", c.batch_size)?;
    d.set_item("lr", c.lr)?;
    d.set_item("lr_decay", c.lr_decay)?;
    d.set_item("weight_sum_k", c.weight_sum_k)?;
    d.set_item("l2", c.l2)?;
    d.set_item("decision_cost", c.decision_cost)?;
    d.set_item("jitter_sd", c.jitter_sd)?;
    d.set_item("shift", c.shift)?;
    d.set_item("flip", c.flip)?;
    d.set_item("init_mean", c.init_mean)?;
    d.set_item("init_sd", c.init_sd)?;
    d.set_item("denom_floor", c.denom_floor)?;
    d.set_item("clip_norm", c.clip_norm)?;
    d.set_item("average", c.average)?;
    d.set_item("quantise_bits", c.quantise_bits)?;
    d.set_item("tau_syn", c.params.tau_syn)?;
    d.set_item("theta", c.params.theta)?;
    d.set_item("t_max", c.encoding.t_max)?;
    d.set_item("silent_below", c.encoding.silent_below)?;
    let name = |v: Option<clap::builder::PossibleValue>| v.map(|p| p.get_name().to_string());
    d.set_item("engine", name(c.engine.to_possible_value()))?;
    d.set_item("encoding", name(c.encoding.kind.to_possible_value()))?;
    d.set_item("loss_origin", c.loss_origin.to_string())?;
    Ok(d)
}

/// train(x, labels, *, arch=None, epochs=24, seed=1, validation=0, threads=None,
///       progress=None, on_epoch=None, batch_size=32, lr=0.001, lr_decay=0.8,
///       weight_sum_k=1.0, l2=0.0001, decision_cost=0.0, jitter_sd=0.25, shift=0, flip=False, init_mean=4.0,
///       init_sd=1.0, denom_floor=0.01, clip_norm=0.0, average=0.0, loss_origin=None,
///       engine="analytic", quantise_bits=0, tau_syn=1.0, theta=1.0, encoding="linear",
///       t_max=3.0, silent_below=0, teacher=None, distill_weight=None,
///       distill_temperature=None, gain_band=None, gain_weight=None, init_from_relu=None,
///       relu_scale=None, relu_images=None) -> Model
///
/// Trains a new model on uint8 images x (N, ...) with integer labels (N,), with the trainer
/// of `firstspike train`; every keyword is a `train` flag of the CLI (same default, same
/// checks, recorded in model.meta["train"]).
///
/// The run:
///   arch: layer sizes, input first, as a list or "784-30-10" / "28x28-16c5s2-10"; default:
///     the CLI's hidden layers (800) between x's pixel count and max(labels) + 1 outputs.
///   epochs, seed: --epochs, --seed.
///   validation: hold out the last N samples (never trained on); their accuracy after every
///     epoch is history[k].validation_accuracy, the final one meta["validation_accuracy"].
///   threads: worker threads (default: every core); the result does not depend on it.
///   progress: None or True (the default) shows a tqdm bar (if tqdm is installed) and prints a line per epoch
///     through Python (visible in a notebook); False shows nothing; a callable is called as
///     progress(done, total) with the samples trained so far and in all.
///   on_epoch: a callable called with each epoch's EpochLog as it ends.
/// The optimiser and the loss:
///   batch_size (--batch), lr (Adam step), lr_decay (per epoch), weight_sum_k (the
///   weight-sum cost K), l2, decision_cost (the weight W >= 0 of the cost W t_g / tau_syn on
///   the label output's spike time t_g, which rewards an early decision; 0: off), clip_norm (0: no clipping), average (weight averaging, 0: off),
///   init_mean, init_sd (initial weights, units of theta), denom_floor (the floor of S - theta
///   in the gradients), quantise_bits (0: off), engine ("analytic" or "event"),
///   loss_origin: None or "input" (the default), "first-output", a number (a fixed origin,
///   tau_syn units) or "time:T" (a softmax over spike times, temperature T tau_syn).
/// The data: jitter_sd (input jitter, tau_syn), shift (pixels), flip (mirror images).
/// The neuron and the encoding: tau_syn, theta, encoding ("linear" or "zlinear"), t_max (time
///   of a black pixel, tau_syn), silent_below (pixels below it send no spike).
/// Distillation: teacher ("FILE.npy", the teacher's logits, one row per sample of x, one
///   column per output), distill_weight a (default 0.5), distill_temperature T (default 4):
///   the loss becomes (1 - a) CE + a T^2 KL(softmax(teacher/T) || softmax(student/T)).
/// Gain control: gain_band (low, high) or "low:high" (potentials in units of theta, low above
///   denom_floor) and gain_weight (default 0.1): a penalty on log(S - theta) outside the band.
/// ReLU start: init_from_relu ("FILE.npz", the ReLU twin's weights), relu_scale ("search" or
///   "norm", default "search"), relu_images (default 1000, the first samples of x).
///
/// Ctrl-C stops after the current batch and raises KeyboardInterrupt. ValueError for bad
/// arrays or settings (the library's message), RuntimeError if training diverges.
#[pyfunction]
#[pyo3(signature = (x, labels, *, arch=None, epochs=24, seed=1, validation=0, threads=None,
    progress=None, on_epoch=None, batch_size=32, lr=0.001, lr_decay=0.8, weight_sum_k=1.0,
    l2=0.0001, decision_cost=0.0, jitter_sd=0.25, shift=0, flip=false, init_mean=4.0, init_sd=1.0,
    denom_floor=0.01, clip_norm=0.0, average=0.0, loss_origin=None, engine="analytic",
    quantise_bits=0, tau_syn=1.0, theta=1.0, encoding="linear", t_max=3.0, silent_below=0,
    teacher=None, distill_weight=None, distill_temperature=None, gain_band=None,
    gain_weight=None, init_from_relu=None, relu_scale=None, relu_images=None))]
#[allow(clippy::too_many_arguments)]
pub(super) fn train(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    labels: &Bound<'_, PyAny>,
    arch: Option<&Bound<'_, PyAny>>,
    epochs: i64,
    seed: u64,
    validation: i64,
    threads: Option<i64>,
    progress: Option<&Bound<'_, PyAny>>,
    on_epoch: Option<&Bound<'_, PyAny>>,
    batch_size: i64,
    lr: f64,
    lr_decay: f64,
    weight_sum_k: f64,
    l2: f64,
    decision_cost: f64,
    jitter_sd: f64,
    shift: i64,
    flip: bool,
    init_mean: f64,
    init_sd: f64,
    denom_floor: f64,
    clip_norm: f64,
    average: f64,
    loss_origin: Option<&Bound<'_, PyAny>>,
    engine: &str,
    quantise_bits: i64,
    tau_syn: f64,
    theta: f64,
    encoding: &str,
    t_max: f64,
    silent_below: i64,
    teacher: Option<PathBuf>,
    distill_weight: Option<f64>,
    distill_temperature: Option<f64>,
    gain_band: Option<&Bound<'_, PyAny>>,
    gain_weight: Option<f64>,
    init_from_relu: Option<PathBuf>,
    relu_scale: Option<String>,
    relu_images: Option<i64>,
) -> PyResult<PyModel> {
    let threads = thread_count(threads)?;
    let (train_set, shape) = images(x)?;
    let n = train_set.images.len() / shape.iter().product::<usize>().max(1);
    let arch = train_arch(arch)?;
    // Labels fit in a byte here; the trainer checks them against the architecture's outputs.
    let l = npy_of(labels)?.map_err(|what| value_err(format!("labels: {what}")))?;
    let labels = labels_of(&l, n, 256).map_err(|what| value_err(format!("labels: {what}")))?;
    let dim: usize = shape.iter().product();
    let validation = count_setting("validation", validation)?;
    if validation >= n {
        return Err(py_err(Error::setting(
            "validation",
            format!("validation {validation} leaves no training sample of {n}; hold out fewer"),
        )));
    }
    let mut cfg = TrainConfig {
        threads,
        epochs: count_setting("epochs", epochs)?,
        seed,
        batch_size: count_setting("batch_size", batch_size)?,
        lr,
        lr_decay,
        weight_sum_k,
        l2,
        decision_cost,
        jitter_sd,
        shift: count_setting("shift", shift)?,
        flip,
        init_mean,
        init_sd,
        denom_floor,
        clip_norm,
        average,
        engine: choice::<EngineKind>("engine", engine)?,
        quantise_bits: u32::try_from(count_setting("quantise_bits", quantise_bits)?)
            .map_err(|_| value_err(format!("quantise_bits too large: {quantise_bits}")))?,
        validation,
        ..TrainConfig::default()
    };
    cfg.params.tau_syn = tau_syn;
    cfg.params.theta = theta;
    cfg.encoding.kind = choice::<EncodingKind>("encoding", encoding)?;
    cfg.encoding.t_max = t_max;
    cfg.encoding.silent_below = u8::try_from(silent_below).map_err(|_| {
        value_err(format!(
            "silent_below must be in 0..=255, got {silent_below}"
        ))
    })?;
    if let Some(v) = loss_origin {
        cfg.loss_origin = parse_loss_origin(v)?;
    }
    cfg.distill = distill(teacher, distill_weight, distill_temperature)?;
    cfg.gain_band = gain(gain_band, gain_weight)?;
    cfg.relu_start = relu_start(init_from_relu, relu_scale, relu_images)?;
    cfg.arch = arch.unwrap_or_else(|| default_arch(&cfg.arch, dim, &labels));
    cfg.validate().py()?;
    let train_set = Dataset {
        labels,
        ..train_set
    };
    let samples = (train_set.len() - validation) as u64;
    let rep = Reporter::new(
        py,
        Some(progress.unwrap_or(PyBool::new(py, true).as_any())),
        cfg.epochs as u64 * samples,
        "train",
        false,
    )?;
    let stop = AtomicBool::new(false);
    let raised: Mutex<Option<PyErr>> = Mutex::new(None);
    let on_epoch = on_epoch.map(|f| f.clone().unbind());
    let res = py.detach(|| run(&cfg, &train_set, &rep, on_epoch.as_ref(), &stop, &raised));
    rep.finish(py)?;
    if let Some(e) = raised.lock().expect("lock").take() {
        return Err(e);
    }
    let (mut model, log) = res.py()?;
    // The final model's accuracy on the hold-out (the trainer measured it after the last epoch).
    if let Some(v) = log.last().and_then(|e| e.validation_accuracy) {
        model.meta.validation_accuracy = Some(v);
        model.meta.validation_samples = validation;
    }
    Ok(PyModel {
        model,
        path: None,
        history: log,
    })
}

/// The training images of `x`: uint8 (N, ...), any trailing shape (a map's rows and columns
/// when it is (N, H, W)); labels are filled in later. Also the trailing shape.
fn images(x: &Bound<'_, PyAny>) -> PyResult<(Dataset, Vec<usize>)> {
    let a = npy_of(x)?.map_err(|what| value_err(format!("x: {what}")))?;
    if a.dtype != Dtype::U8 {
        return Err(value_err(format!(
            "x: dtype {}: train takes uint8 images (N, ...), which the trainer encodes itself (encoding, t_max, silent_below); make images in [0, 1] uint8 with (x * 255).round().astype(numpy.uint8)",
            a.dtype.name()
        )));
    }
    if a.shape.len() < 2 || a.shape[0] == 0 {
        return Err(value_err(format!(
            "x: images must be an array (N, ...) of N >= 1 images, got shape {:?}",
            a.shape
        )));
    }
    let shape = a.shape[1..].to_vec();
    let (rows, cols) = match shape[..] {
        [r, c] => (r, c),
        _ => (1, shape.iter().product()),
    };
    let ds = Dataset {
        images: a.to_u8().expect("uint8"),
        labels: Vec::new(),
        rows,
        cols,
    };
    Ok((ds, shape))
}

/// `arch=` if given: a string, or a list of dense sizes.
fn train_arch(arch: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Arch>> {
    let Some(a) = arch else { return Ok(None) };
    match a.extract::<String>() {
        Ok(s) => Arch::parse(&s).py().map(Some),
        Err(_) => Ok(Some(Arch::dense(&a.extract::<Vec<usize>>().map_err(|_| {
            value_err("arch must be a list of layer sizes, input first, or a string like \"784-30-10\" or \"28x28-16c5s2-10\"")
        })?))),
    }
}

/// The CLI's hidden layers between `dim` inputs and one output per class in `labels`.
fn default_arch(default: &Arch, dim: usize, labels: &[u8]) -> Arch {
    let classes = labels.iter().copied().max().map_or(1, |m| m as usize + 1);
    let sizes = default.sizes();
    let mut a = vec![dim];
    a.extend_from_slice(&sizes[1..sizes.len() - 1]);
    a.push(classes);
    Arch::dense(&a)
}

/// `loss_origin=`: a number is a fixed origin in tau_syn units; a string is parsed as the
/// CLI's `--loss-origin`.
fn parse_loss_origin(v: &Bound<'_, PyAny>) -> PyResult<LossOrigin> {
    let s = if v.is_instance_of::<PyBool>() {
        v.to_string()
    } else if let Ok(x) = v.extract::<f64>() {
        x.to_string()
    } else {
        v.extract::<String>()?.to_lowercase()
    };
    s.parse::<LossOrigin>()
        .map_err(|e| value_err(format!("loss_origin: {e}")))
}

/// Distillation settings: a teacher, and its weight and temperature only with one.
fn distill(
    teacher: Option<PathBuf>,
    weight: Option<f64>,
    temperature: Option<f64>,
) -> PyResult<Option<Distill>> {
    match teacher {
        Some(t) => Ok(Some(Distill {
            teacher: t.to_string_lossy().into_owned(),
            teacher_sha256: String::new(),
            weight: weight.unwrap_or(DISTILL_WEIGHT),
            temperature: temperature.unwrap_or(DISTILL_TEMPERATURE),
        })),
        None if weight.is_some() || temperature.is_some() => Err(py_err(Error::setting(
            "teacher",
            "distill_weight and distill_temperature set how to distil from a teacher: give the teacher's logits with teacher=\"FILE.npy\"",
        ))),
        None => Ok(None),
    }
}

/// Gain control: a band (a pair or "low:high"), and its weight only with one.
fn gain(band: Option<&Bound<'_, PyAny>>, weight: Option<f64>) -> PyResult<Option<GainBand>> {
    let Some(v) = band else {
        return match weight {
            Some(_) => Err(py_err(Error::setting(
                "gain_band",
                "gain_weight sets the weight of the gain penalty: give its band with gain_band=(low, high)",
            ))),
            None => Ok(None),
        };
    };
    let pair = match v.extract::<String>() {
        Ok(s) => s.split_once(':').and_then(|(a, b)| {
            Some((a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?))
        }),
        Err(_) => v.extract::<(f64, f64)>().ok(),
    };
    let (low, high) = pair.ok_or_else(|| {
        value_err("gain_band must be two potentials (low, high) in units of theta, e.g. (0.1, 10) or \"0.1:10\"")
    })?;
    Ok(Some(GainBand {
        low,
        high,
        weight: weight.unwrap_or(GAIN_WEIGHT),
    }))
}

/// The ReLU start: the twin's weights, and the scale rule and image count only with them.
fn relu_start(
    file: Option<PathBuf>,
    scale: Option<String>,
    images: Option<i64>,
) -> PyResult<Option<ReluStart>> {
    let Some(f) = file else {
        return match (scale, images) {
            (None, None) => Ok(None),
            _ => Err(py_err(Error::setting(
                "init_from_relu",
                "relu_scale and relu_images set how to start from the ReLU twin: give its weights with init_from_relu=\"FILE.npz\"",
            ))),
        };
    };
    let rule = match scale {
        Some(s) => choice::<ScaleRule>("relu_scale", &s.to_lowercase())?,
        None => ScaleRule::Search,
    };
    let images = match images {
        Some(k) => count_setting("relu_images", k)?,
        None => RELU_IMAGES,
    };
    Ok(Some(ReluStart {
        file: f.to_string_lossy().into_owned(),
        sha256: String::new(),
        rule,
        images,
        scales: Vec::new(),
        agreement: 0.0,
        relu_accuracy: 0.0,
        mapped_accuracy: 0.0,
        mapped_validation_accuracy: None,
        largest_bias_dropped: 0.0,
    }))
}

/// The training loop, without the GIL: progress to `rep` (its count over the whole run, a
/// line per epoch), each epoch's log to `on_epoch`, Python's signals polled after every
/// batch. Ctrl-C or a raising callback stops the run before its next batch; the exception
/// is left in `raised`.
fn run(
    cfg: &TrainConfig,
    train_set: &Dataset,
    rep: &Reporter,
    on_epoch: Option<&Py<PyAny>>,
    stop: &AtomicBool,
    raised: &Mutex<Option<PyErr>>,
) -> crate::Result<(Model, Vec<EpochLog>)> {
    let mut trainer = Trainer::new(cfg, train_set, None)?;
    trainer.set_dataset("python");
    let schedule = Schedule {
        checkpoint_every: None,
        max_batches: None,
        stop: Some(stop),
    };
    let keep = |e: PyErr| {
        raised.lock().expect("lock").get_or_insert(e);
        stop.store(true, Ordering::SeqCst);
    };
    let end = trainer.run(
        &schedule,
        |_| Ok(()),
        |p| {
            match p {
                Progress::Batch { epoch, done, total } => {
                    rep.set(((epoch - 1) * total + done) as u64);
                }
                Progress::Epoch(e) => {
                    let val = e
                        .validation_accuracy
                        .map_or(String::new(), |a| format!(", validation acc {:.2} %", 100.0 * a));
                    rep.write(&format!(
                        "epoch {:>3}/{}: loss {:.4}, train acc {:.2} %{val}, {:.1} s, no output spike {}",
                        e.epoch,
                        cfg.epochs,
                        e.train_loss,
                        100.0 * e.train_accuracy,
                        e.seconds,
                        e.no_output_spike
                    ));
                    if let Some(f) = on_epoch {
                        let r = Python::attach(|py| f.call1(py, (epoch_log(py, e)?,)).map(drop));
                        if let Err(err) = r {
                            keep(err);
                        }
                    }
                }
                Progress::SilentLayer { .. } => {}
            }
            if rep.failed() {
                stop.store(true, Ordering::SeqCst);
            }
            // Ctrl-C: Python's handler only sets a flag; run it (with the GIL) and stop.
            if let Err(e) = Python::attach(|py| py.check_signals()) {
                keep(e);
            }
        },
    );
    match end? {
        RunEnd::Finished => {}
        RunEnd::Stopped { epoch, batch } => {
            return Err(Error::Interrupted {
                checkpoint: None,
                what: format!("stopped at epoch {epoch}, batch {batch}"),
            })
        }
    }
    let out = trainer.finish();
    Ok((out.model, out.log))
}
