//! Queries on the persistent scoring queue (`jobs`, with their submissions' status).

use super::value::vals;
use super::{Db, DbResult, Job, Requeued, now};

impl Db {
    /// Jobs left `running` by a stopped server go back to `pending`, unless they have been
    /// claimed `max_attempts` times already: those are marked failed, so that an upload that
    /// kills the server cannot do it on every restart (call once at startup, before workers).
    pub fn requeue_running(&self, max_attempts: i64) -> DbResult<Requeued> {
        let t = now();
        let reason = format!(
            "scoring was interrupted {max_attempts} times (the server stopped while scoring this upload); it is \
             not tried again"
        );
        let (failed, requeued) = self.backend.transaction(|s| {
            s.execute(
                "UPDATE submissions SET status = 'failed', error = $2, updated = $1
                 WHERE id IN (SELECT submission_id FROM jobs WHERE status = 'running' AND attempts >= $3)",
                vals![t, reason.as_str(), max_attempts],
            )?;
            let failed = s.execute(
                "UPDATE jobs SET status = 'failed', finished = $1 WHERE status = 'running' AND attempts >= $2",
                vals![t, max_attempts],
            )?;
            s.execute(
                "UPDATE submissions SET status = 'queued', updated = $1
                 WHERE id IN (SELECT submission_id FROM jobs WHERE status = 'running')",
                vals![t],
            )?;
            let requeued =
                s.execute("UPDATE jobs SET status = 'pending', started = NULL WHERE status = 'running'", vals![])?;
            Ok((failed, requeued))
        })?;
        let count = |n: u64| usize::try_from(n).map_err(|e| e.to_string());
        Ok(Requeued { requeued: count(requeued)?, failed: count(failed)? })
    }

    /// Puts a claimed job back in the queue (its scoring process crashed; it has attempts left).
    pub fn retry_job(&self, job: &Job) -> DbResult<()> {
        self.backend.transaction(|s| {
            s.execute("UPDATE jobs SET status = 'pending', started = NULL WHERE id = $1", vals![job.id])?;
            s.execute(
                "UPDATE submissions SET status = 'queued', updated = $2 WHERE id = $1",
                vals![job.submission_id, now()],
            )?;
            Ok(())
        })
    }

    /// Takes the oldest pending job and marks it (and its submission) running. The update is
    /// conditional, so two servers sharing a Postgres database never take the same job.
    pub fn claim_job(&self) -> DbResult<Option<Job>> {
        self.backend.transaction(|s| {
            loop {
                let Some(mut r) = s.query_opt(
                    "SELECT j.id, j.submission_id, s.task_id, s.kind, COALESCE(s.upload_name, ''), j.attempts
                     FROM jobs j JOIN submissions s ON s.id = j.submission_id
                     WHERE j.status = 'pending' ORDER BY j.id LIMIT 1",
                    vals![],
                )?
                else {
                    return Ok(None);
                };
                let job = Job {
                    id: r.int(0)?,
                    submission_id: r.int(1)?,
                    task_id: r.text(2)?,
                    kind: r.text(3)?,
                    upload_name: r.text(4)?,
                    attempts: r.int(5)? + 1,
                };
                let t = now();
                let taken = s.execute(
                    "UPDATE jobs SET status = 'running', attempts = attempts + 1, started = $2 WHERE id = $1 AND status = 'pending'",
                    vals![job.id, t],
                )?;
                if taken == 0 {
                    continue; // another server took it first
                }
                s.execute("UPDATE submissions SET status = 'running', updated = $2 WHERE id = $1", vals![job.submission_id, t])?;
                return Ok(Some(job));
            }
        })
    }

    /// Records a job's outcome: the scorecard JSON, or the error shown to the submitter.
    pub fn finish_job(&self, job: &Job, outcome: Result<&str, &str>) -> DbResult<()> {
        let t = now();
        let (job_status, sub_status, card, error) = match outcome {
            Ok(card) => ("done", "scored", Some(card), None),
            Err(e) => ("failed", "failed", None, Some(e)),
        };
        self.backend.transaction(|s| {
            s.execute("UPDATE jobs SET status = $2, finished = $3 WHERE id = $1", vals![job.id, job_status, t])?;
            s.execute(
                "UPDATE submissions SET status = $2, scorecard = $3, error = $4, updated = $5 WHERE id = $1",
                vals![job.submission_id, sub_status, card, error, t],
            )?;
            Ok(())
        })
    }

    /// (pending, running) job counts.
    pub fn queue_depth(&self) -> DbResult<(i64, i64)> {
        self.backend.with(|s| {
            let mut r = s.query_one(
                "SELECT COUNT(*) FILTER (WHERE status = 'pending'), COUNT(*) FILTER (WHERE status = 'running') FROM jobs",
                vals![],
            )?;
            Ok((r.int(0)?, r.int(1)?))
        })
    }
}
