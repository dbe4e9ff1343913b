//! The scorecard: what `arena eval` writes and `arena verify` recomputes. Everything outside
//! `run` is a pure function of the inputs (bit-identical on the same machine); `run` holds what
//! legitimately varies between runs (wall time, throughput, timestamp).

use metrics::Interval;
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
    pub hardware: Hardware,
    /// Model, baselines and noise ceiling, in display order.
    pub rows: Vec<ScoreRow>,
    /// Why a row that would normally be present is absent (e.g. no ceiling on pseudobulk data).
    pub notes: Vec<String>,
    /// Rank of every row on the primary metric with a paired-bootstrap rank interval and tie group
    /// (absent in scorecards written before rank confidence existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank_confidence: Option<metrics::rank_confidence::RankConfidence>,
    pub run: RunInfo,
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
    pub higher_is_better: bool,
    /// Mean over test perturbations with a bootstrap CI.
    pub overall: Interval,
    /// The same per subgroup (combo_seen0/1/2, unseen_single).
    pub by_subgroup: Vec<(Subgroup, Interval)>,
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
