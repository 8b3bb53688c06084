//! MNIST-style data: the standard IDX files, gzipped or not.
//!
//! Owns reading and validating IDX image and label files (magic numbers, dimensions, counts,
//! truncation, size limits) and finding the four standard files in a folder. It does not
//! encode pixels into spikes (see [`crate::encoding`]).
//!
//! Standard names: `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
//! `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each optionally with `.gz`.

use crate::error::{Error, FileKind, Result};
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Magic number of an IDX file of unsigned bytes with 3 dimensions (images).
pub(crate) const IDX3_UBYTE: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned bytes with 1 dimension (labels).
pub(crate) const IDX1_UBYTE: u32 = 0x0000_0801;
/// Largest payload we accept (bytes after the header). A header claiming more is refused
/// before anything is allocated. Full MNIST training images are 47 MB.
pub(crate) const MAX_PAYLOAD: u64 = 1 << 30;

/// Which standard split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// 60,000 training images.
    Train,
    /// 10,000 test images.
    Test,
}

impl Split {
    fn stem(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "t10k",
        }
    }
}

/// A set of labelled images, pixels row-major, one byte each.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// `len() * rows * cols` pixels.
    pub images: Vec<u8>,
    /// One label per image: a class, 0 to 255 (a model classifies into as many classes as
    /// its output layer has neurons).
    pub labels: Vec<u8>,
    /// Image height.
    pub rows: usize,
    /// Image width.
    pub cols: usize,
}

impl Dataset {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// Pixels per image.
    pub fn dim(&self) -> usize {
        self.rows * self.cols
    }
    /// Pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let d = self.dim();
        &self.images[i * d..(i + 1) * d]
    }
    /// Number of distinct classes the labels can take (max label + 1).
    pub(crate) fn classes(&self) -> usize {
        self.labels
            .iter()
            .copied()
            .max()
            .map_or(0, |m| m as usize + 1)
    }
    /// The images at `indices`, in that order (repeats allowed). An index past the end is an
    /// invalid setting (`index`) naming it.
    pub fn select(&self, indices: &[usize]) -> Result<Dataset> {
        if let Some(&bad) = indices.iter().find(|&&k| k >= self.len()) {
            return Err(Error::setting(
                "index",
                format!(
                    "sample index {bad} is past the end of the data set ({} images, indices 0..{})",
                    self.len(),
                    self.len()
                ),
            ));
        }
        Ok(Dataset {
            images: indices
                .iter()
                .flat_map(|&k| self.image(k))
                .copied()
                .collect(),
            labels: indices.iter().map(|&k| self.labels[k]).collect(),
            rows: self.rows,
            cols: self.cols,
        })
    }
    /// Keeps the first `n` images. `n` of 0 or larger than the set is an invalid setting
    /// (`limit`).
    pub fn truncate(&mut self, n: usize) -> Result<()> {
        if n == 0 {
            return Err(Error::setting("limit", "limit must be at least 1"));
        }
        if n > self.len() {
            return Err(Error::setting(
                "limit",
                format!(
                    "limit {n} is larger than the data set ({} images); use at most {}",
                    self.len(),
                    self.len()
                ),
            ));
        }
        self.labels.truncate(n);
        self.images.truncate(n * self.dim());
        Ok(())
    }

    /// Loads a split from `dir` (standard names, `.gz` or plain).
    pub fn load(dir: &Path, split: Split) -> Result<Dataset> {
        if !dir.is_dir() {
            return Err(Error::DataNotFound {
                path: dir.to_path_buf(),
            });
        }
        let img = find_file(dir, &format!("{}-images-idx3-ubyte", split.stem()))?;
        let lab = find_file(dir, &format!("{}-labels-idx1-ubyte", split.stem()))?;
        let (images, n, rows, cols) = read_images(&img)?;
        let labels = read_labels(&lab)?;
        Dataset::from_parts(images, labels, n, rows, cols, &lab)
    }

    /// Builds a data set from in-memory IDX files (gzipped or plain), e.g. the embedded slice.
    pub fn from_idx_bytes(images: &[u8], labels: &[u8], name: &str) -> Result<Dataset> {
        let p = PathBuf::from(name);
        let (img, n, rows, cols) = parse_images(open_bytes(images), &p)?;
        let lab = parse_labels(open_bytes(labels), &p)?;
        Dataset::from_parts(img, lab, n, rows, cols, &p)
    }

    fn from_parts(
        images: Vec<u8>,
        labels: Vec<u8>,
        n: usize,
        rows: usize,
        cols: usize,
        lab_path: &Path,
    ) -> Result<Dataset> {
        if labels.len() != n {
            return Err(Error::data(
                lab_path,
                format!(
                    "{} labels for {n} images: the image and label files do not belong together",
                    labels.len()
                ),
            ));
        }
        Ok(Dataset {
            images,
            labels,
            rows,
            cols,
        })
    }
}

