//! The tables `arena score` writes: the per-perturbation results (one row per perturbation, one
//! nullable Float64 column per metric), their `describe()` aggregate (cell-eval's agg_results:
//! count, null_count, mean, std, min, 25%, 50%, 75%, max, exactly as polars computes them), and
//! CSV/Parquet writers. CSV floats are written the way polars writes them (shortest round-trip
//! digits, `1.0` not `1`, exponent below 1e-5 and from 1e16, `NaN`, `inf`, empty for null).

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use metrics::parity::float_format::push_float;

/// A table keyed by a string column (`perturbation` or `statistic`); `None` is null (no value),
/// `Some(NaN)` a computed-but-undefined value — cell-eval distinguishes them and so do we.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub key_name: String,
    pub keys: Vec<String>,
    pub columns: Vec<(String, Vec<Option<f64>>)>,
}

impl Table {
    pub fn new(key_name: &str, keys: Vec<String>) -> Self {
        Table { key_name: key_name.to_string(), keys, columns: Vec::new() }
    }

    /// Adds a column (`values[i]` belongs to `keys[i]`).
    pub fn push(&mut self, name: &str, values: Vec<Option<f64>>) {
        debug_assert_eq!(values.len(), self.keys.len());
        self.columns.push((name.to_string(), values));
    }

    pub fn column(&self, name: &str) -> Option<&[Option<f64>]> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }

    /// polars `DataFrame.describe()` of the metric columns (cell-eval's agg_results).
    pub fn describe(&self) -> Table {
        let stats = ["count", "null_count", "mean", "std", "min", "25%", "50%", "75%", "max"];
        let mut out = Table::new("statistic", stats.iter().map(|s| s.to_string()).collect());
        for (name, values) in &self.columns {
            out.push(name, describe_column(values).to_vec());
        }
        out
    }

    pub fn to_csv(&self) -> String {
        let mut s = String::new();
        let header: Vec<String> = std::iter::once(self.key_name.as_str())
            .chain(self.columns.iter().map(|(n, _)| n.as_str()))
            .map(csv_str)
            .collect();
        s.push_str(&header.join(","));
        s.push('\n');
        for (i, key) in self.keys.iter().enumerate() {
            s.push_str(&csv_str(key));
            for (_, v) in &self.columns {
                s.push(',');
                if let Some(x) = v[i] {
                    push_float(&mut s, x);
                }
            }
            s.push('\n');
        }
        s
    }

    pub fn to_batch(&self) -> Result<RecordBatch, arrow_schema::ArrowError> {
        let mut fields = vec![Field::new(&self.key_name, DataType::Utf8, false)];
        let mut cols: Vec<ArrayRef> = vec![Arc::new(StringArray::from(self.keys.clone()))];
        for (name, v) in &self.columns {
            fields.push(Field::new(name, DataType::Float64, true));
            cols.push(Arc::new(Float64Array::from(v.clone())));
        }
        RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)
    }
}

/// count, null_count, mean, std (ddof 1), min, 25%, 50%, 75%, max of one column as polars
/// computes them: nulls are skipped; NaN propagates into mean and std, is ignored by min/max,
/// and sorts last for the quantiles ("nearest": index round((n − 1)·q), half away from zero).
fn describe_column(values: &[Option<f64>]) -> [Option<f64>; 9] {
    let present: Vec<f64> = values.iter().flatten().copied().collect();
    let n = present.len();
    let nulls = values.len() - n;
    if n == 0 {
        return [Some(0.0), Some(nulls as f64), None, None, None, None, None, None, None];
    }
    let mean = present.iter().sum::<f64>() / n as f64;
    let std = if n > 1 {
        Some((present.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt())
    } else {
        None
    };
    let finite_or_inf: Vec<f64> = present.iter().copied().filter(|v| !v.is_nan()).collect();
    let min = finite_or_inf.iter().copied().reduce(f64::min);
    let max = finite_or_inf.iter().copied().reduce(f64::max);
    let mut sorted = present.clone();
    // polars sorts every NaN last.
    sorted.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        _ => a.total_cmp(b),
    });
    let q = |q: f64| Some(sorted[(((n - 1) as f64) * q).round() as usize]);
    [
        Some(n as f64),
        Some(nulls as f64),
        Some(mean),
        std,
        Some(min.unwrap_or(f64::NAN)),
        q(0.25),
        q(0.5),
        q(0.75),
        Some(max.unwrap_or(f64::NAN)),
    ]
}

/// A CSV field, quoted when it holds a comma, quote or line break.
pub fn csv_str(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_matches_polars() {
        // polars 2.1: x = [1, NaN, 3, null, 0.5] -> count 4, null 1, mean NaN, std NaN, min 0.5,
        // 25% 1.0, 50% 3.0, 75% 3.0, max 3.0
        let x = [Some(1.0), Some(f64::NAN), Some(3.0), None, Some(0.5)];
        let d = describe_column(&x);
        assert_eq!(d[0], Some(4.0));
        assert_eq!(d[1], Some(1.0));
        assert!(d[2].is_some_and(f64::is_nan) && d[3].is_some_and(f64::is_nan));
        assert_eq!(&d[4..], &[Some(0.5), Some(1.0), Some(3.0), Some(3.0), Some(3.0)]);
        let y = [Some(0.1), Some(0.2), Some(0.3), Some(0.4), Some(0.123_456_789_012_345)];
        let d = describe_column(&y);
        assert!((d[3].unwrap() - 0.125_310_162_594_313_3).abs() < 1e-15);
        assert_eq!(&d[5..8], &[Some(0.123_456_789_012_345), Some(0.2), Some(0.3)]);
        let empty = describe_column(&[None, None]);
        assert_eq!(&empty[..2], &[Some(0.0), Some(2.0)]);
        assert!(empty[2..].iter().all(Option::is_none));
    }
}
