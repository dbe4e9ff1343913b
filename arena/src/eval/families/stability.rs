//! The stability family (multi-step 3c): every item's action (a held-out single, or the no-op) is
//! applied [`ROLLOUT_LENGTH`] times to the start cells, each prediction fed back; after each
//! t in [`STABILITY_STEPS`] the predicted CELLS (not their mean) are compared with the real state
//! manifold: `stability_t{t}` = median over the predicted cells of their kNN distance to the real
//! reference cells divided by the real-vs-real scale (see [`metrics::manifold`]). Reference and
//! held-out real cells come from [`tasks::splits::stability::manifold_rows`] (start cells are in
//! neither). The ceiling row scores the real held-out cells of each item as the "prediction" at
//! every t (≈ 1 by construction).

use std::time::Instant;

use metrics::manifold::{STABILITY_METRICS, STABILITY_STEPS, manifold_ratio, real_scale};
use ndarray::Array2;
use tasks::scorecard::{BootstrapSettings, PerturbationScore, ScoreRow};
use tasks::splits::stability::{ROLLOUT_LENGTH, manifold_rows};
use tasks::{Model, ModelKind, SplitRule, TaskError, TaskInstance};

use super::ScoredModel;
use crate::eval::predict;

/// The real cells every row is measured against.
pub struct Manifold {
    pub reference: Array2<f32>,
    /// Real held-out cells of each item (order of `instance.eval_items()`).
    pub held_out: Vec<Array2<f32>>,
    pub neighbours: usize,
    /// Median kNN distance of all held-out real cells to the reference.
    pub scale: f64,
}

impl Manifold {
    pub fn new(instance: &TaskInstance<'_>) -> Self {
        let (neighbours, max_reference) = match instance.spec.spec.split {
            SplitRule::Stability { neighbours, max_reference_cells, .. } => (neighbours, max_reference_cells),
            _ => (5, 2000),
        };
        let items = instance.eval_items();
        let item_rows: Vec<&[usize]> = items.iter().map(|i| i.rows).collect();
        let rows = manifold_rows(
            instance.dataset.n_rows(),
            &item_rows,
            &instance.start_rows,
            max_reference,
            instance.spec.spec.seed,
        );
        let reference = instance.dataset.select_rows(&rows.reference);
        let held_out: Vec<Array2<f32>> = rows.held_out.iter().map(|r| instance.dataset.select_rows(r)).collect();
        let all_held = instance.dataset.select_rows(&rows.held_out.concat());
        let scale = real_scale(all_held.view(), reference.view(), neighbours);
        Self { reference, held_out, neighbours, scale }
    }

    pub fn ratio(&self, cells: &Array2<f32>) -> f64 {
        manifold_ratio(cells.view(), self.reference.view(), self.neighbours, self.scale)
    }
}

pub fn score_model(
    instance: &TaskInstance<'_>,
    model: &dyn Model,
    bootstrap: &BootstrapSettings,
) -> Result<ScoredModel, TaskError> {
    let manifold = Manifold::new(instance);
    let items = instance.eval_items();
    let start = instance.start_states();
    let started = Instant::now();
    let mut predicted_rows = 0usize;
    let mut values = Vec::with_capacity(items.len());
    for item in &items {
        let mut state = start.clone();
        let mut curve = Vec::with_capacity(STABILITY_STEPS.len());
        for (t, action) in item.actions.iter().enumerate().take(ROLLOUT_LENGTH) {
            state = predict::step(instance, model, &state, action)?;
            predicted_rows += state.nrows();
            if STABILITY_STEPS.contains(&(t + 1)) {
                curve.push(manifold.ratio(&state));
            }
        }
        values.push(curve);
    }
    let rows_per_second = predicted_rows as f64 / started.elapsed().as_secs_f64().max(1e-9);
    let row = build_row(instance, model.name().to_string(), model.kind(), model.fingerprint(), &values, bootstrap);
    Ok(ScoredModel { row, rows_per_second })
}

/// The real held-out cells of each item as the prediction at every step: ≈ 1 everywhere.
pub fn ceiling(instance: &TaskInstance<'_>, bootstrap: &BootstrapSettings, _seed: u64) -> Result<ScoreRow, String> {
    let manifold = Manifold::new(instance);
    let values: Vec<Vec<f64>> =
        manifold.held_out.iter().map(|cells| vec![manifold.ratio(cells); STABILITY_STEPS.len()]).collect();
    Ok(build_row(instance, "real-held-out-cells".into(), ModelKind::Ceiling, String::new(), &values, bootstrap))
}

/// A row from `values[item][k]`, the ratio of item after `STABILITY_STEPS[k]` steps, with the
/// spec's metrics in the spec's order.
fn build_row(
    instance: &TaskInstance<'_>,
    name: String,
    kind: ModelKind,
    model_sha256: String,
    values: &[Vec<f64>],
    bootstrap: &BootstrapSettings,
) -> ScoreRow {
    let items = instance.eval_items();
    let wanted: Vec<(usize, &str, bool)> = instance
        .spec
        .spec
        .metrics
        .iter()
        .filter_map(|m| {
            STABILITY_METRICS
                .iter()
                .position(|(n, _)| n == m)
                .map(|k| (k, STABILITY_METRICS[k].0, STABILITY_METRICS[k].1))
        })
        .collect();
    let subgroups: Vec<tasks::Subgroup> = items.iter().map(|i| i.subgroup).collect();
    let metrics = wanted
        .iter()
        .map(|&(k, metric, higher_is_better)| {
            let column: Vec<f64> = values.iter().map(|curve| curve.get(k).copied().unwrap_or(f64::NAN)).collect();
            crate::eval::score::summarize(metric, higher_is_better, &column, &subgroups, bootstrap)
        })
        .collect();
    let per_perturbation = items
        .iter()
        .zip(values)
        .map(|(item, curve)| PerturbationScore {
            perturbation: item.label.clone(),
            subgroup: item.subgroup,
            n_truth: item.rows.len(),
            values: wanted.iter().map(|&(k, _, _)| curve.get(k).copied().filter(|v| v.is_finite())).collect(),
        })
        .collect();
    ScoreRow { name, kind, model_sha256, metrics, per_perturbation }
}
