//! A strict reader of NumPy `.npz` files: a ZIP archive of `.npy` arrays, as `numpy.savez`
//! (stored) and `numpy.savez_compressed` (deflated) write them.
//!
//! Owns the archive only: the end-of-central-directory record (and its ZIP64 form), the
//! central directory's entries (ZIP64 sizes and offsets included), each entry's local header,
//! the two compression methods NumPy uses (0, stored; 8, deflate) and each entry's CRC-32.
//! Each member is then parsed by the `.npy` reader (`npy.rs`). Refused, each with a message: not a ZIP
//! archive, encrypted or otherwise compressed members, members that are not `NAME.npy`, names
//! given twice, sizes or offsets outside the file, a wrong CRC, and archives that unpack to
//! more than `MAX_NPY_BYTES` (4 GiB). Nothing larger than the declared (and bounded)
//! sizes is allocated, and no byte sequence makes it panic.

use crate::error::{Error, Result};
use crate::npy::{Npy, MAX_NPY_BYTES};
use std::io::Read;
use std::path::Path;

/// Signature of the end-of-central-directory record.
const EOCD: u32 = 0x0605_4b50;
/// Signature of the ZIP64 end-of-central-directory locator.
const EOCD64_LOCATOR: u32 = 0x0706_4b50;
/// Signature of the ZIP64 end-of-central-directory record.
const EOCD64: u32 = 0x0606_4b50;
/// Signature of a central directory entry.
const CENTRAL: u32 = 0x0201_4b50;
/// Signature of a local file header.
const LOCAL: u32 = 0x0403_4b50;
/// Most members read.
const MAX_MEMBERS: usize = 4096;

/// The arrays of one `.npz` file, in the archive's order, each with its name (without
/// `.npy`).
#[derive(Clone, Debug, PartialEq)]
pub struct Npz {
    /// `(name, array)` per member.
    pub arrays: Vec<(String, Npy)>,
}

/// Little-endian integers at an offset, `None` past the end.
fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// One member as the central directory describes it.
struct Entry {
    name: String,
    method: u16,
    flags: u16,
    crc: u32,
    packed: u64,
    size: u64,
    local: u64,
}

impl Npz {
    /// Reads and checks the `.npz` file at `path`; errors name it.
    pub fn load(path: &Path) -> Result<Npz> {
        let bytes = crate::fsio::read_limited(path, MAX_NPY_BYTES)?;
        Npz::parse(&bytes, path)
    }

    /// The array called `name`, if the archive has one.
    pub fn get(&self, name: &str) -> Option<&Npy> {
        self.arrays.iter().find(|(n, _)| n == name).map(|(_, a)| a)
    }

    /// Parses the bytes of a `.npz` file; `path` only names the source in errors (an
    /// [`Error::Data`] saying what is wrong).
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Npz> {
        Npz::decode(bytes).map_err(|what| Error::data(path, what))
    }

    /// Parses the bytes of a `.npz` file, or says what is wrong with them in words.
    fn decode(bytes: &[u8]) -> std::result::Result<Npz, String> {
        let entries = central_directory(bytes)?;
        let mut arrays: Vec<(String, Npy)> = Vec::with_capacity(entries.len());
        let mut unpacked = 0u64;
        for e in entries {
            let Some(stem) = e.name.strip_suffix(".npy") else {
                return Err(format!(
                    "member '{}' is not a .npy array (an .npz holds NAME.npy members, as numpy.savez writes)",
                    e.name
                ));
            };
            if arrays.iter().any(|(n, _)| n == stem) {
                return Err(format!("member '{}' is given twice", e.name));
            }
            unpacked = unpacked.saturating_add(e.size);
            if unpacked > MAX_NPY_BYTES {
                return Err(format!(
                    "the arrays unpack to more than {MAX_NPY_BYTES} bytes, the most read"
                ));
            }
            let raw = member(bytes, &e)?;
            let npy = Npy::decode(&raw).map_err(|w| format!("member '{}': {w}", e.name))?;
            arrays.push((stem.to_string(), npy));
        }
        Ok(Npz { arrays })
    }
}

