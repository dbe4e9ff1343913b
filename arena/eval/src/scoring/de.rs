//! Differential expression for `arena score`: the pdex-exact tables of `metrics::de` for the real
//! data (perturbations vs real controls) and the prediction (vs the prediction's own controls in
//! cell-eval compatibility mode, vs the real controls in arena mode), and their CSV/Parquet
//! output with pdex's columns: target, feature, target_mean, ref_mean, target_membership,
//! ref_membership, log2_fold_change, percent_change, p_value, statistic, fdr.

use std::io::Write;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use metrics::de::{Cells, DeOptions, DenseMatrix, GroupDe, differential_expression};
use rayon::prelude::*;

use super::error::ScoreError;
use super::input::Side;
use super::progress::Progress;
use super::table::csv_str;
use metrics::parity::float_format::{plain_range, push_float, push_plain, push_sci};

/// Groups per call when a dense input has to be densified group by group.
const DENSE_CHUNK: usize = 32;
/// Perturbations formatted at once when the CSV is written (~3 MB of text each at 18k genes).
const CSV_CHUNK: usize = 32;

/// One side's DE: `groups[i]` is perturbation `perts[i]` against the reference cells.
pub struct DeTable {
    pub groups: Vec<GroupDe>,
}

/// DE of every perturbation of `side` against the control cells `reference` (rows
/// `reference_rows`). A file stored dense is handed over as dense groups (pdex's numpy summation
/// order for the float32 means), a sparse one as row views of its CSR matrix (no copy).
pub fn run_de(side: &Side, reference: &Side, progress: &Progress) -> Result<DeTable, ScoreError> {
    let options = DeOptions::default();
    let fail =
        |e: metrics::de::DeError| ScoreError::field(&side.path, "X", format!("differential expression failed: {e}"));
    let ref_dense;
    let ref_cells = if reference.dense_input {
        ref_dense = densify(reference, &reference.control_rows);
        Cells::Dense(&ref_dense)
    } else {
        Cells::CsrRows(&reference.x, &reference.control_rows)
    };
    let mut groups = Vec::with_capacity(side.pert_rows.len());
    if side.dense_input {
        for chunk in side.pert_rows.chunks(DENSE_CHUNK) {
            let dense: Vec<DenseMatrix> = chunk.iter().map(|rows| densify(side, rows)).collect();
            let cells: Vec<Cells> = dense.iter().map(Cells::Dense).collect();
            groups.extend(differential_expression(&ref_cells, &cells, &options).map_err(fail)?);
            (0..chunk.len()).for_each(|_| progress.inc());
        }
    } else {
        let cells: Vec<Cells> = side.pert_rows.iter().map(|rows| Cells::CsrRows(&side.x, rows)).collect();
        groups = differential_expression(&ref_cells, &cells, &options).map_err(fail)?;
        (0..cells.len()).for_each(|_| progress.inc());
    }
    Ok(DeTable { groups })
}

fn densify(side: &Side, rows: &[usize]) -> DenseMatrix {
    let a = side.dense(rows);
    let (n_rows, n_cols) = a.dim();
    DenseMatrix { n_rows, n_cols, data: a.into_raw_vec_and_offset().0 }
}

/// Appends a DE value as polars prints it: float32 values (pdex's means and fold changes) with
/// float32's shortest digits, others as float64 (`push_float`).
fn push_de(out: &mut String, v: f64) {
    let narrow = v as f32;
    if v.is_finite() && f64::from(narrow) == v {
        if plain_range(v) { push_plain(out, narrow) } else { push_sci(out, narrow) }
    } else {
        push_float(out, v);
    }
}

/// The CSV rows of one perturbation (one per gene; `genes_q` already CSV-quoted).
fn csv_block(pert: &str, d: &GroupDe, genes_q: &[String]) -> String {
    let pq = csv_str(pert);
    let members = format!(",{},{},", d.n_cells, d.reference_cells);
    let mut out = String::with_capacity(genes_q.len() * 160);
    for (g, gene) in genes_q.iter().enumerate() {
        out.push_str(&pq);
        out.push(',');
        out.push_str(gene);
        out.push(',');
        push_de(&mut out, d.target_mean[g]);
        out.push(',');
        push_de(&mut out, d.reference_mean[g]);
        out.push_str(&members);
        push_de(&mut out, d.log2_fold_change[g]);
        out.push(',');
        push_de(&mut out, d.percent_change[g]);
        for v in [d.p_value[g], d.statistic[g], d.fdr[g]] {
            out.push(',');
            push_float(&mut out, v);
        }
        out.push('\n');
    }
    out
}

