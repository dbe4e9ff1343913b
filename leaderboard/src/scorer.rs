//! The scorer the leaderboard is given (the `arena` binary's sandboxed jobs): what an upload
//! contains ([`UploadKind`]), the [`Scorer`] trait, and how scoring fails ([`ScoreError`]).

use std::path::Path;

use tasks::scorecard::Scorecard;

/// What an upload contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadKind {
    /// An AnnData `.h5ad` of predicted cells or profiles, labelled by perturbation.
    Predictions,
    /// An ONNX model under the `arena-onnx-v1` contract.
    Onnx,
}

impl UploadKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UploadKind::Predictions => "predictions",
            UploadKind::Onnx => "onnx",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "predictions" => Some(UploadKind::Predictions),
            "onnx" => Some(UploadKind::Onnx),
            _ => None,
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            UploadKind::Predictions => "h5ad",
            UploadKind::Onnx => "onnx",
        }
    }
}

/// Why an upload got no scorecard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScoreError {
    /// A verdict on the upload (what is wrong with the file), for its submitter.
    Rejected(String),
    /// Scoring stopped without a verdict (the scoring process crashed or was killed); the queue
    /// tries the job again, at most [`Config::max_attempts`] times in all.
    Crashed(String),
}

/// Scores one upload on a task's hidden test split. Implemented by the `arena` crate, which runs
/// each upload in its own sandboxed process.
pub trait Scorer: Send + Sync {
    /// The scorecard of `upload` (model row + baselines + noise ceiling).
    fn score(&self, task: &str, upload: &Path, kind: UploadKind) -> Result<Scorecard, ScoreError>;
    /// Whether this scorer can run uploads of `kind`.
    fn supports(&self, kind: UploadKind) -> bool {
        kind == UploadKind::Predictions
    }
    /// Why no upload is accepted at all (e.g. the sandbox cannot be enforced on this machine),
    /// or `None`.
    fn refusal(&self) -> Option<String> {
        None
    }
}
