//! A strict reader of NumPy `.npy` files: one array, little-endian, C order.
//!
//! Owns parsing the format (magic, versions 1.0, 2.0 and 3.0, the header's Python dict) and
//! checking that the payload holds exactly `prod(shape) * itemsize` bytes. It does not decide
//! what an array means (see [`crate::inputs`]). Refused, each with a message that says why and
//! what to do: Fortran order, big-endian or structured dtypes, object arrays, dtypes other than
//! the ones in [`Dtype`], truncated files and trailing bytes. The whole file is read at once,
//! at most [`MAX_NPY_BYTES`]; nothing larger than the file is allocated, and no byte sequence
//! makes it panic.

use crate::error::{Error, Result};
use crate::fsio;
use std::path::Path;

/// Largest `.npy` file read (bytes): 4 GiB.
pub(crate) const MAX_NPY_BYTES: u64 = 1 << 32;
/// The 6-byte magic string every `.npy` file starts with.
const MAGIC: &[u8] = b"\x93NUMPY";
/// Dimensions accepted in a shape.
const MAX_DIMS: usize = 8;

/// The element types read: the ones NumPy spells `<f8 <f4 |u1 <i8 <i4 <i2 |i1 <u8 <u4 <u2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    /// `<f8`, float64.
    F64,
    /// `<f4`, float32.
    F32,
    /// `|u1`, uint8.
    U8,
    /// `<u2`, uint16.
    U16,
    /// `<u4`, uint32.
    U32,
    /// `<u8`, uint64.
    U64,
    /// `|i1`, int8.
    I8,
    /// `<i2`, int16.
    I16,
    /// `<i4`, int32.
    I32,
    /// `<i8`, int64.
    I64,
}

impl Dtype {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Dtype::U8 | Dtype::I8 => 1,
            Dtype::U16 | Dtype::I16 => 2,
            Dtype::F32 | Dtype::U32 | Dtype::I32 => 4,
            Dtype::F64 | Dtype::U64 | Dtype::I64 => 8,
        }
    }

    /// NumPy's name (`float64`, `uint8`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Dtype::F64 => "float64",
            Dtype::F32 => "float32",
            Dtype::U8 => "uint8",
            Dtype::U16 => "uint16",
            Dtype::U32 => "uint32",
            Dtype::U64 => "uint64",
            Dtype::I8 => "int8",
            Dtype::I16 => "int16",
            Dtype::I32 => "int32",
            Dtype::I64 => "int64",
        }
    }

    /// Whether the type holds integers.
    pub fn is_integer(self) -> bool {
        !matches!(self, Dtype::F64 | Dtype::F32)
    }

    /// The dtype of a `descr` string, or why it is refused.
    fn parse(descr: &str) -> std::result::Result<Dtype, String> {
        let mut chars = descr.chars();
        let order = chars.next().map_or(String::new(), String::from);
        let code = chars.as_str();
        let d = match code {
            "f8" => Dtype::F64,
            "f4" => Dtype::F32,
            "u1" => Dtype::U8,
            "u2" => Dtype::U16,
            "u4" => Dtype::U32,
            "u8" => Dtype::U64,
            "i1" => Dtype::I8,
            "i2" => Dtype::I16,
            "i4" => Dtype::I32,
            "i8" => Dtype::I64,
            _ => {
                return Err(format!(
                    "dtype '{descr}' is not supported (use float64 or float32 times, uint8 images, or integer labels)"
                ))
            }
        };
        let little = match order.as_str() {
            "<" => true,
            "|" => d.size() == 1,
            ">" => d.size() == 1,
            _ => false,
        };
        if little {
            Ok(d)
        } else if order == ">" {
            Err(format!(
                "dtype '{descr}' is big-endian; save the array as little-endian (arr.astype('<{code}'))"
            ))
        } else {
            Err(format!("dtype '{descr}' has no byte order NumPy writes"))
        }
    }
}

