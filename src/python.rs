//! The Python module `firstspike._firstspike` (cargo feature `python`), re-exported by the
//! package `firstspike` (python/firstspike/__init__.py). Built by maturin: `pip install .`.
//!
//! Binds the crate's public API only: [`Model`], the analytic solver ([`forward`],
//! [`evaluate`]), the event engine ([`Engine`], [`TraceRecorder`], [`CountReport`]), the
//! trainer ([`Trainer`], [`TrainConfig`]), NIR export and import ([`nir::write_graph`],
//! [`nir::read_model`]) and IDX loading ([`Dataset::load`]). Every call copies its numpy input into Rust vectors, then releases the
//! GIL for the work, which runs on `threads` threads (default: every core). Library errors
//! become Python exceptions carrying the library's message (see [`py_err`]); bad arrays
//! (dtype, shape, NaN or negative times) raise `ValueError` before any work starts.

use crate::analytic::LayerScratch;
use crate::data::{Dataset, Split};
use crate::encoding::EncodingKind;
use crate::event::{Engine, EventNet, RunOptions, RunSummary};
use crate::loss::LossOrigin;
use crate::network::{Arch, Layer};
use crate::nir;
use crate::simulate::run_summary_json;
use crate::sparsity::NetSize;
use crate::trace::{EngineKind, SampleTrace, TraceRecorder};
use crate::train::{
    Distill, EpochLog, GainBand, Progress, ReluStart, RunEnd, ScaleRule, Schedule, TrainConfig,
    Trainer, DISTILL_TEMPERATURE, DISTILL_WEIGHT, GAIN_WEIGHT, RELU_IMAGES,
};
use crate::{evaluate, forward, mnist_test_slice, Error, ForwardPass, Model, Net, NO_PROGRESS};
use clap::ValueEnum;
use numpy::ndarray::{Array2, Array4};
use numpy::{
    IntoPyArray, PyArray1, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{
    PyFileNotFoundError, PyKeyboardInterrupt, PyOSError, PyPermissionError, PyRuntimeError,
    PyTypeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyList, PyString};
use std::io::IsTerminal;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

// ---------------------------------------------------------------------------------------
// Errors

/// The Python exception for a library error, with the library's message: a missing file
/// `FileNotFoundError`, other I/O `OSError` (or `PermissionError`), a stop on request
/// `KeyboardInterrupt`, a diverged run or disagreeing engines `RuntimeError`, everything else
/// (malformed files, shapes, settings, engine inputs) `ValueError`.
fn py_err(e: Error) -> PyErr {
    let msg = e.to_string();
    match &e {
        Error::Io { source, .. } => match source.kind() {
            std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(msg),
            std::io::ErrorKind::PermissionDenied => PyPermissionError::new_err(msg),
            _ => PyOSError::new_err(msg),
        },
        Error::DataNotFound { .. } => PyFileNotFoundError::new_err(msg),
        // Model::load, Checkpoint::load and Dataset::load say "file not found" for a missing
        // file.
        Error::Model { what, .. } | Error::Checkpoint { what, .. } | Error::Data { what, .. }
            if what.starts_with("file not found") =>
        {
            PyFileNotFoundError::new_err(msg)
        }
        Error::Interrupted { .. } => PyKeyboardInterrupt::new_err(msg),
        Error::Diverged { .. } | Error::EnginesDisagree { .. } | Error::Nir { .. } => {
            PyRuntimeError::new_err(msg)
        }
        _ => PyValueError::new_err(msg),
    }
}

/// `Result` of the library into `PyResult`.
trait OrPy<T> {
    fn py(self) -> PyResult<T>;
}

impl<T> OrPy<T> for crate::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(py_err)
    }
}

fn value_err(msg: impl Into<String>) -> PyErr {
    PyValueError::new_err(msg.into())
}

// ---------------------------------------------------------------------------------------
// Arrays in

/// A batch handed in from Python, copied out of numpy.
enum Batch {
    /// uint8 images, `n` of `dim` pixels each (any trailing shape, flattened row-major);
    /// `shape` is the trailing shape.
    Images {
        pixels: Vec<u8>,
        n: usize,
        shape: Vec<usize>,
    },
    /// float spike times, `n` rows of `dim`.
    Times { times: Vec<f64>, n: usize },
}

impl Batch {
    fn len(&self) -> usize {
        match self {
            Batch::Images { n, .. } | Batch::Times { n, .. } => *n,
        }
    }
    fn dim(&self) -> usize {
        match self {
            Batch::Images { shape, .. } => shape.iter().product(),
            Batch::Times { times, n } => {
                if *n == 0 {
                    0
                } else {
                    times.len() / n
                }
            }
        }
    }
}

/// `x` as a numpy array (`numpy.asarray` for lists and other array-likes).
fn as_array<'py>(x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyUntypedArray>> {
    let arr = if x.is_instance_of::<PyUntypedArray>() {
        x.clone()
    } else {
        x.py().import("numpy")?.call_method1("asarray", (x,))?
    };
    Ok(arr.cast_into::<PyUntypedArray>()?)
}

/// Reads `x`: uint8 images (N, ...) or floating-point spike times (N, n_inputs), any float
/// dtype (converted to float64). Times must be >= 0 or +inf, never NaN.
fn read_batch(x: &Bound<'_, PyAny>, what: &str) -> PyResult<Batch> {
    let arr = as_array(x)?;
    let shape = arr.shape().to_vec();
    let kind = arr.dtype().kind();
    if let Ok(a) = arr.cast::<PyArrayDyn<u8>>() {
        if shape.len() < 2 {
            return Err(value_err(format!(
                "{what}: images must be an array (N, ...) of N images, got shape {shape:?}; for one image use x[None]"
            )));
        }
        let ro = a.readonly();
        let pixels: Vec<u8> = ro.as_array().iter().copied().collect();
        return Ok(Batch::Images {
            pixels,
            n: shape[0],
            shape: shape[1..].to_vec(),
        });
    }
    if kind == b'f' {
        let a = arr.call_method1("astype", ("float64",))?;
        let a = a.cast::<PyArrayDyn<f64>>()?;
        if shape.len() != 2 {
            return Err(value_err(format!(
                "{what}: spike times must be a 2-D array (N, n_inputs), got shape {shape:?}"
            )));
        }
        let ro = a.readonly();
        let times: Vec<f64> = ro.as_array().iter().copied().collect();
        check_times(&times, shape[1])?;
        return Ok(Batch::Times { times, n: shape[0] });
    }
    Err(value_err(format!(
        "{what}: expected uint8 images (N, ...) or float spike times (N, n_inputs), got an array of dtype {}",
        arr.dtype().str()?
    )))
}

