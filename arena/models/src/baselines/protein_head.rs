//! The baselines' protein head on cross-modal tasks: p' = p + b ⊙ (x'_g − x_g), the start cell's
//! protein plus the RNA→protein coupling (fitted on real paired training cells,
//! [`tasks::splits::cross_modal::Coupling`]) applied to the change the baseline predicts for each
//! protein's gene. The baseline adds nothing it did not predict for RNA, and each cell keeps its
//! own start protein, so the predicted modalities carry the real within-condition covariance of
//! the start cells — neither a perfectly coherent derived protein nor an independent one.

use ndarray::Array2;
use tasks::splits::cross_modal::Coupling;
use tasks::{Model, ModelKind, QueryBatch, TaskError};

pub struct WithProteinHead {
    inner: Box<dyn Model>,
    coupling: Coupling,
}

impl WithProteinHead {
    pub fn new(inner: Box<dyn Model>, coupling: Coupling) -> Self {
        Self { inner, coupling }
    }
}

impl Model for WithProteinHead {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn kind(&self) -> ModelKind {
        self.inner.kind()
    }
    fn fingerprint(&self) -> String {
        super::fingerprint(&format!("{}+protein-head/v1", self.inner.fingerprint()), &[&self.coupling.slope])
    }
    fn predict(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError> {
        self.inner.predict(batch)
    }
    fn predict_protein(&self, batch: &QueryBatch<'_>) -> Result<Option<Array2<f32>>, TaskError> {
        let Some(start_protein) = batch.start_protein else { return Ok(None) };
        let rna = self.inner.predict(batch)?;
        let mut out = start_protein.to_owned();
        for (k, gene) in self.coupling.genes.iter().enumerate() {
            let Some(g) = *gene else { continue };
            for i in 0..out.nrows() {
                let change = f64::from(rna[[i, g]]) - f64::from(batch.start[[i, g]]);
                out[[i, k]] = (f64::from(out[[i, k]]) + self.coupling.slope[k] * change) as f32;
            }
        }
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baselines::ControlMean;
    use ndarray::array;
    use tasks::{Direction, GenePanel, Perturbation};

    /// x' = x + 1 on every gene.
    struct PlusOne;
    impl Model for PlusOne {
        fn name(&self) -> &str {
            "plus-one"
        }
        fn kind(&self) -> ModelKind {
            ModelKind::Baseline
        }
        fn fingerprint(&self) -> String {
            "p".into()
        }
        fn predict(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError> {
            Ok(batch.start.mapv(|v| v + 1.0))
        }
    }

    #[test]
    fn protein_moves_by_the_slope_times_the_predicted_change_of_its_gene() {
        let coupling = Coupling {
            genes: vec![Some(1), None],
            slope: vec![0.5, 0.0],
            rna_control: vec![0.0, 0.0],
            protein_control: vec![0.0, 0.0],
        };
        let genes = GenePanel::new(vec!["A".into(), "B".into()]).unwrap();
        let start = array![[1.0f32, 2.0], [3.0, 4.0]];
        let protein = array![[10.0f32, 20.0], [30.0, 40.0]];
        let perts = vec![Perturbation::single("A", Direction::Knockdown); 2];
        let batch = QueryBatch {
            genes: &genes,
            start: start.view(),
            perturbations: &perts,
            start_protein: Some(protein.view()),
        };
        let head = WithProteinHead::new(Box::new(PlusOne), coupling.clone());
        assert_eq!(head.predict_protein(&batch).unwrap(), Some(array![[10.5f32, 20.0], [30.5, 40.0]]));
        assert_eq!(head.predict(&batch).unwrap(), start.mapv(|v| v + 1.0));
        let still = WithProteinHead::new(Box::new(ControlMean), coupling);
        assert_eq!(still.predict_protein(&batch).unwrap(), Some(protein.clone()));
        assert_eq!(still.predict_protein(&QueryBatch { start_protein: None, ..batch }).unwrap(), None);
        assert_ne!(head.fingerprint(), still.fingerprint());
    }
}
