//! The class `Model` (a trained network and the library's jobs on it) and the module
//! functions that load one or load data.

use super::arrays::{dataset_arrays, samples};
use super::errors::{thread_count, value_err, OrPy};
use super::progress::Reporter;
use super::results::{epoch_logs, sim_report, to_class};
use crate::data::{Dataset, Split};
use crate::encoding::EncodingKind;
use crate::event::{EventNet, RunOptions};
use crate::network::Layer;
use crate::nir;
use crate::simulate::{record_analytic, simulate, verify, EvalSummary, Record, SimSummary};
use crate::sparsity::NetSize;
use crate::train::EpochLog;
use crate::{evaluate, mnist_test_slice, Model, Net, Samples};
use clap::ValueEnum;
use numpy::ndarray::{Array2, Array4};
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArrayDyn};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;
use std::time::Instant;

/// A trained first-spike network: weights, neuron parameters (tau_syn, theta), the input
/// encoding, and how it was made. Get one with `firstspike.load(path)` or `firstspike.train(...)`.
///
/// Times are in units of the model's `tau_syn`; an input or neuron that does not spike has
/// time `inf`. Every batch method takes its samples as `x`, uint8 images (N, n_inputs),
/// (N, H, W) or (N, H, W, C), encoded with the model's encoding as the CLI does, or as
/// `times=`, float spike times (N, n_inputs) used as given; both are checked as the CLI's
/// `--inputs` is (same messages). `threads=None` uses every core, `progress=` shows progress
/// (True: a tqdm bar if tqdm is installed, else printed lines; or a callable
/// `progress(done, total)`), and the GIL is released while the work runs.
#[pyclass(name = "Model", module = "firstspike", frozen)]
pub(super) struct PyModel {
    pub(super) model: Model,
    /// The file it was loaded from, if any (the results' `model`).
    pub(super) path: Option<PathBuf>,
    /// The per-epoch log of the run that trained it (empty for a loaded model).
    pub(super) history: Vec<EpochLog>,
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