/// Refuses NaN and negative input times, in the event engine's words.
fn check_times(times: &[f64], dim: usize) -> PyResult<()> {
    if let Some((k, t)) = times
        .iter()
        .enumerate()
        .find(|(_, t)| t.is_nan() || **t < 0.0)
    {
        return Err(value_err(format!(
            "sample {}: input {} has spike time {t}: times must be >= 0 (or +inf for no spike)",
            k / dim.max(1),
            k % dim.max(1)
        )));
    }
    Ok(())
}

/// Reads labels: integers (N,), each in 0..=255 (and below `outputs` if given).
fn read_labels(labels: &Bound<'_, PyAny>, n: usize, outputs: Option<usize>) -> PyResult<Vec<u8>> {
    let arr = as_array(labels)?;
    let shape = arr.shape().to_vec();
    let kind = arr.dtype().kind();
    if kind != b'i' && kind != b'u' {
        return Err(value_err(format!(
            "labels must be integers, got an array of dtype {}",
            arr.dtype().str()?
        )));
    }
    if shape != [n] {
        return Err(value_err(format!(
            "labels must have shape ({n},), one per sample, got {shape:?}"
        )));
    }
    let a = arr.call_method1("astype", ("int64",))?;
    let a = a.cast::<PyArrayDyn<i64>>()?;
    let ro = a.readonly();
    let mut out = Vec::with_capacity(n);
    for (k, &l) in ro.as_array().iter().enumerate() {
        let max = outputs.map_or(255, |o| o.min(256) as i64 - 1);
        if l < 0 || l > max {
            let why = match outputs {
                Some(o) if l >= 0 => format!("the model has {o} outputs (classes 0..{o})"),
                _ => "labels must be in 0..=255".to_string(),
            };
            return Err(value_err(format!("label {l} of sample {k}: {why}")));
        }
        out.push(l as u8);
    }
    Ok(out)
}

/// A thread count: `None` = every core; 0 or negative is refused.
fn thread_count(t: Option<i64>) -> PyResult<usize> {
    match t {
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
        Some(n) if n >= 1 => Ok(n as usize),
        Some(n) => Err(py_err(Error::setting(
            "threads",
            format!("threads must be at least 1, got {n}"),
        ))),
    }
}

