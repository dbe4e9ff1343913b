//! The server's side of a scoring job: one `arena score-job` process per upload, started from the
//! arena binary with a cleared environment, its own empty folder as working directory and TMPDIR,
//! the [`JobLimits`] and no inherited descriptors; it enters the [`sandbox`](super::sandbox)
//! itself. The server never opens an upload: it reads back only the job's `result.json` (the
//! scorecard, or a message for the submitter, and what the sandbox enforced).
//!
//! Outcomes: a scorecard; [`JobFailure::Rejected`] (the upload is unusable, or it ran past the
//! wall-clock limit: running it again would end the same way); [`JobFailure::Crashed`] (the
//! process died without a verdict — out of memory, out of CPU time, a crash in a native library:
//! the queue may retry it a bounded number of times).

use crate::error::ServeError;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tasks::scorecard::Scorecard;

use super::limits::JobLimits;
use super::sandbox::Enforced;

/// The file a job writes into its folder.
pub const RESULT_FILE: &str = "result.json";
/// Largest result file the server reads back (a scorecard is a few MB at most).
const MAX_RESULT_BYTES: u64 = 256 << 20;
/// Environment variables a job keeps; everything else (database URLs, secrets) is cleared.
const KEPT_ENV: &[&str] = &["PATH", "LANG", "LC_ALL", "ARENA_ONNX_THREADS", "RAYON_NUM_THREADS"];

/// What a job reports back.
#[derive(Debug, Serialize, Deserialize)]
pub struct JobResult {
    pub enforced: Enforced,
    pub outcome: JobOutcome,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobOutcome {
    Scorecard(Box<Scorecard>),
    /// The upload is unusable; the message is for its submitter.
    Rejected(String),
}

/// Why a job gave no scorecard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobFailure {
    /// A verdict on the upload (shown to its submitter).
    Rejected(String),
    /// The process died without a verdict; `reason` is for the submitter and the server log.
    Crashed(String),
}

/// How jobs are started: the same settings for every upload.
#[derive(Debug, Clone)]
pub struct JobRunner {
    /// The `arena` binary (`arena serve` uses its own executable).
    pub exe: PathBuf,
    /// `--registry` (`None`: the embedded registry).
    pub registry: Option<PathBuf>,
    /// The shared data folder, absolute (the job's working directory is its own folder).
    pub data_dir: Option<PathBuf>,
    /// The dataset cache folder (fetched datasets), absolute.
    pub cache_dir: Option<PathBuf>,
    /// ONNX Runtime's library file.
    pub onnx_runtime: Option<PathBuf>,
    pub bootstrap: usize,
    pub onnx_timeout: Duration,
    pub limits: JobLimits,
    /// Where job folders are made (one per job, removed afterwards).
    pub jobs_dir: PathBuf,
    /// Run jobs even where the sandbox cannot be enforced (`--unsafe-no-sandbox`).
    pub allow_unsandboxed: bool,
    /// Per task, the world file of a hidden or private world ([`crate::worlds::WorldFile`]);
    /// tasks not listed are scored on their public dataset.
    pub worlds: std::collections::BTreeMap<String, PathBuf>,
    /// The leaderboard's split key: each job gets it in a file of its folder (which it deletes
    /// before scoring) and computes the audit's flags on the public and private views.
    pub split_key: Option<leaderboard::split::SplitKey>,
}

