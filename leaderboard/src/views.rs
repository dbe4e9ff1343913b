//! View models shared by the HTML pages and their JSON twins: built from the database and the
//! stored boards and scorecards only (no metric is computed here; the plots in [`crate::plots`]
//! only place stored values), plus the CSV download of a board.

use crate::db::LbError;
use serde::Serialize;

use crate::board::{Board, BoardRow, Cell, Flag, MetricCol, ReferenceScores, RowScores, SubgroupCol, cell, fmt3};
use crate::card::CardView;
use crate::db::{Db, SubmissionRow, TaskRow};
use crate::plots::{Forest, ForestInput, Histogram, Scatter, forest, histogram, scatter};
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
    /// The row's page: `/submissions/ID?view=...` or `/tasks/TASK/rows/NAME?view=...`.
    pub href: Option<String>,
    /// The primary metric per subgroup column of the board, as shown.
    pub subgroup_texts: Vec<String>,
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
    /// Subgroup columns (the primary metric per subgroup), when the view has two or more.
    pub subgroups: Vec<SubgroupCol>,
    /// Per metric, the means and CIs of this page's rows and the ceiling.
    pub forests: Vec<Forest>,
    /// Gaming-probe flags on the metric columns (this view's).
    pub n_flags: usize,
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

fn lb_row(row: BoardRow, metrics: &[MetricCol], task: &str, view: View) -> LbRow {
    let href = match (&row.submission_id, reference_name(&row)) {
        (Some(id), _) => Some(format!("/submissions/{id}?view={}", view.as_str())),
        (None, Some(name)) => Some(format!("/tasks/{task}/rows/{}?view={}", path_segment(&name), view.as_str())),
        (None, None) => None,
    };
    let subgroup_texts = row.subgroup_cells.iter().map(|c| c.text.clone()).collect();
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
    LbRow { rank: None, rank_text, shown, href, subgroup_texts, row }
}

