//! The inverse-design family: "which perturbation takes the start state to this target state?"
//!
//! The screen library is the held-out conditions (every target, and nothing from training), in
//! label order: knowing the public split then tells nothing about which candidate is the answer,
//! so the training-exclusion probe (every training candidate last, the rest in random order)
//! lands exactly at chance ([`training_exclusion`]). The runner asks the model for each candidate ONCE, from the task's start
//! states (test control cells; the zero profile on log-fold-change data), and caches the mean of
//! the predicted states. For each held-out target, whose truth is the mean of its real cells,
//! candidates are ranked by the Euclidean distance of their predicted mean to the target
//! (closest first; ranking deltas against μ_ctrl gives the same order), and the true
//! perturbation's rank is scored with `metrics::inverse` (normalised rank, hit@1/5/10,
//! enrichment@10 over random screening; ties count against the model). Distances leave out every
//! gene a candidate perturbs ([`without_perturbed_genes`]): its own change would name the
//! perturbation trivially. Each metric's mean over targets comes with a percentile bootstrap CI,
//! overall and per subgroup.
//!
//! Ceiling: for every candidate its real cells are halved (seeded); half A's mean is the
//! candidate's "prediction" and half B's mean the target. Candidates with one cell use that cell;
//! a target needs two. Pseudobulk data have no ceiling.

use std::time::Instant;

use metrics::MetricInfo;
use metrics::inverse::{ScreenScore, score_screen};
use ndarray::{Array2, Axis};
use tasks::scorecard::{BootstrapSettings, PerturbationScore, ScoreRow};
use tasks::{ConditionId, Model, ModelKind, Observation, Perturbation, QueryBatch, TaskError, TaskInstance};

use super::ScoredModel;

/// The screen library: the held-out conditions, sorted by label.
pub fn candidates(instance: &TaskInstance<'_>) -> Vec<ConditionId> {
    let ds = instance.dataset;
    let mut c: Vec<ConditionId> = instance.test_conditions().iter().map(|t| t.condition).collect();
    c.sort_by_key(|&c| ds.condition(c).label());
    c.dedup();
    c
}

/// The training-exclusion probe, which uses nothing but the public split: for each target every
/// training candidate is ranked last and the others in a seeded random order (seed + target
/// index). Its scores, one per target (order of `split.test`).
pub fn training_exclusion(instance: &TaskInstance<'_>, seed: u64) -> Result<Vec<ScreenScore>, TaskError> {
    let library = candidates(instance);
    let positions = target_positions(instance, &library)?;
    let training: std::collections::BTreeSet<ConditionId> = instance.split.train.iter().copied().collect();
    Ok(positions
        .iter()
        .enumerate()
        .map(|(t, &truth)| {
            let mut order: Vec<usize> = (0..library.len()).filter(|&k| !training.contains(&library[k])).collect();
            metrics::rng::shuffle(&mut order, &mut metrics::rng::seeded(seed.wrapping_add(t as u64)));
            order.extend((0..library.len()).filter(|&k| training.contains(&library[k])));
            // Distance = position in the probe's order, so the scorer ranks exactly that order.
            let mut distance = vec![0.0; library.len()];
            for (position, &k) in order.iter().enumerate() {
                distance[k] = position as f64;
            }
            metrics::inverse::score_distances(&distance, truth)
        })
        .collect())
}

/// The training-exclusion probe's expected normalized rank, averaged over targets: a held-out
/// target ranks uniformly among the H held-out candidates of a library of N, so
/// E = 1 − (H − 1) / (2 (N − 1)); 1/2 (chance) exactly when no candidate is a training condition.
pub fn training_exclusion_expected(instance: &TaskInstance<'_>) -> f64 {
    let library = candidates(instance);
    let training: std::collections::BTreeSet<ConditionId> = instance.split.train.iter().copied().collect();
    let n = library.len() as f64;
    let held_out = library.iter().filter(|c| !training.contains(c)).count() as f64;
    if n < 2.0 { f64::NAN } else { 1.0 - (held_out - 1.0) / (2.0 * (n - 1.0)) }
}

