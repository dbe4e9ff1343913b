//! Errors of the reference model (thiserror); each says what to do next.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    #[error(
        "reading {path}: {source}; check the path, or retrain with `arena train-reference --task TASK --out DIR` (then --weights DIR/weights.safetensors)"
    )]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {reason}")]
    BadWeights { path: PathBuf, reason: String },
    #[error(
        "{path} was trained on a different gene panel than task '{task}' uses ({reason}); \
         use the weights trained for this task (`arena eval --reference --task {task}` without --weights \
         loads the bundled ones) or retrain with `arena train-reference --task {task} --out DIR` and pass \
         --weights DIR/weights.safetensors"
    )]
    GeneMismatch { path: PathBuf, task: String, reason: String },
    #[error("invalid training data: {0}")]
    InvalidData(String),
}
