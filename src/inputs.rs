//! What a model runs on: a set of samples, each a vector of input spike times and perhaps a
//! label.
//!
//! Owns the [`Samples`] trait, through which the data-set-level jobs ([`crate::evaluate()`],
//! [`crate::simulate()`], [`crate::verify()`], [`crate::record_samples()`]) read their inputs, and
//! [`Inputs`], the samples a front end loads: IDX images ([`Inputs::from_dataset`]) or a
//! `.npy` array ([`Inputs::load`]) of uint8 images (encoded with the model's encoding, as IDX
//! images are) or of spike times used as given, with optional `.npy` labels. It checks arrays
//! where they enter: shape against the model's input, times (no NaN, none negative, finite ones
//! at most [`MAX_INPUT_TIME`]; `+inf` is "no spike"), labels in `0..n_outputs`. It does not
//! parse files (see `npy.rs`, [`crate::data`]) or run anything.

use crate::data::Dataset;
use crate::encoding::Encoding;
use crate::error::{Error, Result};
use crate::network::{Arch, Shape};
use crate::npy::{shape_text, Dtype, Npy};
use std::path::Path;

/// Largest finite input time accepted (units of tau_syn). The engines rebase their sums, so
/// any finite time computes, but at 1e6 the spacing of f64 (2e-10) nears the engines'
/// agreement tolerance and f32 training resolves no better than 0.06: a time this late is a
/// unit mistake (milliseconds for tau_syn), not an input.
pub const MAX_INPUT_TIME: f64 = 1e6;

/// Samples a model can run on: each one's input times and, if known, its label.
///
/// Sample `i`'s times are the network's input spike times in units of tau_syn, `+inf` for an
/// input that sends no spike; `enc` is the model's encoding, used by samples that are images.
pub trait Samples: Sync {
    /// Number of samples.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Inputs per sample.
    fn dim(&self) -> usize;
    /// Writes sample `i`'s input times into `out` (`dim()` long).
    fn times_into(&self, i: usize, enc: &Encoding, out: &mut [f64]);
    /// Sample `i`'s label, if the samples are labelled.
    fn label(&self, i: usize) -> Option<u8>;
}

impl Samples for Dataset {
    fn len(&self) -> usize {
        Dataset::len(self)
    }
    fn dim(&self) -> usize {
        Dataset::dim(self)
    }
    fn times_into(&self, i: usize, enc: &Encoding, out: &mut [f64]) {
        enc.encode_into(self.image(i), out);
    }
    fn label(&self, i: usize) -> Option<u8> {
        Some(self.labels[i])
    }
}

/// The samples `indices` of `data`, in that order (repeats allowed).
pub(crate) struct Picked<'a, D: ?Sized> {
    data: &'a D,
    indices: &'a [usize],
}

impl<'a, D: Samples + ?Sized> Picked<'a, D> {
    /// The samples `indices` of `data`; an index past the end is an invalid setting (`index`)
    /// naming it.
    pub(crate) fn new(data: &'a D, indices: &'a [usize]) -> Result<Self> {
        if let Some(&bad) = indices.iter().find(|&&k| k >= data.len()) {
            return Err(Error::setting(
                "index",
                format!(
                    "sample index {bad} is past the end of the data set ({} images, indices 0..{})",
                    data.len(),
                    data.len()
                ),
            ));
        }
        Ok(Picked { data, indices })
    }
}

impl<D: Samples + ?Sized> Samples for Picked<'_, D> {
    fn len(&self) -> usize {
        self.indices.len()
    }
    fn dim(&self) -> usize {
        self.data.dim()
    }
    fn times_into(&self, i: usize, enc: &Encoding, out: &mut [f64]) {
        self.data.times_into(self.indices[i], enc, out)
    }
    fn label(&self, i: usize) -> Option<u8> {
        self.data.label(self.indices[i])
    }
}

