//! Output files, written one way for every output of the arena: each file is written to a
//! temporary file in its final directory, given the usual mode 0644 (temporary files start 0600),
//! and renamed into place only after every file of its set has been written, so a failure leaves
//! neither a partial file nor half a set. Also the one Parquet writer of record batches.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use super::error::DataError;

/// A file written in full to a temporary name beside its destination, not yet in place.
pub struct Staged {
    tmp: NamedTempFile,
    path: PathBuf,
}

/// Writes `path`'s content through `write` into a temporary file in `path`'s directory (created
/// if missing). Nothing appears at `path` until [`commit`].
pub fn stage(path: &Path, write: impl FnOnce(&mut File) -> std::io::Result<()>) -> Result<Staged, DataError> {
    let fail = |reason: String| DataError::Write { path: path.to_path_buf(), reason };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| DataError::Write { path: dir.to_path_buf(), reason: format!("{e}; choose another directory") })?;
    let mut tmp =
        NamedTempFile::new_in(dir).map_err(|e| DataError::Write { path: dir.to_path_buf(), reason: e.to_string() })?;
    write(tmp.as_file_mut()).map_err(|e| fail(e.to_string()))?;
    tmp.as_file_mut().flush().map_err(|e| fail(e.to_string()))?;
    set_readable(tmp.path()).map_err(|e| fail(format!("cannot set permissions: {e}")))?;
    Ok(Staged { tmp, path: path.to_path_buf() })
}

/// Stages `bytes` as the content of `path`.
pub fn stage_bytes(path: &Path, bytes: &[u8]) -> Result<Staged, DataError> {
    stage(path, |f| f.write_all(bytes))
}

/// Renames every staged file into place, in order; returns their paths.
pub fn commit(staged: Vec<Staged>) -> Result<Vec<PathBuf>, DataError> {
    staged
        .into_iter()
        .map(|Staged { tmp, path }| {
            tmp.persist(&path).map_err(|e| DataError::Write { path: path.clone(), reason: e.error.to_string() })?;
            Ok(path)
        })
        .collect()
}

/// Writes one file atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    commit(vec![stage_bytes(path, bytes)?]).map(drop)
}

/// Writes `batch` as one Parquet file (arrow-rs's default writer properties).
pub fn write_parquet(w: impl Write + Send, batch: &arrow_array::RecordBatch) -> std::io::Result<()> {
    let mut writer = parquet::arrow::ArrowWriter::try_new(w, batch.schema(), None).map_err(std::io::Error::other)?;
    writer.write(batch).map_err(std::io::Error::other)?;
    writer.close().map_err(std::io::Error::other)?;
    Ok(())
}

/// Writes `batches` (one schema) as one Parquet file, each batch its own row group, so that
/// only one batch is held at a time.
pub fn write_parquet_groups(
    w: impl Write + Send,
    schema: arrow_schema::SchemaRef,
    batches: impl Iterator<Item = std::io::Result<arrow_array::RecordBatch>>,
) -> std::io::Result<()> {
    let mut writer = parquet::arrow::ArrowWriter::try_new(w, schema, None).map_err(std::io::Error::other)?;
    for batch in batches {
        writer.write(&batch?).map_err(std::io::Error::other)?;
        writer.flush().map_err(std::io::Error::other)?;
    }
    writer.close().map_err(std::io::Error::other)?;
    Ok(())
}

/// Gives a finished output the usual mode 0644 (owner writes, everyone reads).
pub fn set_readable(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_appears_whole_with_mode_0644_and_a_failed_member_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("sub/a.json"), dir.path().join("sub/b.txt"));
        let first = stage_bytes(&a, b"{}").unwrap();
        assert!(!a.exists(), "nothing is in place before commit");
        assert!(stage(&b, |_| Err(std::io::Error::other("the writer failed"))).is_err());
        drop(first);
        assert_eq!(std::fs::read_dir(dir.path().join("sub")).unwrap().count(), 0, "no temporary file is left");
        let written = commit(vec![stage_bytes(&a, b"{}").unwrap(), stage_bytes(&b, b"x").unwrap()]).unwrap();
        assert_eq!(written, vec![a.clone(), b.clone()]);
        assert_eq!(std::fs::read(&b).unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for p in [&a, &b] {
                assert_eq!(std::fs::metadata(p).unwrap().permissions().mode() & 0o777, 0o644, "{}", p.display());
            }
        }
        write_atomic(&a, b"[1]").unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), b"[1]");
    }
}
