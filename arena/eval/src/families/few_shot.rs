//! The few-shot / new-context family: for every k in [`SHOTS`] the model is
//! adapted on the k-shot adaptation set of the new context ([`Model::adapt`]; a model that does not
//! adapt answers unadapted) and predicts every held-out perturbation from the new context's start
//! cells. Baselines are refitted at each k on the pooled training view
//! ([`tasks::splits::few_shot::adapted_instance`]). Per item, `pearson_delta_pert_k{k}` and
//! `mse_k{k}` against the new context's references, and `pearson_delta_pert_mean_k`, the mean of
//! the curve. The ceiling is the split-half agreement of the held-out cells (the same at every k).

use std::time::Instant;

use metrics::catalog::FEW_SHOT_METRICS;
use metrics::{Metric, MetricInfo, ProfileReferences, score_profiles};
use tasks::scorecard::{BootstrapSettings, ScoreRow};
use tasks::splits::few_shot::{SHOTS, adaptation_set, adapted_instance, context_references};
use tasks::{Model, ModelKind, TaskError, TaskInstance};

use super::ScoredModel;
use super::cross_modal::columns_row;
use crate::{ceiling as halves, predict};
use arena_models::baselines;

/// `curve[s]`: the predicted means of every item after `SHOTS[s]` shots.
fn score_curve(
    instance: &TaskInstance<'_>,
    curve: &[Vec<Vec<f64>>],
    truths: &[Vec<f64>],
) -> Result<Vec<(&'static MetricInfo, Vec<f64>)>, TaskError> {
    let (control, perturbed) = context_references(instance)?;
    let refs = ProfileReferences {
        control: control.as_slice().unwrap_or(&[]),
        perturbed_mean: perturbed.as_slice().unwrap_or(&[]),
    };
    let perturbed = instance.perturbed_gene_indices();
    let scores: Vec<_> = curve.iter().map(|means| score_profiles(means, truths, &refs, &perturbed)).collect();
    let pdp: Vec<Vec<f64>> = scores.iter().map(|s| s.column(Metric::PearsonDeltaPert)).collect();
    let mse: Vec<Vec<f64>> = scores.iter().map(|s| s.column(Metric::Mse)).collect();
    let n = truths.len();
    let mean_k: Vec<f64> = (0..n).map(|i| pdp.iter().map(|c| c[i]).sum::<f64>() / pdp.len() as f64).collect();
    let by_name = |name: &str| -> Vec<f64> {
        if name == "pearson_delta_pert_mean_k" {
            return mean_k.clone();
        }
        let (column, shots) = match name.strip_prefix("pearson_delta_pert_k") {
            Some(k) => (&pdp, k),
            None => (&mse, name.trim_start_matches("mse_k")),
        };
        let s = SHOTS.iter().position(|k| k.to_string() == shots).unwrap_or(0);
        column[s].clone()
    };
    Ok(instance
        .spec
        .spec
        .metrics
        .iter()
        .filter_map(|m| FEW_SHOT_METRICS.iter().find(|f| f.name == m))
        .map(|&f| (f, by_name(f.name)))
        .collect())
}

pub fn score_model(
    instance: &TaskInstance<'_>,
    model: &dyn Model,
    bootstrap: &BootstrapSettings,
) -> Result<ScoredModel, TaskError> {
    let started = Instant::now();
    let mut rows = 0.0;
    let mut curve = Vec::with_capacity(SHOTS.len());
    let is_baseline =
        model.kind() == ModelKind::Baseline && instance.spec.spec.baselines.iter().any(|b| b == model.name());
    for k in SHOTS {
        let adapted = if is_baseline {
            Some(baselines::fit(model.name(), &adapted_instance(instance, k)?)?)
        } else {
            model.adapt(&adaptation_set(instance, k)?)?
        };
        let predicted = predict::predict_means(instance, adapted.as_deref().unwrap_or(model))?;
        rows += (predicted.means.len() * instance.start_rows.len()) as f64;
        curve.push(predicted.means);
    }
    let columns = score_curve(instance, &curve, &instance.truth_means())?;
    let row = columns_row(instance, (model.name().to_string(), model.kind(), model.fingerprint()), &columns, bootstrap);
    Ok(ScoredModel { row, rows_per_second: rows / started.elapsed().as_secs_f64().max(1e-9) })
}

pub fn ceiling(
    instance: &TaskInstance<'_>,
    bootstrap: &BootstrapSettings,
    seed: u64,
) -> Result<ScoreRow, crate::ceiling::NoCeiling> {
    let (predictions, truths) = halves::split_halves(instance, seed)?;
    let curve = vec![predictions; SHOTS.len()];
    let columns = score_curve(instance, &curve, &truths).map_err(|e| e.to_string())?;
    Ok(columns_row(instance, ("noise-ceiling".into(), ModelKind::Ceiling, String::new()), &columns, bootstrap))
}
