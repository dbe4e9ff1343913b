//! The model under test of a run, named once ([`ModelSource`]) and opened on a task instance:
//! a baseline fitted on its training view, the reference world model, an ONNX model bound to its
//! genes, or a predictions file. Every command that scores a model (eval, the suite, verify, the
//! audit, the leaderboard's jobs) builds it here.

use std::path::Path;

use tasks::{Model, TaskError, TaskInstance};

use crate::baselines;
use crate::reference::{self, LoadError};
use crate::runners::onnx::{OnnxError, OnnxModel};
use crate::runners::predictions::Predictions;

/// Why a model could not be opened on a task.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Task(#[from] TaskError),
    #[error(transparent)]
    Reference(#[from] LoadError),
    #[error(transparent)]
    Onnx(#[from] OnnxError),
    #[error(transparent)]
    Predictions(#[from] arena_data::DataError),
}

/// Which model a run scores beside the baselines (a run without one has no `ModelSource`).
pub enum ModelSource<'a> {
    /// A baseline by name; `data_dir` is where a prior baseline reads its network (`--data-dir`).
    Baseline { name: &'a str, data_dir: Option<&'a Path> },
    /// The reference world model: `weights`, or the task's bundled weights.
    Reference { weights: Option<&'a Path> },
    /// An ONNX model, loaded (and checked) before the dataset so that a broken model fails fast.
    Onnx(Box<OnnxModel>),
    /// A predictions `.h5ad`; its perturbation column and control labels (default: the task's).
    Predictions { path: &'a Path, column: Option<&'a str>, control_labels: &'a [String] },
}

impl ModelSource<'_> {
    /// The model, ready to predict on `instance`.
    pub fn open(self, instance: &TaskInstance<'_>) -> Result<Box<dyn Model>, ModelError> {
        Ok(match self {
            ModelSource::Baseline { name, data_dir } => baselines::fit_with_data(name, instance, data_dir)?,
            ModelSource::Reference { weights } => Box::new(reference::load_for(instance, weights)?),
            ModelSource::Onnx(mut model) => {
                model.bind(instance)?;
                model
            }
            ModelSource::Predictions { path, column, control_labels } => {
                Box::new(Predictions::for_task(path, instance, column, control_labels)?)
            }
        })
    }
}
