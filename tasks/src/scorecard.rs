//! The scorecard: what `arena eval` writes and `arena verify` recomputes. Everything outside
//! `run` is a pure function of the inputs (bit-identical on the same machine); `run` holds what
//! legitimately varies between runs (wall time, throughput, timestamp).

use metrics::{Better, Interval};
use serde::{Deserialize, Serialize};

use crate::model::ModelKind;
use crate::split::Subgroup;

pub const SCORECARD_FORMAT: &str = "arena-scorecard-v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scorecard {
    pub format: String,
    pub suite_version: String,
    pub task: TaskProvenance,
    pub dataset: DatasetProvenance,
    /// The model under evaluation, if any (a baselines-only run has none).
    pub model: Option<String>,
    /// The metric that ranks rows (the spec's first).
    pub primary_metric: String,
    pub bootstrap: BootstrapSettings,
    /// What every bootstrap replicate resamples (units, control cells) and the interval method,
    /// in words (absent in scorecards written before it was stated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resampling: Option<String>,
    pub hardware: Hardware,
    /// Model, baselines and noise ceiling, in display order.
    pub rows: Vec<ScoreRow>,
    /// Why a row that would normally be present is absent (e.g. no ceiling on pseudobulk data).
    pub notes: Vec<String>,
    /// Rank of every row on the primary metric with a paired-bootstrap rank interval and tie group
    /// (absent in scorecards written before rank confidence existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank_confidence: Option<metrics::rank_confidence::RankConfidence>,
    /// The gaming-probe audit run beside the rows (absent where the family has no audit, or in
    /// scorecards written before it existed). The leaderboard shows a warning on every flagged metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditSection>,
    pub run: RunInfo,
}

/// What a scorecard keeps of `arena audit`: the probes' headline means and the metrics they game.
/// `arena audit` with the same submission and bootstrap settings computes exactly these numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditSection {
    /// The row the derived probes manipulate and the flags compare with: the model under
    /// evaluation, or in a baselines-only run the best baseline on the primary metric.
    pub submission: String,
    /// Seed of the shuffled-perturbation probe.
    pub shuffle_seed: u64,
    /// Factor of the variance-inflated probe.
    pub inflation: f64,
    /// Per probe: its name and (metric, mean) for every metric of the scorecard.
    pub probes: Vec<ProbeScores>,
    /// Metrics on which a probe beats the best baseline or reaches the submission.
    pub flags: Vec<ProbeFlag>,
    /// What the audit could not do here (no shuffled probe with one test item, no ceiling, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The flags recomputed on each view of a leaderboard's keyed public/private split of the
    /// test items (only in scorecards of `arena serve`'s scoring jobs, which the server gives its
    /// split key): the public board shows the public view's flags, the private view's wait for
    /// the reveal. `flags` above are over every test item.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub views: Vec<ViewFlags>,
}

/// The audit's flags on one view of a leaderboard's split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewFlags {
    /// `public` or `private`.
    pub view: String,
    /// Test items in the view.
    pub n_items: usize,
    pub flags: Vec<ProbeFlag>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeScores {
    pub probe: String,
    pub description: String,
    pub means: Vec<(String, Option<f64>)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeFlag {
    pub metric: String,
    pub probe: String,
    #[serde(deserialize_with = "metrics::bootstrap::nan_if_null")]
    pub probe_value: f64,
    /// Why: `beats the best baseline, linear (0.420)`, `reaches the submission (0.410)`,
    /// `beats the unmodified submission (0.410)`; several joined by `; `.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskProvenance {
    pub id: String,
    pub family: String,
    pub version: u32,
    pub spec_sha256: String,
    pub seed: u64,
    pub split_sha256: String,
    pub n_train_conditions: usize,
    pub n_test_conditions: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetProvenance {
    pub id: String,
    pub sha256: String,
    pub source: String,
    pub n_rows: usize,
    pub n_genes: usize,
    pub scale: crate::dataset::Scale,
    pub observation: crate::dataset::Observation,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootstrapSettings {
    pub resamples: usize,
    pub level: f64,
    pub seed: u64,
}

impl Default for BootstrapSettings {
    /// 1,000 resamples, 95% intervals, seed 0: what `arena eval` uses unless told otherwise.
    fn default() -> Self {
        Self { resamples: 1000, level: 0.95, seed: 0 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hardware {
    pub cpu: String,
    pub cores: usize,
    pub os: String,
    pub arch: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreRow {
    pub name: String,
    pub kind: ModelKind,
    pub model_sha256: String,
    pub metrics: Vec<MetricSummary>,
    pub per_perturbation: Vec<PerturbationScore>,
}

impl ScoreRow {
    pub fn metric(&self, name: &str) -> Option<&MetricSummary> {
        self.metrics.iter().find(|m| m.metric == name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSummary {
    pub metric: String,
    /// Written as the boolean `higher_is_better`.
    #[serde(rename = "higher_is_better")]
    pub better: Better,
    /// Mean over test perturbations with a bootstrap CI.
    pub overall: Interval,
    /// The same per subgroup (combo_seen0/1/2, unseen_single).
    pub by_subgroup: Vec<(Subgroup, Interval)>,
    /// Fraction of the way from the best baseline (0) to the noise ceiling (1) of the overall
    /// mean: (value − best) / (ceiling − best), sign-adjusted for lower-is-better metrics. Absent
    /// without a ceiling or where the ceiling does not exceed the best baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toward_ceiling: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerturbationScore {
    pub perturbation: String,
    pub subgroup: Subgroup,
    /// Number of real observations behind the truth profile.
    pub n_truth: usize,
    /// One value per entry of the scorecard's metric list (same order as `ScoreRow::metrics`);
    /// `null` in JSON where undefined.
    pub values: Vec<Option<f64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub started_utc: String,
    pub wall_seconds: f64,
    /// Query rows predicted per second by the model under evaluation (all rows for baselines).
    pub rows_per_second: Vec<(String, f64)>,
    /// Where the model under evaluation ran (ONNX models: `cpu (ONNX Runtime 1.31.1)`, `cuda (...)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}
