//! The cross-modal coherence family: every held-out perturbation is applied to
//! the start cells, whose RNA and protein the model is given; it predicts both modalities. Scored
//! per item: the RNA profile metrics (predicted vs observed mean), `protein_pearson_delta` and
//! `protein_mse` on the protein means (deltas against the training-control protein mean), and
//! `coherence_gap`: the distance of [`Coupling::coherence`] of the predicted cells (do the
//! predicted proteins follow the predicted RNA through the coupling learned from real paired
//! training cells?) from the coherence of the item's real test cells. Two-sided: real cells'
//! measurement noise keeps their coherence well below 1, so a protein computed deterministically
//! from the predicted RNA (coherence 1) is as far off as one unrelated to it (≈ 0). A model
//! without a protein head scores n/a on the protein metrics and the coherence gap. The reference
//! row is real cells: half of each item's cells (seeded) as the prediction of the other half's
//! means, and the gap between the two halves' coherence.

use std::time::Instant;

use metrics::catalog::CROSS_MODAL_METRICS;
use metrics::{Metric, MetricInfo};
use ndarray::{Array2, Axis};
use tasks::dataset::mean_rows;
use tasks::scorecard::{BootstrapSettings, PerturbationScore, ScoreRow};
use tasks::splits::cross_modal::Coupling;
use tasks::{Model, ModelKind, QueryBatch, TaskError, TaskInstance};

use super::ScoredModel;
use crate::predict;

/// Per-item predictions of one row: RNA and protein means, and the coherence gap (the coherence
/// until it is compared with the real cells').
struct ItemPredictions {
    rna: Vec<Vec<f64>>,
    protein: Option<Vec<Vec<f64>>>,
    coherence: Vec<f64>,
}

/// The coherence of each item's real test cells (paired RNA and protein): the target of
/// `coherence_gap`.
fn real_coherence(instance: &TaskInstance<'_>, coupling: &Coupling) -> Result<Vec<f64>, TaskError> {
    let protein = protein_values(instance)?;
    let expression = instance.dataset.expression();
    Ok(instance
        .eval_items()
        .iter()
        .map(|i| coupling.coherence(&expression.select(i.rows), &protein.select(Axis(0), i.rows)))
        .collect())
}

/// The real cells' coherence (the target of `coherence_gap`), for the scorecard notes; `None`
/// without paired proteins.
pub fn reference_note(instance: &TaskInstance<'_>) -> Option<String> {
    let coupling = Coupling::fit(instance).ok()?;
    let real: Vec<f64> = real_coherence(instance, &coupling).ok()?.into_iter().filter(|v| v.is_finite()).collect();
    let (lo, hi) = real.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
    Some(format!(
        "target: the real test cells' coherence, {:.3} on average (items {lo:.3}–{hi:.3}); coherence_gap = |coherence(predicted cells) − coherence(real cells)| per item (0 = as coherent as real cells; a protein derived deterministically from the predicted RNA has coherence 1)",
        real.iter().sum::<f64>() / real.len().max(1) as f64
    ))
}

fn protein_values<'d>(instance: &TaskInstance<'d>) -> Result<&'d Array2<f32>, TaskError> {
    instance.dataset.protein.as_ref().map(|p| &p.values).ok_or_else(|| TaskError::SplitImpossible {
        task: instance.spec.spec.id.clone(),
        dataset: instance.dataset.id.clone(),
        reason: "it has no paired protein measurements".into(),
    })
}

fn column_means(m: &Array2<f32>) -> Vec<f64> {
    mean_rows(m, &(0..m.nrows()).collect::<Vec<_>>()).to_vec()
}

pub fn score_model(
    instance: &TaskInstance<'_>,
    model: &dyn Model,
    bootstrap: &BootstrapSettings,
) -> Result<ScoredModel, TaskError> {
    let coupling = Coupling::fit(instance)?;
    let start = instance.start_states();
    let start_protein = instance.start_protein().ok_or_else(|| TaskError::SplitImpossible {
        task: instance.spec.spec.id.clone(),
        dataset: instance.dataset.id.clone(),
        reason: "the start cells have no protein measurements".into(),
    })?;
    let n_proteins = start_protein.ncols();
    let started = Instant::now();
    let items = instance.eval_items();
    let mut out = ItemPredictions { rna: Vec::new(), protein: Some(Vec::new()), coherence: Vec::new() };
    for item in &items {
        let action = &item.actions[0];
        let perturbations = vec![action.clone(); start.nrows()];
        let batch = QueryBatch {
            genes: &instance.dataset.genes,
            start: start.view(),
            perturbations: &perturbations,
            start_protein: Some(start_protein.view()),
        };
        let rna = predict::step_paired(instance, model, &batch)?;
        let protein = model.predict_protein(&batch)?;
        if let Some(p) =
            protein.as_ref().filter(|p| p.dim() != (start.nrows(), n_proteins) || p.iter().any(|v| !v.is_finite()))
        {
            return Err(TaskError::Model {
                model: model.name().to_string(),
                reason: format!(
                    "predicted proteins must be a finite {}x{n_proteins} matrix for '{action}', got {:?}",
                    start.nrows(),
                    p.dim()
                ),
            });
        }
        out.rna.push(column_means(&rna));
        match (protein, out.protein.as_mut()) {
            (Some(p), Some(means)) => {
                means.push(column_means(&p));
                out.coherence.push(coupling.coherence(&rna, &p));
            }
            _ => {
                out.protein = None;
                out.coherence.push(f64::NAN);
            }
        }
    }
    let rows_per_second = (items.len() * start.nrows()) as f64 / started.elapsed().as_secs_f64().max(1e-9);
    let real = real_coherence(instance, &coupling)?;
    out.coherence = out.coherence.iter().zip(&real).map(|(c, r)| (c - r).abs()).collect();
    let truth_rna = instance.truth_means();
    let protein = protein_values(instance)?;
    let truth_protein: Vec<Vec<f64>> = items.iter().map(|i| mean_rows(protein, i.rows).to_vec()).collect();
    let row = build_row(
        instance,
        (model.name().to_string(), model.kind(), model.fingerprint()),
        &out,
        (&truth_rna, &truth_protein),
        &coupling,
        bootstrap,
    );
    Ok(ScoredModel { row, rows_per_second })
}

