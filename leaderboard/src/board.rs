//! Write-time leaderboard computation, run by the scoring worker, `arena publish` and the demo
//! seeding (never by a web handler): each scored row's summaries per view (public/private split of
//! the test perturbations, [`crate::split`]) with bootstrap CIs, and each task's board per view
//! with every row's rank interval and tie group from a paired bootstrap over the view's
//! perturbations (`metrics::rank_confidence`), the fraction of the way from the best baseline to
//! the noise ceiling, and the gaming-probe flags of the scorecards' audits. The handlers only read
//! the stored results.

use crate::db::LbError;
use std::collections::HashMap;

use metrics::Better;
use metrics::rank_confidence::{RankInterval, group_label, rank_intervals};
use serde::{Deserialize, Serialize};

use crate::card::{CardView, FlagView, IntervalView, PertView, RowView};
use crate::db::Db;
use crate::split::{SplitKey, View, view_of};
use tasks::scorecard::BootstrapSettings;

/// Bootstrap settings when a scorecard has none.

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricCol {
    pub name: String,
    #[serde(rename = "higher_is_better")]
    pub better: Better,
    pub arrow: String,
    /// The metric's one-line definition from the catalog (empty for a name outside it).
    #[serde(default)]
    pub doc: String,
    /// Gaming-probe flags of this metric on the task (from the reference scorecard's audit).
    #[serde(default)]
    pub flags: Vec<Flag>,
}

impl MetricCol {
    pub fn new(name: &str, better: Better) -> Self {
        MetricCol {
            name: name.to_string(),
            better,
            arrow: better.arrow().to_string(),
            doc: metrics::catalog::eval(name).map_or(String::new(), |m| m.doc.to_string()),
            flags: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cell {
    pub mean: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    /// `0.123 [0.100, 0.150]` or `n/a`.
    pub text: String,
}

pub fn fmt3(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.3}"),
        _ => "n/a".into(),
    }
}

pub fn cell(i: Option<&IntervalView>) -> Cell {
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

/// A gaming-probe flag as shown. A view shows the flags its scoring job computed on that view's
/// perturbations only (the audit section's `views`), so the public board's flags depend on no
/// private perturbation, and the private view's wait for the reveal like every private number. A
/// scorecard without per-view flags (self-reported, or scored before they existed) has only
/// flags over every test perturbation: the private view shows those, the public view none.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flag {
    pub metric: String,
    pub probe: String,
    pub reason: Option<String>,
}

fn flags_for(card: &CardView, view: View) -> Vec<Flag> {
    let Some(audit) = &card.audit else { return Vec::new() };
    let shown: &[FlagView] = match audit.views.iter().find(|v| v.view == view.as_str()) {
        Some(v) => &v.flags,
        None if view == View::Private => &audit.flags,
        None => &[],
    };
    shown
        .iter()
        .map(|f| Flag { metric: f.metric.clone(), probe: f.probe.clone(), reason: Some(f.reason.clone()) })
        .collect()
}

/// One metric of one row in one view: the mean over the view's perturbations with its CI, overall
/// and per subgroup of the view's items (`combo_seen0`, `step_2`, ...).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub metric: String,
    #[serde(rename = "higher_is_better")]
    pub better: Better,
    pub overall: IntervalView,
    /// Per subgroup present in the view, in [`subgroup_order`].
    #[serde(default)]
    pub by_subgroup: Vec<SubgroupSummary>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubgroupSummary {
    pub subgroup: String,
    pub interval: IntervalView,
}

/// Sorts subgroup names by their text, then by a trailing number (`step_2` before `step_10`).
pub fn subgroup_order(a: &str, b: &str) -> std::cmp::Ordering {
    let split = |s: &str| {
        let digits = s.len() - s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let (text, number) = s.split_at(s.len() - digits);
        (text.to_string(), number.parse::<u64>().unwrap_or(0))
    };
    split(a).cmp(&split(b))
}

/// One scored row restricted to one view.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RowScores {
    pub name: String,
    pub kind: String,
    pub model_sha256: String,
    pub metrics: Vec<Summary>,
    /// Only the view's perturbations; `values` in the order of `metrics`.
    pub per_perturbation: Vec<PertView>,
    /// Metrics this row's scorecard audit flags.
    pub flags: Vec<Flag>,
}

fn interval(values: &[f64], boot: &BootstrapSettings) -> IntervalView {
    IntervalView::of(&metrics::bootstrap_mean_ci(values, boot.resamples, boot.level, boot.seed))
}

/// The items that count toward the headline: all but the first step of held-out sequences (a
/// condition also in training, reported apart as `step_1`), or all items when only those exist.
fn headline(items: &[PertView]) -> Vec<&PertView> {
    let kept: Vec<&PertView> = items.iter().filter(|p| p.subgroup_name() != "step_1").collect();
    if kept.is_empty() { items.iter().collect() } else { kept }
}

fn row_scores(
    key: &SplitKey,
    task: &str,
    row: &RowView,
    view: View,
    boot: &BootstrapSettings,
    flags: Vec<Flag>,
) -> RowScores {
    let kept: Vec<PertView> =
        row.per_perturbation.iter().filter(|p| view_of(key, task, &p.perturbation) == view).cloned().collect();
    let mut groups: Vec<String> = kept.iter().map(PertView::subgroup_name).filter(|g| !g.is_empty()).collect();
    groups.sort_by(|a, b| subgroup_order(a, b));
    groups.dedup();
    let metrics = row
        .metrics
        .iter()
        .enumerate()
        .map(|(k, m)| {
            let value = |p: &PertView| p.values.get(k).copied().flatten().unwrap_or(f64::NAN);
            let values: Vec<f64> = headline(&kept).iter().map(|p| value(p)).collect();
            let mut by_subgroup = Vec::new();
            for g in &groups {
                let values: Vec<f64> = kept.iter().filter(|p| &p.subgroup_name() == g).map(value).collect();
                by_subgroup.push(SubgroupSummary { subgroup: g.clone(), interval: interval(&values, boot) });
            }
            Summary { metric: m.metric.clone(), better: m.better, overall: interval(&values, boot), by_subgroup }
        })
        .collect();
    RowScores {
        name: row.name.clone(),
        kind: row.kind.clone(),
        model_sha256: row.model_sha256.clone(),
        metrics,
        per_perturbation: kept,
        flags,
    }
}

