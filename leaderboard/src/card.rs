//! What the leaderboard reads of a scorecard. A stored scorecard is parsed with the one schema,
//! `tasks::scorecard::Scorecard`, and turned into these display types (undefined values, NaN in
//! the scorecard, become `None`). The web app never computes metrics: it only reads what
//! `evaluate` wrote. [`IntervalView`] and [`PertView`] are also the cells of the stored boards.

use crate::db::LbError;
use metrics::rank_confidence::RankConfidence;
use metrics::{Better, Interval};
use serde::{Deserialize, Serialize};
use tasks::scorecard::{BootstrapSettings, ProbeFlag, Scorecard};

/// A scorecard as the boards read it.
#[derive(Debug, Clone)]
pub struct CardView {
    pub suite_version: String,
    pub task: CardTask,
    pub model: Option<String>,
    pub primary_metric: String,
    pub bootstrap: BootstrapSettings,
    pub rows: Vec<RowView>,
    pub notes: Vec<String>,
    /// The rows' ranks within this scorecard (paired bootstrap over its perturbations).
    pub rank_confidence: Option<RankConfidence>,
    /// The gaming-probe audit: which metrics a probe games on this task.
    pub audit: Option<AuditView>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditView {
    /// Over every test perturbation, private ones included.
    pub flags: Vec<FlagView>,
    /// Recomputed per view of this server's split by the scoring job (absent in self-reported
    /// scorecards).
    pub views: Vec<ViewFlagsView>,
}

/// The audit's flags on one view (`public`, `private`) of the server's split.
#[derive(Debug, Clone, Default)]
pub struct ViewFlagsView {
    pub view: String,
    pub n_items: usize,
    pub flags: Vec<FlagView>,
}

/// A metric on which a gaming probe beats the best baseline or reaches the submission.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlagView {
    pub metric: String,
    pub probe: String,
    #[serde(default)]
    pub probe_value: Option<f64>,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, Default)]
pub struct CardTask {
    pub id: String,
    pub spec_sha256: String,
    pub n_test_conditions: usize,
}

#[derive(Debug, Clone)]
pub struct RowView {
    pub name: String,
    /// `baseline`, `onnx`, `reference`, `predictions`, `ceiling`.
    pub kind: String,
    pub model_sha256: String,
    pub metrics: Vec<MetricView>,
    pub per_perturbation: Vec<PertView>,
}

#[derive(Debug, Clone)]
pub struct MetricView {
    pub metric: String,
    pub better: Better,
    pub overall: IntervalView,
    /// Fraction of the way from the best baseline (0) to the noise ceiling (1), when present.
    pub toward_ceiling: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct IntervalView {
    pub mean: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    #[serde(default)]
    pub n: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PertView {
    pub perturbation: String,
    #[serde(default)]
    pub subgroup: serde_json::Value,
    #[serde(default)]
    pub n_truth: usize,
    #[serde(default)]
    pub values: Vec<Option<f64>>,
}

impl IntervalView {
    /// An interval with NaN bounds read as undefined.
    pub fn of(i: &Interval) -> Self {
        let finite = |v: f64| v.is_finite().then_some(v);
        Self { mean: finite(i.mean), lower: finite(i.lower), upper: finite(i.upper), n: i.n }
    }
}

impl FlagView {
    fn of(f: &ProbeFlag) -> Self {
        Self {
            metric: f.metric.clone(),
            probe: f.probe.clone(),
            probe_value: f.probe_value.is_finite().then_some(f.probe_value),
            reason: f.reason.clone(),
        }
    }
}

impl PertView {
    /// The subgroup as the scorecard names it: `unseen_single`, `combo_seen1`, `step_2`, ... (empty
    /// when the item has none).
    pub fn subgroup_name(&self) -> String {
        match &self.subgroup {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Object(m) => {
                m.iter().map(|(k, v)| format!("{k}_{}", v.as_str().map_or(v.to_string(), str::to_string))).collect()
            }
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        }
    }

    /// `unseen_single`, `combo_seen1`, `step 2`, ...
    pub fn subgroup_label(&self) -> String {
        match &self.subgroup {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Object(m) => m.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        }
    }
}

impl RowView {
    pub fn metric(&self, name: &str) -> Option<&MetricView> {
        self.metrics.iter().find(|m| m.metric == name)
    }
    pub fn is_reference_row(&self) -> bool {
        self.kind == "baseline" || self.kind == "ceiling"
    }
    /// A row the arena itself ships beside every task: a baseline, the noise ceiling, or the
    /// reference world model with its bundled weights (what a task's reference scorecard stores).
    pub fn is_arena_row(&self) -> bool {
        self.is_reference_row() || self.kind == "reference"
    }
}

impl CardView {
    /// Reads a stored or uploaded scorecard (JSON) through the scorecard schema.
    pub fn parse(json: &str) -> Result<Self, LbError> {
        let card: Scorecard = serde_json::from_str(json).map_err(|e| format!("not an arena scorecard: {e}"))?;
        if !card.format.starts_with("arena-scorecard-") {
            return Err(format!("unknown scorecard format '{}'", card.format).into());
        }
        Ok(Self::of(&card))
    }

    /// The display view of a scorecard.
    pub fn of(card: &Scorecard) -> Self {
        let flags = |flags: &[ProbeFlag]| flags.iter().map(FlagView::of).collect::<Vec<_>>();
        Self {
            suite_version: card.suite_version.clone(),
            task: CardTask {
                id: card.task.id.clone(),
                spec_sha256: card.task.spec_sha256.clone(),
                n_test_conditions: card.task.n_test_conditions,
            },
            model: card.model.clone(),
            primary_metric: card.primary_metric.clone(),
            bootstrap: card.bootstrap.clone(),
            rows: card
                .rows
                .iter()
                .map(|r| RowView {
                    name: r.name.clone(),
                    kind: r.kind.as_str().to_string(),
                    model_sha256: r.model_sha256.clone(),
                    metrics: r
                        .metrics
                        .iter()
                        .map(|m| MetricView {
                            metric: m.metric.clone(),
                            better: m.better,
                            overall: IntervalView::of(&m.overall),
                            toward_ceiling: m.toward_ceiling,
                        })
                        .collect(),
                    per_perturbation: r
                        .per_perturbation
                        .iter()
                        .map(|p| PertView {
                            perturbation: p.perturbation.clone(),
                            subgroup: serde_json::to_value(p.subgroup).unwrap_or_default(),
                            n_truth: p.n_truth,
                            values: p.values.clone(),
                        })
                        .collect(),
                })
                .collect(),
            notes: card.notes.clone(),
            rank_confidence: card.rank_confidence.clone(),
            audit: card.audit.as_ref().map(|a| AuditView {
                flags: flags(&a.flags),
                views: a
                    .views
                    .iter()
                    .map(|v| ViewFlagsView { view: v.view.clone(), n_items: v.n_items, flags: flags(&v.flags) })
                    .collect(),
            }),
        }
    }
    /// The row of the model under evaluation (none in a baselines-only card).
    pub fn model_row(&self) -> Option<&RowView> {
        let model = self.model.as_deref()?;
        self.rows.iter().find(|r| r.name == model).or_else(|| self.rows.iter().find(|r| !r.is_reference_row()))
    }
}
