//! The SQLite backend (rusqlite, bundled): opening a file in WAL mode, and [`Session`] on a
//! `rusqlite::Connection`, with `$N` placeholders rewritten to SQLite's explicit `?N`.

use std::path::Path;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ToSql, ffi};

use super::DbResult;
use super::error::{SqlError, SqlResult};
use super::session::Session;
use super::value::{Row, Value};

/// Opens (creating if needed) the database file and switches it to WAL.
pub fn open(path: &Path) -> DbResult<Connection> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    let mut conn = Connection::open(path).map_err(|e| format!("opening database {}: {e}", path.display()))?;
    conn.set_prepared_statement_cache_capacity(64);
    let mode = Session::query_one(&mut conn, "PRAGMA journal_mode=WAL", vec![])?.text(0)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(format!("database {}: could not switch to WAL (journal_mode is {mode})", path.display()).into());
    }
    conn.batch("PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000; PRAGMA synchronous=NORMAL;")?;
    Ok(conn)
}

/// `$1` -> `?1` outside string literals (`?NNN` is SQLite's explicitly numbered parameter).
pub fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => quoted = !quoted,
            '$' if !quoted && chars.peek().is_some_and(char::is_ascii_digit) => {
                out.push('?');
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

fn error(e: rusqlite::Error) -> SqlError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.extended_code, ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY) =>
        {
            SqlError::UniqueViolation(format!("database: {e}"))
        }
        _ => SqlError::Other(format!("database: {e}")),
    }
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(v) => ValueRef::Integer(*v),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

fn cell(v: ValueRef<'_>) -> SqlResult<Value> {
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Text(t) => Value::Text(
            String::from_utf8(t.to_vec()).map_err(|e| SqlError::Other(format!("database: text is not UTF-8: {e}")))?,
        ),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        ValueRef::Real(r) => return Err(SqlError::Other(format!("database: unexpected REAL value {r}"))),
    })
}

impl Session for Connection {
    fn query(&mut self, sql: &str, params: Vec<Value>) -> SqlResult<Vec<Row>> {
        let mut st = self.prepare_cached(&placeholders(sql)).map_err(error)?;
        let n = st.column_count();
        let mut rows = st.query(rusqlite::params_from_iter(&params)).map_err(error)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(error)? {
            out.push(Row((0..n).map(|i| cell(r.get_ref(i).map_err(error)?)).collect::<SqlResult<_>>()?));
        }
        Ok(out)
    }

    fn execute(&mut self, sql: &str, params: Vec<Value>) -> SqlResult<u64> {
        let mut st = self.prepare_cached(&placeholders(sql)).map_err(error)?;
        Ok(st.execute(rusqlite::params_from_iter(&params)).map_err(error)? as u64)
    }

    fn batch(&mut self, sql: &str) -> SqlResult<()> {
        self.execute_batch(sql).map_err(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_numbered_question_marks_outside_literals() {
        assert_eq!(
            placeholders("SELECT a FROM t WHERE b = $1 AND c = $12"),
            "SELECT a FROM t WHERE b = ?1 AND c = ?12"
        );
        assert_eq!(placeholders("SELECT '$1', $2"), "SELECT '$1', ?2");
        assert_eq!(placeholders("SELECT 'it''s $1' || $3"), "SELECT 'it''s $1' || ?3");
    }
}
