//! Queries on tasks, organiser tokens, submissions and task references.

use super::error::{LbError, SqlError};
use super::value::{Row, vals};
use super::{
    CompletedUpload, Db, DbResult, NewSubmission, Reservation, Reserved, SubmissionRow, TaskRow, TokenRow, now,
};
use crate::auth;

pub(super) const SUBMISSION_COLUMNS: &str = "id, task_id, name, description, kind, source, status, error, scorecard, upload_name, upload_bytes, created, updated, token_id, receipt_sha256";

/// A row of [`SUBMISSION_COLUMNS`] (further columns are left for the caller).
pub(super) fn submission_from_row(r: &mut Row) -> DbResult<SubmissionRow> {
    Ok(SubmissionRow {
        id: r.int(0)?,
        task_id: r.text(1)?,
        name: r.text(2)?,
        description: r.text(3)?,
        kind: r.text(4)?,
        source: r.text(5)?,
        status: r.text(6)?,
        error: r.opt_text(7)?,
        scorecard: r.opt_text(8)?,
        upload_name: r.opt_text(9)?,
        upload_bytes: r.opt_int(10)?,
        created: r.int(11)?,
        updated: r.int(12)?,
        token_id: r.opt_int(13)?,
        receipt_sha256: r.opt_text(14)?,
    })
}

/// The advisory lock (Postgres) that serialises upload reservations across servers.
const RESERVE_LOCK: i64 = 0x0076_6361_5f72_6573; // "vca_res"

/// Bytes of kept uploads plus reservations (`upload_bytes` holds the reserved size while streaming).
const STORAGE_USED: &str = "SELECT CAST(COALESCE(SUM(upload_bytes), 0) AS BIGINT) FROM submissions
     WHERE upload_name IS NOT NULL OR status = 'uploading'";

const TASK_COLUMNS: &str = "id, family, dataset, title, description, metrics_json, spec_sha256, revealed";

fn task_from_row(mut r: Row) -> DbResult<TaskRow> {
    let metrics = r.text(5)?;
    Ok(TaskRow {
        id: r.text(0)?,
        family: r.text(1)?,
        dataset: r.text(2)?,
        title: r.text(3)?,
        description: r.text(4)?,
        metrics: serde_json::from_str(&metrics).unwrap_or_default(),
        spec_sha256: r.text(6)?,
        revealed: r.int(7)? != 0,
    })
}

impl Db {
    // ---- tasks

    pub fn upsert_task(&self, t: &TaskRow) -> DbResult<()> {
        let metrics = serde_json::to_string(&t.metrics).map_err(|e| e.to_string())?;
        self.backend.with(|s| {
            s.execute(
                "INSERT INTO tasks (id, family, dataset, title, description, metrics_json, spec_sha256)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT(id) DO UPDATE SET family=excluded.family, dataset=excluded.dataset, title=excluded.title,
                   description=excluded.description, metrics_json=excluded.metrics_json, spec_sha256=excluded.spec_sha256",
                vals![&t.id, &t.family, &t.dataset, &t.title, &t.description, metrics, &t.spec_sha256],
            )?;
            Ok(())
        })
    }

    pub fn tasks(&self) -> DbResult<Vec<TaskRow>> {
        let rows = self.backend.with(|s| s.query(&format!("SELECT {TASK_COLUMNS} FROM tasks ORDER BY id"), vals![]))?;
        rows.into_iter().map(task_from_row).collect()
    }