pub const DE_COLUMNS: [&str; 11] = [
    "target",
    "feature",
    "target_mean",
    "ref_mean",
    "target_membership",
    "ref_membership",
    "log2_fold_change",
    "percent_change",
    "p_value",
    "statistic",
    "fdr",
];

impl DeTable {
    /// Writes the table as CSV (pdex's column order) into `w`. Perturbations are formatted in
    /// parallel, [`CSV_CHUNK`] at a time, and written in order.
    pub fn write_csv(&self, perts: &[String], genes: &[String], w: &mut impl Write) -> std::io::Result<()> {
        writeln!(w, "{}", DE_COLUMNS.join(","))?;
        let genes_q: Vec<String> = genes.iter().map(|g| csv_str(g)).collect();
        let groups: Vec<(&String, &GroupDe)> = perts.iter().zip(&self.groups).collect();
        for chunk in groups.chunks(CSV_CHUNK) {
            let blocks: Vec<String> = chunk.par_iter().map(|(p, d)| csv_block(p, d, &genes_q)).collect();
            for block in blocks {
                w.write_all(block.as_bytes())?;
            }
        }
        Ok(())
    }

    /// Writes the table as Parquet, one record batch per perturbation.
    pub fn write_parquet(&self, perts: &[String], genes: &[String], file: impl Write + Send) -> std::io::Result<()> {
        let f = |n: &str| Field::new(n, DataType::Float64, true);
        let i = |n: &str| Field::new(n, DataType::Int64, false);
        let schema = Arc::new(Schema::new(vec![
            Field::new("target", DataType::Utf8, false),
            Field::new("feature", DataType::Utf8, false),
            f("target_mean"),
            f("ref_mean"),
            i("target_membership"),
            i("ref_membership"),
            f("log2_fold_change"),
            f("percent_change"),
            f("p_value"),
            f("statistic"),
            f("fdr"),
        ]));
        let mut writer =
            parquet::arrow::ArrowWriter::try_new(file, schema.clone(), None).map_err(std::io::Error::other)?;
        let feature: ArrayRef = Arc::new(StringArray::from(genes.to_vec()));
        for (p, d) in perts.iter().zip(&self.groups) {
            let n = genes.len();
            let fl = |v: &Vec<f64>| -> ArrayRef { Arc::new(Float64Array::from(v.clone())) };
            let columns: Vec<ArrayRef> = vec![
                Arc::new(StringArray::from(vec![p.as_str(); n])),
                feature.clone(),
                fl(&d.target_mean),
                fl(&d.reference_mean),
                Arc::new(Int64Array::from(vec![d.n_cells as i64; n])),
                Arc::new(Int64Array::from(vec![d.reference_cells as i64; n])),
                fl(&d.log2_fold_change),
                fl(&d.percent_change),
                fl(&d.p_value),
                fl(&d.statistic),
                fl(&d.fdr),
            ];
            let batch = RecordBatch::try_new(schema.clone(), columns).map_err(std::io::Error::other)?;
            writer.write(&batch).map_err(std::io::Error::other)?;
        }
        writer.close().map_err(std::io::Error::other)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt_de(v: f64) -> String {
        let mut s = String::new();
        push_de(&mut s, v);
        s
    }

    #[test]
    fn float32_values_print_short() {
        assert_eq!(fmt_de(f64::from(0.3f32)), "0.3");
        assert_eq!(fmt_de(f64::from(1.5e-7f32)), "1.5e-7");
        assert_eq!(fmt_de(0.1), "0.1");
        assert_eq!(fmt_de(1.0), "1.0");
        assert_eq!(fmt_de(f64::NEG_INFINITY), "-inf");
        assert_eq!(fmt_de(0.123_456_789_012_345), "0.123456789012345");
    }
}
