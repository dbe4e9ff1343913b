//! `linear`: the linear baseline of Ahlmann-Eltze, Huber & Anders (2025, Nat Methods), which
//! matched deep models on unseen perturbations. With Y the genes x P matrix of training
//! perturbation effects (centroid − μ_ctrl) and b its row mean:
//!   G = top-K left singular vectors of (Y − b)  (gene embeddings, genes x K),
//!   P = perturbation embeddings: the sum of G's rows of the perturbed genes (P x K),
//!   W = argmin ‖(Y − b) − G W Pᵀ‖² + λ‖W‖² = Gᵀ(Y − b) P (PᵀP + λI)⁻¹   (Gᵀ G = I),
//!   prediction: x' = x + b + G W p(a).
//! A gene outside the measured panel has no row of G. When it was perturbed alone in training it
//! still has an embedding: its effect's coordinates c = Gᵀ(y − b), mapped into the gene-embedding
//! space by the linear map M that best takes the coordinates of the measured training targets'
//! effects to their rows of G (ridge least squares, λ = 1e-3 · tr(CᵀC)/K). Only a gene with
//! neither predicts b — the perturbed mean — which is the honest answer of this model.

use std::collections::BTreeMap;

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
    /// Embeddings of genes outside the panel with a training single (M c, see the module doc).
    off_panel: BTreeMap<String, Array1<f64>>,
}

