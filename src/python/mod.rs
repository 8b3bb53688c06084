//! The Python module `firstspike._firstspike` (cargo feature `python`), re-exported by the
//! package `firstspike` (python/firstspike/__init__.py). Built by maturin: `pip install .`.
//!
//! A thin shell over the library: every array is checked by the library's one input check
//! ([`crate::Inputs`], the same as the command line's `--inputs`), every batch runs through the
//! library's data-set jobs ([`crate::evaluate`], [`crate::simulate()`], [`crate::verify()`],
//! [`crate::simulate::record_analytic`]) and their thread fan-out, and every result is one of
//! the library's `Serialize` structs handed to a small Python class of the same name and
//! fields (python/firstspike/_results.py). What is Python's own:
//!
//! - [`errors`]: the exception of each library error, chosen by its kind;
//! - [`arrays`]: numpy arrays in (as the library's in-memory [`crate::npy::Npy`]) and out, and
//!   the dtype rule (uint8 images as `x`, float spike times only as `times=`);
//! - [`progress`]: progress reports handed to a Python callable or a `tqdm` bar;
//! - [`results`]: library structs into the Python result classes;
//! - [`model`]: the class `Model` and the module functions that make one;
//! - [`train`]: `train`, its keyword settings onto the library's [`crate::TrainConfig`].
//!
//! Every long call releases the GIL while the library works.

mod arrays;
mod errors;
mod model;
mod progress;
mod results;
mod train;

use pyo3::prelude::*;

/// The native part of the `firstspike` package.
#[pymodule]
#[pyo3(name = "_firstspike")]
fn firstspike_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<model::PyModel>()?;
    m.add_function(wrap_pyfunction!(model::load, m)?)?;
    m.add_function(wrap_pyfunction!(model::from_nir, m)?)?;
    m.add_function(wrap_pyfunction!(model::load_idx, m)?)?;
    m.add_function(wrap_pyfunction!(model::mnist_test_slice_py, m)?)?;
    m.add_function(wrap_pyfunction!(train::train, m)?)?;
    m.add_function(wrap_pyfunction!(train::train_defaults, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
