//! The Virtual Cell Arena web leaderboard: server-rendered pages (axum + askama, no JavaScript)
//! with a JSON twin of every page under `/api/...`, SQLite or Postgres storage (`db`) with
//! migrations, organiser tokens, per-token rate limits and a persistent scoring queue.
//!
//! The web handlers never compute metrics: they show stored boards. Scoring an upload is injected
//! through [`Scorer`] (the `arena` binary implements it with `evaluate`, the same code as
//! `arena eval`), so this crate depends only on `tasks` and `metrics`; at write time (after a job,
//! a publish, a new reference) [`board`] summarises the scorecards per view with `metrics`
//! (bootstrap CIs, paired-bootstrap ranks and tie groups).
//!
//! What is hidden: the held-out (test) cells and their expression profiles live only in the
//! scorer's datasets and never reach this crate; uploads are stored under generated names and
//! never served. The test perturbations are split into a public and a private view
//! ([`split`]): until the organisers flip a task's reveal switch, only public-view scores (means,
//! CIs, ranks and per-perturbation values of the public perturbations) leave the server.
//! What is public: task specs and the public view of every scored row. Each task page says
//! whether the task's test data themselves are public (published data, or the simulator at its
//! public seed) or hidden (a simulator world drawn from an organiser secret, or a private dataset
//! file), and hidden tasks offer their training download ([`test_data`]).

pub mod auth;
pub mod board;
pub mod cache;
pub mod card;
pub mod db;
pub mod housekeeping;
pub mod listen;
pub mod plots;
pub mod queue;
pub mod split;
pub mod test_data;
pub mod views;
pub mod web;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tasks::scorecard::Scorecard;

pub use db::Db;
pub use web::{ROUTES, Route, router};

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

#[derive(Debug, Clone)]
pub struct RateLimit {
    /// At most this many submissions per token ...
    pub max: u32,
    /// ... in any window of this many seconds.
    pub window_secs: i64,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Where uploads are stored, under generated names.
    pub upload_dir: PathBuf,
    /// Largest accepted upload in bytes.
    pub max_upload_bytes: u64,
    pub rate_limit: RateLimit,
    /// How often an idle worker looks for jobs (it is also woken on each submission).
    pub poll_interval: Duration,
    /// A job whose scoring process crashed, or that was interrupted by a restart, this many
    /// times is marked failed instead of being tried again.
    pub max_attempts: i64,
    /// At most this many submissions per token in any 24 hours (besides `rate_limit`), if set.
    pub daily_quota: Option<u32>,
    /// Jobs scored at once (each worker runs one scoring process at a time).
    pub workers: usize,
    /// How long a claimed job stays leased to its worker without a renewal; the worker renews
    /// it every third of that while it scores. A job whose lease expired (its server stopped)
    /// is claimed again by any server.
    pub lease: Duration,
    /// The most bytes kept uploads plus streaming ones may hold; a new upload is refused while
    /// the quota has no room for one of `max_upload_bytes`.
    pub storage_quota_bytes: Option<u64>,
    /// Uploads of failed submissions are deleted this long after the failure (the row and its
    /// error text stay).
    pub retention: Option<Duration>,
    pub timeouts: Timeouts,
    /// Per task, how its test data are held ([`test_data`]); a task not listed is public.
    pub test_data: std::collections::BTreeMap<String, test_data::TestData>,
}

/// Connection limits of the HTTP server ([`listen`]).
#[derive(Debug, Clone)]
pub struct Timeouts {
    /// A connection must send a request's complete headers within this time.
    pub header_read: Duration,
    /// An upload must deliver more body data within this time (else 408).
    pub body: Duration,
    /// A connection that sends and receives nothing for this long is closed.
    pub idle: Duration,
    /// Connections served at once; further ones wait in the listen backlog.
    pub max_connections: usize,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            header_read: Duration::from_secs(10),
            body: Duration::from_secs(60),
            idle: Duration::from_secs(120),
            max_connections: 512,
        }
    }
}

impl Config {
    /// Defaults beside the database file: uploads in `<db dir>/uploads`, 256 MiB, 20 per hour
    /// and no daily quota, 2 attempts per job, 1 worker with 60 s leases, no storage quota or
    /// retention, [`Timeouts::default`].
    pub fn beside(db_path: &Path) -> Self {
        let dir = db_path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        Config {
            upload_dir: dir.join("uploads"),
            max_upload_bytes: 256 * 1024 * 1024,
            rate_limit: RateLimit { max: 20, window_secs: 3600 },
            poll_interval: Duration::from_secs(2),
            max_attempts: 2,
            daily_quota: None,
            workers: 1,
            lease: Duration::from_secs(60),
            storage_quota_bytes: None,
            retention: None,
            timeouts: Timeouts::default(),
            test_data: Default::default(),
        }
    }
}

pub struct AppState {
    pub db: Db,
    pub scorer: Arc<dyn Scorer>,
    pub config: Config,
    pub wake: tokio::sync::Notify,
    /// Rendered task pages (see [`cache`]).
    pub pages: cache::PageCache,
    /// A line the home page shows above everything (e.g. that the demo is still being seeded).
    pub notice: std::sync::RwLock<Option<String>>,
}

impl AppState {
    /// Sets (or with `None` clears) the home page's notice.
    pub fn set_notice(&self, notice: Option<String>) {
        *self.notice.write().unwrap_or_else(|p| p.into_inner()) = notice;
    }