    /// The pixel-to-time encoding, an `Encoding`: kind ("linear" or "zlinear"), t_max (time
    /// of a black pixel, units of tau_syn) and silent_below (pixels below it send no spike).
    #[getter]
    fn encoding<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let e = self.model.encoding;
        let kw = PyDict::new(py);
        kw.set_item("kind", encoding_name(e.kind))?;
        kw.set_item("t_max", e.t_max)?;
        kw.set_item("silent_below", e.silent_below)?;
        py.import("firstspike._results")?
            .getattr("Encoding")?
            .call((), Some(&kw))
    }

    /// The weights, one float64 array per layer, in units of theta: a dense layer's shaped
    /// (n_out, n_in), w[j, i] the weight from input i to neuron j; a convolution's kernel
    /// shaped (c_out, c_in, k, k) as in PyTorch. A copy: changing it changes nothing.
    #[getter]
    fn weights<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyArrayDyn<f64>>> {
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
                a.into_pyarray(py)
            })
            .collect()
    }

    /// The model card's provenance as a dict (the `meta` of NAME.json): dataset, train (the
    /// training settings), epochs_trained, test_accuracy and test_samples (None and 0 for a
    /// model from `firstspike.train`, which sees no test set), validation_accuracy and
    /// validation_samples (after a run with `validation=`), and import (how a graph of
    /// `from_nir` was mapped).
    #[getter]
    fn meta<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v = serde_json::to_value(&self.model.meta).expect("meta serialises");
        super::arrays::json_to_py(py, &v)
    }

    /// The per-epoch log of the `firstspike.train` call that made this model, one `EpochLog`
    /// per epoch; empty for a loaded model.
    #[getter]
    fn history<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        epoch_logs(py, &self.history)
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

    /// save(prefix) -> (str, str)
    ///
    /// Writes PREFIX.bin and PREFIX.json (the readable card), each atomically, as
    /// `firstspike train --out PREFIX` does; returns the two paths as strings.
    fn save(&self, prefix: PathBuf) -> PyResult<(String, String)> {
        let (bin, json) = self.model.save(&prefix).py()?;
        Ok((
            bin.to_string_lossy().into_owned(),
            json.to_string_lossy().into_owned(),
        ))
    }

    /// encode(images) -> float64 array (N, n_inputs)
    ///
    /// Input spike times of uint8 images under the model's encoding (units of tau_syn, inf
    /// for a pixel that sends no spike): what every other method feeds the network when given
    /// images as x.
    fn encode<'py>(
        &self,
        py: Python<'py>,
        images: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let inputs = samples(&self.model, Some(images), None, None)?;
        let (n, dim) = (inputs.len(), inputs.dim());
        let mut times = vec![0.0; n * dim];
        for (i, row) in times.chunks_mut(dim.max(1)).enumerate().take(n) {
            inputs.times_into(i, &self.model.encoding, row);
        }
        Ok(Array2::from_shape_vec((n, dim), times)
            .expect("n * dim times")
            .into_pyarray(py))
    }

    /// forward(x=None, *, times=None, threads=None, progress=None) -> list of float64 arrays
    ///
    /// The analytic solver (f64, the engine of `firstspike eval`) on every sample: the first
    /// spike time of every neuron, one array (N, n_layer) per layer, the inputs first, so
    /// len(result) == len(model.arch); inf where a neuron did not spike.
    #[pyo3(signature = (x=None, *, times=None, threads=None, progress=None))]
    fn forward<'py>(
        &self,
        py: Python<'py>,
        x: Option<&Bound<'py, PyAny>>,
        times: Option<&Bound<'py, PyAny>>,
        threads: Option<i64>,
        progress: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Vec<Bound<'py, PyArray2<f64>>>> {
        let (traces, _) = self.analytic(py, x, times, threads, progress, "forward")?;
        let arch = self.model.arch();
        let n = traces.len();
        let mut layers: Vec<Vec<f64>> = arch.iter().map(|&k| Vec::with_capacity(k * n)).collect();
        for t in &traces {
            for (out, part) in layers.iter_mut().zip(t.times(&arch)) {
                out.extend(part);
            }
        }
        Ok(layers
            .into_iter()
            .zip(arch)
            .map(|(t, k)| {
                Array2::from_shape_vec((n, k), t)
                    .expect("n * k")
                    .into_pyarray(py)
            })
            .collect())
    }

    /// predict(x=None, *, times=None, threads=None, progress=None) -> int64 array (N,)
    ///
    /// The class of every sample: the output neuron that fired first (ties: the lowest
    /// index), by the analytic solver; -1 where no output neuron fired.
    #[pyo3(signature = (x=None, *, times=None, threads=None, progress=None))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: Option<&Bound<'py, PyAny>>,
        times: Option<&Bound<'py, PyAny>>,
        threads: Option<i64>,
        progress: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyArray1<i64>>> {
        let (traces, _) = self.analytic(py, x, times, threads, progress, "predict")?;
        let v: Vec<i64> = traces
            .iter()
            .map(|t| t.decision.map_or(-1, |d| i64::from(d.0)))
            .collect();
        Ok(PyArray1::from_vec(py, v))
    }

    /// evaluate(x=None, labels=None, *, times=None, threads=None, progress=None) -> EvalSummary
    ///
    /// Accuracy with the analytic solver (f64), as `firstspike eval --json` measures it: an
    /// `EvalSummary` with the fields of its keys (model: the file, None if not loaded from
    /// one). labels: integers (N,) below the number of outputs; required.
    #[pyo3(signature = (x=None, labels=None, *, times=None, threads=None, progress=None))]
    fn evaluate<'py>(
        &self,
        py: Python<'py>,
        x: Option<&Bound<'py, PyAny>>,
        labels: Option<&Bound<'py, PyAny>>,
        times: Option<&Bound<'py, PyAny>>,
        threads: Option<i64>,
        progress: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let threads = thread_count(threads)?;
        let Some(labels) = labels else {
            return Err(value_err(
                "evaluate needs labels: integers (N,), one per sample",
            ));
        };
        let inputs = samples(&self.model, x, times, Some(labels))?;
        let rep = Reporter::new(py, progress, inputs.len() as u64, "evaluate", true)?;
        let model = &self.model;
        let start = Instant::now();
        let st = py.detach(|| {
            let net = Net::<f64>::from_model(model);
            evaluate(&net, &model.encoding, &inputs, threads, &|k| rep.add(k))
        });
        let secs = start.elapsed().as_secs_f64();
        rep.finish(py)?;
        let summary = EvalSummary::of(self.path.clone(), &st, true, secs, threads);
        to_class(py, "EvalSummary", &summary)
    }

    /// simulate(x=None, *, times=None, labels=None, until_decision=False, threads=None,
    ///          progress=None) -> SimReport
    ///
    /// Runs every sample through the discrete-event engine (the engine of `firstspike
    /// simulate` and `firstspike raster`), spike by spike; with until_decision=True each
    /// sample stops at its first output spike (the decision). Returns a `SimReport`: its
    /// `summary` (a `SimSummary`, the fields of `firstspike simulate --json`: accuracy and
    /// correct None without labels) and every spike as arrays, one row per spike in emission
    /// order within each sample (the rows of the CSV `firstspike raster` writes): sample,
    /// layer (0 = inputs), neuron, time; and per sample decision (-1 for none) and
    /// decision_time (nan for none).
    #[pyo3(signature = (x=None, *, times=None, labels=None, until_decision=false, threads=None, progress=None))]
    #[allow(clippy::too_many_arguments)]
    fn simulate<'py>(
        &self,
        py: Python<'py>,
        x: Option<&Bound<'py, PyAny>>,
        times: Option<&Bound<'py, PyAny>>,
        labels: Option<&Bound<'py, PyAny>>,
        until_decision: bool,
        threads: Option<i64>,
        progress: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let threads = thread_count(threads)?;
        let inputs = samples(&self.model, x, times, labels)?;
        let rep = Reporter::new(py, progress, inputs.len() as u64, "simulate", true)?;
        let model = &self.model;
        let opts = RunOptions { until_decision };
        let start = Instant::now();
        let res = py.detach(|| {
            let net = EventNet::from_model(model)?.compile()?;
            simulate(
                &net,
                &model.encoding,
                &inputs,
                opts,
                threads,
                Record::Traces,
                &|k| rep.add(k),
            )
        });
        let secs = start.elapsed().as_secs_f64();
        rep.finish(py)?;
        let run = res.py()?;
        let summary = SimSummary::of(
            self.path.clone(),
            &NetSize::of_layers(&model.layers),
            &run.runs,
            inputs.has_labels().then_some(run.correct),
            until_decision,
            secs,
            threads,
        );
        sim_report(py, &summary, &run)
    }

    /// verify(x=None, *, times=None, threads=None, progress=None) -> VerifyReport
    ///
    /// Runs both engines (f64) on every sample and compares every spike, as `firstspike
    /// verify --json` does: a `VerifyReport` (its `agree` says whether they agree).
    #[pyo3(signature = (x=None, *, times=None, threads=None, progress=None))]
    fn verify<'py>(
        &self,
        py: Python<'py>,
        x: Option<&Bound<'py, PyAny>>,
        times: Option<&Bound<'py, PyAny>>,
        threads: Option<i64>,
        progress: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let threads = thread_count(threads)?;
        let inputs = samples(&self.model, x, times, None)?;
        let rep = Reporter::new(py, progress, inputs.len() as u64, "verify", true)?;
        let model = &self.model;
        let res = py.detach(|| verify(model, &inputs, threads, &|k| rep.add(k)));
        rep.finish(py)?;
        to_class(py, "VerifyReport", &res.py()?)
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

