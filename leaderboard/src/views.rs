//! View models shared by the HTML pages and their JSON twins: built from the database and the
//! stored scorecards only (no metric is computed here; the SVG only bins stored values).

use serde::Serialize;

use crate::board::{Board, BoardRow, Cell, Flag, MetricCol, RowScores, cell, fmt3};
use crate::card::CardView;
use crate::db::{Db, SubmissionRow, TaskRow};
use crate::split::View;

/// One row of the task page: the stored board row plus what the request's sort adds.
#[derive(Debug, Clone, Serialize)]
pub struct LbRow {
    /// 1-based rank by the sort metric among the shown rows (equal means share a rank).
    pub rank: Option<usize>,
    #[serde(flatten)]
    pub row: BoardRow,
    /// `2 (1–3)`: rank on the primary metric with its paired-bootstrap interval.
    pub rank_text: String,
    /// Per metric, as shown.
    pub shown: Vec<ShownCell>,
}

/// One metric cell as shown: `mean [CI]`, the way to the ceiling, the probes flagging it.
#[derive(Debug, Clone, Serialize)]
pub struct ShownCell {
    pub text: String,
    /// `62%` of the way from the best baseline to the ceiling, or empty.
    pub toward: String,
    /// The probes that flag this metric on the row's scorecard, or empty.
    pub flags: String,
}

fn percent(t: Option<f64>) -> String {
    t.filter(|t| t.is_finite()).map(|t| format!("{:.0}%", t * 100.0)).unwrap_or_default()
}

pub const KIND_FILTERS: &[&str] = &["all", "predictions", "onnx", "reference", "baseline", "self-reported"];
/// Rows per page of a task leaderboard.
pub const PAGE_SIZE: usize = 100;

#[derive(Debug, Clone, Serialize)]
pub struct LeaderboardView {
    pub task: TaskRow,
    /// `public` or `private` (the latter only once the task is revealed).
    pub view: String,
    pub primary_metric: String,
    /// Test perturbations in this view.
    pub n_perturbations: usize,
    pub metrics: Vec<MetricCol>,
    pub sort: String,
    pub order: String,
    pub kind: String,
    pub kinds: Vec<String>,
    /// This page's rows (models and baselines).
    pub rows: Vec<LbRow>,
    /// The split-half noise ceiling: what real held-out cells score against each other.
    pub ceiling: Vec<LbRow>,
    pub total_rows: usize,
    pub page: usize,
    pub pages: usize,
    pub reference_source: Option<String>,
    pub bootstrap: Option<String>,
    pub notes: Vec<String>,
    /// Whether the task's test data are public, and the training download of a hidden task.
    pub test_data: Option<crate::test_data::TestDataNote>,
}

/// What a leaderboard request asks for.
#[derive(Debug, Default)]
pub struct LbRequest<'a> {
    pub view: Option<View>,
    pub sort: Option<&'a str>,
    pub order: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub page: Option<usize>,
}