/// The leaderboard of `task` in the requested view (an error message when that view is not
/// revealed), read from the board stored at write time: filtered by kind (`all`, a model kind,
/// or `self-reported`), sorted by a metric (default: the primary metric, best first), one page.
pub fn leaderboard(db: &Db, task: TaskRow, q: &LbRequest<'_>) -> Result<Result<LeaderboardView, String>, LbError> {
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
            subgroups: Vec::new(),
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
        .map(|r| lb_row(r, &metrics, &task.id, view))
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
    let ceiling: Vec<LbRow> = board.ceiling.into_iter().map(|r| lb_row(r, &metrics, &task.id, view)).collect();
    let total_rows = rows.len();
    let pages = total_rows.div_ceil(PAGE_SIZE).max(1);
    let page = q.page.unwrap_or(1).clamp(1, pages);
    let rows: Vec<LbRow> = rows.into_iter().skip((page - 1) * PAGE_SIZE).take(PAGE_SIZE).collect();
    let level = board.bootstrap.as_ref().map_or(0.95, |b| b.level);
    let n_flags = metrics.iter().map(|m| m.flags.len()).sum();
    // The sorted metric first.
    let plot_order: Vec<usize> =
        std::iter::once(sort_idx).chain((0..metrics.len()).filter(|&k| k != sort_idx)).collect();
    let forests = plot_order
        .into_iter()
        .filter(|&k| k < metrics.len())
        .map(|k| {
            let inputs: Vec<ForestInput<'_>> = rows
                .iter()
                .chain(&ceiling)
                .map(|r| {
                    let c = r.row.cells.get(k);
                    ForestInput {
                        label: &r.row.label,
                        mean: c.and_then(|c| c.mean),
                        lower: c.and_then(|c| c.lower),
                        upper: c.and_then(|c| c.upper),
                        text: c.map_or("n/a", |c| c.text.as_str()),
                        ceiling: r.row.kind == "ceiling",
                    }
                })
                .collect();
            forest(&metrics[k].name, metrics[k].better, level, &inputs)
        })
        .collect();
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
        subgroups: board.subgroups,
        forests,
        n_flags,
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
fn visible_scores(db: &Db, s: &SubmissionRow, view: View) -> Result<Option<RowScores>, LbError> {
    match db.row_scores(&s.task_id, Some(s.id), view.as_str())? {
        Some(j) => serde_json::from_str(&j).map(Some).map_err(|e| LbError(format!("stored scores of {}: {e}", s.id))),
        None => Ok(None),
    }
}

pub fn summary(db: &Db, s: &SubmissionRow) -> Result<SubmissionSummary, LbError> {
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

pub fn home(db: &Db) -> Result<HomeView, LbError> {
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

/// One subgroup of a row's view: how many items it holds and each metric's mean [CI] over them.
#[derive(Debug, Clone, Serialize)]
pub struct SubgroupRow {
    pub subgroup: String,
    pub n: usize,
    /// One per metric, in the order of the page's metrics.
    pub texts: Vec<String>,
}

/// What the page of any board row shows (a submission, a baseline, the reference model, the
/// ceiling): its scores in one view, per subgroup and per perturbation, the histogram of one
/// metric and the comparison with the best baseline on it.
#[derive(Debug, Clone, Serialize)]
pub struct RowDetail {
    /// `public` or `private`: which test perturbations the scores below are over.
    pub view: String,
    pub revealed: bool,
    pub metrics: Vec<MetricCol>,
    /// The row's summary cells in this view (same order as `metrics`).
    pub cells: Vec<Cell>,
    /// The same as shown, with the way from the best baseline to the ceiling on the task's board.
    pub shown: Vec<ShownCell>,
    /// Rank on the task's board in this view: `2 (1–3), group A`.
    pub board_rank: Option<String>,
    /// The gaming-probe flags of this row's scorecard audit in this view.
    pub flags: Vec<Flag>,
    /// Per subgroup of the view's items, when there are two or more.
    pub subgroups: Vec<SubgroupRow>,
    pub per_perturbation: Vec<PertRowView>,
    /// The metric the histogram and the comparison show (`?metric=`, default the primary).
    pub metric: Option<String>,
    pub histogram: Option<Histogram>,
    /// Per perturbation, this row against the best baseline of the board in this view.
    pub comparison: Option<Scatter>,
    pub model_sha256: Option<String>,
}

/// The stored board of a task in one view, if built.
fn stored_board(db: &Db, task: &str, view: View) -> Result<Option<Board>, LbError> {
    db.board(task, view.as_str())?.map(|j| Board::parse(&j)).transpose()
}

/// The stored reference rows of a task in one view, if any.
fn stored_reference(db: &Db, task: &str, view: View) -> Result<Option<ReferenceScores>, LbError> {
    Ok(db
        .row_scores(task, None, view.as_str())?
        .map(|j| serde_json::from_str(&j).map_err(|e| format!("stored reference scores: {e}")))
        .transpose()?)
}

/// The name of a board row among the task's reference rows (boards stored before rows carried
/// it name baselines only in their label).
fn reference_name(r: &BoardRow) -> Option<String> {
    r.reference_row.clone().or_else(|| r.label.strip_prefix("baseline: ").map(str::to_string))
}

/// The baseline of `board` with the best stored mean on its primary metric.
fn best_baseline(board: &Board) -> Option<String> {
    let k = board.metrics.iter().position(|m| m.name == board.primary_metric)?;
    let better = board.metrics[k].better;
    board
        .rows
        .iter()
        .filter(|r| r.kind == "baseline")
        .filter_map(|r| Some((r.cells.get(k)?.mean.filter(|v| v.is_finite())?, r)))
        .reduce(|a, b| if better.is_better(b.0, a.0) { b } else { a })
        .and_then(|(_, r)| reference_name(r))
}

/// Builds a row page's detail from the row's stored scores in `view` and the stored board.
/// `own_reference` is the row's reference name (a baseline is not compared with itself);
/// `shown_name` names the row on the plots.
#[allow(clippy::too_many_arguments)]
fn row_detail(
    db: &Db,
    task: &str,
    view: View,
    revealed: bool,
    row: Option<RowScores>,
    on_board: impl Fn(&BoardRow) -> bool,
    metric: Option<&str>,
    primary: Option<&str>,
    own_reference: Option<&str>,
    shown_name: &str,
) -> Result<RowDetail, LbError> {
    let board = stored_board(db, task, view)?;
    let on_board = board.as_ref().and_then(|b| b.rows.iter().chain(&b.ceiling).find(|r| on_board(r)));
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
                toward: if on_board.is_some_and(|r| r.kind == "baseline") { String::new() } else { percent(toward) },
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
    let mut subgroups: Vec<SubgroupRow> = Vec::new();
    if let Some(r) = &row {
        let names: Vec<&str> =
            r.metrics.first().map(|m| m.by_subgroup.iter().map(|g| g.subgroup.as_str()).collect()).unwrap_or_default();
        if names.len() >= 2 {
            for name in names {
                subgroups.push(SubgroupRow {
                    subgroup: name.to_string(),
                    n: r.per_perturbation.iter().filter(|p| p.subgroup_name() == name).count(),
                    texts: r
                        .metrics
                        .iter()
                        .map(|m| cell(m.by_subgroup.iter().find(|g| g.subgroup == name).map(|g| &g.interval)).text)
                        .collect(),
                });
            }
        }
    }
    let chosen = metric
        .and_then(|m| metrics.iter().position(|c| c.name == m))
        .or_else(|| primary.and_then(|p| metrics.iter().position(|c| c.name == p)))
        .or(if metrics.is_empty() { None } else { Some(0) });
    let histogram = chosen.map(|k| {
        let values: Vec<Option<f64>> = per_perturbation.iter().map(|p| p.values.get(k).copied().flatten()).collect();
        histogram(&metrics[k].name, &values)
    });
    let comparison = match (chosen, board.as_ref().and_then(best_baseline), &row) {
        (Some(k), Some(best), Some(r)) if own_reference != Some(best.as_str()) => {
            let reference = stored_reference(db, task, view)?;
            let base = reference.and_then(|x| x.rows.into_iter().find(|b| b.name == best));
            base.and_then(|b| {
                let kb = b.metrics.iter().position(|m| m.metric == metrics[k].name)?;
                let by_label: std::collections::HashMap<&str, Option<f64>> = b
                    .per_perturbation
                    .iter()
                    .map(|p| (p.perturbation.as_str(), p.values.get(kb).copied().flatten()))
                    .collect();
                let pairs: Vec<(String, Option<f64>, Option<f64>)> = r
                    .per_perturbation
                    .iter()
                    .map(|p| {
                        let x = by_label.get(p.perturbation.as_str()).copied().flatten();
                        (p.perturbation.clone(), p.values.get(k).copied().flatten(), x)
                    })
                    .collect();
                Some(scatter(&metrics[k].name, shown_name, &format!("baseline: {best}"), &pairs))
            })
        }
        _ => None,
    };
    Ok(RowDetail {
        view: view.as_str().into(),
        revealed,
        metric: chosen.map(|k| metrics[k].name.clone()),
        metrics,
        cells,
        shown,
        board_rank,
        flags: row.as_ref().map(|r| r.flags.clone()).unwrap_or_default(),
        subgroups,
        per_perturbation,
        histogram,
        comparison,
        model_sha256: row.map(|r| r.model_sha256),
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct SubmissionView {
    pub submission: SubmissionRow,
    pub created: String,
    pub task: Option<TaskRow>,
    /// Rank among its own scorecard's rows on every test perturbation (the scorecard's
    /// `rank_confidence`): shown only in the private view, once revealed.
    pub scorecard_rank: Option<String>,
    pub primary_metric: Option<String>,
    /// Why scoring failed, for the submitter (who proved it with the receipt or the submitting
    /// token); anyone else learns only that it failed.
    pub error: Option<String>,
    #[serde(flatten)]
    pub detail: RowDetail,
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
) -> Result<Result<SubmissionView, String>, LbError> {
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
    let card = s.scorecard.as_deref().and_then(|j| CardView::parse(j).ok());
    let primary = card.as_ref().map(|c| c.primary_metric.clone());
    let id = s.id;
    let detail = row_detail(
        db,
        &s.task_id,
        view,
        revealed,
        row,
        |r| r.submission_id == Some(id),
        metric,
        primary.as_deref(),
        None,
        &s.name,
    )?;
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
    Ok(Ok(SubmissionView {
        created: fmt_time(s.created),
        task,
        scorecard_rank,
        primary_metric: primary,
        error: error_for(&s, submitter),
        submission: s,
        detail,
    }))
}

/// The page of one of a task's reference rows: a baseline, the reference model or the noise
/// ceiling, scored on the same test perturbations as every submission.
#[derive(Debug, Clone, Serialize)]
pub struct ReferenceRowView {
    pub task: TaskRow,
    /// The row's name in the reference scorecard (`linear`, `control-mean`, ...).
    pub name: String,
    /// The name as a URL path segment (percent-encoded).
    pub name_path: String,
    /// As the board labels it: `baseline: linear`, `noise ceiling (reference, not ranked)`, ...
    pub label: String,
    /// `baseline`, `reference` or `ceiling`.
    pub kind: String,
    /// Where the reference scorecard was computed (`server`, `demo`, ...).
    pub source: String,
    pub primary_metric: String,
    #[serde(flatten)]
    pub detail: RowDetail,
}

/// Why a reference row's page cannot be shown.
#[derive(Debug)]
pub enum RowRefusal {
    /// The view is not revealed (403).
    Hidden(String),
    /// No such row (404).
    Missing(String),
}

pub fn reference_row(
    db: &Db,
    task: TaskRow,
    name: &str,
    view: Option<View>,
    metric: Option<&str>,
) -> Result<Result<ReferenceRowView, RowRefusal>, LbError> {
    let view = view.unwrap_or(View::default_for(task.revealed));
    if !view.visible(task.revealed) {
        return Ok(Err(RowRefusal::Hidden(format!(
            "the private scores of '{}' are hidden until the organisers reveal them; see /tasks/{}",
            task.id, task.id
        ))));
    }
    let Some(reference) = stored_reference(db, &task.id, view)? else {
        return Ok(Err(RowRefusal::Missing(format!(
            "task '{}' has no baselines or noise ceiling yet (they come with its first scored upload)",
            task.id
        ))));
    };
    let Some(row) = reference.rows.iter().find(|r| r.name == name).cloned() else {
        let names: Vec<&str> = reference.rows.iter().map(|r| r.name.as_str()).collect();
        return Ok(Err(RowRefusal::Missing(format!(
            "task '{}' has no reference row '{name}'; its rows are: {}",
            task.id,
            names.join(", ")
        ))));
    };
    let board = stored_board(db, &task.id, view)?;
    let label = board
        .iter()
        .flat_map(|b| b.rows.iter().chain(&b.ceiling))
        .find(|r| r.submission_id.is_none() && reference_name(r).as_deref() == Some(name))
        .map(|r| r.label.clone())
        .unwrap_or_else(|| name.to_string());
    let (kind, owned) = (row.kind.clone(), name.to_string());
    let detail = row_detail(
        db,
        &task.id,
        view,
        task.revealed,
        Some(row),
        |r| r.submission_id.is_none() && reference_name(r).as_deref() == Some(owned.as_str()),
        metric,
        Some(&reference.primary_metric),
        Some(name),
        &label,
    )?;
    Ok(Ok(ReferenceRowView {
        name: name.to_string(),
        name_path: path_segment(name),
        label,
        kind,
        source: reference.source.clone(),
        primary_metric: reference.primary_metric.clone(),
        detail,
        task,
    }))
}

/// Percent-encodes a path segment (a reference row's name in its page's URL).
pub fn path_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A task's whole board in `view` (every row, the ceiling last) as CSV: one line per row with
/// the board rank and its interval, the tie group, and per metric the mean, the CI bounds and the
/// way to the ceiling, then the primary metric per subgroup; `Err` when the view is hidden.
pub fn board_csv(db: &Db, task: &TaskRow, view: Option<View>) -> Result<Result<String, String>, LbError> {
    let view = view.unwrap_or(View::default_for(task.revealed));
    if !view.visible(task.revealed) {
        return Ok(Err(format!(
            "the private leaderboard of '{}' is hidden until the organisers reveal it; download the public view at /tasks/{}/board.csv",
            task.id, task.id
        )));
    }
    let board = stored_board(db, &task.id, view)?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| format!("writing the CSV: {e}");
    let (metrics, subgroups, primary) = match &board {
        Some(b) => (b.metrics.clone(), b.subgroups.clone(), b.primary_metric.clone()),
        None => (Vec::new(), Vec::new(), String::new()),
    };
    let mut header: Vec<String> = [
        "view",
        "rank",
        "rank_lower",
        "rank_upper",
        "tie_group",
        "row",
        "kind",
        "source",
        "submission_id",
        "reference_row",
    ]
    .map(String::from)
    .to_vec();
    for m in &metrics {
        for part in ["mean", "ci_lower", "ci_upper", "toward_ceiling"] {
            header.push(format!("{}_{part}", m.name));
        }
    }
    for g in &subgroups {
        for part in ["mean", "ci_lower", "ci_upper"] {
            header.push(format!("{primary}_{}_{part}", g.name));
        }
    }
    header.push("probe_flags".into());
    w.write_record(&header).map_err(err)?;
    let num = |v: Option<f64>| v.filter(|v| v.is_finite()).map(|v| v.to_string()).unwrap_or_default();
    for r in board.iter().flat_map(|b| b.rows.iter().chain(&b.ceiling)) {
        let rank = r.rank_interval;
        let mut rec: Vec<String> = vec![
            view.as_str().into(),
            rank.map(|k| k.rank.to_string()).unwrap_or_default(),
            rank.map(|k| k.lower.to_string()).unwrap_or_default(),
            rank.map(|k| k.upper.to_string()).unwrap_or_default(),
            r.tie_group.clone().unwrap_or_default(),
            r.label.clone(),
            r.kind.clone(),
            r.source.clone(),
            r.submission_id.map(|i| i.to_string()).unwrap_or_default(),
            if r.submission_id.is_none() { reference_name(r).unwrap_or_default() } else { String::new() },
        ];
        for (k, _) in metrics.iter().enumerate() {
            let c = r.cells.get(k);
            rec.push(num(c.and_then(|c| c.mean)));
            rec.push(num(c.and_then(|c| c.lower)));
            rec.push(num(c.and_then(|c| c.upper)));
            rec.push(if r.kind == "baseline" {
                String::new()
            } else {
                num(r.toward_ceiling.get(k).copied().flatten())
            });
        }
        for (k, _) in subgroups.iter().enumerate() {
            let c = r.subgroup_cells.get(k);
            rec.push(num(c.and_then(|c| c.mean)));
            rec.push(num(c.and_then(|c| c.lower)));
            rec.push(num(c.and_then(|c| c.upper)));
        }
        rec.push(r.flags.iter().map(|f| format!("{}: {}", f.metric, f.probe)).collect::<Vec<_>>().join("; "));
        w.write_record(&rec).map_err(err)?;
    }
    let bytes = w.into_inner().map_err(|e| format!("writing the CSV: {e}"))?;
    String::from_utf8(bytes).map(Ok).map_err(|e| LbError(e.to_string()))
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
}
