//! The order-consistency family (multi-step 3b): the items `a>b` and `b>a` of every held-out
//! double are rolled out and scored with the profile metrics against the observed a+b (as the
//! profile family does), and each double gets `order_inconsistency` (see
//! [`metrics::order::order_inconsistency`]) between its two predicted end points, relative to the
//! mean start state. The per-double value is written on both of its items; its summary (mean and
//! bootstrap CI) is over doubles, each counted once.

use metrics::order::{ORDER_METRICS, order_inconsistency};
use ndarray::Axis;
use tasks::scorecard::{BootstrapSettings, ScoreRow};
use tasks::splits::order_consistency::order_pairs;
use tasks::{Model, TaskError, TaskInstance};

use super::ScoredModel;

pub fn score_model(
    instance: &TaskInstance<'_>,
    model: &dyn Model,
    bootstrap: &BootstrapSettings,
) -> Result<ScoredModel, TaskError> {
    let (mut scored, means) = super::profile::score_with_means(instance, model, bootstrap)?;
    add_order_metric(instance, &mut scored.row, &means, bootstrap);
    Ok(scored)
}

/// The split-half ceiling of the profile metrics (single-cell data only); its order
/// inconsistency compares the half-means drawn for the two orders (sampling noise only).
pub fn ceiling(
    instance: &TaskInstance<'_>,
    bootstrap: &BootstrapSettings,
    seed: u64,
) -> Result<ScoreRow, crate::ceiling::NoCeiling> {
    let (mut row, predictions) = super::profile::ceiling_with_means(instance, bootstrap, seed)?;
    add_order_metric(instance, &mut row, &predictions, bootstrap);
    Ok(row)
}

/// Order inconsistency of every held-out double, in the order of [`order_pairs`].
pub fn per_double(instance: &TaskInstance<'_>, means: &[Vec<f64>]) -> Vec<(String, f64)> {
    let start = instance.start_states().mapv(f64::from).mean_axis(Axis(0)).map(|m| m.to_vec()).unwrap_or_default();
    order_pairs(&instance.eval_items())
        .into_iter()
        .map(|(ab, ba, label)| (label, order_inconsistency(&start, &means[ab], &means[ba])))
        .collect()
}

/// Appends the order metric (if the spec lists it) to `row`, in the spec's metric order.
fn add_order_metric(
    instance: &TaskInstance<'_>,
    row: &mut ScoreRow,
    means: &[Vec<f64>],
    bootstrap: &BootstrapSettings,
) {
    let metric = ORDER_METRICS[0];
    if !instance.spec.spec.metrics.iter().any(|m| m == metric.name) {
        return;
    }
    let items = instance.eval_items();
    let pairs = order_pairs(&items);
    let values = per_double(instance, means);
    let subgroups: Vec<tasks::Subgroup> = pairs.iter().map(|(ab, _, _)| items[*ab].subgroup).collect();
    let column: Vec<f64> = values.iter().map(|(_, v)| *v).collect();
    row.metrics.push(crate::score::summarize(metric, &column, &subgroups, bootstrap));
    let mut per_item = vec![None; items.len()];
    for ((ab, ba, _), (_, v)) in pairs.iter().zip(&values) {
        per_item[*ab] = Some(*v).filter(|v| v.is_finite());
        per_item[*ba] = per_item[*ab];
    }
    for (pp, v) in row.per_perturbation.iter_mut().zip(per_item) {
        pp.values.push(v);
    }
    // Keep the spec's metric order (the profile metrics come first from `score_row`).
    let position = |m: &str| instance.spec.spec.metrics.iter().position(|x| x == m).unwrap_or(usize::MAX);
    let mut order: Vec<usize> = (0..row.metrics.len()).collect();
    order.sort_by_key(|&k| position(&row.metrics[k].metric));
    row.metrics = order.iter().map(|&k| row.metrics[k].clone()).collect();
    for pp in &mut row.per_perturbation {
        pp.values = order.iter().map(|&k| pp.values[k]).collect();
    }
}