/// The values of [`Inputs`].
#[derive(Clone, Debug, PartialEq)]
enum Values {
    /// Pixels, `dim` per sample, encoded with the model's encoding when run.
    Pixels(Vec<u8>),
    /// Input spike times, `dim` per sample, used as given.
    Times(Vec<f64>),
}

/// Samples loaded by a front end: images or input times, labelled or not (see the module's
/// documentation).
#[derive(Clone, Debug, PartialEq)]
pub struct Inputs {
    values: Values,
    labels: Option<Vec<u8>>,
    dim: usize,
}

impl Inputs {
    /// The images and labels of an IDX data set.
    pub fn from_dataset(ds: Dataset) -> Inputs {
        let dim = ds.dim();
        Inputs {
            values: Values::Pixels(ds.images),
            labels: Some(ds.labels),
            dim,
        }
    }

    /// Input times, `dim` per sample, and optional labels (one per sample); checked as a file's
    /// are, errors naming no file.
    pub fn from_times(times: Vec<f64>, dim: usize, labels: Option<Vec<u8>>) -> Result<Inputs> {
        check_times(&times, dim.max(1)).map_err(Error::dimension)?;
        let n = times.len() / dim.max(1);
        if dim == 0
            || !times.len().is_multiple_of(dim)
            || labels.as_ref().is_some_and(|l| l.len() != n)
        {
            return Err(Error::dimension(format!(
                "{} times and {} labels do not make whole samples of {dim} inputs",
                times.len(),
                labels.as_ref().map_or(0, Vec::len)
            )));
        }
        Ok(Inputs {
            values: Values::Times(times),
            labels,
            dim,
        })
    }

    /// Loads the `.npy` array `inputs` for a network of architecture `arch`, and the labels
    /// `labels` if given. Inputs are uint8 images of shape `(N, n_inputs)`, `(N, H, W)` or
    /// `(N, H, W, C)` (the map the network takes, if it takes one), or float64 (or float32)
    /// times of the same shapes; labels are integers of shape `(N,)` in `0..n_outputs`.
    /// Errors name the file and say what it should hold.
    pub fn load(inputs: &Path, labels: Option<&Path>, arch: &Arch) -> Result<Inputs> {
        let a = Npy::load(inputs)?;
        let mut out = Inputs::from_npy(&a, arch).map_err(|what| Error::data(inputs, what))?;
        if let Some(p) = labels {
            let l = Npy::load(p)?;
            out.set_labels(&l, arch.n_outputs())
                .map_err(|what| Error::data(p, what))?;
        }
        Ok(out)
    }

    /// The samples of the array `a` for a network of architecture `arch`, unlabelled: the one
    /// check of every front end's inputs (a `.npy` file's, a numpy array's). Uint8 values are
    /// images, float64 or float32 values spike times; the shape must fit `arch`'s input, times
    /// must be times. The error says what is wrong, naming no file.
    pub(crate) fn from_npy(a: &Npy, arch: &Arch) -> std::result::Result<Inputs, String> {
        let (_, dim) = rows(&a.shape, arch)?;
        let values = match a.dtype {
            Dtype::U8 => Values::Pixels(a.to_u8().expect("uint8")),
            Dtype::F64 | Dtype::F32 => {
                let t = a.to_f64().expect("float");
                check_times(&t, dim)?;
                Values::Times(t)
            }
            d => {
                return Err(format!(
                    "dtype {}: inputs must be float64 spike times (units of tau_syn, inf for no spike) or uint8 images",
                    d.name()
                ))
            }
        };
        Ok(Inputs {
            values,
            labels: None,
            dim,
        })
    }

    /// Labels the samples with the array `l`: integers of shape `(N,)`, one per sample, in
    /// `0..classes`. The error says what is wrong, naming no file.
    pub(crate) fn set_labels(
        &mut self,
        l: &Npy,
        classes: usize,
    ) -> std::result::Result<(), String> {
        self.labels = Some(labels_of(l, self.len(), classes)?);
        Ok(())
    }

