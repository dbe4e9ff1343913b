//! The shots an in-context ONNX model reads (`context_expression`, `context_perturbation`,
//! `context_expression_next`; CONTRACT.md, "In-context models"): one row per shot of the
//! adaptation set (`tasks::AdaptationSet::shots`), in the model's column order. No shots is
//! K = 0 rows, which is what an in-context model is fed before (or without) adaptation.

use ndarray::{Array2, ArrayView2};
use tasks::{Perturbation, Shot};

use super::signature;

/// The (column, sign) entries of a perturbation on the model's perturbation axis, or why it has none.
pub type Encode<'a> = dyn Fn(&Perturbation) -> Result<Vec<(usize, f32)>, String> + 'a;

/// The context tensors of one adapted model (K rows each).
#[derive(Debug, Clone)]
pub struct ShotContext {
    /// [K, n_genes]: the state each shot was measured from.
    pub expression: Array2<f32>,
    /// [K, n_pert]: each shot's signed multi-hot perturbation.
    pub perturbation: Array2<f32>,
    /// [K, n_genes]: each shot's measured perturbed state.
    pub next: Array2<f32>,
}

impl ShotContext {
    /// No shots: K = 0 rows of the model's widths.
    pub fn empty(n_genes: usize, n_pert: usize) -> Self {
        Self {
            expression: Array2::zeros((0, n_genes)),
            perturbation: Array2::zeros((0, n_pert)),
            next: Array2::zeros((0, n_genes)),
        }
    }

    /// The shots in model column order (`n_genes` columns): `model_from_task[i]` is the task
    /// column of model gene i (`None`: same order); `encode(p)` gives the (column, sign) entries of a perturbation on the
    /// model's perturbation axis, or why it cannot.
    pub fn from_shots(
        shots: &[Shot<'_>],
        n_genes: usize,
        n_pert: usize,
        model_from_task: Option<&[usize]>,
        encode: &Encode<'_>,
    ) -> Result<Self, String> {
        if let Some(s) = shots.iter().find(|s| s.start.len() != n_genes || s.next.len() != n_genes) {
            return Err(format!(
                "shot '{}' has {} genes; the model has {n_genes}",
                s.perturbation,
                s.start.len().max(s.next.len())
            ));
        }
        let order: Vec<usize> = model_from_task.map_or_else(|| (0..n_genes).collect(), <[usize]>::to_vec);
        let k = shots.len();
        let mut context = Self {
            expression: Array2::from_shape_fn((k, n_genes), |(r, g)| shots[r].start[order[g]]),
            perturbation: Array2::zeros((k, n_pert)),
            next: Array2::from_shape_fn((k, n_genes), |(r, g)| shots[r].next[order[g]]),
        };
        for (r, shot) in shots.iter().enumerate() {
            for (j, sign) in encode(shot.perturbation)? {
                context.perturbation[[r, j]] = sign;
            }
        }
        Ok(context)
    }

    /// Number of shots (K).
    pub fn shots(&self) -> usize {
        self.expression.nrows()
    }

    /// The three inputs by name, for `session.run`.
    pub fn inputs(&self) -> [(&'static str, ArrayView2<'_, f32>); 3] {
        [
            (signature::INPUT_CONTEXT_EXPRESSION, self.expression.view()),
            (signature::INPUT_CONTEXT_PERTURBATION, self.perturbation.view()),
            (signature::INPUT_CONTEXT_NEXT, self.next.view()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array1, array};
    use tasks::{Direction, Perturbation, Shot};

    use super::ShotContext;

    /// Rows are shots, columns follow the model's order, the perturbation is the signed multi-hot.
    #[test]
    fn shots_become_rows_in_model_column_order() {
        let (a, b) = (
            Perturbation::from_genes([("g1".to_string(), Direction::Knockdown)]),
            Perturbation::from_genes([("g0".to_string(), Direction::Knockdown)]),
        );
        let start = Array1::from(vec![1.0f32, 2.0, 3.0]);
        let shots = [
            Shot { start: start.clone(), perturbation: &a, next: Array1::from(vec![1.5, 0.5, 3.0]) },
            Shot { start, perturbation: &b, next: Array1::from(vec![0.0, 2.0, 3.5]) },
        ];
        // Model genes are the task's in reverse order; the perturbation axis has 3 columns.
        let order = [2usize, 1, 0];
        let encode = |p: &Perturbation| -> Result<Vec<(usize, f32)>, String> {
            Ok(p.targets().map(|(g, d)| (if g == "g1" { 1 } else { 2 }, d.sign())).collect())
        };
        let c = ShotContext::from_shots(&shots, 3, 3, Some(&order), &encode).unwrap();
        assert_eq!(c.shots(), 2);
        assert_eq!(c.expression, array![[3.0, 2.0, 1.0], [3.0, 2.0, 1.0]]);
        assert_eq!(c.next, array![[3.0, 0.5, 1.5], [3.5, 2.0, 0.0]]);
        assert_eq!(c.perturbation, array![[0.0, -1.0, 0.0], [0.0, 0.0, -1.0]]);
        let none = ShotContext::from_shots(&[], 3, 4, None, &encode).unwrap();
        assert_eq!((none.expression.dim(), none.perturbation.dim(), none.next.dim()), ((0, 3), (0, 4), (0, 3)));
        let short = [Shot { start: Array1::zeros(2), perturbation: &a, next: Array1::zeros(2) }];
        let err = ShotContext::from_shots(&short, 3, 3, None, &encode).unwrap_err();
        assert!(err.contains("g1") && err.contains("2 genes") && err.contains("3"), "{err}");
    }
}
