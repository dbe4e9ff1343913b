//! `arena serve`: the web leaderboard (the `leaderboard` crate) with the arena's own scorer, the
//! same `evaluate` as `arena eval`. `--demo` seeds every task with the scorecards of
//! `arena eval --suite default --reference` (the reference world model, the baselines, the ceiling); `--issue-token NAME [--admin]` creates a token and exits;
//! `--reveal TASK` / `--hide TASK` flip a task's private-leaderboard switch and exit.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use leaderboard::{AppState, Config, Db, RateLimit, Scorer, UploadKind};
use tasks::scorecard::Scorecard;
use tasks::{TaskInstance, embedded_specs};

use crate::data::Registry;
use crate::data::load::{LoadOptions, Loaded, load_dataset};
use crate::eval::{EvalOptions, evaluate};
use crate::runners::onnx::{Device, OnnxModel, OnnxOptions};
use crate::runners::predictions::Predictions;

pub const DEFAULT_DATABASE: &str = "sqlite:arena-leaderboard/arena.sqlite";

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The database: sqlite:PATH (a file, created with its migrations if missing) or
    /// postgres://USER:PASSWORD@HOST:PORT/DATABASE (a hosted server: the same tables, made by the
    /// same migrations). Messages show the URL without its password.
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
    /// (tasks that already have them are kept).
    #[arg(long)]
    demo: bool,
    /// Create a submission token named NAME, print it once and exit.
    #[arg(long, value_name = "NAME")]
    issue_token: Option<String>,
    /// With --issue-token: an organiser token, which may also reveal private leaderboards
    /// (POST /api/tasks/TASK/reveal).
    #[arg(long, requires = "issue_token")]
    admin: bool,
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
    /// Submissions allowed per token per hour.
    #[arg(long, value_name = "N", default_value_t = 20)]
    rate_limit: u32,
    /// Give up on an uploaded ONNX model after SECONDS of inference.
    #[arg(long, value_name = "SECONDS", default_value_t = 600.0)]
    onnx_timeout: f64,
    /// Bootstrap resamples for the confidence intervals.
    #[arg(long, default_value_t = 1000)]
    bootstrap: usize,
    #[command(flatten)]
    registry: super::RegistryArgs,
}

/// Scores uploads with `evaluate` on the task's split; datasets are loaded once and kept.
pub struct ArenaScorer {
    registry: Registry,
    load: LoadOptions,
    options: EvalOptions,
    onnx_timeout: Duration,
    datasets: Mutex<HashMap<String, Arc<Loaded>>>,
}

impl ArenaScorer {
    pub fn new(registry: Registry, load: LoadOptions, options: EvalOptions, onnx_timeout: Duration) -> Self {
        ArenaScorer { registry, load, options, onnx_timeout, datasets: Mutex::new(HashMap::new()) }
    }

    fn dataset(&self, key: &str) -> Result<Arc<Loaded>, String> {
        let mut cache = self.datasets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(d) = cache.get(key) {
            return Ok(d.clone());
        }
        let loaded =
            Arc::new(load_dataset(key, &self.registry, &self.load).map_err(|e| format!("dataset {key}: {e}"))?);
        cache.insert(key.to_string(), loaded.clone());
        Ok(loaded)
    }
}

impl Scorer for ArenaScorer {
    fn score(&self, task: &str, upload: &Path, kind: UploadKind) -> Result<Scorecard, String> {
        let spec = embedded_specs()
            .map_err(|e| e.to_string())?
            .into_iter()
            .find(|s| s.spec.id == task)
            .ok_or_else(|| format!("unknown task '{task}'"))?;
        let loaded = self.dataset(&spec.spec.dataset)?;
        let instance = TaskInstance::build(spec, &loaded.dataset).map_err(|e| e.to_string())?;
        // The uploaded file's path holds a generated name; messages name the upload instead.
        let scrub = |e: String| e.replace(&upload.display().to_string(), "the uploaded file");
        let model: Box<dyn tasks::Model> = match kind {
            UploadKind::Predictions => {
                Box::new(Predictions::for_task(upload, &instance, None, &[]).map_err(|e| scrub(e.to_string()))?)
            }
            UploadKind::Onnx => {
                let options = OnnxOptions {
                    device: Device::Cpu,
                    batch_size: None,
                    timeout: Some(self.onnx_timeout),
                    progress: false,
                };
                let mut m = OnnxModel::load(upload, &options).map_err(|e| scrub(e.to_string()))?;
                m.bind(&instance).map_err(|e| scrub(e.to_string()))?;
                Box::new(m)
            }
        };
        evaluate(&instance, Some(model.as_ref()), &loaded.source, &self.options).map_err(|e| scrub(e.to_string()))
    }

    fn supports(&self, _kind: UploadKind) -> bool {
        true
    }
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
    let registry = args.registry.load()?;
    let load = LoadOptions { data_dir: args.registry.data_dir.clone(), ..LoadOptions::default() };
    let mut options = EvalOptions { data_dir: args.registry.data_dir.clone(), ..EvalOptions::default() };
    options.bootstrap.resamples = args.bootstrap;
    if args.demo {
        let missing = db
            .tasks()
            .map_err(anyhow::Error::msg)?
            .iter()
            .filter(|t| db.reference(&t.id).ok().flatten().is_none())
            .count();
        if missing > 0 {
            eprintln!(
                "demo: scoring the reference model and the baselines of every task (arena eval --suite default --reference) ..."
            );
            let n = seed_demo(&db, &registry, &load, &options)?;
            eprintln!("demo: {n} tasks seeded");
        }
    }
    let beside = db.path().map_or_else(|| PathBuf::from("arena-leaderboard/postgres"), Path::to_path_buf);
    let mut config = Config::beside(&beside);
    if let Some(dir) = args.upload_dir {
        config.upload_dir = dir;
    }
    config.max_upload_bytes = args.max_upload_mib.saturating_mul(1024 * 1024);
    config.rate_limit = RateLimit { max: args.rate_limit, window_secs: 3600 };
    let scorer = Arc::new(ArenaScorer::new(registry, load, options, Duration::from_secs_f64(args.onnx_timeout)));
    let state = AppState::new(db, scorer, config).map_err(anyhow::Error::msg)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(args.bind).await.with_context(|| format!("listening on {}", args.bind))?;
        out!("leaderboard on http://{} (database {url})", listener.local_addr()?);
        leaderboard::serve(listener, state).await.context("serving")
    })
}