fn find_file(dir: &Path, stem: &str) -> Result<PathBuf> {
    for name in [format!("{stem}.gz"), stem.to_string()] {
        let p = dir.join(&name);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(Error::NotFound {
        path: dir.join(format!("{stem}.gz")),
        file: FileKind::Data,
    })
}

fn open_bytes(bytes: &[u8]) -> Box<dyn Read + '_> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        Box::new(GzDecoder::new(bytes))
    } else {
        Box::new(bytes)
    }
}

fn open_file(path: &Path) -> Result<Box<dyn Read>> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut head = [0u8; 2];
    let n = f.read(&mut head).map_err(|e| Error::io(path, e))?;
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let r = std::io::BufReader::new(f);
    if n == 2 && head == [0x1f, 0x8b] {
        Ok(Box::new(GzDecoder::new(r)))
    } else {
        Ok(Box::new(r))
    }
}

/// Reads an IDX3 image file: (pixels, count, rows, cols).
pub(crate) fn read_images(path: &Path) -> Result<(Vec<u8>, usize, usize, usize)> {
    parse_images(open_file(path)?, path)
}

/// Reads an IDX1 label file.
pub(crate) fn read_labels(path: &Path) -> Result<Vec<u8>> {
    parse_labels(open_file(path)?, path)
}

fn read_u32s<const N: usize>(r: &mut dyn Read, path: &Path) -> Result<[u32; N]> {
    let mut out = [0u32; N];
    for (k, v) in out.iter_mut().enumerate() {
        let mut b = [0u8; 4];
        read_exact_or(r, &mut b, path, || {
            format!("truncated header (ended within field {k}); the file is incomplete or not IDX")
        })?;
        *v = u32::from_be_bytes(b);
    }
    Ok(out)
}

fn read_exact_or(
    r: &mut dyn Read,
    buf: &mut [u8],
    path: &Path,
    what: impl FnOnce() -> String,
) -> Result<()> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => return Err(Error::data(path, what())),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e)
                if e.kind() == std::io::ErrorKind::InvalidInput
                    || e.kind() == std::io::ErrorKind::InvalidData =>
            {
                return Err(Error::data(path, format!("corrupt gzip stream: {e}")))
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(Error::data(path, what()))
            }
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    Ok(())
}

fn read_payload(r: &mut dyn Read, n: u64, path: &Path) -> Result<Vec<u8>> {
    if n > MAX_PAYLOAD {
        return Err(Error::data(
            path,
            format!("header claims {n} bytes of data, more than the {MAX_PAYLOAD}-byte limit; the header is corrupt"),
        ));
    }
    // Grow the buffer as data actually arrives: a short file that claims a huge payload
    // costs no more memory than it holds.
    let mut buf = Vec::with_capacity((n as usize).min(1 << 20));
    match r.take(n).read_to_end(&mut buf) {
        Ok(_) => {}
        Err(e)
            if e.kind() == std::io::ErrorKind::InvalidInput
                || e.kind() == std::io::ErrorKind::InvalidData =>
        {
            return Err(Error::data(path, format!("corrupt gzip stream: {e}")))
        }
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
        Err(e) => return Err(Error::io(path, e)),
    }
    if (buf.len() as u64) < n {
        return Err(Error::data(
            path,
            format!(
                "truncated: the header promises {n} bytes of data but the file ends after {}",
                buf.len()
            ),
        ));
    }
    let mut extra = [0u8; 1];
    match r.read(&mut extra) {
        Ok(0) => Ok(buf),
        Ok(_) => Err(Error::data(
            path,
            "trailing bytes after the data the header describes",
        )),
        Err(e) => Err(Error::data(
            path,
            format!("corrupt gzip stream after the data: {e}"),
        )),
    }
}

