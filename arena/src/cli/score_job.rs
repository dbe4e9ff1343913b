//! `arena score-job` (hidden): one leaderboard job, run by `arena serve` in a child process
//! ([`crate::isolation::worker`]). It enters the sandbox before it opens anything the upload
//! controls, scores the upload with `evaluate` (the code of `arena eval`), and writes
//! `result.json` into `--out`: the scorecard, or a message for the submitter, and what the
//! sandbox enforced. `--probe` only enters the sandbox, tries to read each `--probe-read` path
//! and reports (the server's startup check, and the isolation tests). `--world FILE` scores the
//! task's hidden or private world ([`crate::worlds`]); seeds and private paths are scrubbed from
//! the scorecard and from every message.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use tasks::scorecard::Scorecard;
use tasks::{TaskInstance, embedded_specs};

use crate::data::load::LoadOptions;
use crate::eval::{EvalOptions, evaluate};
use crate::isolation::sandbox::{self, Policy};
use crate::isolation::worker::{JobOutcome, JobResult, RESULT_FILE};
use crate::runners::onnx::{Device, OnnxModel, OnnxOptions};
use crate::runners::predictions::Predictions;
use crate::worlds::{TaskWorld, WorldFile};

#[derive(Debug, clap::Args)]
pub struct ScoreJobArgs {
    /// The task to score on.
    #[arg(long, required_unless_present = "probe")]
    task: Option<String>,
    /// `predictions` (.h5ad) or `onnx`.
    #[arg(long, required_unless_present = "probe")]
    kind: Option<String>,
    /// The uploaded file (the only file of the submitter's the job may read).
    #[arg(long, required_unless_present = "probe")]
    upload: Option<PathBuf>,
    /// The task's world file, written by the server (a hidden simulator world's derived seeds, or
    /// a private dataset's path); without it the task's public dataset is scored.
    #[arg(long)]
    world: Option<PathBuf>,
    /// The job's folder: the only place it may write; result.json goes there.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 1000)]
    bootstrap: usize,
    #[arg(long, default_value_t = 600.0)]
    onnx_timeout: f64,
    /// Only enter the sandbox and report what it enforces.
    #[arg(long)]
    probe: bool,
    /// With --probe: try to read this file inside the sandbox (repeatable); each outcome is
    /// reported in the rejection message.
    #[arg(long, requires = "probe")]
    probe_read: Vec<PathBuf>,
    /// With --probe: try to open a TCP connection to this address (repeatable).
    #[arg(long, requires = "probe")]
    probe_connect: Vec<std::net::SocketAddr>,
    #[command(flatten)]
    registry: super::RegistryArgs,
}

/// Everything a job may read: the upload, the data it is scored against (with its world file and
/// a private dataset), ONNX Runtime.
fn policy(args: &ScoreJobArgs, world: &TaskWorld) -> Policy {
    let mut read: Vec<PathBuf> = Vec::new();
    read.extend(args.upload.clone());
    read.extend(args.world.clone());
    if let TaskWorld::PrivateDataset { path } = world {
        read.push(path.clone());
    }
    read.extend(args.registry.registry.clone());
    read.extend(crate::data::shared_data_dir(args.registry.data_dir.as_deref()).ok());
    read.push(crate::data::fetch::cache_dir(None));
    if let Ok(lib) = crate::runners::onnx::runtime::library_path() {
        read.extend(lib.parent().map(Path::to_path_buf));
    }
    Policy { read, write: vec![args.out.clone()] }
}

