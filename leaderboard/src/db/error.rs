//! The storage layer's errors: [`DbResult`] for the `Db` methods (a message), and [`SqlError`]
//! for one statement, with unique-key violations told apart so callers can say what exists.

/// The result of a `Db` method: a message on failure.
pub type DbResult<T> = Result<T, String>;

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
