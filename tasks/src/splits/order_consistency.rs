//! The order-consistency split (a multi-step family): the GEARS simulation split of
//! `combinatorial` (same genes seen, same held-out doubles), but only the held-out doubles are
//! scored, each twice: `a>b` (apply a, feed the prediction back, apply b) and `b>a`, both against
//! the cells observed under the simultaneous double a+b.

use crate::dataset::Dataset;
use crate::error::TaskError;
use crate::instance::{EvalItem, TaskInstance};
use crate::split::Split;

pub fn build(
    dataset: &Dataset,
    train_gene_fraction: f64,
    seen2_train_fraction: f64,
    control_test_fraction: f64,
    seed: u64,
) -> Result<Split, TaskError> {
    let split =
        super::combinatorial::build(dataset, train_gene_fraction, seen2_train_fraction, control_test_fraction, seed)?;
    if !split.test.iter().any(|t| dataset.condition(t.condition).order() == 2) {
        return Err(TaskError::SplitImpossible {
            task: "order-consistency".into(),
            dataset: dataset.id.clone(),
            reason: "the split holds out no double perturbation to query in both orders".into(),
        });
    }
    Ok(split)
}

/// The scored items: for every held-out double a+b (in `split.test` order, genes in label order),
/// `a>b` then `b>a`, each with the double's observed rows as truth and the double's subgroup.
pub fn eval_items<'a>(instance: &'a TaskInstance<'_>) -> Vec<EvalItem<'a>> {
    let mut items = Vec::new();
    for (t, rows) in instance.split.test.iter().zip(&instance.test_rows) {
        let double = instance.dataset.condition(t.condition);
        let parts = double.components();
        let [a, b] = parts.as_slice() else { continue };
        for (first, second) in [(a, b), (b, a)] {
            items.push(EvalItem {
                label: format!("{first}>{second}"),
                subgroup: t.subgroup,
                actions: vec![first.clone(), second.clone()],
                truth: instance.dataset.expression(),
                rows,
            });
        }
    }
    items
}

/// Index pairs (a>b, b>a) into [`eval_items`]' list, with the double's label.
pub fn order_pairs(items: &[EvalItem<'_>]) -> Vec<(usize, usize, String)> {
    (0..items.len() / 2)
        .map(|d| {
            let label = items[2 * d].actions.iter().map(|p| p.label()).collect::<Vec<_>>().join("+");
            (2 * d, 2 * d + 1, label)
        })
        .collect()
}
