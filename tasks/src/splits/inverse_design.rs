//! The inverse-design split: among the perturbed conditions whose order (number of genes) is in
//! `target_orders`, a seeded `target_fraction` (at least one, never all) are held-out targets;
//! every other perturbed condition trains. Targets are candidates of the screen too (the runner
//! ranks every perturbed condition), but none of their cells is in the training view.
//!
//! Subgroups follow GEARS: a held-out single is `unseen_single` (the condition is unseen; its gene
//! may occur in training doubles), a held-out double is `combo_seen0/1/2` by how many of its genes
//! have their single in training.

use std::collections::BTreeSet;

use crate::dataset::{ConditionId, Dataset};
use crate::error::TaskError;
use crate::split::{Split, Subgroup, TestCondition, split_controls};

pub fn build(
    dataset: &Dataset,
    target_fraction: f64,
    control_test_fraction: f64,
    target_orders: &[usize],
    seed: u64,
) -> Result<Split, TaskError> {
    let impossible = |reason: String| TaskError::SplitImpossible {
        task: "inverse-design".into(),
        dataset: dataset.id.clone(),
        reason,
    };
    let mut perturbed: Vec<(String, ConditionId)> = dataset
        .conditions()
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.is_control())
        .map(|(i, p)| (p.label(), ConditionId(i as u32)))
        .collect();
    // Sort before the seeded draw so the result does not depend on the dataset's row order.
    perturbed.sort();
    let mut eligible: Vec<(String, ConditionId)> =
        perturbed.iter().filter(|(_, c)| target_orders.contains(&dataset.condition(*c).order())).cloned().collect();
    if eligible.len() < 2 {
        return Err(impossible(format!(
            "it has {} perturbed condition(s) of order {target_orders:?}; at least 2 are needed",
            eligible.len()
        )));
    }
    metrics::rng::shuffle(&mut eligible, &mut metrics::rng::seeded(seed));
    let n_targets = ((eligible.len() as f64 * target_fraction).round() as usize).clamp(1, eligible.len() - 1);
    let targets: BTreeSet<ConditionId> = eligible[..n_targets].iter().map(|(_, c)| *c).collect();
    let train: Vec<ConditionId> = perturbed.iter().map(|(_, c)| *c).filter(|c| !targets.contains(c)).collect();
    let train_single_genes: BTreeSet<&str> = train
        .iter()
        .map(|&c| dataset.condition(c))
        .filter(|p| p.order() == 1)
        .flat_map(|p| p.genes().collect::<Vec<_>>())
        .collect();
    let mut test: Vec<TestCondition> = targets
        .iter()
        .map(|&c| {
            let p = dataset.condition(c);
            let subgroup = match (p.order(), p.genes().filter(|g| train_single_genes.contains(g)).count()) {
                (1, _) => Subgroup::UnseenSingle,
                (_, 0) => Subgroup::ComboSeen0,
                (_, 1) => Subgroup::ComboSeen1,
                _ => Subgroup::ComboSeen2,
            };
            TestCondition { condition: c, label: p.label(), subgroup }
        })
        .collect();
    test.sort_by(|a, b| (a.subgroup, &a.label).cmp(&(b.subgroup, &b.label)));
    let mut train_genes: Vec<String> =
        train.iter().flat_map(|&c| dataset.condition(c).genes().map(str::to_string).collect::<Vec<_>>()).collect();
    train_genes.sort();
    train_genes.dedup();
    let controls = split_controls(dataset, control_test_fraction, seed);
    Ok(Split::one_step(train, test, controls, train_genes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{Observation, Scale};
    use crate::gene::GenePanel;
    use crate::perturbation::{Direction, Perturbation};
    use ndarray::Array2;

    fn p(genes: &[usize]) -> Perturbation {
        Perturbation::from_genes(genes.iter().map(|g| (format!("G{g}"), Direction::Knockdown)))
    }

    fn dataset(reverse: bool) -> Dataset {
        let mut labels: Vec<Perturbation> = (0..8).map(|g| p(&[g])).collect();
        labels.extend((0..7).map(|g| p(&[g, g + 1])));
        labels.extend((0..4).map(|_| Perturbation::control()));
        if reverse {
            labels.reverse();
        }
        let x = Array2::from_shape_fn((labels.len(), 8), |(r, c)| (r * c) as f32);
        let genes = GenePanel::new((0..8).map(|g| format!("G{g}")).collect()).unwrap();
        Dataset::new("toy", "", genes, Scale::LogNormalized, Observation::SingleCell, x, labels).unwrap()
    }

    #[test]
    fn targets_are_held_out_of_training_and_of_the_requested_orders() {
        let ds = dataset(false);
        for seed in 0..8 {
            let s = build(&ds, 0.25, 0.5, &[2], seed).unwrap();
            assert_eq!(s.test.len(), 2, "round(7 * 0.25) doubles");
            for t in &s.test {
                assert_eq!(ds.condition(t.condition).order(), 2);
                assert!(!s.train.contains(&t.condition));
                assert!(matches!(t.subgroup, Subgroup::ComboSeen2), "all singles train");
            }
            assert_eq!(s.train.len() + s.test.len(), 15, "every perturbed condition is placed");
            let both = build(&ds, 0.25, 0.5, &[1, 2], seed).unwrap();
            assert_eq!(both.test.len(), 4, "round(15 * 0.25)");
        }
    }

    #[test]
    fn deterministic_and_independent_of_row_order() {
        let (a, b) = (dataset(false), dataset(true));
        let labels = |ds: &Dataset, s: &Split| {
            (s.train_labels(ds), s.test.iter().map(|t| (t.label.clone(), t.subgroup)).collect::<Vec<_>>())
        };
        let distinct: BTreeSet<_> =
            (0..6).map(|seed| labels(&a, &build(&a, 0.3, 0.5, &[1, 2], seed).unwrap()).1).collect();
        assert!(distinct.len() > 1);
        for seed in 0..6 {
            let (sa, sb) = (build(&a, 0.3, 0.5, &[1, 2], seed).unwrap(), build(&b, 0.3, 0.5, &[1, 2], seed).unwrap());
            let (mut la, mut lb) = (labels(&a, &sa), labels(&b, &sb));
            la.0.sort();
            lb.0.sort();
            assert_eq!(la, lb, "seed {seed}");
        }
    }

    #[test]
    fn too_few_eligible_conditions_are_refused() {
        let err = build(&dataset(false), 0.25, 0.5, &[3], 0).unwrap_err().to_string();
        assert!(err.contains("inverse-design") && err.contains("at least 2"), "{err}");
    }
}
