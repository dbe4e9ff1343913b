//! `ridge`: the training effects regressed on the perturbation indicator. Every training
//! condition i (single or combination) is a row x_i over the full perturbation axis: one column
//! per (gene, direction) perturbed anywhere in training, whether or not the gene is in the
//! measured panel (most CRISPR targets are not); a combination sets several columns, so an unseen
//! combination of seen genes is predicted as the sum of their fitted effects. With Y the effects
//! (centroid − μ_ctrl, conditions x genes), X̃ and Ỹ centred on their means x̄ and ȳ:
//!   α = (X̃X̃ᵀ + λI)⁻¹ Ỹ   (the dual solution; W = X̃ᵀα),
//!   prediction: x' = x + ȳ + (X̃ (x(a) − x̄))ᵀ α,
//! so a perturbation of genes never perturbed in training predicts the intercept. A compound has
//! one column too (after the genes'), valued t = log10(1 + dose/1 nM) (`tasks::Dose::transformed`):
//! its effect is fitted as linear in the transformed dose. λ minimises
//! the exact leave-one-condition-out squared error over a grid (closed form: with hat matrix
//! H = 1/n + X̃(X̃ᵀX̃ + λI)⁻¹X̃ᵀ, the held-out residual of row i is e_i / (1 − H_ii)).

use std::collections::BTreeMap;

use ndarray::{Array1, Array2, Axis};
use tasks::{Direction, Model, ModelKind, Perturbation, QueryBatch, TaskError, TaskInstance};

use super::linalg::symmetric_eigen;

/// λ grid: `RIDGE_GRID` multiples of the mean diagonal of X̃X̃ᵀ (half-decades, 1e-3 … 1e3).
const RIDGE_GRID: [f64; 13] = [1e-3, 3.16e-3, 1e-2, 3.16e-2, 1e-1, 3.16e-1, 1.0, 3.16, 1e1, 3.16e1, 1e2, 3.16e2, 1e3];

pub struct Ridge {
    /// Column of each (gene, direction) of the perturbation axis.
    axis: BTreeMap<(String, Direction), usize>,
    /// Column of each compound (after the gene columns).
    compound_axis: BTreeMap<String, usize>,
    /// X̃: the centred training design, conditions x axis.
    design: Array2<f64>,
    /// x̄: the design's column means.
    design_mean: Array1<f64>,
    /// α, conditions x genes.
    alpha: Array2<f64>,
    /// ȳ: the mean training effect.
    offset: Array1<f64>,
    /// The λ leave-one-out chose.
    lambda: f64,
}

impl Ridge {
    pub fn fit(instance: &TaskInstance<'_>) -> Self {
        let conditions: Vec<&Perturbation> = instance.train_means.iter().map(|(p, _)| p).collect();
        let mut y = Array2::<f64>::zeros((conditions.len(), instance.dataset.genes.len()));
        for (i, (_, m)) in instance.train_means.iter().enumerate() {
            y.row_mut(i).assign(&(m - &instance.control_mean));
        }
        Self::fit_effects(&conditions, y)
    }

    /// The same regression on given effects `y` (one row per condition of `conditions`).
    pub fn fit_effects(conditions: &[&Perturbation], y: Array2<f64>) -> Self {
        let n_genes = y.ncols();
        let mut axis = BTreeMap::new();
        for p in conditions {
            for (g, d) in p.targets() {
                let next = axis.len();
                axis.entry((g.to_string(), d)).or_insert(next);
            }
        }
        // Columns in (gene, direction) order, so the fit does not depend on condition order.
        for (k, v) in axis.values_mut().enumerate() {
            *v = k;
        }
        let compound_names: std::collections::BTreeSet<&str> =
            conditions.iter().flat_map(|p| p.compounds().map(|(c, _)| c)).collect();
        let compound_axis: BTreeMap<String, usize> =
            compound_names.into_iter().enumerate().map(|(k, c)| (c.to_string(), axis.len() + k)).collect();
        let width = axis.len() + compound_axis.len();
        let n = conditions.len();
        let mut x = Array2::<f64>::zeros((n, width));
        for (i, p) in conditions.iter().enumerate() {
            for (g, d) in p.targets() {
                x[[i, axis[&(g.to_string(), d)]]] = 1.0;
            }
            for (c, dose) in p.compounds() {
                x[[i, compound_axis[c]]] = dose.transformed();
            }
        }
        let design_mean = x.mean_axis(Axis(0)).unwrap_or_else(|| Array1::zeros(width));
        let offset = y.mean_axis(Axis(0)).unwrap_or_else(|| Array1::zeros(n_genes));
        let design = &x - &design_mean.view().insert_axis(Axis(0));
        drop(x);
        // The effects are only needed centred, and α is written over them.
        let mut centred = y;
        centred -= &offset.view().insert_axis(Axis(0));
        let (lambda, alpha) = fit_dual(&design, centred);
        Self { axis, compound_axis, design, design_mean, alpha, offset, lambda }
    }

