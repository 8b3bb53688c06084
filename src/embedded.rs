//! What ships inside the binary, so that `firstspike demo` needs no file: a small slice of
//! the MNIST test set and the shipped model the demo runs.
//!
//! The slice is the first 1,000 images and labels of the MNIST test set (t10k), IDX, gzipped.
//! MNIST is by Y. LeCun, C. Cortes and C.J.C. Burges. Regenerate it with
//! `tools/make-embedded.sh`. The model is `models/mnist-conv-32c5s2p2-64c5s2p2-10.bin`,
//! included from that file as it is (0.67 MB), so the two cannot differ.

use crate::data::Dataset;
use crate::error::Result;
use crate::model::Model;
use std::path::Path;

const IMAGES: &[u8] = include_bytes!("embedded/t10k-first1000-images-idx3-ubyte.gz");
const LABELS: &[u8] = include_bytes!("embedded/t10k-first1000-labels-idx1-ubyte.gz");

/// The first 1,000 MNIST test images.
pub fn mnist_test_slice() -> Result<Dataset> {
    Dataset::from_idx_bytes(IMAGES, LABELS, "<embedded MNIST test slice>")
}

/// The file name of the model embedded in the binary, under `models/` in the repository.
pub const DEMO_MODEL_NAME: &str = "mnist-conv-32c5s2p2-64c5s2p2-10.bin";

const DEMO_MODEL: &[u8] = include_bytes!("../models/mnist-conv-32c5s2p2-64c5s2p2-10.bin");

/// The shipped model `firstspike demo` runs, `models/mnist-conv-32c5s2p2-64c5s2p2-10.bin`
/// (`28x28-32c5s2p2-64c5s2p2-10`, 99.06 % on the MNIST test set), embedded in the binary.
pub fn demo_model() -> Result<Model> {
    Model::from_bytes(
        DEMO_MODEL,
        Path::new("<embedded models/mnist-conv-32c5s2p2-64c5s2p2-10.bin>"),
    )
}
