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
    test.sort_by(|a, b| a.label.cmp(&b.label));
    let (control_train_rows, control_test_rows) = split_controls(dataset, control_test_fraction, seed);
    let mut train_genes: Vec<String> = genes[n_test..].to_vec();
    train_genes.sort();
    Ok(Split { train, test, control_train_rows, control_test_rows, train_genes })
}