    /// The λ leave-one-out chose.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// The predicted effect (change from the start state) of a perturbation.
    pub fn effect(&self, p: &Perturbation) -> Vec<f64> {
        let mut x = -&self.design_mean;
        for (g, d) in p.targets() {
            if let Some(&k) = self.axis.get(&(g.to_string(), d)) {
                x[k] += 1.0;
            }
        }
        for (c, dose) in p.compounds() {
            if let Some(&k) = self.compound_axis.get(c) {
                x[k] += dose.transformed();
            }
        }
        let kernel = self.design.dot(&x);
        (&self.offset + &self.alpha.t().dot(&kernel)).to_vec()
    }
}

/// Genes per column block of the fit. Ridge is separable over genes (one kernel for every gene
/// column), so the projections and fitted values are built a block at a time: the fit's transient
/// matrices are conditions x `GENE_BLOCK`, not conditions x genes.
const GENE_BLOCK: usize = 256;

/// α = (K + λI)⁻¹ Ỹ for the λ of the grid with the smallest leave-one-out squared error, K = X̃X̃ᵀ.
/// α is written over Ỹ (`centred`) block by block, so the fit holds one conditions x genes matrix.
fn fit_dual(design: &Array2<f64>, mut centred: Array2<f64>) -> (f64, Array2<f64>) {
    let n = design.nrows();
    if n < 2 || design.ncols() == 0 {
        centred.fill(0.0);
        return (0.0, centred);
    }
    let kernel = design.dot(&design.t());
    let scale = (kernel.diag().sum() / n as f64).max(1e-12);
    let (values, vectors) = symmetric_eigen(&kernel);
    drop(kernel);
    let values = values.mapv(|v| v.max(0.0));
    let lambda = loo_lambda(&vectors, &values, &centred, scale);
    let inverse = values.mapv(|s| 1.0 / (s + lambda));
    for mut block in centred.axis_chunks_iter_mut(Axis(1), GENE_BLOCK) {
        let projected = vectors.t().dot(&block); // Uᵀ Ỹ
        block.assign(&vectors.dot(&(&projected * &inverse.view().insert_axis(Axis(1)))));
    }
    (lambda, centred)
}

/// The λ of the grid (multiples of `scale`) with the smallest leave-one-condition-out squared
/// error; the first on ties. Each condition's error is summed over the genes in panel order, one
/// running sum per (λ, condition) carried across the gene blocks.
fn loo_lambda(vectors: &Array2<f64>, values: &Array1<f64>, centred: &Array2<f64>, scale: f64) -> f64 {
    let n = vectors.nrows();
    let shrinks: Vec<Array1<f64>> = RIDGE_GRID.iter().map(|f| values.mapv(|s| s / (s + f * scale))).collect();
    let keeps: Vec<Vec<f64>> = shrinks.iter().map(|shrink| held_out_scale(vectors, shrink)).collect();
    let mut row_losses = vec![vec![0.0f64; n]; RIDGE_GRID.len()];
    for block in centred.axis_chunks_iter(Axis(1), GENE_BLOCK) {
        let projected = vectors.t().dot(&block); // Uᵀ Ỹ
        for ((shrink, keep), losses) in shrinks.iter().zip(&keeps).zip(&mut row_losses) {
            let fitted = vectors.dot(&(&projected * &shrink.view().insert_axis(Axis(1))));
            for ((loss, k), (y, f)) in losses.iter_mut().zip(keep).zip(block.outer_iter().zip(fitted.outer_iter())) {
                *loss = y.iter().zip(f).fold(*loss, |acc, (y, f)| acc + ((y - f) / k).powi(2));
            }
        }
    }
    let mut best: Option<(f64, f64)> = None;
    for (factor, losses) in RIDGE_GRID.iter().zip(&row_losses) {
        let lambda = factor * scale;
        let mut loss = 0.0;
        for l in losses {
            loss += l;
        }
        if best.is_none_or(|(_, b)| loss < b) {
            best = Some((lambda, loss));
        }
    }
    best.map_or(scale, |(l, _)| l)
}

