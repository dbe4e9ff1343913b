//! The backend abstraction: a [`Session`] runs SQL written with `$1, $2` placeholders on one
//! connection (SQLite in [`super::sqlite`], Postgres in [`super::pg`]); [`Backend`] owns that
//! connection behind a lock and runs closures on it, alone or inside a transaction.

use std::sync::{Mutex, MutexGuard};

use super::DbResult;
use super::value::{Row, Value};

/// A statement's failure: unique-key violations are told apart so callers can say what exists.
#[derive(Debug)]
pub enum SqlError {
    UniqueViolation(String),
    Other(String),
}

impl From<String> for SqlError {
    fn from(m: String) -> SqlError {
        SqlError::Other(m)
    }
}

impl From<SqlError> for String {
    fn from(e: SqlError) -> String {
        match e {
            SqlError::UniqueViolation(m) | SqlError::Other(m) => m,
        }
    }
}

pub type SqlResult<T> = Result<T, SqlError>;

/// One connection. SQL uses `$N` placeholders in both dialects; values are always bound.
pub trait Session {
    /// Runs a statement and returns its rows (none for a statement without results).
    fn query(&mut self, sql: &str, params: Vec<Value>) -> SqlResult<Vec<Row>>;
    /// Runs a statement and returns how many rows it changed.
    fn execute(&mut self, sql: &str, params: Vec<Value>) -> SqlResult<u64>;
    /// Runs several `;`-separated statements without parameters (migrations, BEGIN, COMMIT).
    fn batch(&mut self, sql: &str) -> SqlResult<()>;

    /// The first row, if any.
    fn query_opt(&mut self, sql: &str, params: Vec<Value>) -> SqlResult<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// The first row; an error when there is none.
    fn query_one(&mut self, sql: &str, params: Vec<Value>) -> SqlResult<Row> {
        self.query_opt(sql, params)?.ok_or_else(|| SqlError::Other(format!("database: no row from `{sql}`")))
    }
}

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
        result.map_err(String::from)
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
