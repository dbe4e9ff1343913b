//! Leaderboard storage: the [`Db`] handle, its row types, and opening a database (SQLite file or
//! Postgres server, see [`parse_database_url`]) with its migrations. Every query is written once,
//! with `$1, $2` placeholders and bound parameters only, against `session::Session`, which
//! SQLite (`sqlite`, WAL) and Postgres (`pg`) implement; the queries live in `records`
//! (tasks, tokens, submissions, references), `boards` (leaderboard views) and `jobs` (queue).
//!
//! Tables: `tasks` (the embedded task specs), `tokens` (organiser tokens, salted sha256 at rest),
//! `submissions` (models: uploads and self-reported scorecards, with their scorecard JSON),
//! `task_references` (the latest baseline rows + noise ceiling per task), `jobs` (the persistent
//! scoring queue), `row_scores` (each scored row's summaries per leaderboard view), `boards` (each
//! task's ranked board per view, rebuilt at write time) and `schema_migrations`.

mod backend;
mod boards;
mod clock;
mod error;
pub use boards::BoardState;
mod jobs;
mod migrations;
mod pg;
mod records;
pub mod scratch;
mod session;
mod sqlite;
pub mod tls;
mod url;
mod value;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use backend::{Backend, Dialect};
use value::vals;

pub use url::{DatabaseUrl, parse_database_url};

pub use clock::{now, now_ms};
pub use error::{DbResult, LbError};

/// The advisory lock (Postgres) under which the first server makes the split key.
const SPLIT_KEY_LOCK: i64 = 0x0076_6361_5f6b_6579; // "vca_key"

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
    /// Why scoring failed: shown to the submitter only (see `views::submission`).
    #[serde(skip)]
    pub error: Option<String>,
    #[serde(skip)]
    pub scorecard: Option<String>,
    #[serde(skip)]
    pub upload_name: Option<String>,
    pub upload_bytes: Option<i64>,
    pub created: i64,
    pub updated: i64,
    /// The token that submitted it (none for self-reported scorecards).
    #[serde(skip)]
    pub token_id: Option<i64>,
    /// sha256 (hex) of the submission's receipt: the secret its submitter got back with the
    /// upload, which unlocks the error text.
    #[serde(skip)]
    pub receipt_sha256: Option<String>,
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
    /// sha256 (hex) of the receipt handed to the submitter.
    pub receipt_sha256: Option<&'a str>,
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub submission_id: i64,
    pub task_id: String,
    pub kind: String,
    pub upload_name: String,
    /// How many times the job has been claimed, this time included.
    pub attempts: i64,
    /// The lease owner written with this claim (random per claim): renewing, retrying and
    /// finishing the job succeed only while the job still carries it.
    pub lease: String,
}

/// A slot asked for before an upload streams ([`Db::reserve_upload`]): the submission row is
/// written first, counted by the token's quotas and the storage quota at once, so parallel
/// uploads cannot pass a limit.
pub struct Reservation<'a> {
    pub task_id: &'a str,
    pub token_id: i64,
    /// (at most this many submissions, in any window of this many seconds), per token.
    pub limits: &'a [(u32, i64)],
    /// Bytes held for the upload while it streams (the largest accepted upload).
    pub reserve_bytes: i64,
    /// The most bytes all kept uploads plus the uploads streaming may hold, if limited.
    pub storage_quota: Option<i64>,
}

/// What [`Db::reserve_upload`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reserved {
    /// The reserved submission's id (status `uploading`, not yet queued).
    Slot(i64),
    /// The token made `made` submissions in the last `window_secs` seconds, `max` allowed.
    RateLimited { made: u32, max: u32, window_secs: i64 },
    /// Kept and streaming uploads hold `used` bytes; another upload would pass `quota`.
    StorageFull { used: i64, quota: i64 },
}

/// The rest of an upload's submission, written when its file is stored ([`Db::complete_upload`]).
pub struct CompletedUpload<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub kind: &'a str,
    pub upload_name: &'a str,
    pub upload_bytes: i64,
    pub receipt_sha256: &'a str,
}

/// What [`Db::requeue_running`] did with the jobs a stopped server left running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requeued {
    /// Back to pending.
    pub requeued: usize,
    /// Marked failed: they had used up their attempts.
    pub failed: usize,
}

