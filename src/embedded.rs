//! The small slice of the MNIST test set shipped inside the binary, for `firstspike demo`.
//!
//! The first 1,000 images and labels of the MNIST test set (t10k), IDX, gzipped. MNIST is by
//! Y. LeCun, C. Cortes and C.J.C. Burges. Regenerate with `tools/make-embedded.sh`.

use crate::data::Dataset;
use crate::error::Result;

const IMAGES: &[u8] = include_bytes!("embedded/t10k-first1000-images-idx3-ubyte.gz");
const LABELS: &[u8] = include_bytes!("embedded/t10k-first1000-labels-idx1-ubyte.gz");

/// The first 1,000 MNIST test images.
pub fn mnist_test_slice() -> Result<Dataset> {
    Dataset::from_idx_bytes(IMAGES, LABELS, "<embedded MNIST test slice>")
}
