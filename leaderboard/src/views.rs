//! View models shared by the HTML pages and their JSON twins: built from the database and the
//! stored scorecards only (no metric is computed here; the SVG only bins stored values).

use serde::Serialize;

use crate::card::{CardView, IntervalView, RowView};
use crate::db::{Db, SubmissionRow, TaskRow};

#[derive(Debug, Clone, Serialize)]
pub struct MetricCol {
    pub name: String,
    pub higher_is_better: bool,
    pub arrow: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub mean: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    /// `0.123 [0.100, 0.150]` or `n/a`.
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LbRow {
    /// 1-based rank by the sort metric among ranked rows (models and baselines).
    pub rank: Option<usize>,
    pub label: String,
    /// `predictions`, `onnx`, `baseline`, `ceiling`, ...
    pub kind: String,
    /// `server` (scored here), `self-reported`, or `reference` (baselines and ceiling).
    pub source: String,
    pub submission_id: Option<i64>,
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LeaderboardView {
    pub task: TaskRow,
    pub metrics: Vec<MetricCol>,
    pub sort: String,
    pub order: String,
    pub kind: String,
    pub kinds: Vec<String>,
    pub rows: Vec<LbRow>,
    /// The split-half noise ceiling: what real held-out cells score against each other.
    pub ceiling: Vec<LbRow>,
    pub reference_source: Option<String>,
    pub bootstrap: Option<String>,
    pub notes: Vec<String>,
}

pub fn fmt3(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.3}"),
        _ => "n/a".into(),
    }
}

fn cell(i: Option<&IntervalView>) -> Cell {
    match i {
        Some(i) => Cell {
            mean: i.mean,
            lower: i.lower,
            upper: i.upper,
            text: match i.mean {
                Some(_) => format!("{} [{}, {}]", fmt3(i.mean), fmt3(i.lower), fmt3(i.upper)),
                None => "n/a".into(),
            },
        },
        None => Cell { mean: None, lower: None, upper: None, text: "n/a".into() },
    }
}

fn lb_row(row: &RowView, label: String, kind: String, source: &str, id: Option<i64>, metrics: &[MetricCol]) -> LbRow {
    LbRow {
        rank: None,
        label,
        kind,
        source: source.into(),
        submission_id: id,
        cells: metrics.iter().map(|m| cell(row.metric(&m.name).map(|x| &x.overall))).collect(),
    }
}

pub const KIND_FILTERS: &[&str] = &["all", "predictions", "onnx", "baseline", "self-reported"];

