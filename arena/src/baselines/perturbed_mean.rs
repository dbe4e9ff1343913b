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
