//! Reads and validates the raw-count inputs of `arena score --profile vcc2026` (the VCC 2026
//! submission format): X holds raw counts (finite, non-negative, integral, no cell above 10⁶
//! counts), the prediction has the reference's genes in the same order and exactly its
//! perturbation labels, control included. Every refusal names the file and the field, and comes
//! before anything is written. [`load_counts`] reads every cell of both files; [`plan_counts`]
//! reads and checks the labels and genes only, and then the control cells
//! ([`CountsPlan::read_controls`]) and the cells of some perturbations ([`CountsPlan::read_batch`])
//! are read as they are needed (`--batch-cells`).

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use metrics::de::CsrMatrix;
use metrics::vcc2026::MAX_COUNTS_PER_CELL;

use super::error::ScoreError;
use super::input::batch_ranges;
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
    /// X as CSR; no rows when only the labels were read ([`read_labels`]).
    x: CsrMatrix,
}

/// The obs and var frames of `path` (X is not read): genes, cell names, labels, split labels.
fn read_labels(path: &Path, pert_col: &str, split_col: Option<&str>) -> Result<Raw, ScoreError> {
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
    let (genes, cells) = (head.var.index, head.obs.index);
    Ok(Raw {
        genes,
        cells,
        labels,
        split,
        x: CsrMatrix { n_rows: 0, n_cols: 0, indptr: vec![0], indices: vec![], data: vec![] },
    })
}

/// Rows `rows` (ascending) of X of `path` as CSR.
fn read_rows(path: &Path, rows: &[usize]) -> Result<CsrMatrix, ScoreError> {
    let m = read_x_rows(path, rows)?;
    Ok(CsrMatrix { n_rows: m.shape.0, n_cols: m.shape.1, indptr: m.indptr, indices: m.indices, data: m.data })
}

/// X (as CSR) and the obs and var frames of `path`; layers, obsm and uns are not read.
fn read(path: &Path, pert_col: &str, split_col: Option<&str>) -> Result<Raw, ScoreError> {
    let mut raw = read_labels(path, pert_col, split_col)?;
    let all: Vec<usize> = (0..raw.cells.len()).collect();
    raw.x = read_rows(path, &all)?;
    Ok(raw)
}

