//! `control-mean`: predicts that nothing changes, x' = x. Averaged over control start cells it
//! is the control centroid — the floor every model must clear.

use ndarray::Array2;
use tasks::{Model, ModelKind, QueryBatch, TaskError};

pub struct ControlMean;

impl Model for ControlMean {
    fn name(&self) -> &str {
        "control-mean"
    }
    fn kind(&self) -> ModelKind {
        ModelKind::Baseline
    }
    fn fingerprint(&self) -> String {
        super::fingerprint("control-mean/v1", &[])
    }
    fn predict(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError> {
        Ok(batch.start.to_owned())
    }
}
