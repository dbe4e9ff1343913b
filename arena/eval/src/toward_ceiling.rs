//! Every score as a fraction of the way from the best baseline (0) to the noise ceiling (1):
//! (value − best) / (ceiling − best) on a metric's overall mean. The same formula serves
//! higher- and lower-is-better metrics (for ↓ both differences are negative); the direction only
//! decides which baseline is best and whether the ceiling is better than it. Where there is no
//! ceiling, or the ceiling is not better than the best baseline by more than
//! [`metrics::toward_ceiling::MIN_GAP`], the
//! fraction is undefined (`None`): there is no headroom to measure progress in. The formula is
//! [`metrics::toward_ceiling::fraction`]; this module picks the anchors from scorecard rows.

use metrics::Better;
use metrics::toward_ceiling::fraction;
use tasks::scorecard::ScoreRow;

/// One metric's anchors: the best baseline's and the ceiling's overall means.
#[derive(Debug, Clone, PartialEq)]
pub struct Anchor {
    pub metric: String,
    pub better: Better,
    pub best_baseline: f64,
    pub ceiling: f64,
}

/// The anchors of every metric of `ceiling` on which some baseline has a finite mean.
pub fn anchors<'a>(baselines: impl IntoIterator<Item = &'a ScoreRow> + Clone, ceiling: &ScoreRow) -> Vec<Anchor> {
    ceiling
        .metrics
        .iter()
        .filter_map(|c| {
            let direction = c.better;
            let best = baselines
                .clone()
                .into_iter()
                .filter_map(|r| r.metric(&c.metric).map(|m| m.overall.mean))
                .filter(|v| v.is_finite())
                .reduce(|a, b| if direction.is_better(b, a) { b } else { a })?;
            Some(Anchor { metric: c.metric.clone(), better: direction, best_baseline: best, ceiling: c.overall.mean })
        })
        .collect()
}

/// Sets `toward_ceiling` on every metric of `row` (`None` where its metric has no usable anchor).
pub fn annotate(row: &mut ScoreRow, anchors: &[Anchor]) {
    for m in &mut row.metrics {
        m.toward_ceiling = anchors
            .iter()
            .find(|a| a.metric == m.metric)
            .and_then(|a| fraction(m.overall.mean, a.best_baseline, a.ceiling, a.better));
    }
}

/// Annotates every row of a scorecard: baselines are the rows of kind `Baseline` (a model that is
/// itself a baseline included), the ceiling the row of kind `Ceiling`. Without a ceiling row every
/// fraction is `None`.
pub fn annotate_rows(rows: &mut [ScoreRow]) {
    let anchors = rows
        .iter()
        .find(|r| r.kind == tasks::ModelKind::Ceiling)
        .map(|c| anchors(rows.iter().filter(|r| r.kind == tasks::ModelKind::Baseline), c))
        .unwrap_or_default();
    for row in rows {
        annotate(row, &anchors);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics::Interval;
    use tasks::ModelKind;
    use tasks::scorecard::MetricSummary;

    fn row(name: &str, kind: ModelKind, values: &[(&str, bool, f64)]) -> ScoreRow {
        ScoreRow {
            name: name.into(),
            kind,
            model_sha256: String::new(),
            metrics: values
                .iter()
                .map(|&(metric, higher_is_better, mean)| MetricSummary {
                    metric: metric.into(),
                    better: Better::from_higher(higher_is_better),
                    overall: Interval { mean, lower: mean, upper: mean, n: 1, n_undefined: 0 },
                    by_subgroup: Vec::new(),
                    toward_ceiling: None,
                })
                .collect(),
            per_perturbation: Vec::new(),
        }
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-12)
    }

    #[test]
    fn rows_are_anchored_on_the_best_baseline_and_the_ceiling() {
        let metric = |v: f64, m: f64| vec![("r", true, v), ("mae", false, m)];
        let mut rows = vec![
            row("model", ModelKind::Onnx, &metric(0.5, 0.2)),
            row("a", ModelKind::Baseline, &metric(0.2, 0.4)),
            row("b", ModelKind::Baseline, &metric(0.3, 0.3)),
            row("ceiling", ModelKind::Ceiling, &metric(0.7, 0.1)),
        ];
        annotate_rows(&mut rows);
        let t = |i: usize, k: usize| rows[i].metrics[k].toward_ceiling;
        // Best baseline: b on both metrics (0.3 ↑, 0.3 ↓).
        assert!(close(t(0, 0), 0.5) && close(t(0, 1), 0.5));
        assert!(close(t(1, 0), -0.25) && close(t(1, 1), -0.5));
        assert!(close(t(2, 0), 0.0) && close(t(2, 1), 0.0));
        assert!(close(t(3, 0), 1.0) && close(t(3, 1), 1.0));
        // A baseline that is the model under evaluation counts as a baseline.
        rows[0].kind = ModelKind::Baseline;
        annotate_rows(&mut rows);
        assert!(close(rows[0].metrics[0].toward_ceiling, 0.0) && close(rows[1].metrics[0].toward_ceiling, -1.5));
    }

    #[test]
    fn rows_without_a_ceiling_or_headroom_are_left_undefined() {
        let mut rows = vec![
            row("model", ModelKind::Onnx, &[("r", true, 0.5)]),
            row("a", ModelKind::Baseline, &[("r", true, 0.2)]),
        ];
        rows[0].metrics[0].toward_ceiling = Some(3.0);
        annotate_rows(&mut rows);
        assert!(rows.iter().all(|r| r.metrics[0].toward_ceiling.is_none()));
        // A ceiling below the best baseline defines nothing either.
        rows.push(row("ceiling", ModelKind::Ceiling, &[("r", true, 0.1)]));
        annotate_rows(&mut rows);
        assert!(rows.iter().all(|r| r.metrics[0].toward_ceiling.is_none()));
    }
}