/// One array read from a `.npy` file: its shape, dtype and raw little-endian bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Npy {
    /// The shape, outermost dimension first (C order).
    pub shape: Vec<usize>,
    /// The element type.
    pub dtype: Dtype,
    /// `prod(shape) * dtype.size()` bytes, little-endian.
    data: Vec<u8>,
}

impl Npy {
    /// Reads and checks the `.npy` file at `path`; errors name it.
    pub fn load(path: &Path) -> Result<Npy> {
        let bytes = fsio::read_limited(path, MAX_NPY_BYTES)?;
        Npy::parse(&bytes, path)
    }

    /// Parses the bytes of a `.npy` file; `path` only names the source in errors (an
    /// [`Error::Data`] saying what is wrong).
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Npy> {
        Npy::decode(bytes).map_err(|what| Error::data(path, what))
    }

    /// Parses the bytes of a `.npy` file, or says what is wrong with them in words (for a
    /// reader that names the source its own way, such as an `.npz` member).
    pub(crate) fn decode(bytes: &[u8]) -> std::result::Result<Npy, String> {
        if !bytes.starts_with(MAGIC) {
            return Err(
                "not a .npy file (it does not start with \\x93NUMPY); save arrays with numpy.save"
                    .into(),
            );
        }
        let (major, minor) = match bytes.get(6..8) {
            Some(&[a, b]) => (a, b),
            _ => return Err("truncated in the version bytes".into()),
        };
        let (len_bytes, utf8) = match (major, minor) {
            (1, 0) => (2, false),
            (2, 0) => (4, false),
            (3, 0) => (4, true),
            _ => {
                return Err(format!(
                    ".npy format version {major}.{minor} is not supported (1.0, 2.0 and 3.0 are)"
                ))
            }
        };
        let lb = bytes
            .get(8..8 + len_bytes)
            .ok_or("truncated in the header length")?;
        let hlen = lb
            .iter()
            .rev()
            .fold(0usize, |acc, &b| (acc << 8) | b as usize);
        let start = 8 + len_bytes;
        let header = bytes
            .get(start..start.saturating_add(hlen))
            .ok_or_else(|| {
                format!(
                    "truncated: the header is {hlen} bytes but the file ends after {}",
                    bytes.len() - start
                )
            })?;
        let header: String = if utf8 {
            std::str::from_utf8(header)
                .map_err(|_| "the header is not UTF-8")?
                .to_string()
        } else {
            // Versions 1 and 2 are latin-1: every byte is one character.
            header.iter().map(|&b| b as char).collect()
        };
        let (descr, fortran, shape) = parse_header(&header)?;
        if fortran {
            return Err("the array is in Fortran order; save it in C order (numpy.save(f, numpy.ascontiguousarray(arr)))".into());
        }
        let dtype = Dtype::parse(&descr)?;
        let payload = &bytes[start + hlen..];
        let count = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .and_then(|n| n.checked_mul(dtype.size()));
        let want = match count {
            Some(n) if n <= payload.len() => n,
            _ => {
                return Err(format!(
                    "truncated: shape {} of {} needs {} bytes of data but the file holds {}",
                    shape_text(&shape),
                    dtype.name(),
                    count.map_or("more than 2^64".into(), |n| n.to_string()),
                    payload.len()
                ))
            }
        };
        if want < payload.len() {
            return Err(format!(
                "{} bytes after the data that shape {} of {} describes; the file is corrupt",
                payload.len() - want,
                shape_text(&shape),
                dtype.name()
            ));
        }
        Ok(Npy {
            shape,
            dtype,
            data: payload.to_vec(),
        })
    }