/// The reference rows of a task (baselines + noise ceiling) in one view.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReferenceScores {
    pub source: String,
    pub primary_metric: String,
    pub bootstrap: Option<BootstrapSettings>,
    pub notes: Vec<String>,
    /// The task-level audit flags.
    pub flags: Vec<Flag>,
    pub rows: Vec<RowScores>,
}

fn json<T: Serialize>(v: &T) -> Result<String, LbError> {
    serde_json::to_string(v).map_err(|e| LbError(e.to_string()))
}

/// Stores a scored submission's model row per view (call before [`rebuild`]).
pub fn record_submission(db: &Db, submission_id: i64, card: &CardView) -> Result<(), LbError> {
    let Some(row) = card.model_row() else { return Ok(()) };
    let boot = card.bootstrap.clone();
    let key = db.split_key()?;
    for view in View::ALL {
        let scores = row_scores(&key, &card.task.id, row, view, &boot, flags_for(card, view));
        db.set_row_scores(&card.task.id, Some(submission_id), view.as_str(), &json(&scores)?)?;
    }
    Ok(())
}

/// Stores a task's reference rows per view (call before [`rebuild`]).
pub fn record_reference(db: &Db, card: &CardView, source: &str) -> Result<(), LbError> {
    let boot = card.bootstrap.clone();
    let key = db.split_key()?;
    for view in View::ALL {
        let reference = ReferenceScores {
            source: source.to_string(),
            primary_metric: card.primary_metric.clone(),
            bootstrap: Some(card.bootstrap.clone()),
            notes: card.notes.clone(),
            flags: flags_for(card, view),
            rows: card
                .rows
                .iter()
                .filter(|r| r.is_arena_row())
                .map(|r| row_scores(&key, &card.task.id, r, view, &boot, Vec::new()))
                .collect(),
        };
        db.set_row_scores(&card.task.id, None, view.as_str(), &json(&reference)?)?;
    }
    Ok(())
}

/// One row of a board.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BoardRow {
    pub label: String,
    /// `predictions`, `onnx`, `baseline`, `ceiling`, ...
    pub kind: String,
    /// `server` (scored here), `self-reported`, or `reference` (baselines and ceiling).
    pub source: String,
    pub submission_id: Option<i64>,
    /// One per board metric.
    pub cells: Vec<Cell>,
    /// One per board metric: (value − best baseline) / (ceiling − best baseline), direction-adjusted.
    pub toward_ceiling: Vec<Option<f64>>,
    /// Rank on the primary metric with its paired-bootstrap interval and tie group.
    pub rank_interval: Option<RankInterval>,
    /// The tie group's label (A = top group).
    pub tie_group: Option<String>,
    /// Metrics this row's scorecard audit flags.
    pub flags: Vec<Flag>,
    /// The row's name among the task's reference rows (baselines, reference model, ceiling): its
    /// page is `/tasks/TASK/rows/NAME`; `None` for submissions (`/submissions/ID`).
    #[serde(default)]
    pub reference_row: Option<String>,
    /// The primary metric per subgroup column of the board ([`Board::subgroups`]).
    #[serde(default)]
    pub subgroup_cells: Vec<Cell>,
}

/// A subgroup column of a board: the primary metric over the view's items of one subgroup.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubgroupCol {
    pub name: String,
    /// The view's test items in the subgroup.
    pub n: usize,
}

/// A task's leaderboard in one view, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Board {
    pub view: String,
    pub primary_metric: String,
    pub metrics: Vec<MetricCol>,
    /// Test perturbations in this view.
    pub n_perturbations: usize,
    pub bootstrap: Option<BootstrapSettings>,
    pub reference_source: Option<String>,
    pub notes: Vec<String>,
    /// Models and baselines, best first by the primary metric's rank.
    pub rows: Vec<BoardRow>,
    /// The noise ceiling (a reference line, never ranked).
    pub ceiling: Vec<BoardRow>,
    /// Subgroup columns (combinatorial: combo_seen0/1/2; multi-step: step_1, step_2, ...), shown
    /// when the view's items fall in two or more subgroups.
    #[serde(default)]
    pub subgroups: Vec<SubgroupCol>,
}

impl Board {
    pub fn parse(json: &str) -> Result<Self, LbError> {
        serde_json::from_str(json).map_err(|e| LbError(format!("stored board: {e}")))
    }
}

/// Recomputes and stores both views of a task's board from the stored row scores.
pub fn rebuild(db: &Db, task_id: &str) -> Result<(), LbError> {
    for view in View::ALL {
        store_with_retries(db, task_id, view, |_| compute(db, task_id, view))?;
    }
    Ok(())
}

/// How often a board write that lost a race with another writer is recomputed and tried again.
const WRITE_ATTEMPTS: usize = 8;

