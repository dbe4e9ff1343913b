//! `perturbed-mean`: x' = x + (μ_pert − μ_ctrl), the average training perturbation whatever was
//! asked. Systema's key baseline: it captures systematic variation and nothing specific.

use ndarray::Array2;
use tasks::{Model, ModelKind, QueryBatch, TaskError, TaskInstance};

pub struct PerturbedMean {
    delta: Vec<f64>,
}

impl PerturbedMean {
    pub fn fit(instance: &TaskInstance<'_>) -> Self {
        Self { delta: (&instance.perturbed_mean - &instance.control_mean).to_vec() }
    }
}

impl Model for PerturbedMean {
    fn name(&self) -> &str {
        "perturbed-mean"
    }
    fn kind(&self) -> ModelKind {
        ModelKind::Baseline
    }
    fn fingerprint(&self) -> String {
        super::fingerprint("perturbed-mean/v1", &[&self.delta])
    }
    fn predict(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError> {
        super::shift::apply_shift(batch, |_| Ok(self.delta.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use tasks::{Dataset, Direction, GenePanel, Observation, Perturbation, Scale};

    const N: usize = 5;

    fn spec() -> tasks::LoadedSpec {
        tasks::spec::toy_spec(
            "rule = \"unseen-single\"\ntest_fraction = 0.3\ncontrol_test_fraction = 0.5",
            0,
            &["mae"],
            &["perturbed-mean"],
        )
    }

    fn name(g: usize) -> String {
        format!("G{g}")
    }

    /// Single g has g + 1 cells, all equal to c + Δ_g; control rows equal c.
    fn dataset() -> (Dataset, Vec<f64>, Vec<Vec<f64>>) {
        let c: Vec<f64> = (0..N).map(|k| 1.0 + k as f64).collect();
        let effects: Vec<Vec<f64>> = (0..N).map(|g| (0..N).map(|k| ((g * 3 + k) % 5) as f64 - 2.0).collect()).collect();
        let mut labels = Vec::new();
        let mut rows: Vec<f32> = Vec::new();
        for (g, effect) in effects.iter().enumerate() {
            for _ in 0..=g {
                labels.push(Perturbation::single(name(g), Direction::Activation));
                rows.extend(c.iter().zip(effect).map(|(a, b)| (a + b) as f32));
            }
            labels.push(Perturbation::control());
            rows.extend(c.iter().map(|&v| v as f32));
        }
        let x = Array2::from_shape_vec((labels.len(), N), rows).unwrap();
        let panel = GenePanel::new((0..N).map(name).collect()).unwrap();
        (Dataset::new("toy", "", panel, Scale::LogNormalized, Observation::SingleCell, x, labels).unwrap(), c, effects)
    }

    #[test]
    fn adds_the_mean_training_effect_whatever_the_perturbation() {
        let (ds, _, effects) = dataset();
        let inst = TaskInstance::build(spec(), &ds).unwrap();
        let trained: Vec<usize> = inst.split.train_genes.iter().map(|g| g[1..].parse().unwrap()).collect();
        // Unweighted over training conditions (cell counts differ).
        let delta: Vec<f64> =
            (0..N).map(|k| trained.iter().map(|&g| effects[g][k]).sum::<f64>() / trained.len() as f64).collect();
        assert!(delta.iter().any(|d| d.abs() > 0.1), "fixture has a non-trivial shift");
        let model = PerturbedMean::fit(&inst);
        let start = array![[0.0f32, 1.0, 2.0, 3.0, 4.0], [10.0, -1.0, 0.5, 0.0, 2.0], [1.0, 1.0, 1.0, 1.0, 1.0]];
        let queries = vec![
            Perturbation::control(),
            Perturbation::single("G0", Direction::Activation),
            Perturbation::single(inst.test_conditions()[0].label.clone(), Direction::Activation),
            Perturbation::from_genes([
                ("G1".to_string(), Direction::Activation),
                ("G4".to_string(), Direction::Activation),
            ]),
            Perturbation::single("NOT_IN_PANEL", Direction::Knockdown),
        ];
        for p in &queries {
            let perturbations = vec![p.clone(); start.nrows()];
            let out = model.predict(&QueryBatch::new(&ds.genes, start.view(), &perturbations)).unwrap();
            for (o, s) in out.rows().into_iter().zip(start.rows()) {
                for ((&o, &s), d) in o.iter().zip(s.iter()).zip(&delta) {
                    assert!((f64::from(o) - (f64::from(s) + d)).abs() < 1e-5, "{p}: {o} vs {}", f64::from(s) + d);
                }
            }
        }
        // Mixed perturbations in one batch: every row gets the same shift.
        let out = model.predict(&QueryBatch::new(&ds.genes, start.view(), &queries[..3])).unwrap();
        assert_eq!(out.dim(), start.dim());
        for (o, s) in out.rows().into_iter().zip(start.rows()) {
            assert!(
                o.iter().zip(s.iter()).zip(&delta).all(|((&o, &s), d)| (f64::from(o) - f64::from(s) - d).abs() < 1e-5)
            );
        }
    }
}
