//! The target-aware mean baselines (`control-mean+target`, `perturbed-mean+target`,
//! `additive+target`): a mean baseline whose prediction for each perturbed gene itself is the start
//! value plus that gene's own training change τ_g = (its training single's centroid − μ_ctrl)[g],
//! or, for a gene never perturbed in training, the mean τ over the training singles of the same
//! direction (the typical drop of a knocked-down target). Every other gene is the base baseline's.
//! They show what knowing only "a knockdown lowers its own target" earns on the metrics that keep
//! the target gene (`*_with_target`); the headline metrics leave the target out, where they equal
//! their base baseline.

use std::collections::BTreeMap;

use ndarray::Array2;
use tasks::{Direction, Model, ModelKind, QueryBatch, TaskError, TaskInstance};

pub struct TargetAware {
    base: Box<dyn Model>,
    name: String,
    /// τ_g of every gene with a training single in the panel, by (gene, direction).
    own: BTreeMap<(String, Direction), f64>,
    /// Mean τ per direction over the training singles (0 when there are none).
    typical: BTreeMap<Direction, f64>,
}

impl TargetAware {
    pub fn fit(base: Box<dyn Model>, instance: &TaskInstance<'_>) -> Self {
        let panel = instance.dataset.genes.clone();
        let mut own = BTreeMap::new();
        for (p, mean) in instance.train_means.iter().filter(|(p, _)| p.order() == 1) {
            for (gene, direction) in p.targets() {
                if let Some(i) = panel.index_of(gene) {
                    own.insert((gene.to_string(), direction), mean[i.get()] - instance.control_mean[i.get()]);
                }
            }
        }
        let mut typical = BTreeMap::new();
        for direction in [Direction::Knockdown, Direction::Activation] {
            let values: Vec<f64> = own.iter().filter(|((_, d), _)| *d == direction).map(|(_, v)| *v).collect();
            if !values.is_empty() {
                typical.insert(direction, values.iter().sum::<f64>() / values.len() as f64);
            }
        }
        let name = format!("{}+target", base.name());
        Self { base, name, own, typical }
    }

    /// The change applied to a perturbed gene: its own training change, else the typical one.
    pub fn own_change(&self, gene: &str, direction: Direction) -> f64 {
        self.own.get(&(gene.to_string(), direction)).or_else(|| self.typical.get(&direction)).copied().unwrap_or(0.0)
    }
}

impl Model for TargetAware {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> ModelKind {
        ModelKind::Baseline
    }
    fn fingerprint(&self) -> String {
        let own: Vec<f64> = self.own.values().chain(self.typical.values()).copied().collect();
        super::fingerprint(&format!("{}/v1:{}", self.name, self.base.fingerprint()), &[&own])
    }
    fn predict(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError> {
        let mut out = self.base.predict(batch)?;
        for (r, p) in batch.perturbations.iter().enumerate() {
            for (gene, direction) in p.targets() {
                if let Some(i) = batch.genes.index_of(gene) {
                    let j = i.get();
                    out[[r, j]] = (f64::from(batch.start[[r, j]]) + self.own_change(gene, direction)) as f32;
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baselines::ControlMean;
    use tasks::{Dataset, GenePanel, Observation, Perturbation, Scale};

    const GENES: [&str; 6] = ["A", "B", "C", "D", "E", "F"];

    /// Controls at 2.0; the single of gene g lowers g by 0.5·(g + 1) and raises the next gene by 0.1.
    fn dataset() -> Dataset {
        let mut labels = Vec::new();
        let mut rows: Vec<f32> = Vec::new();
        for (g, name) in GENES.iter().enumerate() {
            labels.push(Perturbation::single(*name, Direction::Knockdown));
            rows.extend((0..GENES.len()).map(|k| {
                if k == g {
                    2.0 - 0.5 * (g + 1) as f32 * 0.5
                } else if k == (g + 1) % GENES.len() {
                    2.1
                } else {
                    2.0
                }
            }));
            for _ in 0..2 {
                labels.push(Perturbation::control());
                rows.extend([2.0f32; 6]);
            }
        }
        let x = Array2::from_shape_vec((labels.len(), GENES.len()), rows).unwrap();
        let panel = GenePanel::new(GENES.iter().map(|s| s.to_string()).collect()).unwrap();
        Dataset::new("toy", "", panel, Scale::LogNormalized, Observation::SingleCell, x, labels).unwrap()
    }

    #[test]
    fn the_target_gets_its_own_or_the_typical_training_change_and_nothing_else_moves() {
        let ds = dataset();
        let spec = tasks::spec::toy_spec(
            "rule = \"unseen-single\"\ntest_fraction = 0.3\ncontrol_test_fraction = 0.5",
            0,
            &["mae"],
            &["control-mean+target"],
        );
        let inst = TaskInstance::build(spec, &ds).unwrap();
        let model = TargetAware::fit(Box::new(ControlMean), &inst);
        assert_eq!(model.name(), "control-mean+target");
        let trained: Vec<usize> =
            inst.split.train_genes.iter().map(|g| GENES.iter().position(|x| *x == g.as_str()).unwrap()).collect();
        let tau = |g: usize| -0.25 * (g + 1) as f64;
        let typical = trained.iter().map(|&g| tau(g)).sum::<f64>() / trained.len() as f64;
        let unseen = GENES.iter().position(|g| !inst.split.train_genes.iter().any(|t| t.as_str() == *g)).unwrap();
        let start = Array2::from_shape_vec((1, 6), vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        for (g, expected) in [(trained[0], tau(trained[0])), (unseen, typical)] {
            let p = vec![Perturbation::single(GENES[g], Direction::Knockdown)];
            let out = model.predict(&QueryBatch::new(&ds.genes, start.view(), &p)).unwrap();
            for k in 0..6 {
                let want = f64::from(start[[0, k]]) + if k == g { expected } else { 0.0 };
                assert!(
                    (f64::from(out[[0, k]]) - want).abs() < 1e-5,
                    "gene {g}, column {k}: {} vs {want}",
                    out[[0, k]]
                );
            }
        }
        // A gene outside the panel changes nothing.
        let p = vec![Perturbation::single("ZZZ", Direction::Knockdown)];
        assert_eq!(model.predict(&QueryBatch::new(&ds.genes, start.view(), &p)).unwrap(), start);
    }
}