    pub fn task(&self, id: &str) -> DbResult<Option<TaskRow>> {
        let row = self
            .backend
            .with(|s| s.query_opt(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1"), vals![id]))?;
        row.map(task_from_row).transpose()
    }

    /// Flips a task's reveal switch (the private leaderboard becomes visible, or hidden again).
    pub fn set_revealed(&self, task_id: &str, revealed: bool) -> DbResult<()> {
        let n = self
            .backend
            .with(|s| s.execute("UPDATE tasks SET revealed = $2 WHERE id = $1", vals![task_id, revealed]))?;
        self.bump();
        if n == 0 {
            return Err(format!("no task '{task_id}' (see `arena tasks`)").into());
        }
        Ok(())
    }

    // ---- tokens

    /// Creates a submission token named `name`; returns the token text, shown only this once.
    pub fn create_token(&self, name: &str) -> DbResult<String> {
        self.create_token_with(name, false)
    }

    /// Creates a token; an `admin` (organiser) token may also flip reveal switches.
    pub fn create_token_with(&self, name: &str, admin: bool) -> DbResult<String> {
        let name = name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err("a token name must be 1 to 100 characters".into());
        }
        let secret = auth::random_hex(32)?;
        let salt = auth::random_bytes(16)?;
        let hash = auth::hash_secret(&salt, &secret);
        let id = self.backend.with(|s| {
            let inserted = s.query_one(
                "INSERT INTO tokens (name, salt, hash, created, admin) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                vals![name, salt, hash.to_vec(), now(), admin],
            );
            match inserted {
                Ok(mut row) => Ok(row.int(0)?),
                Err(SqlError::UniqueViolation(_)) => Err(format!("a token named '{name}' exists already").into()),
                Err(e) => Err(e),
            }
        })?;
        Ok(auth::format_token(id, &secret))
    }

    /// Revokes the token named `name`: it no longer submits, reveals or unlocks error texts.
    /// `Ok(false)` when no token has that name.
    pub fn revoke_token(&self, name: &str) -> DbResult<bool> {
        let n =
            self.backend.with(|s| s.execute("UPDATE tokens SET revoked = 1 WHERE name = $1", vals![name.trim()]))?;
        Ok(n > 0)
    }

    /// The token's row if `token` is a valid, unrevoked organiser token (constant-time comparison).
    pub fn verify_token(&self, token: &str) -> DbResult<Option<TokenRow>> {
        let Some((id, secret)) = auth::parse_token(token) else {
            return Ok(None);
        };
        let row = self
            .backend
            .with(|s| s.query_opt("SELECT name, salt, hash, revoked, admin FROM tokens WHERE id = $1", vals![id]))?;
        let Some(mut row) = row else {
            // Same work as a real check, so a missing id costs the same time as a wrong secret.
            let _ = auth::hashes_equal(&auth::hash_secret(&[0u8; 16], secret), &[0u8; 32]);
            return Ok(None);
        };
        let (name, salt, hash, revoked, admin) = (row.text(0)?, row.blob(1)?, row.blob(2)?, row.int(3)?, row.int(4)?);
        let ok = auth::hashes_equal(&auth::hash_secret(&salt, secret), &hash);
        Ok((ok && revoked == 0).then_some(TokenRow { id, name, admin: admin != 0 }))
    }

    /// Submissions made with `token_id` since unix time `since`.
    pub fn submissions_since(&self, token_id: i64, since: i64) -> DbResult<u32> {
        let n = self.backend.with(|s| {
            Ok(s.query_one(
                "SELECT COUNT(*) FROM submissions WHERE token_id = $1 AND created >= $2",
                vals![token_id, since],
            )?
            .int(0)?)
        })?;
        u32::try_from(n).map_err(|e| LbError(format!("database: submission count {n}: {e}")))
    }

    // ---- upload reservations

    /// Reserves a submission row (status `uploading`) for an upload about to stream, after
    /// checking, in the same exclusive transaction, every per-token limit (rows of any status
    /// count, reserved ones included) and the storage quota (bytes of kept uploads plus
    /// `reserve_bytes` per upload still streaming). Nothing is written when a limit refuses.
    pub fn reserve_upload(&self, r: &Reservation<'_>) -> DbResult<Reserved> {
        let t = now();
        self.backend.exclusive_transaction(RESERVE_LOCK, |s| {
            for &(max, window_secs) in r.limits {
                let made = s
                    .query_one(
                        "SELECT COUNT(*) FROM submissions WHERE token_id = $1 AND created >= $2",
                        vals![r.token_id, t - window_secs],
                    )?
                    .int(0)?;
                let made = u32::try_from(made).unwrap_or(u32::MAX);
                if made >= max {
                    return Ok(Reserved::RateLimited { made, max, window_secs });
                }
            }
            if let Some(quota) = r.storage_quota {
                let used = s.query_one(STORAGE_USED, vals![])?.int(0)?;
                if used.saturating_add(r.reserve_bytes) > quota {
                    return Ok(Reserved::StorageFull { used, quota });
                }
            }
            let id = s
                .query_one(
                    "INSERT INTO submissions (task_id, name, description, kind, source, token_id, status, upload_bytes, created, updated)
                     VALUES ($1, '', '', 'predictions', 'server', $2, 'uploading', $3, $4, $4) RETURNING id",
                    vals![r.task_id, r.token_id, r.reserve_bytes, t],
                )?
                .int(0)?;
            Ok(Reserved::Slot(id))
        })
    }

    /// Turns a reserved row into a queued submission with its pending job (one transaction).
    pub fn complete_upload(&self, id: i64, u: &CompletedUpload<'_>) -> DbResult<()> {
        let t = now();
        self.backend.transaction(|s| {
            let n = s.execute(
                "UPDATE submissions SET name = $2, description = $3, kind = $4, upload_name = $5, upload_bytes = $6,
                   receipt_sha256 = $7, status = 'queued', updated = $8
                 WHERE id = $1 AND status = 'uploading'",
                vals![id, u.name, u.description, u.kind, u.upload_name, u.upload_bytes, u.receipt_sha256, t],
            )?;
            if n == 0 {
                return Err(format!("database: the reservation of submission {id} is gone").into());
            }
            s.execute("INSERT INTO jobs (submission_id, status, created) VALUES ($1, 'pending', $2)", vals![id, t])?;
            Ok(())
        })
    }

    /// Deletes a reservation whose upload failed: it no longer counts toward any quota.
    pub fn release_upload(&self, id: i64) -> DbResult<()> {
        self.backend.with(|s| {
            s.execute("DELETE FROM submissions WHERE id = $1 AND status = 'uploading'", vals![id])?;
            Ok(())
        })
    }

    /// Deletes reservations made before unix time `before` (uploads cut off by a stopped
    /// server); returns how many.
    pub fn release_stale_reservations(&self, before: i64) -> DbResult<u64> {
        self.backend
            .with(|s| s.execute("DELETE FROM submissions WHERE status = 'uploading' AND created < $1", vals![before]))
    }

    /// Bytes held in the upload folder: kept uploads plus the reservations of streaming ones.
    pub fn storage_used(&self) -> DbResult<i64> {
        self.backend.with(|s| Ok(s.query_one(STORAGE_USED, vals![])?.int(0)?))
    }

    /// Failed submissions, last changed before unix time `before`, whose upload is still kept:
    /// (id, upload name).
    pub fn failed_uploads_before(&self, before: i64) -> DbResult<Vec<(i64, String)>> {
        let rows = self.backend.with(|s| {
            s.query(
                "SELECT id, upload_name FROM submissions
                 WHERE status = 'failed' AND upload_name IS NOT NULL AND updated < $1 ORDER BY id",
                vals![before],
            )
        })?;
        rows.into_iter().map(|mut r| Ok((r.int(0)?, r.text(1)?))).collect()
    }

    /// Records that a submission's upload file was deleted (its row, status and error stay).
    pub fn forget_upload(&self, id: i64) -> DbResult<()> {
        self.backend.with(|s| {
            s.execute("UPDATE submissions SET upload_name = NULL WHERE id = $1", vals![id])?;
            Ok(())
        })
    }

    // ---- submissions

    /// Inserts a submission; one without a scorecard gets a pending job in the same transaction.
    pub fn insert_submission(&self, s: &NewSubmission<'_>) -> DbResult<i64> {
        let t = now();
        let status = if s.scorecard.is_some() { "scored" } else { "queued" };
        self.backend.transaction(|tx| {
            let id = tx
                .query_one(
                    "INSERT INTO submissions (task_id, name, description, kind, source, token_id, status, scorecard, upload_name, upload_bytes, created, updated, receipt_sha256)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12) RETURNING id",
                    vals![
                        s.task_id,
                        s.name,
                        s.description,
                        s.kind,
                        s.source,
                        s.token_id,
                        status,
                        s.scorecard,
                        s.upload_name,
                        s.upload_bytes,
                        t,
                        s.receipt_sha256
                    ],
                )?
                .int(0)?;
            if s.scorecard.is_none() {
                tx.execute("INSERT INTO jobs (submission_id, status, created) VALUES ($1, 'pending', $2)", vals![id, t])?;
            }
            Ok(id)
        })
    }

    pub fn submission(&self, id: i64) -> DbResult<Option<SubmissionRow>> {
        let row = self
            .backend
            .with(|s| s.query_opt(&format!("SELECT {SUBMISSION_COLUMNS} FROM submissions WHERE id = $1"), vals![id]))?;
        row.map(|mut r| submission_from_row(&mut r)).transpose()
    }

    fn submissions_where(&self, sql: &str, params: Vec<super::value::Value>) -> DbResult<Vec<SubmissionRow>> {
        let rows = self.backend.with(|s| s.query(sql, params))?;
        rows.into_iter().map(|mut r| submission_from_row(&mut r)).collect()
    }

    /// Scored submissions of a task, oldest first.
    pub fn scored_submissions(&self, task_id: &str) -> DbResult<Vec<SubmissionRow>> {
        self.submissions_where(
            &format!(
                "SELECT {SUBMISSION_COLUMNS} FROM submissions WHERE task_id = $1 AND status = 'scored' ORDER BY id"
            ),
            vals![task_id],
        )
    }

    /// The newest submissions of any task and status.
    pub fn latest_submissions(&self, limit: u32) -> DbResult<Vec<SubmissionRow>> {
        self.submissions_where(
            &format!(
                "SELECT {SUBMISSION_COLUMNS} FROM submissions WHERE status <> 'uploading' ORDER BY id DESC LIMIT $1"
            ),
            vals![limit],
        )
    }

    // ---- references

    pub fn set_reference(&self, task_id: &str, scorecard: &str, source: &str) -> DbResult<()> {
        self.backend.with(|s| {
            s.execute(
                "INSERT INTO task_references (task_id, scorecard, source, updated) VALUES ($1, $2, $3, $4)
                 ON CONFLICT(task_id) DO UPDATE SET scorecard=excluded.scorecard, source=excluded.source, updated=excluded.updated",
                vals![task_id, scorecard, source, now()],
            )?;
            Ok(())
        })
    }

    /// The task's reference scorecard (baselines + ceiling) and where it came from.
    pub fn reference(&self, task_id: &str) -> DbResult<Option<(String, String)>> {
        let row = self.backend.with(|s| {
            s.query_opt("SELECT scorecard, source FROM task_references WHERE task_id = $1", vals![task_id])
        })?;
        row.map(|mut r| Ok((r.text(0)?, r.text(1)?))).transpose()
    }
}
