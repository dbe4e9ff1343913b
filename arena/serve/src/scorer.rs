//! The scorer `arena serve` gives the leaderboard: each upload is scored in its own sandboxed
//! `arena score-job` process ([`JobRunner`]), and the server refuses to start where a job could
//! read the leaderboard's own files.

use std::path::{Path, PathBuf};

use leaderboard::{ScoreError, Scorer, UploadKind};
use tasks::scorecard::Scorecard;

use crate::error::ServeError;
use crate::isolation::{Enforced, JobFailure, JobRunner};

/// Scores each upload in its own sandboxed `arena score-job` process ([`JobRunner`]); the server
/// never opens an upload. At construction a probe job checks the sandbox on this machine: where
/// it cannot be enforced, every upload is refused unless the organiser allowed that
/// (`--unsafe-no-sandbox`).
pub struct ArenaScorer {
    runner: JobRunner,
    refusal: Option<String>,
    /// What the probe job enforced (printed at startup).
    pub enforced: Option<Enforced>,
}

impl ArenaScorer {
    pub fn new(runner: JobRunner) -> Self {
        let (refusal, enforced) = match runner.probe() {
            Ok(e) if e.is_isolated() || runner.allow_unsandboxed => (None, Some(e)),
            Ok(e) => (
                Some(format!(
                    "the scoring sandbox cannot be enforced on this machine ({}); the organiser may pass \
                     --unsafe-no-sandbox to score uploads anyway",
                    e.describe()
                )),
                Some(e),
            ),
            Err(e) if runner.allow_unsandboxed => {
                eprintln!("leaderboard: {e}; scoring without a sandbox (--unsafe-no-sandbox)");
                (None, None)
            }
            Err(e) => (Some(format!("{e}; uploads are refused")), None),
        };
        ArenaScorer { runner, refusal, enforced }
    }
}

impl Scorer for ArenaScorer {
    fn score(&self, task: &str, upload: &Path, kind: UploadKind) -> Result<Scorecard, ScoreError> {
        let upload = std::path::absolute(upload).map_err(|e| ScoreError::Crashed(format!("the upload's path: {e}")))?;
        match self.runner.run(task, kind.as_str(), &upload) {
            Ok((card, _)) => Ok(card),
            Err(JobFailure::Rejected(m)) => Err(ScoreError::Rejected(m)),
            Err(JobFailure::Crashed(m)) => Err(ScoreError::Crashed(m)),
        }
    }

    fn supports(&self, _kind: UploadKind) -> bool {
        true
    }

    fn refusal(&self) -> Option<String> {
        self.refusal.clone()
    }
}

/// Refuses to serve when a scoring job could read the database, the uploads or the organiser
/// secret: they must not lie inside a folder jobs may read (the data folder, the dataset cache,
/// the registry).
pub fn check_job_reach(
    runner: &JobRunner,
    database: Option<&Path>,
    upload_dir: &Path,
    secret: Option<&Path>,
) -> Result<(), ServeError> {
    let readable: Vec<PathBuf> =
        runner.data_dir.iter().chain(runner.cache_dir.iter()).filter_map(|p| p.canonicalize().ok()).collect();
    let guarded = database
        .into_iter()
        .map(|d| ("database", d))
        .chain([("upload folder", upload_dir)])
        .chain(secret.map(|s| ("secret file", s)));
    for (what, path) in guarded {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let path = path
            .parent()
            .and_then(|p| p.canonicalize().ok())
            .map_or(path.clone(), |p| p.join(path.file_name().unwrap_or_default()));
        if let Some(dir) = readable.iter().find(|dir| path.starts_with(dir)) {
            return Err(ServeError::Setup(format!(
                "the {what} {} lies inside {}, which scoring jobs may read; keep the leaderboard's files outside the data \
                 folder and the dataset cache (--database, --upload-dir, --secret-file)",
                path.display(),
                dir.display()
            )));
        }
    }
    Ok(())
}
