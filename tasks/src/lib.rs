//! Tasks of the Virtual Cell Arena: typed perturbations and gene panels, the in-memory dataset,
//! task specs (TOML under `tasks/specs/`), deterministic split builders, task instances, the
//! `Model` trait every model (baseline, ONNX, reference) implements, and the scorecard types.
//! No file or network I/O beyond the specs embedded at compile time.

pub mod dataset;
pub mod dose;
pub mod error;
pub mod expression;
pub mod gene;
pub mod instance;
pub mod interactions;
pub mod model;
pub mod perturbation;
pub mod scorecard;
pub mod spec;
pub mod split;
pub mod splits;
pub mod task_file;

pub use dataset::{ConditionId, ContextObservations, Dataset, Observation, ProteinPanel, Scale};
pub use dose::{Dose, DoseUnit};
pub use error::TaskError;
pub use expression::{Expression, RowSource, StoredRows};
pub use gene::{GeneIndex, GenePanel};
pub use instance::{SplitRecord, TaskInstance};
pub use interactions::{GiFit, GiTable};
pub use model::{AdaptationExample, AdaptationSet, Model, ModelKind, QueryBatch, Shot};
pub use perturbation::{DEFAULT_CONTROL_LABELS, Direction, Perturbation};
pub use spec::{LoadedSpec, SplitRule, TaskSpec, embedded_specs, find_spec};
pub use split::{Split, Subgroup, TestCondition, resampling_units};
pub use task_file::{family_template, parse_task_file};
