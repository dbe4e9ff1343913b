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
use crate::eval::{EvalOptions, evaluate_with_views};
use crate::isolation::sandbox::{self, Policy};
use crate::isolation::worker::{JobOutcome, JobResult, RESULT_FILE};
use crate::runners::onnx::{Device, OnnxModel, OnnxOptions};
use crate::runners::predictions::Predictions;
use crate::worlds::{TaskWorld, WorldFile};
use leaderboard::split::{SplitKey, view_of};

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
    /// A file holding the leaderboard's split key (64 hex digits), written by the server into the
    /// job's folder: the audit's flags are then also computed on each view of the keyed
    /// public/private split. Read and deleted before the sandbox is entered.
    #[arg(long)]
    split_key_file: Option<PathBuf>,
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
    let split_key = args.split_key_file.as_deref().map(read_split_key).transpose()?;
    // Nothing the upload controls is opened, and no thread is started, before this line.
    let enforced = sandbox::enter(&policy(&args, &world)).context("entering the job sandbox")?;
    let outcome = if args.probe {
        JobOutcome::Rejected(probe(&args.probe_read, &args.probe_connect))
    } else {
        match score(&args, &world, split_key.as_ref()) {
            Ok(mut card) => {
                world.scrub_card(&mut card);
                JobOutcome::Scorecard(Box::new(card))
            }
            Err(message) => JobOutcome::Rejected(world.scrub(&for_the_web(&message))),
        }
    };
    write_result(&args.out, &JobResult { enforced, outcome })
}

/// The CLI's advice in a scoring message, reworded for someone who uploaded through the web:
/// the upload form has no flags, so each "pass --FLAG" hint becomes what to change in the file,
/// and the server's own limits are named as such.
pub fn for_the_web(message: &str) -> String {
    const HINTS: &[(&str, &str)] = &[
        (
            "— pass --perturbation-column",
            "— the upload must name the obs column that labels each predicted cell `perturbation`",
        ),
        ("; try a smaller --batch-size)", "; this server's job memory limit is too small for it)"),
        ("an earlier run exceeded --timeout", "an earlier batch ran past this server's inference time limit"),
        ("inference ran past --timeout ", "inference ran past this server's inference time limit of "),
        (
            "(`arena tasks show TASK --test-items` lists them)",
            "(the task's test perturbations are listed by `arena tasks show TASK --test-items`, and in uns \
             `test_conditions` of a hidden task's training download)",
        ),
    ];
    let mut out = message.to_string();
    for (cli, web) in HINTS {
        out = out.replace(cli, web);
    }
    // The gene list of an ONNX model: say where the task's genes are without a flag.
    if let Some(at) = out.find("(`arena tasks show ")
        && out[at..].contains(" --genes`)")
    {
        let end = at + out[at..].find(" --genes`)").unwrap_or(0) + " --genes`)".len();
        out.replace_range(
            at..end,
            "(the task's genes are the var names of its dataset, or of a hidden task's training download)",
        );
    }
    out
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
fn score(args: &ScoreJobArgs, world: &TaskWorld, split_key: Option<&SplitKey>) -> Result<Scorecard, String> {
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
    let view_of = |label: &str| split_key.map_or("public", |key| view_of(key, task, label).as_str());
    let views: Option<crate::eval::ViewOf<'_>> = split_key.map(|_| &view_of as _);
    evaluate_with_views(&instance, Some(model.as_ref()), &loaded.source, &options, views)
        .map_err(|e| scrub(e.to_string()))
}

/// Reads the split key the server wrote for this job and deletes the file, so the upload's code
/// never finds it in the job's folder.
fn read_split_key(path: &Path) -> anyhow::Result<SplitKey> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading the split key {}", path.display()))?;
    std::fs::remove_file(path).with_context(|| format!("removing the split key {}", path.display()))?;
    SplitKey::from_hex(text.trim())
        .ok_or_else(|| anyhow::anyhow!("{}: not a split key (64 hex digits)", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_for_web_uploads_name_no_cli_flag() {
        let cli = [
            "obs/perturbation: no such text column; obs has [condition, n] — pass --perturbation-column",
            "ONNX Runtime could not allocate (a batch too large for this machine; try a smaller --batch-size): x",
            "inference ran past --timeout 60s; stopped waiting",
            "no cells for test perturbation 'G1'; predict every test perturbation (`arena tasks show TASK --test-items` lists them)",
            "its genes do not match task 't': export the model over exactly the task's genes (`arena tasks show t --genes`)",
        ];
        for m in cli {
            let web = for_the_web(m);
            assert!(!web.contains(" --perturbation-column") && !web.contains("--batch-size"), "{web}");
            assert!(!web.contains("--timeout") && !web.contains(" --genes"), "{web}");
        }
        assert!(for_the_web(cli[0]).contains("obs column that labels each predicted cell `perturbation`"));
        assert!(for_the_web(cli[2]).contains("this server's inference time limit of 60s"));
        assert_eq!(for_the_web("the file is empty"), "the file is empty");
    }
}
