//! Errors of the tasks crate. Each message names the offending item and says what was expected.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum TaskError {
    #[error("invalid gene panel: {0}")]
    InvalidGenePanel(String),
    #[error("perturbation label '{label}' cannot be read: {reason}")]
    BadLabel { label: String, reason: String },
    #[error("dataset '{dataset}': {reason}")]
    InvalidDataset { dataset: String, reason: String },
    #[error("task spec {source_name}: {reason}")]
    InvalidSpec { source_name: String, reason: String },
    #[error("no task '{task}' on dataset '{dataset}'; run `arena tasks` to list the tasks and their datasets")]
    UnknownTask { task: String, dataset: String },
    #[error("task '{task}' cannot be built on dataset '{dataset}': {reason}")]
    SplitImpossible { task: String, dataset: String, reason: String },
    #[error("model '{model}' failed: {reason}")]
    Model { model: String, reason: String },
}