/// Runs `f` over `0..n` split into at most `threads` contiguous ranges, in order.
fn par_map<T: Send>(n: usize, threads: usize, f: impl Fn(Range<usize>) -> T + Sync) -> Vec<T> {
    let threads = threads.min(n).max(1);
    if threads == 1 {
        return vec![f(0..n)];
    }
    let chunk = n.div_ceil(threads);
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                let r = (k * chunk).min(n)..((k + 1) * chunk).min(n);
                s.spawn(move || f(r))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

// ---------------------------------------------------------------------------------------
// JSON to Python (the CLI's --json objects become dicts with the same keys)

fn json_to_py<'py>(py: Python<'py>, v: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value;
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(x) => {
            if let Some(i) = x.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = x.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                PyFloat::new(py, x.as_f64().unwrap_or(f64::NAN)).into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let l = PyList::empty(py);
            for x in a {
                l.append(json_to_py(py, x)?)?;
            }
            l.into_any()
        }
        Value::Object(o) => {
            let d = PyDict::new(py);
            for (k, x) in o {
                d.set_item(k, json_to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

fn json_dict<'py>(py: Python<'py>, v: &serde_json::Value) -> PyResult<Bound<'py, PyDict>> {
    Ok(json_to_py(py, v)?.cast_into::<PyDict>()?)
}

// ---------------------------------------------------------------------------------------
// Engines over a batch

/// The analytic solver (f64) on every sample: spike times per layer, each flattened (N, n_l),
/// and the decisions.
fn forward_batch(
    model: &Model,
    times: &[f64],
    n: usize,
    threads: usize,
) -> (Vec<Vec<f64>>, Vec<Option<usize>>) {
    let arch = model.arch();
    let dim = arch[0];
    let net = Net::<f64>::from_model(model);
    let parts = par_map(n, threads, |range| {
        let mut scratch = LayerScratch::default();
        let mut pass = ForwardPass::default();
        let mut layers: Vec<Vec<f64>> = arch
            .iter()
            .map(|&k| Vec::with_capacity(k * range.len()))
            .collect();
        let mut decisions = Vec::with_capacity(range.len());
        for i in range {
            forward(
                &net,
                &times[i * dim..(i + 1) * dim],
                &mut scratch,
                &mut pass,
            );
            let per_layer = SampleTrace::from_pass(&pass, i as u64, None).times(&arch);
            for (out, t) in layers.iter_mut().zip(per_layer) {
                out.extend(t);
            }
            decisions.push(pass.decision());
        }
        (layers, decisions)
    });
    let mut layers: Vec<Vec<f64>> = arch.iter().map(|&k| Vec::with_capacity(k * n)).collect();
    let mut decisions = Vec::with_capacity(n);
    for (l, d) in parts {
        for (out, part) in layers.iter_mut().zip(l) {
            out.extend(part);
        }
        decisions.extend(d);
    }
    (layers, decisions)
}

/// The event engine on every sample: each run's counts and its spikes in emission order.
fn simulate_batch(
    model: &Model,
    times: &[f64],
    n: usize,
    opts: RunOptions,
    threads: usize,
) -> crate::Result<Vec<(RunSummary, SampleTrace)>> {
    let dim = model.n_inputs();
    let net = EventNet::from_model(model)?.compile()?;
    let parts = par_map(n, threads, |range| -> crate::Result<Vec<_>> {
        let mut eng = Engine::new(&net);
        let mut rec = TraceRecorder::new(&net);
        let mut out = Vec::with_capacity(range.len());
        for i in range {
            rec.reset(i as u64, None);
            let s = eng.run(&times[i * dim..(i + 1) * dim], opts, &mut rec)?;
            out.push((s, rec.trace.clone()));
        }
        Ok(out)
    });
    let mut all = Vec::with_capacity(n);
    for p in parts {
        all.extend(p?);
    }
    Ok(all)
}

// ---------------------------------------------------------------------------------------
// Model

/// A trained first-spike network: weights, neuron parameters (tau_syn, theta), the input
/// encoding, and how it was made. Get one with `firstspike.load(path)` or `firstspike.train(...)`.
///
/// Times are in units of the model's `tau_syn`; an input or neuron that does not spike has
/// time `inf`. Every batch method takes `x` as uint8 images (N, ...) — encoded with the model's
/// encoding, as the CLI does — or as float spike times (N, n_inputs); `threads=None` uses every
/// core, and the GIL is released while the work runs.
#[pyclass(name = "Model", module = "firstspike", frozen)]
struct PyModel {
    model: Model,
    /// The file it was loaded from, if any (the CLI's "model" key).
    path: Option<PathBuf>,
    /// The per-epoch log of the run that trained it (empty for a loaded model).
    history: Vec<EpochLog>,
}

impl PyModel {
    /// `x` as input times (encoded if images), checked against the model's inputs.
    fn times_of(&self, batch: Batch) -> PyResult<(Vec<f64>, usize)> {
        let n = batch.len();
        if n > 0 || matches!(batch, Batch::Images { .. }) {
            self.model.check_input_dim(batch.dim()).py()?;
        }
        Ok(match batch {
            Batch::Images { pixels, n, .. } => {
                let enc = self.model.encoding;
                (pixels.iter().map(|&p| enc.time(p)).collect(), n)
            }
            Batch::Times { times, n } => (times, n),
        })
    }

    fn model_key(&self) -> serde_json::Value {
        serde_json::json!(self.path)
    }
}

fn encoding_name(kind: EncodingKind) -> String {
    kind.to_possible_value()
        .map_or_else(String::new, |p| p.get_name().to_string())
}

#[pymethods]
impl PyModel {
    /// Layer sizes, input first, e.g. [784, 800, 10].
    #[getter]
    fn arch(&self) -> Vec<usize> {
        self.model.arch()
    }

    /// Synaptic time constant; the unit of every time.
    #[getter]
    fn tau_syn(&self) -> f64 {
        self.model.params.tau_syn
    }

    /// Firing threshold; the unit of every weight.
    #[getter]
    fn theta(&self) -> f64 {
        self.model.params.theta
    }

    /// The pixel-to-time encoding as a dict: kind ("linear" or "zlinear"), t_max (time of a
    /// black pixel, units of tau_syn) and silent_below (pixels below it send no spike).
    #[getter]
    fn encoding<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let e = self.model.encoding;
        let d = PyDict::new(py);
        d.set_item("kind", encoding_name(e.kind))?;
        d.set_item("t_max", e.t_max)?;
        d.set_item("silent_below", e.silent_below)?;
        Ok(d)
    }

    /// The weights, one float64 array per layer, in units of theta: a dense layer's shaped
    /// (n_out, n_in), w[j, i] the weight from input i to neuron j; a convolution's kernel
    /// shaped (c_out, c_in, k, k) as in PyTorch. A copy: changing it changes nothing.
    #[getter]
    fn weights<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, numpy::PyArrayDyn<f64>>>> {
        self.model
            .layers
            .iter()
            .map(|layer| {
                let (n_in, n_out, w) = (layer.n_in(), layer.n_out(), layer.weights());
                let a = match layer {
                    // Stored input-major: w[i * n_out + j].
                    Layer::Dense(_) => {
                        Array2::from_shape_fn((n_out, n_in), |(j, i)| w[i * n_out + j]).into_dyn()
                    }
                    // Stored [ky][kx][c_in][c_out]; given as PyTorch's (c_out, c_in, k, k).
                    Layer::Conv(c) => {
                        let (k, ci, co) = (c.kernel, c.input.c, c.channels);
                        Array4::from_shape_fn((co, ci, k, k), |(o, i, ky, kx)| {
                            w[((ky * k + kx) * ci + i) * co + o]
                        })
                        .into_dyn()
                    }
                };
                Ok(a.into_pyarray(py))
            })
            .collect()
    }

    /// How the model was made, as a dict: dataset, train (the training settings), epochs_trained,
    /// test_accuracy, test_samples (None, 0 for a model from `firstspike.train`, which has no
    /// test set), validation_accuracy, validation_samples (after the last epoch, with
    /// `validation=`).
    #[getter]
    fn meta<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        json_dict(
            py,
            &serde_json::to_value(&self.model.meta).expect("meta serialises"),
        )
    }

    /// The per-epoch log of the `firstspike.train` call that made this model (one dict per
    /// epoch: epoch, train_loss, train_accuracy, validation_accuracy — the accuracy on the
    /// validation hold-out, None without one —, test_accuracy (None: no test set),
    /// no_output_spike, lr, seconds, floored, too_late); empty for a loaded model.
    #[getter]
    fn history<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let v = serde_json::to_value(&self.history).expect("log serialises");
        Ok(json_to_py(py, &v)?.cast_into::<PyList>()?)
    }

    /// Number of inputs (pixels).
    #[getter]
    fn n_inputs(&self) -> usize {
        self.model.n_inputs()
    }

    /// Number of outputs (classes).
    #[getter]
    fn n_outputs(&self) -> usize {
        self.model.n_outputs()
    }

    /// Writes PREFIX.bin and PREFIX.json (the readable card), each atomically, as
    /// `firstspike train --out PREFIX` does; returns the two paths.
    fn save(&self, prefix: PathBuf) -> PyResult<(PathBuf, PathBuf)> {
        self.model.save(&prefix).py()
    }

    /// encode(images) -> float64 array (N, n_inputs)
    ///
    /// Input spike times of uint8 images (N, ...) under the model's encoding (units of
    /// tau_syn, inf for a pixel that sends no spike): what every other method feeds the
    /// network when given images.
    fn encode<'py>(
        &self,
        py: Python<'py>,
        images: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, numpy::PyArray2<f64>>> {
        let batch = read_batch(images, "encode")?;
        if !matches!(batch, Batch::Images { .. }) {
            return Err(value_err(
                "encode takes uint8 images (N, ...); these are already times",
            ));
        }
        let (times, n) = self.times_of(batch)?;
        let dim = self.model.n_inputs();
        Ok(Array2::from_shape_vec((n, dim), times)
            .expect("n * dim times")
            .into_pyarray(py))
    }

    /// forward(x, threads=None) -> list of float64 arrays
    ///
    /// The analytic solver (f64, the engine of `firstspike eval`) on every sample: the first
    /// spike time of every neuron, one array (N, n_layer) per layer, the inputs first, so
    /// len(result) == len(model.arch). inf where a neuron did not spike.
    #[pyo3(signature = (x, threads=None))]
    fn forward<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        threads: Option<i64>,
    ) -> PyResult<Vec<Bound<'py, numpy::PyArray2<f64>>>> {
        let threads = thread_count(threads)?;
        let (times, n) = self.times_of(read_batch(x, "forward")?)?;
        let model = &self.model;
        let (layers, _) = py.detach(|| forward_batch(model, &times, n, threads));
        Ok(layers
            .into_iter()
            .zip(model.arch())
            .map(|(t, k)| {
                Array2::from_shape_vec((n, k), t)
                    .expect("n * k")
                    .into_pyarray(py)
            })
            .collect())
    }

    /// predict(x, threads=None) -> int64 array (N,)
    ///
    /// The class of every sample: the output neuron that fired first (ties: the lowest
    /// index), by the analytic solver; -1 where no output neuron fired.
    #[pyo3(signature = (x, threads=None))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        threads: Option<i64>,
    ) -> PyResult<Bound<'py, PyArray1<i64>>> {
        let threads = thread_count(threads)?;
        let (times, n) = self.times_of(read_batch(x, "predict")?)?;
        let model = &self.model;
        let (_, d) = py.detach(|| forward_batch(model, &times, n, threads));
        let v: Vec<i64> = d.iter().map(|d| d.map_or(-1, |k| k as i64)).collect();
        Ok(PyArray1::from_vec(py, v))
    }

    /// evaluate(x, labels, threads=None) -> dict
    ///
    /// Accuracy with the analytic solver (f64), as `firstspike eval --json` reports it, with
    /// the same keys: model (the file, None if not loaded from one), accuracy, correct, total,
    /// no_output_spike (counted as errors), fired_mean_per_layer (mean spikes per layer,
    /// inputs first), seconds, samples_per_second, threads, recorded and saved_to (always
    /// None). labels: integers (N,) below the number of outputs.
    #[pyo3(signature = (x, labels, threads=None))]
    fn evaluate<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        labels: &Bound<'py, PyAny>,
        threads: Option<i64>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let threads = thread_count(threads)?;
        let batch = read_batch(x, "evaluate")?;
        let n = batch.len();
        let labels = read_labels(labels, n, Some(self.model.n_outputs()))?;
        let model = &self.model;
        let start = Instant::now();
        let (correct, total, none, fired_mean) = match batch {
            // Images: the library's evaluate, exactly what `firstspike eval` runs.
            Batch::Images { pixels, n, shape } => {
                model.check_input_dim(shape.iter().product()).py()?;
                let (rows, cols) = rows_cols(&shape);
                let data = Dataset {
                    images: pixels,
                    labels,
                    rows,
                    cols,
                };
                debug_assert_eq!(data.len(), n);
                let st = py.detach(|| {
                    evaluate(
                        &Net::<f64>::from_model(model),
                        &model.encoding,
                        &data,
                        threads,
                        NO_PROGRESS,
                    )
                });
                (st.correct, st.total, st.no_output_spike, st.fired_mean)
            }
            // Times: the same solver on the given times, counted the same way.
            b @ Batch::Times { .. } => {
                let (times, n) = self.times_of(b)?;
                let (layers, d) = py.detach(|| forward_batch(model, &times, n, threads));
                let correct = d
                    .iter()
                    .zip(&labels)
                    .filter(|(d, &l)| **d == Some(l as usize))
                    .count();
                let none = d.iter().filter(|d| d.is_none()).count();
                let fired = layers
                    .iter()
                    .map(|t| t.iter().filter(|t| t.is_finite()).count() as f64 / n.max(1) as f64)
                    .collect();
                (correct, n, none, fired)
            }
        };
        let secs = start.elapsed().as_secs_f64();
        let acc = if total == 0 {
            0.0
        } else {
            correct as f64 / total as f64
        };
        let v = serde_json::json!({
            "model": self.model_key(),
            "accuracy": acc,
            "correct": correct,
            "total": total,
            "no_output_spike": none,
            "fired_mean_per_layer": fired_mean,
            "seconds": secs,
            "samples_per_second": total as f64 / secs,
            "threads": threads,
            "recorded": null,
            "saved_to": null,
        });
        json_dict(py, &v)
    }

    /// simulate(x, until_decision=False, labels=None, threads=None) -> dict
    ///
    /// Runs every sample through the discrete-event engine (the engine of `firstspike
    /// simulate` and `firstspike raster`), spike by spike. With until_decision=True each
    /// sample stops at its first output spike (the decision).
    ///
    /// Returns a dict with
    ///   - one row per spike, in emission order within each sample (the rows of the CSV that
    ///     `firstspike raster` writes for full runs): `sample` (index into x), `layer` (0 =
    ///     inputs, then each layer), `neuron` (index in its layer), all int64 arrays, and
    ///     `time` (float64, units of tau_syn);
    ///   - per sample: `decision` (int64, -1 for no output spike) and `decision_time`
    ///     (float64, nan for none);
    ///   - the keys of `firstspike simulate --json`: accuracy and correct (None without
    ///     labels), samples, no_output_spike, until_decision, spikes_per_sample_mean,
    ///     spikes_before_decision_mean, synaptic_events_per_sample_mean, decision_time_mean,
    ///     wall_seconds, threads, seconds_per_sample, synaptic_events_per_second,
    ///     synaptic_events_per_second_per_thread, counts (per-layer summaries: fired,
    ///     fired_before_decision, spikes_total, ...), sparsity (the literature's units:
    ///     `to_decision` and `full_run`, None when stopped at the decision, each with
    ///     spikes_per_neuron_per_layer, spikes_per_neuron, spikes_per_neuron_without_inputs,
    ///     spikes_per_hidden_neuron, synaptic_events, relu_macs and
    ///     synaptic_events_per_relu_mac), model, recorded (None).
    #[pyo3(signature = (x, until_decision=false, labels=None, threads=None))]
    fn simulate<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        until_decision: bool,
        labels: Option<&Bound<'py, PyAny>>,
        threads: Option<i64>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let threads = thread_count(threads)?;
        let (times, n) = self.times_of(read_batch(x, "simulate")?)?;
        let labels = labels
            .map(|l| read_labels(l, n, Some(self.model.n_outputs())))
            .transpose()?;
        let model = &self.model;
        let opts = RunOptions { until_decision };
        let start = Instant::now();
        let runs = py
            .detach(|| simulate_batch(model, &times, n, opts, threads))
            .py()?;
        let secs = start.elapsed().as_secs_f64();
        let summaries: Vec<RunSummary> = runs.iter().map(|(s, _)| s.clone()).collect();
        let correct = labels.as_ref().map(|ls| {
            summaries
                .iter()
                .zip(ls)
                .filter(|(r, &l)| r.decision.is_some_and(|(d, _)| d == l as usize))
                .count()
        });
        let v = run_summary_json(
            self.model_key(),
            &NetSize::of_layers(&self.model.layers),
            &summaries,
            correct,
            until_decision,
            secs,
            threads,
            serde_json::Value::Null,
        );
        let d = json_dict(py, &v)?;
        let total: usize = runs.iter().map(|(_, t)| t.spikes.len()).sum();
        let (mut sample, mut layer, mut neuron, mut time) = (
            Vec::with_capacity(total),
            Vec::with_capacity(total),
            Vec::with_capacity(total),
            Vec::with_capacity(total),
        );
        for (_, t) in &runs {
            for s in &t.spikes {
                sample.push(t.sample as i64);
                layer.push(i64::from(s.layer));
                neuron.push(i64::from(s.neuron));
                time.push(s.time);
            }
        }
        d.set_item("sample", PyArray1::from_vec(py, sample))?;
        d.set_item("layer", PyArray1::from_vec(py, layer))?;
        d.set_item("neuron", PyArray1::from_vec(py, neuron))?;
        d.set_item("time", PyArray1::from_vec(py, time))?;
        let dec: Vec<i64> = summaries
            .iter()
            .map(|r| r.decision.map_or(-1, |d| d.0 as i64))
            .collect();
        let dec_t: Vec<f64> = summaries
            .iter()
            .map(|r| r.decision.map_or(f64::NAN, |d| d.1))
            .collect();
        d.set_item("decision", PyArray1::from_vec(py, dec))?;
        d.set_item("decision_time", PyArray1::from_vec(py, dec_t))?;
        Ok(d)
    }

    /// to_nir(path)
    ///
    /// Writes the network as a NIR graph (HDF5), as `firstspike export --format nir` does:
    /// readable by the `nir` package (`nir.read`).
    fn to_nir(&self, path: PathBuf) -> PyResult<()> {
        nir::write_graph(&self.model, &path).py()
    }

    fn __repr__(&self) -> String {
        let e = self.model.encoding;
        format!(
            "firstspike.Model(arch={}, tau_syn={}, theta={}, encoding={} t_max={} silent_below={})",
            self.model.arch_string(),
            self.model.params.tau_syn,
            self.model.params.theta,
            encoding_name(e.kind),
            e.t_max,
            e.silent_below
        )
    }
}

