//! Reads and validates the two inputs of `arena score` (real and predicted `.h5ad`), keeping X
//! sparse (CSR) and grouping cells by perturbation, in two steps: [`plan`] reads the labels and
//! genes of both files and checks them, [`Plan::read`] reads X for the cells of some
//! perturbations and the controls (a shard, a batch, or all). Refuses, naming the file and the field:
//! different genes (or gene order), a missing perturbation column or control label, a real
//! perturbation the prediction lacks (or one the real data lacks), a cell without a label,
//! NaN/inf/negative values, and raw counts where log1p-normalised values are expected.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use ndarray::Array2;

use super::error::ScoreError;
use metrics::de::CsrMatrix;

use arena_data::grouped::GroupedStore;
use arena_data::{SparseMatrix, XLayout, read_head, read_x_rows, sha256_file};

/// One input file: X as CSR (cells x genes) and the rows of each perturbation group.
#[derive(Debug, Clone)]
pub struct Side {
    pub path: PathBuf,
    /// X as CSR (cells x genes), in the layout `metrics::de` consumes.
    pub x: CsrMatrix,
    /// X was stored dense in the file (pdex then sums means in numpy's order, not scipy's).
    pub dense_input: bool,
    /// Rows of each perturbation, in the order of [`ScoreInput::perts`].
    pub pert_rows: Vec<Vec<usize>>,
    /// Rows of the control cells.
    pub control_rows: Vec<usize>,
}

/// Both inputs, validated and aligned: same genes, same perturbations.
#[derive(Debug, Clone)]
pub struct ScoreInput {
    pub genes: Vec<String>,
    /// Perturbation labels, sorted by code point (as `numpy.unique`), control excluded.
    pub perts: Vec<String>,
    pub control: String,
    pub pert_col: String,
    pub real: Side,
    pub pred: Side,
}

impl Side {
    /// Mean over `rows` of every gene, accumulated in f64 (zeros of the sparse matrix included).
    pub fn mean(&self, rows: &[usize]) -> Vec<f64> {
        self.x.mean_of_rows(rows)
    }

    /// Dense copy of `rows` (len(rows) x genes), in the order given.
    pub fn dense(&self, rows: &[usize]) -> Array2<f32> {
        self.x.dense_rows(rows)
    }
}

/// Both files, checked against each other before any of X is read: the genes, the run's
/// perturbations and each file's cells per label. [`Plan::read`] then reads the cells of some
/// perturbations and the controls.
#[derive(Debug, Clone)]
pub struct Plan {
    pub genes: Vec<String>,
    /// Every perturbation of the run, sorted by code point (as `numpy.unique`), control excluded.
    pub perts: Vec<String>,
    pub control: String,
    pub pert_col: String,
    real: PlanSide,
    pred: PlanSide,
}

/// One file of a [`Plan`].
#[derive(Debug, Clone)]
struct PlanSide {
    path: PathBuf,
    dense_input: bool,
    /// Cells (file rows, ascending) of every label.
    groups: BTreeMap<String, Vec<usize>>,
    /// The file's grouped store, when its cells are read through one ([`Plan::group_scattered`]).
    store: Option<GroupedStore>,
}

impl PlanSide {
    /// True when some label's cells are not one run of consecutive rows of the file.
    fn scattered(&self) -> bool {
        self.groups.values().any(|rows| rows.last().zip(rows.first()).is_some_and(|(l, f)| l - f + 1 != rows.len()))
    }
}

