//! SQLite storage: versioned migrations, WAL, and every query through bound parameters.
//!
//! Tables: `tasks` (the embedded task specs), `tokens` (organiser tokens, salted sha256 at rest),
//! `submissions` (models: uploads and self-reported scorecards, with their scorecard JSON),
//! `task_references` (the latest baseline rows + noise ceiling per task), `jobs` (the persistent
//! scoring queue), `row_scores` (each scored row's summaries per leaderboard view), `boards` (each
//! task's ranked board per view, rebuilt at write time) and `schema_migrations`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::auth;

/// Migrations in order; `schema_migrations` records which ran. Never edit one that shipped:
/// append a new one.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        r#"
CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    family TEXT NOT NULL,
    dataset TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    metrics_json TEXT NOT NULL,
    spec_sha256 TEXT NOT NULL
);
CREATE TABLE tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    salt BLOB NOT NULL,
    hash BLOB NOT NULL,
    created INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE submissions (
    id INTEGER PRIMARY KEY,
    task_id TEXT NOT NULL REFERENCES tasks(id),
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    token_id INTEGER REFERENCES tokens(id),
    status TEXT NOT NULL,
    error TEXT,
    scorecard TEXT,
    upload_name TEXT,
    upload_bytes INTEGER,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL
);
CREATE INDEX submissions_task ON submissions(task_id, status);
CREATE INDEX submissions_token ON submissions(token_id, created);
CREATE TABLE task_references (
    task_id TEXT PRIMARY KEY REFERENCES tasks(id),
    scorecard TEXT NOT NULL,
    source TEXT NOT NULL,
    updated INTEGER NOT NULL
);
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    submission_id INTEGER NOT NULL UNIQUE REFERENCES submissions(id),
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL,
    started INTEGER,
    finished INTEGER
);
CREATE INDEX jobs_status ON jobs(status, id);
"#,
    ),
    (
        2,
        r#"
ALTER TABLE tasks ADD COLUMN revealed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;
CREATE TABLE row_scores (
    task_id TEXT NOT NULL REFERENCES tasks(id),
    submission_id INTEGER REFERENCES submissions(id),
    view TEXT NOT NULL,
    json TEXT NOT NULL
);
CREATE UNIQUE INDEX row_scores_key ON row_scores(task_id, COALESCE(submission_id, 0), view);
CREATE TABLE boards (
    task_id TEXT NOT NULL REFERENCES tasks(id),
    view TEXT NOT NULL,
    json TEXT NOT NULL,
    updated INTEGER NOT NULL,
    PRIMARY KEY (task_id, view)
);
"#,
    ),
];

pub type DbResult<T> = Result<T, String>;

fn err(e: rusqlite::Error) -> String {
    format!("database: {e}")
}

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// `sqlite:PATH`, `sqlite://PATH` or a plain path -> the file path. Other schemes are refused.
pub fn parse_database_url(url: &str) -> DbResult<PathBuf> {
    if let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        if rest.is_empty() {
            return Err(format!("--database {url}: expected sqlite:PATH"));
        }
        return Ok(PathBuf::from(rest));
    }
    if url.contains("://") {
        return Err(format!(
            "--database {url}: only SQLite is supported in this build (sqlite:PATH); Postgres is not implemented yet"
        ));
    }
    Ok(PathBuf::from(url))
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskRow {
    pub id: String,
    pub family: String,
    pub dataset: String,
    pub title: String,
    pub description: String,
    pub metrics: Vec<String>,
    pub spec_sha256: String,
    /// Whether the organisers revealed the private leaderboard (see `crate::split`).
    pub revealed: bool,
}

