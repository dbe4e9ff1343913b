//! The server's settings: upload limits, rate limits and quotas, workers, retention and the
//! connection timeouts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::test_data;

#[derive(Debug, Clone)]
pub struct RateLimit {
    /// At most this many submissions per token ...
    pub max: u32,
    /// ... in any window of this many seconds.
    pub window_secs: i64,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Where uploads are stored, under generated names.
    pub upload_dir: PathBuf,
    /// Largest accepted upload in bytes.
    pub max_upload_bytes: u64,
    pub rate_limit: RateLimit,
    /// How often an idle worker looks for jobs (it is also woken on each submission).
    pub poll_interval: Duration,
    /// A job whose scoring process crashed, or that was interrupted by a restart, this many
    /// times is marked failed instead of being tried again.
    pub max_attempts: i64,
    /// At most this many submissions per token in any 24 hours (besides `rate_limit`), if set.
    pub daily_quota: Option<u32>,
    /// Jobs scored at once (each worker runs one scoring process at a time).
    pub workers: usize,
    /// How long a claimed job stays leased to its worker without a renewal; the worker renews
    /// it every third of that while it scores. A job whose lease expired (its server stopped)
    /// is claimed again by any server.
    pub lease: Duration,
    /// The most bytes kept uploads plus streaming ones may hold; a new upload is refused while
    /// the quota has no room for one of `max_upload_bytes`.
    pub storage_quota_bytes: Option<u64>,
    /// Uploads of failed submissions are deleted this long after the failure (the row and its
    /// error text stay).
    pub retention: Option<Duration>,
    pub timeouts: Timeouts,
    /// Per task, how its test data are held ([`test_data`]); a task not listed is public.
    pub test_data: std::collections::BTreeMap<String, test_data::TestData>,
}

/// Connection limits of the HTTP server ([`listen`]).
#[derive(Debug, Clone)]
pub struct Timeouts {
    /// A connection must send a request's complete headers within this time.
    pub header_read: Duration,
    /// An upload must deliver more body data within this time (else 408).
    pub body: Duration,
    /// A connection that sends and receives nothing for this long is closed.
    pub idle: Duration,
    /// Connections served at once; further ones wait in the listen backlog.
    pub max_connections: usize,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            header_read: Duration::from_secs(10),
            body: Duration::from_secs(60),
            idle: Duration::from_secs(120),
            max_connections: 512,
        }
    }
}

impl Config {
    /// Defaults beside the database file: uploads in `<db dir>/uploads`, 256 MiB, 20 per hour
    /// and no daily quota, 2 attempts per job, 1 worker with 60 s leases, no storage quota or
    /// retention, [`Timeouts::default`].
    pub fn beside(db_path: &Path) -> Self {
        let dir = db_path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        Config {
            upload_dir: dir.join("uploads"),
            max_upload_bytes: 256 * 1024 * 1024,
            rate_limit: RateLimit { max: 20, window_secs: 3600 },
            poll_interval: Duration::from_secs(2),
            max_attempts: 2,
            daily_quota: None,
            workers: 1,
            lease: Duration::from_secs(60),
            storage_quota_bytes: None,
            retention: None,
            timeouts: Timeouts::default(),
            test_data: Default::default(),
        }
    }
}
