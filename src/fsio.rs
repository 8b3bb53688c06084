//! Atomic file output: write to a temporary file beside the target, then rename.
//!
//! Owns only that, and the check that an output folder exists (done early by a long run).
//! A crash or error mid-write leaves the previous file (or none), never a
//! half-written one.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The folder `path` is in (`.` for a bare file name).
fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Checks that the folder `path` is to be written in exists, so that a long run does not end
/// in a write error; the error names `path`.
pub fn check_folder(path: &Path) -> Result<()> {
    let dir = folder_of(path);
    if dir.is_dir() {
        return Ok(());
    }
    Err(Error::io(
        path,
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "output folder {} does not exist; create it first",
                dir.display()
            ),
        ),
    ))
}

/// Writes `bytes` to `path` atomically (temporary file in the same folder, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    check_folder(path)?;
    let dir = folder_of(path);
    let name = path.file_name().ok_or_else(|| {
        Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path"),
        )
    })?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let res = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// Reads a whole file, refusing one larger than `limit` bytes before reading it.
pub(crate) fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.len() > limit {
        return Err(Error::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "file is {} bytes, more than the {limit}-byte limit",
                    meta.len()
                ),
            ),
        ));
    }
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A missing folder is refused by the early check, with a message naming the folder.
    #[test]
    fn missing_folder_is_refused_by_name() {
        let p = Path::new("/nonexistent-firstspike-dir/x.bin");
        let e = write_atomic(p, b"x").unwrap_err().to_string();
        assert!(
            e.contains("output folder /nonexistent-firstspike-dir does not exist"),
            "{e}"
        );
    }

    /// A write that fails after the temporary file was made (here the rename: the target is
    /// a folder) leaves what was there as it was and no temporary file behind.
    #[test]
    fn failed_write_keeps_the_old_and_leaves_no_temporary() {
        let d = std::env::temp_dir().join(format!("fs-atomic-fail-{}", std::process::id()));
        let target = d.join("out");
        std::fs::create_dir_all(&target).unwrap();
        std::fs::write(target.join("kept.txt"), b"old").unwrap();
        assert!(write_atomic(&target, b"new").is_err());
        let names: Vec<String> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["out"], "a temporary file was left behind");
        assert_eq!(std::fs::read(target.join("kept.txt")).unwrap(), b"old");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn writes_and_replaces() {
        let d = std::env::temp_dir().join(format!("fs-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join("a.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(
            std::fs::read_dir(&d).unwrap().count(),
            1,
            "no temporary left behind"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}
