//! The model under test of a scorecard ([`Submission`]): a model run here, or the predicted means
//! of a model run elsewhere ([`Predicted`]: the shards of `arena eval --shard K/N`, joined by
//! `arena merge`), with the means of the audit's probes derived from its outputs. Both are scored
//! by the same code ([`crate::evaluate_submission`]); a predicted submission's rows are the rows
//! that `families::profile::score_model` gives for the same means.

use ndarray::Array2;
use serde::{Deserialize, Serialize};
use tasks::scorecard::{BootstrapSettings, ScoreRow};
use tasks::{Model, ModelKind, QueryBatch, TaskError, TaskInstance};

use crate::score::{RowInput, score_row};

/// The model under test.
#[derive(Clone, Copy)]
pub enum Submission<'a> {
    /// A model, run here on every test item.
    Model(&'a dyn Model),
    /// A model's predicted means, computed elsewhere.
    Predicted(&'a Predicted),
}

impl<'a> Submission<'a> {
    /// The model; for a predicted submission its stand-in ([`Recorded`]), which is never run.
    pub fn model(self) -> &'a dyn Model {
        match self {
            Submission::Model(m) => m,
            Submission::Predicted(p) => &p.model,
        }
    }
}

/// A model's identity as its scorecard row records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    pub name: String,
    pub kind: ModelKind,
    /// [`Model::fingerprint`]: the file's sha256, or the hash of a baseline's fitted parameters.
    pub sha256: String,
}

impl Recorded {
    pub fn of(model: &dyn Model) -> Self {
        Self { name: model.name().to_string(), kind: model.kind(), sha256: model.fingerprint() }
    }
}

/// A stand-in with the recorded identity; it refuses to predict (its predictions are the
/// recorded means).
impl Model for Recorded {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> ModelKind {
        self.kind
    }
    fn fingerprint(&self) -> String {
        self.sha256.clone()
    }
    fn predict(&self, _: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError> {
        Err(TaskError::Model {
            model: self.name.clone(),
            reason: "internal: this model ran in the shards of `arena eval --shard`; only its predicted means are here"
                .into(),
        })
    }
}

/// A model's predicted mean profile for every test item (in the order of
/// `TaskInstance::eval_items`), and those of the probes derived from it
/// (`audit::derived_probes`, in that order).
#[derive(Debug, Clone)]
pub struct Predicted {
    pub model: Recorded,
    pub means: Vec<Vec<f64>>,
    pub derived: Vec<(Recorded, Vec<Vec<f64>>)>,
    /// Query rows the model answered per second of inference.
    pub rows_per_second: f64,
}

impl Predicted {
    /// The model's scorecard row.
    pub fn row(&self, instance: &TaskInstance<'_>, bootstrap: &BootstrapSettings) -> ScoreRow {
        row_of(instance, &self.model, &self.means, bootstrap)
    }

    /// The derived probes' rows, in order.
    pub fn derived_rows(&self, instance: &TaskInstance<'_>, bootstrap: &BootstrapSettings) -> Vec<ScoreRow> {
        self.derived.iter().map(|(model, means)| row_of(instance, model, means, bootstrap)).collect()
    }
}

/// The row of `means` predicted by `model`: what `families::profile::score_model` computes after
/// predicting them.
fn row_of(
    instance: &TaskInstance<'_>,
    model: &Recorded,
    means: &[Vec<f64>],
    bootstrap: &BootstrapSettings,
) -> ScoreRow {
    let truths = instance.truth_means();
    let input = RowInput {
        name: model.name.clone(),
        kind: model.kind,
        model_sha256: model.sha256.clone(),
        predictions: means,
        truths: &truths,
    };
    score_row(instance, input, bootstrap)
}
