//! A task split: which conditions train and which are tested (with their GEARS-style subgroup),
//! and how control rows are divided. Built deterministically from (dataset, seed) by the
//! builders in `splits/`; serialisable so a paper can cite and reload it.

use serde::{Deserialize, Serialize};

use crate::dataset::{ConditionId, Dataset};

/// Why a test condition is hard, as GEARS and the arena report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subgroup {
    /// A single perturbation of a gene never perturbed in training.
    UnseenSingle,
    /// A double whose genes were both never perturbed in training.
    ComboSeen0,
    /// A double with exactly one gene perturbed in training.
    ComboSeen1,
    /// A double with both genes perturbed in training (the double itself is unseen).
    ComboSeen2,
}

impl Subgroup {
    pub fn name(self) -> &'static str {
        match self {
            Subgroup::UnseenSingle => "unseen_single",
            Subgroup::ComboSeen0 => "combo_seen0",
            Subgroup::ComboSeen1 => "combo_seen1",
            Subgroup::ComboSeen2 => "combo_seen2",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestCondition {
    pub condition: ConditionId,
    pub label: String,
    pub subgroup: Subgroup,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// Perturbed conditions a model may train on (never the control).
    pub train: Vec<ConditionId>,
    pub test: Vec<TestCondition>,
    /// Control rows for training (fit, control mean) and for test-time start states.
    pub control_train_rows: Vec<usize>,
    pub control_test_rows: Vec<usize>,
    /// The genes whose perturbations appear in training (sorted).
    pub train_genes: Vec<String>,
}

impl Split {
    /// Labels of the training conditions, for reports.
    pub fn train_labels(&self, dataset: &Dataset) -> Vec<String> {
        self.train.iter().map(|&c| dataset.condition(c).label()).collect()
    }
}

/// Splits the control rows into train and test parts (`test_fraction` of them, at least one
/// each when there are two or more), deterministically from `seed`.
pub fn split_controls(dataset: &Dataset, test_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let Some(ctrl) = dataset.control_id() else { return (Vec::new(), Vec::new()) };
    let mut rows = dataset.rows_by_condition().swap_remove(ctrl.get());
    metrics::rng::shuffle(&mut rows, &mut metrics::rng::seeded(seed ^ 0xC0_47_01));
    let n_test = ((rows.len() as f64 * test_fraction).round() as usize)
        .clamp(usize::from(rows.len() > 1), rows.len().saturating_sub(1));
    let mut test = rows.split_off(rows.len() - n_test);
    rows.sort_unstable();
    test.sort_unstable();
    (rows, test)
}
