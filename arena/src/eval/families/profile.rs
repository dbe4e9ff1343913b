//! The profile family: each item's actions are rolled out from the start states, the predicted
//! population mean is compared with the mean of the observed cells (profile metrics with bootstrap
//! CIs); the ceiling is the split-half agreement of the observed cells.

use tasks::scorecard::{BootstrapSettings, ScoreRow};
use tasks::{Model, ModelKind, TaskError, TaskInstance};

use super::ScoredModel;
use crate::eval::score::{RowInput, score_row};
use crate::eval::{ceiling, predict};

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

pub fn ceiling(instance: &TaskInstance<'_>, bootstrap: &BootstrapSettings, seed: u64) -> Result<ScoreRow, String> {
    ceiling_with_means(instance, bootstrap, seed).map(|(row, _)| row)
}

/// [`ceiling`], also returning the half-A means used as predictions, for families that add
/// their own metrics on top of the profile metrics.
pub fn ceiling_with_means(
    instance: &TaskInstance<'_>,
    bootstrap: &BootstrapSettings,
    seed: u64,
) -> Result<(ScoreRow, Vec<Vec<f64>>), String> {
    let (predictions, halves) = ceiling::split_halves(instance, seed)?;
    let row = score_row(
        instance,
        RowInput {
            name: "noise-ceiling".into(),
            kind: ModelKind::Ceiling,
            model_sha256: String::new(),
            predictions: &predictions,
            truths: &halves,
        },
        bootstrap,
    );
    Ok((row, predictions))
}