/// Reads the labels and genes of both files and checks they can be scored against each other.
pub fn plan(real: &Path, pred: &Path, pert_col: &str, control: &str) -> Result<Plan, ScoreError> {
    let (real_head, pred_head) = rayon::join(|| read_labels(real, pert_col), || read_labels(pred, pert_col));
    let (real_genes, real_labels, real_dense) = real_head?;
    let (pred_genes, pred_labels, pred_dense) = pred_head?;
    check_genes(real, &real_genes, pred, &pred_genes)?;
    let real_groups = group(&real_labels);
    let pred_groups = group(&pred_labels);
    for (path, groups) in [(real, &real_groups), (pred, &pred_groups)] {
        if !groups.contains_key(control) {
            let known: Vec<&str> = groups.keys().take(20).map(String::as_str).collect();
            return Err(ScoreError::field(
                path,
                format!("obs/{pert_col}"),
                format!(
                    "no cell has the control label '{control}' (labels include: {}); pass the control label with --control-pert",
                    known.join(", ")
                ),
            ));
        }
    }
    let missing: Vec<&str> = real_groups.keys().filter(|k| !pred_groups.contains_key(*k)).map(String::as_str).collect();
    if !missing.is_empty() {
        return Err(ScoreError::field(
            pred,
            format!("obs/{pert_col}"),
            format!(
                "{} perturbation(s) of the real data have no predicted cells: {}; predict every perturbation of {}",
                missing.len(),
                preview(&missing),
                real.display()
            ),
        ));
    }
    let extra: Vec<&str> = pred_groups.keys().filter(|k| !real_groups.contains_key(*k)).map(String::as_str).collect();
    if !extra.is_empty() {
        return Err(ScoreError::field(
            pred,
            format!("obs/{pert_col}"),
            format!(
                "{} predicted perturbation(s) are not in the real data {}: {}; remove them (cell-eval refuses them too)",
                extra.len(),
                real.display(),
                preview(&extra)
            ),
        ));
    }
    let perts: Vec<String> = real_groups.keys().filter(|k| k.as_str() != control).cloned().collect();
    if perts.is_empty() {
        return Err(ScoreError::field(
            real,
            format!("obs/{pert_col}"),
            format!("only control cells ('{control}'); there is no perturbation to score"),
        ));
    }
    Ok(Plan {
        genes: real_genes,
        perts,
        control: control.to_string(),
        pert_col: pert_col.to_string(),
        real: PlanSide { path: real.to_path_buf(), dense_input: real_dense, groups: real_groups, store: None },
        pred: PlanSide { path: pred.to_path_buf(), dense_input: pred_dense, groups: pred_groups, store: None },
    })
}

impl Plan {
    /// Cells of the perturbations `range` in both files together.
    pub fn cells(&self, range: Range<usize>) -> usize {
        let count = |side: &PlanSide| self.perts[range.clone()].iter().map(|p| side.groups[p].len()).sum::<usize>();
        count(&self.real) + count(&self.pred)
    }

    /// `range` cut into contiguous batches of at most `max_cells` cells ([`Plan::cells`]; a
    /// perturbation with more is a batch of its own); one batch when `max_cells` is `None`.
    pub fn batches(&self, range: Range<usize>, max_cells: Option<usize>) -> Vec<Range<usize>> {
        match max_cells {
            Some(max) => batch_ranges(range, max, |i| self.cells(i..i + 1)),
            None => vec![range],
        }
    }

    /// Reads each file whose cells are scattered (a label's cells not consecutive) through its
    /// grouped store under `cache` (`arena_data::grouped`): the one there, or, with `build`, one
    /// built now in a pass over the file. Batches and shards then read only their own labels'
    /// row groups instead of the blocks of the file that hold their cells.
    pub fn group_scattered(&mut self, cache: &Path, build: bool) -> Result<(), ScoreError> {
        for side in [&mut self.real, &mut self.pred] {
            if !side.scattered() {
                continue;
            }
            let mut labels = vec![String::new(); side.groups.values().map(Vec::len).sum()];
            for (label, rows) in &side.groups {
                rows.iter().for_each(|&r| labels[r].clone_from(label));
            }
            let sha256 = sha256_file(&side.path)?;
            side.store = match build {
                true => Some(GroupedStore::open_or_build(&side.path, &sha256, &self.pert_col, &labels, cache)?),
                false => GroupedStore::open(&sha256, &self.pert_col, &labels, cache),
            };
        }
        Ok(())
    }

    /// The input of the perturbations `range` (and all control cells): X read for those cells
    /// only, each group's rows renumbered among them.
    pub fn read(&self, range: Range<usize>) -> Result<ScoreInput, ScoreError> {
        let perts = self.perts[range].to_vec();
        let side = |side: &PlanSide| -> Result<Side, ScoreError> {
            let pert_rows: Vec<&Vec<usize>> = perts.iter().map(|p| &side.groups[p]).collect();
            let control_rows = &side.groups[&self.control];
            // The cells to read, in file order; each group's rows become positions among them.
            let mut wanted: Vec<usize> = pert_rows.iter().copied().flatten().chain(control_rows).copied().collect();
            wanted.sort_unstable();
            let x = match &side.store {
                None => read_x_rows(&side.path, &wanted)?,
                Some(store) => {
                    let labels: Vec<&str> = perts.iter().chain([&self.control]).map(String::as_str).collect();
                    let (rows, x) = store.read(&labels)?;
                    if rows != wanted {
                        return Err(ScoreError::Invalid(format!(
                            "the grouped store {} does not hold the cells of {} that these labels have; delete it",
                            store.dir.display(),
                            side.path.display()
                        )));
                    }
                    x
                }
            };
            check_values(&side.path, &x, &wanted)?;
            let at = |rows: &Vec<usize>| rows.iter().map(|r| wanted.partition_point(|w| w < r)).collect::<Vec<_>>();
            Ok(Side {
                path: side.path.clone(),
                x: CsrMatrix {
                    n_rows: x.shape.0,
                    n_cols: x.shape.1,
                    indptr: x.indptr,
                    indices: x.indices,
                    data: x.data,
                },
                dense_input: side.dense_input,
                pert_rows: pert_rows.into_iter().map(at).collect(),
                control_rows: at(control_rows),
            })
        };
        let (real, pred) = rayon::join(|| side(&self.real), || side(&self.pred));
        Ok(ScoreInput {
            real: real?,
            pred: pred?,
            genes: self.genes.clone(),
            perts,
            control: self.control.clone(),
            pert_col: self.pert_col.clone(),
        })
    }
}