    pub fn notice(&self) -> Option<String> {
        self.notice.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl AppState {
    pub fn new(db: Db, scorer: Arc<dyn Scorer>, config: Config) -> Result<Arc<Self>, String> {
        std::fs::create_dir_all(&config.upload_dir)
            .map_err(|e| format!("creating the upload directory {}: {e}", config.upload_dir.display()))?;
        let removed = remove_stale_parts(&config.upload_dir, Duration::from_secs(3600));
        if removed > 0 {
            eprintln!("leaderboard: removed {removed} half-written upload(s) (.part) left by an interrupted server");
        }
        // Their reservations too (same age rule: a younger one may be another server's upload).
        let released = db.release_stale_reservations(db::now() - 3600)?;
        if released > 0 {
            eprintln!("leaderboard: released {released} upload reservation(s) left by an interrupted server");
        }
        Ok(Arc::new(AppState {
            db,
            scorer,
            config,
            wake: tokio::sync::Notify::new(),
            pages: cache::PageCache::default(),
            notice: std::sync::RwLock::new(None),
        }))
    }
}

/// Removes `*.part` files (uploads still streaming when a server stopped) older than `age`; a
/// younger one may belong to another server sharing the folder. Returns how many were removed.
pub fn remove_stale_parts(dir: &Path, age: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "part"))
        .filter(|e| e.metadata().and_then(|m| m.modified()).is_ok_and(|t| t.elapsed().is_ok_and(|d| d > age)))
        .filter(|e| std::fs::remove_file(e.path()).is_ok())
        .count()
}

/// Stores every embedded task spec in the `tasks` table (insert or update).
pub fn sync_tasks(db: &Db) -> Result<usize, String> {
    let specs = tasks::embedded_specs().map_err(|e| e.to_string())?;
    for s in &specs {
        db.upsert_task(&db::TaskRow {
            id: s.spec.id.clone(),
            family: s.spec.task.clone(),
            dataset: s.spec.dataset.clone(),
            title: s.spec.title.clone(),
            description: s.spec.description.clone(),
            metrics: s.spec.metrics.clone(),
            spec_sha256: s.sha256.clone(),
            revealed: false,
        })?;
    }
    Ok(specs.len())
}

/// Stores a scorecard computed on this server as its task's reference (baseline rows + ceiling).
pub fn store_reference(db: &Db, card: &Scorecard, source: &str) -> Result<(), String> {
    let json = serde_json::to_string(card).map_err(|e| e.to_string())?;
    if db.task(&card.task.id)?.is_none() {
        return Err(format!("unknown task '{}'", card.task.id));
    }
    db.set_reference(&card.task.id, &json, source)?;
    board::record_reference(db, &card::CardView::parse(&json)?, source)?;
    board::rebuild(db, &card.task.id)
}

/// Imports a scorecard computed elsewhere (`arena publish`), marked self-reported, and rebuilds
/// its task's board. Returns the submission id. The task must exist here with the same spec hash.
pub fn publish_scorecard(db: &Db, json: &str, name: Option<&str>, description: &str) -> Result<i64, String> {
    let (id, task) = import_scorecard(db, json, name, description)?;
    board::rebuild(db, &task)?;
    Ok(id)
}

/// [`publish_scorecard`] without the board rebuild (for importing many at once, then calling
/// [`board::rebuild`] once per task). Returns the submission id and the task id.
pub fn import_scorecard(db: &Db, json: &str, name: Option<&str>, description: &str) -> Result<(i64, String), String> {
    let card = card::CardView::parse(json)?;
    let task = db
        .task(&card.task.id)?
        .ok_or_else(|| format!("task '{}' is not on this leaderboard (see `arena tasks`)", card.task.id))?;
    if !card.task.spec_sha256.is_empty() && card.task.spec_sha256 != task.spec_sha256 {
        return Err(format!(
            "the scorecard was computed with another version of task '{}' (spec sha256 {} here, {} in the file)",
            task.id, task.spec_sha256, card.task.spec_sha256
        ));
    }
    let row = card.model_row().ok_or_else(|| {
        "the scorecard has no model row (a baselines-only run); publish a run with a model (`arena eval MODEL`, `--predictions`, `--baseline`)".to_string()
    })?;
    let name = name.map(str::to_string).unwrap_or_else(|| row.name.clone());
    let id = db.insert_submission(&db::NewSubmission {
        task_id: &task.id,
        name: &name,
        description,
        kind: &row.kind,
        source: "self-reported",
        token_id: None,
        scorecard: Some(json),
        upload_name: None,
        upload_bytes: None,
        receipt_sha256: None,
    })?;
    board::record_submission(db, id, &card)?;
    Ok((id, task.id))
}

/// Serves `state` on `listener` until the future is dropped, with the scoring workers and the
/// housekeeping (retention) running.
pub async fn serve(listener: tokio::net::TcpListener, state: Arc<AppState>) -> std::io::Result<()> {
    board::backfill(&state.db).map_err(std::io::Error::other)?;
    queue::start(state.clone())?;
    housekeeping::start(state.clone());
    listen::serve(listener, router(state.clone()), state.config.timeouts.clone()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_stale_part_files_are_removed() {
        let dir =
            std::env::temp_dir().join(format!("lb-parts-{}-{}", std::process::id(), auth::random_hex(4).unwrap()));
        std::fs::create_dir_all(&dir).unwrap();
        let old = std::time::SystemTime::now() - Duration::from_secs(7200);
        for (name, stale) in [("a.part", true), ("b.part", false), ("c.h5ad", true)] {
            let f = std::fs::File::create(dir.join(name)).unwrap();
            if stale {
                f.set_modified(old).unwrap();
            }
        }
        assert_eq!(remove_stale_parts(&dir, Duration::from_secs(3600)), 1);
        let mut left: Vec<String> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        left.sort();
        assert_eq!(left, ["b.part", "c.h5ad"], "a fresh .part (another server's upload) and finished uploads stay");
        std::fs::remove_dir_all(dir).ok();
    }
}
