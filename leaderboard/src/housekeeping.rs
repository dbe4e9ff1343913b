//! Upload retention: the uploads of failed submissions are deleted [`Config::retention`]
//! after their failure (at start, then every [`SWEEP_EVERY`]); the submission row and its error
//! text stay, and the freed bytes leave the storage quota (see `db::Db::storage_used`).
//!
//! [`Config::retention`]: crate::Config::retention

use crate::db::LbError;
use std::sync::Arc;
use std::time::Duration;

use crate::AppState;

/// How often the retention sweep runs.
pub const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// Spawns the retention sweep on the current tokio runtime, when a retention is configured.
pub fn start(state: Arc<AppState>) -> Option<tokio::task::JoinHandle<()>> {
    state.config.retention?;
    Some(tokio::spawn(async move {
        loop {
            let s = state.clone();
            match tokio::task::spawn_blocking(move || purge_failed_uploads(&s)).await {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => eprintln!("leaderboard: deleted {n} upload(s) of failed submissions past the retention"),
                Ok(Err(e)) => eprintln!("leaderboard: retention sweep: {e}"),
                Err(e) => eprintln!("leaderboard: retention sweep crashed: {e}"),
            }
            tokio::time::sleep(SWEEP_EVERY).await;
        }
    }))
}

/// Deletes the kept uploads of submissions that failed more than the retention ago; returns how
/// many. A file already gone counts as deleted.
pub fn purge_failed_uploads(state: &AppState) -> Result<usize, LbError> {
    let Some(retention) = state.config.retention else { return Ok(0) };
    let before = crate::db::now() - i64::try_from(retention.as_secs()).unwrap_or(i64::MAX / 2);
    let mut purged = 0;
    for (id, name) in state.db.failed_uploads_before(before)? {
        if !crate::queue::safe_name(&name) {
            continue; // never a generated name: not a file of the upload folder
        }
        let path = state.config.upload_dir.join(&name);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("deleting the upload of submission {id} ({}): {e}", path.display()).into()),
        }
        state.db.forget_upload(id)?;
        purged += 1;
    }
    Ok(purged)
}
