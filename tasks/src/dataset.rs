//! The in-memory dataset every task is built from: an observations x genes expression matrix on a
//! known scale ([`Expression`]: dense, or CSR from a sparse file), each row labelled with a typed
//! perturbation. Loaders (in `arena`) produce it; split builders and models consume it.
//! Construction validates shape, labels and finiteness.

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use crate::error::TaskError;
pub use crate::expression::Expression;
use crate::gene::GenePanel;
use crate::perturbation::Perturbation;

/// What the numbers in the expression matrix are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scale {
    /// log1p(normalize_total(1e4)) of counts: control cells are rows of the matrix.
    LogNormalized,
    /// log fold change against control: the control centroid is the zero vector.
    LogFoldChange,
}

/// Whether a row is one cell or an already-averaged profile of a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Observation {
    SingleCell,
    Pseudobulk,
}

/// Index into [`Dataset::conditions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConditionId(pub u32);

impl ConditionId {
    pub fn get(self) -> usize {
        self.0 as usize
    }
}

/// Protein readouts paired with the RNA rows (simulator; CITE/ECCITE-seq when available).
#[derive(Debug, Clone)]
pub struct ProteinPanel {
    pub names: Vec<String>,
    pub values: Array2<f32>,
}

/// Cells observed along ordered action sequences (multi-step tasks), kept apart from the
/// one-step rows so a later step never poses as a one-step observation of its last action.
#[derive(Debug, Clone)]
pub struct SequenceObservations {
    /// Rows are cells, columns follow the dataset's genes, same scale as the dataset.
    pub expression: Expression,
    /// The action sequences (each at least two actions).
    pub sequences: Vec<Vec<Perturbation>>,
    /// `rows[i][k]`: rows of `expression` observed after the first k+1 actions of sequence i.
    pub rows: Vec<Vec<Vec<usize>>>,
}

impl SequenceObservations {
    /// `a1>a2>...>ak` for the first `k` actions of sequence `i`.
    pub fn label(&self, i: usize, k: usize) -> String {
        self.sequences[i][..k].iter().map(Perturbation::label).collect::<Vec<_>>().join(">")
    }
}

/// Cells of a second context (another cell line, network or replicate) that training never
/// sees, kept apart from the dataset's rows (the training context) the way sequences are: few-shot
/// tasks adapt on a few of its perturbations and are scored on others.
#[derive(Debug, Clone)]
pub struct ContextObservations {
    /// Name of the dataset's own rows' context (e.g. `A`, `rep_1+rep_2`).
    pub training_context: String,
    /// Name of this context (e.g. `B`, `rep_3`).
    pub name: String,
    /// Rows are cells, columns follow the dataset's genes, same scale as the dataset.
    pub expression: Expression,
    /// The perturbation of each row (the control label for control cells).
    pub perturbations: Vec<Perturbation>,
}

impl ContextObservations {
    /// Rows of each perturbation, keyed by label (sorted), controls under the control label.
    pub fn rows_by_label(&self) -> std::collections::BTreeMap<String, Vec<usize>> {
        let mut map: std::collections::BTreeMap<String, Vec<usize>> = std::collections::BTreeMap::new();
        for (r, p) in self.perturbations.iter().enumerate() {
            map.entry(p.label()).or_default().push(r);
        }
        map
    }

    /// Rows of the control cells.
    pub fn control_rows(&self) -> Vec<usize> {
        (0..self.perturbations.len()).filter(|&r| self.perturbations[r].is_control()).collect()
    }
}

#[derive(Debug, Clone)]
pub struct Dataset {
    /// Registry id (e.g. `papalexi2021`) or a description of where it came from.
    pub id: String,
    /// sha256 of the source file (or of the simulator's canonical output).
    pub sha256: String,
    pub genes: GenePanel,
    pub scale: Scale,
    pub observation: Observation,
    /// Rows are observations, columns follow `genes`.
    expression: Expression,
    /// Condition of each row.
    row_condition: Vec<ConditionId>,
    /// The distinct conditions, in first-seen order.
    conditions: Vec<Perturbation>,
    pub protein: Option<ProteinPanel>,
    /// Multi-step observations, when the dataset has them (simulator).
    pub sequences: Option<SequenceObservations>,
    /// A second context for few-shot tasks, when the dataset has one.
    pub context: Option<ContextObservations>,
    /// The genes known to regulate other genes (the simulator's network sources), when known:
    /// scores are then also reported for regulator and non-regulator targets apart.
    pub regulators: Option<std::collections::BTreeSet<String>>,
    /// Published genetic-interaction fits for its doubles, when a task on it scores against them
    /// (attached by the loader from the table the task's spec names).
    pub interactions: Option<crate::GiTable>,
}

