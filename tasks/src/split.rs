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
    /// The state after the k-th action of an unseen sequence of seen actions.
    Step(u32),
    /// The no-op (control) action applied repeatedly (stability tasks).
    NoOp,
    /// A perturbation seen in the training context, scored in a context never trained on.
    NewContext,
    /// A compound at a dose never seen in training (its other doses trained).
    UnseenDose,
    /// A compound never seen in training, at any dose.
    UnseenCompound,
    /// Items perturbing at least one gene that regulates others (a cross-cutting report group of
    /// datasets that know their regulators, such as the simulator's; never an item's own subgroup).
    RegulatorTarget,
    /// Items perturbing only genes that regulate nothing: their only effect is on the target.
    NonRegulatorTarget,
}

impl Subgroup {
    /// Whether the subgroup's items count toward the headline (overall mean, rank). The first
    /// step of a held-out sequence is one action from control, a condition that is also in
    /// training: it is reported as its own subgroup, apart from the headline.
    pub fn in_headline(self) -> bool {
        !matches!(self, Subgroup::Step(1))
    }

    pub fn name(self) -> String {
        match self {
            Subgroup::UnseenSingle => "unseen_single".into(),
            Subgroup::ComboSeen0 => "combo_seen0".into(),
            Subgroup::ComboSeen1 => "combo_seen1".into(),
            Subgroup::ComboSeen2 => "combo_seen2".into(),
            Subgroup::Step(k) => format!("step_{k}"),
            Subgroup::NoOp => "no_op".into(),
            Subgroup::NewContext => "new_context".into(),
            Subgroup::UnseenDose => "unseen_dose".into(),
            Subgroup::UnseenCompound => "unseen_compound".into(),
            Subgroup::RegulatorTarget => "regulator_target".into(),
            Subgroup::NonRegulatorTarget => "non_regulator_target".into(),
        }
    }
}

/// The resampling unit of every scored item, in item order: the steps of one held-out sequence
/// (subgroups step_1, step_2, … in a row, as `TaskInstance::eval_items` lists them) are one unit,
/// since they share their cells' history; every other item is a unit of its own. Bootstrap CIs,
/// rank intervals and tie groups draw units, not items.
pub fn resampling_units(subgroups: impl IntoIterator<Item = Subgroup>) -> Vec<usize> {
    let mut units = Vec::new();
    let mut next = 0usize;
    for g in subgroups {
        if !matches!(g, Subgroup::Step(k) if k > 1) || units.is_empty() {
            next += 1;
        }
        units.push(next - 1);
    }
    units
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
    /// Held-out action sequences (indices into the dataset's sequence observations), multi-step
    /// tasks only; every other sequence may be used for training.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub test_sequences: Vec<usize>,
    /// Few-shot tasks: how the dataset's second context is used (test conditions then name
    /// perturbations whose scored cells are that context's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<ContextSplit>,
}

/// The new context of a few-shot split; rows index `dataset.context`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextSplit {
    /// The new context's perturbations a model may adapt on, in draw order: the k-shot
    /// adaptation set is the first k (so the sets are nested). Never a test perturbation.
    pub shot_order: Vec<ConditionId>,
    /// New-context control cells every adaptation set includes (k = 0 too).
    pub control_adapt_rows: Vec<usize>,
    /// New-context control cells used as test start states.
    pub control_test_rows: Vec<usize>,
}

impl Split {
    /// A split of one-step conditions (no held-out sequences, no second context); `controls` is
    /// (train, test) as [`split_controls`] returns it.
    pub fn one_step(
        train: Vec<ConditionId>,
        test: Vec<TestCondition>,
        (control_train_rows, control_test_rows): (Vec<usize>, Vec<usize>),
        train_genes: Vec<String>,
    ) -> Self {
        Self {
            train,
            test,
            control_train_rows,
            control_test_rows,
            train_genes,
            test_sequences: Vec::new(),
            context: None,
        }
    }

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
    // A pseudobulk table has one control profile: the training controls' mean and every query's
    // start state alike (a control row is never a scored item).
    if rows.len() == 1 && dataset.observation == crate::dataset::Observation::Pseudobulk {
        return (rows.clone(), rows);
    }
    metrics::rng::shuffle(&mut rows, &mut metrics::rng::seeded(seed ^ 0xC0_47_01));
    let n_test = ((rows.len() as f64 * test_fraction).round() as usize)
        .clamp(usize::from(rows.len() > 1), rows.len().saturating_sub(1));
    let mut test = rows.split_off(rows.len() - n_test);
    rows.sort_unstable();
    test.sort_unstable();
    (rows, test)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{Observation, Scale};
    use crate::gene::GenePanel;
    use crate::perturbation::{Direction, Perturbation};
    use ndarray::Array2;

