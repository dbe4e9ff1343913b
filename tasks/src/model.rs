//! The `Model` trait: one step of a world model, x' = M(x, a). Baselines, the ONNX runner and the
//! reference model all implement it; task runners only ever talk to this trait.

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::TaskError;
use crate::gene::GenePanel;
use crate::perturbation::Perturbation;

/// Where a scorecard row's predictions came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    Baseline,
    Onnx,
    Reference,
    Predictions,
    /// The split-half noise ceiling: real held-out cells, not a model.
    Ceiling,
}

/// Start states and the perturbation applied to each (row i of `start` gets `perturbations[i]`).
#[derive(Debug, Clone, Copy)]
pub struct QueryBatch<'a> {
    pub genes: &'a GenePanel,
    pub start: ArrayView2<'a, f32>,
    pub perturbations: &'a [Perturbation],
}

pub trait Model: Send + Sync {
    /// Display name (e.g. `additive`, `my_model.onnx`).
    fn name(&self) -> &str;
    fn kind(&self) -> ModelKind;
    /// sha256 identifying exactly this model: the file's hash, or the hash of a baseline's
    /// name and fitted parameters.
    fn fingerprint(&self) -> String;
    /// Predicted next states, one row per query row, genes in `batch.genes` order.
    fn predict(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError>;

    /// Predicted next protein levels (cross-modal tasks), one row per query row, proteins in the
    /// task's protein order; `None` for models without a protein head.
    fn predict_protein(&self, _batch: &QueryBatch<'_>) -> Result<Option<Array2<f32>>, TaskError> {
        Ok(None)
    }
}
