//! The server's shared state ([`AppState`]: database, scorer, settings, page cache, notice) and
//! the clean-up of uploads an interrupted server left half-written.

use crate::db::LbError;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::scorer::Scorer;
use crate::{cache, db, db::Db};

pub struct AppState {
    pub db: Db,
    pub scorer: Arc<dyn Scorer>,
    pub config: Config,
    pub wake: tokio::sync::Notify,
    /// Rendered task pages (see [`cache`]).
    pub pages: cache::PageCache,
    /// A line the home page shows above everything (e.g. that the demo is still being seeded).
    pub notice: std::sync::RwLock<Option<String>>,
}

impl AppState {
    /// Sets (or with `None` clears) the home page's notice.
    pub fn set_notice(&self, notice: Option<String>) {
        *self.notice.write().unwrap_or_else(|p| p.into_inner()) = notice;
    }

    pub fn notice(&self) -> Option<String> {
        self.notice.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl AppState {
    pub fn new(db: Db, scorer: Arc<dyn Scorer>, config: Config) -> Result<Arc<Self>, LbError> {
        std::fs::create_dir_all(&config.upload_dir)
            .map_err(|e| format!("creating the upload directory {}: {e}", config.upload_dir.display()))?;
        let removed = remove_stale_parts(&config.upload_dir, Duration::from_secs(3600));
        if removed > 0 {
            eprintln!("leaderboard: removed {removed} half-written upload(s) (.part) left by an interrupted server");
        }
        // Their reservations too (same age rule: a younger one may be another server's upload).
        let released = db.release_stale_reservations(db::now() - 3600)?;
        if released > 0 {
            eprintln!("leaderboard: released {released} upload reservation(s) left by an interrupted server");
        }
        Ok(Arc::new(AppState {
            db,
            scorer,
            config,
            wake: tokio::sync::Notify::new(),
            pages: cache::PageCache::default(),
            notice: std::sync::RwLock::new(None),
        }))
    }
}

/// Removes `*.part` files (uploads still streaming when a server stopped) older than `age`; a
/// younger one may belong to another server sharing the folder. Returns how many were removed.
pub fn remove_stale_parts(dir: &Path, age: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "part"))
        .filter(|e| e.metadata().and_then(|m| m.modified()).is_ok_and(|t| t.elapsed().is_ok_and(|d| d > age)))
        .filter(|e| std::fs::remove_file(e.path()).is_ok())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth;

    #[test]
    fn only_stale_part_files_are_removed() {
        let dir =
            std::env::temp_dir().join(format!("lb-parts-{}-{}", std::process::id(), auth::random_hex(4).unwrap()));
        std::fs::create_dir_all(&dir).unwrap();
        let old = std::time::SystemTime::now() - Duration::from_secs(7200);
        for (name, stale) in [("a.part", true), ("b.part", false), ("c.h5ad", true)] {
            let f = std::fs::File::create(dir.join(name)).unwrap();
            if stale {
                f.set_modified(old).unwrap();
            }
        }
        assert_eq!(remove_stale_parts(&dir, Duration::from_secs(3600)), 1);
        let mut left: Vec<String> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        left.sort();
        assert_eq!(left, ["b.part", "c.h5ad"], "a fresh .part (another server's upload) and finished uploads stay");
        std::fs::remove_dir_all(dir).ok();
    }
}
