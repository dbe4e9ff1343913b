//! The dose family (`unseen-dose`, `unseen-compound`): every held-out item is one compound at one
//! dose, queried from the test control cells like a profile item and scored by the profile
//! metrics, plus the dose-response metrics of `metrics::dose`:
//!
//! - `pearson_delta_per_dose`: per item, Pearson r of predicted vs observed Δ against the
//!   training-control mean over all genes (a compound perturbs no measured gene itself); the mean
//!   over compounds at each held-out dose, then over doses;
//! - `dose_monotonicity`: per compound, the concordance of its predicted and observed responses
//!   across its scored doses (top 20 responsive genes, every dose pair; ties ½), mean over
//!   compounds (undefined for a compound with a single scored dose).
//!
//! Both intervals are percentile bootstraps over compounds (a compound's doses share its
//! targets, so the compound is the resampling unit). The per-perturbation table holds each item's
//! r and its compound's concordance. The ceiling row adds the same metrics (see [`ceiling`]).

use std::collections::BTreeMap;

use metrics::MetricInfo;
use metrics::dose::{DEFAULT_TOP_GENES, DOSE_METRICS, mean_over_levels, monotonicity};
use metrics::interaction::bootstrap_statistic_ci;
use tasks::scorecard::{BootstrapSettings, MetricSummary, ScoreRow};
use tasks::{Dose, Model, TaskError, TaskInstance};

use super::ScoredModel;

/// The scored items by compound and dose level.
struct DoseItems {
    /// Per item (eval order): its compound's index and its dose level's index; `None` for an item
    /// that is not one compound at one dose.
    of_item: Vec<Option<(usize, usize)>>,
    n_compounds: usize,
}

fn dose_items(instance: &TaskInstance<'_>) -> DoseItems {
    let keys: Vec<Option<(String, Dose)>> = instance
        .eval_items()
        .iter()
        .map(|i| match i.actions.as_slice() {
            [a] => a.single_compound().map(|(c, d)| (c.to_string(), d)),
            _ => None,
        })
        .collect();
    let index = |values: Vec<String>| -> BTreeMap<String, usize> {
        values
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .enumerate()
            .map(|(i, v)| (v, i))
            .collect()
    };
    let compounds = index(keys.iter().flatten().map(|(c, _)| c.clone()).collect());
    let doses: BTreeMap<Dose, usize> = keys
        .iter()
        .flatten()
        .map(|(_, d)| *d)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .enumerate()
        .map(|(i, d)| (d, i))
        .collect();
    let of_item = keys.iter().map(|k| k.as_ref().map(|(c, d)| (compounds[c], doses[d]))).collect();
    DoseItems { of_item, n_compounds: compounds.len() }
}

/// Δ of every profile against the training-control mean.
fn deltas(instance: &TaskInstance<'_>, profiles: &[Vec<f64>]) -> Vec<Vec<f64>> {
    profiles.iter().map(|p| p.iter().zip(&instance.control_mean).map(|(x, c)| x - c).collect()).collect()
}

/// Appends the spec's dose metrics to `row` (and their per-item values to its per-perturbation
/// table) for `predicted` means in eval-item order, scored against the items' real cells.
pub fn append_dose_metrics(
    instance: &TaskInstance<'_>,
    predicted: &[Vec<f64>],
    row: &mut ScoreRow,
    bootstrap: &BootstrapSettings,
) {
    let truth = deltas(instance, &instance.truth_means());
    let pred = deltas(instance, predicted);
    let r: Vec<f64> = truth.iter().zip(&pred).map(|(t, p)| metrics::pearson(p, t)).collect();
    append(instance, (&pred, &truth), &r, row, bootstrap);
}

