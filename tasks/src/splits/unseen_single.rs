//! The unseen-single split: a seeded fraction of the perturbed genes is held out; their single
//! perturbations are the test set, every other single trains. Combinations are not used.

use std::collections::BTreeSet;

use crate::dataset::Dataset;
use crate::error::TaskError;
use crate::split::{Split, Subgroup, TestCondition, split_controls};

pub fn build(dataset: &Dataset, test_fraction: f64, control_test_fraction: f64, seed: u64) -> Result<Split, TaskError> {
    let impossible = |reason: String| TaskError::SplitImpossible {
        task: "unseen-single".into(),
        dataset: dataset.id.clone(),
        reason,
    };
    let mut genes: Vec<String> = dataset
        .conditions()
        .iter()
        .filter(|p| p.order() == 1)
        .flat_map(|p| p.genes().map(str::to_string).collect::<Vec<_>>())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if genes.len() < 4 {
        return Err(impossible(format!(
            "it has {} single perturbations; at least 4 are needed to hold some out",
            genes.len()
        )));
    }
    metrics::rng::shuffle(&mut genes, &mut metrics::rng::seeded(seed));
    let n_test = ((genes.len() as f64 * test_fraction).round() as usize).clamp(2, genes.len() - 2);
    let test_genes: BTreeSet<String> = genes[..n_test].iter().cloned().collect();
    let mut train = Vec::new();
    let mut test = Vec::new();
    for (i, p) in dataset.conditions().iter().enumerate() {
        if p.order() != 1 {
            continue;
        }
        let id = crate::dataset::ConditionId(i as u32);
        let gene = p.genes().next().unwrap_or_default();
        if test_genes.contains(gene) {
            test.push(TestCondition { condition: id, label: p.label(), subgroup: Subgroup::UnseenSingle });
        } else {
            train.push(id);
        }
    }
    train.sort_by_key(|&c| dataset.condition(c).label());
    test.sort_by(|a, b| a.label.cmp(&b.label));
    let controls = split_controls(dataset, control_test_fraction, seed);
    let mut train_genes: Vec<String> = genes[n_test..].to_vec();
    train_genes.sort();
    Ok(Split::one_step(train, test, controls, train_genes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{ConditionId, Observation, Scale};
    use crate::gene::GenePanel;
    use crate::perturbation::{Direction, Perturbation};
    use crate::split::Subgroup;
    use ndarray::Array2;
    use std::collections::BTreeSet;

    const N_GENES: usize = 10;

    fn single(i: usize) -> Perturbation {
        Perturbation::single(format!("G{i}"), Direction::Knockdown)
    }

    fn double(i: usize, j: usize) -> Perturbation {
        Perturbation::from_genes([(format!("G{i}"), Direction::Knockdown), (format!("G{j}"), Direction::Knockdown)])
    }

    /// 10 singles (2 cells each), 3 doubles and 9 control rows, interleaved.
    fn labels() -> Vec<Perturbation> {
        let mut l = Vec::new();
        for i in 0..N_GENES {
            l.push(single(i));
            if i < 9 {
                l.push(Perturbation::control());
            }
            l.push(single(i));
        }
        l.extend([double(0, 1), double(2, 3), double(4, 9)]);
        l
    }

    fn dataset(labels: Vec<Perturbation>) -> Dataset {
        let genes: Vec<String> = (0..N_GENES).map(|i| format!("G{i}")).collect();
        let x = Array2::from_shape_fn((labels.len(), N_GENES), |(r, c)| (r * 7 + c) as f32 * 0.01);
        Dataset::new(
            "toy",
            "",
            GenePanel::new(genes).unwrap(),
            Scale::LogNormalized,
            Observation::SingleCell,
            x,
            labels,
        )
        .unwrap()
    }

    fn test_genes(ds: &Dataset, split: &Split) -> BTreeSet<String> {
        split
            .test
            .iter()
            .flat_map(|t| ds.condition(t.condition).genes().map(str::to_string).collect::<Vec<_>>())
            .collect()
    }

    #[test]
    fn no_test_gene_is_perturbed_in_training() {
        let ds = dataset(labels());
        for seed in 0..8 {
            let split = build(&ds, 0.3, 0.5, seed).unwrap();
            let held_out = test_genes(&ds, &split);
            assert_eq!(held_out.len(), 3, "round(10 * 0.3) genes are held out");
            for &c in &split.train {
                let p = ds.condition(c);
                assert!(p.genes().all(|g| !held_out.contains(g)), "seed {seed}: training condition {p} leaks");
            }
            assert!(split.train_genes.iter().all(|g| !held_out.contains(g)), "seed {seed}");
            let trained: BTreeSet<String> = split
                .train
                .iter()
                .flat_map(|&c| ds.condition(c).genes().map(str::to_string).collect::<Vec<_>>())
                .collect();
            assert_eq!(split.train_genes, trained.into_iter().collect::<Vec<_>>(), "seed {seed}: train_genes");
        }
    }

    #[test]
    fn every_single_is_in_exactly_one_side_and_nothing_else_is() {
        let ds = dataset(labels());
        let split = build(&ds, 0.3, 0.5, 3).unwrap();
        let train: BTreeSet<ConditionId> = split.train.iter().copied().collect();
        let test: BTreeSet<ConditionId> = split.test.iter().map(|t| t.condition).collect();
        assert_eq!(train.len(), split.train.len(), "duplicate training condition");
        assert_eq!(test.len(), split.test.len(), "duplicate test condition");
        assert!(train.is_disjoint(&test));
        let singles: BTreeSet<ConditionId> = (0..ds.conditions().len())
            .map(|i| ConditionId(i as u32))
            .filter(|&c| ds.condition(c).order() == 1)
            .collect();
        assert_eq!(singles.len(), N_GENES);
        assert_eq!(train.union(&test).copied().collect::<BTreeSet<_>>(), singles);
        for t in &split.test {
            assert_eq!(t.subgroup, Subgroup::UnseenSingle);
            assert_eq!(t.label, ds.condition(t.condition).label());
        }
        assert!(split.test.windows(2).all(|w| w[0].label < w[1].label), "test is sorted by label");
    }

    #[test]
    fn same_seed_same_split_other_seed_other_split() {
        let ds = dataset(labels());
        let a = build(&ds, 0.3, 0.5, 42).unwrap();
        assert_eq!(a, build(&ds, 0.3, 0.5, 42).unwrap());
        let held_out: BTreeSet<Vec<String>> =
            (0..8).map(|s| test_genes(&ds, &build(&ds, 0.3, 0.5, s).unwrap()).into_iter().collect()).collect();
        assert!(held_out.len() > 1, "the seed does not change which genes are held out");
        assert!((0..8).any(|s| build(&ds, 0.3, 0.5, s).unwrap() != a));
    }

    #[test]
    fn control_rows_split_into_a_disjoint_cover() {
        let ds = dataset(labels());
        let split = build(&ds, 0.3, 0.5, 1).unwrap();
        let ctrl = ds.rows_by_condition()[ds.control_id().unwrap().get()].clone();
        assert_eq!(ctrl.len(), 9);
        assert!(!split.control_train_rows.is_empty() && !split.control_test_rows.is_empty());
        assert!(split.control_train_rows.iter().all(|r| !split.control_test_rows.contains(r)));
        let mut all: Vec<usize> = split.control_train_rows.iter().chain(&split.control_test_rows).copied().collect();
        all.sort_unstable();
        assert_eq!(all, ctrl);
    }

    #[test]
    fn which_genes_are_held_out_does_not_depend_on_row_order() {
        let ds = dataset(labels());
        let mut reversed_labels = labels();
        reversed_labels.reverse();
        let rev = dataset(reversed_labels);
        for seed in 0..5 {
            let a = build(&ds, 0.3, 0.5, seed).unwrap();
            let b = build(&rev, 0.3, 0.5, seed).unwrap();
            // Membership and test order (sorted by label) are order-independent.
            let test_labels = |s: &Split| s.test.iter().map(|t| t.label.clone()).collect::<Vec<_>>();
            assert_eq!(test_labels(&a), test_labels(&b), "seed {seed}");
            let train_set = |d: &Dataset, s: &Split| s.train_labels(d).into_iter().collect::<BTreeSet<_>>();
            assert_eq!(train_set(&ds, &a), train_set(&rev, &b), "seed {seed}");
            assert_eq!(a.train_genes, b.train_genes, "seed {seed}");
        }
    }

    #[test]
    fn holds_out_at_least_two_and_keeps_at_least_two_and_refuses_too_few_singles() {
        let few: Vec<Perturbation> =
            (0..4).map(single).chain([Perturbation::control(), Perturbation::control()]).collect();
        let ds = dataset(few);
        let s = build(&ds, 0.01, 0.5, 0).unwrap();
        assert_eq!((s.train.len(), s.test.len()), (2, 2));
        let s = build(&ds, 0.99, 0.5, 0).unwrap();
        assert_eq!((s.train.len(), s.test.len()), (2, 2));
        let three: Vec<Perturbation> = (0..3).map(single).chain([double(0, 5), double(6, 7)]).collect();
        let err = build(&dataset(three), 0.3, 0.5, 0).unwrap_err().to_string();
        assert!(err.contains("3 single perturbations") && err.contains("at least 4"), "{err}");
    }
}
