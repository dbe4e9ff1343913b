//! Errors of `arena score`: every message names the file and the field at fault and says what to
//! do about it.

use std::path::PathBuf;

use thiserror::Error;

use arena_data::DataError;

#[derive(Debug, Error)]
pub enum ScoreError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("{path}: field '{field}': {reason}")]
    Field { path: PathBuf, field: String, reason: String },
    #[error("{path}: cannot write: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("{0}")]
    Invalid(String),
}

impl ScoreError {
    pub(crate) fn field(path: &std::path::Path, field: impl Into<String>, reason: impl Into<String>) -> Self {
        ScoreError::Field { path: path.to_path_buf(), field: field.into(), reason: reason.into() }
    }
}