/// Raw counts only: finite, non-negative, integral, each cell's total at most 10⁶. Row i of `x`
/// is the file's cell `rows[i]` (cell i when `rows` is `None`).
fn check_counts(
    path: &Path,
    x: &CsrMatrix,
    rows: Option<&[usize]>,
    cells: &[String],
    genes: &[String],
) -> Result<(), ScoreError> {
    for i in 0..x.n_rows {
        let r = rows.map_or(i, |rows| rows[i]);
        let (lo, hi) = (x.indptr[i] as usize, x.indptr[i + 1] as usize);
        let mut total = 0.0f64;
        for k in lo..hi {
            let v = x.data[k];
            let at =
                || format!("cell {r} ('{}'), gene {} ('{}')", cells[r], x.indices[k], genes[x.indices[k] as usize]);
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
                    cells[r]
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

/// The genes and the labels of both files checked against each other: the perturbations
/// (sorted, control excluded) and each file's rows of every label.
#[allow(clippy::type_complexity)]
fn align(
    (real, r): (&Path, &Raw),
    (pred, p): (&Path, &Raw),
    pert_col: &str,
    control: &str,
) -> Result<(Vec<String>, BTreeMap<String, Vec<usize>>, BTreeMap<String, Vec<usize>>), ScoreError> {
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
    Ok((perts, rg, pg))
}

/// Each perturbation's rows (in `perts` order) and the control rows, taken out of `groups`.
fn split_groups(
    perts: &[String],
    control: &str,
    mut groups: BTreeMap<String, Vec<usize>>,
) -> (Vec<Vec<usize>>, Vec<usize>) {
    let per = perts.iter().map(|q| groups.remove(q).unwrap_or_default()).collect();
    (per, groups.remove(control).unwrap_or_default())
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
    let (real_ok, pred_ok) = rayon::join(
        || check_counts(real, &r.x, None, &r.cells, &r.genes),
        || check_counts(pred, &p.x, None, &p.cells, &p.genes),
    );
    real_ok?;
    pred_ok?;
    let (perts, rg, pg) = align((real, &r), (pred, &p), pert_col, control)?;
    let file = |path: &Path, raw: Raw, groups: BTreeMap<String, Vec<usize>>| {
        let (groups, control) = split_groups(&perts, control, groups);
        CountsFile { path: path.to_path_buf(), x: raw.x, groups, control, split: raw.split }
    };
    let genes = r.genes.clone();
    Ok(CountsInput { real: file(real, r, rg), pred: file(pred, p, pg), genes, perts })
}

/// One file of a [`CountsPlan`]: its cell names (for messages) and the rows of every
/// perturbation (panel order) and of the control.
#[derive(Debug, Clone)]
pub struct PlanFile {
    pub path: PathBuf,
    cells: Vec<String>,
    pub groups: Vec<Vec<usize>>,
    pub control: Vec<usize>,
}

impl PlanFile {
    /// The file's cells `rows` (ascending), checked as raw counts.
    fn read(&self, rows: &[usize], genes: &[String]) -> Result<CsrMatrix, ScoreError> {
        let x = read_rows(&self.path, rows)?;
        check_counts(&self.path, &x, Some(rows), &self.cells, genes)?;
        Ok(x)
    }

    /// The cells of the perturbations `range` (ascending file rows) and their groups renumbered
    /// among them.
    fn read_groups(&self, range: Range<usize>, genes: &[String]) -> Result<(CsrMatrix, Vec<Vec<usize>>), ScoreError> {
        let groups = &self.groups[range];
        let mut wanted: Vec<usize> = groups.iter().flatten().copied().collect();
        wanted.sort_unstable();
        let x = self.read(&wanted, genes)?;
        let at = |rows: &Vec<usize>| rows.iter().map(|r| wanted.partition_point(|w| w < r)).collect::<Vec<_>>();
        Ok((x, groups.iter().map(at).collect()))
    }
}

/// Both files' genes and labels, checked as [`load_counts`] checks them, before any of X is read.
#[derive(Debug, Clone)]
pub struct CountsPlan {
    pub genes: Vec<String>,
    /// Perturbation labels sorted by code point, control excluded.
    pub perts: Vec<String>,
    pub real: PlanFile,
    pub pred: PlanFile,
}

/// Reads the labels and genes of both files and checks they can be scored against each other.
pub fn plan_counts(real: &Path, pred: &Path, pert_col: &str, control: &str) -> Result<CountsPlan, ScoreError> {
    let (r, p) = rayon::join(|| read_labels(real, pert_col, None), || read_labels(pred, pert_col, None));
    let (r, p) = (r?, p?);
    let (perts, rg, pg) = align((real, &r), (pred, &p), pert_col, control)?;
    let file = |path: &Path, raw: Raw, groups: BTreeMap<String, Vec<usize>>| {
        let (groups, control) = split_groups(&perts, control, groups);
        PlanFile { path: path.to_path_buf(), cells: raw.cells, groups, control }
    };
    let genes = r.genes.clone();
    let (real, pred) = (file(real, r, rg), file(pred, p, pg));
    Ok(CountsPlan { genes, perts, real, pred })
}

impl CountsPlan {
    /// The perturbations cut into contiguous batches of at most `max_cells` cells (both files
    /// together, the controls not counted; a perturbation with more is a batch of its own).
    pub fn batches(&self, max_cells: usize) -> Vec<Range<usize>> {
        batch_ranges(0..self.perts.len(), max_cells, |i| self.real.groups[i].len() + self.pred.groups[i].len())
    }

    /// The control cells of the real and of the predicted file (rows 0.. of each matrix).
    pub fn read_controls(&self) -> Result<(CsrMatrix, CsrMatrix), ScoreError> {
        let (r, p) = rayon::join(
            || self.real.read(&self.real.control, &self.genes),
            || self.pred.read(&self.pred.control, &self.genes),
        );
        Ok((r?, p?))
    }

    /// The cells of the perturbations `range` in both files, each group's rows renumbered among
    /// its file's cells read.
    #[allow(clippy::type_complexity)]
    pub fn read_batch(
        &self,
        range: Range<usize>,
    ) -> Result<((CsrMatrix, Vec<Vec<usize>>), (CsrMatrix, Vec<Vec<usize>>)), ScoreError> {
        let (r, p) = rayon::join(
            || self.real.read_groups(range.clone(), &self.genes),
            || self.pred.read_groups(range.clone(), &self.genes),
        );
        Ok((r?, p?))
    }
}
