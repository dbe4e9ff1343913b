//! Evaluation orchestration: a task instance, an optional model under test and the spec's
//! baselines go in; a scorecard (model row, baseline rows, noise ceiling, per-perturbation
//! values, every score's fraction of the way to the ceiling, rank confidence, the gaming-probe
//! audit, provenance) comes out. Metrics come only from the `metrics` crate.

pub mod ceiling;
pub mod compare;
pub mod eval_partial;
pub mod example_task;
pub mod families;
mod options;
pub mod predict;
pub mod provenance;
pub mod report;
pub mod score;
pub mod shard;
pub mod split_seeds;
pub mod submission;
pub mod suite;
pub mod toward_ceiling;
pub mod verify;
pub mod write;

pub use options::EvalOptions;
pub use shard::Shard;
pub use submission::Submission;

use std::time::Instant;

use tasks::scorecard::{DatasetProvenance, RunInfo, SCORECARD_FORMAT, ScoreRow, Scorecard, TaskProvenance};
use tasks::{Model, ModelKind, TaskError, TaskInstance};

use arena_models::baselines;

pub mod audit;
pub mod scoring;
pub mod session;

/// Scores `model` (if any) beside the spec's baselines and the noise ceiling. A model that is
/// itself one of the baselines is shown once, as the model row. On the families the audit
/// supports, the gaming-probe audit of the model (of the best baseline on the primary metric in
/// a baselines-only run) is embedded, reusing the rows scored here.
pub fn evaluate(
    instance: &TaskInstance<'_>,
    model: Option<&dyn Model>,
    dataset_source: &str,
    options: &EvalOptions,
) -> Result<Scorecard, TaskError> {
    evaluate_with_views(instance, model, dataset_source, options, None)
}

/// Assigns each test item (by label) to a view of a leaderboard's split (`public`, `private`).
pub type ViewOf<'a> = &'a dyn Fn(&str) -> &'static str;

/// [`evaluate`]; with `views`, the audit's flags are also recomputed on each view's items
/// ([`audit::Audit::flags_on`]) into the audit section's `views` (what `arena score-job` does
/// with the leaderboard's keyed split).
pub fn evaluate_with_views(
    instance: &TaskInstance<'_>,
    model: Option<&dyn Model>,
    dataset_source: &str,
    options: &EvalOptions,
    views: Option<ViewOf<'_>>,
) -> Result<Scorecard, TaskError> {
    evaluate_submission(instance, model.map(Submission::Model), dataset_source, options, views)
}

