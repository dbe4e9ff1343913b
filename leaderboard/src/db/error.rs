//! The leaderboard's errors: [`LbError`] for the `Db` methods, the boards and the views (a
//! message for the organiser's log or the web page), and [`SqlError`] for one statement, with
//! unique-key violations told apart so callers can say what exists.

/// Why a storage, board or view operation failed; the message is shown as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LbError(pub String);

impl std::ops::Deref for LbError {
    type Target = str;
    /// The message.
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for LbError {
    fn from(m: String) -> LbError {
        LbError(m)
    }
}

impl From<&str> for LbError {
    fn from(m: &str) -> LbError {
        LbError(m.to_string())
    }
}

impl From<SqlError> for LbError {
    fn from(e: SqlError) -> LbError {
        LbError(e.into())
    }
}

impl From<LbError> for SqlError {
    fn from(e: LbError) -> SqlError {
        SqlError::Other(e.0)
    }
}

impl From<LbError> for String {
    fn from(e: LbError) -> String {
        e.0
    }
}

/// The result of a `Db` method.
pub type DbResult<T> = Result<T, LbError>;

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