/// The central directory's entries.
fn central_directory(b: &[u8]) -> std::result::Result<Vec<Entry>, String> {
    let not_zip = || {
        "not an .npz file (no ZIP end-of-central-directory record; an .npz is what numpy.savez writes)"
            .to_string()
    };
    // The record is 22 bytes plus a comment of at most 65,535.
    let lowest = b.len().saturating_sub(22 + 0xffff);
    let eocd = (lowest..=b.len().saturating_sub(22))
        .rev()
        .find(|&at| u32_at(b, at) == Some(EOCD))
        .ok_or_else(not_zip)?;
    let bad = |what: &str| format!("corrupt .npz archive: {what}");
    let mut count = u64::from(u16_at(b, eocd + 10).ok_or_else(not_zip)?);
    let mut dir_size = u64::from(u32_at(b, eocd + 12).ok_or_else(not_zip)?);
    let mut dir_at = u64::from(u32_at(b, eocd + 16).ok_or_else(not_zip)?);
    if count == 0xffff || dir_size == 0xffff_ffff || dir_at == 0xffff_ffff {
        // ZIP64: the locator sits just before the record and points at the ZIP64 record.
        let loc = eocd
            .checked_sub(20)
            .filter(|&at| u32_at(b, at) == Some(EOCD64_LOCATOR))
            .ok_or_else(|| bad("a ZIP64 archive without its locator"))?;
        let rec = u64_at(b, loc + 8).ok_or_else(|| bad("truncated ZIP64 locator"))?;
        let rec = usize::try_from(rec)
            .ok()
            .filter(|&at| u32_at(b, at) == Some(EOCD64))
            .ok_or_else(|| bad("the ZIP64 record is not where its locator says"))?;
        count = u64_at(b, rec + 32).ok_or_else(|| bad("truncated ZIP64 record"))?;
        dir_size = u64_at(b, rec + 40).ok_or_else(|| bad("truncated ZIP64 record"))?;
        dir_at = u64_at(b, rec + 48).ok_or_else(|| bad("truncated ZIP64 record"))?;
    }
    if count as usize > MAX_MEMBERS {
        return Err(format!("{count} members: at most {MAX_MEMBERS} are read"));
    }
    let dir = usize::try_from(dir_at)
        .ok()
        .zip(usize::try_from(dir_size).ok())
        .and_then(|(at, n)| b.get(at..at.checked_add(n)?))
        .ok_or_else(|| bad("the central directory lies outside the file"))?;
    let mut entries = Vec::with_capacity(count as usize);
    let mut at = 0usize;
    for k in 0..count {
        let trunc = || bad(&format!("central directory entry {k} is truncated"));
        if u32_at(dir, at) != Some(CENTRAL) {
            return Err(bad(&format!(
                "central directory entry {k} has no signature"
            )));
        }
        let flags = u16_at(dir, at + 8).ok_or_else(trunc)?;
        let method = u16_at(dir, at + 10).ok_or_else(trunc)?;
        let crc = u32_at(dir, at + 16).ok_or_else(trunc)?;
        let mut packed = u64::from(u32_at(dir, at + 20).ok_or_else(trunc)?);
        let mut size = u64::from(u32_at(dir, at + 24).ok_or_else(trunc)?);
        let name_len = usize::from(u16_at(dir, at + 28).ok_or_else(trunc)?);
        let extra_len = usize::from(u16_at(dir, at + 30).ok_or_else(trunc)?);
        let comment_len = usize::from(u16_at(dir, at + 32).ok_or_else(trunc)?);
        let mut local = u64::from(u32_at(dir, at + 42).ok_or_else(trunc)?);
        let name_at = at + 46;
        let name = dir.get(name_at..name_at + name_len).ok_or_else(trunc)?;
        let name = String::from_utf8_lossy(name).into_owned();
        let extra = dir
            .get(name_at + name_len..name_at + name_len + extra_len)
            .ok_or_else(trunc)?;
        // ZIP64 extra field (id 1): the 64-bit values of the fields that read 0xffffffff, in
        // the order uncompressed size, compressed size, local header offset.
        let mut e = 0usize;
        while e + 4 <= extra.len() {
            let id = u16_at(extra, e).ok_or_else(trunc)?;
            let len = usize::from(u16_at(extra, e + 2).ok_or_else(trunc)?);
            let body = extra.get(e + 4..e + 4 + len).ok_or_else(trunc)?;
            if id == 1 {
                let mut v = body
                    .chunks_exact(8)
                    .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")));
                for field in [&mut size, &mut packed, &mut local] {
                    if *field == 0xffff_ffff {
                        *field = v.next().ok_or_else(trunc)?;
                    }
                }
            }
            e += 4 + len;
        }
        entries.push(Entry {
            name,
            method,
            flags,
            crc,
            packed,
            size,
            local,
        });
        at = name_at + name_len + extra_len + comment_len;
    }
    Ok(entries)
}