    /// Whether the samples carry labels.
    pub fn has_labels(&self) -> bool {
        self.labels.is_some()
    }

    /// Whether the samples are images (encoded when run) rather than times.
    pub fn are_images(&self) -> bool {
        matches!(self.values, Values::Pixels(_))
    }

    /// Keeps the first `n` samples. `n` of 0 or larger than the set is an invalid setting
    /// (`limit`).
    pub fn truncate(&mut self, n: usize) -> Result<()> {
        let len = self.len();
        if n == 0 {
            return Err(Error::setting("limit", "limit must be at least 1"));
        }
        if n > len {
            return Err(Error::setting(
                "limit",
                format!("limit {n} is larger than the data set ({len} images); use at most {len}"),
            ));
        }
        match &mut self.values {
            Values::Pixels(p) => p.truncate(n * self.dim),
            Values::Times(t) => t.truncate(n * self.dim),
        }
        if let Some(l) = &mut self.labels {
            l.truncate(n);
        }
        Ok(())
    }
}

impl Samples for Inputs {
    fn len(&self) -> usize {
        let values = match &self.values {
            Values::Pixels(p) => p.len(),
            Values::Times(t) => t.len(),
        };
        values / self.dim.max(1)
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn times_into(&self, i: usize, enc: &Encoding, out: &mut [f64]) {
        let r = i * self.dim..(i + 1) * self.dim;
        match &self.values {
            Values::Pixels(p) => enc.encode_into(&p[r], out),
            Values::Times(t) => out.copy_from_slice(&t[r]),
        }
    }
    fn label(&self, i: usize) -> Option<u8> {
        self.labels.as_ref().map(|l| l[i])
    }
}

/// The number of samples and inputs per sample of an inputs array of shape `shape` for `arch`,
/// or what is wrong with the shape.
fn rows(shape: &[usize], arch: &Arch) -> std::result::Result<(usize, usize), String> {
    let want = arch.n_inputs();
    let map = arch.input_is_map.then_some(arch.input);
    let fits = match *shape {
        [_, d] => d == want,
        [_, h, w] => fits_map(Shape { h, w, c: 1 }, map, want),
        [_, h, w, c] => fits_map(Shape { h, w, c }, map, want),
        _ => false,
    };
    let expected = match map {
        Some(m) if m.c == 1 => format!("(N, {want}) or (N, {}, {})", m.h, m.w),
        Some(m) => format!("(N, {want}) or (N, {}, {}, {})", m.h, m.w, m.c),
        None => format!("(N, {want})"),
    };
    if !fits {
        return Err(format!(
            "shape {} does not fit the model, which takes {want} inputs: give an array of shape {expected}",
            shape_text(shape)
        ));
    }
    if shape[0] == 0 {
        return Err(format!("shape {}: no samples", shape_text(shape)));
    }
    Ok((shape[0], want))
}

/// Whether a sample of shape `s` fits a network taking `want` inputs, shaped `map` if a map.
fn fits_map(s: Shape, map: Option<Shape>, want: usize) -> bool {
    match map {
        Some(m) => s == m,
        None => s.len() == Some(want),
    }
}

/// Checks input times, `dim` per sample: none NaN, none negative, finite ones at most
/// [`MAX_INPUT_TIME`]; says which sample and input is wrong.
fn check_times(times: &[f64], dim: usize) -> std::result::Result<(), String> {
    let Some((k, &t)) = times
        .iter()
        .enumerate()
        .find(|(_, t)| t.is_nan() || **t < 0.0 || (t.is_finite() && **t > MAX_INPUT_TIME))
    else {
        return Ok(());
    };
    let why = if t.is_nan() {
        "NaN is not a time; use inf for an input that sends no spike".to_string()
    } else if t < 0.0 {
        "times must be >= 0 (units of tau_syn; inf for no spike)".to_string()
    } else {
        format!("times above {MAX_INPUT_TIME:e} tau_syn are refused (a unit mistake?); use inf for no spike")
    };
    Err(format!(
        "sample {}, input {}: time {t}: {why}",
        k / dim,
        k % dim
    ))
}

/// The labels of the array `a`: integers of shape `(n,)` in `0..classes`.
pub(crate) fn labels_of(a: &Npy, n: usize, classes: usize) -> std::result::Result<Vec<u8>, String> {
    let Some(ints) = a.to_ints() else {
        return Err(format!(
            "dtype {}: labels must be integers (e.g. int64 or uint8)",
            a.dtype.name()
        ));
    };
    if a.shape != [n] {
        return Err(format!(
            "shape {}: the labels must have shape ({n},), one per input sample",
            shape_text(&a.shape)
        ));
    }
    let top = classes.min(256);
    if let Some((i, &l)) = ints
        .iter()
        .enumerate()
        .find(|(_, &l)| l < 0 || l >= top as i128)
    {
        return Err(format!(
            "label {l} of sample {i} is out of range: the model has {classes} outputs, so labels are 0..{}{}",
            classes.saturating_sub(1),
            if classes > 256 { " (at most 255 here)" } else { "" }
        ));
    }
    Ok(ints.into_iter().map(|l| l as u8).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_checked_where_they_enter() {
        assert!(check_times(&[0.0, f64::INFINITY, 3.5], 3).is_ok());
        for (t, why) in [
            (f64::NAN, "NaN"),
            (-0.5, ">= 0"),
            (f64::NEG_INFINITY, ">= 0"),
            (2e6, "refused"),
        ] {
            let e = check_times(&[0.0, 1.0, 2.0, t], 2).unwrap_err();
            assert!(e.contains("sample 1, input 1") && e.contains(why), "{e}");
        }
    }

    #[test]
    fn shapes_must_fit_the_model() {
        let dense = Arch::dense(&[6, 3]);
        assert_eq!(rows(&[4, 6], &dense), Ok((4, 6)));
        assert_eq!(rows(&[4, 2, 3], &dense), Ok((4, 6)));
        assert_eq!(rows(&[4, 1, 2, 3], &dense), Ok((4, 6)));
        assert!(rows(&[4, 5], &dense).unwrap_err().contains("(N, 6)"));
        assert!(rows(&[24], &dense).is_err());
        assert!(rows(&[0, 6], &dense).unwrap_err().contains("no samples"));
        let conv = Arch::parse("2x3-2c2-3").unwrap();
        assert_eq!(rows(&[1, 2, 3], &conv), Ok((1, 6)));
        let e = rows(&[1, 3, 2], &conv).unwrap_err();
        assert!(e.contains("(N, 6) or (N, 2, 3)"), "{e}");
    }

    #[test]
    fn pixels_and_times_give_the_same_samples() {
        let ds = Dataset {
            images: vec![0, 51, 255, 255, 0, 9],
            labels: vec![1, 2],
            rows: 1,
            cols: 3,
        };
        let enc = Encoding {
            silent_below: 5,
            ..Encoding::default()
        };
        let times: Vec<f64> = ds.images.iter().map(|&p| enc.time(p)).collect();
        let a = Inputs::from_dataset(ds.clone());
        let mut b = Inputs::from_times(times, 3, None).unwrap();
        let (mut x, mut y) = (vec![0.0; 3], vec![0.0; 3]);
        for i in 0..2 {
            a.times_into(i, &enc, &mut x);
            b.times_into(i, &enc, &mut y);
            assert_eq!(x, y);
            assert_eq!((a.label(i), b.label(i)), (Some(ds.labels[i]), None));
        }
        b.truncate(1).unwrap();
        assert_eq!(b.len(), 1);
        assert!(b.truncate(2).is_err());
        let picks = [1, 1, 0];
        let p = Picked::new(&a, &picks).unwrap();
        assert_eq!((p.len(), p.label(0), p.label(2)), (3, Some(2), Some(1)));
        assert!(Picked::new(&a, &[2]).is_err());
    }
}