/// [`evaluate_with_views`] of a model run here or of predicted means ([`Submission`]): the one
/// implementation, so that the merged shards of `arena eval --shard` give the scorecard of a
/// single run.
pub fn evaluate_submission(
    instance: &TaskInstance<'_>,
    submission: Option<Submission<'_>>,
    dataset_source: &str,
    options: &EvalOptions,
    views: Option<ViewOf<'_>>,
) -> Result<Scorecard, TaskError> {
    let started = Instant::now();
    let started_utc = provenance::now_utc();
    let audited = audit::supports(&instance.spec.spec.split);
    let model = submission.map(Submission::model);
    let mut rates = Vec::new();
    let run = |m: &dyn Model, tape: Option<&audit::probes::Tape<'_>>| -> Result<(ScoreRow, f64), TaskError> {
        let scored = families::score_model(instance, m, options)?;
        // The tape's copying is not the model's time, so the model's cells/s leaves it out.
        let rate = tape.map_or(scored.rows_per_second, |t| t.rows_per_second_without_recording(scored.rows_per_second));
        Ok((scored.row, rate))
    };
    // The model's outputs are recorded for the audit's derived probes.
    let (model_row, outputs) = match (submission, model) {
        (Some(Submission::Predicted(p)), _) => {
            rates.push((p.model.name.clone(), p.rows_per_second));
            (Some(p.row(instance, &options.bootstrap)), None)
        }
        (_, Some(m)) => {
            let tape = audited.then(|| audit::probes::Tape::record(m));
            let (row, rate) = match &tape {
                Some(tape) => run(tape, Some(tape))?,
                None => run(m, None)?,
            };
            rates.push((m.name().to_string(), rate));
            (Some(row), tape.and_then(audit::probes::Tape::into_outputs))
        }
        (_, None) => (None, None),
    };
    let is_model = |name: &str| model.is_some_and(|m| m.kind() == ModelKind::Baseline && m.name() == name);
    let spec = &instance.spec;
    // The spec's first metric (family metrics such as `normalized_rank` are not `metrics::Metric`s).
    let primary_metric =
        spec.spec.metrics.first().cloned().unwrap_or_else(|| score::primary_metric(instance).name().to_string());
    // Each baseline's name and row. A fitted baseline holds its training effects (conditions x
    // genes), so only the best one so far on the primary metric stays fitted (the audit's
    // submission in a baselines-only run); the others are dropped once scored.
    let mut fitted: Vec<(String, ScoreRow)> = Vec::new();
    let mut best: Option<(f64, usize, Box<dyn Model>)> = None;
    for name in instance.spec.spec.baselines.iter().filter(|n| !is_model(n)) {
        let baseline = baselines::fit(name, instance)?;
        let (row, rate) = run(baseline.as_ref(), None)?;
        let name = baseline.name().to_string();
        rates.push((name.clone(), rate));
        if let Some(v) = oriented_mean(&row, &primary_metric)
            && best.as_ref().is_none_or(|(b, _, _)| v > *b)
        {
            best = Some((v, fitted.len(), baseline));
        }
        fitted.push((name, row));
    }
    let ceiling = families::ceiling(instance, options);
    let mut rows: Vec<ScoreRow> = model_row.iter().cloned().chain(fitted.iter().map(|(_, row)| row.clone())).collect();
    let mut notes = Vec::new();
    match &ceiling {
        Ok(row) => {
            rows.push(row.clone());
            notes.extend(families::ceiling_notes(instance));
        }
        Err(reason) => notes.push(reason.to_string()),
    }
    if matches!(instance.spec.spec.split, tasks::SplitRule::InverseDesign { .. }) {
        let probe =
            families::inverse_design::training_exclusion_row(instance, &options.bootstrap, options.shuffle_seed)?;
        if let Some(m) = probe.metric("normalized_rank") {
            notes.push(format!(
                "probe: training-exclusion (every training candidate last, the rest at random, seed {}): normalized_rank {:.3} [{:.3}, {:.3}]; expected {:.3} (chance 0.5)",
                options.shuffle_seed,
                m.overall.mean,
                m.overall.lower,
                m.overall.upper,
                families::inverse_design::training_exclusion_expected(instance)
            ));
        }
    }
    let closed_loop = matches!(instance.spec.spec.split, tasks::SplitRule::ClosedLoop { .. });
    if closed_loop {
        notes.extend(families::closed_loop::notes(instance)?);
    }
    toward_ceiling::annotate_rows(&mut rows);
    let dataset = instance.dataset;
    let rank_confidence = audit::rank::rank_confidence(&rows, &primary_metric, &options.bootstrap);
    // The audit's submission: the model, or in a baselines-only run the best baseline.
    let audited_model: Option<(&dyn Model, ScoreRow, _)> = match (model, &model_row) {
        (Some(m), Some(row)) => Some((m, row.clone(), outputs)),
        _ => best.as_ref().map(|(_, k, baseline)| (baseline.as_ref(), fitted[*k].1.clone(), None)),
    };
    // Predicted means come with their derived probes' means (the outputs stayed in the shards).
    let derived = match submission {
        Some(Submission::Predicted(p)) => Some(p.derived_rows(instance, &options.bootstrap)),
        _ => None,
    };
    let audit = match audited_model {
        Some((_, row, _)) if closed_loop => {
            let baselines: Vec<ScoreRow> = fitted.iter().map(|(_, row)| row.clone()).collect();
            Some(audit::closed_loop::section(instance, &row, &baselines, options)?)
        }
        Some((model, row, outputs)) if audited => {
            // The spec's baselines in spec order, the model's row standing in for itself.
            let baselines = spec
                .spec
                .baselines
                .iter()
                .filter_map(|name| match fitted.iter().find(|(b, _)| b == name) {
                    Some((_, row)) => Some(row.clone()),
                    None => model_row.clone(),
                })
                .collect();
            let scored = audit::Scored { model, row, outputs, baselines, ceiling, derived };
            let audit = audit::audit_scored(instance, scored, options)?;
            let mut section = audit.section();
            if let Some(view_of) = views {
                for view in ["public", "private"] {
                    let (n_items, flags) = audit.flags_on(&|label| view_of(label) == view, &options.bootstrap);
                    section.views.push(tasks::scorecard::ViewFlags { view: view.into(), n_items, flags });
                }
            }
            Some(section)
        }
        _ => None,
    };
    Ok(Scorecard {
        format: SCORECARD_FORMAT.into(),
        suite_version: provenance::SUITE_VERSION.into(),
        task: TaskProvenance {
            id: spec.spec.id.clone(),
            family: spec.spec.task.clone(),
            version: spec.spec.version,
            spec_sha256: spec.sha256.clone(),
            seed: spec.spec.seed,
            split_sha256: instance.split_sha256(),
            n_train_conditions: instance.split.train.len(),
            n_test_conditions: instance.split.test.len() + instance.split.test_sequences.len(),
        },
        dataset: DatasetProvenance {
            id: dataset.id.clone(),
            sha256: dataset.sha256.clone(),
            source: dataset_source.to_string(),
            n_rows: dataset.n_rows(),
            n_genes: dataset.genes.len(),
            scale: dataset.scale,
            observation: dataset.observation,
        },
        model: model.map(|m| m.name().to_string()),
        primary_metric,
        bootstrap: options.bootstrap.clone(),
        resampling: Some(match closed_loop {
            true => families::closed_loop::resampling_note(instance, &options.bootstrap),
            false => score::resampling_note(instance, &options.bootstrap),
        }),
        hardware: provenance::hardware(),
        rows,
        notes,
        rank_confidence,
        audit,
        run: RunInfo {
            started_utc,
            wall_seconds: started.elapsed().as_secs_f64(),
            rows_per_second: rates,
            device: None,
        },
    })
}

/// A row's overall mean on `metric`, oriented so that larger is better (`None` when not finite).
/// The best baseline is the first of the largest.
fn oriented_mean(row: &ScoreRow, metric: &str) -> Option<f64> {
    let m = row.metric(metric).filter(|m| m.overall.mean.is_finite())?;
    Some(m.better.orient(m.overall.mean))
}