#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    /// An organiser (admin) token: may also flip the reveal switch.
    pub admin: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SubmissionRow {
    pub id: i64,
    pub task_id: String,
    pub name: String,
    pub description: String,
    /// `predictions`, `onnx`, or the model kind of a self-reported scorecard.
    pub kind: String,
    /// `server` (scored here on the hidden split) or `self-reported` (imported with `arena publish`).
    pub source: String,
    pub status: String,
    pub error: Option<String>,
    #[serde(skip)]
    pub scorecard: Option<String>,
    #[serde(skip)]
    pub upload_name: Option<String>,
    pub upload_bytes: Option<i64>,
    pub created: i64,
    pub updated: i64,
}

pub struct NewSubmission<'a> {
    pub task_id: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub kind: &'a str,
    pub source: &'a str,
    pub token_id: Option<i64>,
    /// Scored already (self-reported): stored as `scored` with no job.
    pub scorecard: Option<&'a str>,
    pub upload_name: Option<&'a str>,
    pub upload_bytes: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub submission_id: i64,
    pub task_id: String,
    pub kind: String,
    pub upload_name: String,
}

pub struct Db {
    conn: Mutex<Connection>,
    path: PathBuf,
    /// Bumped on every board or reveal write made through this handle (see [`Db::generation`]).
    writes: AtomicU64,
}

const SUBMISSION_COLUMNS: &str = "id, task_id, name, description, kind, source, status, error, scorecard, upload_name, upload_bytes, created, updated";

fn submission_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SubmissionRow> {
    Ok(SubmissionRow {
        id: r.get(0)?,
        task_id: r.get(1)?,
        name: r.get(2)?,
        description: r.get(3)?,
        kind: r.get(4)?,
        source: r.get(5)?,
        status: r.get(6)?,
        error: r.get(7)?,
        scorecard: r.get(8)?,
        upload_name: r.get(9)?,
        upload_bytes: r.get(10)?,
        created: r.get(11)?,
        updated: r.get(12)?,
    })
}

