//! Turns predicted and true profiles into a scorecard row: per-perturbation metric values and,
//! per metric, the mean with a bootstrap CI overall and per subgroup.

use std::collections::BTreeMap;

use metrics::{Metric, ProfileReferences, bootstrap_mean_ci, score_profiles};
use tasks::scorecard::{BootstrapSettings, MetricSummary, PerturbationScore, ScoreRow};
use tasks::{ModelKind, TaskInstance};

pub struct RowInput<'a> {
    pub name: String,
    pub kind: ModelKind,
    pub model_sha256: String,
    pub predictions: &'a [Vec<f64>],
    pub truths: &'a [Vec<f64>],
}

pub fn score_row(instance: &TaskInstance<'_>, input: RowInput<'_>, bootstrap: &BootstrapSettings) -> ScoreRow {
    let refs = ProfileReferences {
        control: instance.control_mean.as_slice().unwrap_or(&[]),
        perturbed_mean: instance.perturbed_mean.as_slice().unwrap_or(&[]),
    };
    let scores = score_profiles(input.predictions, input.truths, &refs);
    let wanted = instance.spec.spec.metric_list();
    let tests = instance.test_conditions();
    let metrics = wanted
        .iter()
        .map(|&metric| {
            let column = scores.column(metric);
            let ci = |values: &[f64]| bootstrap_mean_ci(values, bootstrap.resamples, bootstrap.level, bootstrap.seed);
            let mut groups: BTreeMap<tasks::Subgroup, Vec<f64>> = BTreeMap::new();
            for (t, v) in tests.iter().zip(&column) {
                groups.entry(t.subgroup).or_default().push(*v);
            }
            MetricSummary {
                metric: metric.name().to_string(),
                higher_is_better: metric.higher_is_better(),
                overall: ci(&column),
                by_subgroup: groups.into_iter().map(|(g, v)| (g, ci(&v))).collect(),
            }
        })
        .collect();
    let per_perturbation = tests
        .iter()
        .enumerate()
        .map(|(i, t)| PerturbationScore {
            perturbation: t.label.clone(),
            subgroup: t.subgroup,
            n_truth: instance.test_rows[i].len(),
            values: wanted
                .iter()
                .map(|&m| {
                    let k = scores.metrics.iter().position(|&x| x == m).unwrap_or(0);
                    Some(scores.values[i][k]).filter(|v| v.is_finite())
                })
                .collect(),
        })
        .collect();
    ScoreRow { name: input.name, kind: input.kind, model_sha256: input.model_sha256, metrics, per_perturbation }
}

/// The metric that ranks rows: the spec's first.
pub fn primary_metric(instance: &TaskInstance<'_>) -> Metric {
    instance.spec.spec.metric_list().first().copied().unwrap_or(Metric::PearsonDeltaPert)
}
