//! The frame shared by firstspike's binary files: an 8-byte magic, a format version (u32
//! little-endian), then a bincode payload (fixed-width little-endian integers, under a byte
//! limit of the format's choosing).
//!
//! Owns only that frame: writing it, and reading it back with the magic, the version and the
//! payload checked. Each format ([`crate::model`], [`crate::rate::model`], [`crate::trace`], the
//! training [`crate::train::Checkpoint`]) keeps its own magic, version and limit, and turns a
//! `FrameError` into its own message.

use bincode::Options;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Bytes before the payload: the magic and the version.
pub(crate) const HEADER_BYTES: usize = 12;

/// First bytes of a first-spike model file ([`crate::model`]).
pub(crate) const MODEL_MAGIC: &[u8; 8] = b"FSPKMODL";
/// First bytes of a rate-coded baseline model file ([`crate::rate::model`]).
pub(crate) const RATE_MAGIC: &[u8; 8] = b"FSPKRATE";
/// First bytes of a trace file ([`crate::trace`]).
pub(crate) const TRACE_MAGIC: &[u8; 8] = b"FSPKTRCE";
/// First bytes of a training checkpoint ([`crate::train::Checkpoint`]).
pub(crate) const CHECKPOINT_MAGIC: &[u8; 8] = b"FSPKCKPT";

/// One of the crate's binary formats, as its messages name it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Format {
    /// The magic its files start with.
    pub(crate) magic: &'static [u8; 8],
    /// What a file of it is, with its article: "a model file".
    pub(crate) name: &'static str,
    /// The version this build writes (and reads).
    pub(crate) version: u32,
    /// The older versions it also reads, as messages name them after `version`: "" for none,
    /// " or 5", ", 2 or 1".
    pub(crate) also_reads: &'static str,
    /// What to do with a file of another version.
    pub(crate) other_version: &'static str,
}

/// Every format, so that a file of one given where another is expected is named as such.
const KNOWN: [(&[u8; 8], &str); 4] = [
    (MODEL_MAGIC, "a model file"),
    (RATE_MAGIC, "a rate model file"),
    (TRACE_MAGIC, "a trace file"),
    (CHECKPOINT_MAGIC, "a checkpoint"),
];

impl FrameError {
    /// What is wrong with `bytes` that were expected to be a file of `format`: another of the
    /// crate's formats ("this is a model file, not a checkpoint"), no known magic ("not a
    /// firstspike checkpoint (bad magic)"), another version (with what to do), or a corrupt or
    /// truncated payload.
    pub(crate) fn describe(&self, bytes: &[u8], format: &Format) -> String {
        let article = |n: &'static str| n.split_once(' ').map_or(n, |(_, rest)| rest);
        match self {
            FrameError::BadMagic => match KNOWN
                .iter()
                .find(|(m, _)| *m != format.magic && bytes.starts_with(*m))
            {
                Some((_, other)) => format!("this is {other}, not {}", format.name),
                None => format!("not a firstspike {} (bad magic)", article(format.name)),
            },
            FrameError::Version(v) => format!(
                "format version {v}, this build reads version {}{}; {}",
                format.version, format.also_reads, format.other_version
            ),
            FrameError::Payload(e) => format!("corrupt or truncated payload: {e}"),
        }
    }
}

/// Why bytes are not a file of the expected format.
#[derive(Debug)]
pub(crate) enum FrameError {
    /// Shorter than the header, or another magic.
    BadMagic,
    /// The expected magic, but this other format version.
    Version(u32),
    /// The payload is corrupt, truncated, or followed by extra bytes.
    Payload(bincode::Error),
}

/// The bincode options of every format, with a limit of `limit` bytes. Bincode enforces it
/// when writing; a payload read from a slice is bounded by the slice itself (and bincode
/// preallocates cautiously, whatever a length field claims).
fn options(limit: u64) -> impl Options {
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_little_endian()
        .with_limit(limit)
}

/// `magic`, `version`, then `payload` in bincode. Fails only if the payload is larger than
/// `limit` bytes or cannot be serialised.
pub(crate) fn write<T: Serialize + ?Sized>(
    magic: &[u8; 8],
    version: u32,
    limit: u64,
    payload: &T,
) -> bincode::Result<Vec<u8>> {
    let mut out = Vec::new();
    out.extend_from_slice(magic);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend(options(limit).serialize(payload)?);
    Ok(out)
}

/// Checks the magic and the version, then reads the payload with the options of [`write()`]
/// (trailing bytes are refused).
pub(crate) fn read<T: DeserializeOwned>(
    bytes: &[u8],
    magic: &[u8; 8],
    version: u32,
    limit: u64,
) -> Result<T, FrameError> {
    if bytes.len() < HEADER_BYTES || &bytes[..8] != magic {
        return Err(FrameError::BadMagic);
    }
    let found = u32::from_le_bytes(bytes[8..HEADER_BYTES].try_into().expect("4 bytes"));
    if found != version {
        return Err(FrameError::Version(found));
    }
    options(limit)
        .deserialize(&bytes[HEADER_BYTES..])
        .map_err(FrameError::Payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_format_and_a_file_of_another() {
        let f = Format {
            magic: CHECKPOINT_MAGIC,
            name: "a checkpoint",
            version: 1,
            also_reads: "",
            other_version: "start again",
        };
        let model = write(MODEL_MAGIC, 2, 1 << 20, &1u8).unwrap();
        let e = read::<u8>(&model, CHECKPOINT_MAGIC, 1, 1 << 20).unwrap_err();
        assert_eq!(
            e.describe(&model, &f),
            "this is a model file, not a checkpoint"
        );
        let text = b"hello, world";
        let e = read::<u8>(text, CHECKPOINT_MAGIC, 1, 1 << 20).unwrap_err();
        assert_eq!(
            e.describe(text, &f),
            "not a firstspike checkpoint (bad magic)"
        );
        let v9 = write(CHECKPOINT_MAGIC, 9, 1 << 20, &1u8).unwrap();
        let e = read::<u8>(&v9, CHECKPOINT_MAGIC, 1, 1 << 20).unwrap_err();
        assert_eq!(
            e.describe(&v9, &f),
            "format version 9, this build reads version 1; start again"
        );
    }

    #[test]
    fn frame_round_trips_and_refuses_other_magic_version_and_truncation() {
        let b = write(b"FSPKTEST", 3, 1 << 20, &vec![1u32, 2, 3]).unwrap();
        assert_eq!(&b[..HEADER_BYTES], b"FSPKTEST\x03\0\0\0");
        let v: Vec<u32> = read(&b, b"FSPKTEST", 3, 1 << 20).unwrap();
        assert_eq!(v, [1, 2, 3]);
        let r = read::<Vec<u32>>(&b, b"FSPKOTHR", 3, 1 << 20);
        assert!(matches!(r, Err(FrameError::BadMagic)));
        assert!(matches!(
            read::<Vec<u32>>(&b[..10], b"FSPKTEST", 3, 1 << 20),
            Err(FrameError::BadMagic)
        ));
        assert!(matches!(
            read::<Vec<u32>>(&b, b"FSPKTEST", 4, 1 << 20),
            Err(FrameError::Version(3))
        ));
        assert!(matches!(
            read::<Vec<u32>>(&b[..b.len() - 1], b"FSPKTEST", 3, 1 << 20),
            Err(FrameError::Payload(_))
        ));
        assert!(write(b"FSPKTEST", 3, 8, &vec![1u32, 2, 3]).is_err());
    }
}
