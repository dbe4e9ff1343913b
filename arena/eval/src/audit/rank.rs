//! Rank confidence of a scorecard: every ranked row's rank on the primary metric with a
//! paired-bootstrap rank interval and its tie group (`metrics::rank_confidence`), from the rows'
//! per-perturbation values, resampling units as the CIs do (`tasks::resampling_units`: whole
//! sequences on multi-step tasks). The noise ceiling is a reference line, never ranked. Uses the
//! scorecard's bootstrap settings (resamples, level, seed), so it is deterministic.

use metrics::rank_confidence::{RankConfidence, rank_intervals};
use tasks::scorecard::{BootstrapSettings, ScoreRow};

/// The rank confidence of the model and baseline `rows` on `metric` (ceiling rows are skipped),
/// or `None` when there is nothing to rank (no such rows, a row without the metric, or rows
/// scored on different perturbations).
pub fn rank_confidence(rows: &[ScoreRow], metric: &str, bootstrap: &BootstrapSettings) -> Option<RankConfidence> {
    let rows: Vec<&ScoreRow> = rows.iter().filter(|r| r.kind != tasks::ModelKind::Ceiling).collect();
    let first = *rows.first()?;
    let direction = first.metric(metric)?.better;
    let labels: Vec<&str> = first.per_perturbation.iter().map(|p| p.perturbation.as_str()).collect();
    // Ranks come from the headline items (the overall means' items), as the table's means do.
    let subgroups: Vec<tasks::Subgroup> = first.per_perturbation.iter().map(|p| p.subgroup).collect();
    let mut columns: Vec<Vec<f64>> = Vec::with_capacity(rows.len());
    for row in &rows {
        let k = row.metrics.iter().position(|m| m.metric == metric)?;
        let same_items = row.per_perturbation.len() == labels.len()
            && row.per_perturbation.iter().zip(&labels).all(|(p, l)| p.perturbation == *l);
        if !same_items {
            return None;
        }
        let column: Vec<f64> =
            row.per_perturbation.iter().map(|p| p.values.get(k).copied().flatten().unwrap_or(f64::NAN)).collect();
        columns.push(crate::score::headline_values(&column, &subgroups));
    }
    let views: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
    let units = tasks::resampling_units(first.per_perturbation.iter().map(|p| p.subgroup));
    let ranks = rank_intervals(&views, &units, direction, bootstrap.resamples, bootstrap.level, bootstrap.seed);
    Some(RankConfidence {
        metric: metric.to_string(),
        direction,
        resamples: bootstrap.resamples,
        level: bootstrap.level,
        seed: bootstrap.seed,
        rows: rows.iter().zip(ranks).map(|(r, k)| (r.name.clone(), k)).collect(),
    })
}

/// The `rank` cell of the row named `row` in the eval table: `1 (1–2), group A` (empty for a row
/// that is not ranked).
pub fn rank_cell(confidence: &RankConfidence, row: &str) -> String {
    match confidence.rows.iter().find(|(name, _)| name == row) {
        Some((_, r)) => format!(
            "{} ({}–{}), group {}",
            r.rank,
            r.lower,
            r.upper,
            metrics::rank_confidence::group_label(r.tie_group)
        ),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics::Interval;
    use tasks::scorecard::{MetricSummary, PerturbationScore};
    use tasks::{ModelKind, Subgroup};

    fn row(name: &str, values: &[f64], labels: &[&str]) -> ScoreRow {
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        ScoreRow {
            name: name.into(),
            kind: ModelKind::Baseline,
            model_sha256: String::new(),
            metrics: vec![MetricSummary {
                metric: "mae".into(),
                better: metrics::Better::Lower,
                overall: Interval { mean, lower: mean, upper: mean, n: values.len(), n_undefined: 0 },
                by_subgroup: vec![],
                toward_ceiling: None,
            }],
            per_perturbation: values
                .iter()
                .zip(labels)
                .map(|(&v, l)| PerturbationScore {
                    perturbation: l.to_string(),
                    subgroup: Subgroup::UnseenSingle,
                    n_truth: 1,
                    values: vec![Some(v)],
                })
                .collect(),
        }
    }

    #[test]
    fn ranks_rows_on_the_metric_and_refuses_unpaired_rows() {
        let settings = BootstrapSettings { resamples: 200, level: 0.95, seed: 1 };
        let labels = ["a", "b", "c", "d", "e", "f"];
        let good = row("good", &[0.1, 0.12, 0.09, 0.11, 0.1, 0.13], &labels);
        let bad = row("bad", &[0.9, 0.8, 0.95, 0.85, 0.9, 0.88], &labels);
        let rc = rank_confidence(&[bad.clone(), good.clone()], "mae", &settings).unwrap();
        assert_eq!(rc.direction, metrics::Better::Lower);
        assert_eq!(rc.rows[0].0, "bad");
        assert_eq!((rc.rows[1].1.rank, rc.rows[1].1.lower, rc.rows[1].1.upper), (1, 1, 1));
        assert_eq!(rank_cell(&rc, "good"), "1 (1–1), group A");
        assert_eq!(rank_cell(&rc, "bad"), "2 (2–2), group B");
        // The ceiling is a reference line: never ranked, whatever its values.
        let mut ceiling = row("noise-ceiling", &[0.0; 6], &labels);
        ceiling.kind = ModelKind::Ceiling;
        let with_ceiling = rank_confidence(&[bad.clone(), ceiling, good.clone()], "mae", &settings).unwrap();
        assert_eq!(with_ceiling, rc);
        assert_eq!(rank_cell(&with_ceiling, "noise-ceiling"), "");
        assert_eq!(rc, rank_confidence(&[bad.clone(), good.clone()], "mae", &settings).unwrap());
        assert!(rank_confidence(&[bad.clone(), good], "pearson_delta", &settings).is_none());
        let other = row("other", &[0.1; 6], &["a", "b", "c", "d", "e", "g"]);
        assert!(rank_confidence(&[bad, other], "mae", &settings).is_none());
        assert!(rank_confidence(&[], "mae", &settings).is_none());
    }
}
