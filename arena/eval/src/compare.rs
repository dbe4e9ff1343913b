//! Compares two scorecards number by number (`arena verify`): the JSON trees must have the same
//! shape, strings and booleans, and every number must agree within a relative tolerance. The
//! run block (wall time, throughput, start time) and the hardware block describe the run, not its
//! results, and are left out.

use serde_json::{Map, Value};

/// Top-level scorecard keys that describe the run rather than its results.
pub const RUN_KEYS: [&str; 2] = ["run", "hardware"];

/// One place where the two scorecards differ.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// JSON path, e.g. `rows[0].metrics[2].overall.mean`.
    pub path: String,
    pub expected: String,
    pub got: String,
}

/// The outcome of [`compare`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comparison {
    /// Numbers compared.
    pub numbers: usize,
    /// Numbers that differ at all (within tolerance or not).
    pub not_identical: usize,
    /// Largest |a − b| / max(1, |a|, |b|) over the numbers.
    pub max_relative: f64,
    /// Differences beyond the tolerance (shape, text, or numbers).
    pub differences: Vec<Difference>,
}

impl Comparison {
    pub fn passed(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Compares `got` with `expected`: numbers within `tolerance` · max(1, |a|, |b|) pass; `null`
/// matches only `null` (the scorecard's NaN).
pub fn compare(expected: &Value, got: &Value, tolerance: f64) -> Comparison {
    let results = |v: &Value| {
        let mut v = v.clone();
        if let Value::Object(m) = &mut v {
            RUN_KEYS.iter().for_each(|k| drop(m.remove(*k)));
        }
        v
    };
    let mut out = Comparison::default();
    walk(&results(expected), &results(got), "", tolerance, &mut out);
    out
}

fn walk_object(e: &Map<String, Value>, g: &Map<String, Value>, path: &str, tol: f64, out: &mut Comparison) {
    let at = |k: &str| if path.is_empty() { k.to_string() } else { format!("{path}.{k}") };
    for (k, ev) in e {
        match g.get(k) {
            Some(gv) => walk(ev, gv, &at(k), tol, out),
            None => differ(out, &at(k), short(ev), "(missing)".into()),
        }
    }
    for (k, gv) in g.iter().filter(|(k, _)| !e.contains_key(*k)) {
        differ(out, &at(k), "(missing)".into(), short(gv));
    }
}

fn walk(e: &Value, g: &Value, path: &str, tol: f64, out: &mut Comparison) {
    match (e, g) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap_or(f64::NAN), b.as_f64().unwrap_or(f64::NAN));
            out.numbers += 1;
            if a.to_bits() == b.to_bits() {
                return;
            }
            out.not_identical += 1;
            let rel = (a - b).abs() / 1f64.max(a.abs()).max(b.abs());
            if rel.is_nan() || rel > tol {
                differ(out, path, a.to_string(), b.to_string());
            }
            if rel > out.max_relative || rel.is_nan() {
                out.max_relative = rel;
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                differ(out, path, format!("{} entries", a.len()), format!("{} entries", b.len()));
                return;
            }
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                walk(x, y, &format!("{path}[{i}]"), tol, out);
            }
        }
        (Value::Object(a), Value::Object(b)) => walk_object(a, b, path, tol, out),
        _ if e == g => {}
        _ => differ(out, path, short(e), short(g)),
    }
}

fn differ(out: &mut Comparison, path: &str, expected: String, got: String) {
    out.differences.push(Difference { path: path.to_string(), expected, got });
}

/// A value as shown in a difference (long values cut).
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 { format!("{}…", s.chars().take(80).collect::<String>()) } else { s }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn identical_cards_pass_and_the_run_block_is_ignored() {
        let a =
            json!({"rows": [{"v": 0.5, "n": 3, "name": "x"}], "run": {"wall_seconds": 1.0}, "hardware": {"cores": 2}});
        let b =
            json!({"rows": [{"v": 0.5, "n": 3, "name": "x"}], "run": {"wall_seconds": 9.0}, "hardware": {"cores": 64}});
        let c = compare(&a, &b, 0.0);
        assert!(c.passed(), "{c:?}");
        assert_eq!((c.numbers, c.not_identical, c.max_relative), (2, 0, 0.0));
    }

    #[test]
    fn numbers_beyond_the_tolerance_texts_shapes_and_nulls_are_differences_with_their_paths() {
        let a = json!({"rows": [{"v": 0.5, "w": 1.0, "name": "x", "ci": null, "pp": [1, 2]}], "extra": 1});
        let b = json!({"rows": [{"v": 0.5 + 1e-12, "w": 1.1, "name": "y", "ci": 0.2, "pp": [1]}], "new": 2});
        let c = compare(&a, &b, 1e-9);
        let paths: Vec<&str> = c.differences.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["extra", "rows[0].ci", "rows[0].name", "rows[0].pp", "rows[0].w", "new"], "{c:?}");
        assert_eq!(c.not_identical, 2, "v differs within the tolerance, w beyond it");
        assert!((c.max_relative - 0.1 / 1.1).abs() < 1e-12);
        let w = c.differences.iter().find(|d| d.path == "rows[0].w").unwrap();
        assert_eq!((w.expected.as_str(), w.got.as_str()), ("1", "1.1"));
        // With no tolerance the tiny difference counts too.
        assert_eq!(compare(&a, &b, 0.0).differences.len(), 7);
    }
}
