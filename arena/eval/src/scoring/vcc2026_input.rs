//! Reads and validates the raw-count inputs of `arena score --profile vcc2026` (the VCC 2026
//! submission format): X holds raw counts (finite, non-negative, integral, no cell above 10⁶
//! counts), the prediction has the reference's genes in the same order and exactly its
//! perturbation labels, control included. Every refusal names the file and the field, and comes
//! before anything is written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use metrics::de::CsrMatrix;
use metrics::vcc2026::MAX_COUNTS_PER_CELL;

use super::error::ScoreError;
use arena_data::{read_head, read_x_rows};

/// One counts file: X as CSR, and the rows of every perturbation (panel order) and of the control.
#[derive(Debug, Clone)]
pub struct CountsFile {
    pub path: PathBuf,
    pub x: CsrMatrix,
    pub groups: Vec<Vec<usize>>,
    pub control: Vec<usize>,
    /// Per-cell labels (for `--anchor-split-col`, the split column's values; else empty).
    pub split: Vec<String>,
}

/// Both inputs, validated and aligned.
#[derive(Debug, Clone)]
pub struct CountsInput {
    pub genes: Vec<String>,
    /// Perturbation labels sorted by code point, control excluded.
    pub perts: Vec<String>,
    pub real: CountsFile,
    pub pred: CountsFile,
}

struct Raw {
    genes: Vec<String>,
    cells: Vec<String>,
    labels: Vec<String>,
    split: Vec<String>,
    x: CsrMatrix,
}

/// X (as CSR) and the obs and var frames of `path`; layers, obsm and uns are not read.
fn read(path: &Path, pert_col: &str, split_col: Option<&str>) -> Result<Raw, ScoreError> {
    let head = read_head(path)?;
    let labels_of = |col: &str| -> Result<Vec<String>, ScoreError> {
        let column = head.obs.column(col).ok_or_else(|| {
            ScoreError::field(
                path,
                format!("obs/{col}"),
                format!("no such obs column (columns: {})", head.obs.column_names().join(", ")),
            )
        })?;
        let labels = column.as_labels().ok_or_else(|| {
            ScoreError::field(path, format!("obs/{col}"), "is numeric; expected labels (strings or categories)")
        })?;
        labels
            .into_iter()
            .enumerate()
            .map(|(i, l)| {
                l.filter(|s| !s.is_empty()).ok_or_else(|| {
                    ScoreError::field(
                        path,
                        format!("obs/{col}"),
                        format!("cell {i} ('{}') has no label; label every cell or drop it", head.obs.index[i]),
                    )
                })
            })
            .collect()
    };
    let labels = labels_of(pert_col)?;
    let split = match split_col {
        Some(c) => labels_of(c)?,
        None => Vec::new(),
    };
    let all: Vec<usize> = (0..head.shape.0).collect();
    let m = read_x_rows(path, &all)?;
    let (genes, cells) = (head.var.index, head.obs.index);
    let x = CsrMatrix { n_rows: m.shape.0, n_cols: m.shape.1, indptr: m.indptr, indices: m.indices, data: m.data };
    Ok(Raw { genes, cells, labels, split, x })
}

/// Raw counts only: finite, non-negative, integral, each cell's total at most 10⁶.
fn check_counts(path: &Path, raw: &Raw) -> Result<(), ScoreError> {
    let x = &raw.x;
    for r in 0..x.n_rows {
        let (lo, hi) = (x.indptr[r] as usize, x.indptr[r + 1] as usize);
        let mut total = 0.0f64;
        for k in lo..hi {
            let v = x.data[k];
            let at = || {
                format!("cell {r} ('{}'), gene {} ('{}')", raw.cells[r], x.indices[k], raw.genes[x.indices[k] as usize])
            };
            if !v.is_finite() || v < 0.0 {
                return Err(ScoreError::field(
                    path,
                    "X",
                    format!("value {v} at {}; the vcc2026 profile scores raw counts: non-negative integers", at()),
                ));
            }
            if v.fract() != 0.0 {
                return Err(ScoreError::field(
                    path,
                    "X",
                    format!(
                        "non-integer value {v} at {}; the vcc2026 profile scores raw counts (no normalisation, no log1p): \
write the UMI counts themselves",
                        at()
                    ),
                ));
            }
            total += f64::from(v);
        }
        if total > MAX_COUNTS_PER_CELL {
            return Err(ScoreError::field(
                path,
                "X",
                format!(
                    "cell {r} ('{}') has {total} counts in total, above the limit of {MAX_COUNTS_PER_CELL} per cell; \
emit cells at a realistic depth",
                    raw.cells[r]
                ),
            ));
        }
    }
    Ok(())
}