/// The unpacked bytes of member `e`.
fn member(b: &[u8], e: &Entry) -> std::result::Result<Vec<u8>, String> {
    let bad = |what: &str| format!("corrupt .npz archive: member '{}': {what}", e.name);
    if e.flags & 1 != 0 {
        return Err(format!("member '{}' is encrypted", e.name));
    }
    let at = usize::try_from(e.local)
        .ok()
        .filter(|&at| u32_at(b, at) == Some(LOCAL))
        .ok_or_else(|| bad("no local header where the directory says"))?;
    let name_len = usize::from(u16_at(b, at + 26).ok_or_else(|| bad("truncated header"))?);
    let extra_len = usize::from(u16_at(b, at + 28).ok_or_else(|| bad("truncated header"))?);
    let start = at + 30 + name_len + extra_len;
    let packed = usize::try_from(e.packed)
        .ok()
        .and_then(|n| b.get(start..start.checked_add(n)?))
        .ok_or_else(|| bad("its data lies outside the file"))?;
    let size = usize::try_from(e.size).map_err(|_| bad("too large"))?;
    let out = match e.method {
        0 => packed.to_vec(),
        8 => {
            // Capacity is a hint: what the stream really unpacks to (at most `size`) decides.
            let mut out = Vec::with_capacity(size.min(packed.len().saturating_mul(4) + 1024));
            flate2::read::DeflateDecoder::new(packed)
                .take(e.size.saturating_add(1))
                .read_to_end(&mut out)
                .map_err(|err| bad(&format!("its deflate stream is broken ({err})")))?;
            out
        }
        m => {
            return Err(format!(
                "member '{}' is compressed with method {m}; only stored (numpy.savez) and deflate (numpy.savez_compressed) are read",
                e.name
            ))
        }
    };
    if out.len() != size {
        return Err(bad(&format!(
            "it unpacks to {} bytes, the directory says {size}",
            out.len()
        )));
    }
    let mut crc = flate2::Crc::new();
    crc.update(&out);
    if crc.sum() != e.crc {
        return Err(bad("its CRC-32 does not match its bytes"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `.npy` of float32 values of shape `shape`.
    fn npy_f32(shape: &[usize], v: &[f32]) -> Vec<u8> {
        let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        let shape = if dims.len() == 1 {
            format!("({},)", dims[0])
        } else {
            format!("({})", dims.join(", "))
        };
        let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend((header.len() as u16).to_le_bytes());
        out.extend(header.as_bytes());
        out.extend(v.iter().flat_map(|x| x.to_le_bytes()));
        out
    }

    /// A ZIP archive of `members` (name, bytes), stored or deflated, with ZIP64 extra fields
    /// in the local headers as numpy.savez writes them.
    fn zip(members: &[(&str, Vec<u8>)], deflate: bool) -> Vec<u8> {
        use std::io::Write;
        let mut out = Vec::new();
        let mut dir = Vec::new();
        for (name, data) in members {
            let mut crc = flate2::Crc::new();
            crc.update(data);
            let packed = if deflate {
                let mut e =
                    flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            } else {
                data.clone()
            };
            let method: u16 = if deflate { 8 } else { 0 };
            let local = out.len() as u32;
            out.extend(LOCAL.to_le_bytes());
            out.extend([45u8, 0, 0, 0]);
            out.extend(method.to_le_bytes());
            out.extend([0u8; 4]);
            out.extend(crc.sum().to_le_bytes());
            out.extend(u32::MAX.to_le_bytes());
            out.extend(u32::MAX.to_le_bytes());
            out.extend((name.len() as u16).to_le_bytes());
            out.extend(20u16.to_le_bytes());
            out.extend(name.as_bytes());
            out.extend(1u16.to_le_bytes());
            out.extend(16u16.to_le_bytes());
            out.extend((data.len() as u64).to_le_bytes());
            out.extend((packed.len() as u64).to_le_bytes());
            out.extend(&packed);
            dir.extend(CENTRAL.to_le_bytes());
            dir.extend([45u8, 3, 45, 0, 0, 0]);
            dir.extend(method.to_le_bytes());
            dir.extend([0u8; 4]);
            dir.extend(crc.sum().to_le_bytes());
            dir.extend((packed.len() as u32).to_le_bytes());
            dir.extend((data.len() as u32).to_le_bytes());
            dir.extend((name.len() as u16).to_le_bytes());
            dir.extend([0u8; 12]);
            dir.extend(local.to_le_bytes());
            dir.extend(name.as_bytes());
        }
        let dir_at = out.len() as u32;
        out.extend(&dir);
        out.extend(EOCD.to_le_bytes());
        out.extend([0u8; 4]);
        out.extend((members.len() as u16).to_le_bytes());
        out.extend((members.len() as u16).to_le_bytes());
        out.extend((dir.len() as u32).to_le_bytes());
        out.extend(dir_at.to_le_bytes());
        out.extend([0u8; 2]);
        out
    }

    #[test]
    fn reads_stored_and_deflated_archives() {
        let a = npy_f32(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let b = npy_f32(&[3], &[0.5, -0.5, 0.25]);
        for deflate in [false, true] {
            let z = zip(&[("w.npy", a.clone()), ("b.npy", b.clone())], deflate);
            let npz = Npz::decode(&z).unwrap();
            assert_eq!(npz.arrays.len(), 2);
            let w = npz.get("w").unwrap();
            assert_eq!(w.shape, [2, 3]);
            assert_eq!(w.to_f64().unwrap(), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
            assert_eq!(npz.get("b").unwrap().to_f64().unwrap(), [0.5, -0.5, 0.25]);
            assert!(npz.get("c").is_none());
        }
    }

    #[test]
    fn refuses_what_is_not_a_sound_archive() {
        let a = npy_f32(&[2], &[1.0, 2.0]);
        let good = zip(&[("w.npy", a.clone())], false);
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"not a zip".to_vec(), "not an .npz file"),
            (zip(&[("w.txt", a.clone())], false), "is not a .npy array"),
            (
                zip(&[("w.npy", a.clone()), ("w.npy", a.clone())], false),
                "given twice",
            ),
            (
                zip(&[("w.npy", b"plain".to_vec())], false),
                "member 'w.npy': ",
            ),
            (
                {
                    // A flipped byte in the data: the CRC no longer matches.
                    let mut z = good.clone();
                    let at = z.len() - 80;
                    z[at] ^= 1;
                    z
                },
                "CRC-32",
            ),
            (good[..good.len() - 5].to_vec(), "not an .npz file"),
            (
                {
                    // The directory points past the end.
                    let mut z = good.clone();
                    let n = z.len();
                    z[n - 6..n - 2].copy_from_slice(&u32::MAX.to_le_bytes());
                    z
                },
                "corrupt .npz archive",
            ),
        ];
        for (bytes, want) in cases {
            let e = Npz::decode(&bytes).unwrap_err();
            assert!(e.contains(want), "expected '{want}' in: {e}");
        }
        // Every truncation is refused, none panics.
        for n in 0..good.len() {
            assert!(Npz::decode(&good[..n]).is_err());
        }
    }
}

#[cfg(test)]
mod numpy_files {
    use super::*;

    /// Archives written by NumPy itself (2.x, `tests/data/npz/`): `numpy.savez` (stored, ZIP64
    /// local headers) and `numpy.savez_compressed` (deflate) of
    /// `{"layer0.weight": arange(12, dtype=float32).reshape(3, 4) / 8,
    ///   "layer0.bias": [0.5, -1.0, 2.0]}`.
    #[test]
    fn reads_what_numpy_writes() {
        for f in ["numpy-savez.npz", "numpy-savez-compressed.npz"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data/npz")
                .join(f);
            let npz = Npz::load(&path).unwrap();
            let w = npz.get("layer0.weight").unwrap();
            assert_eq!(w.shape, [3, 4], "{f}");
            let want: Vec<f64> = (0..12).map(|k| k as f64 / 8.0).collect();
            assert_eq!(w.to_f64().unwrap(), want, "{f}");
            let b = npz.get("layer0.bias").unwrap();
            assert_eq!(b.to_f64().unwrap(), [0.5, -1.0, 2.0], "{f}");
        }
    }
}