    /// An array handed over in memory (by the Python module, from numpy): its dtype as NumPy
    /// spells it (`arr.dtype.str`, e.g. `<f8`, `|u1`), its shape, and its elements' bytes in C
    /// order. The dtype is checked as a file's header is; the bytes must be the shape's.
    #[cfg_attr(not(feature = "python"), allow(dead_code))]
    pub(crate) fn from_parts(
        descr: &str,
        shape: Vec<usize>,
        data: Vec<u8>,
    ) -> std::result::Result<Npy, String> {
        let dtype = Dtype::parse(descr)?;
        let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        if count.and_then(|n| n.checked_mul(dtype.size())) != Some(data.len()) {
            return Err(format!(
                "{} bytes do not make an array of shape {} of {}",
                data.len(),
                shape_text(&shape),
                dtype.name()
            ));
        }
        Ok(Npy { shape, dtype, data })
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len() / self.dtype.size()
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The elements as f64, if the dtype is float64 or float32 (float32 widens exactly).
    pub fn to_f64(&self) -> Option<Vec<f64>> {
        let d = &self.data;
        match self.dtype {
            Dtype::F64 => Some(
                d.chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                    .collect(),
            ),
            Dtype::F32 => Some(
                d.chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")) as f64)
                    .collect(),
            ),
            _ => None,
        }
    }

    /// The elements as bytes, if the dtype is uint8.
    pub fn to_u8(&self) -> Option<Vec<u8>> {
        (self.dtype == Dtype::U8).then(|| self.data.clone())
    }

    /// The elements as i128 (which holds every integer dtype), if the dtype is an integer.
    pub fn to_ints(&self) -> Option<Vec<i128>> {
        let d = &self.data;
        let v: Vec<i128> = match self.dtype {
            Dtype::F64 | Dtype::F32 => return None,
            Dtype::U8 => d.iter().map(|&b| b as i128).collect(),
            Dtype::I8 => d.iter().map(|&b| b as i8 as i128).collect(),
            Dtype::U16 => ints::<2>(d, |c| u16::from_le_bytes(c) as i128),
            Dtype::I16 => ints::<2>(d, |c| i16::from_le_bytes(c) as i128),
            Dtype::U32 => ints::<4>(d, |c| u32::from_le_bytes(c) as i128),
            Dtype::I32 => ints::<4>(d, |c| i32::from_le_bytes(c) as i128),
            Dtype::U64 => ints::<8>(d, |c| u64::from_le_bytes(c) as i128),
            Dtype::I64 => ints::<8>(d, |c| i64::from_le_bytes(c) as i128),
        };
        Some(v)
    }
}

/// Each `N`-byte little-endian element of `d`, read by `f`.
fn ints<const N: usize>(d: &[u8], f: impl Fn([u8; N]) -> i128) -> Vec<i128> {
    d.chunks_exact(N)
        .map(|c| f(c.try_into().expect("chunks of N bytes")))
        .collect()
}

/// A shape as NumPy prints it: `(3, 4)`, `(5,)`, `()`.
pub(crate) fn shape_text(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The header dict's `descr`, `fortran_order` and `shape`, e.g. from
/// `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }`.
fn parse_header(h: &str) -> std::result::Result<(String, bool, Vec<usize>), String> {
    let mut p = Parser {
        s: h.as_bytes(),
        i: 0,
    };
    let bad =
        |why: &str| format!("malformed header ({why}); is this a .npy file written by NumPy?");
    p.skip_ws();
    p.eat(b'{').map_err(|_| bad("no dict"))?;
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    loop {
        p.skip_ws();
        if p.eat(b'}').is_ok() {
            break;
        }
        let key = p.string().map_err(|e| bad(&e))?;
        p.skip_ws();
        p.eat(b':').map_err(|_| bad("no ':' after a key"))?;
        p.skip_ws();
        match key.as_str() {
            "descr" => {
                if p.peek() == Some(b'[') {
                    return Err(
                        "the array has a structured dtype (fields); save a plain array of numbers"
                            .into(),
                    );
                }
                descr = Some(p.string().map_err(|e| bad(&e))?);
            }
            "fortran_order" => fortran = Some(p.boolean().map_err(|e| bad(&e))?),
            "shape" => shape = Some(p.tuple().map_err(|e| bad(&e))?),
            k => return Err(bad(&format!("unknown key '{k}'"))),
        }
        p.skip_ws();
        if p.eat(b',').is_err() {
            p.skip_ws();
            p.eat(b'}').map_err(|_| bad("expected ',' or '}'"))?;
            break;
        }
    }
    if p.s[p.i..].iter().any(|b| !b.is_ascii_whitespace()) {
        return Err(bad("text after the dict"));
    }
    match (descr, fortran, shape) {
        (Some(d), Some(f), Some(s)) => Ok((d, f, s)),
        _ => Err(bad("descr, fortran_order or shape missing")),
    }
}

/// A cursor over the header's bytes.
struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> std::result::Result<(), ()> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(())
        }
    }
    /// A quoted string without escapes.
    fn string(&mut self) -> std::result::Result<String, String> {
        let q = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => return Err("expected a quoted string".into()),
        };
        self.i += 1;
        let start = self.i;
        while let Some(b) = self.peek() {
            if b == q {
                let text = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                self.i += 1;
                return Ok(text);
            }
            if b == b'\\' {
                return Err("escapes in a string".into());
            }
            self.i += 1;
        }
        Err("unterminated string".into())
    }
    fn boolean(&mut self) -> std::result::Result<bool, String> {
        for (word, v) in [(&b"True"[..], true), (&b"False"[..], false)] {
            if self.s[self.i..].starts_with(word) {
                self.i += word.len();
                return Ok(v);
            }
        }
        Err("fortran_order is not True or False".into())
    }
    /// A tuple of non-negative integers: `()`, `(5,)`, `(3, 4)`.
    fn tuple(&mut self) -> std::result::Result<Vec<usize>, String> {
        self.eat(b'(').map_err(|_| "shape is not a tuple")?;
        let mut out = Vec::new();
        let mut comma = false;
        loop {
            self.skip_ws();
            if self.eat(b')').is_ok() {
                break;
            }
            let start = self.i;
            while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                self.i += 1;
            }
            let digits = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
            let d: usize = digits
                .parse()
                .map_err(|_| "a shape entry is not a whole number")?;
            out.push(d);
            if out.len() > MAX_DIMS {
                return Err(format!("more than {MAX_DIMS} dimensions"));
            }
            self.skip_ws();
            // A trailing L (Python 2 longs) is accepted as NumPy wrote it once.
            let _ = self.eat(b'L');
            self.skip_ws();
            if self.eat(b',').is_err() {
                self.skip_ws();
                self.eat(b')')
                    .map_err(|_| "expected ',' or ')' in the shape")?;
                break;
            }
            comma = true;
        }
        if out.len() == 1 && !comma {
            // `(5)` is an int in Python, not a tuple; NumPy writes `(5,)`.
            return Err("shape '(n)' is not a tuple".into());
        }
        Ok(out)
    }
}

