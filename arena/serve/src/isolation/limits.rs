//! Resource limits of a scoring job, applied by the parent between fork and exec so that they
//! hold from the job's first instruction: address space (`RLIMIT_AS`: an allocation beyond it
//! fails instead of taking the server's memory), CPU seconds (`RLIMIT_CPU`: SIGXCPU, then
//! SIGKILL), the largest file it may write (`RLIMIT_FSIZE`), no core dumps, at most 256 open
//! files; every inherited descriptor above stderr is closed, and the job dies with its parent
//! (`PR_SET_PDEATHSIG`).

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

/// The resources one job may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobLimits {
    /// Address space, in bytes.
    pub memory_bytes: u64,
    /// CPU time, summed over the job's threads.
    pub cpu_seconds: u64,
    /// Wall-clock time before the parent kills the job.
    pub wall: Duration,
    /// The largest file the job may write, in bytes.
    pub file_bytes: u64,
}

impl Default for JobLimits {
    /// 8 GiB, 2 CPU hours, 1 hour wall, 1 GiB files.
    fn default() -> Self {
        JobLimits { memory_bytes: 8 << 30, cpu_seconds: 7200, wall: Duration::from_secs(3600), file_bytes: 1 << 30 }
    }
}

impl JobLimits {
    /// Arranges for `command`'s process to start under these limits, with no inherited
    /// descriptors above 2.
    pub fn apply_to(&self, command: &mut Command) {
        let limits = *self;
        // SAFETY: the closure runs between fork and exec and only makes async-signal-safe system
        // calls (setrlimit, prctl, close_range) on values copied in before the fork.
        unsafe {
            command.pre_exec(move || {
                let set = |resource, value: u64| {
                    let r = libc::rlimit { rlim_cur: value, rlim_max: value };
                    if libc::setrlimit(resource, &r) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                };
                set(libc::RLIMIT_AS, limits.memory_bytes)?;
                set(libc::RLIMIT_CPU, limits.cpu_seconds)?;
                set(libc::RLIMIT_FSIZE, limits.file_bytes)?;
                set(libc::RLIMIT_CORE, 0)?;
                set(libc::RLIMIT_NOFILE, 256)?;
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
}