impl Linear {
    pub fn fit(instance: &TaskInstance<'_>, rank: usize, ridge: f64) -> Self {
        let genes = instance.dataset.genes.clone();
        let n_genes = genes.len();
        let n_pert = instance.train_means.len();
        // The effects, one column per training perturbation, centred in place: the fit holds one
        // genes x perturbations matrix beside the task's centroids.
        let mut y = Array2::<f64>::zeros((n_genes, n_pert));
        for (j, (_, m)) in instance.train_means.iter().enumerate() {
            y.column_mut(j).assign(&(m - &instance.control_mean));
        }
        let offset = y.mean_axis(Axis(1)).unwrap_or_else(|| Array1::zeros(n_genes));
        let mut centred = y;
        centred -= &offset.view().insert_axis(Axis(1));
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
        let mut model = Self {
            gene_embedding,
            panel: genes,
            effect_map: Array2::zeros((n_genes, k)),
            offset,
            off_panel: BTreeMap::new(),
        };
        if k == 0 {
            return model;
        }
        model.off_panel = off_panel_embeddings(instance, &model.gene_embedding, &model.panel, &centred);
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

    /// Sum of the embeddings of the perturbation's genes (zero for a gene with none).
    fn embed(&self, p: &Perturbation) -> Array1<f64> {
        let mut e = Array1::<f64>::zeros(self.gene_embedding.ncols());
        for g in p.genes() {
            if let Some(i) = self.panel.index_of(g) {
                e += &self.gene_embedding.row(i.get());
            } else if let Some(v) = self.off_panel.get(g) {
                e += v;
            }
        }
        e
    }

    /// The genes outside the panel that have an embedding.
    pub fn off_panel_genes(&self) -> Vec<&str> {
        self.off_panel.keys().map(String::as_str).collect()
    }
}

/// Embeddings of the training singles' genes outside the panel: M c_g with c_g = Gᵀ(y_g − b) and
/// M fitted on the measured training targets (G_g ≈ M c_g). Empty when fewer than two measured
/// training targets exist to fit M on.
fn off_panel_embeddings(
    instance: &TaskInstance<'_>,
    g: &Array2<f64>,
    panel: &tasks::GenePanel,
    centred: &Array2<f64>,
) -> BTreeMap<String, Array1<f64>> {
    let k = g.ncols();
    let singles: Vec<(String, Array1<f64>)> = instance
        .train_means
        .iter()
        .enumerate()
        .filter(|(_, (p, _))| p.order() == 1)
        .filter_map(|(j, (p, _))| p.genes().next().map(|gene| (gene.to_string(), g.t().dot(&centred.column(j)))))
        .collect();
    let measured: Vec<(usize, &Array1<f64>)> =
        singles.iter().filter_map(|(gene, c)| panel.index_of(gene).map(|i| (i.get(), c))).collect();
    if measured.len() < 2 || measured.len() == singles.len() {
        return BTreeMap::new();
    }
    // M = (Σ G_g c_gᵀ)(Σ c_g c_gᵀ + λI)⁻¹, i.e. (CᵀC + λI) Mᵀ = Cᵀ G_rows.
    let mut ctc = Array2::<f64>::zeros((k, k));
    let mut ctg = Array2::<f64>::zeros((k, k));
    for (i, c) in &measured {
        let c2 = c.view().insert_axis(Axis(1));
        ctc += &c2.dot(&c2.t());
        ctg += &c2.dot(&g.row(*i).insert_axis(Axis(0)));
    }
    let lambda = 1e-3 * (ctc.diag().sum() / k as f64).max(1e-12);
    let Some(mt) = cholesky_solve(&(ctc + Array2::<f64>::eye(k) * lambda), &ctg) else {
        return BTreeMap::new();
    };
    singles
        .into_iter()
        .filter(|(gene, _)| panel.index_of(gene).is_none())
        .map(|(gene, c)| (gene, mt.t().dot(&c)))
        .collect()
}

impl Model for Linear {
    fn name(&self) -> &str {
        "linear"
    }
    fn kind(&self) -> ModelKind {
        ModelKind::Baseline
    }
    fn fingerprint(&self) -> String {
        let map = self.effect_map.as_standard_layout();
        let map = map.as_slice().unwrap_or(&[]);
        let off_panel: Vec<f64> = self.off_panel.values().flat_map(|v| v.iter().copied()).collect();
        let names: String = self.off_panel.keys().map(|g| format!("{g};")).collect();
        super::fingerprint(&format!("linear/v2:{names}"), &[self.offset.as_slice().unwrap_or(&[]), map, &off_panel])
    }
    fn predict(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError> {
        super::shift::apply_shift(batch, |p| Ok((&self.offset + &self.effect_map.dot(&self.embed(p))).to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baselines::PerturbedMean;
    use tasks::{Dataset, Direction, GenePanel, Observation, Scale};

    const N: usize = 16;

    fn spec() -> tasks::LoadedSpec {
        tasks::spec::toy_spec(
            "rule = \"unseen-single\"\ntest_fraction = 0.25\ncontrol_test_fraction = 0.5",
            0,
            &["mse"],
            &["linear"],
        )
    }

    fn name(g: usize) -> String {
        format!("g{g}")
    }

    fn control() -> Vec<f64> {
        (0..N).map(|k| 3.0 + 0.1 * k as f64).collect()
    }

    /// Perturbing gene j changes gene g by s_g + e_gᵀ A e_j: a shared systematic shift s plus a
    /// rank-2 specific effect of 2-D gene embeddings e (centred over `train`, so that the mean
    /// training effect is exactly s).
    fn effects(train: &[usize]) -> Vec<Vec<f64>> {
        let raw: Vec<[f64; 2]> =
            (0..N).map(|g| [(1.3 * g as f64).sin() * 2.0, (0.7 * g as f64 + 0.4).cos() * 1.5]).collect();
        let centre = [0, 1].map(|d| train.iter().map(|&g| raw[g][d]).sum::<f64>() / train.len() as f64);
        let e: Vec<[f64; 2]> = raw.iter().map(|v| [v[0] - centre[0], v[1] - centre[1]]).collect();
        let a = [[1.0, 0.3], [-0.2, 0.8]];
        (0..N)
            .map(|j| {
                (0..N)
                    .map(|g| {
                        let shift = 0.5 - 0.05 * g as f64;
                        let ae = [a[0][0] * e[j][0] + a[0][1] * e[j][1], a[1][0] * e[j][0] + a[1][1] * e[j][1]];
                        shift + e[g][0] * ae[0] + e[g][1] * ae[1]
                    })
                    .collect()
            })
            .collect()
    }

    /// One cell per single (c + effect), four control cells equal to c.
    fn dataset(effects: &[Vec<f64>]) -> Dataset {
        let c = control();
        let mut labels = Vec::new();
        let mut rows: Vec<f32> = Vec::new();
        for (j, eff) in effects.iter().enumerate() {
            labels.push(Perturbation::single(name(j), Direction::Knockdown));
            rows.extend(c.iter().zip(eff).map(|(a, b)| (a + b) as f32));
            if j % 4 == 0 {
                labels.push(Perturbation::control());
                rows.extend(c.iter().map(|&v| v as f32));
            }
        }
        let x = Array2::from_shape_vec((labels.len(), N), rows).unwrap();
        let panel = GenePanel::new((0..N).map(name).collect()).unwrap();
        Dataset::new("toy", "", panel, Scale::LogNormalized, Observation::SingleCell, x, labels).unwrap()
    }

    fn predict_one(model: &dyn Model, ds: &Dataset, p: &Perturbation) -> Vec<f64> {
        let start = Array2::from_shape_vec((1, N), control().iter().map(|&v| v as f32).collect()).unwrap();
        let perturbations = vec![p.clone()];
        let out = model.predict(&QueryBatch::new(&ds.genes, start.view(), &perturbations)).unwrap();
        out.row(0).iter().map(|&v| f64::from(v)).collect()
    }

    fn mse(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / a.len() as f64
    }

    /// The split depends only on the perturbed genes and the seed: build once to learn it, then
    /// plant effects centred over the training genes.
    fn planted() -> (Dataset, Vec<Vec<f64>>, Vec<usize>, Vec<usize>) {
        let probe = dataset(&effects(&(0..N).collect::<Vec<_>>()));
        let split = TaskInstance::build(spec(), &probe).unwrap().split;
        let index = |label: &str| label[1..].parse::<usize>().unwrap();
        let train: Vec<usize> = split.train_genes.iter().map(|g| index(g)).collect();
        let test: Vec<usize> = split.test.iter().map(|t| index(&t.label)).collect();
        let eff = effects(&train);
        (dataset(&eff), eff, train, test)
    }

    #[test]
    fn recovers_a_planted_low_rank_effect_of_an_unseen_gene_better_than_perturbed_mean() {
        let (ds, eff, train, test) = planted();
        let inst = TaskInstance::build(spec(), &ds).unwrap();
        assert_eq!(inst.split.train_genes.len(), train.len());
        assert_eq!(test.len(), 4);
        let linear = Linear::fit(&inst, DEFAULT_RANK, DEFAULT_RIDGE);
        assert_eq!(linear.gene_embedding.ncols(), 2, "the planted effects have rank 2 after centring");
        let pm = PerturbedMean::fit(&inst);
        let c = control();
        let (mut lin_err, mut pm_err) = (0.0, 0.0);
        for &j in &test {
            let p = Perturbation::single(name(j), Direction::Knockdown);
            let truth: Vec<f64> = c.iter().zip(&eff[j]).map(|(a, b)| a + b).collect();
            lin_err += mse(&predict_one(&linear, &ds, &p), &truth);
            pm_err += mse(&predict_one(&pm, &ds, &p), &truth);
        }
        assert!(pm_err > 1e-3, "the held-out genes have specific effects ({pm_err})");
        assert!(lin_err < 0.25 * pm_err, "linear mse {lin_err} vs perturbed-mean mse {pm_err}");
        // A training gene's effect is fitted closely too.
        let j = train[0];
        let truth: Vec<f64> = c.iter().zip(&eff[j]).map(|(a, b)| a + b).collect();
        let p = Perturbation::single(name(j), Direction::Knockdown);
        assert!(mse(&predict_one(&linear, &ds, &p), &truth) < mse(&predict_one(&pm, &ds, &p), &truth));
    }

    #[test]
    fn a_gene_outside_the_panel_predicts_the_perturbed_mean_shift() {
        let (ds, _, _, _) = planted();
        let inst = TaskInstance::build(spec(), &ds).unwrap();
        let linear = Linear::fit(&inst, DEFAULT_RANK, DEFAULT_RIDGE);
        let pm = PerturbedMean::fit(&inst);
        let p = Perturbation::single("NOT_MEASURED", Direction::Knockdown);
        let (a, b) = (predict_one(&linear, &ds, &p), predict_one(&pm, &ds, &p));
        assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() <= 1e-6 * y.abs().max(1.0)), "{a:?} vs {b:?}");
        // ... and that shift is not zero in this fixture, so the check is not vacuous.
        assert!(a.iter().zip(control()).any(|(x, c)| (x - c).abs() > 0.1));
    }

    #[test]
    fn rank_is_capped_by_the_number_of_training_perturbations() {
        let (ds, _, _, _) = planted();
        let inst = TaskInstance::build(spec(), &ds).unwrap();
        assert_eq!(Linear::fit(&inst, 1, DEFAULT_RIDGE).gene_embedding.ncols(), 1);
        let full = Linear::fit(&inst, 100, DEFAULT_RIDGE);
        assert!(full.gene_embedding.ncols() < inst.split.train.len());
        // Gene embeddings are orthonormal columns.
        let gram = full.gene_embedding.t().dot(&full.gene_embedding);
        for ((i, j), v) in gram.indexed_iter() {
            assert!((v - if i == j { 1.0 } else { 0.0 }).abs() < 1e-8, "{gram:?}");
        }
    }
}