/// (rows, cols) of an image's trailing shape: (h, w) for 2-D images, else (1, pixels).
fn rows_cols(shape: &[usize]) -> (usize, usize) {
    match shape {
        [r, c] => (*r, *c),
        _ => (1, shape.iter().product()),
    }
}

// ---------------------------------------------------------------------------------------
// Module functions

/// load(path) -> Model
///
/// Loads a model file NAME.bin (or NAME.json / NAME, finding NAME.bin), as the CLI's
/// --model does. FileNotFoundError if it does not exist, ValueError if it is not a valid
/// model file (wrong magic, version, or invalid weights).
#[pyfunction]
fn load(py: Python<'_>, path: PathBuf) -> PyResult<PyModel> {
    let model = py.detach(|| Model::load(&path)).py()?;
    Ok(PyModel {
        model,
        path: Some(path),
        history: Vec::new(),
    })
}

/// from_nir(path) -> Model
///
/// Imports a feedforward NIR graph (HDF5, as nir.write or Model.to_nir writes it), as
/// `firstspike import --nir` does: Affine/Linear/Conv2d weights (Flatten between a map and an
/// Affine), each followed by LI -> IF or a CubaLIF with tau_mem = inf; every time constant
/// equal, v_leak and biases 0. Weights are rescaled by r_LI r_IF (CubaLIF: w_in r) and the
/// thresholds (see docs/nir.md, "Import"). The model's meta["import"] says how
/// it was mapped. Model.to_nir then from_nir gives back the same weights, bit for bit.
/// FileNotFoundError if the file does not exist; ValueError naming the node and the reason
/// if the graph cannot be imported exactly (a leak, a bias, a cycle, a branch, ...).
#[pyfunction]
fn from_nir(py: Python<'_>, path: PathBuf) -> PyResult<PyModel> {
    let model = py.detach(|| nir::read_model(&path)).py()?;
    Ok(PyModel {
        model,
        path: None,
        history: Vec::new(),
    })
}

