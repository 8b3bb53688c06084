//! Small HDF5 helpers of the NIR writer and reader: datasets in the forms `nir.write` gives
//! them (scalar strings, f64 and i64 arrays, large arrays deflate-compressed), and typed reads
//! whose errors name the dataset.
//!
//! It knows nothing of NIR nodes: [`super::graph`] and [`super::events`] write with it,
//! [`super::read`] reads with it.

use hdf5_pure::{DType, File, GroupBuilder};

/// Arrays with at least this many elements are deflate-compressed (smaller ones are not worth
/// a chunk index).
pub(super) const DEFLATE_MIN_ELEMENTS: usize = 4096;
/// zlib level of that compression: 4 keeps a 784-800-10 export under a second.
pub(super) const DEFLATE_LEVEL: u32 = 4;

/// A scalar variable-length UTF-8 string dataset (how `nir.write` stores a `str`).
pub(super) fn scalar_str(g: &mut GroupBuilder, name: &str, value: &str) {
    g.create_dataset(name)
        .with_vlen_strings(&[value])
        .with_shape(&[]);
}

/// A scalar f64 dataset.
pub(super) fn scalar_f64(g: &mut GroupBuilder, name: &str, value: f64) {
    g.create_dataset(name)
        .with_f64_data(&[value])
        .with_shape(&[]);
}

/// A scalar i64 dataset (how `nir.write` stores a Python `int`).
pub(super) fn scalar_i64(g: &mut GroupBuilder, name: &str, value: i64) {
    g.create_dataset(name)
        .with_i64_data(&[value])
        .with_shape(&[]);
}

/// An f64 array of shape `shape` (row-major), compressed when large.
pub(super) fn f64_array(g: &mut GroupBuilder, name: &str, data: &[f64], shape: &[u64]) {
    let d = g.create_dataset(name);
    d.with_f64_data(data).with_shape(shape);
    if data.len() >= DEFLATE_MIN_ELEMENTS {
        d.with_deflate(DEFLATE_LEVEL);
    }
}

/// An i64 array of shape `shape` (how `nir.write` stores an integer NumPy array).
pub(super) fn i64_array(g: &mut GroupBuilder, name: &str, data: &[i64], shape: &[u64]) {
    g.create_dataset(name).with_i64_data(data).with_shape(shape);
}

/// A dataset read from a NIR file: its shape (empty for a scalar) and its values as f64.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Array {
    /// Shape, outermost first; `[]` for a scalar.
    pub(crate) shape: Vec<usize>,
    /// Values, row-major (f32 and integer datasets converted exactly to f64).
    pub(crate) data: Vec<f64>,
}

/// What a typed read found wrong, as a sentence naming the dataset.
pub(crate) type ReadError = String;

/// Whether `path` names a dataset in `f`.
pub(crate) fn has_dataset(f: &File, path: &str) -> bool {
    f.dataset(path).is_ok()
}

/// The shape of dataset `path`, each extent at most `usize`, and at most `max_elements`
/// elements in all (checked before anything is read, so that a file claiming a huge array
/// allocates nothing).
pub(crate) fn shape(
    f: &File,
    path: &str,
    max_elements: usize,
) -> std::result::Result<Vec<usize>, ReadError> {
    let d = f.dataset(path).map_err(|e| format!("{path}: {e}"))?;
    let s = d.shape().map_err(|e| format!("{path}: {e}"))?;
    let s: Vec<usize> = s
        .iter()
        .map(|&x| usize::try_from(x).map_err(|_| format!("{path}: extent {x} too large")))
        .collect::<std::result::Result<_, _>>()?;
    s.iter()
        .try_fold(1usize, |n, &x| n.checked_mul(x))
        .filter(|&n| n <= max_elements)
        .ok_or_else(|| {
            format!(
                "{path}: shape {s:?} holds more than the {max_elements} elements a NIR import reads"
            )
        })?;
    Ok(s)
}

/// Dataset `path` as numbers (f64, f32 or integers; converted to f64), at most
/// `max_elements` of them.
pub(crate) fn numbers(
    f: &File,
    path: &str,
    max_elements: usize,
) -> std::result::Result<Array, ReadError> {
    let shape = shape(f, path, max_elements)?;
    let d = f.dataset(path).map_err(|e| format!("{path}: {e}"))?;
    let dtype = d.dtype().map_err(|e| format!("{path}: {e}"))?;
    let data = match dtype {
        DType::F64 | DType::F32 => d.read_f64(),
        DType::I8 | DType::I16 | DType::I32 | DType::I64 => d
            .read_i64()
            .map(|v| v.into_iter().map(|x| x as f64).collect()),
        DType::U8 | DType::U16 | DType::U32 | DType::U64 => d
            .read_u64()
            .map(|v| v.into_iter().map(|x| x as f64).collect()),
        other => return Err(format!("{path}: holds {other}, not numbers")),
    }
    .map_err(|e| format!("{path}: {e}"))?;
    let want: usize = shape.iter().product();
    if data.len() != want {
        return Err(format!("{path}: {} values for shape {shape:?}", data.len()));
    }
    Ok(Array { shape, data })
}

/// Dataset `path` as integers (any integer type, or floats that are whole numbers), at
/// most `max_elements` of them.
pub(crate) fn integers(
    f: &File,
    path: &str,
    max_elements: usize,
) -> std::result::Result<(Vec<usize>, Vec<i64>), ReadError> {
    let a = numbers(f, path, max_elements)?;
    let ints = a
        .data
        .iter()
        .map(|&x| {
            if x.fract() == 0.0 && x.abs() < 9.0e15 {
                Ok(x as i64)
            } else {
                Err(format!("{path}: {x} is not a whole number"))
            }
        })
        .collect::<std::result::Result<_, _>>()?;
    Ok((a.shape, ints))
}

/// Whether dataset `path` holds strings (fixed or variable length).
pub(crate) fn is_string(f: &File, path: &str) -> bool {
    f.dataset(path)
        .and_then(|d| d.dtype())
        .is_ok_and(|t| matches!(t, DType::String | DType::VariableLengthString))
}

/// Dataset `path` as strings (a scalar string is one).
pub(crate) fn strings(f: &File, path: &str) -> std::result::Result<Vec<String>, ReadError> {
    let d = f.dataset(path).map_err(|e| format!("{path}: {e}"))?;
    if !is_string(f, path) {
        let t = d.dtype().map_or_else(|e| e.to_string(), |t| t.to_string());
        return Err(format!("{path}: holds {t}, not a string"));
    }
    d.read_string().map_err(|e| format!("{path}: {e}"))
}

/// Dataset `path` as one string.
pub(crate) fn string(f: &File, path: &str) -> std::result::Result<String, ReadError> {
    let mut v = strings(f, path)?;
    match v.len() {
        1 => Ok(v.remove(0)),
        n => Err(format!("{path}: {n} strings where one was expected")),
    }
}
