//! `additive`: x' = x + Σ_g Δ_g over the perturbation's genes, Δ_g = (training single of g) − μ_ctrl;
//! a gene without a training single contributes the mean perturbation effect μ_pert − μ_ctrl.
//! For combinations this is the classic "no interaction" expectation (GEARS, Norman 2019).

use std::collections::BTreeMap;

use ndarray::Array2;
use tasks::{Model, ModelKind, QueryBatch, TaskError, TaskInstance};

pub struct Additive {
    single_deltas: BTreeMap<String, Vec<f64>>,
    fallback: Vec<f64>,
}

impl Additive {
    pub fn fit(instance: &TaskInstance<'_>) -> Self {
        let single_deltas = instance
            .train_means
            .iter()
            .filter(|(p, _)| p.order() == 1)
            .filter_map(|(p, m)| p.genes().next().map(|g| (g.to_string(), (m - &instance.control_mean).to_vec())))
            .collect();
        Self { single_deltas, fallback: (&instance.perturbed_mean - &instance.control_mean).to_vec() }
    }

    fn delta(&self, p: &tasks::Perturbation) -> Vec<f64> {
        let mut total = vec![0.0; self.fallback.len()];
        for gene in p.genes() {
            let d = self.single_deltas.get(gene).unwrap_or(&self.fallback);
            total.iter_mut().zip(d).for_each(|(t, x)| *t += x);
        }
        total
    }
}