impl Dataset {
    /// Validates and builds a dataset. Rows are grouped by their perturbation; every condition
    /// must have at least one row, and every value must be finite.
    pub fn new(
        id: impl Into<String>,
        sha256: impl Into<String>,
        genes: GenePanel,
        scale: Scale,
        observation: Observation,
        expression: impl Into<Expression>,
        row_perturbations: Vec<Perturbation>,
    ) -> Result<Self, TaskError> {
        let id = id.into();
        let expression = expression.into();
        let invalid = |reason: String| TaskError::InvalidDataset { dataset: id.clone(), reason };
        if expression.ncols() != genes.len() {
            return Err(invalid(format!(
                "expression has {} columns but the gene list has {} names",
                expression.ncols(),
                genes.len()
            )));
        }
        if expression.nrows() != row_perturbations.len() {
            return Err(invalid(format!(
                "expression has {} rows but {} perturbation labels were given",
                expression.nrows(),
                row_perturbations.len()
            )));
        }
        if expression.nrows() == 0 {
            return Err(invalid("it has no observations (0 rows)".into()));
        }
        if let Some((row, col, value)) = expression.first_non_finite() {
            return Err(invalid(format!(
                "X[{row}, {col}] (gene '{}') is {value}; expression must be finite — remove or impute NaN/inf values",
                genes.names()[col]
            )));
        }
        let mut conditions: Vec<Perturbation> = Vec::new();
        let mut index = std::collections::HashMap::new();
        let row_condition = row_perturbations
            .into_iter()
            .map(|p| {
                *index.entry(p.clone()).or_insert_with(|| {
                    conditions.push(p);
                    ConditionId((conditions.len() - 1) as u32)
                })
            })
            .collect();
        Ok(Self {
            id,
            sha256: sha256.into(),
            genes,
            scale,
            observation,
            expression,
            row_condition,
            conditions,
            protein: None,
            sequences: None,
            context: None,
            regulators: None,
            interactions: None,
        })
    }

    /// Attaches paired protein readouts (same rows).
    pub fn with_protein(mut self, protein: ProteinPanel) -> Result<Self, TaskError> {
        if protein.values.nrows() != self.expression.nrows() || protein.values.ncols() != protein.names.len() {
            return Err(TaskError::InvalidDataset {
                dataset: self.id.clone(),
                reason: format!(
                    "protein matrix is {}x{} but the dataset has {} rows and {} protein names",
                    protein.values.nrows(),
                    protein.values.ncols(),
                    self.expression.nrows(),
                    protein.names.len()
                ),
            });
        }
        self.protein = Some(protein);
        Ok(self)
    }

    /// Attaches multi-step observations (same genes; every sequence has a row group per step).
    pub fn with_sequences(mut self, seq: SequenceObservations) -> Result<Self, TaskError> {
        let invalid = |reason: String| TaskError::InvalidDataset { dataset: self.id.clone(), reason };
        if seq.expression.ncols() != self.genes.len() {
            return Err(invalid(format!(
                "sequence observations have {} genes, the dataset {}",
                seq.expression.ncols(),
                self.genes.len()
            )));
        }
        if seq.rows.len() != seq.sequences.len() {
            return Err(invalid("each sequence needs its row groups".into()));
        }
        for (i, (actions, steps)) in seq.sequences.iter().zip(&seq.rows).enumerate() {
            if actions.len() < 2 || steps.len() != actions.len() || steps.iter().any(Vec::is_empty) {
                return Err(invalid(format!(
                    "sequence {} needs ≥ 2 actions and observed cells after each",
                    seq.label(i, actions.len())
                )));
            }
            if steps.iter().flatten().any(|&r| r >= seq.expression.nrows()) {
                return Err(invalid(format!(
                    "sequence {} refers to rows beyond the matrix",
                    seq.label(i, actions.len())
                )));
            }
        }
        if let Some((row, col, value)) = seq.expression.first_non_finite() {
            return Err(invalid(format!("sequence X[{row}, {col}] is {value}; expression must be finite")));
        }
        self.sequences = Some(seq);
        Ok(self)
    }