/// The training-exclusion probe as a scorecard row (see [`training_exclusion`]).
pub fn training_exclusion_row(
    instance: &TaskInstance<'_>,
    bootstrap: &BootstrapSettings,
    seed: u64,
) -> Result<ScoreRow, TaskError> {
    let scores = training_exclusion(instance, seed)?;
    Ok(screen_row(instance, "probe: training-exclusion", ModelKind::Baseline, String::new(), &scores, bootstrap))
}

/// Mean predicted profile of every candidate (order of [`candidates`]) and rows per second.
pub fn predict_candidates(
    instance: &TaskInstance<'_>,
    model: &dyn Model,
    library: &[ConditionId],
) -> Result<(Vec<Vec<f64>>, f64), TaskError> {
    let perturbations: Vec<&Perturbation> = library.iter().map(|&c| instance.dataset.condition(c)).collect();
    predict_perturbations(instance, model, &perturbations)
}

/// Mean predicted profile of each perturbation from the task's start states (one query of all
/// start states per perturbation), and rows per second.
pub fn predict_perturbations(
    instance: &TaskInstance<'_>,
    model: &dyn Model,
    library: &[&Perturbation],
) -> Result<(Vec<Vec<f64>>, f64), TaskError> {
    let start = instance.start_states();
    let started = Instant::now();
    let mut means = Vec::with_capacity(library.len());
    for &perturbation in library {
        let perturbations = vec![perturbation.clone(); start.nrows()];
        let batch = QueryBatch::new(&instance.dataset.genes, start.view(), &perturbations);
        let out: Array2<f32> = model.predict(&batch)?;
        if out.dim() != start.dim() {
            return Err(TaskError::Model {
                model: model.name().to_string(),
                reason: format!("returned a {:?} matrix for a {:?} query", out.dim(), start.dim()),
            });
        }
        if let Some(((r, g), v)) = out.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(TaskError::Model {
                model: model.name().to_string(),
                reason: format!(
                    "predicted {v} for gene '{}' (row {r}) under perturbation '{perturbation}'; predictions must be finite",
                    instance.dataset.genes.names()[g]
                ),
            });
        }
        means.push(out.mapv(f64::from).mean_axis(Axis(0)).map(|m| m.to_vec()).unwrap_or_default());
    }
    let rows = library.len() * start.nrows();
    Ok((means, rows as f64 / started.elapsed().as_secs_f64().max(1e-9)))
}

/// Position of each held-out target in the library (order of `split.test`).
fn target_positions(instance: &TaskInstance<'_>, library: &[ConditionId]) -> Result<Vec<usize>, TaskError> {
    instance
        .test_conditions()
        .iter()
        .map(|t| {
            library.iter().position(|&c| c == t.condition).ok_or_else(|| TaskError::SplitImpossible {
                task: instance.spec.spec.id.clone(),
                dataset: instance.dataset.id.clone(),
                reason: format!("target '{}' is not in the screen library", t.label),
            })
        })
        .collect()
}

/// Scores every target: candidates' predicted means against each target's truth.
pub fn score_targets(predicted: &[Vec<f64>], targets: &[Vec<f64>], positions: &[usize]) -> Vec<ScreenScore> {
    targets.iter().zip(positions).map(|(t, &i)| score_screen(predicted, t, i)).collect()
}

/// The profiles without the genes any candidate perturbs: a perturbed gene's own change names
/// its perturbation trivially (a knocked-down target drops), so distances are taken over the
/// other genes, as the headline profile metrics do.
pub fn without_perturbed_genes(
    instance: &TaskInstance<'_>,
    library: &[ConditionId],
    profiles: &[Vec<f64>],
) -> Vec<Vec<f64>> {
    without_genes_of(instance, library.iter().map(|&c| instance.dataset.condition(c)), profiles)
}

/// [`without_perturbed_genes`] of a library of perturbations.
pub fn without_genes_of<'p>(
    instance: &TaskInstance<'_>,
    library: impl Iterator<Item = &'p Perturbation>,
    profiles: &[Vec<f64>],
) -> Vec<Vec<f64>> {
    let perturbed: std::collections::BTreeSet<usize> = library
        .flat_map(|p| p.genes().filter_map(|g| instance.dataset.genes.index_of(g)).collect::<Vec<_>>())
        .map(|i| i.get())
        .collect();
    profiles
        .iter()
        .map(|p| p.iter().enumerate().filter(|(g, _)| !perturbed.contains(g)).map(|(_, v)| *v).collect())
        .collect()
}