impl Model for Additive {
    fn name(&self) -> &str {
        "additive"
    }
    fn kind(&self) -> ModelKind {
        ModelKind::Baseline
    }
    fn fingerprint(&self) -> String {
        let mut params: Vec<&[f64]> = vec![&self.fallback];
        params.extend(self.single_deltas.values().map(Vec::as_slice));
        super::fingerprint("additive/v1", &params)
    }
    fn predict(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError> {
        super::shift::apply_shift(batch, |p| Ok(self.delta(p)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, array};
    use tasks::{Dataset, Direction, GenePanel, Observation, Perturbation, Scale};

    const GENES: [&str; 6] = ["A", "B", "C", "D", "E", "F"];

    fn spec() -> tasks::LoadedSpec {
        tasks::spec::toy_spec(
            "rule = \"unseen-single\"\ntest_fraction = 0.3\ncontrol_test_fraction = 0.5",
            0,
            &["mae"],
            &["additive"],
        )
    }

    fn control() -> Vec<f64> {
        (0..GENES.len()).map(|k| 2.0 + 0.25 * k as f64).collect()
    }

    /// Known single effect of gene index g (multiples of 0.5, exact in f32).
    fn effect(g: usize) -> Vec<f64> {
        (0..GENES.len()).map(|k| ((g + 1) * (k + 2) % 7) as f64 * 0.5 - 1.5).collect()
    }

    /// Control rows all equal to c; each single has two cells c + Δ ± 0.25.
    fn dataset() -> Dataset {
        let c = control();
        let mut labels = Vec::new();
        let mut rows: Vec<f32> = Vec::new();
        for (g, name) in GENES.iter().enumerate() {
            for sign in [-1.0, 1.0] {
                labels.push(Perturbation::single(*name, Direction::Knockdown));
                rows.extend(c.iter().zip(effect(g)).map(|(c, d)| (c + d + sign * 0.25) as f32));
            }
            labels.push(Perturbation::control());
            rows.extend(c.iter().map(|&v| v as f32));
        }
        let x = Array2::from_shape_vec((labels.len(), GENES.len()), rows).unwrap();
        let panel = GenePanel::new(GENES.iter().map(|s| s.to_string()).collect()).unwrap();
        Dataset::new("toy", "", panel, Scale::LogNormalized, Observation::SingleCell, x, labels).unwrap()
    }

    fn gene_index(name: &str) -> usize {
        GENES.iter().position(|g| *g == name).unwrap()
    }

    fn pert(genes: &[&str]) -> Perturbation {
        Perturbation::from_genes(genes.iter().map(|g| (g.to_string(), Direction::Knockdown)))
    }

    fn predict(model: &dyn Model, ds: &Dataset, start: &Array2<f32>, p: &Perturbation) -> Array2<f32> {
        let perturbations = vec![p.clone(); start.nrows()];
        let batch = QueryBatch::new(&ds.genes, start.view(), &perturbations);
        model.predict(&batch).unwrap()
    }

    fn assert_shift(out: &Array2<f32>, start: &Array2<f32>, delta: &[f64], what: &str) {
        assert_eq!(out.dim(), start.dim());
        for (o, s) in out.rows().into_iter().zip(start.rows()) {
            for ((&o, &s), &d) in o.iter().zip(s.iter()).zip(delta) {
                let expected = f64::from(s) + d;
                assert!((f64::from(o) - expected).abs() <= 1e-5 * expected.abs().max(1.0), "{what}: {o} vs {expected}");
            }
        }
    }

    #[test]
    fn a_double_of_two_trained_singles_adds_their_effects() {
        let ds = dataset();
        let inst = TaskInstance::build(spec(), &ds).unwrap();
        assert!(inst.control_mean.iter().zip(control()).all(|(a, b)| (a - b).abs() < 1e-12));
        let trained = &inst.split.train_genes;
        assert!(trained.len() >= 2);
        let (a, b) = (trained[0].as_str(), trained[1].as_str());
        let model = Additive::fit(&inst);
        let c = Array1::from(control()).mapv(|v| v as f32);
        let start = ndarray::stack![ndarray::Axis(0), c.view(), c.mapv(|v| v + 1.0).view()];
        let expected: Vec<f64> = effect(gene_index(a)).iter().zip(effect(gene_index(b))).map(|(x, y)| x + y).collect();
        assert_shift(&predict(&model, &ds, &start, &pert(&[a, b])), &start, &expected, "A+B");
        // A trained single alone is its own effect; the control is no change.
        assert_shift(&predict(&model, &ds, &start, &pert(&[a])), &start, &effect(gene_index(a)), "A");
        assert_shift(&predict(&model, &ds, &start, &Perturbation::control()), &start, &[0.0; 6], "ctrl");
    }

    #[test]
    fn a_gene_without_training_single_contributes_the_mean_effect() {
        let ds = dataset();
        let inst = TaskInstance::build(spec(), &ds).unwrap();
        let trained = &inst.split.train_genes;
        let unseen = inst.test_conditions()[0].label.clone();
        assert!(!trained.contains(&unseen));
        // μ_pert − c = mean of the training singles' effects (all singles here).
        let fallback: Vec<f64> = (0..GENES.len())
            .map(|k| trained.iter().map(|g| effect(gene_index(g))[k]).sum::<f64>() / trained.len() as f64)
            .collect();
        let model = Additive::fit(&inst);
        let start = array![[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]];
        assert_shift(&predict(&model, &ds, &start, &pert(&[&unseen])), &start, &fallback, "unseen single");
        let a = trained[0].as_str();
        let expected: Vec<f64> = effect(gene_index(a)).iter().zip(&fallback).map(|(x, y)| x + y).collect();
        assert_shift(&predict(&model, &ds, &start, &pert(&[a, &unseen])), &start, &expected, "A+unseen");
        // A gene outside the panel also falls back.
        let both_unknown: Vec<f64> = fallback.iter().map(|f| 2.0 * f).collect();
        assert_shift(&predict(&model, &ds, &start, &pert(&["ZZZ", &unseen])), &start, &both_unknown, "ZZZ+unseen");
    }

    #[test]
    fn fingerprint_depends_on_the_fit() {
        let ds = dataset();
        let inst = TaskInstance::build(spec(), &ds).unwrap();
        let a = Additive::fit(&inst);
        assert_eq!(a.fingerprint(), Additive::fit(&inst).fingerprint());
        assert_eq!(a.fingerprint().len(), 64);
        assert_eq!((a.name(), a.kind()), ("additive", ModelKind::Baseline));
    }
}
