//! Queries on the persistent scoring queue (`jobs`, with their submissions' status).
//!
//! A claimed job carries a lease: an owner (a random id per claim) and an expiry, in unix
//! milliseconds, that the worker renews while it scores ([`Db::renew_lease`]). A job whose lease
//! expired belongs to a worker that stopped (a crash, a killed server): any server may claim it
//! again, and only such jobs are requeued at a start, so several servers on one database never
//! take each other's running jobs. Finishing or retrying a job checks its lease is still held.
//!
//! Claims are fair across tokens: the next job is the oldest pending job of the token with the
//! fewest running jobs, and among those the token whose last claim is oldest (round-robin), so
//! one participant's burst cannot hold every worker.

use std::time::Duration;

use super::value::vals;
use super::{Db, DbResult, Job, Requeued, now, now_ms};
use crate::auth;

/// A job's lease has expired when `lease_expires_ms <= $1` (the current time); rows claimed
/// before leases existed have none and count as expired.
const EXPIRED: &str = "(j.lease_expires_ms IS NULL OR j.lease_expires_ms <= $1)";

impl Db {
    /// Jobs left `running` whose lease expired (their worker stopped) go back to `pending`, unless
    /// they have been claimed `max_attempts` times already: those are marked failed, so that an
    /// upload that kills the server cannot do it on every restart. Jobs with a live lease belong
    /// to a worker that is still running (another server on the same database) and are left alone.
    pub fn requeue_running(&self, max_attempts: i64) -> DbResult<Requeued> {
        let (t, t_ms) = (now(), now_ms());
        let reason = interrupted_reason(max_attempts);
        let (failed, requeued) = self.backend.transaction(|s| {
            let failed = fail_exhausted(s, t, t_ms, max_attempts, &reason)?;
            let stale = format!("SELECT j.id FROM jobs j WHERE j.status = 'running' AND {EXPIRED}");
            s.execute(
                &format!(
                    "UPDATE submissions SET status = 'queued', updated = $2
                     WHERE id IN (SELECT submission_id FROM jobs WHERE id IN ({stale}))"
                ),
                vals![t_ms, t],
            )?;
            let requeued = s.execute(
                &format!(
                    "UPDATE jobs SET status = 'pending', started = NULL, lease_owner = NULL, lease_expires_ms = NULL
                     WHERE id IN ({stale})"
                ),
                vals![t_ms],
            )?;
            Ok((failed, requeued))
        })?;
        let count = |n: u64| usize::try_from(n).map_err(|e| e.to_string());
        Ok(Requeued { requeued: count(requeued)?, failed: count(failed)? })
    }

    /// Puts a claimed job back in the queue (its scoring process crashed; it has attempts left).
    /// `Ok(false)` when the lease was lost (another worker took the job over).
    pub fn retry_job(&self, job: &Job) -> DbResult<bool> {
        self.backend.transaction(|s| {
            let n = s.execute(
                "UPDATE jobs SET status = 'pending', started = NULL, lease_owner = NULL, lease_expires_ms = NULL
                 WHERE id = $1 AND status = 'running' AND lease_owner = $2",
                vals![job.id, job.lease.as_str()],
            )?;
            if n == 0 {
                return Ok(false);
            }
            s.execute(
                "UPDATE submissions SET status = 'queued', updated = $2 WHERE id = $1",
                vals![job.submission_id, now()],
            )?;
            Ok(true)
        })
    }

