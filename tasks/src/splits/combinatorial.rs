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
    let (control_train_rows, control_test_rows) = split_controls(dataset, control_test_fraction, seed);
    let train_genes = seen.iter().map(|g| g.to_string()).collect();
    Ok(Split { train, test, control_train_rows, control_test_rows, train_genes })
}
