//! The CollecTRI TF -> target network table (a `"source","target","weight"` CSV, registered as
//! `collectri`): its signed edges in file order, read with the `csv` crate. Every reader of the
//! network goes through here: the simulator's prior (`simulator::grn`), the reference model's graph
//! features and the grn-ridge baseline.

use std::path::Path;

use super::error::DataError;

/// Signed TF -> target edges `(source, target, sign)` in file order; the sign is ±1.
pub type Edges = Vec<(String, String, f32)>;

/// Reads the table. Columns are found by name (`source`, `target`, `weight`, in any order, other
/// columns ignored); every row needs a non-empty source and target and a finite non-zero weight.
/// Errors name the file and the line.
pub fn read_signed_edges(path: &Path) -> Result<Edges, DataError> {
    let line_err = |line: u64, reason: String| DataError::Line { path: path.to_path_buf(), line, reason };
    let csv_err = |e: csv::Error| DataError::csv(path, e);
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_path(path).map_err(csv_err)?;
    let header = reader.headers().map_err(csv_err)?.clone();
    let col = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            let found: Vec<&str> = header.iter().collect();
            line_err(1, format!("no column \"{name}\" in the header {found:?} (expected source, target, weight)"))
        })
    };
    let (source, target, weight) = (col("source")?, col("target")?, col("weight")?);
    let mut edges = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_err)?;
        let line = record.position().map_or(0, |p| p.line());
        let (s, t, w) = (&record[source], &record[target], &record[weight]);
        if s.is_empty() || t.is_empty() {
            return Err(line_err(line, "empty source or target".into()));
        }
        let w: f64 = w.parse().map_err(|_| line_err(line, format!("weight {w:?} is not a number")))?;
        if !w.is_finite() || w == 0.0 {
            return Err(line_err(line, format!("weight {w} must be a non-zero number")));
        }
        edges.push((s.to_string(), t.to_string(), w.signum() as f32));
    }
    Ok(edges)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Edges, DataError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("net.csv");
        std::fs::write(&path, text).unwrap();
        read_signed_edges(&path)
    }

    #[test]
    fn reads_quoted_fields_signs_and_columns_in_any_order() {
        let edges =
            read("\"weight\",\"target\",\"source\"\n-2,\"B\",\"A\"\n1,\"c,d\",\"A\"\n\n0.5,\"B \"\"x\"\"\",\"C\"\n")
                .unwrap();
        assert_eq!(
            edges,
            vec![("A".into(), "B".into(), -1.0), ("A".into(), "c,d".into(), 1.0), ("C".into(), "B \"x\"".into(), 1.0)]
        );
    }

    #[test]
    fn errors_name_the_file_the_line_and_the_fix() {
        let err = read("source,target,weight\nA,B,1\nA,C,x\n").unwrap_err().to_string();
        assert!(err.contains("net.csv") && err.contains("line 3") && err.contains("not a number"), "{err}");
        let err = read("source,target,weight\nA,B,0\n").unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("non-zero"), "{err}");
        let err = read("src,target,weight\nA,B,1\n").unwrap_err().to_string();
        assert!(err.contains("line 1") && err.contains("no column \"source\""), "{err}");
        let err = read("source,target,weight\nA,B,1\nA,C\n").unwrap_err().to_string();
        assert!(err.contains("line 3"), "{err}");
        let err = read_signed_edges(Path::new("/nonexistent/net.csv")).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/net.csv") && err.contains("not found"), "{err}");
    }
}
