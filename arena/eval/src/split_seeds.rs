//! `arena eval --split-seeds N`: the task re-split with N seeds (the spec's seed and the N − 1
//! after it), the baselines (and a `--baseline` under test) refitted on each split's training view,
//! and every row's overall mean per metric summarised as mean ± sd across the splits, beside the
//! within-split CI of the scorecard (as GEARS and Systema report several splits). Only models
//! fitted per split can be re-split: a trained model has seen other splits' test perturbations.

use std::fmt::Write;

use serde::Serialize;
use tasks::scorecard::Scorecard;
use tasks::{Dataset, LoadedSpec, Model, TaskError, TaskInstance};

use super::{EvalOptions, evaluate};

/// One row's means across the splits.
#[derive(Debug, Clone, Serialize)]
pub struct RowAcross {
    pub row: String,
    /// (metric, mean over splits, sd over splits, the mean of each split in seed order).
    pub metrics: Vec<(String, f64, f64, Vec<f64>)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AcrossSplits {
    pub task: String,
    pub seeds: Vec<u64>,
    pub rows: Vec<RowAcross>,
}

/// Re-splits `spec` with `n` seeds and scores the baselines (and `baseline` as the model under
/// test, refitted per split) without bootstrap (only the means are kept).
pub fn across_splits(
    spec: &LoadedSpec,
    dataset: &Dataset,
    baseline: Option<&str>,
    n: usize,
    options: &EvalOptions,
) -> Result<AcrossSplits, TaskError> {
    let seeds: Vec<u64> = (0..n as u64).map(|k| spec.spec.seed.wrapping_add(k)).collect();
    let mut options = options.clone();
    options.bootstrap.resamples = 0;
    let mut cards: Vec<Scorecard> = Vec::new();
    for &seed in &seeds {
        let mut spec = spec.clone();
        spec.spec.seed = seed;
        let instance = TaskInstance::build(spec, dataset)?;
        let model: Option<Box<dyn Model>> = baseline.map(|b| arena_models::baselines::fit(b, &instance)).transpose()?;
        cards.push(evaluate(&instance, model.as_deref(), "split-seeds", &options)?);
    }
    let first = &cards[0];
    let rows = first
        .rows
        .iter()
        .map(|row| RowAcross {
            row: row.name.clone(),
            metrics: row
                .metrics
                .iter()
                .map(|m| {
                    let values: Vec<f64> = cards
                        .iter()
                        .map(|c| {
                            c.rows
                                .iter()
                                .find(|r| r.name == row.name)
                                .and_then(|r| r.metric(&m.metric))
                                .map_or(f64::NAN, |x| x.overall.mean)
                        })
                        .collect();
                    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
                    let k = finite.len() as f64;
                    let mean = finite.iter().sum::<f64>() / k;
                    let sd = (finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (k - 1.0).max(1.0)).sqrt();
                    (m.metric.clone(), mean, sd, values)
                })
                .collect(),
        })
        .collect();
    Ok(AcrossSplits { task: spec.spec.id.clone(), seeds, rows })
}

/// The Markdown table: each row's within-split mean [CI] (from `card`, the spec's own split)
/// and its mean ± sd across the splits.
pub fn render(across: &AcrossSplits, card: &Scorecard) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nAcross {} splits (split seeds {}–{}; baselines refitted on each): mean ± sd of each row's mean, beside the \
         within-split mean [CI] of split seed {}:\n",
        across.seeds.len(),
        across.seeds.first().copied().unwrap_or(0),
        across.seeds.last().copied().unwrap_or(0),
        card.task.seed
    );
    let Some(first) = across.rows.first() else { return out };
    let metrics: Vec<&str> = first.metrics.iter().map(|m| m.0.as_str()).collect();
    let _ = writeln!(
        out,
        "| row | {} |",
        metrics.iter().map(|m| format!("{m} (split) | {m} (across)")).collect::<Vec<_>>().join(" | ")
    );
    let _ = writeln!(out, "|---|{}", "---|---|".repeat(metrics.len()));
    for row in &across.rows {
        let within = card.rows.iter().find(|r| r.name == row.row);
        let cells: Vec<String> = row
            .metrics
            .iter()
            .map(|(metric, mean, sd, _)| {
                let split = within.and_then(|r| r.metric(metric)).map_or("no ceiling".to_string(), |m| {
                    format!("{:.3} [{:.3}, {:.3}]", m.overall.mean, m.overall.lower, m.overall.upper)
                });
                format!("{split} | {mean:.3} ± {sd:.3}")
            })
            .collect();
        let _ = writeln!(out, "| {} | {} |", row.row, cells.join(" | "));
    }
    out
}
