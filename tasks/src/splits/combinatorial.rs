//! The GEARS "simulation" split (Roohani et al. 2024, `get_simulation_split`): a seeded
//! `train_gene_fraction` of the perturbed genes is "seen"; singles of seen genes train, singles of
//! unseen genes test (unseen_single); doubles are combo_seen0/1/2 by how many of their genes are
//! seen; seen0 and seen1 doubles all test; seen2 doubles split `seen2_train_fraction` train / rest
//! test. Same structure as GEARS, drawn with the arena's own seeded RNG.

use std::collections::BTreeSet;

use crate::dataset::{ConditionId, Dataset};
use crate::error::TaskError;
use crate::split::{Split, Subgroup, TestCondition, split_controls};

pub fn build(
    dataset: &Dataset,
    train_gene_fraction: f64,
    seen2_train_fraction: f64,
    control_test_fraction: f64,
    seed: u64,
) -> Result<Split, TaskError> {
    let impossible = |reason: String| TaskError::SplitImpossible {
        task: "combinatorial".into(),
        dataset: dataset.id.clone(),
        reason,
    };
    let perturbed: Vec<(ConditionId, &crate::Perturbation)> = dataset
        .conditions()
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.is_control())
        .map(|(i, p)| (ConditionId(i as u32), p))
        .collect();
    if !perturbed.iter().any(|(_, p)| p.order() == 2) {
        return Err(impossible("it has no double perturbations (labels like 'A+B')".into()));
    }
    let mut genes: Vec<String> = perturbed
        .iter()
        .flat_map(|(_, p)| p.genes().map(str::to_string).collect::<Vec<_>>())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    metrics::rng::shuffle(&mut genes, &mut metrics::rng::seeded(seed));
    let n_seen = (genes.len() as f64 * train_gene_fraction) as usize;
    let seen: BTreeSet<&str> = genes[..n_seen].iter().map(String::as_str).collect();

    let mut train = Vec::new();
    let mut test = Vec::new();
    let mut seen2 = Vec::new();
    for &(id, p) in &perturbed {
        let n_seen_genes = p.genes().filter(|g| seen.contains(g)).count();
        let label = p.label();
        match (p.order(), n_seen_genes) {
            (1, 1) => train.push(id),
            (1, _) => test.push(TestCondition { condition: id, label, subgroup: Subgroup::UnseenSingle }),
            (2, 0) => test.push(TestCondition { condition: id, label, subgroup: Subgroup::ComboSeen0 }),
            (2, 1) => test.push(TestCondition { condition: id, label, subgroup: Subgroup::ComboSeen1 }),
            (2, _) => seen2.push((label, id)),
            _ => {} // triples and beyond are not part of this split
        }
    }
    // Sort before the seeded draw so the result does not depend on the dataset's row order.
    seen2.sort();
    metrics::rng::shuffle(&mut seen2, &mut metrics::rng::seeded(seed.wrapping_add(1)));
    let n_seen2_train = (seen2.len() as f64 * seen2_train_fraction) as usize;
    for (k, (label, id)) in seen2.into_iter().enumerate() {
        if k < n_seen2_train {
            train.push(id);
        } else {
            test.push(TestCondition { condition: id, label, subgroup: Subgroup::ComboSeen2 });
        }
    }
    train.sort_by_key(|&c| dataset.condition(c).label());
    test.sort_by(|a, b| (a.subgroup, &a.label).cmp(&(b.subgroup, &b.label)));
    let controls = split_controls(dataset, control_test_fraction, seed);
    let train_genes = seen.iter().map(|g| g.to_string()).collect();
    Ok(Split::one_step(train, test, controls, train_genes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{Observation, Scale};
    use crate::gene::GenePanel;
    use crate::perturbation::{Direction, Perturbation};
    use ndarray::Array2;
    use std::collections::{BTreeMap, BTreeSet};

    const N_GENES: usize = 12;
    const TRAIN_GENE_FRACTION: f64 = 0.75;
    const SEEN2_TRAIN_FRACTION: f64 = 0.75;

    fn name(i: usize) -> String {
        format!("G{i:02}")
    }

    fn single(i: usize) -> Perturbation {
        Perturbation::single(name(i), Direction::Activation)
    }

    fn double(i: usize, j: usize) -> Perturbation {
        Perturbation::from_genes([(name(i), Direction::Activation), (name(j), Direction::Activation)])
    }

    /// 12 singles, 20 doubles ((i, i+1) and (i, i+3)), 6 control rows.
    fn labels() -> Vec<Perturbation> {
        let mut l: Vec<Perturbation> = (0..N_GENES).map(single).collect();
        l.extend((0..11).map(|i| double(i, i + 1)));
        l.extend((0..9).map(|i| double(i, i + 3)));
        for k in 0..6 {
            l.insert(k * 5, Perturbation::control());
        }
        l
    }

    fn dataset(labels: Vec<Perturbation>) -> Dataset {
        let genes: Vec<String> = (0..N_GENES).map(name).collect();
        let x = Array2::from_shape_fn((labels.len(), N_GENES), |(r, c)| (r + 2 * c) as f32);
        Dataset::new(
            "combo",
            "",
            GenePanel::new(genes).unwrap(),
            Scale::LogNormalized,
            Observation::SingleCell,
            x,
            labels,
        )
        .unwrap()
    }

    fn split(ds: &Dataset, seed: u64) -> Split {
        build(ds, TRAIN_GENE_FRACTION, SEEN2_TRAIN_FRACTION, 0.5, seed).unwrap()
    }

    #[test]
    fn subgroups_membership_and_seen2_fraction_hold_for_every_seed() {
        let ds = dataset(labels());
        assert_eq!(ds.conditions().iter().filter(|p| p.order() == 2).count(), 20);
        let mut subgroups_seen = BTreeSet::new();
        for seed in 0..12 {
            let s = split(&ds, seed);
            let seen: BTreeSet<&str> = s.train_genes.iter().map(String::as_str).collect();
            assert_eq!(seen.len(), 9, "floor(12 * 0.75) genes are seen");
            assert!(s.train_genes.windows(2).all(|w| w[0] < w[1]), "train_genes sorted");
            let n_seen = |p: &Perturbation| p.genes().filter(|g| seen.contains(g)).count();

            let train: BTreeSet<ConditionId> = s.train.iter().copied().collect();
            let test: BTreeSet<ConditionId> = s.test.iter().map(|t| t.condition).collect();
            assert_eq!(train.len(), s.train.len());
            assert_eq!(test.len(), s.test.len());
            assert!(train.is_disjoint(&test), "seed {seed}: a test condition is also in train");
            // Every perturbed condition is placed, the control never.
            let perturbed: BTreeSet<ConditionId> =
                (0..ds.conditions().len() as u32).map(ConditionId).filter(|&c| !ds.condition(c).is_control()).collect();
            assert_eq!(train.union(&test).copied().collect::<BTreeSet<_>>(), perturbed, "seed {seed}");

            // Training conditions: only seen genes (no leakage of unseen genes).
            for &c in &s.train {
                let p = ds.condition(c);
                assert_eq!(n_seen(p), p.order(), "seed {seed}: training condition {p} has an unseen gene");
            }
            // Test labels match their subgroup definition.
            for t in &s.test {
                let p = ds.condition(t.condition);
                assert_eq!(t.label, p.label());
                let expected = match (p.order(), n_seen(p)) {
                    (1, 0) => Subgroup::UnseenSingle,
                    (2, 0) => Subgroup::ComboSeen0,
                    (2, 1) => Subgroup::ComboSeen1,
                    (2, 2) => Subgroup::ComboSeen2,
                    other => panic!("seed {seed}: unexpected test condition {p} {other:?}"),
                };
                assert_eq!(t.subgroup, expected, "seed {seed}: {p}");
                subgroups_seen.insert(t.subgroup);
            }
            // Unseen singles, seen0 and seen1 doubles are all test.
            for (i, p) in ds.conditions().iter().enumerate() {
                let id = ConditionId(i as u32);
                let all_test = (p.order() == 1 && n_seen(p) == 0) || (p.order() == 2 && n_seen(p) < 2);
                if all_test {
                    assert!(test.contains(&id), "seed {seed}: {p} should be test");
                }
                if p.order() == 1 && n_seen(p) == 1 {
                    assert!(train.contains(&id), "seed {seed}: seen single {p} should train");
                }
            }
            // seen2 doubles: floor(n * fraction) train, the rest test.
            let seen2: Vec<ConditionId> = (0..ds.conditions().len() as u32)
                .map(ConditionId)
                .filter(|&c| ds.condition(c).order() == 2 && n_seen(ds.condition(c)) == 2)
                .collect();
            let in_train = seen2.iter().filter(|c| train.contains(c)).count();
            assert_eq!(in_train, (seen2.len() as f64 * SEEN2_TRAIN_FRACTION) as usize, "seed {seed}");
            assert_eq!(s.test.iter().filter(|t| t.subgroup == Subgroup::ComboSeen2).count(), seen2.len() - in_train);
            // Orderings.
            assert!(s.test.windows(2).all(|w| (w[0].subgroup, &w[0].label) < (w[1].subgroup, &w[1].label)));
            let labels = s.train_labels(&ds);
            assert!(labels.windows(2).all(|w| w[0] < w[1]), "train sorted by label");
        }
        // The fixture exercises every subgroup across the seeds (the checks above are not vacuous).
        assert_eq!(subgroups_seen.len(), 4, "{subgroups_seen:?}");
    }

    #[test]
    fn seen2_split_has_enough_doubles_to_be_meaningful() {
        let ds = dataset(labels());
        let s = split(&ds, 0);
        let counts: BTreeMap<Subgroup, usize> = s.test.iter().fold(BTreeMap::new(), |mut m, t| {
            *m.entry(t.subgroup).or_default() += 1;
            m
        });
        let seen: BTreeSet<&str> = s.train_genes.iter().map(String::as_str).collect();
        let n_seen2 = ds.conditions().iter().filter(|p| p.order() == 2 && p.genes().all(|g| seen.contains(g))).count();
        assert!(n_seen2 >= 4, "seed 0 has {n_seen2} seen2 doubles");
        let trained_doubles = s.train.iter().filter(|&&c| ds.condition(c).order() == 2).count();
        assert_eq!(trained_doubles, n_seen2 * 3 / 4);
        assert_eq!(counts.get(&Subgroup::ComboSeen2).copied().unwrap_or(0), n_seen2 - n_seen2 * 3 / 4);
        assert_eq!(counts[&Subgroup::UnseenSingle], 3);
    }

    #[test]
    fn deterministic_from_seed_and_independent_of_row_order() {
        let ds = dataset(labels());
        assert_eq!(split(&ds, 5), split(&ds, 5));
        let distinct: BTreeSet<Vec<String>> = (0..6).map(|s| split(&ds, s).train_genes).collect();
        assert!(distinct.len() > 1, "the seed does not change the seen genes");
        let mut reversed = labels();
        reversed.reverse();
        let rev = dataset(reversed);
        for seed in 0..6 {
            let (a, b) = (split(&ds, seed), split(&rev, seed));
            assert_eq!(a.train_genes, b.train_genes, "seed {seed}");
            assert_eq!(a.train_labels(&ds), b.train_labels(&rev), "seed {seed}");
            let tests = |s: &Split| s.test.iter().map(|t| (t.label.clone(), t.subgroup)).collect::<Vec<_>>();
            assert_eq!(tests(&a), tests(&b), "seed {seed}");
        }
    }

    #[test]
    fn dataset_without_doubles_is_refused() {
        let l: Vec<Perturbation> = (0..N_GENES).map(single).chain([Perturbation::control()]).collect();
        let err = build(&dataset(l), 0.75, 0.75, 0.5, 0).unwrap_err().to_string();
        assert!(err.to_lowercase().contains("double"), "{err}");
        assert!(err.contains("combinatorial") && err.contains("combo"), "{err}");
    }
}
