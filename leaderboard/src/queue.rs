//! The persistent scoring queue: jobs live in the `jobs` table, so a crash or restart loses no
//! submission. [`Config::workers`](crate::Config) workers each claim one job at a time, fairly
//! across tokens (see `db::jobs`), and score it on a blocking thread while they renew its lease.
//! A job whose lease expired (its server stopped) is claimed again by any server, and at startup
//! such jobs go back to `pending` (or are marked failed once they have used
//! [`Config::max_attempts`](crate::Config) attempts); jobs other servers are still scoring keep
//! their live lease and are left alone. A job whose scoring process crashed is tried again while
//! it has attempts left, then marked failed with the reason: no upload can make the queue loop.
//! Error texts are [`sanitize`]d before they are stored.

use crate::db::LbError;
use std::sync::Arc;

use crate::{AppState, ScoreError, UploadKind};

/// The longest error text kept for a submitter (model-derived text is cut there).
pub const MAX_ERROR_CHARS: usize = 600;

/// Requeues interrupted jobs and spawns the workers on the current tokio runtime.
pub fn start(state: Arc<AppState>) -> std::io::Result<Vec<tokio::task::JoinHandle<()>>> {
    let r = state.db.requeue_running(state.config.max_attempts).map_err(std::io::Error::other)?;
    if r.requeued > 0 {
        eprintln!("leaderboard: resumed {} interrupted scoring job(s)", r.requeued);
    }
    if r.failed > 0 {
        eprintln!(
            "leaderboard: {} interrupted job(s) had used their {} attempts and are marked failed",
            r.failed, state.config.max_attempts
        );
    }
    Ok((0..state.config.workers.max(1)).map(|_| tokio::spawn(run(state.clone()))).collect())
}

/// An error text as the submitter may see it: absolute paths replaced by `<path>`, control
/// characters dropped, at most [`MAX_ERROR_CHARS`] characters.
pub fn sanitize(message: &str) -> String {
    let mut out = String::new();
    for word in message.split_inclusive(char::is_whitespace) {
        let (core, space) = word.split_at(word.trim_end().len());
        let start = core.find('/').filter(|&i| {
            // A path starts at a '/' that begins the word or follows a quote, bracket or '='.
            i == 0 || core[..i].chars().all(|c| "'\"`([{<=:".contains(c))
        });
        match start {
            Some(i) if core[i..].len() > 1 => {
                out.push_str(&core[..i]);
                out.push_str("<path>");
                let tail = core[i..].trim_start_matches(|c: char| !"'\"`)]}>,;:".contains(c));
                out.push_str(tail);
            }
            _ => out.push_str(core),
        }
        out.push_str(space);
    }
    let clean: String = out.chars().filter(|c| !c.is_control() || *c == '\n').collect();
    match clean.char_indices().nth(MAX_ERROR_CHARS) {
        Some((cut, _)) => format!("{}… (cut at {MAX_ERROR_CHARS} characters)", &clean[..cut]),
        None => clean,
    }
}

async fn run(state: Arc<AppState>) {
    loop {
        match run_one(&state).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => eprintln!("leaderboard: scoring queue: {e}"),
        }
        tokio::select! {
            _ = state.wake.notified() => {}
            _ = tokio::time::sleep(state.config.poll_interval) => {}
        }
    }
}

