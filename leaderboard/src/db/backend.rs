//! The database behind a lock: [`Backend`] owns one SQLite or Postgres connection ([`Session`])
//! and runs closures on it, alone or inside a transaction.

use std::sync::{Mutex, MutexGuard};

use super::error::{DbResult, LbError, SqlResult};
use super::session::Session;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

pub enum Backend {
    Sqlite(Mutex<rusqlite::Connection>),
    Postgres(Mutex<super::pg::Postgres>),
}

/// Locks a connection. A panic while it was held may have left a transaction open: roll it back.
fn lock<S: Session>(m: &Mutex<S>) -> MutexGuard<'_, S> {
    m.lock().unwrap_or_else(|poisoned| {
        m.clear_poison();
        let mut s = poisoned.into_inner();
        let _ = s.batch("ROLLBACK");
        s
    })
}

impl Backend {
    pub fn dialect(&self) -> Dialect {
        match self {
            Backend::Sqlite(_) => Dialect::Sqlite,
            Backend::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs `f` on the connection (each statement commits on its own).
    pub fn with<T>(&self, f: impl FnOnce(&mut dyn Session) -> SqlResult<T>) -> DbResult<T> {
        let result = match self {
            Backend::Sqlite(m) => f(&mut *lock(m)),
            Backend::Postgres(m) => f(&mut *lock(m)),
        };
        result.map_err(LbError::from)
    }

    /// Runs `f` inside one transaction: committed if it returns `Ok`, rolled back otherwise.
    pub fn transaction<T>(&self, f: impl FnOnce(&mut dyn Session) -> SqlResult<T>) -> DbResult<T> {
        self.transaction_from("BEGIN", &[], f)
    }

    /// [`Backend::transaction`] that runs alone among every process sharing the database: SQLite
    /// takes its write lock at `BEGIN IMMEDIATE`; Postgres takes the transaction advisory lock
    /// `key` first. For read-check-write sequences (quota reservations).
    pub fn exclusive_transaction<T>(&self, key: i64, f: impl FnOnce(&mut dyn Session) -> SqlResult<T>) -> DbResult<T> {
        match self.dialect() {
            Dialect::Sqlite => self.transaction_from("BEGIN IMMEDIATE", &[], f),
            Dialect::Postgres => self.transaction_from("BEGIN", &[&format!("SELECT pg_advisory_xact_lock({key})")], f),
        }
    }

    fn transaction_from<T>(
        &self,
        begin: &str,
        then: &[&str],
        f: impl FnOnce(&mut dyn Session) -> SqlResult<T>,
    ) -> DbResult<T> {
        self.with(|s| {
            s.batch(begin)?;
            let result = then.iter().try_for_each(|sql| s.batch(sql)).and_then(|()| f(s));
            let result = result.and_then(|v| s.batch("COMMIT").map(|()| v));
            if result.is_err() {
                let _ = s.batch("ROLLBACK");
            }
            result
        })
    }
}
