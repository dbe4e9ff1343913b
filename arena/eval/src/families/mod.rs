//! Task families: how a model is queried and scored on each kind of task. Every family turns
//! (task instance, model) into one scorecard row, and says how its noise ceiling is formed.
//! `profile` serves every family whose items are "apply these actions, compare the predicted
//! population with the observed cells" (unseen-single, combinatorial, multi-step); a family
//! with its own query pattern or metrics adds a file here and a branch below.

pub mod closed_loop;
pub mod cross_modal;
pub mod dose;
pub mod few_shot;
pub mod genetic_interactions;
pub mod inverse_design;
pub mod order_consistency;
pub mod profile;
mod scored;
pub mod stability;

use tasks::scorecard::ScoreRow;

pub use scored::ScoredModel;

use crate::EvalOptions;
use tasks::{Model, SplitRule, TaskError, TaskInstance};

pub fn score_model(
    instance: &TaskInstance<'_>,
    model: &dyn Model,
    options: &EvalOptions,
) -> Result<ScoredModel, TaskError> {
    let bootstrap = &options.bootstrap;
    match instance.spec.spec.split {
        SplitRule::UnseenSingle { .. } | SplitRule::Combinatorial { .. } | SplitRule::MultiStep { .. } => {
            profile::score_model(instance, model, bootstrap)
        }
        SplitRule::InverseDesign { .. } => inverse_design::score_model(instance, model, bootstrap),
        SplitRule::GeneticInteractions { .. } => genetic_interactions::score_model(instance, model, bootstrap),
        SplitRule::OrderConsistency { .. } => order_consistency::score_model(instance, model, bootstrap),
        SplitRule::Stability { .. } => stability::score_model(instance, model, bootstrap),
        SplitRule::CrossModal { .. } => cross_modal::score_model(instance, model, bootstrap),
        SplitRule::FewShot { .. } => few_shot::score_model(instance, model, bootstrap),
        SplitRule::ClosedLoop { .. } => closed_loop::score_model(instance, model, bootstrap),
        SplitRule::UnseenDose { .. } | SplitRule::UnseenCompound { .. } | SplitRule::UnseenContext { .. } => {
            dose::score_model(instance, model, bootstrap)
        }
    }
}

/// The noise-ceiling row, or why the task has none.
pub fn ceiling(instance: &TaskInstance<'_>, options: &EvalOptions) -> Result<ScoreRow, crate::ceiling::NoCeiling> {
    let (bootstrap, seed) = (&options.bootstrap, options.ceiling_seed);
    match instance.spec.spec.split {
        SplitRule::UnseenSingle { .. } | SplitRule::Combinatorial { .. } | SplitRule::MultiStep { .. } => {
            profile::ceiling(instance, bootstrap, seed)
        }
        SplitRule::InverseDesign { .. } => inverse_design::ceiling(instance, bootstrap, seed),
        SplitRule::GeneticInteractions { .. } => genetic_interactions::ceiling(instance, bootstrap, seed),
        SplitRule::OrderConsistency { .. } => order_consistency::ceiling(instance, bootstrap, seed),
        SplitRule::Stability { .. } => stability::ceiling(instance, bootstrap, seed),
        SplitRule::CrossModal { .. } => cross_modal::ceiling(instance, bootstrap, seed),
        SplitRule::FewShot { .. } => few_shot::ceiling(instance, bootstrap, seed),
        SplitRule::ClosedLoop { .. } => closed_loop::ceiling(instance, bootstrap),
        SplitRule::UnseenDose { .. } | SplitRule::UnseenCompound { .. } | SplitRule::UnseenContext { .. } => {
            dose::ceiling(instance, bootstrap, seed)
        }
    }
}

/// Why some of the task's metrics have no ceiling (the ceiling row leaves them out), and, for the
/// two-sided families (stability, cross-modal), the real cells' values the gaps are measured from.
pub fn ceiling_notes(instance: &TaskInstance<'_>) -> Vec<String> {
    match instance.spec.spec.split {
        SplitRule::UnseenSingle { .. }
        | SplitRule::Combinatorial { .. }
        | SplitRule::MultiStep { .. }
        | SplitRule::GeneticInteractions { .. }
        | SplitRule::OrderConsistency { .. } => profile::ceiling_notes(instance),
        SplitRule::UnseenDose { .. } | SplitRule::UnseenCompound { .. } | SplitRule::UnseenContext { .. } => {
            let mut notes = profile::ceiling_notes(instance);
            notes.push(dose::ceiling_note());
            notes
        }
        SplitRule::Stability { .. } => vec![stability::reference_note(instance)],
        SplitRule::CrossModal { .. } => cross_modal::reference_note(instance).into_iter().collect(),
        _ => Vec::new(),
    }
}
