//! `arena score-job` (hidden): one leaderboard job, run by `arena serve` in a child process. The
//! arguments become an `arena_serve::isolation::job::JobRequest`; the job itself (sandbox,
//! scoring, result file) is `arena_serve::isolation::job::run`.

use std::path::PathBuf;

use arena_serve::isolation::job::{self, JobRequest};

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
    registry: super::dataset_args::RegistryArgs,
}

pub fn run(args: ScoreJobArgs) -> anyhow::Result<()> {
    let request = JobRequest {
        task: args.task,
        kind: args.kind,
        upload: args.upload,
        world: args.world,
        split_key_file: args.split_key_file,
        out: args.out,
        bootstrap: args.bootstrap,
        onnx_timeout: args.onnx_timeout,
        probe: args.probe,
        probe_read: args.probe_read,
        probe_connect: args.probe_connect,
        registry: args.registry.registry,
        data_dir: args.registry.data_dir,
    };
    Ok(job::run(&request)?)
}
