//! The in-memory dataset every task is built from: an observations x genes expression matrix on a
//! known scale, each row labelled with a typed perturbation. Loaders (in `arena`) produce it;
//! split builders and models consume it. Construction validates shape, labels and finiteness.

use ndarray::{Array1, Array2, Axis};
use serde::{Deserialize, Serialize};

use crate::error::TaskError;
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
    pub expression: Array2<f32>,
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
    expression: Array2<f32>,
    /// Condition of each row.
    row_condition: Vec<ConditionId>,
    /// The distinct conditions, in first-seen order.
    conditions: Vec<Perturbation>,
    pub protein: Option<ProteinPanel>,
    /// Multi-step observations, when the dataset has them (simulator).
    pub sequences: Option<SequenceObservations>,
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
        expression: Array2<f32>,
        row_perturbations: Vec<Perturbation>,
    ) -> Result<Self, TaskError> {
        let id = id.into();
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
        if let Some(((row, col), value)) = expression.indexed_iter().find(|(_, v)| !v.is_finite()) {
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
        if let Some(((row, col), value)) = seq.expression.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(invalid(format!("sequence X[{row}, {col}] is {value}; expression must be finite")));
        }
        self.sequences = Some(seq);
        Ok(self)
    }

    pub fn expression(&self) -> &Array2<f32> {
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
        mean_rows(&self.expression, rows)
    }

    /// Selects rows (keeps the gene panel and scale).
    pub fn select_rows(&self, rows: &[usize]) -> Array2<f32> {
        self.expression.select(Axis(0), rows)
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
