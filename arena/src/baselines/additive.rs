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
