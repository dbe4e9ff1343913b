//! Task families: how a model is queried and scored on each kind of task. Every family turns
//! (task instance, model) into one scorecard row, and says how its noise ceiling is formed.
//! `profile` serves every family whose items are "apply these actions, compare the predicted
//! population with the observed cells" (unseen-single, combinatorial, multi-step); a family
//! with its own query pattern or metrics adds a file here and a branch below.

pub mod genetic_interactions;
pub mod inverse_design;
pub mod order_consistency;
pub mod profile;
pub mod stability;

use tasks::scorecard::{BootstrapSettings, ScoreRow};
use tasks::{Model, SplitRule, TaskError, TaskInstance};

/// A scored row and the model's throughput (query rows per second).
pub struct ScoredModel {
    pub row: ScoreRow,
    pub rows_per_second: f64,
}

pub fn score_model(
    instance: &TaskInstance<'_>,
    model: &dyn Model,
    bootstrap: &BootstrapSettings,
) -> Result<ScoredModel, TaskError> {
    match instance.spec.spec.split {
        SplitRule::UnseenSingle { .. } | SplitRule::Combinatorial { .. } | SplitRule::MultiStep { .. } => {
            profile::score_model(instance, model, bootstrap)
        }
        SplitRule::InverseDesign { .. } => inverse_design::score_model(instance, model, bootstrap),
        SplitRule::GeneticInteractions { .. } => genetic_interactions::score_model(instance, model, bootstrap),
        SplitRule::OrderConsistency { .. } => order_consistency::score_model(instance, model, bootstrap),
        SplitRule::Stability { .. } => stability::score_model(instance, model, bootstrap),
    }
}

/// The noise-ceiling row, or why the task has none.
pub fn ceiling(instance: &TaskInstance<'_>, bootstrap: &BootstrapSettings, seed: u64) -> Result<ScoreRow, String> {
    match instance.spec.spec.split {
        SplitRule::UnseenSingle { .. } | SplitRule::Combinatorial { .. } | SplitRule::MultiStep { .. } => {
            profile::ceiling(instance, bootstrap, seed)
        }
        SplitRule::InverseDesign { .. } => inverse_design::ceiling(instance, bootstrap, seed),
        SplitRule::GeneticInteractions { .. } => genetic_interactions::ceiling(instance, bootstrap, seed),
        SplitRule::OrderConsistency { .. } => order_consistency::ceiling(instance, bootstrap, seed),
        SplitRule::Stability { .. } => stability::ceiling(instance, bootstrap, seed),
    }
}