/// Board writes of this process, one at a time: ranking a large board takes seconds, and two
/// workers computing at once would make one of them compute again (the compare-and-swap below
/// still guards against other servers on the same database).
static BOARD_WRITES: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Stores a board computed by `make` from the stored state it read (board JSON, rank inputs
/// JSON), unless another writer stored one in between (compare-and-swap on the board's revision):
/// then it reads and computes again.
fn store_with_retries(
    db: &Db,
    task_id: &str,
    view: View,
    mut make: impl FnMut(Option<(&str, &str)>) -> Result<(Board, RankInputs), LbError>,
) -> Result<(), LbError> {
    let _one_at_a_time = BOARD_WRITES.lock().unwrap_or_else(|p| p.into_inner());
    for _ in 0..WRITE_ATTEMPTS {
        let state = db.board_state(task_id, view.as_str())?;
        let revision = state.as_ref().map(|s| s.revision);
        let stored = state.as_ref().and_then(|s| Some((s.board.as_str(), s.ranks.as_deref()?)));
        let (board, ranks) = make(stored)?;
        if db.swap_board(task_id, view.as_str(), revision, &json(&board)?, &json(&ranks)?)? {
            return Ok(());
        }
    }
    Err(format!("the {} board of '{task_id}' kept changing under {WRITE_ATTEMPTS} writes; try again", view.as_str())
        .into())
}

/// Every stored row of a task in one view, read and assembled into its board.
fn compute(db: &Db, task_id: &str, view: View) -> Result<(Board, RankInputs), LbError> {
    let reference: Option<ReferenceScores> = match db.row_scores(task_id, None, view.as_str())? {
        Some(j) => Some(serde_json::from_str(&j).map_err(|e| format!("stored reference scores: {e}"))?),
        None => None,
    };
    let mut entries: Vec<(RowScores, String, String, Option<i64>)> = Vec::new();
    for (s, j) in db.task_row_scores(task_id, view.as_str())? {
        let scores: RowScores = serde_json::from_str(&j).map_err(|e| format!("stored scores of {}: {e}", s.id))?;
        entries.push((scores, s.name, s.source, Some(s.id)));
    }
    if let Some(r) = &reference {
        for row in &r.rows {
            let label = match row.kind.as_str() {
                "ceiling" => "noise ceiling (reference, not ranked)".to_string(),
                "reference" => "reference model (bundled weights)".to_string(),
                _ => format!("baseline: {}", row.name),
            };
            entries.push((row.clone(), label, "reference".into(), None));
        }
    }
    Ok(assemble(view, reference.as_ref(), entries))
}

/// Puts one newly scored submission on its task's boards: its row is added to (or replaces its
/// old row on) each stored board, and every row's rank interval and tie group is recomputed
/// from the stored rank inputs, without reading or reassembling the other rows. Falls back to
/// [`rebuild`]'s full computation where the stored board cannot take the row as it is (no rank
/// inputs stored yet, another metric list, a test item the board does not have).
pub fn add_row(db: &Db, task_id: &str, submission_id: i64) -> Result<(), LbError> {
    let s = db.submission(submission_id)?.ok_or_else(|| format!("no submission {submission_id}"))?;
    for view in View::ALL {
        let Some(j) = db.row_scores(task_id, Some(submission_id), view.as_str())? else { continue };
        let row: RowScores = serde_json::from_str(&j).map_err(|e| format!("stored scores of {submission_id}: {e}"))?;
        store_with_retries(db, task_id, view, |stored| {
            if let Some((board, ranks)) = stored {
                let board = Board::parse(board)?;
                let ranks: RankInputs = serde_json::from_str(ranks).map_err(|e| format!("stored rank inputs: {e}"))?;
                if let Some(done) = insert(board, ranks, row.clone(), &s.name, &s.source, submission_id) {
                    return Ok(done);
                }
            }
            compute(db, task_id, view)
        })?;
    }
    Ok(())
}

/// Which board row a rank column belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowKey {
    Submission(i64),
    /// A reference row (baseline, reference model) by name.
    Reference(String),
}

impl RowKey {
    fn of(row: &BoardRow) -> Option<RowKey> {
        match (&row.submission_id, &row.reference_row) {
            (Some(id), _) => Some(RowKey::Submission(*id)),
            (None, Some(name)) => Some(RowKey::Reference(name.clone())),
            _ => None,
        }
    }
}

/// What ranking a board takes besides its rows' cells, stored beside it: the view's headline
/// items (labels) with their resampling units, and per ranked row (submissions by id, then the
/// reference rows) its primary-metric value on each item. With it a new row is ranked against
/// every other without reading their scores again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RankInputs {
    pub labels: Vec<String>,
    pub units: Vec<usize>,
    #[serde(rename = "higher_is_better")]
    pub better: Better,
    pub bootstrap: BootstrapSettings,
    pub keys: Vec<RowKey>,
    /// `columns[r][i]`: row `keys[r]`'s value on item `labels[i]` (`None`: undefined or absent).
    pub columns: Vec<Vec<Option<f64>>>,
}

impl RankInputs {
    fn intervals(&self) -> Vec<RankInterval> {
        let columns: Vec<Vec<f64>> =
            self.columns.iter().map(|c| c.iter().map(|v| v.unwrap_or(f64::NAN)).collect()).collect();
        let views: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
        let b = &self.bootstrap;
        rank_intervals(&views, &self.units, self.better, b.resamples, b.level, b.seed)
    }
}

/// Best baseline and ceiling mean per metric of a board, for the way toward the ceiling.
fn anchors_of(board: &Board) -> Vec<Option<(f64, f64)>> {
    board
        .metrics
        .iter()
        .enumerate()
        .map(|(k, m)| {
            let better = |a: f64, b: f64| m.better.best_of(a, b);
            let mean = |r: &BoardRow| r.cells.get(k).and_then(|c| c.mean);
            let best = board.rows.iter().filter(|r| r.kind == "baseline").filter_map(mean).reduce(better)?;
            let ceiling = board.ceiling.iter().find(|r| r.kind == "ceiling").and_then(mean)?;
            Some((best, ceiling))
        })
        .collect()
}