pub struct Db {
    backend: Backend,
    url: DatabaseUrl,
    /// The split key, read once (see [`Db::split_key`]).
    split_key: std::sync::OnceLock<crate::split::SplitKey>,
    /// Bumped on every board or reveal write made through this handle (see [`Db::generation`]).
    writes: AtomicU64,
}

impl Db {
    /// Opens (creating if needed) an SQLite database file, switches it to WAL and runs pending
    /// migrations.
    pub fn open(path: &Path) -> DbResult<Self> {
        Self::connect(&DatabaseUrl::Sqlite(path.to_path_buf()))
    }

    /// Opens an SQLite file or connects to a Postgres server, then runs pending migrations.
    pub fn connect(url: &DatabaseUrl) -> DbResult<Self> {
        let backend = match url {
            DatabaseUrl::Sqlite(path) => Backend::Sqlite(Mutex::new(sqlite::open(path)?)),
            DatabaseUrl::Postgres(full) => {
                Backend::Postgres(Mutex::new(pg::Postgres::connect(full, &url.to_string())?))
            }
        };
        let db = Db { backend, url: url.clone(), writes: AtomicU64::new(0), split_key: std::sync::OnceLock::new() };
        migrations::migrate(&db.backend)?;
        db.split_key()?;
        Ok(db)
    }

    /// The secret key of the public/private split ([`crate::split`]): 32 random bytes made by the
    /// first server on this database and shared by every server using it. Making it drops the
    /// stored per-view scores and boards (split by an older rule); the next start rebuilds them
    /// (`board::backfill`).
    pub fn split_key(&self) -> DbResult<crate::split::SplitKey> {
        if let Some(key) = self.split_key.get() {
            return Ok(key.clone());
        }
        let fresh = crate::auth::random_hex(32)?;
        let stored = self.backend.exclusive_transaction(SPLIT_KEY_LOCK, |s| {
            let found = s.query_opt("SELECT value FROM settings WHERE name = 'split_key'", vals![])?;
            if let Some(mut row) = found {
                return Ok(row.text(0)?);
            }
            s.execute("INSERT INTO settings (name, value) VALUES ('split_key', $1)", vals![fresh.as_str()])?;
            s.execute("DELETE FROM row_scores", vals![])?;
            s.execute("DELETE FROM boards", vals![])?;
            Ok(fresh)
        })?;
        let bytes: Vec<u8> = (0..stored.len() / 2)
            .filter_map(|i| stored.get(2 * i..2 * i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
            .collect();
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "database: the split key in `settings` is not 64 hex characters".to_string())?;
        self.bump();
        Ok(self.split_key.get_or_init(|| crate::split::SplitKey(key)).clone())
    }

    /// Where the data lives (shown without a password).
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// The SQLite file, if the database is one.
    pub fn path(&self) -> Option<&Path> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => Some(path),
            DatabaseUrl::Postgres(_) => None,
        }
    }

    /// The schema versions applied, in order.
    pub fn schema_versions(&self) -> DbResult<Vec<i64>> {
        migrations::versions(&self.backend)
    }

    /// Changes whenever a board or a reveal switch may have changed, through this handle or
    /// another process: the key of cached pages. SQLite: its `data_version`; Postgres: the WAL
    /// insert position (moves on every write to the server, so it over-approximates).
    pub fn generation(&self) -> DbResult<(u64, i64)> {
        let sql = match self.backend.dialect() {
            Dialect::Sqlite => "PRAGMA data_version",
            Dialect::Postgres => "SELECT (pg_current_wal_insert_lsn() - '0/0')::BIGINT",
        };
        let version = self.backend.with(|s| Ok(s.query_one(sql, vals![])?.int(0)?))?;
        Ok((self.writes.load(Ordering::Acquire), version))
    }

    fn bump(&self) {
        self.writes.fetch_add(1, Ordering::AcqRel);
    }

    /// SQLite's journal mode (`wal`); Postgres has none.
    pub fn journal_mode(&self) -> DbResult<String> {
        match self.backend.dialect() {
            Dialect::Sqlite => self.backend.with(|s| Ok(s.query_one("PRAGMA journal_mode", vals![])?.text(0)?)),
            Dialect::Postgres => Err("journal_mode is an SQLite setting; this database is Postgres".into()),
        }
    }
}
