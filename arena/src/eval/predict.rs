//! Runs a model on a task's test queries: each item's actions are applied in turn to the same
//! start states (the model's output fed back as the next start state), and the final states are
//! averaged into one profile per item. Reports throughput.

use std::time::Instant;

use ndarray::{Array2, Axis};
use tasks::{Model, QueryBatch, TaskError, TaskInstance};

/// Predicted mean profile per scored item (order of `instance.eval_items()`), and rows
/// predicted per second.
pub struct Predicted {
    pub means: Vec<Vec<f64>>,
    pub rows_per_second: f64,
}

pub fn predict_means(instance: &TaskInstance<'_>, model: &dyn Model) -> Result<Predicted, TaskError> {
    let start = instance.start_states();
    let started = Instant::now();
    let mut rows = 0usize;
    let items = instance.eval_items();
    let mut means = Vec::with_capacity(items.len());
    for item in &items {
        let mut state: Array2<f32> = start.clone();
        for perturbation in &item.actions {
            state = step(instance, model, &state, perturbation)?;
            rows += state.nrows();
        }
        let mean = state.mapv(f64::from).mean_axis(Axis(0)).map(|m| m.to_vec()).unwrap_or_default();
        means.push(mean);
    }
    let seconds = started.elapsed().as_secs_f64().max(1e-9);
    Ok(Predicted { means, rows_per_second: rows as f64 / seconds })
}

/// One model step x' = M(x, a) for every row of `state`, checked for shape and finiteness.
fn step(
    instance: &TaskInstance<'_>,
    model: &dyn Model,
    state: &Array2<f32>,
    perturbation: &tasks::Perturbation,
) -> Result<Array2<f32>, TaskError> {
    let perturbations = vec![perturbation.clone(); state.nrows()];
    let batch = QueryBatch { genes: &instance.dataset.genes, start: state.view(), perturbations: &perturbations };
    let out = model.predict(&batch)?;
    if out.dim() != state.dim() {
        return Err(TaskError::Model {
            model: model.name().to_string(),
            reason: format!("returned a {:?} matrix for a {:?} query", out.dim(), state.dim()),
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
    Ok(out)
}
