//! The connection abstraction: a [`Session`] runs SQL written with `$1, $2` placeholders on one
//! connection (SQLite in [`super::sqlite`], Postgres in [`super::pg`]).

use super::error::{SqlError, SqlResult};
use super::value::{Row, Value};

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