    /// Attaches the cells of a second context (same genes and scale, at least one row).
    pub fn with_context(mut self, context: ContextObservations) -> Result<Self, TaskError> {
        let invalid = |reason: String| TaskError::InvalidDataset { dataset: self.id.clone(), reason };
        if context.expression.ncols() != self.genes.len() {
            return Err(invalid(format!(
                "context '{}' has {} genes, the dataset {}",
                context.name,
                context.expression.ncols(),
                self.genes.len()
            )));
        }
        if context.expression.nrows() != context.perturbations.len() || context.perturbations.is_empty() {
            return Err(invalid(format!(
                "context '{}' has {} rows and {} perturbation labels; both must match and be non-zero",
                context.name,
                context.expression.nrows(),
                context.perturbations.len()
            )));
        }
        if let Some((row, col, value)) = context.expression.first_non_finite() {
            return Err(invalid(format!(
                "context '{}' X[{row}, {col}] is {value}; expression must be finite",
                context.name
            )));
        }
        self.context = Some(context);
        Ok(self)
    }

    /// Moves the rows whose context label (`row_context`, one per row) is `new_context` out of the
    /// dataset into its second context (few-shot tasks on real replicates or batches); the other
    /// rows stay as the training context, named by their sorted distinct labels joined with `+`.
    /// Proteins and sequences are dropped (no few-shot task uses them).
    pub fn split_context(self, row_context: &[String], new_context: &str) -> Result<Self, TaskError> {
        let invalid = |reason: String| TaskError::InvalidDataset { dataset: self.id.clone(), reason };
        if row_context.len() != self.n_rows() {
            return Err(invalid(format!("{} context labels for {} rows", row_context.len(), self.n_rows())));
        }
        let (moved, kept): (Vec<usize>, Vec<usize>) = (0..self.n_rows()).partition(|&r| row_context[r] == new_context);
        if moved.is_empty() || kept.is_empty() {
            return Err(invalid(format!(
                "context '{new_context}' must hold some but not all rows ({} of {})",
                moved.len(),
                self.n_rows()
            )));
        }
        let labels = |rows: &[usize]| rows.iter().map(|&r| self.condition(self.row_condition[r]).clone()).collect();
        let training: std::collections::BTreeSet<&str> = kept.iter().map(|&r| row_context[r].as_str()).collect();
        let context = ContextObservations {
            training_context: training.into_iter().collect::<Vec<_>>().join("+"),
            name: new_context.to_string(),
            expression: self.expression.subset(&moved),
            perturbations: labels(&moved),
        };
        let dataset = Dataset::new(
            self.id.clone(),
            self.sha256.clone(),
            self.genes.clone(),
            self.scale,
            self.observation,
            self.expression.subset(&kept),
            labels(&kept),
        )?;
        dataset.with_context(context)
    }

    pub fn expression(&self) -> &Expression {
        &self.expression
    }

    pub fn n_rows(&self) -> usize {
        self.expression.nrows()
    }

    pub fn conditions(&self) -> &[Perturbation] {
        &self.conditions
    }

    pub fn condition(&self, id: ConditionId) -> &Perturbation {
        &self.conditions[id.get()]
    }

    pub fn condition_id(&self, perturbation: &Perturbation) -> Option<ConditionId> {
        self.conditions.iter().position(|p| p == perturbation).map(|i| ConditionId(i as u32))
    }

    pub fn row_conditions(&self) -> &[ConditionId] {
        &self.row_condition
    }

    /// Row indices of each condition, indexed by `ConditionId`.
    pub fn rows_by_condition(&self) -> Vec<Vec<usize>> {
        let mut rows = vec![Vec::new(); self.conditions.len()];
        for (row, c) in self.row_condition.iter().enumerate() {
            rows[c.get()].push(row);
        }
        rows
    }

