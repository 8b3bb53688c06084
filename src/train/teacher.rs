//! The teacher of knowledge distillation (`TrainConfig::distill`): its logits for every
//! training image, read from a `.npy` file and checked against the data and the network.

use super::config::Distill;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::npy::{shape_text, Npy};
use sha2::{Digest, Sha256};
use std::path::Path;

/// The teacher's logits, one row of `cols` per training image, in the data's order.
#[derive(Clone, Debug)]
pub(crate) struct Teacher {
    pub(crate) cols: usize,
    pub(crate) logits: Vec<f64>,
}

impl Teacher {
    /// The row of training image `idx`.
    pub(crate) fn row(&self, idx: usize) -> &[f64] {
        &self.logits[idx * self.cols..(idx + 1) * self.cols]
    }
}

/// sha256 of `bytes`, in hex.
fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Reads `d.teacher` and checks it: a 2-D float array of one row per image of `data` (as
/// loaded, validation images included) and one column per output (`outputs`), every logit
/// finite, and, if `d.teacher_sha256` is set (a resumed run), the same bytes as when the run
/// started. Returns the logits and the file's sha256.
pub(crate) fn load(d: &Distill, data: &Dataset, outputs: usize) -> Result<(Teacher, String)> {
    let path = Path::new(&d.teacher);
    let bytes = crate::fsio::read_limited(path, crate::npy::MAX_NPY_BYTES)?;
    let sha = sha256_hex(&bytes);
    if !d.teacher_sha256.is_empty() && d.teacher_sha256 != sha {
        return Err(Error::data(
            path,
            format!(
                "the teacher's logits changed since the run started (sha256 {}…, recorded {}…); resume with the file the run started with",
                &sha[..12],
                &d.teacher_sha256[..d.teacher_sha256.len().min(12)]
            ),
        ));
    }
    let npy = Npy::parse(&bytes, path)?;
    let bad = |w: String| Err(Error::data(path, w));
    let Some(logits) = npy.to_f64() else {
        return bad(format!(
            "the teacher's logits are {}, expected float32 or float64",
            npy.dtype.name()
        ));
    };
    let &[rows, cols] = npy.shape.as_slice() else {
        return bad(format!(
            "the teacher's logits have shape {}, expected (images, classes) = ({}, {outputs})",
            shape_text(&npy.shape),
            data.len()
        ));
    };
    if rows != data.len() {
        return bad(format!(
            "{rows} rows of teacher logits for {} training images: the file needs one row per training image as loaded, in file order, validation images included (a training set cut to its first N images needs a file of N rows)",
            data.len()
        ));
    }
    if cols != outputs {
        return bad(format!(
            "{cols} teacher logits per image for a network of {outputs} outputs ({} classes): the file needs one column per output",
            data.classes()
        ));
    }
    if let Some(p) = logits.iter().position(|x| !x.is_finite()) {
        return bad(format!(
            "teacher logit {} of row {} is {}: every logit must be finite",
            p % cols,
            p / cols,
            logits[p]
        ));
    }
    Ok((Teacher { cols, logits }, sha))
}