/// `board` with submission `id`'s row added (or replaced), every rank recomputed; `None` where
/// the row does not fit the stored board (then the board is rebuilt in full).
fn insert(
    mut board: Board,
    mut ranks: RankInputs,
    row: RowScores,
    name: &str,
    source: &str,
    id: i64,
) -> Option<(Board, RankInputs)> {
    let same_metrics = row.metrics.len() == board.metrics.len()
        && row.metrics.iter().zip(&board.metrics).all(|(a, b)| a.metric == b.name && a.better == b.better);
    if !same_metrics || ranks.keys.len() != ranks.columns.len() {
        return None;
    }
    let index: HashMap<&str, usize> = ranks.labels.iter().enumerate().map(|(i, l)| (l.as_str(), i)).collect();
    let k = row.metrics.iter().position(|m| m.metric == board.primary_metric)?;
    let mut column = vec![None; ranks.labels.len()];
    for p in headline(&row.per_perturbation) {
        column[*index.get(p.perturbation.as_str())?] = p.values.get(k).copied().flatten().filter(|v| v.is_finite());
    }
    let known: std::collections::HashSet<&str> = board.subgroups.iter().map(|g| g.name.as_str()).collect();
    if !board.subgroups.is_empty() && row.per_perturbation.iter().any(|p| !known.contains(p.subgroup_name().as_str())) {
        return None;
    }
    // Out with the row's old version, in with the new one (submissions in id order, then the
    // reference rows, as the full computation orders them).
    let key = RowKey::Submission(id);
    if let Some(at) = ranks.keys.iter().position(|k| *k == key) {
        ranks.keys.remove(at);
        ranks.columns.remove(at);
    }
    board.rows.retain(|r| r.submission_id != Some(id));
    let at = ranks
        .keys
        .iter()
        .position(|k| match k {
            RowKey::Submission(other) => *other > id,
            RowKey::Reference(_) => true,
        })
        .unwrap_or(ranks.keys.len());
    ranks.keys.insert(at, key);
    ranks.columns.insert(at, column);
    let anchors = anchors_of(&board);
    let new = board_row(
        row,
        name.to_string(),
        source.to_string(),
        Some(id),
        &board.metrics,
        &anchors,
        &board.primary_metric,
        &board.subgroups,
        None,
    );
    board.rows.push(new);
    let intervals = ranks.intervals();
    let primary_k = board.metrics.iter().position(|m| m.name == board.primary_metric);
    let position = |r: &BoardRow| RowKey::of(r).and_then(|key| ranks.keys.iter().position(|k| *k == key));
    for r in &mut board.rows {
        let has_mean = primary_k.and_then(|k| r.cells.get(k)).is_some_and(|c| c.mean.is_some());
        let rank = position(r).map(|p| intervals[p]).filter(|_| has_mean);
        r.tie_group = rank.map(|x| group_label(x.tie_group));
        r.rank_interval = rank;
    }
    board
        .rows
        .sort_by_key(|r| (r.rank_interval.map(|k| k.rank).unwrap_or(usize::MAX), position(r).unwrap_or(usize::MAX)));
    Some((board, ranks))
}

/// One board row from a row's scores in a view.
#[allow(clippy::too_many_arguments)]
fn board_row(
    row: RowScores,
    label: String,
    source: String,
    id: Option<i64>,
    metrics: &[MetricCol],
    anchors: &[Option<(f64, f64)>],
    primary: &str,
    subgroups: &[SubgroupCol],
    rank: Option<RankInterval>,
) -> BoardRow {
    let mean_of = |row: &RowScores, metric: &str| row.metrics.iter().find(|m| m.metric == metric)?.overall.mean;
    let cells = metrics
        .iter()
        .map(|m| cell(row.metrics.iter().find(|x| x.metric == m.name).map(|x| &x.overall)))
        .collect::<Vec<_>>();
    let toward_ceiling = metrics
        .iter()
        .zip(anchors)
        .map(|(m, t)| {
            let (best, ceiling) = (*t)?;
            metrics::toward_ceiling::fraction(mean_of(&row, &m.name)?, best, ceiling, m.better)
        })
        .collect();
    let rank = rank.filter(|_| mean_of(&row, primary).is_some());
    let by_subgroup = row.metrics.iter().find(|m| m.metric == primary).map(|m| m.by_subgroup.as_slice());
    let subgroup_cells = subgroups
        .iter()
        .map(|g| cell(by_subgroup.unwrap_or_default().iter().find(|s| s.subgroup == g.name).map(|s| &s.interval)))
        .collect();
    let reference_row = (id.is_none() && source == "reference").then(|| row.name.clone());
    BoardRow {
        label,
        kind: row.kind.clone(),
        source,
        submission_id: id,
        cells,
        toward_ceiling,
        tie_group: rank.map(|r| group_label(r.tie_group)),
        rank_interval: rank,
        flags: row.flags,
        reference_row,
        subgroup_cells,
    }
}

