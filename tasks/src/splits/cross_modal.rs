//! The cross-modal coherence split and the RNA→protein coupling it is scored through. The split
//! is `unseen-single` on a dataset with paired proteins. [`Coupling`] is learned from REAL paired
//! states of the training view only (training conditions and training controls): per protein k of
//! gene g_k, the slope b_k of the condition-mean protein change on the condition-mean RNA change,
//! Δp_k ≈ b_k · Δx_{g_k} (least squares through the origin, changes against the training control
//! means). [`Coupling::coherence`] is the within-condition agreement of a set of cells' proteins
//! with the coupling of their RNA: the mean over proteins of Pearson r over the cells of p_k and
//! coupling_k(x) — a property of the JOINT distribution of the two modalities, which a model that
//! predicts each modality independently (even from the right marginals) does not have. Real
//! cells sit in the middle (measurement noise bounds their coherence well below 1), so coherence
//! is scored two-sided: `coherence_gap` is the distance of a prediction's coherence from the
//! coherence of the item's real test cells (0 = as coherent as real cells). A protein computed
//! deterministically from the predicted RNA reaches coherence 1 and is as far off as a protein
//! unrelated to the RNA.

use ndarray::Array2;

use crate::dataset::{Dataset, mean_rows};
use crate::error::TaskError;
use crate::instance::TaskInstance;
use crate::split::Split;

pub fn build(dataset: &Dataset, test_fraction: f64, control_test_fraction: f64, seed: u64) -> Result<Split, TaskError> {
    let has_protein = dataset.protein.as_ref().is_some_and(|p| !p.names.is_empty());
    if !has_protein {
        return Err(TaskError::SplitImpossible {
            task: "cross-modal".into(),
            dataset: dataset.id.clone(),
            reason: "it has no paired protein measurements (the simulator has them)".into(),
        });
    }
    super::unseen_single::build(dataset, test_fraction, control_test_fraction, seed)
}

/// Per-protein linear coupling p_k = p̄_k + b_k (x_{g_k} − x̄_{g_k}) around the training controls.
#[derive(Debug, Clone, PartialEq)]
pub struct Coupling {
    /// Gene index of each protein in the task's panel (`None`: the protein's gene is not measured;
    /// it takes no part in coherence).
    pub genes: Vec<Option<usize>>,
    pub slope: Vec<f64>,
    /// Training-control means of RNA (all genes) and protein.
    pub rna_control: Vec<f64>,
    pub protein_control: Vec<f64>,
}

impl Coupling {
    /// Fits the coupling on the instance's training view (training conditions and controls).
    pub fn fit(instance: &TaskInstance<'_>) -> Result<Self, TaskError> {
        let dataset = instance.dataset;
        let Some(protein) = &dataset.protein else {
            return Err(TaskError::SplitImpossible {
                task: instance.spec.spec.id.clone(),
                dataset: dataset.id.clone(),
                reason: "it has no paired protein measurements".into(),
            });
        };
        let by_condition = dataset.rows_by_condition();
        let rna_control = instance.control_mean.to_vec();
        let protein_control = mean_rows(&protein.values, &instance.split.control_train_rows).to_vec();
        let genes: Vec<Option<usize>> =
            protein.names.iter().map(|n| dataset.genes.index_of(n).map(|g| g.get())).collect();
        let mut num = vec![0.0; genes.len()];
        let mut den = vec![0.0; genes.len()];
        for (&c, (_, rna_mean)) in instance.split.train.iter().zip(&instance.train_means) {
            let protein_mean = mean_rows(&protein.values, &by_condition[c.get()]);
            for (k, g) in genes.iter().enumerate() {
                if let Some(g) = *g {
                    let dx = rna_mean[g] - rna_control[g];
                    num[k] += dx * (protein_mean[k] - protein_control[k]);
                    den[k] += dx * dx;
                }
            }
        }
        let slope = num.iter().zip(&den).map(|(n, d)| if *d > 0.0 { n / d } else { 0.0 }).collect();
        Ok(Self { genes, slope, rna_control, protein_control })
    }

    /// coupling(x) for every row of `rna` (cells x genes): cells x proteins.
    pub fn apply(&self, rna: &Array2<f32>) -> Array2<f64> {
        Array2::from_shape_fn((rna.nrows(), self.genes.len()), |(i, k)| match self.genes[k] {
            Some(g) => self.protein_control[k] + self.slope[k] * (f64::from(rna[[i, g]]) - self.rna_control[g]),
            None => self.protein_control[k],
        })
    }

    /// Within-condition coherence of paired cells (`rna` and `protein` rows are the same cells):
    /// the mean over coupled proteins (gene measured, slope ≠ 0) of r(p_k, coupling_k(x)) over the
    /// cells. A protein or coupled RNA that does not vary across the cells shows no coherence and
    /// counts 0 (as the Pearson metrics count a constant prediction). NaN with fewer than two
    /// cells or no coupled protein.
    pub fn coherence(&self, rna: &Array2<f32>, protein: &Array2<f32>) -> f64 {
        if rna.nrows() < 2 || rna.nrows() != protein.nrows() {
            return f64::NAN;
        }
        let coupled = self.apply(rna);
        let mut values = Vec::new();
        for k in 0..self.genes.len() {
            if self.genes[k].is_none() || self.slope[k] == 0.0 {
                continue;
            }
            let p: Vec<f64> = protein.column(k).iter().map(|&v| f64::from(v)).collect();
            let c: Vec<f64> = coupled.column(k).to_vec();
            let r = metrics::pearson(&p, &c);
            values.push(if r.is_nan() { 0.0 } else { r });
        }
        if values.is_empty() { f64::NAN } else { values.iter().sum::<f64>() / values.len() as f64 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn coupling(slope: f64) -> Coupling {
        Coupling {
            genes: vec![Some(1), None],
            slope: vec![slope, 0.0],
            rna_control: vec![0.0, 1.0],
            protein_control: vec![5.0, 2.0],
        }
    }

    #[test]
    fn apply_maps_the_gene_change_through_the_slope() {
        let out = coupling(2.0).apply(&array![[0.0f32, 3.0], [9.0, 1.0]]);
        assert_eq!(out, array![[9.0, 2.0], [5.0, 2.0]]);
    }

    #[test]
    fn coherence_is_one_for_coupled_cells_minus_one_for_anti_coupled_and_zero_for_constant() {
        let rna = array![[0.0f32, 1.0], [0.0, 2.0], [0.0, 4.0]];
        let c = coupling(1.5);
        let coupled = c.apply(&rna).mapv(|v| v as f32);
        assert!((c.coherence(&rna, &coupled) - 1.0).abs() < 1e-9);
        let reversed = array![[coupled[[2, 0]], 0.0], [coupled[[1, 0]], 0.0], [coupled[[0, 0]], 0.0]];
        assert!(c.coherence(&rna, &reversed) < -0.9);
        // A negative slope flips the sign: protein falling with RNA is coherent then.
        assert!(coupling(-1.0).coherence(&rna, &reversed) > 0.9);
        let flat = array![[3.0f32, 0.0], [3.0, 0.0], [3.0, 0.0]];
        assert_eq!(c.coherence(&rna, &flat), 0.0);
        assert!(
            c.coherence(&rna.slice(ndarray::s![..1, ..]).to_owned(), &flat.slice(ndarray::s![..1, ..]).to_owned())
                .is_nan()
        );
    }
}