fn preview(items: &[&str]) -> String {
    let mut s = items.iter().take(10).copied().collect::<Vec<_>>().join(", ");
    if items.len() > 10 {
        s.push_str(&format!(", … ({} more)", items.len() - 10));
    }
    s
}

fn group(labels: &[String]) -> BTreeMap<String, Vec<usize>> {
    let mut out: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, l) in labels.iter().enumerate() {
        out.entry(l.clone()).or_default().push(i);
    }
    out
}

/// Reads both files and checks the submission format. `split_col` (the reference's obs column
/// of a fixed replicate split) is read from the real file only.
pub fn load_counts(
    real: &Path,
    pred: &Path,
    pert_col: &str,
    control: &str,
    split_col: Option<&str>,
) -> Result<CountsInput, ScoreError> {
    let (r, p) = rayon::join(|| read(real, pert_col, split_col), || read(pred, pert_col, None));
    let (r, p) = (r?, p?);
    check_counts(real, &r)?;
    check_counts(pred, &p)?;
    if r.genes != p.genes {
        let reason = if r.genes.len() != p.genes.len() {
            format!("has {} genes but {} has {}", p.genes.len(), real.display(), r.genes.len())
        } else {
            let i = r.genes.iter().zip(&p.genes).position(|(a, b)| a != b).unwrap_or(0);
            format!("gene {i} is '{}' but '{}' in {}", p.genes[i], r.genes[i], real.display())
        };
        return Err(ScoreError::field(
            pred,
            "var/_index",
            format!("{reason}; the prediction must have the reference's genes in the same order"),
        ));
    }
    let (rg, pg) = (group(&r.labels), group(&p.labels));
    if !rg.contains_key(control) {
        return Err(ScoreError::field(
            real,
            format!("obs/{pert_col}"),
            format!("no cell has the control label '{control}'; pass it with --control-pert"),
        ));
    }
    let missing: Vec<&str> = rg.keys().filter(|k| !pg.contains_key(*k)).map(String::as_str).collect();
    let extra: Vec<&str> = pg.keys().filter(|k| !rg.contains_key(*k)).map(String::as_str).collect();
    if !missing.is_empty() || !extra.is_empty() {
        let mut parts = Vec::new();
        if !missing.is_empty() {
            parts.push(format!(
                "{} label(s) of the reference have no predicted cells: {}",
                missing.len(),
                preview(&missing)
            ));
        }
        if !extra.is_empty() {
            parts.push(format!("{} label(s) are not in the reference: {}", extra.len(), preview(&extra)));
        }
        return Err(ScoreError::field(
            pred,
            format!("obs/{pert_col}"),
            format!(
                "{}; the labels must match the reference's exactly, the control '{control}' included",
                parts.join("; ")
            ),
        ));
    }
    let perts: Vec<String> = rg.keys().filter(|k| k.as_str() != control).cloned().collect();
    if perts.is_empty() {
        return Err(ScoreError::field(real, format!("obs/{pert_col}"), "only control cells; nothing to score"));
    }
    let file = |path: &Path, raw: Raw, mut groups: BTreeMap<String, Vec<usize>>| CountsFile {
        path: path.to_path_buf(),
        x: raw.x,
        groups: perts.iter().map(|q| groups.remove(q).unwrap_or_default()).collect(),
        control: groups.remove(control).unwrap_or_default(),
        split: raw.split,
    };
    let genes = r.genes.clone();
    Ok(CountsInput { real: file(real, r, rg), pred: file(pred, p, pg), genes, perts })
}
