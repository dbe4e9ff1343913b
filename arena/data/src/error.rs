//! Errors of the data layer: every message names the file (and field or line) and says what was
//! expected or what to do next.

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum DataError {
    #[error("{path}: file not found; check the path, or run `arena datasets` to see registered datasets")]
    NotFound { path: PathBuf },
    #[error("{path}: cannot read: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("{path}: cannot write: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("{path}, line {line}: {reason}")]
    Line { path: PathBuf, line: u64, reason: String },
    #[error("{path}: field '{field}': {reason}")]
    Field { path: PathBuf, field: String, reason: String },
    #[error(
        "{path}: sha256 is {actual} but {expected} was expected; the file is corrupt or a different version — delete it and fetch again"
    )]
    ChecksumMismatch { path: PathBuf, expected: String, actual: String },
    #[error("{registry}: no dataset '{id}'; known ids: {known}")]
    UnknownDataset { id: String, registry: PathBuf, known: String },
    #[error("shared data directory not found (tried {tried}); pass --data-dir DIR or set ARENA_DATA_DIR")]
    DataDirNotFound { tried: String },
    #[error("{url}: HTTP {status}{reason}")]
    Http { url: String, status: u16, reason: String },
    #[error("{url}: download failed: {reason}")]
    Download { url: String, reason: String },
    #[error(
        "{url}: download interrupted: received {received} of {expected} bytes (short body); nothing was kept, run the fetch again"
    )]
    Interrupted { url: String, received: u64, expected: u64 },
    #[error(
        "{url}: {algorithm} of the download is {actual} but {expected} was expected; nothing was kept in the cache"
    )]
    DownloadChecksum { url: String, algorithm: &'static str, expected: String, actual: String },
    #[error(
        "dataset '{id}' has no sha256 or md5 in the registry (unpinned); refusing to download it unverified — pass --allow-unpinned to fetch it anyway and pin the printed sha256"
    )]
    Unpinned { id: String },
    #[error("{0}")]
    Other(String),
}

impl DataError {
    /// A `csv` crate error while reading `path`: the line when the reader knows it, "not found"
    /// for a missing file.
    pub fn csv(path: &std::path::Path, e: csv::Error) -> Self {
        let path = path.to_path_buf();
        match e.position() {
            Some(p) => DataError::Line { path, line: p.line(), reason: e.to_string() },
            None => match e.into_kind() {
                csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::NotFound => DataError::NotFound { path },
                csv::ErrorKind::Io(io) => DataError::Read { path, reason: io.to_string() },
                kind => DataError::Read { path, reason: format!("{kind:?}") },
            },
        }
    }
}
