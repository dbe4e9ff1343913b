//! The scoring job's sandbox, entered by the job process itself before it opens the upload and
//! before it starts any thread (Landlock restricts the calling thread and the threads it starts
//! later):
//! - a new network namespace (no interface but a down loopback), as root directly, otherwise
//!   inside a new user namespace; where neither is allowed, Landlock's TCP rules (ABI ≥ 4) deny
//!   every bind and connect;
//! - Landlock filesystem rules: read (and map executable) only the upload, the task's data
//!   files, ONNX Runtime's library folder and the system's shared libraries; write only the
//!   job's own folder. Everything else — the leaderboard database, other uploads, the server's
//!   working directory, /etc, /proc of other processes — fails with EACCES;
//! - Landlock scopes (ABI ≥ 6): no signals to, and no abstract Unix sockets of, processes
//!   outside the sandbox.
//!
//! Resource limits (memory, CPU time, file size, no core dumps) and the closed file descriptors
//! are set by the parent before exec ([`super::limits`]).

use std::path::PathBuf;

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus,
    Scope, path_beneath_rules,
};
use serde::{Deserialize, Serialize};

/// The Landlock ABI whose features are asked for (filesystem, TCP, scopes).
const ABI_WANTED: ABI = ABI::V6;

/// What any process reads: shared libraries (read + execute), and the CPU description ONNX
/// Runtime sizes its thread pools by. Nothing in them belongs to the leaderboard.
const SYSTEM_READ: &[&str] =
    &["/usr/lib", "/usr/lib64", "/lib", "/lib64", "/etc/ld.so.cache", "/proc/cpuinfo", "/sys/devices/system/cpu"];

/// What the job may touch.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Files or folders read-only (the upload, the task's data files, ONNX Runtime's folder).
    pub read: Vec<PathBuf>,
    /// Folders read-write (the job's own folder).
    pub write: Vec<PathBuf>,
}

/// What was enforced, written beside the job's result and checked by the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enforced {
    /// Landlock filesystem rules: "full", "partial" (an older kernel: some rights unrestricted)
    /// or "none".
    pub filesystem: String,
    /// "namespace" (a fresh network namespace), "landlock-tcp" (TCP bind/connect denied) or
    /// "none".
    pub network: String,
    /// The kernel's Landlock ABI version (0: none).
    pub landlock_abi: i32,
}

impl Enforced {
    /// Whether the job can read nothing but its own files and reach no network.
    pub fn is_isolated(&self) -> bool {
        self.filesystem != "none" && self.network != "none"
    }

    /// One line for logs and error messages.
    pub fn describe(&self) -> String {
        format!("filesystem rules: {}, network: {}, Landlock ABI {}", self.filesystem, self.network, self.landlock_abi)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("setting up the Landlock sandbox failed: {0}")]
    Landlock(#[from] landlock::RulesetError),
}

/// The running kernel's Landlock ABI version (0 when Landlock is absent or disabled).
pub fn landlock_abi() -> i32 {
    // SAFETY: landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION) only returns a
    // number; it reads and writes no memory.
    let v = unsafe { libc::syscall(libc::SYS_landlock_create_ruleset, std::ptr::null::<u8>(), 0usize, 1u32) };
    i32::try_from(v).unwrap_or(0).max(0)
}

/// Moves this process into a new network namespace; `true` on success.
fn unshare_network() -> bool {
    // SAFETY: unshare changes only this process's namespaces; no memory is passed.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } == 0 {
        return true;
    }
    // Without CAP_SYS_ADMIN: a user namespace first (where unprivileged ones are allowed).
    // SAFETY: as above.
    unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) == 0 }
}

/// Enters the sandbox. Call before opening the upload and before starting any thread.
pub fn enter(policy: &Policy) -> Result<Enforced, SandboxError> {
    let abi = landlock_abi();
    let namespace = unshare_network();
    let mut ruleset = Ruleset::default().set_compatibility(CompatLevel::BestEffort);
    ruleset = ruleset.handle_access(AccessFs::from_all(ABI_WANTED))?;
    if !namespace {
        ruleset = ruleset.handle_access(AccessNet::from_all(ABI_WANTED))?;
    }
    let ruleset = ruleset.scope(Scope::from_all(ABI_WANTED))?;
    let read = AccessFs::from_read(ABI_WANTED);
    let status = ruleset
        .create()?
        .add_rules(path_beneath_rules(SYSTEM_READ, read))?
        .add_rules(path_beneath_rules(&policy.read, read))?
        .add_rules(path_beneath_rules(&policy.write, AccessFs::from_all(ABI_WANTED)))?
        .restrict_self()?;
    let filesystem = match status.ruleset {
        RulesetStatus::FullyEnforced => "full",
        RulesetStatus::PartiallyEnforced => "partial",
        RulesetStatus::NotEnforced => "none",
    };
    let network = if namespace {
        "namespace"
    } else if abi >= 4 && status.ruleset != RulesetStatus::NotEnforced {
        "landlock-tcp"
    } else {
        "none"
    };
    Ok(Enforced { filesystem: filesystem.into(), network: network.into(), landlock_abi: abi })
}
