//! Runs a model on a task's test queries: every test perturbation applied to the same start
//! states, predictions averaged into one profile per perturbation. Reports throughput.

use std::time::Instant;

use ndarray::Axis;
use tasks::{Model, QueryBatch, TaskError, TaskInstance};

/// Predicted mean profile per test condition (order of `instance.test_conditions()`), and rows
/// predicted per second.
pub struct Predicted {
    pub means: Vec<Vec<f64>>,
    pub rows_per_second: f64,
}

pub fn predict_means(instance: &TaskInstance<'_>, model: &dyn Model) -> Result<Predicted, TaskError> {
    let start = instance.start_states();
    let started = Instant::now();
    let mut rows = 0usize;
    let mut means = Vec::with_capacity(instance.test_conditions().len());
    for test in instance.test_conditions() {
        let perturbation = instance.dataset.condition(test.condition);
        let perturbations = vec![perturbation.clone(); start.nrows()];
        let batch = QueryBatch { genes: &instance.dataset.genes, start: start.view(), perturbations: &perturbations };
        let out = model.predict(&batch)?;
        if out.dim() != start.dim() {
            return Err(TaskError::Model {
                model: model.name().to_string(),
                reason: format!("returned a {:?} matrix for a {:?} query", out.dim(), start.dim()),
            });
        }
        if let Some(((r, c), v)) = out.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(TaskError::Model {
                model: model.name().to_string(),
                reason: format!(
                    "predicted {v} for gene '{}' (row {r}) under perturbation '{}'; predictions must be finite",
                    instance.dataset.genes.names()[c],
                    perturbation
                ),
            });
        }
        rows += out.nrows();
        let mean = out.mapv(f64::from).mean_axis(Axis(0)).map(|m| m.to_vec()).unwrap_or_default();
        means.push(mean);
    }
    let seconds = started.elapsed().as_secs_f64().max(1e-9);
    Ok(Predicted { means, rows_per_second: rows as f64 / seconds })
}
