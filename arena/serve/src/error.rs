//! What can go wrong while a leaderboard server starts: the organiser's settings, the files it
//! writes, its database, the demo's scoring.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A setting or a task world the server cannot use; the message says what to change.
    #[error("{0}")]
    Setup(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("database: {0}")]
    Database(#[from] leaderboard::LbError),
    #[error(transparent)]
    Task(#[from] tasks::TaskError),
    #[error(transparent)]
    Suite(#[from] arena_eval::suite::SuiteError),
}

impl ServeError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        ServeError::Io { path: path.to_path_buf(), source }
    }
}

/// `path` made absolute (against the current directory).
pub fn absolute(path: &Path) -> Result<PathBuf, ServeError> {
    std::path::absolute(path).map_err(|e| ServeError::io(path, e))
}