fn dataset_arrays<'py>(
    py: Python<'py>,
    ds: Dataset,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyArray1<u8>>)> {
    let n = ds.len();
    let (rows, cols) = (ds.rows, ds.cols);
    let images = PyArray1::from_vec(py, ds.images).reshape([n, rows, cols])?;
    Ok((images.into_any(), PyArray1::from_vec(py, ds.labels)))
}

/// load_idx(folder, split) -> (images, labels)
///
/// Reads an MNIST-style IDX folder (train-images-idx3-ubyte[.gz], t10k-..., as the CLI's
/// --data): split is "train" or "test". Returns uint8 images (N, rows, cols) and uint8
/// labels (N,). FileNotFoundError for a missing folder or file, ValueError for a malformed one.
#[pyfunction]
fn load_idx<'py>(
    py: Python<'py>,
    folder: PathBuf,
    split: &str,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyArray1<u8>>)> {
    let split = match split {
        "train" => Split::Train,
        "test" | "t10k" => Split::Test,
        other => {
            return Err(value_err(format!(
                "split must be \"train\" or \"test\", got {other:?}"
            )))
        }
    };
    let ds = py.detach(|| Dataset::load(&folder, split)).py()?;
    dataset_arrays(py, ds)
}

/// mnist_test_slice() -> (images, labels)
///
/// The first 1,000 MNIST test digits, embedded in the library (no files needed): uint8
/// images (1000, 28, 28) and labels (1000,).
#[pyfunction(name = "mnist_test_slice")]
fn mnist_test_slice_py<'py>(
    py: Python<'py>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyArray1<u8>>)> {
    let ds = mnist_test_slice().py()?;
    dataset_arrays(py, ds)
}