fn assemble(
    view: View,
    reference: Option<&ReferenceScores>,
    entries: Vec<(RowScores, String, String, Option<i64>)>,
) -> (Board, RankInputs) {
    let mut metrics: Vec<MetricCol> = Vec::new();
    for (row, ..) in &entries {
        for m in &row.metrics {
            if !metrics.iter().any(|c| c.name == m.metric) {
                metrics.push(MetricCol::new(&m.metric, m.better));
            }
        }
    }
    for f in reference.iter().flat_map(|r| r.flags.iter()) {
        if let Some(c) = metrics.iter_mut().find(|c| c.name == f.metric) {
            c.flags.push(f.clone());
        }
    }
    let primary = reference
        .map(|r| r.primary_metric.clone())
        .filter(|p| metrics.iter().any(|m| &m.name == p))
        .or_else(|| metrics.first().map(|m| m.name.clone()))
        .unwrap_or_default();
    let mean_of = |row: &RowScores, metric: &str| row.metrics.iter().find(|m| m.metric == metric)?.overall.mean;

    // Best baseline and ceiling per metric, for the way toward the ceiling.
    let anchors: Vec<Option<(f64, f64)>> = metrics
        .iter()
        .map(|m| {
            let better = |a: f64, b: f64| m.better.best_of(a, b);
            let best = entries
                .iter()
                .filter(|(r, ..)| r.kind == "baseline")
                .filter_map(|(r, ..)| mean_of(r, &m.name))
                .reduce(better)?;
            let ceiling = entries.iter().find(|(r, ..)| r.kind == "ceiling").and_then(|(r, ..)| mean_of(r, &m.name))?;
            Some((best, ceiling))
        })
        .collect();

    // Paired bootstrap over the view's perturbations (aligned by label) on the primary metric.
    let ranked: Vec<usize> = (0..entries.len()).filter(|&i| entries[i].0.kind != "ceiling").collect();
    let mut labels: HashMap<String, usize> = HashMap::new();
    // Resampling units as the scorecards have them: the steps of a held-out sequence (step_2, …
    // after its step_1) are one unit, every other item its own.
    let mut units: Vec<usize> = Vec::new();
    for &i in &ranked {
        for p in headline(&entries[i].0.per_perturbation) {
            let n = labels.len();
            labels.entry(p.perturbation.clone()).or_insert_with(|| {
                let later_step = p.subgroup.get("step").and_then(|k| k.as_u64()).is_some_and(|k| k > 1);
                let unit = match units.last() {
                    Some(&u) if later_step => u,
                    Some(&u) => u + 1,
                    None => 0,
                };
                units.push(unit);
                n
            });
        }
    }
    let columns: Vec<Vec<f64>> = ranked
        .iter()
        .map(|&i| {
            let row = &entries[i].0;
            let mut col = vec![f64::NAN; labels.len()];
            if let Some(k) = row.metrics.iter().position(|m| m.metric == primary) {
                for p in headline(&row.per_perturbation) {
                    col[labels[p.perturbation.as_str()]] = p.values.get(k).copied().flatten().unwrap_or(f64::NAN);
                }
            }
            col
        })
        .collect();
    // Subgroup columns: each subgroup of the view's items, with how many items it holds.
    let mut subgroup_of: HashMap<&str, String> = HashMap::new();
    for (row, ..) in &entries {
        for p in &row.per_perturbation {
            subgroup_of.entry(p.perturbation.as_str()).or_insert_with(|| p.subgroup_name());
        }
    }
    let mut subgroups: Vec<SubgroupCol> = Vec::new();
    for g in subgroup_of.values().filter(|g| !g.is_empty()) {
        match subgroups.iter_mut().find(|c| &c.name == g) {
            Some(c) => c.n += 1,
            None => subgroups.push(SubgroupCol { name: g.clone(), n: 1 }),
        }
    }
    subgroups.sort_by(|a, b| subgroup_order(&a.name, &b.name));
    if subgroups.len() < 2 {
        subgroups.clear();
    }
    let direction = metrics.iter().find(|m| m.name == primary).map_or(Better::Higher, |m| m.better);
    let boot = reference.and_then(|r| r.bootstrap.clone()).unwrap_or_default();
    let views: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
    let ranks = rank_intervals(&views, &units, direction, boot.resamples, boot.level, boot.seed);
    let mut rank_of: HashMap<usize, RankInterval> = ranked.iter().copied().zip(ranks).collect();

    let mut ordered = vec![String::new(); labels.len()];
    for (l, &i) in &labels {
        ordered[i] = l.clone();
    }
    let rank_inputs = RankInputs {
        labels: ordered,
        units: units.clone(),
        better: direction,
        bootstrap: boot.clone(),
        keys: ranked
            .iter()
            .map(|&i| match entries[i].3 {
                Some(id) => RowKey::Submission(id),
                None => RowKey::Reference(entries[i].0.name.clone()),
            })
            .collect(),
        columns: columns.iter().map(|c| c.iter().map(|v| Some(*v).filter(|v| v.is_finite())).collect()).collect(),
    };
    let mut rows = Vec::new();
    let mut ceiling = Vec::new();
    for (i, (row, label, source, id)) in entries.into_iter().enumerate() {
        let rank = rank_of.remove(&i);
        let out = board_row(row, label, source, id, &metrics, &anchors, &primary, &subgroups, rank);
        if out.kind == "ceiling" { ceiling.push(out) } else { rows.push(out) }
    }
    rows.sort_by_key(|r| r.rank_interval.map(|k| k.rank).unwrap_or(usize::MAX));
    let board = Board {
        view: view.as_str().to_string(),
        primary_metric: primary,
        metrics,
        n_perturbations: labels.len(),
        bootstrap: reference.and_then(|r| r.bootstrap.clone()),
        reference_source: reference.map(|r| r.source.clone()),
        notes: reference.map(|r| r.notes.clone()).unwrap_or_default(),
        rows,
        ceiling,
        subgroups,
    };
    (board, rank_inputs)
}

