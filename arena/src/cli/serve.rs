//! `arena serve`: the web leaderboard (the `leaderboard` crate) with the arena's own scorer, the
//! same `evaluate` as `arena eval`, run on each upload in its own sandboxed process
//! ([`crate::isolation`]). `--demo` seeds every task with the scorecards of
//! `arena eval --suite default --reference` (the reference world model, the baselines, the ceiling); `--issue-token NAME [--admin]` creates a token and exits;
//! `--reveal TASK` / `--hide TASK` flip a task's private-leaderboard switch and exit.
//! `--secret-file` scores simulator tasks on hidden worlds and `--private-dataset` attaches an
//! organiser's file to a task ([`super::serve_worlds`]); every other task page says that its
//! test data are public.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use leaderboard::{AppState, Config, Db, RateLimit, ScoreError, Scorer, UploadKind};
use tasks::scorecard::Scorecard;

use crate::data::Registry;
use crate::data::load::LoadOptions;
use crate::eval::EvalOptions;
use crate::isolation::{Enforced, JobFailure, JobLimits, JobRunner};
use crate::worlds::Secret;

use super::serve_worlds::{self, WorldSettings};

pub const DEFAULT_DATABASE: &str = "sqlite:arena-leaderboard/arena.sqlite";

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The database: sqlite:PATH (a file, created with its migrations if missing) or
    /// postgres://USER:PASSWORD@HOST:PORT/DATABASE (a hosted server: the same tables, made by the
    /// same migrations). Messages show the URL without its password. Add ?sslmode=verify-full (or
    /// require: TLS with the certificate and host name verified, against the public web roots or
    /// &sslrootcert=CA.pem) for TLS; prefer uses it when offered; none or disable is plain TCP.
    #[arg(long, value_name = "URL", default_value = DEFAULT_DATABASE)]
    database: String,
    /// Where uploads are stored [default: `uploads` beside the SQLite file; with Postgres,
    /// arena-leaderboard/uploads]. Every server sharing a Postgres database needs the same one.
    #[arg(long, value_name = "DIR")]
    upload_dir: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// Seed every task with the baselines and noise ceiling of `arena eval --suite default`
    /// (tasks that already have them are kept). The server answers at once; the seeding runs in
    /// the background (about a minute) and the home page says so until it is done.
    #[arg(long)]
    demo: bool,
    /// Create a submission token named NAME, print it once and exit.
    #[arg(long, value_name = "NAME")]
    issue_token: Option<String>,
    /// With --issue-token: an organiser token, which may also reveal private leaderboards
    /// (POST /api/tasks/TASK/reveal).
    #[arg(long, requires = "issue_token")]
    admin: bool,
    /// Revoke the token named NAME (it can no longer submit or reveal) and exit.
    #[arg(long, value_name = "NAME", conflicts_with = "issue_token")]
    revoke_token: Option<String>,
    /// Reveal TASK's private leaderboard (scores on the held-back half of the test
    /// perturbations) and exit.
    #[arg(long, value_name = "TASK", conflicts_with = "issue_token")]
    reveal: Option<String>,
    /// Hide TASK's private leaderboard again and exit.
    #[arg(long, value_name = "TASK", conflicts_with_all = ["issue_token", "reveal"])]
    hide: Option<String>,
    /// Largest accepted upload, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    max_upload_mib: u64,
    /// Submissions allowed per token per hour. Counted when an upload starts (its row is reserved
    /// before the file streams), so parallel uploads cannot pass it; a failed upload gives its
    /// place back.
    #[arg(long, value_name = "N", default_value_t = 20)]
    rate_limit: u32,
    /// Submissions allowed per token in any 24 hours, on top of --rate-limit [default: no daily
    /// quota].
    #[arg(long, value_name = "N")]
    daily_quota: Option<u32>,
    /// Scoring jobs run at once, each in its own sandboxed process (each may use
    /// --job-memory-mib). The queue is fair across tokens: the next job goes to the token with
    /// the fewest running jobs, then round-robin, so one participant cannot hold every worker.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    workers: u16,
    /// Total disk space for kept uploads, in GiB. While it has no room for one more upload of
    /// --max-upload-mib, new uploads are refused (507) with a message saying the storage is full
    /// [default: no quota].
    #[arg(long, value_name = "GIB")]
    upload_quota_gib: Option<f64>,
    /// Delete the upload of a failed submission DAYS after it failed (its row and error text
    /// stay; checked at start and hourly) [default: keep forever].
    #[arg(long, value_name = "DAYS")]
    retention_days: Option<f64>,
    /// A connection must send a request's complete headers within SECONDS of its first byte.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    header_timeout: u64,
    /// An upload that delivers no data for SECONDS is refused (408).
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    body_timeout: u64,
    /// A connection that sends and receives nothing for SECONDS (before a request, or between
    /// keep-alive requests) is closed.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    idle_timeout: u64,
    /// Connections served at once; more wait in the listen backlog until one closes. With the
    /// timeouts above, silent or half-open connections cannot starve the server.
    #[arg(long, value_name = "N", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// Give up on an uploaded ONNX model after SECONDS of inference.
    #[arg(long, value_name = "SECONDS", default_value_t = 600.0)]
    onnx_timeout: f64,
    /// Memory (address space) of each scoring job, in MiB; an upload that needs more fails.
    #[arg(long, value_name = "MIB", default_value_t = 8192)]
    job_memory_mib: u64,
    /// CPU time of each scoring job (all its threads together).
    #[arg(long, value_name = "SECONDS", default_value_t = 7200)]
    job_cpu_seconds: u64,
    /// Wall-clock time of each scoring job; a job still running then is stopped and failed.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    job_timeout: u64,
    /// Tries per job: a job whose scoring process crashes, or that a restart interrupts, this many
    /// times is marked failed instead of being tried again.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(i64).range(1..))]
    max_attempts: i64,
    /// Score uploads even where the sandbox (Landlock, a network namespace) cannot be enforced.
    /// Without it such a server shows its boards but refuses uploads. Only for trusted submitters.
    #[arg(long)]
    unsafe_no_sandbox: bool,
    /// Bootstrap resamples for the confidence intervals.
    #[arg(long, default_value_t = 1000)]
    bootstrap: usize,
    /// The organiser secret (a text file of at least 16 random characters, e.g. `openssl rand -hex
    /// 32`): every simulator task (or those named by --hidden-task) is then scored on a world drawn
    /// from seeds derived from it, which the public binary cannot regenerate; participants train on
    /// the task's training download (/tasks/TASK/training.h5ad). Keep the file outside the repository
    /// and the data folders; the secret is never shown, logged or given to scoring jobs.
    #[arg(long, value_name = "PATH")]
    secret_file: Option<PathBuf>,
    /// With --secret-file: hide only this simulator task (repeatable) [default: every simulator task].
    #[arg(long, value_name = "TASK", requires = "secret_file")]
    hidden_task: Vec<String>,
    /// Score TASK on the organisers' own .h5ad (same layout as the task's dataset) instead of its
    /// public dataset; its test cells are never served, its training cells are the task's
    /// training download (repeatable).
    #[arg(long, value_name = "TASK=PATH", value_parser = parse_private_dataset)]
    private_dataset: Vec<(String, PathBuf)>,
    #[command(flatten)]
    registry: super::RegistryArgs,
}