impl Db {
    /// Opens (creating if needed) the database file, switches it to WAL and runs pending migrations.
    pub fn open(path: &Path) -> DbResult<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        }
        let conn = Connection::open(path).map_err(|e| format!("opening database {}: {e}", path.display()))?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).map_err(err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!("database {}: could not switch to WAL (journal_mode is {mode})", path.display()));
        }
        conn.execute_batch("PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000; PRAGMA synchronous=NORMAL;")
            .map_err(err)?;
        let db = Db { conn: Mutex::new(conn), path: path.to_path_buf(), writes: AtomicU64::new(0) };
        db.migrate()?;
        Ok(db)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn migrate(&self) -> DbResult<()> {
        let mut conn = self.lock();
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied INTEGER NOT NULL)",
        )
        .map_err(err)?;
        for (version, sql) in MIGRATIONS {
            let tx = conn.transaction().map_err(err)?;
            let done: bool = tx
                .query_row("SELECT EXISTS(SELECT 1 FROM schema_migrations WHERE version = ?1)", params![version], |r| {
                    r.get(0)
                })
                .map_err(err)?;
            if !done {
                tx.execute_batch(sql).map_err(|e| format!("migration {version}: {e}"))?;
                tx.execute("INSERT INTO schema_migrations (version, applied) VALUES (?1, ?2)", params![version, now()])
                    .map_err(err)?;
            }
            tx.commit().map_err(err)?;
        }
        Ok(())
    }

    /// The schema versions applied, in order.
    pub fn schema_versions(&self) -> DbResult<Vec<i64>> {
        let conn = self.lock();
        let mut st = conn.prepare("SELECT version FROM schema_migrations ORDER BY version").map_err(err)?;
        let rows = st.query_map([], |r| r.get(0)).map_err(err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }

    /// Changes whenever a board or a reveal switch may have changed, through this handle or
    /// another process (SQLite's `data_version`): the key of cached pages.
    pub fn generation(&self) -> DbResult<(u64, i64)> {
        let version: i64 = self.lock().query_row("PRAGMA data_version", [], |r| r.get(0)).map_err(err)?;
        Ok((self.writes.load(Ordering::Acquire), version))
    }

    fn bump(&self) {
        self.writes.fetch_add(1, Ordering::AcqRel);
    }

    pub fn journal_mode(&self) -> DbResult<String> {
        self.lock().query_row("PRAGMA journal_mode", [], |r| r.get(0)).map_err(err)
    }

    // ---- tasks

    pub fn upsert_task(&self, t: &TaskRow) -> DbResult<()> {
        let metrics = serde_json::to_string(&t.metrics).map_err(|e| e.to_string())?;
        self.lock()
            .execute(
                "INSERT INTO tasks (id, family, dataset, title, description, metrics_json, spec_sha256)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(id) DO UPDATE SET family=excluded.family, dataset=excluded.dataset, title=excluded.title,
                   description=excluded.description, metrics_json=excluded.metrics_json, spec_sha256=excluded.spec_sha256",
                params![t.id, t.family, t.dataset, t.title, t.description, metrics, t.spec_sha256],
            )
            .map_err(err)?;
        Ok(())
    }

    fn task_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TaskRow> {
        let metrics: String = r.get(5)?;
        Ok(TaskRow {
            id: r.get(0)?,
            family: r.get(1)?,
            dataset: r.get(2)?,
            title: r.get(3)?,
            description: r.get(4)?,
            metrics: serde_json::from_str(&metrics).unwrap_or_default(),
            spec_sha256: r.get(6)?,
            revealed: r.get::<_, i64>(7)? != 0,
        })
    }

    pub fn tasks(&self) -> DbResult<Vec<TaskRow>> {
        let conn = self.lock();
        let mut st = conn
            .prepare("SELECT id, family, dataset, title, description, metrics_json, spec_sha256, revealed FROM tasks ORDER BY id")
            .map_err(err)?;
        let rows = st.query_map([], Self::task_from_row).map_err(err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }

    pub fn task(&self, id: &str) -> DbResult<Option<TaskRow>> {
        self.lock()
            .query_row(
                "SELECT id, family, dataset, title, description, metrics_json, spec_sha256, revealed FROM tasks WHERE id = ?1",
                params![id],
                Self::task_from_row,
            )
            .optional()
            .map_err(err)
    }

    /// Flips a task's reveal switch (the private leaderboard becomes visible, or hidden again).
    pub fn set_revealed(&self, task_id: &str, revealed: bool) -> DbResult<()> {
        let n = self
            .lock()
            .execute("UPDATE tasks SET revealed = ?2 WHERE id = ?1", params![task_id, revealed as i64])
            .map_err(err)?;
        self.bump();
        if n == 0 {
            return Err(format!("no task '{task_id}' (see `arena tasks`)"));
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
        let conn = self.lock();
        conn.execute(
            "INSERT INTO tokens (name, salt, hash, created, admin) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![name, salt, hash.to_vec(), now(), admin as i64],
        )
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                format!("a token named '{name}' exists already")
            }
            e => err(e),
        })?;
        Ok(auth::format_token(conn.last_insert_rowid(), &secret))
    }

    /// The token's row if `token` is a valid, unrevoked organiser token (constant-time comparison).
    pub fn verify_token(&self, token: &str) -> DbResult<Option<TokenRow>> {
        let Some((id, secret)) = auth::parse_token(token) else {
            return Ok(None);
        };
        type Stored = (String, Vec<u8>, Vec<u8>, i64, i64);
        let row: Option<Stored> = self
            .lock()
            .query_row("SELECT name, salt, hash, revoked, admin FROM tokens WHERE id = ?1", params![id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()
            .map_err(err)?;
        let Some((name, salt, hash, revoked, admin)) = row else {
            // Same work as a real check, so a missing id costs the same time as a wrong secret.
            let _ = auth::hashes_equal(&auth::hash_secret(&[0u8; 16], secret), &[0u8; 32]);
            return Ok(None);
        };
        let ok = auth::hashes_equal(&auth::hash_secret(&salt, secret), &hash);
        Ok((ok && revoked == 0).then_some(TokenRow { id, name, admin: admin != 0 }))
    }

    /// Submissions made with `token_id` since unix time `since`.
    pub fn submissions_since(&self, token_id: i64, since: i64) -> DbResult<u32> {
        self.lock()
            .query_row(
                "SELECT COUNT(*) FROM submissions WHERE token_id = ?1 AND created >= ?2",
                params![token_id, since],
                |r| r.get(0),
            )
            .map_err(err)
    }

    // ---- submissions and jobs

    /// Inserts a submission; one without a scorecard gets a pending job in the same transaction.
    pub fn insert_submission(&self, s: &NewSubmission<'_>) -> DbResult<i64> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(err)?;
        let t = now();
        let status = if s.scorecard.is_some() { "scored" } else { "queued" };
        tx.execute(
            "INSERT INTO submissions (task_id, name, description, kind, source, token_id, status, scorecard, upload_name, upload_bytes, created, updated)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)",
            params![s.task_id, s.name, s.description, s.kind, s.source, s.token_id, status, s.scorecard, s.upload_name, s.upload_bytes, t],
        )
        .map_err(err)?;
        let id = tx.last_insert_rowid();
        if s.scorecard.is_none() {
            tx.execute("INSERT INTO jobs (submission_id, status, created) VALUES (?1, 'pending', ?2)", params![id, t])
                .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(id)
    }

    pub fn submission(&self, id: i64) -> DbResult<Option<SubmissionRow>> {
        self.lock()
            .query_row(
                &format!("SELECT {SUBMISSION_COLUMNS} FROM submissions WHERE id = ?1"),
                params![id],
                submission_from_row,
            )
            .optional()
            .map_err(err)
    }

    /// Scored submissions of a task, oldest first.
    pub fn scored_submissions(&self, task_id: &str) -> DbResult<Vec<SubmissionRow>> {
        let conn = self.lock();
        let mut st = conn
            .prepare(&format!(
                "SELECT {SUBMISSION_COLUMNS} FROM submissions WHERE task_id = ?1 AND status = 'scored' ORDER BY id"
            ))
            .map_err(err)?;
        let rows = st.query_map(params![task_id], submission_from_row).map_err(err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }

    /// The newest submissions of any task and status.
    pub fn latest_submissions(&self, limit: u32) -> DbResult<Vec<SubmissionRow>> {
        let conn = self.lock();
        let mut st = conn
            .prepare(&format!("SELECT {SUBMISSION_COLUMNS} FROM submissions ORDER BY id DESC LIMIT ?1"))
            .map_err(err)?;
        let rows = st.query_map(params![limit], submission_from_row).map_err(err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }

    pub fn set_reference(&self, task_id: &str, scorecard: &str, source: &str) -> DbResult<()> {
        self.lock()
            .execute(
                "INSERT INTO task_references (task_id, scorecard, source, updated) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(task_id) DO UPDATE SET scorecard=excluded.scorecard, source=excluded.source, updated=excluded.updated",
                params![task_id, scorecard, source, now()],
            )
            .map_err(err)?;
        Ok(())
    }

    /// The task's reference scorecard (baselines + ceiling) and where it came from.
    pub fn reference(&self, task_id: &str) -> DbResult<Option<(String, String)>> {
        self.lock()
            .query_row("SELECT scorecard, source FROM task_references WHERE task_id = ?1", params![task_id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(err)
    }

    // ---- leaderboard views (written by `crate::board` at write time)

    /// Stores scores for one view: a submission's model row, or (`submission_id` None) the
    /// task's reference rows.
    pub fn set_row_scores(&self, task_id: &str, submission_id: Option<i64>, view: &str, json: &str) -> DbResult<()> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(err)?;
        tx.execute(
            "DELETE FROM row_scores WHERE task_id = ?1 AND COALESCE(submission_id, 0) = COALESCE(?2, 0) AND view = ?3",
            params![task_id, submission_id, view],
        )
        .map_err(err)?;
        tx.execute(
            "INSERT INTO row_scores (task_id, submission_id, view, json) VALUES (?1, ?2, ?3, ?4)",
            params![task_id, submission_id, view, json],
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }

    /// A submission's scores in `view`, or (`submission_id` None) the task's reference rows.
    pub fn row_scores(&self, task_id: &str, submission_id: Option<i64>, view: &str) -> DbResult<Option<String>> {
        self.lock()
            .query_row(
                "SELECT json FROM row_scores WHERE task_id = ?1 AND COALESCE(submission_id, 0) = COALESCE(?2, 0) AND view = ?3",
                params![task_id, submission_id, view],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)
    }

    /// Every scored submission of a task (without its scorecard) with its scores JSON in `view`.
    pub fn task_row_scores(&self, task_id: &str, view: &str) -> DbResult<Vec<(SubmissionRow, String)>> {
        let conn = self.lock();
        let cols = SUBMISSION_COLUMNS.split(", ").map(|c| format!("s.{c}")).collect::<Vec<_>>().join(", ");
        let mut st = conn
            .prepare(&format!(
                "SELECT {cols}, r.json FROM submissions s JOIN row_scores r ON r.submission_id = s.id
                 WHERE s.task_id = ?1 AND s.status = 'scored' AND r.view = ?2 ORDER BY s.id"
            ))
            .map_err(err)?;
        let rows = st
            .query_map(params![task_id, view], |r| {
                let mut s = submission_from_row(r)?;
                s.scorecard = None;
                Ok((s, r.get(13)?))
            })
            .map_err(err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }

    /// Scored submissions without stored view scores (scored before migration 2).
    pub fn submissions_without_scores(&self) -> DbResult<Vec<i64>> {
        let conn = self.lock();
        let mut st = conn
            .prepare(
                "SELECT id FROM submissions s WHERE status = 'scored'
                 AND NOT EXISTS (SELECT 1 FROM row_scores r WHERE r.submission_id = s.id) ORDER BY id",
            )
            .map_err(err)?;
        let rows = st.query_map([], |r| r.get(0)).map_err(err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }

    pub fn set_board(&self, task_id: &str, view: &str, json: &str) -> DbResult<()> {
        self.lock()
            .execute(
                "INSERT INTO boards (task_id, view, json, updated) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(task_id, view) DO UPDATE SET json=excluded.json, updated=excluded.updated",
                params![task_id, view, json, now()],
            )
            .map_err(err)?;
        self.bump();
        Ok(())
    }

    pub fn board(&self, task_id: &str, view: &str) -> DbResult<Option<String>> {
        self.lock()
            .query_row("SELECT json FROM boards WHERE task_id = ?1 AND view = ?2", params![task_id, view], |r| r.get(0))
            .optional()
            .map_err(err)
    }

    /// Jobs left `running` by a crash go back to `pending` (call once at startup, before workers).
    pub fn requeue_running(&self) -> DbResult<usize> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(err)?;
        tx.execute(
            "UPDATE submissions SET status = 'queued', updated = ?1
             WHERE id IN (SELECT submission_id FROM jobs WHERE status = 'running')",
            params![now()],
        )
        .map_err(err)?;
        let n = tx
            .execute("UPDATE jobs SET status = 'pending', started = NULL WHERE status = 'running'", [])
            .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(n)
    }

    /// Takes the oldest pending job and marks it (and its submission) running.
    pub fn claim_job(&self) -> DbResult<Option<Job>> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(err)?;
        let job: Option<Job> = tx
            .query_row(
                "SELECT j.id, j.submission_id, s.task_id, s.kind, COALESCE(s.upload_name, '')
                 FROM jobs j JOIN submissions s ON s.id = j.submission_id
                 WHERE j.status = 'pending' ORDER BY j.id LIMIT 1",
                [],
                |r| {
                    Ok(Job {
                        id: r.get(0)?,
                        submission_id: r.get(1)?,
                        task_id: r.get(2)?,
                        kind: r.get(3)?,
                        upload_name: r.get(4)?,
                    })
                },
            )
            .optional()
            .map_err(err)?;
        if let Some(j) = &job {
            let t = now();
            tx.execute(
                "UPDATE jobs SET status = 'running', attempts = attempts + 1, started = ?2 WHERE id = ?1",
                params![j.id, t],
            )
            .map_err(err)?;
            tx.execute(
                "UPDATE submissions SET status = 'running', updated = ?2 WHERE id = ?1",
                params![j.submission_id, t],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(job)
    }

    /// Records a job's outcome: the scorecard JSON, or the error shown to the submitter.
    pub fn finish_job(&self, job: &Job, outcome: Result<&str, &str>) -> DbResult<()> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(err)?;
        let t = now();
        let (job_status, sub_status, card, error) = match outcome {
            Ok(card) => ("done", "scored", Some(card), None),
            Err(e) => ("failed", "failed", None, Some(e)),
        };
        tx.execute("UPDATE jobs SET status = ?2, finished = ?3 WHERE id = ?1", params![job.id, job_status, t])
            .map_err(err)?;
        tx.execute(
            "UPDATE submissions SET status = ?2, scorecard = ?3, error = ?4, updated = ?5 WHERE id = ?1",
            params![job.submission_id, sub_status, card, error, t],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(())
    }

    /// (pending, running) job counts.
    pub fn queue_depth(&self) -> DbResult<(i64, i64)> {
        self.lock()
            .query_row(
                "SELECT COALESCE(SUM(status = 'pending'), 0), COALESCE(SUM(status = 'running'), 0) FROM jobs",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_db() -> (Db, PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("lb-db-test-{}-{}", std::process::id(), auth::random_hex(6).unwrap()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("arena.sqlite");
        (Db::open(&path).unwrap(), dir)
    }

    #[test]
    fn migrations_are_versioned_and_idempotent_and_wal_is_on() {
        let (db, dir) = temp_db();
        assert_eq!(db.schema_versions().unwrap(), vec![1, 2]);
        assert_eq!(db.journal_mode().unwrap().to_lowercase(), "wal");
        let path = db.path().to_path_buf();
        drop(db);
        let again = Db::open(&path).unwrap();
        assert_eq!(again.schema_versions().unwrap(), vec![1, 2]);
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn tokens_are_hashed_at_rest_and_verified() {
        let (db, dir) = temp_db();
        let token = db.create_token("organiser").unwrap();
        assert!(db.create_token("organiser").unwrap_err().contains("exists already"));
        let row = db.verify_token(&token).unwrap().expect("valid token");
        assert_eq!(row.name, "organiser");
        // Wrong secret, wrong id, garbage: all refused.
        let mut wrong = token.clone();
        let last = wrong.pop().unwrap();
        wrong.push(if last == '0' { '1' } else { '0' });
        assert!(db.verify_token(&wrong).unwrap().is_none());
        assert!(db.verify_token("vca_999_00").unwrap().is_none());
        assert!(db.verify_token("'; DROP TABLE tokens; --").unwrap().is_none());
        // The secret is not stored anywhere in the file's token row.
        let secret = token.rsplit('_').next().unwrap().to_string();
        let stored: Vec<u8> = db.lock().query_row("SELECT hash FROM tokens", [], |r| r.get(0)).unwrap();
        assert_eq!(stored.len(), 32);
        assert!(!String::from_utf8_lossy(&stored).contains(&secret));
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn database_urls() {
        assert_eq!(parse_database_url("sqlite:/tmp/a.db").unwrap(), PathBuf::from("/tmp/a.db"));
        assert_eq!(parse_database_url("sqlite://rel/a.db").unwrap(), PathBuf::from("rel/a.db"));
        assert_eq!(parse_database_url("a.db").unwrap(), PathBuf::from("a.db"));
        assert!(parse_database_url("postgres://x/y").unwrap_err().contains("only SQLite"));
    }
}