pub fn score_model(
    instance: &TaskInstance<'_>,
    model: &dyn Model,
    bootstrap: &BootstrapSettings,
) -> Result<ScoredModel, TaskError> {
    let library = candidates(instance);
    let positions = target_positions(instance, &library)?;
    let (predicted, rows_per_second) = predict_candidates(instance, model, &library)?;
    let predicted = without_perturbed_genes(instance, &library, &predicted);
    let targets = without_perturbed_genes(instance, &library, &instance.truth_means());
    let scores = score_targets(&predicted, &targets, &positions);
    let row = screen_row(instance, model.name(), model.kind(), model.fingerprint(), &scores, bootstrap);
    Ok(ScoredModel { row, rows_per_second })
}

pub fn ceiling(
    instance: &TaskInstance<'_>,
    bootstrap: &BootstrapSettings,
    seed: u64,
) -> Result<ScoreRow, crate::ceiling::NoCeiling> {
    if instance.dataset.observation == Observation::Pseudobulk {
        return Err("no noise ceiling: the dataset is pseudobulk (one profile per condition), so there are no cells to split in halves".into());
    }
    let library = candidates(instance);
    let positions = target_positions(instance, &library).map_err(|e| e.to_string())?;
    let by_condition = instance.dataset.rows_by_condition();
    let x = instance.dataset.expression();
    let mut halves_a = Vec::with_capacity(library.len());
    let mut halves_b = Vec::with_capacity(library.len());
    for (k, &c) in library.iter().enumerate() {
        let mut rows = by_condition[c.get()].clone();
        if rows.len() < 2 {
            halves_a.push(x.mean_of_rows(&rows).to_vec());
            halves_b.push(Vec::new());
            continue;
        }
        metrics::rng::shuffle(&mut rows, &mut metrics::rng::seeded(seed.wrapping_add(k as u64)));
        let (a, b) = rows.split_at(rows.len() / 2);
        halves_a.push(x.mean_of_rows(a).to_vec());
        halves_b.push(x.mean_of_rows(b).to_vec());
    }
    let mut targets = Vec::with_capacity(positions.len());
    for (t, &i) in instance.test_conditions().iter().zip(&positions) {
        if halves_b[i].is_empty() {
            return Err(format!("no noise ceiling: target '{}' has 1 cell; two halves need at least 2", t.label).into());
        }
        targets.push(halves_b[i].clone());
    }
    let halves_a = without_perturbed_genes(instance, &library, &halves_a);
    let targets = without_perturbed_genes(instance, &library, &targets);
    let scores = score_targets(&halves_a, &targets, &positions);
    Ok(screen_row(instance, "noise-ceiling", ModelKind::Ceiling, String::new(), &scores, bootstrap))
}

/// A scorecard row from per-target screen scores: the spec's metrics (all screen metrics), each a
/// mean over targets with a bootstrap CI, overall and per subgroup.
pub fn screen_row(
    instance: &TaskInstance<'_>,
    name: &str,
    kind: ModelKind,
    model_sha256: String,
    scores: &[ScreenScore],
    bootstrap: &BootstrapSettings,
) -> ScoreRow {
    let tests = instance.test_conditions();
    let wanted: Vec<&MetricInfo> = instance
        .spec
        .spec
        .metrics
        .iter()
        .filter_map(|m| metrics::inverse::SCREEN_METRICS.iter().find(|s| s.name == m).copied())
        .collect();
    let subgroups: Vec<tasks::Subgroup> = tests.iter().map(|t| t.subgroup).collect();
    let metrics = wanted
        .iter()
        .map(|&metric| {
            let column: Vec<f64> = scores.iter().map(|s| s.value(metric.name)).collect();
            crate::score::summarize(metric, &column, &subgroups, bootstrap)
        })
        .collect();
    let per_perturbation = tests
        .iter()
        .zip(scores)
        .zip(&instance.test_rows)
        .map(|((t, s), rows)| PerturbationScore {
            perturbation: t.label.clone(),
            subgroup: t.subgroup,
            n_truth: rows.len(),
            values: wanted.iter().map(|m| Some(s.value(m.name)).filter(|v| v.is_finite())).collect(),
        })
        .collect();
    ScoreRow { name: name.to_string(), kind, model_sha256, metrics, per_perturbation }
}
