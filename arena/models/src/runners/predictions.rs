//! `--predictions file.h5ad`: precomputed predictions as a model. Cells are grouped by their
//! perturbation label; the model answers each query with the mean predicted profile of that
//! perturbation. Control cells in the file are ignored: every delta uses the task's real
//! controls, so a submission cannot move its own baseline.

use std::collections::HashMap;
use std::path::Path;

use ndarray::Array2;
use tasks::{Direction, GenePanel, Model, ModelKind, Perturbation, QueryBatch, TaskError};

use arena_data::load::expression_of;
use arena_data::{DataError, read_head, read_x, sha256_file};

pub struct Predictions {
    name: String,
    sha256: String,
    /// Mean predicted profile per perturbation, genes in the task's order.
    means: HashMap<Perturbation, Vec<f64>>,
}

impl Predictions {
    /// Reads predictions for a task whose genes are `task_genes`. `column` names the obs
    /// perturbation column; labels are parsed like the dataset's (`control_labels`, `direction`).
    pub fn load(
        path: &Path,
        task_genes: &GenePanel,
        column: &str,
        control_labels: &[String],
        direction: Direction,
    ) -> Result<Self, DataError> {
        let field =
            |field: &str, reason: String| DataError::Field { path: path.to_path_buf(), field: field.into(), reason };
        // X first: its read refuses a file declaring more than the memory limit (an upload) before
        // anything else of it is read.
        let x = read_x(path)?;
        let adata = read_head(path)?;
        let genes = GenePanel::new(adata.var.index.clone()).map_err(|e| field("var/_index", e.to_string()))?;
        let (missing, extra) = genes.diff(task_genes);
        if !missing.is_empty() || !extra.is_empty() {
            let show = |v: &[String]| v.iter().take(10).cloned().collect::<Vec<_>>().join(", ");
            return Err(field(
                "var/_index",
                format!(
                    "genes do not match the task's {} genes: {} missing [{}], {} extra [{}]; predict exactly the task's genes (order may differ)",
                    task_genes.len(),
                    missing.len(),
                    show(&missing),
                    extra.len(),
                    show(&extra)
                ),
            ));
        }
        let obs_field = format!("obs/{column}");
        let labels = adata.obs.column(column).and_then(|c| c.as_labels()).ok_or_else(|| {
            field(
                &obs_field,
                format!(
                    "no such text column; obs has [{}] — pass --perturbation-column",
                    adata.obs.column_names().join(", ")
                ),
            )
        })?;
        // Counts normalised; a sparse X stays sparse (the means add the same values either way).
        let x = expression_of(x, None);
        if let Some((r, c, v)) = x.first_non_finite() {
            return Err(field(
                "X",
                format!("X[{r}, {c}] (gene '{}') is {v}; predictions must be finite", genes.names()[c]),
            ));
        }
        let order: Vec<usize> = task_genes.names().iter().filter_map(|g| genes.index_of(g).map(|i| i.get())).collect();
        let mut rows: HashMap<Perturbation, Vec<usize>> = HashMap::new();
        for (row, label) in labels.iter().enumerate() {
            let label =
                label.as_deref().ok_or_else(|| field(&obs_field, format!("row {row} has no perturbation label")))?;
            let p = Perturbation::parse(label, control_labels, direction)
                .map_err(|e| field(&obs_field, format!("row {row}: {e}")))?;
            if p.is_control() {
                continue;
            }
            rows.entry(p).or_default().push(row);
        }
        let means = rows
            .into_iter()
            .map(|(p, rows)| {
                let mean = x.mean_of_rows(&rows);
                (p, order.iter().map(|&g| mean[g]).collect())
            })
            .collect();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "predictions".into());
        Ok(Self { name, sha256: sha256_file(path)?, means })
    }
}

impl Predictions {
    /// Reads predictions for a task instance with the defaults of the CLI and the leaderboard:
    /// obs column `perturbation` unless named, the usual control labels unless given, and the
    /// perturbation direction of the task's dataset.
    pub fn for_task(
        path: &Path,
        instance: &tasks::TaskInstance<'_>,
        column: Option<&str>,
        control_labels: &[String],
    ) -> Result<Self, DataError> {
        let controls: Vec<String> = if control_labels.is_empty() {
            tasks::DEFAULT_CONTROL_LABELS.iter().map(|s| s.to_string()).collect()
        } else {
            control_labels.to_vec()
        };
        let direction = instance
            .dataset
            .conditions()
            .iter()
            .flat_map(|p| p.targets().map(|(_, d)| d))
            .next()
            .unwrap_or(Direction::Knockdown);
        Self::load(path, &instance.dataset.genes, column.unwrap_or("perturbation"), &controls, direction)
    }
}

impl Model for Predictions {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> ModelKind {
        ModelKind::Predictions
    }
    fn fingerprint(&self) -> String {
        self.sha256.clone()
    }
    fn predict(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError> {
        let mut out = Array2::<f32>::zeros(batch.start.dim());
        for (mut row, p) in out.rows_mut().into_iter().zip(batch.perturbations) {
            let mean = self.means.get(p).ok_or_else(|| TaskError::Model {
                model: self.name.clone(),
                reason: format!("the predictions file has no cells for test perturbation '{p}'; predict every test perturbation (`arena tasks show TASK --test-items` lists them)"),
            })?;
            row.iter_mut().zip(mean).for_each(|(o, m)| *o = *m as f32);
        }
        Ok(out)
    }
}