/// Real cells: half A of each item's cells (seeded) predicts half B's means; the coherence gap
/// between the two halves.
pub fn ceiling(
    instance: &TaskInstance<'_>,
    bootstrap: &BootstrapSettings,
    seed: u64,
) -> Result<ScoreRow, crate::ceiling::NoCeiling> {
    let coupling = Coupling::fit(instance).map_err(|e| e.to_string())?;
    let protein = protein_values(instance).map_err(|e| e.to_string())?;
    let expression = instance.dataset.expression();
    let items = instance.eval_items();
    let mut out = ItemPredictions { rna: Vec::new(), protein: Some(Vec::new()), coherence: Vec::new() };
    let (mut truth_rna, mut truth_protein) = (Vec::new(), Vec::new());
    for (k, item) in items.iter().enumerate() {
        if item.rows.len() < 4 {
            return Err(format!(
                "no real-cell reference: '{}' has {} cells; at least 4 are needed",
                item.label,
                item.rows.len()
            )
            .into());
        }
        let mut rows = item.rows.to_vec();
        metrics::rng::shuffle(&mut rows, &mut metrics::rng::seeded(seed.wrapping_add(k as u64)));
        let (a, b) = rows.split_at(rows.len() / 2);
        out.rna.push(expression.mean_of_rows(a).to_vec());
        if let Some(p) = out.protein.as_mut() {
            p.push(mean_rows(protein, a).to_vec());
        }
        let half = |rows: &[usize]| coupling.coherence(&expression.select(rows), &protein.select(Axis(0), rows));
        out.coherence.push((half(a) - half(b)).abs());
        truth_rna.push(expression.mean_of_rows(b).to_vec());
        truth_protein.push(mean_rows(protein, b).to_vec());
    }
    let name = ("real-held-out-cells".to_string(), ModelKind::Ceiling, String::new());
    Ok(build_row(instance, name, &out, (&truth_rna, &truth_protein), &coupling, bootstrap))
}

/// The spec's metrics in the spec's order: family metrics from the protein and coherence values,
/// profile metrics on the RNA means.
fn build_row(
    instance: &TaskInstance<'_>,
    (name, kind, model_sha256): (String, ModelKind, String),
    predicted: &ItemPredictions,
    (truth_rna, truth_protein): (&[Vec<f64>], &[Vec<f64>]),
    coupling: &Coupling,
    bootstrap: &BootstrapSettings,
) -> ScoreRow {
    let rna_refs = metrics::ProfileReferences {
        control: instance.control_mean.as_slice().unwrap_or(&[]),
        perturbed_mean: instance.perturbed_mean.as_slice().unwrap_or(&[]),
    };
    let rna = metrics::score_profiles(&predicted.rna, truth_rna, &rna_refs, &instance.perturbed_gene_indices());
    let n = predicted.rna.len();
    let protein = predicted.protein.as_ref().map(|p| {
        let refs = metrics::ProfileReferences {
            control: &coupling.protein_control,
            perturbed_mean: &coupling.protein_control,
        };
        metrics::score_profiles(p, truth_protein, &refs, &[])
    });
    let protein_column = |m: Metric| protein.as_ref().map(|s| s.column(m)).unwrap_or_else(|| vec![f64::NAN; n]);
    let columns: Vec<(&'static MetricInfo, Vec<f64>)> = instance
        .spec
        .spec
        .metrics
        .iter()
        .filter_map(|m| {
            let family = CROSS_MODAL_METRICS.iter().find(|f| f.name == m).map(|&f| {
                let values = match f.name {
                    "coherence_gap" => predicted.coherence.clone(),
                    "protein_pearson_delta" => protein_column(Metric::PearsonDelta),
                    _ => protein_column(Metric::Mse),
                };
                (f, values)
            });
            family.or_else(|| Metric::from_name(m).map(|p| (p.info(), rna.column(p))))
        })
        .collect();
    columns_row(instance, (name, kind, model_sha256), &columns, bootstrap)
}

/// A scorecard row from per-item metric columns (`columns[j].2[i]`: item i's value of metric j,
/// items in `instance.eval_items()` order), each summarised with its bootstrap CI.
pub(super) fn columns_row(
    instance: &TaskInstance<'_>,
    (name, kind, model_sha256): (String, ModelKind, String),
    columns: &[(&'static MetricInfo, Vec<f64>)],
    bootstrap: &BootstrapSettings,
) -> ScoreRow {
    let items = instance.eval_items();
    let subgroups: Vec<tasks::Subgroup> = items.iter().map(|i| i.subgroup).collect();
    let metrics =
        columns.iter().map(|(metric, values)| crate::score::summarize(metric, values, &subgroups, bootstrap)).collect();
    let per_perturbation = items
        .iter()
        .enumerate()
        .map(|(i, item)| PerturbationScore {
            perturbation: item.label.clone(),
            subgroup: item.subgroup,
            n_truth: item.rows.len(),
            values: columns.iter().map(|(_, v)| v.get(i).copied().filter(|x| x.is_finite())).collect(),
        })
        .collect();
    ScoreRow { name, kind, model_sha256, metrics, per_perturbation }
}