fn lb_row(row: BoardRow, metrics: &[MetricCol]) -> LbRow {
    let rank_text = row.rank_interval.map(|r| format!("{} ({}–{})", r.rank, r.lower, r.upper)).unwrap_or_default();
    let shown = metrics
        .iter()
        .enumerate()
        .map(|(k, m)| ShownCell {
            text: row.cells.get(k).map(|c| c.text.clone()).unwrap_or_else(|| "n/a".into()),
            // Baselines' own way to the ceiling is noise around 0; models show theirs.
            toward: if row.kind == "baseline" {
                String::new()
            } else {
                percent(row.toward_ceiling.get(k).copied().flatten())
            },
            flags: row
                .flags
                .iter()
                .filter(|f| f.metric == m.name)
                .map(|f| f.probe.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    LbRow { rank: None, rank_text, shown, row }
}

/// The leaderboard of `task` in the requested view (an error message when that view is not
/// revealed), read from the board stored at write time: filtered by kind (`all`, a model kind,
/// or `self-reported`), sorted by a metric (default: the primary metric, best first), one page.
pub fn leaderboard(db: &Db, task: TaskRow, q: &LbRequest<'_>) -> Result<Result<LeaderboardView, String>, String> {
    let view = q.view.unwrap_or(View::default_for(task.revealed));
    if !view.visible(task.revealed) {
        return Ok(Err(format!(
            "the private leaderboard of '{}' is hidden until the organisers reveal it; see the public view at /tasks/{}",
            task.id, task.id
        )));
    }
    let board = match db.board(&task.id, view.as_str())? {
        Some(j) => Board::parse(&j)?,
        None => Board {
            view: view.as_str().into(),
            primary_metric: task.metrics.first().cloned().unwrap_or_default(),
            metrics: Vec::new(),
            n_perturbations: 0,
            bootstrap: None,
            reference_source: None,
            notes: Vec::new(),
            rows: Vec::new(),
            ceiling: Vec::new(),
        },
    };
    let metrics = board.metrics;
    let sort_idx = q
        .sort
        .and_then(|s| metrics.iter().position(|m| m.name == s))
        .or_else(|| metrics.iter().position(|m| m.name == board.primary_metric))
        .unwrap_or(0);
    let kind = q.kind.filter(|k| KIND_FILTERS.contains(k)).unwrap_or("all").to_string();
    let mut rows: Vec<LbRow> = board
        .rows
        .into_iter()
        .filter(|r| match kind.as_str() {
            "all" => true,
            "self-reported" => r.source == "self-reported",
            k => r.kind == k,
        })
        .map(|r| lb_row(r, &metrics))
        .collect();
    let higher = metrics.get(sort_idx).is_none_or(|m| m.better.is_higher());
    let order = match q.order {
        Some("asc") => "asc",
        Some("desc") => "desc",
        _ if higher => "desc",
        _ => "asc",
    };
    let key = |r: &LbRow| r.row.cells.get(sort_idx).and_then(|c| c.mean).filter(|v| v.is_finite());
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
        r.rank = key(r).map(|v| better_first.partition_point(|&x| if higher { x > v } else { x < v }) + 1);
    }
    let ceiling = board.ceiling.into_iter().map(|r| lb_row(r, &metrics)).collect();
    let total_rows = rows.len();
    let pages = total_rows.div_ceil(PAGE_SIZE).max(1);
    let page = q.page.unwrap_or(1).clamp(1, pages);
    let rows: Vec<LbRow> = rows.into_iter().skip((page - 1) * PAGE_SIZE).take(PAGE_SIZE).collect();
    Ok(Ok(LeaderboardView {
        view: view.as_str().into(),
        primary_metric: board.primary_metric.clone(),
        n_perturbations: board.n_perturbations,
        sort: metrics.get(sort_idx).map(|m| m.name.clone()).unwrap_or_default(),
        order: order.to_string(),
        kind,
        kinds: KIND_FILTERS.iter().map(|s| s.to_string()).collect(),
        metrics,
        rows,
        ceiling,
        total_rows,
        page,
        pages,
        reference_source: board.reference_source,
        bootstrap: board.bootstrap.map(|b| {
            format!(
                "mean over the {} test perturbations of the {} view [{:.0}% bootstrap CI, {} resamples]; rank (interval) and tie groups on {} from a paired bootstrap over the same perturbations",
                board.n_perturbations,
                view.as_str(),
                b.level * 100.0,
                b.resamples,
                board.primary_metric
            )
        }),
        notes: board.notes,
        test_data: None,
        task,
    }))
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
    /// Primary metric of the task with its CI in the task's visible view, once scored.
    pub headline: Option<String>,
}

/// A scored row's stored scores in the view a visitor sees by default.
fn visible_scores(db: &Db, s: &SubmissionRow, view: View) -> Result<Option<RowScores>, String> {
    match db.row_scores(&s.task_id, Some(s.id), view.as_str())? {
        Some(j) => serde_json::from_str(&j).map(Some).map_err(|e| format!("stored scores of {}: {e}", s.id)),
        None => Ok(None),
    }
}

pub fn summary(db: &Db, s: &SubmissionRow) -> Result<SubmissionSummary, String> {
    let task = db.task(&s.task_id)?;
    let view = View::default_for(task.as_ref().is_some_and(|t| t.revealed));
    let primary = task.and_then(|t| t.metrics.first().cloned()).unwrap_or_default();
    let headline = visible_scores(db, s, view)?.and_then(|r| {
        let m = r.metrics.iter().find(|m| m.metric == primary)?;
        Some(format!("{primary} {} ({} view)", cell(Some(&m.overall)).text, view.as_str()))
    });
    Ok(SubmissionSummary {
        id: s.id,
        task_id: s.task_id.clone(),
        name: s.name.clone(),
        kind: s.kind.clone(),
        source: s.source.clone(),
        status: s.status.clone(),
        created: fmt_time(s.created),
        headline,
    })
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
        latest: db.latest_submissions(20)?.iter().map(|s| summary(db, s)).collect::<Result<_, _>>()?,
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
    /// `public` or `private`: which test perturbations the scores below are over.
    pub view: String,
    pub revealed: bool,
    pub metrics: Vec<MetricCol>,
    /// The model row's summary cells in this view (same order as `metrics`).
    pub cells: Vec<Cell>,
    /// The same as shown, with the way from the best baseline to the ceiling on the task's board.
    pub shown: Vec<ShownCell>,
    /// Rank on the task's board in this view: `2 (1–3), group A`.
    pub board_rank: Option<String>,
    /// Rank among its own scorecard's rows on every test perturbation (the scorecard's
    /// `rank_confidence`): shown only in the private view, once revealed.
    pub scorecard_rank: Option<String>,
    /// The gaming-probe flags of this submission's scorecard audit.
    pub flags: Vec<Flag>,
    pub per_perturbation: Vec<PertRowView>,
    pub histogram: Option<Histogram>,
    pub model_sha256: Option<String>,
    pub primary_metric: Option<String>,
    /// Why scoring failed, for the submitter (who proved it with the receipt or the submitting
    /// token); anyone else learns only that it failed.
    pub error: Option<String>,
}

/// What the public sees of a failed submission's error.
pub const ERROR_HIDDEN: &str = "the reason is shown only to the submitter (open the page link returned with the upload, or send the submitting token)";

/// A submission's page in `view` (default: the task's visible view); an error message when that
/// view is not revealed.
pub fn submission(
    db: &Db,
    s: SubmissionRow,
    view: Option<View>,
    metric: Option<&str>,
    submitter: bool,
) -> Result<Result<SubmissionView, String>, String> {
    let task = db.task(&s.task_id)?;
    let revealed = task.as_ref().is_some_and(|t| t.revealed);
    let view = view.unwrap_or(View::default_for(revealed));
    if !view.visible(revealed) {
        return Ok(Err(format!(
            "the private scores of '{}' are hidden until the organisers reveal them; see /submissions/{}",
            s.task_id, s.id
        )));
    }
    let row = visible_scores(db, &s, view)?;
    let board = match db.board(&s.task_id, view.as_str())? {
        Some(j) => Some(Board::parse(&j)?),
        None => None,
    };
    let on_board = board.as_ref().and_then(|b| b.rows.iter().find(|r| r.submission_id == Some(s.id)));
    let metrics: Vec<MetricCol> =
        row.iter().flat_map(|r| r.metrics.iter()).map(|m| MetricCol::new(&m.metric, m.better)).collect();
    let cells: Vec<Cell> = row.iter().flat_map(|r| r.metrics.iter()).map(|m| cell(Some(&m.overall))).collect();
    let shown = metrics
        .iter()
        .zip(&cells)
        .map(|(m, c)| {
            let toward = board.as_ref().and_then(|b| {
                let k = b.metrics.iter().position(|x| x.name == m.name)?;
                *on_board?.toward_ceiling.get(k)?
            });
            let flags = row.iter().flat_map(|r| r.flags.iter()).filter(|f| f.metric == m.name);
            ShownCell {
                text: c.text.clone(),
                toward: percent(toward),
                flags: flags.map(|f| f.probe.as_str()).collect::<Vec<_>>().join(", "),
            }
        })
        .collect();
    let board_rank = on_board.and_then(|r| {
        let k = r.rank_interval?;
        Some(format!("{} ({}–{}), group {}", k.rank, k.lower, k.upper, r.tie_group.as_deref().unwrap_or("")))
    });
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
    let card = s.scorecard.as_deref().and_then(|j| CardView::parse(j).ok());
    let scorecard_rank = card.as_ref().filter(|_| view == View::Private).and_then(|c| {
        let rc = c.rank_confidence.as_ref()?;
        let (_, r) = rc.rows.iter().find(|(name, _)| Some(name) == c.model.as_ref())?;
        Some(format!(
            "{} ({}–{}), group {} of {} rows on {}",
            r.rank,
            r.lower,
            r.upper,
            metrics::rank_confidence::group_label(r.tie_group),
            rc.rows.len(),
            rc.metric
        ))
    });
    let primary = card.map(|c| c.primary_metric);
    let chosen = metric
        .and_then(|m| metrics.iter().position(|c| c.name == m))
        .or_else(|| primary.as_ref().and_then(|p| metrics.iter().position(|c| &c.name == p)))
        .or(if metrics.is_empty() { None } else { Some(0) });
    let histogram = chosen.map(|k| {
        let values: Vec<Option<f64>> = per_perturbation.iter().map(|p| p.values.get(k).copied().flatten()).collect();
        histogram(&metrics[k].name, &values)
    });
    Ok(Ok(SubmissionView {
        created: fmt_time(s.created),
        model_sha256: row.as_ref().map(|r| r.model_sha256.clone()),
        flags: row.map(|r| r.flags).unwrap_or_default(),
        task,
        view: view.as_str().into(),
        revealed,
        metrics,
        cells,
        shown,
        board_rank,
        scorecard_rank,
        per_perturbation,
        histogram,
        primary_metric: primary,
        error: error_for(&s, submitter),
        submission: s,
    }))
}

fn error_for(s: &SubmissionRow, submitter: bool) -> Option<String> {
    let e = s.error.as_ref()?;
    Some(if submitter { e.clone() } else { ERROR_HIDDEN.to_string() })
}

/// Unix seconds -> `YYYY-MM-DD HH:MM UTC`.
pub fn fmt_time(unix: i64) -> String {
    match chrono::DateTime::from_timestamp(unix, 0) {
        Some(t) => t.format("%Y-%m-%d %H:%M UTC").to_string(),
        None => format!("{unix} (unix seconds, out of range)"),
    }
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