/// The dose metrics from Δ profiles (predicted, observed) and each item's r.
fn append(
    instance: &TaskInstance<'_>,
    (pred, truth): (&[Vec<f64>], &[Vec<f64>]),
    r: &[f64],
    row: &mut ScoreRow,
    bootstrap: &BootstrapSettings,
) {
    let items = dose_items(instance);
    // Per compound: its items sorted by dose level.
    let mut of_compound: Vec<Vec<(usize, usize)>> = vec![Vec::new(); items.n_compounds];
    for (k, key) in items.of_item.iter().enumerate() {
        if let Some((c, level)) = key {
            of_compound[*c].push((*level, k));
        }
    }
    of_compound.iter_mut().for_each(|v| v.sort_unstable());
    let concordance: Vec<f64> = of_compound
        .iter()
        .map(|its| {
            let pick = |d: &[Vec<f64>]| its.iter().map(|&(_, k)| d[k].clone()).collect::<Vec<_>>();
            monotonicity(&pick(truth), &pick(pred), DEFAULT_TOP_GENES)
        })
        .collect();
    let wanted: Vec<&MetricInfo> =
        instance.spec.spec.metrics.iter().filter_map(|m| DOSE_METRICS.iter().find(|d| d.name == m).copied()).collect();
    let subgroups: std::collections::BTreeSet<tasks::Subgroup> =
        instance.eval_items().iter().map(|i| i.subgroup).collect();
    let (b, level, seed) = (bootstrap.resamples, bootstrap.level, bootstrap.seed);
    for info in wanted {
        let overall = if info.name == "pearson_delta_per_dose" {
            bootstrap_statistic_ci(items.n_compounds, b, level, seed, |idx| {
                let (mut values, mut levels) = (Vec::new(), Vec::new());
                for &c in idx {
                    for &(l, k) in &of_compound[c] {
                        values.push(r[k]);
                        levels.push(l);
                    }
                }
                mean_over_levels(&values, &levels)
            })
        } else {
            let defined: Vec<f64> = concordance.iter().copied().filter(|v| v.is_finite()).collect();
            let mut ci = bootstrap_statistic_ci(defined.len(), b, level, seed, |idx| {
                idx.iter().map(|&i| defined[i]).sum::<f64>() / idx.len().max(1) as f64
            });
            ci.n_undefined = concordance.len() - defined.len();
            ci
        };
        row.metrics.push(MetricSummary {
            metric: info.name.to_string(),
            better: info.direction(),
            by_subgroup: subgroups.iter().map(|g| (*g, overall)).collect(),
            overall,
            toward_ceiling: None,
        });
        for (k, pp) in row.per_perturbation.iter_mut().enumerate() {
            let value = match (info.name, items.of_item.get(k).copied().flatten()) {
                (_, None) => None,
                ("pearson_delta_per_dose", _) => Some(r[k]),
                (_, Some((c, _))) => Some(concordance[c]),
            };
            pp.values.push(value.filter(|v| v.is_finite()));
        }
    }
}

pub fn score_model(
    instance: &TaskInstance<'_>,
    model: &dyn Model,
    bootstrap: &BootstrapSettings,
) -> Result<ScoredModel, TaskError> {
    let (mut scored, means) = super::profile::score_with_means(instance, model, bootstrap)?;
    append_dose_metrics(instance, &means, &mut scored.row, bootstrap);
    Ok(scored)
}

/// The profile family's ceiling, with the dose metrics: `pearson_delta_per_dose` from the
/// ceiling's own per-item `pearson_delta` estimates (the population mean against the item's cells)
/// when the spec scores `pearson_delta`, else from split halves; `dose_monotonicity` from split
/// halves (half A's means ordered like half B's: both at half depth, so a conservative estimate).
pub fn ceiling(
    instance: &TaskInstance<'_>,
    bootstrap: &BootstrapSettings,
    seed: u64,
) -> Result<ScoreRow, crate::ceiling::NoCeiling> {
    let (mut row, _) = super::profile::ceiling_with_means(instance, bootstrap, seed)?;
    let (half_a, half_b) = crate::ceiling::split_halves(instance, seed)?;
    let (pred, truth) = (deltas(instance, &half_a), deltas(instance, &half_b));
    let column = row.metrics.iter().position(|m| m.metric == "pearson_delta");
    let r: Vec<f64> = match column {
        Some(c) => {
            row.per_perturbation.iter().map(|pp| pp.values.get(c).copied().flatten().unwrap_or(f64::NAN)).collect()
        }
        None => truth.iter().zip(&pred).map(|(t, p)| metrics::pearson(p, t)).collect(),
    };
    append(instance, (&pred, &truth), &r, &mut row, bootstrap);
    Ok(row)
}

/// What the dose metrics' ceiling is, for the scorecard's notes.
pub fn ceiling_note() -> String {
    "dose metrics' ceiling: pearson_delta_per_dose from the ceiling's per-item pearson_delta (the population mean); dose_monotonicity from split halves (half A's means ordered like half B's, both at half depth: a conservative estimate)".into()
}
