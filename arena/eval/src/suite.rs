//! A suite run (`arena eval --suite NAME`): every task of a suite on its dataset, the baselines
//! (and a model under test, opened anew for each task) beside the noise ceiling, one scorecard
//! directory per task, and one summary table (tasks x metrics).

use std::collections::BTreeMap;
use std::path::Path;

use tasks::scorecard::Scorecard;
use tasks::{LoadedSpec, TaskError, TaskInstance, embedded_specs};

use arena_data::Registry;
use arena_models::{ModelError, ModelSource};
use arena_sim::load::{LoadOptions, Loaded, attach_task_tables, load_dataset};

use crate::{EvalOptions, evaluate, write};

#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error("unknown suite '{0}'; the suites are: default (every task of `arena tasks`)")]
    Unknown(String),
    #[error("task {task}: {reason}")]
    Task { task: String, reason: String },
    #[error(transparent)]
    Spec(#[from] TaskError),
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// The tasks of a suite; `default` is every embedded task.
pub fn suite_specs(name: &str) -> Result<Vec<LoadedSpec>, SuiteError> {
    match name {
        "default" => Ok(embedded_specs()?),
        other => Err(SuiteError::Unknown(other.to_string())),
    }
}

/// The model under test of a suite run, built anew for every task.
#[derive(Debug, Clone, Copy)]
pub enum SuiteModel<'a> {
    /// The baselines and the ceiling only.
    None,
    Baseline(&'a str),
    /// The reference world model with each task's bundled weights.
    Reference,
}

pub fn run_suite(
    name: &str,
    under_test: SuiteModel<'_>,
    registry: &Registry,
    load: &LoadOptions,
    options: &EvalOptions,
    out: &Path,
) -> Result<Vec<Scorecard>, SuiteError> {
    let specs = suite_specs(name)?;
    let mut datasets: BTreeMap<String, Loaded> = BTreeMap::new();
    let mut cards = Vec::new();
    for spec in specs {
        let key = spec.spec.dataset.clone();
        let failed = |e: arena_data::DataError| SuiteError::Task { task: spec.spec.id.clone(), reason: e.to_string() };
        // Each dataset is loaded once, for every task on it, with the side tables each task adds.
        let loaded = match datasets.entry(key.clone()) {
            std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::btree_map::Entry::Vacant(entry) => {
                entry.insert(load_dataset(&key, registry, load).map_err(failed)?)
            }
        };
        attach_task_tables(loaded, &spec.spec, registry, load).map_err(failed)?;
        let loaded = &*loaded;
        let id = spec.spec.id.clone();
        let instance = TaskInstance::build(spec, &loaded.dataset)?;
        let model = match under_test {
            SuiteModel::None => None,
            SuiteModel::Baseline(name) => Some(ModelSource::Baseline { name, data_dir: load.data_dir.as_deref() }),
            SuiteModel::Reference if !arena_models::reference::supports(&instance.spec.spec.split) => {
                eprintln!("{id}: the reference model does not model compounds; baselines and ceiling only");
                None
            }
            SuiteModel::Reference => Some(ModelSource::Reference { weights: None }),
        }
        .map(|source| source.open(&instance))
        .transpose()?;
        let card = evaluate(&instance, model.as_deref(), &loaded.source, options)?;
        write::write_scorecard(&card, &instance.split_record(), &out.join(&id))
            .map_err(|e| SuiteError::Task { task: id.clone(), reason: format!("writing the scorecard: {e}") })?;
        eprintln!("{id}: {} rows scored in {:.1}s", card.rows.len(), card.run.wall_seconds);
        cards.push(card);
    }
    Ok(cards)
}

/// One Markdown table: a block of rows (model, baselines, ceiling) per task; the task's ranking
/// metric with its CI, then its other metrics compactly (families have different metrics).
pub fn render_summary(cards: &[Scorecard]) -> String {
    let mut out = String::from("| task | row | ranked by | mean [95% CI] | other metrics |\n|---|---|---|---|---|\n");
    let value = |v: f64| if v.is_nan() { "n/a".to_string() } else { format!("{v:.3}") };
    for card in cards {
        for row in &card.rows {
            let (primary, others): (Vec<_>, Vec<_>) = row.metrics.iter().partition(|m| m.metric == card.primary_metric);
            let primary = primary
                .first()
                .map(|m| format!("{} [{}, {}]", value(m.overall.mean), value(m.overall.lower), value(m.overall.upper)))
                .unwrap_or_else(|| "n/a".into());
            let first = card.rows.first().and_then(|r| r.metric(&card.primary_metric)).map(|m| m.better);
            let others: Vec<String> =
                others.iter().map(|m| format!("{}{} {}", m.metric, m.better.arrow(), value(m.overall.mean))).collect();
            out.push_str(&format!(
                "| {} | {} | {}{} | {} | {} |\n",
                card.task.id,
                row.name,
                card.primary_metric,
                first.map_or("", metrics::Better::arrow),
                primary,
                others.join(", ")
            ));
        }
    }
    out
}