fn parse_images(mut r: Box<dyn Read + '_>, path: &Path) -> Result<(Vec<u8>, usize, usize, usize)> {
    let [magic] = read_u32s::<1>(&mut *r, path)?;
    if magic != IDX3_UBYTE {
        return Err(Error::data(
            path,
            format!("wrong magic number {magic:#010x}, expected {IDX3_UBYTE:#010x} (IDX images); is this a label file or not IDX?"),
        ));
    }
    let [n, rows, cols] = read_u32s::<3>(&mut *r, path)?;
    if n == 0 || rows == 0 || cols == 0 {
        return Err(Error::data(
            path,
            format!("empty dimensions {n} x {rows} x {cols}"),
        ));
    }
    let bytes = n as u64 * rows as u64 * cols as u64;
    let px = read_payload(&mut *r, bytes, path)?;
    Ok((px, n as usize, rows as usize, cols as usize))
}

fn parse_labels(mut r: Box<dyn Read + '_>, path: &Path) -> Result<Vec<u8>> {
    let [magic] = read_u32s::<1>(&mut *r, path)?;
    if magic != IDX1_UBYTE {
        return Err(Error::data(
            path,
            format!("wrong magic number {magic:#010x}, expected {IDX1_UBYTE:#010x} (IDX labels); is this an image file or not IDX?"),
        ));
    }
    let [n] = read_u32s::<1>(&mut *r, path)?;
    read_payload(&mut *r, n as u64, path)
}

/// Encodes images and labels as plain IDX bytes (used to build the embedded slice and tests).
pub fn to_idx_bytes(ds: &Dataset) -> (Vec<u8>, Vec<u8>) {
    let mut img = Vec::with_capacity(16 + ds.images.len());
    for v in [IDX3_UBYTE, ds.len() as u32, ds.rows as u32, ds.cols as u32] {
        img.extend_from_slice(&v.to_be_bytes());
    }
    img.extend_from_slice(&ds.images);
    let mut lab = Vec::with_capacity(8 + ds.len());
    for v in [IDX1_UBYTE, ds.len() as u32] {
        lab.extend_from_slice(&v.to_be_bytes());
    }
    lab.extend_from_slice(&ds.labels);
    (img, lab)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Dataset {
        Dataset {
            images: (0..2 * 4).map(|x| x as u8).collect(),
            labels: vec![3, 7],
            rows: 2,
            cols: 2,
        }
    }

    #[test]
    fn round_trip_plain() {
        let (i, l) = to_idx_bytes(&tiny());
        let d = Dataset::from_idx_bytes(&i, &l, "mem").unwrap();
        assert_eq!(d.labels, vec![3, 7]);
        assert_eq!(d.image(1), &[4, 5, 6, 7]);
    }

    #[test]
    fn truncated_payload_is_an_error() {
        let (i, l) = to_idx_bytes(&tiny());
        let e = Dataset::from_idx_bytes(&i[..i.len() - 1], &l, "mem").unwrap_err();
        assert!(e.to_string().contains("truncated"), "{e}");
    }

    #[test]
    fn huge_header_refused_before_allocating() {
        let mut i = Vec::new();
        for v in [IDX3_UBYTE, u32::MAX, u32::MAX, u32::MAX] {
            i.extend_from_slice(&v.to_be_bytes());
        }
        let (_, l) = to_idx_bytes(&tiny());
        let e = Dataset::from_idx_bytes(&i, &l, "mem").unwrap_err();
        assert!(e.to_string().contains("limit"), "{e}");
    }

    #[test]
    fn swapped_files_give_magic_error() {
        let (i, l) = to_idx_bytes(&tiny());
        let e = Dataset::from_idx_bytes(&l, &i, "mem").unwrap_err();
        assert!(e.to_string().contains("magic"), "{e}");
    }
}
