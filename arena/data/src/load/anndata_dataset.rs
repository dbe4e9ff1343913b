//! Turns an `.h5ad` into a `tasks::Dataset`: reads the perturbation column, parses labels, then
//! reads X alone (no layers, obsm or uns) and makes it the dataset's expression
//! ([`expression_of`]: counts normalised, sparse kept sparse), or, with a grouped cache, serves
//! its rows from the file's grouped store ([`StoredGroups`]), and refuses files whose labels,
//! controls or values cannot make a valid dataset — naming the file and field. A file with one
//! row per condition (a single control row included) is read as pseudobulk.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tasks::{Dataset, Direction, Expression, GenePanel, Observation, Perturbation, Scale, StoredRows};

use super::drug_labels::{DrugColumns, column_text, drug_perturbations};
use super::expression::expression_of;
use super::stored::StoredGroups;
use crate::{Column, DataError, Frame, H5adHead, read_x, sha256_file};

/// What to read from the AnnData.
#[derive(Debug, Clone)]
pub struct AnnDataSpec {
    pub id: String,
    pub sha256: String,
    pub perturbation_column: String,
    pub control_labels: Vec<String>,
    pub direction: Direction,
    /// How a high-MOI screen labels a cell carrying guides for several genes.
    pub guides: GuideRule,
    /// Serve the cells from the file's grouped store under this cache folder, a group at a
    /// time, instead of reading X whole (`LoadOptions::grouped_cache`).
    pub grouped_cache: Option<PathBuf>,
    /// A drug screen: the perturbation column names compounds, these obs columns their doses
    /// (`direction` is then unused).
    pub drug: Option<DrugColumns>,
    /// Read only the cells whose obs column (first) has this value (second).
    pub row_filter: Option<(String, String)>,
}

/// Cells of high-MOI screens (several guides per cell): with a `separator` (e.g. `;` or `_`) a
/// label lists the cell's guide targets, and the cell is the combination of its distinct
/// non-control targets (`A;A;ctrl` is the single A); cells with more than `max_targets` distinct
/// targets are left out (their count is reported). Without a separator only `+` joins genes.
#[derive(Debug, Clone, Default)]
pub struct GuideRule {
    pub separator: Option<String>,
    pub max_targets: Option<usize>,
}

impl GuideRule {
    /// The label in the `+` form [`Perturbation::parse`] reads.
    fn normalise(&self, label: &str, control_labels: &[String]) -> String {
        let Some(sep) = self.separator.as_deref().filter(|s| !s.is_empty()) else { return label.to_string() };
        let mut genes: Vec<&str> = label
            .split(sep)
            .map(str::trim)
            .filter(|g| !g.is_empty() && !control_labels.iter().any(|c| c.eq_ignore_ascii_case(g)))
            .collect();
        genes.sort_unstable();
        genes.dedup();
        match genes.is_empty() {
            true => control_labels.first().cloned().unwrap_or_else(|| label.to_string()),
            false => genes.join("+"),
        }
    }
}

/// Rows observed after a single action from the control state. Files written by `arena simulate`
/// also hold multi-step lineages (obs `step` ≥ 2, linked by `trajectory`); those lineages belong
/// to multi-step tasks and are left out here, whole, so their later steps never pose as one-step
/// observations. Files without a `step` column keep every row.
fn single_step_rows(obs: &Frame) -> Vec<usize> {
    let all: Vec<usize> = (0..obs.index.len()).collect();
    let Some(Column::Int(step)) = obs.column("step") else { return all };
    match obs.column("trajectory") {
        Some(Column::Int(trajectory)) => {
            let multi: std::collections::HashSet<i64> =
                step.iter().zip(trajectory).filter(|(s, _)| **s >= 2).map(|(_, t)| *t).collect();
            all.into_iter().filter(|&r| !multi.contains(&trajectory[r])).collect()
        }
        _ => all.into_iter().filter(|&r| step[r] <= 1).collect(),
    }
}

/// The obs column `column` as text, one entry per row of the dataset [`dataset_from_h5ad`]
/// builds (numbers printed), or why not.
pub fn dataset_row_labels(obs: &Frame, column: &str) -> Result<Vec<String>, String> {
    let values: Vec<String> = match obs.column(column) {
        Some(Column::Int(v)) => v.iter().map(i64::to_string).collect(),
        Some(c) => c
            .as_labels()
            .ok_or_else(|| format!("obs/{column} is neither text nor integers"))?
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect(),
        None => return Err(format!("no obs column '{column}'; obs has [{}]", obs.column_names().join(", "))),
    };
    Ok(single_step_rows(obs).into_iter().map(|r| values[r].clone()).collect())
}