pub fn run(args: ScoreJobArgs) -> anyhow::Result<()> {
    // The world file is the server's, not the submitter's: read before the sandbox.
    let world = match &args.world {
        Some(path) => {
            let file = WorldFile::read(path).map_err(anyhow::Error::msg)?;
            if args.task.as_deref().is_some_and(|t| t != file.task) {
                anyhow::bail!("the world file {} is for task '{}'", path.display(), file.task);
            }
            file.world
        }
        None => TaskWorld::Public,
    };
    // Nothing the upload controls is opened, and no thread is started, before this line.
    let enforced = sandbox::enter(&policy(&args, &world)).context("entering the job sandbox")?;
    let outcome = if args.probe {
        JobOutcome::Rejected(probe(&args.probe_read, &args.probe_connect))
    } else {
        match score(&args, &world) {
            Ok(mut card) => {
                world.scrub_card(&mut card);
                JobOutcome::Scorecard(Box::new(card))
            }
            Err(message) => JobOutcome::Rejected(world.scrub(&message)),
        }
    };
    write_result(&args.out, &JobResult { enforced, outcome })
}

/// `PATH: denied (...)` or `PATH: read N bytes`, then `connect ADDR: ...`, one line each.
fn probe(paths: &[PathBuf], addresses: &[std::net::SocketAddr]) -> String {
    let connects = addresses.iter().map(|a| match std::net::TcpStream::connect_timeout(a, Duration::from_secs(2)) {
        Ok(_) => format!("connect {a}: connected"),
        Err(e) => format!("connect {a}: failed ({e})"),
    });
    paths
        .iter()
        .map(|p| {
            let outcome = std::fs::File::open(p).and_then(|mut f| {
                let mut buf = Vec::new();
                f.read_to_end(&mut buf).map(|_| buf.len())
            });
            match outcome {
                Ok(n) => format!("{}: read {n} bytes", p.display()),
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => format!("{}: denied ({e})", p.display()),
                Err(e) => format!("{}: failed ({e})", p.display()),
            }
        })
        .chain(connects)
        .collect::<Vec<_>>()
        .join("\n")
}

fn write_result(dir: &Path, result: &JobResult) -> anyhow::Result<()> {
    let path = dir.join(RESULT_FILE);
    let mut tmp = tempfile::NamedTempFile::new_in(dir).with_context(|| format!("writing {}", path.display()))?;
    serde_json::to_writer(&mut tmp, result).with_context(|| format!("writing {}", path.display()))?;
    tmp.persist(&path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Scores the upload; `Err` is the message for its submitter (no server path: the upload is
/// named "the uploaded file").
fn score(args: &ScoreJobArgs, world: &TaskWorld) -> Result<Scorecard, String> {
    let (Some(task), Some(kind), Some(upload)) = (&args.task, &args.kind, &args.upload) else {
        return Err("score-job needs --task, --kind and --upload".into());
    };
    let scrub = |e: String| e.replace(&upload.display().to_string(), "the uploaded file");
    let registry = args.registry.load().map_err(|e| e.to_string())?;
    let spec = embedded_specs()
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|s| s.spec.id == *task)
        .ok_or_else(|| format!("unknown task '{task}'"))?;
    let load = LoadOptions { data_dir: args.registry.data_dir.clone(), ..LoadOptions::default() };
    let (loaded, spec) = world.load(&spec, &registry, &load).map_err(|e| format!("dataset: {e}"))?;
    let instance = TaskInstance::build(spec, &loaded.dataset).map_err(|e| e.to_string())?;
    let model: Box<dyn tasks::Model> = match kind.as_str() {
        "predictions" => {
            Box::new(Predictions::for_task(upload, &instance, None, &[]).map_err(|e| scrub(e.to_string()))?)
        }
        "onnx" => {
            let options = OnnxOptions {
                device: Device::Cpu,
                batch_size: None,
                timeout: Some(Duration::from_secs_f64(args.onnx_timeout)),
                progress: false,
                untrusted: true,
            };
            let mut m = OnnxModel::load(upload, &options).map_err(|e| scrub(e.to_string()))?;
            m.bind(&instance).map_err(|e| scrub(e.to_string()))?;
            Box::new(m)
        }
        other => return Err(format!("unknown upload kind '{other}'")),
    };
    let mut options = EvalOptions { data_dir: args.registry.data_dir.clone(), ..EvalOptions::default() };
    options.bootstrap.resamples = args.bootstrap;
    evaluate(&instance, Some(model.as_ref()), &loaded.source, &options).map_err(|e| scrub(e.to_string()))
}