fn parse_private_dataset(text: &str) -> Result<(String, PathBuf), String> {
    let (task, path) = text.split_once('=').ok_or_else(|| format!("'{text}': expected TASK=PATH"))?;
    let path = std::path::absolute(path).map_err(|e| format!("'{path}': {e}"))?;
    Ok((task.to_string(), path))
}

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
fn check_job_reach(
    runner: &JobRunner,
    database: Option<&Path>,
    upload_dir: &Path,
    secret: Option<&Path>,
) -> anyhow::Result<()> {
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
            anyhow::bail!(
                "the {what} {} lies inside {}, which scoring jobs may read; keep the leaderboard's files outside the data \
                 folder and the dataset cache (--database, --upload-dir, --secret-file)",
                path.display(),
                dir.display()
            );
        }
    }
    Ok(())
}

/// Opens `--database` (SQLite or Postgres), runs its migrations and stores the task specs.
pub fn open_db(url: &str) -> anyhow::Result<Db> {
    let url = leaderboard::db::parse_database_url(url).map_err(anyhow::Error::msg)?;
    let db = Db::connect(&url).map_err(anyhow::Error::msg)?;
    leaderboard::sync_tasks(&db).map_err(anyhow::Error::msg)?;
    Ok(db)
}

/// Stores the scorecard of every task of the default suite (the reference world model with its
/// bundled weights, the baselines and the ceiling) as the task's reference rows. A binary run away
/// from its checkout has no bundled weights: the demo then seeds the baselines only, with a note.
pub fn seed_demo(db: &Db, registry: &Registry, load: &LoadOptions, options: &EvalOptions) -> anyhow::Result<usize> {
    let tmp = tempfile::tempdir().context("creating a scratch directory")?;
    let missing: Vec<String> = tasks::embedded_specs()?
        .into_iter()
        .map(|s| s.spec.id)
        .filter(|t| !crate::reference::bundled_weights(t).is_file())
        .collect();
    let (under_test, source) = if missing.is_empty() {
        (super::suite::SuiteModel::Reference, "demo (arena eval --suite default --reference)")
    } else {
        eprintln!(
            "demo: no bundled reference weights for {} (looked in {}); seeding the baselines only",
            missing.join(", "),
            crate::reference::bundled_dir("<task>").display()
        );
        (super::suite::SuiteModel::None, "demo (arena eval --suite default)")
    };
    let cards = super::suite::run_suite("default", under_test, registry, load, options, tmp.path())?;
    for card in &cards {
        leaderboard::store_reference(db, card, source).map_err(anyhow::Error::msg)?;
    }
    Ok(cards.len())
}

