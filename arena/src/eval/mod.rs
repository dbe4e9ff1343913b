//! Evaluation orchestration: a task instance, an optional model under test and the spec's
//! baselines go in; a scorecard (model row, baseline rows, noise ceiling, per-perturbation
//! values, provenance) comes out. Metrics come only from the `metrics` crate.

pub mod ceiling;
pub mod families;
pub mod predict;
pub mod provenance;
pub mod report;
pub mod score;
pub mod write;

use std::time::Instant;

use tasks::scorecard::{BootstrapSettings, DatasetProvenance, RunInfo, SCORECARD_FORMAT, Scorecard, TaskProvenance};
use tasks::{Model, ModelKind, TaskError, TaskInstance};

use crate::baselines;

/// Settings that change numbers, all recorded in the scorecard.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    pub bootstrap: BootstrapSettings,
    /// Seed of the split-half noise ceiling.
    pub ceiling_seed: u64,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self { bootstrap: BootstrapSettings { resamples: 1000, level: 0.95, seed: 0 }, ceiling_seed: 0 }
    }
}

/// Scores `model` (if any) beside the spec's baselines and the noise ceiling. A model that is
/// itself one of the baselines is shown once, as the model row.
pub fn evaluate(
    instance: &TaskInstance<'_>,
    model: Option<&dyn Model>,
    dataset_source: &str,
    options: &EvalOptions,
) -> Result<Scorecard, TaskError> {
    let started = Instant::now();
    let started_utc = provenance::now_utc();
    let mut rows = Vec::new();
    let mut rates = Vec::new();
    let mut run = |m: &dyn Model, rows: &mut Vec<_>| -> Result<(), TaskError> {
        let scored = families::score_model(instance, m, &options.bootstrap)?;
        rates.push((m.name().to_string(), scored.rows_per_second));
        rows.push(scored.row);
        Ok(())
    };
    if let Some(m) = model {
        run(m, &mut rows)?;
    }
    for name in &instance.spec.spec.baselines {
        if model.is_some_and(|m| m.kind() == ModelKind::Baseline && m.name() == name) {
            continue;
        }
        let baseline = baselines::fit(name, instance)?;
        run(baseline.as_ref(), &mut rows)?;
    }
    let mut notes = Vec::new();
    match families::ceiling(instance, &options.bootstrap, options.ceiling_seed) {
        Ok(row) => rows.push(row),
        Err(reason) => notes.push(reason),
    }
    let spec = &instance.spec;
    let dataset = instance.dataset;
    // The spec's first metric (family metrics such as `normalized_rank` are not `metrics::Metric`s).
    let primary_metric =
        spec.spec.metrics.first().cloned().unwrap_or_else(|| score::primary_metric(instance).name().to_string());
    let rank_confidence = crate::audit::rank::rank_confidence(&rows, &primary_metric, &options.bootstrap);
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
        hardware: provenance::hardware(),
        rows,
        notes,
        rank_confidence,
        audit: None,
        run: RunInfo {
            started_utc,
            wall_seconds: started.elapsed().as_secs_f64(),
            rows_per_second: rates,
            device: None,
        },
    })
}