/// `range` cut into contiguous runs whose `cells` (of each index) add up to at most `max_cells`;
/// an index with more is a run of its own.
pub fn batch_ranges(range: Range<usize>, max_cells: usize, cells: impl Fn(usize) -> usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = range.start;
    while start < range.end {
        let (mut end, mut total) = (start + 1, cells(start));
        while end < range.end && total + cells(end) <= max_cells {
            total += cells(end);
            end += 1;
        }
        out.push(start..end);
        start = end;
    }
    out
}

fn preview(items: &[&str]) -> String {
    let mut s = items.iter().take(10).copied().collect::<Vec<_>>().join(", ");
    if items.len() > 10 {
        s.push_str(&format!(", … ({} more)", items.len() - 10));
    }
    s
}

/// Genes, per-cell labels and whether X is stored dense, without reading X.
#[allow(clippy::type_complexity)]
fn read_labels(path: &Path, pert_col: &str) -> Result<(Vec<String>, Vec<String>, bool), ScoreError> {
    let adata = read_head(path)?;
    let column = adata.obs.column(pert_col).ok_or_else(|| {
        ScoreError::field(
            path,
            format!("obs/{pert_col}"),
            format!(
                "no such obs column (columns: {}); name the perturbation column with --pert-col",
                adata.obs.column_names().join(", ")
            ),
        )
    })?;
    let labels = column.as_labels().ok_or_else(|| {
        ScoreError::field(
            path,
            format!("obs/{pert_col}"),
            "is numeric; expected perturbation labels (strings or categories)",
        )
    })?;
    let labels = labels
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            l.filter(|s| !s.is_empty()).ok_or_else(|| {
                ScoreError::field(
                    path,
                    format!("obs/{pert_col}"),
                    format!("cell {i} ('{}') has no label; label every cell or drop it", adata.obs.index[i]),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((adata.var.index, labels, adata.layout == XLayout::Dense))
}

fn check_genes(real: &Path, real_genes: &[String], pred: &Path, pred_genes: &[String]) -> Result<(), ScoreError> {
    if real_genes == pred_genes {
        return Ok(());
    }
    let reason = if real_genes.len() != pred_genes.len() {
        format!("has {} genes but {} has {}", pred_genes.len(), real.display(), real_genes.len())
    } else {
        let i = real_genes.iter().zip(pred_genes).position(|(a, b)| a != b).unwrap_or(0);
        let same_set = {
            let (mut a, mut b) = (real_genes.to_vec(), pred_genes.to_vec());
            a.sort();
            b.sort();
            a == b
        };
        format!(
            "gene {i} is '{}' but '{}' in {}{}",
            pred_genes[i],
            real_genes[i],
            real.display(),
            if same_set { " (same genes, different order: reorder var to the real file's order)" } else { "" }
        )
    };
    Err(ScoreError::field(
        pred,
        "var/_index",
        format!("{reason}; the prediction must have the real data's genes in the same order"),
    ))
}

/// Refuses NaN, ±inf and negative values, and integer-only data (raw counts); `x` holds the
/// file's cells `cells`.
fn check_values(path: &Path, x: &SparseMatrix, cells: &[usize]) -> Result<(), ScoreError> {
    if let Some(k) = x.data.iter().position(|v| !v.is_finite() || *v < 0.0) {
        let row = cells[x.indptr.partition_point(|&p| p as usize <= k) - 1];
        let col = x.indices[k];
        return Err(ScoreError::field(
            path,
            "X",
            format!(
                "value {} at cell {row}, gene {col}; expected finite log1p-normalised expression (>= 0)",
                x.data[k]
            ),
        ));
    }
    let any_positive = x.data.iter().any(|v| *v > 0.0);
    if any_positive && x.data.iter().all(|v| v.fract() == 0.0) {
        return Err(ScoreError::field(
            path,
            "X",
            "holds only integers (raw counts?); expected log1p-normalised expression: run normalize_total(1e4) + log1p first",
        ));
    }
    Ok(())
}

/// Rows of each label, labels sorted by code point.
fn group(labels: &[String]) -> BTreeMap<String, Vec<usize>> {
    let mut out: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, l) in labels.iter().enumerate() {
        out.entry(l.clone()).or_default().push(i);
    }
    out
}
