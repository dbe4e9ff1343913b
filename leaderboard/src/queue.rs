//! The persistent scoring queue: jobs live in the `jobs` table, so a crash or restart loses no
//! submission. At startup, jobs left `running` go back to `pending`; one worker then scores the
//! pending jobs oldest first, on a blocking thread (scoring is CPU-bound).

use std::sync::Arc;

use crate::{AppState, UploadKind};

/// Requeues interrupted jobs and spawns the worker on the current tokio runtime.
pub fn start(state: Arc<AppState>) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let requeued = state.db.requeue_running().map_err(std::io::Error::other)?;
    if requeued > 0 {
        eprintln!("leaderboard: resumed {requeued} interrupted scoring job(s)");
    }
    Ok(tokio::spawn(run(state)))
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

/// Scores the oldest pending job, if any; `Ok(true)` when one was processed.
pub async fn run_one(state: &Arc<AppState>) -> Result<bool, String> {
    let Some(job) = state.db.claim_job()? else {
        return Ok(false);
    };
    let outcome = match (UploadKind::parse(&job.kind), safe_name(&job.upload_name)) {
        (Some(kind), true) => {
            let path = state.config.upload_dir.join(&job.upload_name);
            let scorer = state.scorer.clone();
            let task = job.task_id.clone();
            tokio::task::spawn_blocking(move || scorer.score(&task, &path, kind))
                .await
                .unwrap_or_else(|e| Err(format!("the scorer crashed: {e}")))
        }
        (None, _) => Err(format!("unknown upload kind '{}'", job.kind)),
        (_, false) => Err("the stored upload is missing".to_string()),
    };
    let outcome = outcome.and_then(|card| {
        if card.task.id != job.task_id {
            return Err(format!("the scorer returned a scorecard of task '{}', not '{}'", card.task.id, job.task_id));
        }
        let json = serde_json::to_string(&card).map_err(|e| e.to_string())?;
        Ok((card, json))
    });
    // Recording rebuilds the task's board (paired bootstrap over every row): off the async threads.
    let state = state.clone();
    tokio::task::spawn_blocking(move || match outcome {
        Ok((card, json)) => {
            // The row first, the status last: the rebuild ranks a running job's stored row, so a
            // client that sees `scored` finds the submission on the board.
            let ranked = crate::card::CardView::parse(&json)
                .and_then(|view| crate::board::record_submission(&state.db, job.submission_id, &view))
                // The baselines and ceiling just computed on the hidden split become the task's
                // reference; storing it rebuilds the task's board with the new row.
                .and_then(|()| crate::store_reference(&state.db, &card, "server"));
            match ranked {
                Ok(()) => state.db.finish_job(&job, Ok(&json)),
                Err(e) => state.db.finish_job(&job, Err(&format!("scored, but ranking it failed: {e}"))),
            }
            .map_err(|e| e.to_string())
        }
        Err(e) => state.db.finish_job(&job, Err(&e)),
    })
    .await
    .map_err(|e| format!("recording a scored job crashed: {e}"))??;
    Ok(true)
}

/// Generated upload names only: `[0-9a-f]+.(h5ad|onnx)`.
fn safe_name(name: &str) -> bool {
    match name.split_once('.') {
        Some((stem, ext)) => {
            !stem.is_empty() && stem.bytes().all(|b| b.is_ascii_hexdigit()) && (ext == "h5ad" || ext == "onnx")
        }
        None => false,
    }
}
