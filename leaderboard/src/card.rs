//! A lenient read-only view of stored scorecards (`tasks::scorecard::Scorecard` JSON). The web app
//! never computes metrics: it only reads what `evaluate` wrote. Undefined values (NaN, written as
//! JSON `null`) read as `None`.

use metrics::Better;
use metrics::rank_confidence::RankConfidence;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CardView {
    #[serde(default)]
    pub format: String,
    #[serde(default)]
    pub suite_version: String,
    pub task: CardTask,
    #[serde(default)]
    pub dataset: serde_json::Value,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub primary_metric: String,
    #[serde(default)]
    pub bootstrap: Option<CardBootstrap>,
    #[serde(default)]
    pub rows: Vec<RowView>,
    #[serde(default)]
    pub notes: Vec<String>,
    /// The rows' ranks within this scorecard (paired bootstrap over its perturbations).
    #[serde(default)]
    pub rank_confidence: Option<RankConfidence>,
    /// The gaming-probe audit: which metrics a probe games on this task.
    #[serde(default)]
    pub audit: Option<AuditView>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AuditView {
    /// Over every test perturbation, private ones included.
    #[serde(default)]
    pub flags: Vec<FlagView>,
    /// Recomputed per view of this server's split by the scoring job (absent in self-reported
    /// scorecards and in those scored before it existed).
    #[serde(default)]
    pub views: Vec<ViewFlagsView>,
}

/// The audit's flags on one view (`public`, `private`) of the server's split.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ViewFlagsView {
    pub view: String,
    #[serde(default)]
    pub n_items: usize,
    #[serde(default)]
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

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CardTask {
    pub id: String,
    #[serde(default)]
    pub spec_sha256: String,
    #[serde(default)]
    pub n_test_conditions: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CardBootstrap {
    pub resamples: usize,
    pub level: f64,
    pub seed: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RowView {
    pub name: String,
    /// `baseline`, `onnx`, `reference`, `predictions`, `ceiling`.
    pub kind: String,
    #[serde(default)]
    pub model_sha256: String,
    #[serde(default)]
    pub metrics: Vec<MetricView>,
    #[serde(default)]
    pub per_perturbation: Vec<PertView>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricView {
    pub metric: String,
    #[serde(rename = "higher_is_better")]
    pub better: Better,
    pub overall: IntervalView,
    /// Fraction of the way from the best baseline (0) to the noise ceiling (1), when present.
    #[serde(default)]
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
    pub fn parse(json: &str) -> Result<Self, String> {
        let card: CardView = serde_json::from_str(json).map_err(|e| format!("not an arena scorecard: {e}"))?;
        if !card.format.is_empty() && !card.format.starts_with("arena-scorecard-") {
            return Err(format!("unknown scorecard format '{}'", card.format));
        }
        Ok(card)
    }

    /// The row of the model under evaluation (none in a baselines-only card).
    pub fn model_row(&self) -> Option<&RowView> {
        let model = self.model.as_deref()?;
        self.rows.iter().find(|r| r.name == model).or_else(|| self.rows.iter().find(|r| !r.is_reference_row()))
    }
}