/// Writes `.npy` bytes (version 1.0, C order) of an array, for the tests.
#[cfg(test)]
fn to_bytes(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let shape_s = shape_text(shape);
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_s}, }}");
    // Pad with spaces so that the data starts at a multiple of 64 bytes, then a newline.
    let total = MAGIC.len() + 2 + 2 + h.len() + 1;
    h.push_str(&" ".repeat((64 - total % 64) % 64));
    h.push('\n');
    let mut out = Vec::with_capacity(10 + h.len() + data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f64_bytes(v: &[f64]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn round_trips_float64_and_uint8() {
        let b = to_bytes(
            "<f8",
            &[2, 3],
            &f64_bytes(&[0.0, 1.5, f64::INFINITY, 3.0, 4.0, 5.0]),
        );
        assert_eq!(
            (b.len() - 48) % 64,
            0,
            "the data starts at a multiple of 64 bytes"
        );
        let a = Npy::decode(&b).unwrap();
        assert_eq!(a.shape, [2, 3]);
        assert_eq!(a.to_f64().unwrap()[2], f64::INFINITY);
        assert!(a.to_u8().is_none() && a.to_ints().is_none());
        let b = to_bytes("|u1", &[4], &[1, 2, 3, 255]);
        let a = Npy::decode(&b).unwrap();
        assert_eq!(
            (a.dtype, a.to_u8().unwrap()),
            (Dtype::U8, vec![1, 2, 3, 255])
        );
    }

    #[test]
    fn reads_every_integer_dtype() {
        let cases: [(&str, Vec<u8>); 8] = [
            ("<i8", (-3i64).to_le_bytes().to_vec()),
            ("<i4", (-3i32).to_le_bytes().to_vec()),
            ("<i2", (-3i16).to_le_bytes().to_vec()),
            ("|i1", vec![(-3i8) as u8]),
            ("<u8", 7u64.to_le_bytes().to_vec()),
            ("<u4", 7u32.to_le_bytes().to_vec()),
            ("<u2", 7u16.to_le_bytes().to_vec()),
            ("|u1", vec![7]),
        ];
        for (d, bytes) in cases {
            let a = Npy::decode(&to_bytes(d, &[1], &bytes)).unwrap();
            let want = if d.contains('i') { -3 } else { 7 };
            assert_eq!(a.to_ints().unwrap(), [want], "{d}");
        }
    }

    #[test]
    fn versions_2_and_3_and_odd_spacing() {
        let h = "{\"descr\":'<f4',\"fortran_order\":False,\"shape\":(1,)}\n";
        for v in [2u8, 3] {
            let mut b = MAGIC.to_vec();
            b.extend_from_slice(&[v, 0]);
            b.extend_from_slice(&(h.len() as u32).to_le_bytes());
            b.extend_from_slice(h.as_bytes());
            b.extend_from_slice(&1.5f32.to_le_bytes());
            assert_eq!(Npy::decode(&b).unwrap().to_f64().unwrap(), [1.5], "v{v}");
        }
    }

    #[test]
    fn refusals_say_why() {
        let fortran = {
            let mut b = to_bytes("<f8", &[1, 1], &f64_bytes(&[1.0]));
            let k = b.windows(5).position(|w| w == b"False").unwrap();
            b.splice(k..k + 5, *b"True ");
            b
        };
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (fortran, "Fortran order"),
            (to_bytes(">f8", &[1], &[0; 8]), "big-endian"),
            (to_bytes("<c16", &[1], &[0; 16]), "not supported"),
            (to_bytes("|O", &[1], &[0; 8]), "not supported"),
            (to_bytes("<f8", &[2], &[0; 8]), "truncated"),
            (to_bytes("<f8", &[1], &[0; 9]), "after the data"),
            (to_bytes("<f8", &[usize::MAX, 2], &[0; 8]), "truncated"),
            (b"PK\x03\x04".to_vec(), "not a .npy file"),
            (b"\x93NUMPY\x04\x00".to_vec(), "version 4.0"),
        ];
        for (b, why) in cases {
            let e = Npy::decode(&b).unwrap_err();
            assert!(e.contains(why), "{why}: {e}");
        }
    }

    /// Every truncation and many single-byte mutations of a valid file give an error or an
    /// array whose bytes fit the file, never a panic.
    #[test]
    fn corrupt_files_never_panic() {
        let good = to_bytes("<f8", &[3, 2], &f64_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));
        for n in 0..good.len() {
            assert!(Npy::decode(&good[..n]).is_err(), "truncated at {n}");
        }
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15; // a fixed xorshift seed
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut b = good.clone();
            let k = (x % b.len() as u64) as usize;
            b[k] = (x >> 32) as u8;
            if x.is_multiple_of(3) {
                let k2 = ((x >> 16) % b.len() as u64) as usize;
                b[k2] = (x >> 40) as u8;
            }
            if let Ok(a) = Npy::decode(&b) {
                assert!(a.len() * a.dtype.size() <= b.len());
            }
        }
    }
}