impl PyModel {
    /// The analytic solver's traces (f64) of the samples, and how many there were.
    fn analytic(
        &self,
        py: Python<'_>,
        x: Option<&Bound<'_, PyAny>>,
        times: Option<&Bound<'_, PyAny>>,
        threads: Option<i64>,
        progress: Option<&Bound<'_, PyAny>>,
        what: &str,
    ) -> PyResult<(Vec<crate::SampleTrace>, usize)> {
        let threads = thread_count(threads)?;
        let inputs = samples(&self.model, x, times, None)?;
        let n = inputs.len();
        let rep = Reporter::new(py, progress, n as u64, what, true)?;
        let model = &self.model;
        let res = py.detach(|| record_analytic(model, &inputs, threads, &|k| rep.add(k)));
        rep.finish(py)?;
        Ok((res.py()?, n))
    }
}

/// load(path) -> Model
///
/// Loads a model file NAME.bin (or NAME.json / NAME, finding NAME.bin), as the CLI's
/// --model does. FileNotFoundError if it does not exist, ValueError if it is not a valid
/// model file (wrong magic, version, or invalid weights).
#[pyfunction]
pub(super) fn load(py: Python<'_>, path: PathBuf) -> PyResult<PyModel> {
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
pub(super) fn from_nir(py: Python<'_>, path: PathBuf) -> PyResult<PyModel> {
    let model = py.detach(|| nir::read_model(&path)).py()?;
    Ok(PyModel {
        model,
        path: None,
        history: Vec::new(),
    })
}

/// load_idx(folder, split) -> (images, labels)
///
/// Reads an MNIST-style IDX folder (train-images-idx3-ubyte[.gz], t10k-..., as the CLI's
/// --data): split is "train" or "test". Returns uint8 images (N, rows, cols) and uint8
/// labels (N,). FileNotFoundError for a missing folder or file, ValueError for a malformed one.
#[pyfunction]
pub(super) fn load_idx<'py>(
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
    let ds: Dataset = py.detach(|| Dataset::load(&folder, split)).py()?;
    dataset_arrays(py, ds)
}

/// mnist_test_slice() -> (images, labels)
///
/// The first 1,000 MNIST test digits, embedded in the library (no files needed): uint8
/// images (1000, 28, 28) and labels (1000,).
#[pyfunction(name = "mnist_test_slice")]
pub(super) fn mnist_test_slice_py<'py>(
    py: Python<'py>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyArray1<u8>>)> {
    let ds = mnist_test_slice().py()?;
    dataset_arrays(py, ds)
}