/// Fills in view scores and boards missing from a database written before they existed.
pub fn backfill(db: &Db) -> Result<usize, LbError> {
    let mut tasks: Vec<String> = Vec::new();
    let ids = db.submissions_without_scores()?;
    for &id in &ids {
        let Some(s) = db.submission(id)? else { continue };
        if let Some(card) = s.scorecard.as_deref().and_then(|j| CardView::parse(j).ok()) {
            record_submission(db, id, &card)?;
            tasks.push(s.task_id);
        }
    }
    for t in db.tasks()? {
        if db.row_scores(&t.id, None, View::Public.as_str())?.is_none()
            && let Some((json, source)) = db.reference(&t.id)?
        {
            record_reference(db, &CardView::parse(&json)?, &source)?;
            tasks.push(t.id.clone());
        }
        if db.board(&t.id, View::Public.as_str())?.is_none() {
            tasks.push(t.id);
        }
    }
    tasks.sort();
    tasks.dedup();
    for t in &tasks {
        rebuild(db, t)?;
    }
    Ok(ids.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{NewSubmission, TaskRow};
    use serde_json::json;

    const TASK: &str = "t";

    fn temp_db() -> (Db, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "lb-board-{}-{}",
            std::process::id(),
            crate::auth::random_hex(6).unwrap()
        ));
        let db = Db::open(&dir.join("a.sqlite")).unwrap();
        db.upsert_task(&TaskRow {
            id: TASK.into(),
            family: "f".into(),
            dataset: "d".into(),
            title: "T".into(),
            description: String::new(),
            metrics: vec!["pearson".into()],
            spec_sha256: String::new(),
            revealed: false,
        })
        .unwrap();
        (db, dir)
    }

    fn labels() -> Vec<String> {
        (0..40).map(|i| format!("P{i}")).collect()
    }

    /// A row whose per-perturbation pearson is `f(i)` (and mae = 1 − pearson).
    fn row(name: &str, kind: &str, f: impl Fn(usize) -> f64) -> serde_json::Value {
        let pp: Vec<_> = labels()
            .iter()
            .enumerate()
            .map(|(i, l)| json!({"perturbation": l, "subgroup": "unseen_single", "n_truth": 5, "values": [f(i), 1.0 - f(i)]}))
            .collect();
        let overall = json!({"mean": 0.0, "lower": 0.0, "upper": 0.0, "n": 40, "n_undefined": 0});
        json!({"name": name, "kind": kind, "model_sha256": "00", "per_perturbation": pp, "metrics": [
            {"metric": "pearson", "higher_is_better": true, "overall": overall, "by_subgroup": []},
            {"metric": "mae", "higher_is_better": false, "overall": overall, "by_subgroup": []},
        ]})
    }

    /// A scorecard's JSON, as `arena eval` writes it, and what the boards read of it.
    struct TestCard {
        json: String,
        view: CardView,
    }

    impl std::ops::Deref for TestCard {
        type Target = CardView;
        fn deref(&self) -> &CardView {
            &self.view
        }
    }

    fn card(model: Option<&str>, rows: Vec<serde_json::Value>, flags: serde_json::Value) -> TestCard {
        let n = labels().len();
        let v = json!({
            "format": "arena-scorecard-v1", "suite_version": "test",
            "task": {"id": TASK, "family": "unseen-single", "version": 1, "spec_sha256": "", "seed": 0,
                "split_sha256": "", "n_train_conditions": 0, "n_test_conditions": n},
            "dataset": {"id": "test", "sha256": "", "source": "test", "n_rows": 0, "n_genes": 0,
                "scale": "log-normalized", "observation": "single-cell"},
            "model": model, "primary_metric": "pearson",
            "bootstrap": {"resamples": 300, "level": 0.95, "seed": 3},
            "hardware": {"cpu": "", "cores": 1, "os": "", "arch": ""},
            "rows": rows, "notes": [],
            "audit": {"submission": model.unwrap_or("mean"), "shuffle_seed": 0, "inflation": 2.0, "probes": [],
                "flags": flags},
            "run": {"started_utc": "", "wall_seconds": 0.0, "rows_per_second": []},
        });
        let json = v.to_string();
        let view = CardView::parse(&json).unwrap();
        TestCard { json, view }
    }

    fn wave(i: usize) -> f64 {
        0.2 * ((i as f64) * 1.3).sin()
    }

    /// Stores a scored submission without building the boards.
    fn insert(db: &Db, name: &str, c: &TestCard) -> i64 {
        let json = &c.json;
        db.insert_submission(&NewSubmission {
            task_id: TASK,
            name,
            description: "",
            kind: "predictions",
            source: "server",
            token_id: None,
            scorecard: Some(json),
            upload_name: None,
            upload_bytes: None,
            receipt_sha256: None,
        })
        .unwrap()
    }

    fn submit(db: &Db, name: &str, c: &TestCard) -> i64 {
        let id = insert(db, name, c);
        record_submission(db, id, c).unwrap();
        id
    }

    #[test]
    fn boards_rank_with_tie_groups_split_views_and_carry_flags_and_toward_ceiling() {
        let (db, dir) = temp_db();
        let flag = json!([{"metric": "mae", "probe": "control-mean", "probe_value": 0.4, "reason": "beats best baseline (0.45)"}]);
        let reference = card(
            None,
            vec![row("mean", "baseline", |i| 0.2 + wave(i)), row("ceiling", "ceiling", |i| 0.9 + wave(i))],
            flag.clone(),
        );
        record_reference(&db, &reference, "server").unwrap();
        // Two models with the same per-perturbation profile up to a tiny shift (tied), one far ahead.
        let a = submit(&db, "a", &card(Some("a"), vec![row("a", "predictions", |i| 0.5 + wave(i))], json!([])));
        let b = submit(&db, "b", &card(Some("b"), vec![row("b", "predictions", |i| 0.501 + wave(i + 7))], json!([])));
        let best = submit(&db, "best", &card(Some("best"), vec![row("best", "predictions", |i| 0.8 + wave(i))], flag));
        rebuild(&db, TASK).unwrap();

        let public = Board::parse(&db.board(TASK, "public").unwrap().unwrap()).unwrap();
        let private = Board::parse(&db.board(TASK, "private").unwrap().unwrap()).unwrap();
        let n_public = labels().iter().filter(|l| view_of(&db.split_key().unwrap(), TASK, l) == View::Public).count();
        assert_eq!(public.n_perturbations, n_public);
        assert_eq!(private.n_perturbations, 40 - n_public);

        let by_id = |b: &Board, id: i64| b.rows.iter().find(|r| r.submission_id == Some(id)).unwrap().clone();
        // Means are over the view's perturbations only.
        let public_mean: f64 = labels()
            .iter()
            .enumerate()
            .filter(|(_, l)| view_of(&db.split_key().unwrap(), TASK, l) == View::Public)
            .map(|(i, _)| 0.8 + wave(i))
            .sum::<f64>()
            / n_public as f64;
        assert!((by_id(&public, best).cells[0].mean.unwrap() - public_mean).abs() < 1e-12);
        for board in [&public, &private] {
            assert_eq!(board.rows[0].submission_id, Some(best), "best first");
            assert_eq!(by_id(board, best).tie_group.as_deref(), Some("A"));
            assert_eq!(by_id(board, a).tie_group, by_id(board, b).tie_group, "a and b are tied");
            assert_eq!(by_id(board, a).tie_group.as_deref(), Some("B"));
            let baseline = board.rows.iter().find(|r| r.kind == "baseline").unwrap();
            assert_eq!(baseline.tie_group.as_deref(), Some("C"));
            assert_eq!(baseline.toward_ceiling[0], Some(0.0));
            // best is 0.6 of the 0.7 from baseline to ceiling on pearson; mae mirrors it.
            let t = by_id(board, best).toward_ceiling.clone();
            assert!((t[0].unwrap() - 0.6 / 0.7).abs() < 1e-9 && (t[1].unwrap() - 0.6 / 0.7).abs() < 1e-9, "{t:?}");
            assert_eq!(board.ceiling.len(), 1);
            assert!(board.ceiling[0].rank_interval.is_none());
        }
        // The reference audit flags the metric; the flagged submission carries its flag. The
        // probes ran on every perturbation, private ones included: only the private view shows them.
        assert_eq!(private.metrics[1].flags.len(), 1);
        assert_eq!(by_id(&private, best).flags[0].metric, "mae");
        assert!(by_id(&private, a).flags.is_empty());
        assert_eq!(private.metrics[1].flags[0].reason.as_deref(), Some("beats best baseline (0.45)"));
        assert!(public.metrics.iter().all(|m| m.flags.is_empty()), "no flag in the public view");
        assert!(by_id(&public, best).flags.is_empty());
        // The stored per-perturbation values of a view hold only that view's perturbations.
        let stored: RowScores =
            serde_json::from_str(&db.row_scores(TASK, Some(a), "public").unwrap().unwrap()).unwrap();
        assert!(
            stored
                .per_perturbation
                .iter()
                .all(|p| view_of(&db.split_key().unwrap(), TASK, &p.perturbation) == View::Public)
        );
        assert_eq!(stored.per_perturbation.len(), n_public);
        std::fs::remove_dir_all(dir).ok();
    }

    /// A row over items in subgroups: `groups[i % groups.len()]` is item i's subgroup.
    fn grouped_row(
        name: &str,
        kind: &str,
        groups: &[serde_json::Value],
        f: impl Fn(usize) -> f64,
    ) -> serde_json::Value {
        let mut r = row(name, kind, f);
        for (i, p) in r["per_perturbation"].as_array_mut().unwrap().iter_mut().enumerate() {
            p["subgroup"] = groups[i % groups.len()].clone();
        }
        r
    }

    #[test]
    fn combinatorial_and_multi_step_boards_get_a_column_per_subgroup() {
        let (db, dir) = temp_db();
        let combos = [json!("combo_seen0"), json!("combo_seen1"), json!("combo_seen2")];
        let reference = card(None, vec![grouped_row("mean", "baseline", &combos, |_| 0.1)], json!([]));
        record_reference(&db, &reference, "server").unwrap();
        // The model scores 0.2 on combo_seen0 items, 0.5 on seen1, 0.8 on seen2.
        let model =
            card(Some("m"), vec![grouped_row("m", "predictions", &combos, |i| [0.2, 0.5, 0.8][i % 3])], json!([]));
        let id = submit(&db, "m", &model);
        rebuild(&db, TASK).unwrap();
        let key = db.split_key().unwrap();
        for view in View::ALL {
            let board = Board::parse(&db.board(TASK, view.as_str()).unwrap().unwrap()).unwrap();
            let names: Vec<&str> = board.subgroups.iter().map(|g| g.name.as_str()).collect();
            assert_eq!(names, ["combo_seen0", "combo_seen1", "combo_seen2"]);
            let in_view = |g: usize| {
                labels().iter().enumerate().filter(|(i, l)| i % 3 == g && view_of(&key, TASK, l) == view).count()
            };
            let counts: Vec<usize> = board.subgroups.iter().map(|g| g.n).collect();
            assert_eq!(counts, [in_view(0), in_view(1), in_view(2)], "{view:?}");
            let m = board.rows.iter().find(|r| r.submission_id == Some(id)).unwrap();
            let means: Vec<f64> = m.subgroup_cells.iter().map(|c| c.mean.unwrap()).collect();
            assert!((means[0] - 0.2).abs() < 1e-12 && (means[1] - 0.5).abs() < 1e-12 && (means[2] - 0.8).abs() < 1e-12);
            let baseline = board.rows.iter().find(|r| r.kind == "baseline").unwrap();
            assert_eq!(baseline.reference_row.as_deref(), Some("mean"), "reference rows name their page");
            assert_eq!(m.reference_row, None);
        }

        // Multi-step: step_1 (one action from control, also in training) is a column of its own
        // but not in the headline mean; steps sort by number.
        let (db, dir2) = temp_db();
        let steps: Vec<serde_json::Value> = (1..=10).map(|k| json!({"step": k})).collect();
        let value = |i: usize| if i.is_multiple_of(10) { 1.0 } else { 0.3 };
        let reference = card(None, vec![grouped_row("mean", "baseline", &steps, |_| 0.1)], json!([]));
        record_reference(&db, &reference, "server").unwrap();
        let id = submit(&db, "m", &card(Some("m"), vec![grouped_row("m", "predictions", &steps, value)], json!([])));
        rebuild(&db, TASK).unwrap();
        let board = Board::parse(&db.board(TASK, "public").unwrap().unwrap()).unwrap();
        let names: Vec<&str> = board.subgroups.iter().map(|g| g.name.as_str()).collect();
        let present: Vec<String> =
            (1..=10).map(|k| format!("step_{k}")).filter(|n| names.contains(&n.as_str())).collect();
        assert_eq!(names, present.iter().map(String::as_str).collect::<Vec<_>>(), "step_2 before step_10");
        let m = board.rows.iter().find(|r| r.submission_id == Some(id)).unwrap();
        assert!((m.cells[0].mean.unwrap() - 0.3).abs() < 1e-12, "step_1 items (1.0) stay out of the headline");
        if names.first() == Some(&"step_1") {
            assert!((m.subgroup_cells[0].mean.unwrap() - 1.0).abs() < 1e-12);
        }
        std::fs::remove_dir_all(dir).ok();
        std::fs::remove_dir_all(dir2).ok();
    }

    #[test]
    fn adding_a_row_gives_the_board_a_full_rebuild_gives() {
        let (db, dir) = temp_db();
        let reference = card(
            None,
            vec![row("mean", "baseline", |i| 0.2 + wave(i)), row("ceiling", "ceiling", |i| 0.9 + wave(i))],
            json!([]),
        );
        record_reference(&db, &reference, "server").unwrap();
        let model = |name: &str, shift: f64, phase: usize| {
            card(Some(name), vec![row(name, "predictions", move |i| 0.4 + shift + wave(i + phase))], json!([]))
        };
        submit(&db, "a", &model("a", 0.1, 0));
        let b = submit(&db, "b", &model("b", 0.0, 3));
        rebuild(&db, TASK).unwrap();
        let boards =
            |db: &Db| -> Vec<String> { View::ALL.map(|v| db.board(TASK, v.as_str()).unwrap().unwrap()).to_vec() };
        // The stored board is read back from JSON, whose float parsing may differ from the
        // written value in the last bit: numbers agree to 1e-12, everything else exactly.
        fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
            use serde_json::Value::{Array, Number, Object};
            match (a, b) {
                (Number(x), Number(y)) => {
                    let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                    (x - y).abs() <= 1e-12 * x.abs().max(1.0)
                }
                (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y)),
                (Object(x), Object(y)) => {
                    x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
                }
                _ => a == b,
            }
        }
        let added_then_rebuilt = |db: &Db| {
            let added = boards(db);
            rebuild(db, TASK).unwrap();
            for (a, b) in added.iter().zip(boards(db)) {
                let (a, b): (serde_json::Value, serde_json::Value) =
                    (serde_json::from_str(a).unwrap(), serde_json::from_str(&b).unwrap());
                assert!(same(&a, &b), "the incremental board equals the rebuilt one:\n{a}\n{b}");
            }
        };
        // A new row between the others, then one at the top.
        let c = submit(&db, "c", &model("c", 0.05, 5));
        add_row(&db, TASK, c).unwrap();
        let board = Board::parse(&boards(&db)[0]).unwrap();
        assert_eq!(board.rows.len(), 4, "a, b, c and the baseline");
        assert!(board.rows.iter().all(|r| r.rank_interval.is_some()));
        added_then_rebuilt(&db);
        let d = submit(&db, "d", &model("d", 0.4, 1));
        add_row(&db, TASK, d).unwrap();
        assert_eq!(Board::parse(&boards(&db)[0]).unwrap().rows[0].submission_id, Some(d), "d ranks first");
        added_then_rebuilt(&db);
        // A re-scored row replaces its old version.
        let rescored = model("b", 0.6, 3);
        record_submission(&db, b, &rescored).unwrap();
        add_row(&db, TASK, b).unwrap();
        let board = Board::parse(&boards(&db)[0]).unwrap();
        assert_eq!(board.rows.iter().filter(|r| r.submission_id == Some(b)).count(), 1);
        assert_eq!(board.rows[0].submission_id, Some(b));
        added_then_rebuilt(&db);
        // A board stored without rank inputs is rebuilt in full.
        for v in View::ALL {
            let stored = db.board(TASK, v.as_str()).unwrap().unwrap();
            db.set_board(TASK, v.as_str(), &stored).unwrap();
            assert!(db.board_state(TASK, v.as_str()).unwrap().unwrap().ranks.is_none());
        }
        let e = submit(&db, "e", &model("e", -0.2, 2));
        add_row(&db, TASK, e).unwrap();
        assert!(db.board_state(TASK, "public").unwrap().unwrap().ranks.is_some());
        added_then_rebuilt(&db);
        // A write that lost the race is refused: the revision moved on.
        let state = db.board_state(TASK, "public").unwrap().unwrap();
        assert!(!db.swap_board(TASK, "public", Some(state.revision - 1), "{}", "{}").unwrap());
        assert!(db.swap_board(TASK, "public", Some(state.revision), &state.board, "{}").unwrap());
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_running_job_with_a_stored_row_is_ranked_and_a_requeued_one_is_not() {
        // The queue stores the row and rebuilds before it flips the status to scored, so that
        // `scored` always means "on the board"; a crash in between requeues the job.
        let (db, dir) = temp_db();
        record_reference(&db, &card(None, vec![row("mean", "baseline", |i| 0.2 + wave(i))], json!([])), "server")
            .unwrap();
        let model = card(Some("m"), vec![row("m", "predictions", |i| 0.5 + wave(i))], json!([]));
        let id = db
            .insert_submission(&NewSubmission {
                task_id: TASK,
                name: "m",
                description: "",
                kind: "predictions",
                source: "server",
                token_id: None,
                scorecard: None,
                upload_name: Some("ab.h5ad"),
                upload_bytes: Some(1),
                receipt_sha256: None,
            })
            .unwrap();
        let job = db.claim_job(std::time::Duration::ZERO, 2).unwrap().unwrap();
        assert_eq!(job.submission_id, id);
        record_submission(&db, id, &model).unwrap();
        rebuild(&db, TASK).unwrap();
        let ranked = |db: &Db| {
            let board = Board::parse(&db.board(TASK, "public").unwrap().unwrap()).unwrap();
            board.rows.iter().any(|r| r.submission_id == Some(id))
        };
        assert!(ranked(&db), "the running job's stored row is on the board");
        assert_eq!(db.requeue_running(2).unwrap().requeued, 1);
        rebuild(&db, TASK).unwrap();
        assert!(!ranked(&db), "a requeued submission waits for its new score");
        std::fs::remove_dir_all(dir).ok();
    }

    /// Stored and uploaded scorecards are read with the one scorecard schema: a card missing a
    /// field the schema requires is refused, naming it; an undefined value (NaN, written `null`)
    /// reads as undefined.
    #[test]
    fn scorecards_are_read_with_the_scorecard_schema() {
        let c = card(Some("m"), vec![row("m", "predictions", |_| 0.5)], json!([]));
        let mut v: serde_json::Value = serde_json::from_str(&c.json).unwrap();
        v.as_object_mut().unwrap().remove("dataset");
        let err = CardView::parse(&v.to_string()).unwrap_err();
        assert!(err.contains("missing field `dataset`"), "{err}");
        let mut v: serde_json::Value = serde_json::from_str(&c.json).unwrap();
        v["rows"][0]["metrics"][0]["overall"]["mean"] = serde_json::Value::Null;
        let view = CardView::parse(&v.to_string()).unwrap();
        assert_eq!(view.rows[0].metrics[0].overall.mean, None);
        assert_eq!(view.rows[0].kind, "predictions");
        v["format"] = json!("other-v1");
        assert!(CardView::parse(&v.to_string()).unwrap_err().contains("unknown scorecard format"));
    }

    #[test]
    fn backfill_builds_the_views_of_a_database_scored_before_they_existed() {
        let (db, dir) = temp_db();
        let reference = card(None, vec![row("mean", "baseline", |i| 0.2 + wave(i))], json!([]));
        db.set_reference(TASK, &reference.json, "server").unwrap();
        let model = card(Some("m"), vec![row("m", "predictions", |i| 0.5 + wave(i))], json!([]));
        let id = insert(&db, "m", &model);
        assert!(db.board(TASK, "public").unwrap().is_none());
        assert_eq!(backfill(&db).unwrap(), 1);
        let board = Board::parse(&db.board(TASK, "public").unwrap().unwrap()).unwrap();
        assert_eq!(board.rows.len(), 2);
        assert_eq!(board.rows[0].submission_id, Some(id));
        assert_eq!(board.reference_source.as_deref(), Some("server"));
        assert_eq!(backfill(&db).unwrap(), 0, "nothing left to fill");
        std::fs::remove_dir_all(dir).ok();
    }
}
