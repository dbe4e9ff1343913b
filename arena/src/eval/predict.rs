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

/// Rows per model call: items are stacked until a call holds about this many rows, so a model
/// sees large batches (ONNX throughput) while memory stays bounded on wide gene panels.
const ROWS_PER_CALL: usize = 8192;

pub fn predict_means(instance: &TaskInstance<'_>, model: &dyn Model) -> Result<Predicted, TaskError> {
    let start = instance.start_states();
    let per_item = start.nrows();
    let started = Instant::now();
    let mut rows = 0usize;
    let items = instance.eval_items();
    let mut means = Vec::with_capacity(items.len());
    for chunk in items.chunks((ROWS_PER_CALL / per_item.max(1)).max(1)) {
        // One block of `per_item` rows per item, all starting from the start states.
        let views: Vec<_> = chunk.iter().map(|_| start.view()).collect();
        let mut state = ndarray::concatenate(Axis(0), &views).map_err(|e| TaskError::Model {
            model: model.name().to_string(),
            reason: format!("cannot stack start states: {e}"),
        })?;
        let longest = chunk.iter().map(|item| item.actions.len()).max().unwrap_or(0);
        for s in 0..longest {
            // Items still acting at step s advance together; finished items keep their state.
            let active: Vec<usize> = (0..chunk.len()).filter(|&k| chunk[k].actions.len() > s).collect();
            let active_rows: Vec<usize> = active.iter().flat_map(|&k| k * per_item..(k + 1) * per_item).collect();
            let perturbations: Vec<tasks::Perturbation> =
                active.iter().flat_map(|&k| std::iter::repeat_n(chunk[k].actions[s].clone(), per_item)).collect();
            if active.len() == chunk.len() {
                state = step_batch(instance, model, &state, &perturbations)?;
                rows += state.nrows();
            } else {
                let out = step_batch(instance, model, &state.select(Axis(0), &active_rows), &perturbations)?;
                rows += out.nrows();
                for (local, &row) in active_rows.iter().enumerate() {
                    state.row_mut(row).assign(&out.row(local));
                }
            }
        }
        for k in 0..chunk.len() {
            let block = state.slice(ndarray::s![k * per_item..(k + 1) * per_item, ..]);
            let mut sum = vec![0.0f64; block.ncols()];
            for row in block.rows() {
                sum.iter_mut().zip(row).for_each(|(s, &v)| *s += f64::from(v));
            }
            means.push(sum.into_iter().map(|v| v / per_item.max(1) as f64).collect());
        }
    }
    let seconds = started.elapsed().as_secs_f64().max(1e-9);
    Ok(Predicted { means, rows_per_second: rows as f64 / seconds })
}

/// One model step x' = M(x, a) for every row of `state`, checked for shape and finiteness.
pub(crate) fn step(
    instance: &TaskInstance<'_>,
    model: &dyn Model,
    state: &Array2<f32>,
    perturbation: &tasks::Perturbation,
) -> Result<Array2<f32>, TaskError> {
    step_batch(instance, model, state, &vec![perturbation.clone(); state.nrows()])
}

/// One model step with a perturbation per row, checked for shape and finiteness; a non-finite
/// value is reported with the gene and the perturbation it came from.
pub(crate) fn step_batch(
    instance: &TaskInstance<'_>,
    model: &dyn Model,
    state: &Array2<f32>,
    perturbations: &[tasks::Perturbation],
) -> Result<Array2<f32>, TaskError> {
    let batch = QueryBatch { genes: &instance.dataset.genes, start: state.view(), perturbations };
    let out = model.predict(&batch)?;
    if out.dim() != state.dim() {
        return Err(TaskError::Model {
            model: model.name().to_string(),
            reason: format!("returned a {:?} matrix for a {:?} query", out.dim(), state.dim()),
        });
    }
    // Fast scan first; locate the offending value only when there is one.
    if out.iter().all(|v| v.is_finite()) {
        return Ok(out);
    }
    if let Some(((r, c), v)) = out.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(TaskError::Model {
            model: model.name().to_string(),
            reason: format!(
                "predicted {v} for gene '{}' (row {r}) under perturbation '{}'; predictions must be finite",
                instance.dataset.genes.names()[c],
                perturbations[r]
            ),
        });
    }
    Ok(out)
}
