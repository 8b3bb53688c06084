//! Arrays in and out. In: any array-like becomes the library's in-memory array
//! ([`Npy::from_parts`]: dtype, shape, C-order bytes) and goes through the library's one input
//! check ([`Inputs::from_npy`], [`Inputs::set_labels`]), the check of the command line's
//! `--inputs`/`--labels`. The dtype rule is Python's own: images are uint8 and given as `x`;
//! float spike times are taken only when given as `times=`, so that `images / 255` is never
//! read as times by accident. Out: numpy arrays, and JSON values as Python objects.

use super::errors::value_err;
use crate::data::Dataset;
use crate::npy::Npy;
use crate::{Inputs, Model};
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyList, PyString};

/// The library's array of the array-like `x`: C order, little-endian, its dtype spelled as
/// NumPy spells it; or why the library refuses the dtype.
pub(super) fn npy_of(x: &Bound<'_, PyAny>) -> PyResult<Result<Npy, String>> {
    let np = x.py().import("numpy")?;
    let mut a = np.call_method1("ascontiguousarray", (x,))?;
    let dtype = a.getattr("dtype")?;
    if dtype.getattr("byteorder")?.extract::<String>()? == ">" {
        a = a.call_method1("astype", (dtype.call_method1("newbyteorder", ("<",))?,))?;
    }
    let descr: String = a.getattr("dtype")?.getattr("str")?.extract()?;
    let shape: Vec<usize> = a.getattr("shape")?.extract()?;
    let bytes = a.call_method0("tobytes")?;
    let data = bytes.cast::<PyBytes>()?.as_bytes().to_vec();
    Ok(Npy::from_parts(&descr, shape, data))
}

/// The samples for `model`: uint8 images `x` or float spike times `times` (exactly one), and
/// `labels` if given, each checked by the library; a refusal is a `ValueError` naming the
/// argument, then the library's words.
pub(super) fn samples(
    model: &Model,
    x: Option<&Bound<'_, PyAny>>,
    times: Option<&Bound<'_, PyAny>>,
    labels: Option<&Bound<'_, PyAny>>,
) -> PyResult<Inputs> {
    let (arg, a) = match (x, times) {
        (Some(x), None) => ("x", x),
        (None, Some(t)) => ("times", t),
        (None, None) => {
            return Err(value_err(
                "give the samples as x (uint8 images) or as times= (float spike times)",
            ))
        }
        (Some(_), Some(_)) => {
            return Err(value_err(
                "give x (uint8 images) or times= (float spike times), not both",
            ))
        }
    };
    let npy = npy_of(a)?.map_err(|what| value_err(format!("{arg}: {what}")))?;
    let dtype = npy.dtype.name();
    match (arg, npy.dtype.is_integer(), dtype == "uint8") {
        ("x", _, true) | ("times", false, _) => {}
        ("x", false, _) => {
            return Err(value_err(format!(
                "x: dtype {dtype}: x takes uint8 images (0-255, encoded with the model's encoding); make images in [0, 1] uint8 with (x * 255).round().astype(numpy.uint8), or give spike times (units of tau_syn, inf for no spike) as times="
            )))
        }
        ("x", true, _) => {
            return Err(value_err(format!(
                "x: dtype {dtype}: x takes uint8 images (0-255); convert pixels with x.astype(numpy.uint8), or give spike times as times="
            )))
        }
        _ => {
            return Err(value_err(format!(
                "times: dtype {dtype}: times takes float spike times (float64 or float32, units of tau_syn, inf for no spike); give uint8 images as x"
            )))
        }
    }
    let arch = crate::Arch::of_layers(&model.layers);
    let mut inputs =
        Inputs::from_npy(&npy, &arch).map_err(|what| value_err(format!("{arg}: {what}")))?;
    if let Some(l) = labels {
        let l = npy_of(l)?.map_err(|what| value_err(format!("labels: {what}")))?;
        inputs
            .set_labels(&l, model.n_outputs())
            .map_err(|what| value_err(format!("labels: {what}")))?;
    }
    Ok(inputs)
}

/// A JSON value as a Python object (objects as dicts, arrays as lists, null as None).
pub(super) fn json_to_py<'py>(
    py: Python<'py>,
    v: &serde_json::Value,
) -> PyResult<Bound<'py, PyAny>> {
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

/// A data set as numpy arrays: uint8 images (N, rows, cols) and uint8 labels (N,).
pub(super) fn dataset_arrays<'py>(
    py: Python<'py>,
    ds: Dataset,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyArray1<u8>>)> {
    use numpy::PyArrayMethods;
    let n = ds.len();
    let (rows, cols) = (ds.rows, ds.cols);
    let images = PyArray1::from_vec(py, ds.images).reshape([n, rows, cols])?;
    Ok((images.into_any(), PyArray1::from_vec(py, ds.labels)))
}