/// The dataset of the `.h5ad` at `path` whose frames are `head`, and how many cells
/// `spec.guides.max_targets` left out. X is read after the labels pass their checks.
pub fn dataset_from_h5ad(path: &Path, head: &H5adHead, spec: &AnnDataSpec) -> Result<(Dataset, usize), DataError> {
    let obs = &head.obs;
    let field =
        |field: &str, reason: String| DataError::Field { path: path.to_path_buf(), field: field.into(), reason };
    let obs_field = format!("obs/{}", spec.perturbation_column);
    let column = obs.column(&spec.perturbation_column).ok_or_else(|| {
        field(
            &obs_field,
            format!(
                "no such column; obs has [{}] — pass the right --perturbation-column",
                obs.column_names().join(", ")
            ),
        )
    })?;
    let labels = column.as_labels().ok_or_else(|| {
        field(&obs_field, "expected a categorical or string column of perturbation labels, found numbers".into())
    })?;
    let mut rows = single_step_rows(obs);
    if let Some((column, value)) = &spec.row_filter {
        let text = column_text(obs, column).map_err(|e| field(&format!("obs/{column}"), e))?;
        rows.retain(|&r| text[r] == *value);
        if rows.is_empty() {
            return Err(field(&format!("obs/{column}"), format!("no cell has the value '{value}'")));
        }
    }
    let mut perturbations = Vec::with_capacity(rows.len());
    if let Some(columns) = &spec.drug {
        perturbations =
            drug_perturbations(obs, &labels, &rows, &spec.control_labels, columns).map_err(|e| field(&obs_field, e))?;
    }
    for &row in rows.iter().filter(|_| spec.drug.is_none()) {
        let label = &labels[row];
        let label = label.as_deref().filter(|l| !l.trim().is_empty()).ok_or_else(|| {
            field(
                &obs_field,
                format!(
                    "row {row} (cell '{}') has no perturbation label; drop unlabelled cells first",
                    obs.index.get(row).map(String::as_str).unwrap_or("?")
                ),
            )
        })?;
        let label = spec.guides.normalise(label, &spec.control_labels);
        let p = Perturbation::parse(&label, &spec.control_labels, spec.direction)
            .map_err(|e| field(&obs_field, format!("row {row}: {e}")))?;
        perturbations.push(p);
    }
    let before = rows.len();
    if let Some(max) = spec.guides.max_targets {
        let keep: Vec<bool> = perturbations.iter().map(|p| p.order() <= max).collect();
        rows = rows.iter().zip(&keep).filter(|(_, k)| **k).map(|(r, _)| *r).collect();
        perturbations = perturbations.into_iter().zip(&keep).filter(|(_, k)| **k).map(|(p, _)| p).collect();
    }
    if !perturbations.iter().any(Perturbation::is_control) {
        let mut seen: Vec<&str> = labels.iter().flatten().map(String::as_str).collect();
        seen.sort_unstable();
        seen.dedup();
        let shown: Vec<&str> = seen.iter().take(12).copied().collect();
        return Err(field(
            &obs_field,
            format!(
                "no cell has a control label (looked for: {}); labels present include [{}] — pass --control-label LABEL",
                spec.control_labels.join(", "),
                shown.join(", ")
            ),
        ));
    }
    // One row per condition (each perturbation once, the control once) is a pseudobulk table: its
    // single control row is the training controls' mean and the start state of every query alike.
    let mut counts: std::collections::HashMap<&Perturbation, usize> = std::collections::HashMap::new();
    for p in &perturbations {
        *counts.entry(p).or_default() += 1;
    }
    let observation = if counts.values().all(|&n| n == 1) { Observation::Pseudobulk } else { Observation::SingleCell };
    let genes = GenePanel::new(head.var.index.clone()).map_err(|e| field("var/_index", e.to_string()))?;
    // The grouped store groups by the label column alone, which does not tell a drug's doses apart.
    let expression = match spec.grouped_cache.as_ref().filter(|_| spec.drug.is_none()) {
        Some(cache) => {
            let text: Vec<String> = labels.into_iter().map(Option::unwrap_or_default).collect();
            let controls: Vec<usize> = (0..rows.len()).filter(|&i| perturbations[i].is_control()).collect();
            let sha256 = match spec.sha256.is_empty() {
                true => sha256_file(path)?,
                false => spec.sha256.clone(),
            };
            let stored = StoredGroups::open(path, &sha256, &spec.perturbation_column, &text, &rows, &controls, cache)?;
            Expression::Stored(StoredRows(Arc::new(stored)))
        }
        None => {
            let every_row = rows.len() == head.shape.0;
            expression_of(read_x(path)?, (!every_row).then_some(rows.as_slice()))
        }
    };
    let left_out = before - rows.len();
    Dataset::new(
        spec.id.clone(),
        spec.sha256.clone(),
        genes,
        Scale::LogNormalized,
        observation,
        expression,
        perturbations,
    )
    .map(|d| (d, left_out))
    .map_err(|e| DataError::Other(format!("{}: {e}", path.display())))
}
