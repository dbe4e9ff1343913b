//! The job process's side of a leaderboard job (`arena score-job`, started by [`super::worker`]):
//! it enters the sandbox before it opens anything the upload controls, scores the upload with
//! `evaluate` (the code of `arena eval`), and writes `result.json` into the job's folder: the
//! scorecard, or a message for the submitter, and what the sandbox enforced. A probe job only
//! enters the sandbox, tries to read each probe path and reports (the server's startup check, and
//! the isolation tests). A world file scores the task's hidden or private world
//! ([`crate::worlds`]); seeds and private paths are scrubbed from the scorecard and from every
//! message.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use leaderboard::split::{SplitKey, view_of};
use tasks::scorecard::Scorecard;
use tasks::{TaskInstance, embedded_specs};

use arena_data::Registry;
use arena_eval::{EvalOptions, evaluate_with_views};
use arena_models::ModelSource;
use arena_models::runners::onnx::{Device, OnnxModel, OnnxOptions};
use arena_sim::load::LoadOptions;

use super::sandbox::{self, Policy};
use super::worker::{JobOutcome, JobResult, RESULT_FILE};
use crate::worlds::{TaskWorld, WorldFile};

/// Why a job could not write its result (the server then reports the job as crashed).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("{0}")]
    Setup(String),
    #[error("entering the job sandbox: {0}")]
    Sandbox(String),
    #[error(transparent)]
    Write(#[from] arena_data::DataError),
}

/// One job, as the server's command line describes it.
#[derive(Debug)]
pub struct JobRequest {
    pub task: Option<String>,
    /// `predictions` (.h5ad) or `onnx`.
    pub kind: Option<String>,
    /// The uploaded file (the only file of the submitter's the job may read).
    pub upload: Option<PathBuf>,
    /// The task's world file; without it the task's public dataset is scored.
    pub world: Option<PathBuf>,
    /// The file holding the leaderboard's split key, read and deleted before the sandbox.
    pub split_key_file: Option<PathBuf>,
    /// The job's folder: the only place it may write.
    pub out: PathBuf,
    pub bootstrap: usize,
    pub onnx_timeout: f64,
    /// Only enter the sandbox and report what it enforces.
    pub probe: bool,
    pub probe_read: Vec<PathBuf>,
    pub probe_connect: Vec<std::net::SocketAddr>,
    /// `--registry`: a datasets.toml extending the embedded registry.
    pub registry: Option<PathBuf>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
}

/// Everything a job may read: the upload, the data it is scored against (with its world file and
/// a private dataset), ONNX Runtime.
fn policy(args: &JobRequest, world: &TaskWorld) -> Policy {
    let mut read: Vec<PathBuf> = Vec::new();
    read.extend(args.upload.clone());
    read.extend(args.world.clone());
    if let TaskWorld::PrivateDataset { path } = world {
        read.push(path.clone());
    }
    read.extend(args.registry.clone());
    read.extend(arena_data::shared_data_dir(args.data_dir.as_deref()).ok());
    read.push(arena_data::fetch::cache_dir(None));
    if let Ok(lib) = arena_models::runners::onnx::runtime::library_path() {
        read.extend(lib.parent().map(Path::to_path_buf));
    }
    Policy { read, write: vec![args.out.clone()] }
}

/// Runs the job to its result file.
pub fn run(args: &JobRequest) -> Result<(), JobError> {
    // The world file is the server's, not the submitter's: read before the sandbox.
    let world = match &args.world {
        Some(path) => {
            let file = WorldFile::read(path).map_err(|e| JobError::Setup(e.to_string()))?;
            if args.task.as_deref().is_some_and(|t| t != file.task) {
                return Err(JobError::Setup(format!("the world file {} is for task '{}'", path.display(), file.task)));
            }
            file.world
        }
        None => TaskWorld::Public,
    };
    let split_key = args.split_key_file.as_deref().map(read_split_key).transpose()?;
    // Nothing the upload controls is opened, and no thread is started, before this line.
    let enforced = sandbox::enter(&policy(args, &world)).map_err(|e| JobError::Sandbox(e.to_string()))?;
    let outcome = if args.probe {
        JobOutcome::Rejected(probe(&args.probe_read, &args.probe_connect))
    } else {
        match score(args, &world, split_key.as_ref()) {
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

fn write_result(dir: &Path, result: &JobResult) -> Result<(), JobError> {
    let path = dir.join(RESULT_FILE);
    let json = serde_json::to_vec(result).map_err(|e| JobError::Setup(format!("encoding {}: {e}", path.display())))?;
    Ok(arena_data::output::write_atomic(&path, &json)?)
}

/// Scores the upload; `Err` is the message for its submitter (no server path: the upload is
/// named "the uploaded file").
fn score(args: &JobRequest, world: &TaskWorld, split_key: Option<&SplitKey>) -> Result<Scorecard, String> {
    let (Some(task), Some(kind), Some(upload)) = (&args.task, &args.kind, &args.upload) else {
        return Err("score-job needs --task, --kind and --upload".into());
    };
    let scrub = |e: String| e.replace(&upload.display().to_string(), "the uploaded file");
    let registry = Registry::with_user_file(args.registry.as_deref()).map_err(|e| e.to_string())?;
    let spec = embedded_specs()
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|s| s.spec.id == *task)
        .ok_or_else(|| format!("unknown task '{task}'"))?;
    let load = LoadOptions { data_dir: args.data_dir.clone(), ..LoadOptions::default() };
    let (loaded, spec) = world.load(&spec, &registry, &load).map_err(|e| format!("dataset: {e}"))?;
    let instance = TaskInstance::build(spec, &loaded.dataset).map_err(|e| e.to_string())?;
    let source = match kind.as_str() {
        "predictions" => ModelSource::Predictions { path: upload, column: None, control_labels: &[] },
        "onnx" => {
            let options = OnnxOptions {
                device: Device::Cpu,
                batch_size: None,
                timeout: Some(Duration::from_secs_f64(args.onnx_timeout)),
                progress: false,
                untrusted: true,
            };
            ModelSource::Onnx(Box::new(OnnxModel::load(upload, &options).map_err(|e| scrub(e.to_string()))?))
        }
        other => return Err(format!("unknown upload kind '{other}'")),
    };
    let model = source.open(&instance).map_err(|e| scrub(e.to_string()))?;
    let mut options = EvalOptions::default();
    options.bootstrap.resamples = args.bootstrap;
    let view_of = |label: &str| split_key.map_or("public", |key| view_of(key, task, label).as_str());
    let views: Option<arena_eval::ViewOf<'_>> = split_key.map(|_| &view_of as _);
    evaluate_with_views(&instance, Some(model.as_ref()), &loaded.source, &options, views)
        .map_err(|e| scrub(e.to_string()))
}

/// Reads the split key the server wrote for this job and deletes the file, so the upload's code
/// never finds it in the job's folder.
fn read_split_key(path: &Path) -> Result<SplitKey, JobError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| JobError::Setup(format!("reading the split key {}: {e}", path.display())))?;
    std::fs::remove_file(path)
        .map_err(|e| JobError::Setup(format!("removing the split key {}: {e}", path.display())))?;
    SplitKey::from_hex(text.trim())
        .ok_or_else(|| JobError::Setup(format!("{}: not a split key (64 hex digits)", path.display())))
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