/// Scores the next job (see `db::jobs` for the order), if any; `Ok(true)` when one was
/// processed.
pub async fn run_one(state: &Arc<AppState>) -> Result<bool, LbError> {
    let (lease, max_attempts) = (state.config.lease, state.config.max_attempts);
    let Some(job) = state.db.claim_job(lease, max_attempts)? else {
        return Ok(false);
    };
    let outcome = match (UploadKind::parse(&job.kind), safe_name(&job.upload_name)) {
        (Some(kind), true) => {
            let path = state.config.upload_dir.join(&job.upload_name);
            let scorer = state.scorer.clone();
            let task = job.task_id.clone();
            let scoring = tokio::task::spawn_blocking(move || scorer.score(&task, &path, kind));
            with_renewed_lease(state, &job, scoring)
                .await
                .unwrap_or_else(|e| Err(ScoreError::Crashed(format!("the scorer panicked: {e}"))))
        }
        (None, _) => Err(ScoreError::Rejected(format!("unknown upload kind '{}'", job.kind))),
        (_, false) => Err(ScoreError::Rejected("the stored upload is missing".to_string())),
    };
    let outcome = match outcome {
        Ok(card) => Ok(card),
        Err(ScoreError::Rejected(message)) => Err(sanitize(&message)),
        Err(ScoreError::Crashed(reason)) if job.attempts < state.config.max_attempts => {
            eprintln!(
                "leaderboard: scoring submission {} crashed (attempt {} of {}): {reason}; trying again",
                job.submission_id, job.attempts, state.config.max_attempts
            );
            if !state.db.retry_job(&job)? {
                eprintln!("leaderboard: submission {}: the job's lease was lost to another worker", job.submission_id);
            }
            return Ok(true);
        }
        Err(ScoreError::Crashed(reason)) => {
            Err(sanitize(&format!("scoring failed {} times without a result; the last time {reason}", job.attempts)))
        }
    };
    let outcome = outcome.and_then(|card| {
        if card.task.id != job.task_id {
            return Err(format!("the scorer returned a scorecard of task '{}', not '{}'", card.task.id, job.task_id));
        }
        let json = serde_json::to_string(&card).map_err(|e| e.to_string())?;
        Ok((card, json))
    });
    // Recording ranks the row on the task's boards (paired bootstrap over every row): off the async threads.
    // The lease is renewed while the row is ranked too: ranking a large board takes longer than
    // a lease, and an expired lease would let another worker score the job again.
    let (outer, leased) = (state.clone(), job.clone());
    let state = state.clone();
    let job_id = job.submission_id;
    let recording = tokio::task::spawn_blocking(move || match outcome {
        Ok((card, json)) => {
            // The row first, the status last: the rebuild ranks a running job's stored row, so a
            // client that sees `scored` finds the submission on the board.
            let started = std::time::Instant::now();
            let ranked = crate::card::CardView::parse(&json)
                .and_then(|view| crate::board::record_submission(&state.db, job.submission_id, &view))
                // A task without reference rows takes the baselines and ceiling just computed on
                // the hidden split (and its board is built); one that has them (the demo's
                // reference world model among them) keeps them, and the new row is added to its
                // boards, every rank recomputed, without rebuilding the other rows.
                .and_then(|()| match state.db.reference(&job.task_id)? {
                    Some(_) => crate::board::add_row(&state.db, &job.task_id, job.submission_id),
                    None => crate::store_reference(&state.db, &card, "server"),
                });
            match ranked {
                Ok(()) => {
                    eprintln!(
                        "leaderboard: submission {} ranked on the boards of {} in {} ms",
                        job.submission_id,
                        job.task_id,
                        started.elapsed().as_millis()
                    );
                    state.db.finish_job(&job, Ok(&json))
                }
                Err(e) => state.db.finish_job(&job, Err(&format!("scored, but ranking it failed: {e}"))),
            }
        }
        Err(e) => state.db.finish_job(&job, Err(&e)),
    });
    let recorded = with_renewed_lease(&outer, &leased, recording)
        .await
        .map_err(|e| format!("recording a scored job crashed: {e}"))??;
    if !recorded {
        eprintln!("leaderboard: submission {}: the job's lease was lost; another worker records it", job_id);
    }
    Ok(true)
}

/// Awaits `work` while renewing `job`'s lease every third of the lease period.
async fn with_renewed_lease<T>(state: &Arc<AppState>, job: &crate::db::Job, work: impl Future<Output = T>) -> T {
    let every = (state.config.lease / 3).max(std::time::Duration::from_millis(10));
    tokio::pin!(work);
    loop {
        tokio::select! {
            out = &mut work => return out,
            _ = tokio::time::sleep(every) => {
                let (s, j, lease) = (state.clone(), job.clone(), state.config.lease);
                match tokio::task::spawn_blocking(move || s.db.renew_lease(&j, lease)).await {
                    Ok(Ok(true)) => {}
                    Ok(Ok(false)) => eprintln!(
                        "leaderboard: submission {}: the job's lease expired and another worker took it",
                        job.submission_id
                    ),
                    Ok(Err(e)) => eprintln!("leaderboard: renewing the lease of submission {}: {e}", job.submission_id),
                    Err(e) => eprintln!("leaderboard: renewing a lease crashed: {e}"),
                }
            }
        }
    }
}

/// Generated upload names only: `[0-9a-f]+.(h5ad|onnx)`.
pub(crate) fn safe_name(name: &str) -> bool {
    match name.split_once('.') {
        Some((stem, ext)) => {
            !stem.is_empty() && stem.bytes().all(|b| b.is_ascii_hexdigit()) && (ext == "h5ad" || ext == "onnx")
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_hides_server_paths_control_characters_and_long_model_text() {
        assert_eq!(
            sanitize("ONNX model /srv/arena/uploads/ab12.onnx: cannot open '/etc/passwd', see (/var/lib/x)"),
            "ONNX model <path>: cannot open '<path>', see (<path>)"
        );
        assert_eq!(sanitize("genes a/b and A+B stay; ratio 3/4"), "genes a/b and A+B stay; ratio 3/4");
        assert_eq!(sanitize("bell\u{7}\u{1b}[31mred"), "bell[31mred");
        let long = "x".repeat(5000);
        let cut = sanitize(&long);
        assert!(
            cut.starts_with(&"x".repeat(MAX_ERROR_CHARS))
                && cut.ends_with(&format!("(cut at {MAX_ERROR_CHARS} characters)"))
        );
        assert!(cut.chars().count() < MAX_ERROR_CHARS + 40);
    }
}
