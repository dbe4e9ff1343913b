//! `linear`: the linear baseline of Ahlmann-Eltze, Huber & Anders (2025, Nat Methods), which
//! matched deep models on unseen perturbations. With Y the genes x P matrix of training
//! perturbation effects (centroid − μ_ctrl) and b its row mean:
//!   G = top-K left singular vectors of (Y − b)  (gene embeddings, genes x K),
//!   P = perturbation embeddings: the sum of G's rows of the perturbed genes (P x K),
//!   W = argmin ‖(Y − b) − G W Pᵀ‖² + λ‖W‖² = Gᵀ(Y − b) P (PᵀP + λI)⁻¹   (Gᵀ G = I),
//!   prediction: x' = x + b + G W p(a).
//! A gene outside the measured panel has no embedding, so its perturbation predicts b — the
//! perturbed mean — which is the honest answer of this model.

use ndarray::{Array1, Array2, Axis};
use tasks::{Model, ModelKind, Perturbation, QueryBatch, TaskError, TaskInstance};

use super::linalg::{cholesky_solve, symmetric_eigen};

pub const DEFAULT_RANK: usize = 10;
pub const DEFAULT_RIDGE: f64 = 0.1;

pub struct Linear {
    /// Gene embeddings, genes x K.
    gene_embedding: Array2<f64>,
    /// Gene index of each gene name in the task panel.
    panel: tasks::GenePanel,
    /// G W, genes x K: maps a perturbation embedding to an effect.
    effect_map: Array2<f64>,
    /// b: mean training effect.
    offset: Array1<f64>,
}

impl Linear {
    pub fn fit(instance: &TaskInstance<'_>, rank: usize, ridge: f64) -> Self {
        let genes = instance.dataset.genes.clone();
        let n_genes = genes.len();
        let effects: Vec<Array1<f64>> = instance.train_means.iter().map(|(_, m)| m - &instance.control_mean).collect();
        let n_pert = effects.len();
        let mut y = Array2::<f64>::zeros((n_genes, n_pert));
        for (j, e) in effects.iter().enumerate() {
            y.column_mut(j).assign(e);
        }
        let offset = y.mean_axis(Axis(1)).unwrap_or_else(|| Array1::zeros(n_genes));
        let centred = &y - &offset.view().insert_axis(Axis(1));
        // Left singular vectors via the eigen decomposition of the small P x P Gram matrix.
        let (values, vectors) = symmetric_eigen(&centred.t().dot(&centred));
        let k = rank
            .min(n_pert.saturating_sub(1))
            .min(values.iter().filter(|&&v| v > 1e-10 * values[0].max(1e-300)).count());
        let mut gene_embedding = Array2::<f64>::zeros((n_genes, k));
        for c in 0..k {
            let u = centred.dot(&vectors.column(c)) / values[c].sqrt();
            gene_embedding.column_mut(c).assign(&u);
        }
        let mut model = Self { gene_embedding, panel: genes, effect_map: Array2::zeros((n_genes, k)), offset };
        if k == 0 {
            return model;
        }
        let mut p = Array2::<f64>::zeros((n_pert, k));
        for (j, (pert, _)) in instance.train_means.iter().enumerate() {
            p.row_mut(j).assign(&model.embed(pert));
        }
        let gram = p.t().dot(&p) + Array2::<f64>::eye(k) * ridge;
        let rhs = model.gene_embedding.t().dot(&centred).dot(&p); // K x K
        // W = rhs (PᵀP + λI)⁻¹  <=>  (PᵀP + λI) Wᵀ = rhsᵀ  (the Gram matrix is symmetric)
        if let Some(wt) = cholesky_solve(&gram, &rhs.t().to_owned()) {
            model.effect_map = model.gene_embedding.dot(&wt.t());
        }
        model
    }

    /// Sum of the embeddings of the perturbation's genes (zero for genes outside the panel).
    fn embed(&self, p: &Perturbation) -> Array1<f64> {
        let mut e = Array1::<f64>::zeros(self.gene_embedding.ncols());
        for g in p.genes() {
            if let Some(i) = self.panel.index_of(g) {
                e += &self.gene_embedding.row(i.get());
            }
        }
        e
    }
}

impl Model for Linear {
    fn name(&self) -> &str {
        "linear"
    }
    fn kind(&self) -> ModelKind {
        ModelKind::Baseline
    }
    fn fingerprint(&self) -> String {
        let map = self.effect_map.iter().copied().collect::<Vec<_>>();
        super::fingerprint("linear/v1", &[self.offset.as_slice().unwrap_or(&[]), &map])
    }
    fn predict(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError> {
        super::shift::apply_shift(batch, |p| Ok((&self.offset + &self.effect_map.dot(&self.embed(p))).to_vec()))
    }
}
