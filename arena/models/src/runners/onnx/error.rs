//! Why an ONNX model could not be run: ONNX Runtime missing, or the model file unusable.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    /// ONNX Runtime could not be found or loaded.
    #[error("{0}")]
    Runtime(String),
    /// The model file is unusable; the reason says what was expected.
    #[error("ONNX model {path}: {reason}")]
    Model { path: PathBuf, reason: String },
}