    /// `n_ctrl` control rows interleaved with single-perturbation rows.
    fn dataset(n_ctrl: usize) -> Dataset {
        let mut labels = Vec::new();
        for i in 0..n_ctrl {
            labels.push(Perturbation::single(format!("G{}", i % 3), Direction::Knockdown));
            labels.push(Perturbation::control());
        }
        labels.push(Perturbation::single("G0", Direction::Knockdown));
        let x = Array2::from_shape_fn((labels.len(), 3), |(r, c)| (r + c) as f32);
        let genes = GenePanel::new(vec!["G0".into(), "G1".into(), "G2".into()]).unwrap();
        Dataset::new("t", "", genes, Scale::LogNormalized, Observation::SingleCell, x, labels).unwrap()
    }

    fn control_rows(ds: &Dataset) -> Vec<usize> {
        ds.rows_by_condition()[ds.control_id().unwrap().get()].clone()
    }

    #[test]
    fn control_split_is_a_sorted_disjoint_cover_of_the_control_rows() {
        let ds = dataset(11);
        let (train, test) = split_controls(&ds, 0.3, 5);
        // round(11 * 0.3) = 3 test rows.
        assert_eq!((train.len(), test.len()), (8, 3));
        assert!(train.windows(2).all(|w| w[0] < w[1]) && test.windows(2).all(|w| w[0] < w[1]));
        assert!(train.iter().all(|r| !test.contains(r)), "{train:?} {test:?}");
        let mut all: Vec<usize> = train.iter().chain(&test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, control_rows(&ds));
    }

    #[test]
    fn control_split_is_deterministic_and_depends_on_the_seed() {
        let ds = dataset(20);
        assert_eq!(split_controls(&ds, 0.5, 9), split_controls(&ds, 0.5, 9));
        let distinct: std::collections::BTreeSet<_> = (0..6).map(|s| split_controls(&ds, 0.5, s).1).collect();
        assert!(distinct.len() > 1, "the seed does not change the control split");
    }

    #[test]
    fn control_split_keeps_one_row_on_each_side_when_it_can() {
        let ds = dataset(2);
        assert_eq!(split_controls(&ds, 0.01, 0).1.len(), 1);
        assert_eq!(split_controls(&ds, 0.99, 0).0.len(), 1);
        // A single control row cannot be split: it trains.
        let one = dataset(1);
        let (train, test) = split_controls(&one, 0.5, 0);
        assert_eq!((train, test), (control_rows(&one), vec![]));
    }

    #[test]
    fn no_control_rows_give_empty_parts() {
        let genes = GenePanel::new(vec!["G0".into()]).unwrap();
        let ds = Dataset::new(
            "t",
            "",
            genes,
            Scale::LogFoldChange,
            Observation::Pseudobulk,
            Array2::zeros((1, 1)),
            vec![Perturbation::single("G0", Direction::Activation)],
        )
        .unwrap();
        assert_eq!(split_controls(&ds, 0.5, 0), (vec![], vec![]));
    }

    #[test]
    fn a_sequences_steps_form_one_unit() {
        use Subgroup::*;
        let items = [UnseenSingle, Step(1), Step(2), Step(3), Step(1), Step(2), ComboSeen1];
        assert_eq!(resampling_units(items), vec![0, 1, 1, 1, 2, 2, 3]);
        assert_eq!(resampling_units([UnseenSingle, UnseenSingle]), vec![0, 1]);
    }
}
