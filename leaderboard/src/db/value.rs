//! Owned SQL values and result rows, the same for every backend: a parameter is a [`Value`]
//! (built with [`vals!`]), a result row is a [`Row`] read with typed getters.

use super::DbResult;
use super::error::LbError;

/// One bound parameter or result cell. Integers are 64-bit in both dialects (SQLite INTEGER,
/// Postgres BIGINT; Postgres INT2/INT4/BOOL results are widened).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Int(_) => "an integer",
            Value::Text(_) => "text",
            Value::Blob(_) => "bytes",
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(v.into())
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(v.into())
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Blob(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// The parameters of one statement: `vals![a, b]` binds `$1 = a, $2 = b`.
macro_rules! vals {
    ($($v:expr),* $(,)?) => { vec![$($crate::db::value::Value::from($v)),*] };
}
pub(crate) use vals;

/// One result row; each getter takes its cell out (a row is read once).
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<Value>);

impl Row {
    fn take(&mut self, i: usize) -> DbResult<Value> {
        let n = self.0.len();
        self.0.get_mut(i).map(std::mem::take).ok_or_else(|| LbError(format!("database: no column {i} in a row of {n}")))
    }

    fn mismatch<T>(i: usize, want: &str, got: &Value) -> DbResult<T> {
        Err(format!("database: column {i}: expected {want}, found {}", got.kind()).into())
    }

    pub fn opt_int(&mut self, i: usize) -> DbResult<Option<i64>> {
        match self.take(i)? {
            Value::Null => Ok(None),
            Value::Int(v) => Ok(Some(v)),
            other => Self::mismatch(i, "an integer", &other),
        }
    }

    pub fn int(&mut self, i: usize) -> DbResult<i64> {
        self.opt_int(i)?.ok_or_else(|| LbError(format!("database: column {i}: expected an integer, found NULL")))
    }

    pub fn opt_text(&mut self, i: usize) -> DbResult<Option<String>> {
        match self.take(i)? {
            Value::Null => Ok(None),
            Value::Text(v) => Ok(Some(v)),
            other => Self::mismatch(i, "text", &other),
        }
    }

    pub fn text(&mut self, i: usize) -> DbResult<String> {
        self.opt_text(i)?.ok_or_else(|| LbError(format!("database: column {i}: expected text, found NULL")))
    }

    pub fn blob(&mut self, i: usize) -> DbResult<Vec<u8>> {
        match self.take(i)? {
            Value::Blob(v) => Ok(v),
            other => Self::mismatch(i, "bytes", &other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn getters_take_typed_cells_and_refuse_others() {
        let mut r = Row(vals![7i64, "a", None::<i64>, vec![1u8, 2], true]);
        assert_eq!(r.int(0).unwrap(), 7);
        assert_eq!(r.text(1).unwrap(), "a");
        assert_eq!(r.opt_int(2).unwrap(), None);
        assert_eq!(r.blob(3).unwrap(), vec![1, 2]);
        assert!(r.text(4).unwrap_err().contains("expected text, found an integer"));
        assert!(r.int(9).unwrap_err().contains("no column 9"));
    }
}
