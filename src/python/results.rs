//! The library's results as the Python classes of firstspike/_results.py: each struct
//! serialised (the same `Serialize` the command line's `--json` prints) and handed to the
//! class of the same name, whose fields are the struct's; a key the class lacks raises, so
//! the two cannot drift apart unseen.

use super::arrays::json_to_py;
use crate::simulate::{SimReport, SimSummary};
use crate::train::EpochLog;
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde::Serialize;

/// The class `name` of firstspike._results.
fn class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("firstspike._results")?.getattr(name)
}

/// `value` as an instance of the class `name` (its `_from` builds the nested classes).
pub(super) fn to_class<'py>(
    py: Python<'py>,
    name: &str,
    value: &impl Serialize,
) -> PyResult<Bound<'py, PyAny>> {
    let v = serde_json::to_value(value).expect("results serialise");
    class(py, name)?.call_method1("_from", (json_to_py(py, &v)?,))
}

/// The per-epoch log of a run of `train` as `EpochLog`s. The library's `test_accuracy` is left
/// out: `train` from Python holds no test set, so it would always be `None`.
pub(super) fn epoch_logs<'py>(
    py: Python<'py>,
    log: &[EpochLog],
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    log.iter().map(|e| epoch_log(py, e)).collect()
}

/// One epoch's log as an `EpochLog` (without `test_accuracy`, as [`epoch_logs`]).
pub(super) fn epoch_log<'py>(py: Python<'py>, e: &EpochLog) -> PyResult<Bound<'py, PyAny>> {
    let mut v = serde_json::to_value(e).expect("log serialises");
    if let Some(o) = v.as_object_mut() {
        o.remove("test_accuracy");
    }
    class(py, "EpochLog")?.call_method1("_from", (json_to_py(py, &v)?,))
}

/// A `SimReport`: the summary ([`SimSummary`]) and every spike and decision of `rep`'s traces
/// as numpy arrays.
pub(super) fn sim_report<'py>(
    py: Python<'py>,
    summary: &SimSummary,
    rep: &SimReport,
) -> PyResult<Bound<'py, PyAny>> {
    let total: usize = rep.traces.iter().map(|t| t.spikes.len()).sum();
    let (mut sample, mut layer, mut neuron, mut time) = (
        Vec::with_capacity(total),
        Vec::with_capacity(total),
        Vec::with_capacity(total),
        Vec::with_capacity(total),
    );
    for t in &rep.traces {
        for s in &t.spikes {
            sample.push(t.sample as i64);
            layer.push(i64::from(s.layer));
            neuron.push(i64::from(s.neuron));
            time.push(s.time);
        }
    }
    let decision: Vec<i64> = rep
        .runs
        .iter()
        .map(|r| r.decision.map_or(-1, |d| d.0 as i64))
        .collect();
    let decision_time: Vec<f64> = rep
        .runs
        .iter()
        .map(|r| r.decision.map_or(f64::NAN, |d| d.1))
        .collect();
    let kw = PyDict::new(py);
    kw.set_item("summary", to_class(py, "SimSummary", summary)?)?;
    kw.set_item("sample", PyArray1::from_vec(py, sample))?;
    kw.set_item("layer", PyArray1::from_vec(py, layer))?;
    kw.set_item("neuron", PyArray1::from_vec(py, neuron))?;
    kw.set_item("time", PyArray1::from_vec(py, time))?;
    kw.set_item("decision", PyArray1::from_vec(py, decision))?;
    kw.set_item("decision_time", PyArray1::from_vec(py, decision_time))?;
    class(py, "SimReport")?.call((), Some(&kw))
}
