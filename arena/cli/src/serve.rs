//! `arena serve`: the web leaderboard (the `leaderboard` crate) with the arena's own scorer, the
//! same `evaluate` as `arena eval`, run on each upload in its own sandboxed process
//! ([`arena_serve::isolation`]). `--demo` seeds every task with the scorecards of
//! `arena eval --suite default --reference` (the reference world model, the baselines, the ceiling); `--issue-token NAME [--admin]` creates a token and exits;
//! `--reveal TASK` / `--hide TASK` flip a task's private-leaderboard switch and exit.
//! `--secret-file` scores simulator tasks on hidden worlds and `--private-dataset` attaches an
//! organiser's file to a task (`arena_serve::prepare`); every other task page says that its
//! test data are public.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use leaderboard::{AppState, Config, RateLimit, Scorer};

use arena_eval::EvalOptions;
use arena_serve::isolation::{JobLimits, JobRunner};
use arena_serve::worlds::Secret;
use arena_sim::load::LoadOptions;

use arena_serve::prepare::WorldSettings;

use arena_serve::database::{DEFAULT_DATABASE, open_db};

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
    registry: super::dataset_args::RegistryArgs,
}

fn parse_private_dataset(text: &str) -> Result<(String, PathBuf), String> {
    let (task, path) = text.split_once('=').ok_or_else(|| format!("'{text}': expected TASK=PATH"))?;
    let path = std::path::absolute(path).map_err(|e| format!("'{path}': {e}"))?;
    Ok((task.to_string(), path))
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
    let mut options = EvalOptions::default();
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
        data_dir: arena_data::shared_data_dir(args.registry.data_dir.as_deref())
            .ok()
            .map(std::path::absolute)
            .transpose()?,
        cache_dir: Some(std::path::absolute(arena_data::cache_dir(None))?),
        onnx_runtime: arena_models::runners::onnx::runtime::library_path().ok(),
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
    arena_serve::scorer::check_job_reach(&runner, db.path(), &config.upload_dir, args.secret_file.as_deref())?;
    let prepared = arena_serve::prepare::prepare(&db, &server_dir, &settings, &registry, &load, &options)?;
    drop(secret);
    runner.worlds = prepared.world_files;
    config.test_data = prepared.test_data;
    let scorer = arena_serve::scorer::ArenaScorer::new(runner);
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
        arena_serve::demo::start_demo_seeding(state.clone(), registry, load, options);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(args.bind).await.with_context(|| format!("listening on {}", args.bind))?;
        out!("leaderboard on http://{} (database {url})", listener.local_addr()?);
        leaderboard::serve(listener, state).await.context("serving")
    })
}