    /// The control condition, when control rows exist.
    pub fn control_id(&self) -> Option<ConditionId> {
        self.conditions.iter().position(Perturbation::is_control).map(|i| ConditionId(i as u32))
    }

    /// Mean over the given rows (f64 accumulation).
    pub fn mean_of_rows(&self, rows: &[usize]) -> Array1<f64> {
        self.expression.mean_of_rows(rows)
    }

    /// The given rows, dense (keeps the gene panel and scale).
    pub fn select_rows(&self, rows: &[usize]) -> Array2<f32> {
        self.expression.select(rows)
    }
}

/// Mean of the given rows of `matrix` (f64 accumulation); zeros for no rows.
pub fn mean_rows(matrix: &Array2<f32>, rows: &[usize]) -> Array1<f64> {
    let mut sum = Array1::<f64>::zeros(matrix.ncols());
    for &r in rows {
        sum.zip_mut_with(&matrix.row(r), |s, &x| *s += f64::from(x));
    }
    if !rows.is_empty() {
        sum /= rows.len() as f64;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturbation::Direction;
    use ndarray::array;

    fn panel() -> GenePanel {
        GenePanel::new(vec!["A".into(), "B".into()]).unwrap()
    }

    #[test]
    fn groups_rows_by_condition() {
        let kd = Direction::Knockdown;
        let labels = vec![Perturbation::control(), Perturbation::single("A", kd), Perturbation::control()];
        let ds = Dataset::new(
            "t",
            "",
            panel(),
            Scale::LogNormalized,
            Observation::SingleCell,
            array![[1.0, 2.0], [0.0, 2.0], [3.0, 4.0]],
            labels,
        )
        .unwrap();
        assert_eq!(ds.conditions().len(), 2);
        let ctrl = ds.control_id().unwrap();
        assert_eq!(ds.rows_by_condition()[ctrl.get()], vec![0, 2]);
        assert_eq!(ds.mean_of_rows(&[0, 2]).to_vec(), vec![2.0, 3.0]);
    }

    #[test]
    fn refuses_non_finite_values_naming_the_gene() {
        let err = Dataset::new(
            "t",
            "",
            panel(),
            Scale::LogNormalized,
            Observation::SingleCell,
            array![[1.0, f32::NAN]],
            vec![Perturbation::control()],
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("X[0, 1]") && msg.contains("gene 'B'"), "{msg}");
    }

    #[test]
    fn split_context_moves_the_rows_of_one_context_out_of_training() {
        let kd = Direction::Knockdown;
        let labels = vec![
            Perturbation::control(),
            Perturbation::single("A", kd),
            Perturbation::control(),
            Perturbation::single("A", kd),
        ];
        let x = array![[1.0, 2.0], [0.0, 2.0], [3.0, 4.0], [5.0, 6.0]];
        let ds = Dataset::new("t", "s", panel(), Scale::LogNormalized, Observation::SingleCell, x, labels).unwrap();
        let ctx: Vec<String> = ["r1", "r2", "r3", "r3"].iter().map(|s| s.to_string()).collect();
        let split = ds.clone().split_context(&ctx, "r3").unwrap();
        assert_eq!(split.n_rows(), 2);
        assert_eq!(split.expression(), &Expression::Dense(array![[1.0, 2.0], [0.0, 2.0]]));
        let c = split.context.as_ref().unwrap();
        assert_eq!((c.name.as_str(), c.training_context.as_str()), ("r3", "r1+r2"));
        assert_eq!(c.expression, Expression::Dense(array![[3.0, 4.0], [5.0, 6.0]]));
        assert_eq!(c.perturbations, vec![Perturbation::control(), Perturbation::single("A", kd)]);
        assert_eq!(c.control_rows(), vec![0]);
        assert!(ds.clone().split_context(&ctx, "r9").unwrap_err().to_string().contains("r9"));
        assert!(ds.split_context(&ctx[..2], "r3").is_err());
    }

    #[test]
    fn refuses_shape_mismatch() {
        let err = Dataset::new(
            "t",
            "",
            panel(),
            Scale::LogNormalized,
            Observation::SingleCell,
            array![[1.0, 2.0, 3.0]],
            vec![Perturbation::control()],
        )
        .unwrap_err();
        assert!(err.to_string().contains("3 columns"), "{err}");
    }
}