/// Seeds the demo on a background thread while the server already answers; the home page shows
/// a notice until it is done (or says why it failed).
fn start_demo_seeding(state: Arc<AppState>, registry: Registry, load: LoadOptions, options: EvalOptions) {
    state.set_notice(Some(
        "The demo is being seeded: the reference model, the baselines and the noise ceiling of every task are being \
         scored (about a minute); the boards fill in when it is done. Reload to see them."
            .into(),
    ));
    eprintln!(
        "demo: scoring the reference model and the baselines of every task (arena eval --suite default --reference) in the background ..."
    );
    let spawned = std::thread::Builder::new().name("arena-demo-seed".into()).spawn(move || {
        match seed_demo(&state.db, &registry, &load, &options) {
            Ok(n) => {
                eprintln!("demo: {n} tasks seeded");
                state.set_notice(None);
            }
            Err(e) => {
                eprintln!("demo: seeding failed: {e:#}");
                state.set_notice(Some(format!("Seeding the demo failed: {e:#}")));
            }
        }
    });
    if let Err(e) = spawned {
        eprintln!("demo: could not start seeding: {e}");
    }
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let db = open_db(&args.database)?;
    let url = db.url().clone();
    if let Some(name) = &args.issue_token {
        let token = db.create_token_with(name, args.admin).map_err(anyhow::Error::msg)?;
        let role = if args.admin { "organiser (admin)" } else { "submission" };
        out!("{role} token '{name}' (shown only once; only its salted hash is stored in {url}):");
        out!("{token}");
        return Ok(());
    }
    if let Some(name) = &args.revoke_token {
        if !db.revoke_token(name).map_err(anyhow::Error::msg)? {
            anyhow::bail!("no token named '{name}' in {url}");
        }
        out!("token '{name}' is revoked (database {url})");
        return Ok(());
    }
    for (task, revealed) in [(&args.reveal, true), (&args.hide, false)] {
        if let Some(task) = task {
            db.set_revealed(task, revealed).map_err(anyhow::Error::msg)?;
            let state = if revealed { "revealed" } else { "hidden" };
            out!("the private leaderboard of {task} is now {state} (database {url})");
            return Ok(());
        }
    }
    if !(args.onnx_timeout.is_finite() && args.onnx_timeout > 0.0) {
        anyhow::bail!("--onnx-timeout {}: expected a positive number of seconds", args.onnx_timeout);
    }
    let secret = args.secret_file.as_deref().map(Secret::read).transpose().map_err(anyhow::Error::msg)?;
    let private: BTreeMap<String, PathBuf> = args.private_dataset.iter().cloned().collect();
    let settings = WorldSettings { secret: secret.as_ref(), hidden_tasks: &args.hidden_task, private: &private };
    settings.validate()?;
    let registry = args.registry.load()?;
    let load = LoadOptions { data_dir: args.registry.data_dir.clone(), ..LoadOptions::default() };
    let mut options = EvalOptions { data_dir: args.registry.data_dir.clone(), ..EvalOptions::default() };
    options.bootstrap.resamples = args.bootstrap;
    // The demo's tasks still lacking reference rows: seeded in the background once serving.
    let demo_missing = if args.demo {
        db.tasks().map_err(anyhow::Error::msg)?.iter().filter(|t| db.reference(&t.id).ok().flatten().is_none()).count()
    } else {
        0
    };
    let beside = db.path().map_or_else(|| PathBuf::from("arena-leaderboard/postgres"), Path::to_path_buf);
    let mut config = Config::beside(&beside);
    if let Some(dir) = args.upload_dir {
        config.upload_dir = dir;
    }
    config.max_upload_bytes = args.max_upload_mib.saturating_mul(1024 * 1024);
    config.rate_limit = RateLimit { max: args.rate_limit, window_secs: 3600 };
    config.daily_quota = args.daily_quota;
    config.max_attempts = args.max_attempts;
    config.workers = usize::from(args.workers);
    config.storage_quota_bytes = match args.upload_quota_gib {
        Some(g) if g.is_finite() && g > 0.0 => Some((g * f64::from(1u32 << 30)) as u64),
        Some(g) => anyhow::bail!("--upload-quota-gib {g}: expected a positive number of GiB"),
        None => None,
    };
    config.retention = match args.retention_days {
        Some(d) => match Duration::try_from_secs_f64(d * 86_400.0) {
            Ok(retention) => Some(retention),
            Err(_) => anyhow::bail!("--retention-days {d}: expected a number of days, 0 or more"),
        },
        None => None,
    };
    config.timeouts = leaderboard::Timeouts {
        header_read: Duration::from_secs(args.header_timeout.max(1)),
        body: Duration::from_secs(args.body_timeout.max(1)),
        idle: Duration::from_secs(args.idle_timeout.max(1)),
        max_connections: args.max_connections as usize,
    };
    let server_dir = config.upload_dir.parent().unwrap_or(Path::new(".")).to_path_buf();
    let jobs_dir = server_dir.join("jobs");
    let mut runner = JobRunner {
        exe: std::env::current_exe().context("finding the arena executable (scoring jobs run it)")?,
        registry: args.registry.registry.as_deref().map(std::path::absolute).transpose()?,
        data_dir: crate::data::shared_data_dir(args.registry.data_dir.as_deref())
            .ok()
            .map(std::path::absolute)
            .transpose()?,
        cache_dir: Some(std::path::absolute(crate::data::cache_dir(None))?),
        onnx_runtime: crate::runners::onnx::runtime::library_path().ok(),
        bootstrap: args.bootstrap,
        onnx_timeout: Duration::from_secs_f64(args.onnx_timeout),
        limits: JobLimits {
            memory_bytes: args.job_memory_mib.saturating_mul(1 << 20),
            cpu_seconds: args.job_cpu_seconds,
            wall: Duration::from_secs(args.job_timeout),
            ..JobLimits::default()
        },
        jobs_dir: std::path::absolute(jobs_dir)?,
        allow_unsandboxed: args.unsafe_no_sandbox,
        worlds: BTreeMap::new(),
        split_key: Some(db.split_key().map_err(anyhow::Error::msg)?),
    };
    check_job_reach(&runner, db.path(), &config.upload_dir, args.secret_file.as_deref())?;
    let prepared = serve_worlds::prepare(&db, &server_dir, &settings, &registry, &load, &options)?;
    drop(secret);
    runner.worlds = prepared.world_files;
    config.test_data = prepared.test_data;
    let scorer = ArenaScorer::new(runner);
    match (&scorer.enforced, scorer.refusal()) {
        (_, Some(reason)) => eprintln!("leaderboard: uploads are refused: {reason}"),
        (Some(e), None) => {
            eprintln!("leaderboard: each upload is scored in its own sandboxed process ({})", e.describe())
        }
        (None, None) => eprintln!("leaderboard: WARNING: uploads are scored without a sandbox (--unsafe-no-sandbox)"),
    }
    let scorer = Arc::new(scorer);
    let state = AppState::new(db, scorer, config).map_err(anyhow::Error::msg)?;
    if demo_missing > 0 {
        start_demo_seeding(state.clone(), registry, load, options);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(args.bind).await.with_context(|| format!("listening on {}", args.bind))?;
        out!("leaderboard on http://{} (database {url})", listener.local_addr()?);
        leaderboard::serve(listener, state).await.context("serving")
    })
}
