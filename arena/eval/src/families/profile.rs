//! The profile family: each item's actions are rolled out from the start states, the predicted
//! population mean is compared with the mean of the observed cells (profile metrics with bootstrap
//! CIs); the ceiling is the estimated score of each item's population mean ([`crate::ceiling`]).

use tasks::scorecard::{BootstrapSettings, PerturbationScore, ScoreRow};
use tasks::{Model, ModelKind, TaskError, TaskInstance};

use super::ScoredModel;
use crate::score::{RowInput, score_row, summarize_with};
use crate::{ceiling, predict};

pub fn score_model(
    instance: &TaskInstance<'_>,
    model: &dyn Model,
    bootstrap: &BootstrapSettings,
) -> Result<ScoredModel, TaskError> {
    score_with_means(instance, model, bootstrap).map(|(scored, _)| scored)
}

/// [`score_model`], also returning the predicted mean of every item, for families that add
/// their own metrics on top of the profile metrics.
pub fn score_with_means(
    instance: &TaskInstance<'_>,
    model: &dyn Model,
    bootstrap: &BootstrapSettings,
) -> Result<(ScoredModel, Vec<Vec<f64>>), TaskError> {
    let predicted = predict::predict_means(instance, model)?;
    let truths = instance.truth_means();
    let row = score_row(
        instance,
        RowInput {
            name: model.name().to_string(),
            kind: model.kind(),
            model_sha256: model.fingerprint(),
            predictions: &predicted.means,
            truths: &truths,
        },
        bootstrap,
    );
    Ok((ScoredModel { row, rows_per_second: predicted.rows_per_second }, predicted.means))
}

pub fn ceiling(
    instance: &TaskInstance<'_>,
    bootstrap: &BootstrapSettings,
    seed: u64,
) -> Result<ScoreRow, crate::ceiling::NoCeiling> {
    ceiling_with_means(instance, bootstrap, seed).map(|(row, _)| row)
}

/// The ceiling row: every profile metric with an estimator (in the spec's order; a metric
/// without one is left out of the row, and [`ceiling_notes`] says why), with CIs over the
/// items' estimates. Also returns the half-A means (split halves at half depth), for families
/// that add their own metrics on top of the profile metrics.
pub fn ceiling_with_means(
    instance: &TaskInstance<'_>,
    bootstrap: &BootstrapSettings,
    seed: u64,
) -> Result<(ScoreRow, Vec<Vec<f64>>), crate::ceiling::NoCeiling> {
    let wanted = instance.spec.spec.metric_list();
    let estimates = ceiling::profile_ceiling(instance, &wanted, seed)?;
    let (predictions, _) = ceiling::split_halves(instance, seed)?;
    let items = instance.eval_items();
    let subgroups: Vec<tasks::Subgroup> = items.iter().map(|i| i.subgroup).collect();
    let kept: Vec<(metrics::Metric, &ceiling::CeilingColumn)> = estimates
        .iter()
        .filter_map(|(m, v)| v.as_ref().ok().map(|v| (*m, v)))
        .filter(|(_, c)| c.values.iter().any(|v| v.is_finite()))
        .collect();
    let metrics = kept
        .iter()
        .map(|(m, column)| {
            let draws = column.draw_sd.as_ref().map(|sd| draw_replicates(&column.values, sd, bootstrap));
            let draws = draws.as_deref().map(crate::score::Replicates::Draws);
            summarize_with(m.info(), &column.values, &subgroups, bootstrap, draws)
        })
        .collect();
    let per_perturbation = items
        .iter()
        .enumerate()
        .map(|(i, item)| PerturbationScore {
            perturbation: item.label.clone(),
            subgroup: item.subgroup,
            n_truth: item.rows.len(),
            values: kept.iter().map(|(_, column)| Some(column.values[i]).filter(|v| v.is_finite())).collect(),
        })
        .collect();
    let row = ScoreRow {
        name: "noise-ceiling".into(),
        kind: ModelKind::Ceiling,
        model_sha256: String::new(),
        metrics,
        per_perturbation,
    };
    Ok((row, predictions))
}

/// Replicate values of a ceiling column whose score also varies from one draw of the test cells
/// to the next: value_i + sd_i · z (z standard normal, seeded by the bootstrap seed), one column
/// per distinct control redraw slot ([`crate::score::CONTROL_REDRAWS`]).
fn draw_replicates(values: &[f64], sd: &[f64], bootstrap: &BootstrapSettings) -> Vec<Vec<f64>> {
    use rand_distr::{Distribution, StandardNormal};
    let mut rng = metrics::rng::seeded(bootstrap.seed ^ 0xD2A3);
    (0..crate::score::CONTROL_REDRAWS.min(bootstrap.resamples))
        .map(|_| {
            values
                .iter()
                .zip(sd)
                .map(|(v, s)| {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    v + s * z
                })
                .collect()
        })
        .collect()
}

/// Why each of the task's profile metrics has no ceiling (empty when all have one).
pub fn ceiling_notes(instance: &TaskInstance<'_>) -> Vec<String> {
    instance.spec.spec.metric_list().into_iter().filter_map(ceiling::no_ceiling_reason).map(String::from).collect()
}