impl JobRunner {
    /// Scores `upload` (an absolute path) for `task` in a fresh job process.
    pub fn run(&self, task: &str, kind: &str, upload: &Path) -> Result<(Scorecard, Enforced), JobFailure> {
        let crashed = |m: String| JobFailure::Crashed(m);
        std::fs::create_dir_all(&self.jobs_dir)
            .map_err(|e| crashed(format!("creating the jobs folder {}: {e}", self.jobs_dir.display())))?;
        let folder = tempfile::Builder::new()
            .prefix("job-")
            .tempdir_in(&self.jobs_dir)
            .map_err(|e| crashed(format!("creating a job folder: {e}")))?;
        let mut command = self.command(task, kind, upload, folder.path());
        if let Some(key) = &self.split_key {
            let path = folder.path().join("split-key");
            write_private(&path, key.to_hex().as_bytes())
                .map_err(|e| crashed(format!("writing the job's split key: {e}")))?;
            command.arg("--split-key-file").arg(&path);
        }
        self.limits.apply_to(&mut command);
        let mut child = command.spawn().map_err(|e| crashed(format!("starting {}: {e}", self.exe.display())))?;
        let mut stderr = child.stderr.take();
        // Drain stderr on a thread (a full pipe would stall the job); keep its last 4 KB.
        let log = std::thread::spawn(move || {
            let mut all = Vec::new();
            if let Some(s) = stderr.as_mut() {
                let _ = s.take(1 << 20).read_to_end(&mut all);
            }
            String::from_utf8_lossy(&all[all.len().saturating_sub(4096)..]).into_owned()
        });
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() > self.limits.wall => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let _ = log.join();
                    return Err(JobFailure::Rejected(format!(
                        "scoring ran past this server's limit of {} s and was stopped",
                        self.limits.wall.as_secs()
                    )));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                Err(e) => return Err(crashed(format!("waiting for the job: {e}"))),
            }
        };
        let log = log.join().unwrap_or_default();
        let result = read_result(&folder.path().join(RESULT_FILE));
        match (status.success(), result) {
            (true, Some(JobResult { enforced, outcome })) => {
                if !enforced.is_isolated() && !self.allow_unsandboxed {
                    return Err(crashed(format!("the job ran without its sandbox ({})", enforced.describe())));
                }
                match outcome {
                    JobOutcome::Scorecard(card) => Ok((*card, enforced)),
                    JobOutcome::Rejected(message) => Err(JobFailure::Rejected(message)),
                }
            }
            _ => {
                let how = describe_exit(status);
                if !log.trim().is_empty() {
                    eprintln!("leaderboard: scoring job for task {task} {how}; its last output:\n{}", log.trim_end());
                }
                Err(crashed(format!(
                    "the scoring process {how} (limits: {} MiB of memory, {} s of CPU time)",
                    self.limits.memory_bytes >> 20,
                    self.limits.cpu_seconds
                )))
            }
        }
    }

    /// `arena score-job` in `folder` (working directory and TMPDIR) with a cleared environment,
    /// no stdin or stdout, and stderr piped: what every job process, the probe included, starts as.
    fn base_command(&self, folder: &Path) -> Command {
        let mut c = Command::new(&self.exe);
        c.env_clear().env("TMPDIR", folder).current_dir(folder).arg("score-job");
        c.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        c
    }

    fn command(&self, task: &str, kind: &str, upload: &Path, folder: &Path) -> Command {
        let mut c = self.base_command(folder);
        for key in KEPT_ENV {
            if let Some(v) = std::env::var_os(key) {
                c.env(key, v);
            }
        }
        // glibc's per-thread malloc arenas each reserve 64 MiB of address space; RLIMIT_AS counts it.
        c.env("MALLOC_ARENA_MAX", "2");
        c.args(["--task", task, "--kind", kind]).arg("--upload").arg(upload);
        c.arg("--out").arg(folder);
        if let Some(world) = self.worlds.get(task) {
            c.arg("--world").arg(world);
        }
        c.args(["--bootstrap", &self.bootstrap.to_string()]);
        c.args(["--onnx-timeout", &self.onnx_timeout.as_secs_f64().to_string()]);
        if let Some(r) = &self.registry {
            c.arg("--registry").arg(r);
        }
        if let Some(d) = &self.data_dir {
            c.arg("--data-dir").arg(d);
        }
        if let Some(d) = &self.cache_dir {
            c.env(arena_data::fetch::CACHE_DIR_ENV, d);
        }
        if let Some(lib) = &self.onnx_runtime {
            c.env(arena_models::runners::onnx::runtime::DYLIB_ENV, lib);
        }
        c
    }

    /// Runs a job that only enters the sandbox and reports what it enforced (`score-job
    /// --probe`), as `arena serve` does at startup before accepting uploads.
    pub fn probe(&self) -> Result<Enforced, ServeError> {
        let folder = tempfile::tempdir().map_err(|e| ServeError::Setup(format!("creating a probe folder: {e}")))?;
        let mut c = self.base_command(folder.path());
        c.args(["--probe", "--out"]).arg(folder.path());
        // The probe checks the sandbox, not the organiser's limits: the default limits suffice.
        JobLimits::default().apply_to(&mut c);
        let out = c.output().map_err(|e| ServeError::Setup(format!("starting {}: {e}", self.exe.display())))?;
        match read_result(&folder.path().join(RESULT_FILE)) {
            Some(r) if out.status.success() => Ok(r.enforced),
            _ => Err(ServeError::Setup(format!(
                "the sandbox probe {}: {}",
                describe_exit(out.status),
                String::from_utf8_lossy(&out.stderr).trim()
            ))),
        }
    }
}

/// Writes a file only its owner may read.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(bytes)
}

fn read_result(path: &Path) -> Option<JobResult> {
    let file = std::fs::File::open(path).ok()?;
    let mut text = String::new();
    file.take(MAX_RESULT_BYTES).read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (_, Some(libc::SIGKILL)) => "was killed (SIGKILL: out of memory or CPU time?)".into(),
        (_, Some(libc::SIGXCPU)) => "ran out of CPU time".into(),
        (_, Some(libc::SIGABRT)) => "aborted (SIGABRT: usually an allocation beyond the memory limit)".into(),
        (_, Some(libc::SIGSEGV)) => "crashed (SIGSEGV)".into(),
        (_, Some(sig)) => format!("was stopped by signal {sig}"),
        (Some(code), None) => format!("exited with status {code} without a result"),
        (None, None) => "ended without a result".into(),
    }
}
