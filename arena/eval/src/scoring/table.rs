//! The tables `arena score` writes: the per-perturbation results (one row per perturbation, one
//! nullable Float64 column per metric), their `describe()` aggregate (cell-eval's agg_results:
//! count, null_count, mean, std, min, 25%, 50%, 75%, max, exactly as polars computes them), and
//! CSV/Parquet writers. CSV floats are written the way polars writes them (shortest round-trip
//! digits, `1.0` not `1`, exponent below 1e-5 and from 1e16, `NaN`, `inf`, empty for null).

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};

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

    pub fn to_batch(&self) -> Result<RecordBatch, String> {
        let mut fields = vec![Field::new(&self.key_name, DataType::Utf8, false)];
        let mut cols: Vec<ArrayRef> = vec![Arc::new(StringArray::from(self.keys.clone()))];
        for (name, v) in &self.columns {
            fields.push(Field::new(name, DataType::Float64, true));
            cols.push(Arc::new(Float64Array::from(v.clone())));
        }
        RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).map_err(|e| e.to_string())
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

/// A float as polars' CSV writer prints it.
pub fn fmt_float(v: f64) -> String {
    let mut s = String::new();
    push_float(&mut s, v);
    s
}

/// Appends `v` as polars' CSV writer prints it: `NaN`, `inf`, `-inf`; the shortest round-trip
/// digits with an exponent (`1.5e-6`, `1e+16`) when they have an exponent outside -5..16,
/// else without one and with at least one decimal (`0.00001`, `123.0`).
pub fn push_float(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "inf" } else { "-inf" });
    } else if !push_half_integer(out, v) {
        if plain_range(v) { push_plain(out, v) } else { push_sci(out, v) }
    }
}

/// Appends a non-zero multiple of ½ below 5e14 in magnitude (a U statistic, a count) as its
/// exact decimal (`1234.5`, `39.0`) and returns true; false, appending nothing, for any other
/// value. Such a value's rounding interval holds no shorter decimal, so this is its shortest
/// round-trip form, what [`push_plain`] prints, without float formatting.
fn push_half_integer(out: &mut String, v: f64) -> bool {
    use std::fmt::Write as _;
    let twice = v.abs() * 2.0;
    if v == 0.0 || twice >= 1e15 || twice.fract() != 0.0 {
        return false;
    }
    let twice = twice as u64;
    let _ = write!(out, "{}{}{}", if v < 0.0 { "-" } else { "" }, twice / 2, if twice % 2 == 1 { ".5" } else { ".0" });
    true
}

/// Whether finite `v` prints without an exponent: 0, or 1e-5 ≤ |v| < 1e16. The shortest
/// round-trip decimal of a float grows with it, so this is exactly "the exponent of its shortest
/// digits is in -5..16", decided without formatting.
pub fn plain_range(v: f64) -> bool {
    v == 0.0 || (1e-5..1e16).contains(&v.abs())
}

/// Shortest digits without an exponent, `.0` added to an integer.
pub fn push_plain(out: &mut String, v: impl std::fmt::Display) {
    use std::fmt::Write as _;
    let start = out.len();
    // Writing into a String cannot fail.
    let _ = write!(out, "{v}");
    if !out[start..].contains('.') {
        out.push_str(".0");
    }
}

/// Shortest digits with an exponent, polars' sign convention (`1e+16`; Rust writes `1e16`).
pub fn push_sci(out: &mut String, v: impl std::fmt::LowerExp) {
    use std::fmt::Write as _;
    let start = out.len();
    let _ = write!(out, "{v:e}");
    if let Some(e) = out[start..].rfind('e') {
        let at = start + e + 1;
        if !out[at..].starts_with('-') {
            out.insert(at, '+');
        }
    }
}

/// A CSV field, quoted when it holds a comma, quote or line break.
pub fn csv_str(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_polars() {
        let cases = [
            (1e-5, "0.00001"),
            (1.5e-6, "1.5e-6"),
            (1e-7, "1e-7"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123.0, "123.0"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (0.224_691_357_802_469_02, "0.22469135780246902"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (v, want) in cases {
            assert_eq!(fmt_float(v), want, "{v:e}");
        }
    }

    /// The exponent decision without formatting equals the one read off the shortest digits,
    /// at the boundaries and over many magnitudes.
    #[test]
    fn plain_range_matches_the_shortest_exponent() {
        let mut values = vec![1e-5, 1e16, 9.999_999_999_999_999e-6, 9_999_999_999_999_998.0];
        for b in [1e-5f64, 1e16] {
            values.extend([b.next_down(), b.next_up(), -b, -b.next_down()]);
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits(x);
            values.extend([v, f64::from(v as f32)].into_iter().filter(|v| v.is_finite()));
            // magnitudes around the two boundaries
            values.push((x >> 11) as f64 * 1e-16 * 10f64.powi((x % 26) as i32 - 8));
        }
        for v in values {
            let exp: i32 = format!("{v:e}").rsplit('e').next().and_then(|e| e.parse().ok()).unwrap();
            assert_eq!(plain_range(v), v == 0.0 || (-5..16).contains(&exp), "{v:e}");
            assert_eq!(fmt_float(v).contains('e'), !plain_range(v), "{v:e}");
        }
    }

    #[test]
    fn half_integers_print_as_the_float_formatter_does() {
        let mut x = 7u64;
        for _ in 0..20_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let v = (x >> (11 + x % 40)) as f64 / 2.0 * if x.is_multiple_of(3) { -1.0 } else { 1.0 };
            let mut want = String::new();
            if plain_range(v) {
                push_plain(&mut want, v)
            } else {
                push_sci(&mut want, v)
            }
            assert_eq!(fmt_float(v), want, "{v:e}");
        }
        assert_eq!(
            (fmt_float(1234.5), fmt_float(-0.5), fmt_float(39.0)),
            ("1234.5".into(), "-0.5".into(), "39.0".into())
        );
    }

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