    /// Takes the next job (see the module comment for the order: fewest running jobs per token,
    /// then the token served longest ago, then the oldest job) among the pending ones and the
    /// running ones whose lease expired, marks it (and its submission) running and leases it for
    /// `lease`. Expired jobs that used their `max_attempts` are marked failed instead. The update
    /// is conditional, so two servers sharing a Postgres database never take the same job.
    pub fn claim_job(&self, lease: Duration, max_attempts: i64) -> DbResult<Option<Job>> {
        let owner = auth::random_hex(12)?;
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2);
        let reason = interrupted_reason(max_attempts);
        self.backend.transaction(|s| {
            let (t, t_ms) = (now(), now_ms());
            fail_exhausted(s, t, t_ms, max_attempts, &reason)?;
            // The running jobs and the last claim of each token (NULL token: self-imported jobs).
            let same_token = "COALESCE(s2.token_id, 0) = COALESCE(s.token_id, 0)";
            let candidates = format!(
                "SELECT j.id, j.submission_id, s.task_id, s.kind, COALESCE(s.upload_name, ''), j.attempts
                 FROM jobs j JOIN submissions s ON s.id = j.submission_id
                 WHERE j.status = 'pending' OR (j.status = 'running' AND {EXPIRED})
                 ORDER BY
                   (SELECT COUNT(*) FROM jobs j2 JOIN submissions s2 ON s2.id = j2.submission_id
                     WHERE {same_token} AND j2.status = 'running' AND j2.lease_expires_ms > $1) ASC,
                   (SELECT COALESCE(MAX(j2.claimed_ms), 0) FROM jobs j2 JOIN submissions s2 ON s2.id = j2.submission_id
                     WHERE {same_token}) ASC,
                   j.id ASC
                 LIMIT 1"
            );
            for _ in 0..8 {
                let Some(mut r) = s.query_opt(&candidates, vals![t_ms])? else {
                    return Ok(None);
                };
                let job = Job {
                    id: r.int(0)?,
                    submission_id: r.int(1)?,
                    task_id: r.text(2)?,
                    kind: r.text(3)?,
                    upload_name: r.text(4)?,
                    attempts: r.int(5)? + 1,
                    lease: owner.clone(),
                };
                let taken = s.execute(
                    &format!(
                        "UPDATE jobs SET status = 'running', attempts = attempts + 1, started = $2, claimed_ms = $1,
                           lease_owner = $3, lease_expires_ms = $4
                         WHERE id = $5 AND (status = 'pending' OR (status = 'running' AND {}))",
                        EXPIRED.replace("j.", "")
                    ),
                    vals![t_ms, t, owner.as_str(), t_ms.saturating_add(lease_ms), job.id],
                )?;
                if taken == 0 {
                    continue; // another server took it first
                }
                s.execute(
                    "UPDATE submissions SET status = 'running', updated = $2 WHERE id = $1",
                    vals![job.submission_id, t],
                )?;
                return Ok(Some(job));
            }
            Ok(None)
        })
    }

    /// Extends the lease of a job this worker holds to `lease` from now; `Ok(false)` when the
    /// lease was lost (it expired and another worker claimed the job).
    pub fn renew_lease(&self, job: &Job, lease: Duration) -> DbResult<bool> {
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2);
        let n = self.backend.with(|s| {
            s.execute(
                "UPDATE jobs SET lease_expires_ms = $3 WHERE id = $1 AND status = 'running' AND lease_owner = $2",
                vals![job.id, job.lease.as_str(), now_ms().saturating_add(lease_ms)],
            )
        })?;
        Ok(n > 0)
    }

    /// Records a job's outcome: the scorecard JSON, or the error shown to the submitter.
    /// `Ok(false)` (nothing recorded) when the lease was lost to another worker.
    pub fn finish_job(&self, job: &Job, outcome: Result<&str, &str>) -> DbResult<bool> {
        let t = now();
        let (job_status, sub_status, card, error) = match outcome {
            Ok(card) => ("done", "scored", Some(card), None),
            Err(e) => ("failed", "failed", None, Some(e)),
        };
        self.backend.transaction(|s| {
            let n = s.execute(
                "UPDATE jobs SET status = $2, finished = $3, lease_expires_ms = NULL
                 WHERE id = $1 AND status = 'running' AND lease_owner = $4",
                vals![job.id, job_status, t, job.lease.as_str()],
            )?;
            if n == 0 {
                return Ok(false);
            }
            s.execute(
                "UPDATE submissions SET status = $2, scorecard = $3, error = $4, updated = $5 WHERE id = $1",
                vals![job.submission_id, sub_status, card, error, t],
            )?;
            Ok(true)
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

fn interrupted_reason(max_attempts: i64) -> String {
    format!(
        "scoring was interrupted {max_attempts} times (the server stopped while scoring this upload); it is not tried \
         again"
    )
}

/// Marks failed the running jobs whose lease expired after their last allowed attempt.
fn fail_exhausted(
    s: &mut dyn super::session::Session,
    t: i64,
    t_ms: i64,
    max_attempts: i64,
    reason: &str,
) -> super::error::SqlResult<u64> {
    let exhausted = format!("SELECT j.id FROM jobs j WHERE j.status = 'running' AND {EXPIRED} AND j.attempts >= $2");
    s.execute(
        &format!(
            "UPDATE submissions SET status = 'failed', error = $3, updated = $4
             WHERE id IN (SELECT submission_id FROM jobs WHERE id IN ({exhausted}))"
        ),
        vals![t_ms, max_attempts, reason, t],
    )?;
    s.execute(
        &format!("UPDATE jobs SET status = 'failed', finished = $3, lease_expires_ms = NULL WHERE id IN ({exhausted})"),
        vals![t_ms, max_attempts, t],
    )
}