/// 1 − H_ii of each condition (floored at 1e-9), H = 1/n + U diag(shrink) Uᵀ: the factor
/// that turns a fitted residual into the held-out one.
fn held_out_scale(vectors: &Array2<f64>, shrink: &Array1<f64>) -> Vec<f64> {
    let n = vectors.nrows();
    (0..n)
        .map(|i| {
            let h = 1.0 / n as f64 + vectors.row(i).iter().zip(shrink).map(|(u, s)| u * u * s).sum::<f64>();
            (1.0 - h).max(1e-9)
        })
        .collect()
}

impl Model for Ridge {
    fn name(&self) -> &str {
        "ridge"
    }
    fn kind(&self) -> ModelKind {
        ModelKind::Baseline
    }
    fn fingerprint(&self) -> String {
        // Borrowed in their (standard) layout, the values in the order `iter` gives, not copied:
        // α is conditions x genes.
        let (alpha, design) = (self.alpha.as_standard_layout(), self.design.as_standard_layout());
        let (alpha, design) = (alpha.as_slice().unwrap_or(&[]), design.as_slice().unwrap_or(&[]));
        let mut names: String = self.axis.keys().map(|(g, d)| format!("{g}:{d:?};")).collect();
        names.extend(self.compound_axis.keys().map(|c| format!("{c}@;")));
        super::fingerprint(
            &format!("ridge/v1:{names}"),
            &[alpha, design, self.offset.as_slice().unwrap_or(&[]), &[self.lambda]],
        )
    }
    fn predict(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError> {
        super::shift::apply_shift(batch, |p| Ok(self.effect(p)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tasks::{Dataset, GenePanel, Observation, Scale};

    /// Three measured genes; the perturbed genes P0..P5 are NOT in the panel. Single Pk shifts the
    /// panel by e_k; doubles are exact sums. Controls sit at 1.0.
    fn effect(k: usize) -> [f64; 3] {
        [0.3 * k as f64 - 0.6, (k % 3) as f64 * 0.4 - 0.2, if k.is_multiple_of(2) { 0.5 } else { -0.5 }]
    }

    fn dataset() -> Dataset {
        let name = |k: usize| format!("P{k}");
        let mut conditions: Vec<Vec<usize>> = (0..6).map(|k| vec![k]).collect();
        conditions.extend([vec![0, 1], vec![2, 3], vec![4, 5], vec![0, 2], vec![1, 3], vec![3, 5], vec![1, 4]]);
        let mut labels = Vec::new();
        let mut rows: Vec<f32> = Vec::new();
        for genes in &conditions {
            let p = Perturbation::from_genes(genes.iter().map(|&k| (name(k), Direction::Activation)));
            let mut e = [0.0; 3];
            for &k in genes {
                e.iter_mut().zip(effect(k)).for_each(|(a, b)| *a += b);
            }
            for _ in 0..2 {
                labels.push(p.clone());
                rows.extend(e.iter().map(|v| (1.0 + v) as f32));
            }
            labels.push(Perturbation::control());
            rows.extend([1.0f32; 3]);
        }
        let x = Array2::from_shape_vec((labels.len(), 3), rows).unwrap();
        let panel = GenePanel::new(vec!["G0".into(), "G1".into(), "G2".into()]).unwrap();
        Dataset::new("toy", "", panel, Scale::LogNormalized, Observation::SingleCell, x, labels).unwrap()
    }

    #[test]
    fn targets_outside_the_panel_get_their_fitted_effects_and_combinations_add() {
        let ds = dataset();
        let spec = tasks::spec::toy_spec(
            "rule = \"combinatorial\"\ntrain_gene_fraction = 0.75\nseen2_train_fraction = 0.75\ncontrol_test_fraction = 0.5",
            0,
            &["mse"],
            &["ridge"],
        );
        let inst = TaskInstance::build(spec, &ds).unwrap();
        let model = Ridge::fit(&inst);
        // Every single of a training gene is recovered closely although no target is measured.
        let mut checked = 0;
        for gene in &inst.split.train_genes {
            let k: usize = gene[1..].parse().unwrap();
            let got = model.effect(&Perturbation::single(gene.clone(), Direction::Activation));
            for (g, want) in got.iter().zip(effect(k)) {
                assert!((g - want).abs() < 0.15, "{gene}: {got:?} vs {:?} (λ {})", effect(k), model.lambda());
            }
            checked += 1;
        }
        assert!(checked >= 3, "{:?}", inst.split.train_genes);
        // A held-out double of two training genes is predicted as the sum of their effects.
        let (a, b) = (&inst.split.train_genes[0], &inst.split.train_genes[1]);
        let double = Perturbation::from_genes([(a.clone(), Direction::Activation), (b.clone(), Direction::Activation)]);
        let sum: Vec<f64> = model
            .effect(&Perturbation::single(a.clone(), Direction::Activation))
            .iter()
            .zip(model.effect(&Perturbation::single(b.clone(), Direction::Activation)))
            .zip(model.effect(&Perturbation::control()))
            .map(|((x, y), c)| x + y - c)
            .collect();
        for (g, s) in model.effect(&double).iter().zip(&sum) {
            assert!((g - s).abs() < 1e-9, "linear in the indicator");
        }
        // Nothing of the fit depends on the start state: x' − x is the effect.
        let start = Array2::from_shape_vec((1, 3), vec![0.5f32, 1.5, 2.5]).unwrap();
        let p = vec![double.clone()];
        let out = model.predict(&QueryBatch::new(&ds.genes, start.view(), &p)).unwrap();
        for (k, e) in model.effect(&double).iter().enumerate() {
            assert!((f64::from(out[[0, k]]) - f64::from(start[[0, k]]) - e).abs() < 1e-5);
        }
        assert!(model.lambda() > 0.0);
    }

    /// The fit as it was written on whole conditions x genes matrices (every λ's fitted matrix
    /// at once): the blocked fit must give the same λ and the same bits of α.
    fn whole_matrix_fit(design: &Array2<f64>, centred: &Array2<f64>) -> (f64, Array2<f64>) {
        let n = design.nrows();
        let kernel = design.dot(&design.t());
        let scale = (kernel.diag().sum() / n as f64).max(1e-12);
        let (values, vectors) = symmetric_eigen(&kernel);
        let projected = vectors.t().dot(centred);
        let values = values.mapv(|v| v.max(0.0));
        let mut best: Option<(f64, f64)> = None;
        for factor in RIDGE_GRID {
            let lambda = factor * scale;
            let shrink = values.mapv(|s| s / (s + lambda));
            let fitted = vectors.dot(&(&projected * &shrink.view().insert_axis(Axis(1))));
            let leverage: Vec<f64> = (0..n)
                .map(|i| 1.0 / n as f64 + vectors.row(i).iter().zip(&shrink).map(|(u, s)| u * u * s).sum::<f64>())
                .collect();
            let mut loss = 0.0;
            for (i, h) in leverage.iter().enumerate() {
                let keep = (1.0 - h).max(1e-9);
                loss += centred.row(i).iter().zip(fitted.row(i)).map(|(y, f)| ((y - f) / keep).powi(2)).sum::<f64>();
            }
            if best.is_none_or(|(_, l)| loss < l) {
                best = Some((lambda, loss));
            }
        }
        let lambda = best.map_or(scale, |(l, _)| l);
        let inverse = values.mapv(|s| 1.0 / (s + lambda));
        (lambda, vectors.dot(&(&projected * &inverse.view().insert_axis(Axis(1)))))
    }

    #[test]
    fn the_blocked_fit_gives_the_bits_of_the_whole_matrix_fit() {
        let mut rng = metrics::rng::seeded(0x71D6);
        let mut next = || metrics::rng::index(&mut rng, 1 << 53) as f64 / (1u64 << 53) as f64 - 0.5;
        // More conditions than the gemm's inner block (256) and genes that are not a whole number
        // of gene blocks; a sparse indicator-like design with overlapping columns.
        for (n, width, genes) in [(300, 120, 2 * GENE_BLOCK + 37), (12, 5, 7), (2, 1, GENE_BLOCK)] {
            let x = Array2::from_shape_fn((n, width), |_| if next() > 0.3 { 1.0 } else { 0.0 });
            let design = &x - &x.mean_axis(Axis(0)).unwrap().insert_axis(Axis(0));
            let y = Array2::from_shape_fn((n, genes), |_| next());
            let centred = &y - &y.mean_axis(Axis(0)).unwrap().insert_axis(Axis(0));
            let (want_lambda, want_alpha) = whole_matrix_fit(&design, &centred);
            let (lambda, alpha) = fit_dual(&design, centred.clone());
            assert_eq!(lambda.to_bits(), want_lambda.to_bits(), "n {n}");
            assert!(alpha.iter().zip(&want_alpha).all(|(a, b)| a.to_bits() == b.to_bits()), "n {n}");
            // Not vacuous: the fit moved the effects.
            assert!(alpha.iter().zip(&centred).any(|(a, c)| (a - c).abs() > 1e-6));
        }
    }

    /// A compound's column holds log10(1 + dose/nM): effects linear in it are recovered, and an
    /// unseen middle dose is interpolated.
    #[test]
    fn compound_effects_are_linear_in_the_transformed_dose() {
        let dose = |nm: f64| tasks::Dose::nanomolar(nm).unwrap();
        let slope = |c: usize| [0.2 * (c as f64 + 1.0), -0.1 * c as f64, 0.05];
        let mut labels = Vec::new();
        let mut rows: Vec<f32> = Vec::new();
        for c in 0..3 {
            for nm in [9.0, 99.0, 999.0, 9999.0] {
                let t = dose(nm).transformed();
                for _ in 0..2 {
                    labels.push(Perturbation::compound(format!("c{c}"), dose(nm)));
                    rows.extend(slope(c).iter().map(|s| (1.0 + s * t) as f32));
                }
            }
            labels.push(Perturbation::control());
            rows.extend([1.0f32; 3]);
            labels.push(Perturbation::control());
            rows.extend([1.0f32; 3]);
        }
        let x = Array2::from_shape_vec((labels.len(), 3), rows).unwrap();
        let panel = GenePanel::new(vec!["G0".into(), "G1".into(), "G2".into()]).unwrap();
        let ds = Dataset::new("d", "", panel, Scale::LogNormalized, Observation::SingleCell, x, labels).unwrap();
        let spec =
            tasks::spec::toy_spec("rule = \"unseen-dose\"\ncontrol_test_fraction = 0.5", 0, &["mse"], &["ridge"]);
        let inst = TaskInstance::build(spec, &ds).unwrap();
        assert_eq!(inst.test_conditions().len(), 3, "99 nM of each compound is held out");
        let model = Ridge::fit(&inst);
        for c in 0..3 {
            // t(99 nM) = 2: the effect is 2 · slope, up to the ridge's shrinkage.
            let got = model.effect(&Perturbation::compound(format!("c{c}"), dose(99.0)));
            for (g, s) in got.iter().zip(slope(c)) {
                assert!((g - 2.0 * s).abs() < 0.05, "c{c}: {got:?} (λ {})", model.lambda());
            }
        }
    }
}