/// A non-negative integer setting given as a Python int.
fn count_setting(name: &'static str, v: i64) -> PyResult<usize> {
    usize::try_from(v).map_err(|_| {
        py_err(Error::setting(
            name,
            format!("{name} must be a whole number >= 0, got {v}"),
        ))
    })
}

/// The training settings: the library's defaults (what `firstspike train` uses), then the
/// keyword arguments over them.
fn apply_settings(cfg: &mut TrainConfig, settings: &Bound<'_, PyDict>) -> PyResult<()> {
    let (mut teacher, mut weight, mut temperature) = (None, None, None);
    let (mut band, mut gain_weight) = (None, None);
    let (mut relu, mut relu_scale, mut relu_images) = (None, None, None);
    for (k, v) in settings.iter() {
        let key: String = k.extract()?;
        let f = || -> PyResult<f64> { v.extract::<f64>() };
        let name = || -> PyResult<String> { Ok(v.extract::<String>()?.to_lowercase()) };
        match key.as_str() {
            "batch_size" | "batch" => cfg.batch_size = count_setting("batch_size", v.extract()?)?,
            "lr" => cfg.lr = f()?,
            "lr_decay" => cfg.lr_decay = f()?,
            "weight_sum_k" => cfg.weight_sum_k = f()?,
            "l2" => cfg.l2 = f()?,
            "decision_cost" => cfg.decision_cost = f()?,
            "jitter_sd" | "jitter" => cfg.jitter_sd = f()?,
            "shift" => cfg.shift = count_setting("shift", v.extract()?)?,
            "flip" => cfg.flip = v.extract::<bool>()?,
            "init_mean" => cfg.init_mean = f()?,
            "init_sd" => cfg.init_sd = f()?,
            "denom_floor" => cfg.denom_floor = f()?,
            "clip_norm" | "clip" => cfg.clip_norm = f()?,
            "average" => cfg.average = f()?,
            "teacher" => teacher = Some(v.extract::<std::path::PathBuf>()?),
            "distill_weight" => weight = Some(f()?),
            "distill_temperature" => temperature = Some(f()?),
            "gain_band" => {
                // (low, high), or "low:high" as the command line spells it.
                let pair = match v.extract::<String>() {
                    Ok(s) => s.split_once(':').and_then(|(a, b)| {
                        Some((a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?))
                    }),
                    Err(_) => v.extract::<(f64, f64)>().ok(),
                };
                band = Some(pair.ok_or_else(|| {
                    value_err("gain_band must be two potentials (low, high) in units of theta, e.g. (0.1, 10) or \"0.1:10\"")
                })?)
            }
            "gain_weight" => gain_weight = Some(f()?),
            "init_from_relu" => relu = Some(v.extract::<std::path::PathBuf>()?),
            "relu_scale" => {
                let s = name()?;
                relu_scale = Some(ScaleRule::from_str(&s, true).map_err(|_| {
                    value_err(format!("relu_scale must be \"search\" or \"norm\", got {s:?}"))
                })?)
            }
            "relu_images" => relu_images = Some(count_setting("relu_images", v.extract()?)?),
            "tau_syn" => cfg.params.tau_syn = f()?,
            "theta" => cfg.params.theta = f()?,
            "t_max" => cfg.encoding.t_max = f()?,
            "silent_below" => {
                let s: i64 = v.extract()?;
                cfg.encoding.silent_below = u8::try_from(s).map_err(|_| {
                    value_err(format!("silent_below must be in 0..=255, got {s}"))
                })?
            }
            "quantise_bits" => {
                let b = count_setting("quantise_bits", v.extract()?)?;
                cfg.quantise_bits = u32::try_from(b)
                    .map_err(|_| value_err(format!("quantise_bits too large: {b}")))?
            }
            "encoding" => {
                let s = name()?;
                cfg.encoding.kind = EncodingKind::from_str(&s, true).map_err(|_| {
                    value_err(format!("encoding must be \"linear\" or \"zlinear\", got {s:?}"))
                })?
            }
            "loss_origin" => {
                // A number is a fixed origin in tau_syn units, as is a string of one; a bool
                // (which Python would turn into 0 or 1) goes to the parser as its name.
                let s = if v.is_instance_of::<pyo3::types::PyBool>() {
                    v.to_string()
                } else if let Ok(x) = v.extract::<f64>() {
                    x.to_string()
                } else {
                    name()?
                };
                cfg.loss_origin = s
                    .parse::<LossOrigin>()
                    .map_err(|e| value_err(format!("loss_origin: {e}")))?
            }
            "engine" => {
                let s = name()?;
                cfg.engine = EngineKind::from_str(&s, true).map_err(|_| {
                    value_err(format!("engine must be \"analytic\" or \"event\", got {s:?}"))
                })?
            }
            other => {
                return Err(PyTypeError::new_err(format!(
                    "train() got an unexpected keyword argument '{other}'; the settings are batch_size, lr, lr_decay, weight_sum_k, l2, decision_cost, jitter_sd, shift, flip, init_mean, init_sd, denom_floor, clip_norm, average, loss_origin, engine, quantise_bits, tau_syn, theta, encoding, t_max, silent_below, teacher, distill_weight, distill_temperature, gain_band, gain_weight, init_from_relu, relu_scale, relu_images"
                )))
            }
        }
    }
    match teacher {
        Some(t) => {
            cfg.distill = Some(Distill {
                teacher: t.to_string_lossy().into_owned(),
                teacher_sha256: String::new(),
                weight: weight.unwrap_or(DISTILL_WEIGHT),
                temperature: temperature.unwrap_or(DISTILL_TEMPERATURE),
            })
        }
        None if weight.is_some() || temperature.is_some() => {
            return Err(py_err(Error::setting(
                "teacher",
                "distill_weight and distill_temperature set how to distil from a teacher: give the teacher's logits with teacher=\"FILE.npy\"",
            )))
        }
        None => {}
    }
    match band {
        Some((low, high)) => {
            cfg.gain_band = Some(GainBand {
                low,
                high,
                weight: gain_weight.unwrap_or(GAIN_WEIGHT),
            })
        }
        None if gain_weight.is_some() => {
            return Err(py_err(Error::setting(
                "gain_band",
                "gain_weight sets the weight of the gain penalty: give its band with gain_band=(low, high)",
            )))
        }
        None => {}
    }
    match relu {
        Some(f) => {
            cfg.relu_start = Some(ReluStart {
                file: f.to_string_lossy().into_owned(),
                sha256: String::new(),
                rule: relu_scale.unwrap_or(ScaleRule::Search),
                images: relu_images.unwrap_or(RELU_IMAGES),
                scales: Vec::new(),
                agreement: 0.0,
                relu_accuracy: 0.0,
                mapped_accuracy: 0.0,
                mapped_validation_accuracy: None,
                largest_bias_dropped: 0.0,
            })
        }
        None if relu_scale.is_some() || relu_images.is_some() => {
            return Err(py_err(Error::setting(
                "init_from_relu",
                "relu_scale and relu_images set how to start from the ReLU twin: give its weights with init_from_relu=\"FILE.npz\"",
            )))
        }
        None => {}
    }
    Ok(())
}

