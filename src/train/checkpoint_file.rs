//! The checkpoint file: writing a [`Checkpoint`] atomically (keeping the one it replaces as
//! `NAME.prev`) and reading it back in this version's format or an older one's
//! (`super::legacy` converts those), validated before it is returned.
//!
//! It sits above both the checkpoint type (`checkpoint.rs`) and the older payloads
//! (`legacy.rs`), which therefore need not know each other's reader.

use super::checkpoint::{
    Checkpoint, CHECKPOINT_MAGIC, CHECKPOINT_VERSION, CHECKPOINT_VERSION_NO_DECISION_COST,
    CHECKPOINT_VERSION_NO_FIXED_ORIGIN, CHECKPOINT_VERSION_NO_GAIN,
    CHECKPOINT_VERSION_NO_GAIN_BAND, CHECKPOINT_VERSION_NO_TIME_LOSS, MAX_CHECKPOINT_BYTES,
};
use super::legacy::{CheckpointV7, CheckpointV8, CheckpointV9};
use crate::error::{Error, Result};
use crate::fileformat::{self, Format, FrameError};
use crate::fsio;
use crate::model::with_ext;
use std::path::Path;

fn bad(path: &Path, what: impl Into<String>) -> Error {
    Error::checkpoint(path, what)
}

/// This build's checkpoint format, as messages name it.
const CHECKPOINT_FORMAT: Format = Format {
    magic: CHECKPOINT_MAGIC,
    name: "a checkpoint",
    version: CHECKPOINT_VERSION,
    also_reads: ", 9, 8, 7, 6 or 5",
    other_version: "resume with the firstspike that wrote it, or start the run again",
};

/// The error for `bytes` that are not a checkpoint of this version (naming a file of another
/// of the crate's formats as such).
fn frame_error(path: &Path, bytes: &[u8], e: FrameError) -> Error {
    let corrupt = matches!(e, FrameError::Payload(_));
    let mut what = e.describe(bytes, &CHECKPOINT_FORMAT);
    if corrupt {
        what.push_str("; resume from the previous checkpoint (.prev) or start again");
    }
    bad(path, what)
}

impl Checkpoint {
    /// Serialises (magic, version, bincode).
    pub fn to_bytes(&self) -> Vec<u8> {
        fileformat::write(
            CHECKPOINT_MAGIC,
            self.format_version(),
            MAX_CHECKPOINT_BYTES,
            self,
        )
        .expect("a checkpoint always serialises")
    }

    /// Parses and validates; `path` only names the source in errors.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Checkpoint> {
        let read = |version| {
            fileformat::read::<Checkpoint>(bytes, CHECKPOINT_MAGIC, version, MAX_CHECKPOINT_BYTES)
        };
        let c = match read(CHECKPOINT_VERSION) {
            Err(FrameError::Version(CHECKPOINT_VERSION_NO_DECISION_COST)) => {
                fileformat::read::<CheckpointV9>(
                    bytes,
                    CHECKPOINT_MAGIC,
                    CHECKPOINT_VERSION_NO_DECISION_COST,
                    MAX_CHECKPOINT_BYTES,
                )
                .map(Checkpoint::from)
            }
            Err(FrameError::Version(CHECKPOINT_VERSION_NO_GAIN_BAND)) => {
                fileformat::read::<CheckpointV8>(
                    bytes,
                    CHECKPOINT_MAGIC,
                    CHECKPOINT_VERSION_NO_GAIN_BAND,
                    MAX_CHECKPOINT_BYTES,
                )
                .map(Checkpoint::from)
            }
            Err(FrameError::Version(
                v @ (CHECKPOINT_VERSION_NO_GAIN
                | CHECKPOINT_VERSION_NO_TIME_LOSS
                | CHECKPOINT_VERSION_NO_FIXED_ORIGIN),
            )) => {
                fileformat::read::<CheckpointV7>(bytes, CHECKPOINT_MAGIC, v, MAX_CHECKPOINT_BYTES)
                    .map(Checkpoint::from)
            }
            other => other,
        }
        .map_err(|e| frame_error(path, bytes, e))?;
        let version = u32::from_le_bytes(bytes[8..12].try_into().expect("a read header"));
        if version < c.least_version() {
            return Err(bad(
                path,
                format!(
                    "format version {version} cannot hold its settings (loss origin {}); the file is corrupt, resume from the previous checkpoint (.prev)",
                    c.config.loss_origin
                ),
            ));
        }
        c.problems().map_err(|w| {
            bad(
                path,
                format!("{w}; the file is corrupt, resume from the previous checkpoint (.prev)"),
            )
        })?;
        Ok(c)
    }

    /// Writes `path` atomically, first keeping the checkpoint it replaces as `path.prev`
    /// (also atomically): at every moment both files, where present, are complete.
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = self.to_bytes();
        if path.is_file() {
            let prev = with_ext(path, "prev");
            let tmp = with_ext(path, "prev.tmp");
            let _ = std::fs::remove_file(&tmp);
            std::fs::hard_link(path, &tmp)
                .or_else(|_| std::fs::copy(path, &tmp).map(|_| ()))
                .and_then(|()| std::fs::rename(&tmp, &prev))
                .map_err(|e| Error::io(&prev, e))?;
        }
        fsio::write_atomic(path, &bytes)
    }

    /// Reads and validates a checkpoint file.
    pub fn load(path: &Path) -> Result<Checkpoint> {
        if !path.is_file() {
            let prev = with_ext(path, "prev");
            let hint = if prev.is_file() {
                format!("; {} exists: the checkpoint before it", prev.display())
            } else {
                String::new()
            };
            return Err(bad(path, format!("file not found{hint}")));
        }
        let bytes = fsio::read_limited(path, MAX_CHECKPOINT_BYTES)?;
        Checkpoint::from_bytes(&bytes, path)
    }
}