/// The leaderboard of `task`: model rows of scored submissions, baseline rows and the noise
/// ceiling of the task's reference scorecard; sorted by `sort` (default: the primary metric, best
/// first), filtered by `kind` (`all`, a model kind, or `self-reported`).
pub fn leaderboard(
    db: &Db,
    task: TaskRow,
    sort: Option<&str>,
    order: Option<&str>,
    kind: Option<&str>,
) -> Result<LeaderboardView, String> {
    let reference = db.reference(&task.id)?;
    let reference_card = reference.as_ref().and_then(|(json, _)| CardView::parse(json).ok());
    let submissions = db.scored_submissions(&task.id)?;
    let cards: Vec<(SubmissionRow, CardView)> = submissions
        .into_iter()
        .filter_map(|s| {
            let card = CardView::parse(s.scorecard.as_deref()?).ok()?;
            Some((s, card))
        })
        .collect();
    // Metric columns: the task's metrics, direction from the first card that has them.
    let all_rows =
        reference_card.iter().flat_map(|c| c.rows.iter()).chain(cards.iter().flat_map(|(_, c)| c.rows.iter()));
    let mut metrics: Vec<MetricCol> = Vec::new();
    for row in all_rows {
        for m in &row.metrics {
            if !metrics.iter().any(|c| c.name == m.metric) {
                metrics.push(MetricCol {
                    name: m.metric.clone(),
                    higher_is_better: m.higher_is_better,
                    arrow: if m.higher_is_better { "↑" } else { "↓" },
                });
            }
        }
    }
    let primary = reference_card
        .as_ref()
        .map(|c| c.primary_metric.clone())
        .or_else(|| task.metrics.first().cloned())
        .unwrap_or_default();
    let sort_idx = sort
        .and_then(|s| metrics.iter().position(|m| m.name == s))
        .or_else(|| metrics.iter().position(|m| m.name == primary))
        .unwrap_or(0);
    let kind = kind.filter(|k| KIND_FILTERS.contains(k)).unwrap_or("all").to_string();

    let mut rows = Vec::new();
    let mut ceiling = Vec::new();
    for (s, card) in &cards {
        if let Some(row) = card.model_row() {
            rows.push(lb_row(row, s.name.clone(), s.kind.clone(), &s.source, Some(s.id), &metrics));
        }
    }
    if let Some(card) = &reference_card {
        for row in card.rows.iter().filter(|r| r.is_reference_row()) {
            let label = if row.kind == "ceiling" {
                "noise ceiling (split halves)".to_string()
            } else {
                format!("baseline: {}", row.name)
            };
            let r = lb_row(row, label, row.kind.clone(), "reference", None, &metrics);
            if row.kind == "ceiling" {
                ceiling.push(r);
            } else {
                rows.push(r);
            }
        }
    }
    rows.retain(|r| match kind.as_str() {
        "all" => true,
        "self-reported" => r.source == "self-reported",
        k => r.kind == k,
    });
    let higher = metrics.get(sort_idx).map(|m| m.higher_is_better).unwrap_or(true);
    let order = match order {
        Some("asc") => "asc",
        Some("desc") => "desc",
        _ if higher => "desc",
        _ => "asc",
    };
    let key = |r: &LbRow| r.cells.get(sort_idx).and_then(|c| c.mean).filter(|v| v.is_finite());
    rows.sort_by(|a, b| match (key(a), key(b)) {
        (Some(x), Some(y)) => {
            let o = x.total_cmp(&y);
            if order == "desc" { o.reverse() } else { o }
        }
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    // Ranks by the sort metric in its better-first direction; n/a rows are unranked.
    let mut better_first: Vec<f64> = rows.iter().filter_map(key).collect();
    better_first.sort_by(|x, y| if higher { y.total_cmp(x) } else { x.total_cmp(y) });
    for r in &mut rows {
        r.rank = key(r).map(|v| better_first.iter().position(|&x| x == v).unwrap_or(0) + 1);
    }
    Ok(LeaderboardView {
        sort: metrics.get(sort_idx).map(|m| m.name.clone()).unwrap_or_default(),
        order: order.to_string(),
        kind,
        kinds: KIND_FILTERS.iter().map(|s| s.to_string()).collect(),
        metrics,
        rows,
        ceiling,
        reference_source: reference.map(|(_, s)| s),
        bootstrap: reference_card.as_ref().and_then(|c| c.bootstrap.as_ref()).map(|b| {
            format!("mean over test perturbations [{:.0}% bootstrap CI, {} resamples]", b.level * 100.0, b.resamples)
        }),
        notes: reference_card.map(|c| c.notes).unwrap_or_default(),
        task,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct SubmissionSummary {
    pub id: i64,
    pub task_id: String,
    pub name: String,
    pub kind: String,
    pub source: String,
    pub status: String,
    pub created: String,
    /// Primary metric of the task with its CI, once scored.
    pub headline: Option<String>,
}

pub fn summary(s: &SubmissionRow) -> SubmissionSummary {
    let headline = s.scorecard.as_deref().and_then(|j| CardView::parse(j).ok()).and_then(|c| {
        let row = c.model_row()?;
        let m = row.metric(&c.primary_metric)?;
        Some(format!("{} {}", c.primary_metric, cell(Some(&m.overall)).text))
    });
    SubmissionSummary {
        id: s.id,
        task_id: s.task_id.clone(),
        name: s.name.clone(),
        kind: s.kind.clone(),
        source: s.source.clone(),
        status: s.status.clone(),
        created: fmt_time(s.created),
        headline,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct HomeView {
    pub tasks: Vec<TaskRow>,
    pub latest: Vec<SubmissionSummary>,
    pub queue_pending: i64,
    pub queue_running: i64,
}

pub fn home(db: &Db) -> Result<HomeView, String> {
    let (pending, running) = db.queue_depth()?;
    Ok(HomeView {
        tasks: db.tasks()?,
        latest: db.latest_submissions(20)?.iter().map(summary).collect(),
        queue_pending: pending,
        queue_running: running,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct PertRowView {
    pub perturbation: String,
    pub subgroup: String,
    pub n_truth: usize,
    pub values: Vec<Option<f64>>,
    pub texts: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub count: usize,
    pub from: String,
    pub to: String,
}

/// A histogram of one metric over the test perturbations, as SVG geometry.
#[derive(Debug, Clone, Serialize)]
pub struct Histogram {
    pub metric: String,
    pub width: f64,
    pub height: f64,
    pub bars: Vec<Bar>,
    pub min_label: String,
    pub max_label: String,
    pub n: usize,
    pub n_undefined: usize,
}

pub fn histogram(metric: &str, values: &[Option<f64>]) -> Histogram {
    let finite: Vec<f64> = values.iter().flatten().copied().filter(|v| v.is_finite()).collect();
    let (width, height, plot_h, left, bins) = (480.0, 200.0, 160.0, 10.0, 20usize);
    let mut bars = Vec::new();
    let (lo, hi) = finite.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    if !finite.is_empty() {
        let span = if hi > lo { hi - lo } else { 1.0 };
        let mut counts = vec![0usize; bins];
        for v in &finite {
            let k = (((v - lo) / span) * bins as f64).floor() as usize;
            counts[k.min(bins - 1)] += 1;
        }
        let max = *counts.iter().max().unwrap_or(&1) as f64;
        let bw = (width - 2.0 * left) / bins as f64;
        for (k, &c) in counts.iter().enumerate() {
            let h = if max > 0.0 { plot_h * c as f64 / max } else { 0.0 };
            bars.push(Bar {
                x: left + k as f64 * bw,
                y: 10.0 + plot_h - h,
                width: bw - 1.0,
                height: h,
                count: c,
                from: format!("{:.3}", lo + span * k as f64 / bins as f64),
                to: format!("{:.3}", lo + span * (k + 1) as f64 / bins as f64),
            });
        }
    }
    Histogram {
        metric: metric.to_string(),
        width,
        height,
        bars,
        min_label: if finite.is_empty() { "n/a".into() } else { format!("{lo:.3}") },
        max_label: if finite.is_empty() { "n/a".into() } else { format!("{hi:.3}") },
        n: finite.len(),
        n_undefined: values.len() - finite.len(),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SubmissionView {
    pub submission: SubmissionRow,
    pub created: String,
    pub task: Option<TaskRow>,
    pub metrics: Vec<MetricCol>,
    /// The model row's summary cells (same order as `metrics`).
    pub cells: Vec<Cell>,
    pub per_perturbation: Vec<PertRowView>,
    pub histogram: Option<Histogram>,
    pub model_sha256: Option<String>,
    pub primary_metric: Option<String>,
}

pub fn submission(db: &Db, s: SubmissionRow, metric: Option<&str>) -> Result<SubmissionView, String> {
    let task = db.task(&s.task_id)?;
    let card = s.scorecard.as_deref().and_then(|j| CardView::parse(j).ok());
    let row = card.as_ref().and_then(|c| c.model_row().cloned());
    let metrics: Vec<MetricCol> = row
        .iter()
        .flat_map(|r| r.metrics.iter())
        .map(|m| MetricCol {
            name: m.metric.clone(),
            higher_is_better: m.higher_is_better,
            arrow: if m.higher_is_better { "↑" } else { "↓" },
        })
        .collect();
    let cells = row.iter().flat_map(|r| r.metrics.iter()).map(|m| cell(Some(&m.overall))).collect();
    let per_perturbation: Vec<PertRowView> = row
        .iter()
        .flat_map(|r| r.per_perturbation.iter())
        .map(|p| PertRowView {
            perturbation: p.perturbation.clone(),
            subgroup: p.subgroup_label(),
            n_truth: p.n_truth,
            values: p.values.clone(),
            texts: p.values.iter().map(|v| fmt3(*v)).collect(),
        })
        .collect();
    let primary = card.as_ref().map(|c| c.primary_metric.clone());
    let chosen = metric
        .and_then(|m| metrics.iter().position(|c| c.name == m))
        .or_else(|| primary.as_ref().and_then(|p| metrics.iter().position(|c| &c.name == p)))
        .or(if metrics.is_empty() { None } else { Some(0) });
    let histogram = chosen.map(|k| {
        let values: Vec<Option<f64>> = per_perturbation.iter().map(|p| p.values.get(k).copied().flatten()).collect();
        histogram(&metrics[k].name, &values)
    });
    Ok(SubmissionView {
        created: fmt_time(s.created),
        model_sha256: row.as_ref().map(|r| r.model_sha256.clone()),
        submission: s,
        task,
        metrics,
        cells,
        per_perturbation,
        histogram,
        primary_metric: primary,
    })
}

/// Unix seconds -> `YYYY-MM-DD HH:MM UTC`.
pub fn fmt_time(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = tasks::time::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", secs / 3600, (secs % 3600) / 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_formatting() {
        assert_eq!(fmt_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(fmt_time(1_700_000_000), "2023-11-14 22:13 UTC");
    }

    #[test]
    fn histogram_bins_every_finite_value() {
        let h = histogram("m", &[Some(0.0), Some(1.0), Some(0.5), None, Some(f64::NAN)]);
        assert_eq!(h.n, 3);
        assert_eq!(h.n_undefined, 2);
        assert_eq!(h.bars.iter().map(|b| b.count).sum::<usize>(), 3);
        assert!(histogram("m", &[]).bars.is_empty());
    }
}