/// Raised when Python has a pending signal (Ctrl-C); the trainer stops before its next batch.
struct Interrupt {
    stop: AtomicBool,
    err: std::sync::Mutex<Option<PyErr>>,
}

/// train(x, labels, arch=None, epochs=None, seed=None, validation=0, threads=None,
///       progress=True, **settings) -> Model
///
/// Trains a new model on uint8 images x (N, ...) with integer labels (N,), with the trainer
/// and defaults of `firstspike train` (the library's TrainConfig: 24 epochs, batch 32,
/// Adam lr 1e-3, ...). The trainer encodes the images with the encoding setting.
///
///   arch: layer sizes, input first, as a list or "784-30-10"; default: the CLI's hidden
///     layers (800) between x's pixel count and max(labels) + 1 outputs. The output layer
///     may have any size >= the number of classes.
///   epochs, seed: as the CLI's --epochs, --seed (defaults 24, 1).
///   validation: hold out the last N samples (not trained on) and report their accuracy
///     after every epoch (history[k]["validation_accuracy"]); the model's meta then
///     carries the final accuracy on them (meta["validation_accuracy"]).
///   threads: worker threads (default: every core); the result does not depend on it.
///   progress: print a line per epoch (and a bar on a terminal) to stderr.
///   settings: batch_size, lr, lr_decay, weight_sum_k, l2, jitter_sd, shift, flip, init_mean,
///     init_sd, denom_floor, clip_norm, average, loss_origin, engine, quantise_bits, tau_syn,
///     theta, encoding ("linear"/"zlinear"), t_max, silent_below, teacher, distill_weight,
///     distill_temperature, gain_band, gain_weight, init_from_relu, relu_scale, relu_images
///     — the TrainConfig fields;
///     loss_origin is "input", "first-output", a number (a fixed origin, tau_syn units) or
///     "time:T" (a softmax over the spike times, temperature T tau_syn).
///   teacher, distill_weight, distill_temperature: knowledge distillation, as the CLI's
///     --teacher FILE.npy (the teacher's logits, one row per sample of x in order, one
///     column per output), --distill-weight a (default 0.5) and --distill-temperature T
///     (default 4): the loss becomes (1 - a) CE + a T^2 KL(softmax(teacher/T) ||
///     softmax(student/T)).
///   gain_band, gain_weight: gain control, as the CLI's --gain-band LOW:HIGH (a pair
///     (low, high) or the string "low:high", potentials in units of theta, low above
///     denom_floor) and --gain-weight (default 0.1): a penalty on log(S - theta) outside the
///     band for every neuron that fires, added to the loss (model.meta["train"]["gain_band"]).
///   init_from_relu, relu_scale, relu_images: start from the ReLU twin's weights, as the
///     CLI's --init-from-relu FILE.npz, --relu-scale ("search" or "norm") and --relu-images
///     N (default 1000; the first N samples of x, never validation ones); the mapping's
///     scales, agreement and accuracies are in model.meta["train"]["relu_start"].
///
/// Ctrl-C stops after the current batch and raises KeyboardInterrupt. ValueError for bad
/// arrays or settings (with the library's message), RuntimeError if training diverges.
#[pyfunction]
#[pyo3(signature = (x, labels, arch=None, epochs=None, seed=None, validation=0, threads=None, progress=true, **settings))]
#[allow(clippy::too_many_arguments)]
fn train(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    labels: &Bound<'_, PyAny>,
    arch: Option<&Bound<'_, PyAny>>,
    epochs: Option<i64>,
    seed: Option<u64>,
    validation: i64,
    threads: Option<i64>,
    progress: bool,
    settings: Option<&Bound<'_, PyDict>>,
) -> PyResult<PyModel> {
    let threads = thread_count(threads)?;
    if as_array(x)?.cast::<PyArrayDyn<u8>>().is_err() {
        return Err(value_err(
            "train takes uint8 images (N, ...): the trainer encodes them itself (settings encoding, t_max, silent_below)",
        ));
    }
    let (pixels, n, shape) = match read_batch(x, "train")? {
        Batch::Images { pixels, n, shape } => (pixels, n, shape),
        Batch::Times { .. } => {
            return Err(value_err(
                "train takes uint8 images (N, ...): the trainer encodes them itself (settings encoding, t_max, silent_below)",
            ))
        }
    };
    let labels = read_labels(labels, n, None)?;
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
        ..TrainConfig::default()
    };
    if let Some(e) = epochs {
        cfg.epochs = count_setting("epochs", e)?;
    }
    if let Some(s) = seed {
        cfg.seed = s;
    }
    if let Some(s) = settings {
        apply_settings(&mut cfg, s)?;
    }
    cfg.arch = train_arch(arch, &cfg.arch, dim, &labels)?;
    // The trainer holds the last `validation` samples out itself.
    cfg.validation = validation;
    cfg.validate().py()?;
    let (rows, cols) = rows_cols(&shape);
    let train_set = Dataset {
        images: pixels,
        labels: labels.to_vec(),
        rows,
        cols,
    };
    let intr = Interrupt {
        stop: AtomicBool::new(false),
        err: std::sync::Mutex::new(None),
    };
    let res = py.detach(|| run_training(&cfg, &train_set, progress, &intr));
    if let Some(e) = intr.err.lock().expect("lock").take() {
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

/// `train`'s architecture: as given (a string, or a list of dense sizes), or by default the
/// CLI's hidden layers between `dim` inputs and one output per class in `labels`.
fn train_arch(
    arch: Option<&Bound<'_, PyAny>>,
    default: &Arch,
    dim: usize,
    labels: &[u8],
) -> PyResult<Arch> {
    let Some(a) = arch else {
        let classes = labels.iter().copied().max().map_or(1, |m| m as usize + 1);
        let sizes = default.sizes();
        let mut a = vec![dim];
        a.extend_from_slice(&sizes[1..sizes.len() - 1]);
        a.push(classes);
        return Ok(Arch::dense(&a));
    };
    match a.extract::<String>() {
        Ok(s) => Arch::parse(&s).py(),
        Err(_) => Ok(Arch::dense(&a.extract::<Vec<usize>>().map_err(|_| {
            value_err("arch must be a list of layer sizes, input first, or a string like \"784-30-10\" or \"28x28-16c5s2-10\"")
        })?)),
    }
}

/// The training loop, without the GIL: progress to stderr, Ctrl-C polled after every batch.
fn run_training(
    cfg: &TrainConfig,
    train_set: &Dataset,
    show: bool,
    intr: &Interrupt,
) -> crate::Result<(Model, Vec<EpochLog>)> {
    let mut trainer = Trainer::new(cfg, train_set, None)?;
    trainer.set_dataset("python");
    let bar = if show && std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(train_set.len() as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "epoch {prefix} [{bar:30}] {pos}/{len} {per_sec} eta {eta}",
        ) {
            b.set_style(style.progress_chars("=> "));
        }
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let schedule = Schedule {
        checkpoint_every: None,
        max_batches: None,
        stop: Some(&intr.stop),
    };
    let end = trainer.run(
        &schedule,
        |_| Ok(()),
        |p| {
            match p {
                Progress::Batch { epoch, done, .. } => {
                    bar.set_prefix(format!("{epoch}/{}", cfg.epochs));
                    bar.set_position(done as u64);
                }
                Progress::Epoch(e) if show => {
                    let val = e
                        .validation_accuracy
                        .map_or(String::new(), |a| format!(", validation acc {:.2} %", 100.0 * a));
                    bar.suspend(|| {
                        eprintln!(
                            "epoch {:>3}/{}: loss {:.4}, train acc {:.2} %{val}, {:.1} s, no output spike {}",
                            e.epoch,
                            cfg.epochs,
                            e.train_loss,
                            100.0 * e.train_accuracy,
                            e.seconds,
                            e.no_output_spike
                        )
                    });
                    bar.reset();
                }
                Progress::SilentLayer { .. } | Progress::Epoch(_) => {}
            }
            // Ctrl-C: Python's handler only sets a flag; run it (with the GIL) and stop.
            if let Err(e) = Python::attach(|py| py.check_signals()) {
                *intr.err.lock().expect("lock") = Some(e);
                intr.stop.store(true, Ordering::SeqCst);
            }
        },
    );
    bar.finish_and_clear();
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

/// The native part of the `firstspike` package.
#[pymodule]
#[pyo3(name = "_firstspike")]
fn firstspike_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyModel>()?;
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(from_nir, m)?)?;
    m.add_function(wrap_pyfunction!(load_idx, m)?)?;
    m.add_function(wrap_pyfunction!(train, m)?)?;
    m.add_function(wrap_pyfunction!(mnist_test_slice_py, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
