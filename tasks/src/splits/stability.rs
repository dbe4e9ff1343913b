//! The stability split (a multi-step family): a seeded `test_fraction` of the singles is held out
//! exactly as in `unseen-single`. Each held-out single, and the no-op (control) action, is applied
//! repeatedly to the start cells for [`ROLLOUT_LENGTH`] steps, feeding each prediction back; the
//! predicted cells must stay on the manifold of real one-step cells. [`manifold_rows`] decides,
//! deterministically from the seed, which real cells form that reference and which are held out
//! to measure the real-vs-real kNN scale (and serve as the ceiling's "prediction").

use crate::dataset::Dataset;
use crate::error::TaskError;
use crate::instance::{EvalItem, TaskInstance};
use crate::perturbation::Perturbation;
use crate::split::{Split, Subgroup};

/// Length of every rollout (the last scored step).
pub const ROLLOUT_LENGTH: usize = 50;

pub fn build(dataset: &Dataset, test_fraction: f64, control_test_fraction: f64, seed: u64) -> Result<Split, TaskError> {
    if dataset.observation != crate::dataset::Observation::SingleCell {
        return Err(TaskError::SplitImpossible {
            task: "stability".into(),
            dataset: dataset.id.clone(),
            reason: "stability compares predicted cells with real single cells; the dataset is pseudobulk".into(),
        });
    }
    super::unseen_single::build(dataset, test_fraction, control_test_fraction, seed)
}

/// One item per repeated action: every held-out single (`A×50`, subgroup `unseen_single`, truth
/// rows its observed cells), then the no-op (`ctrl×50`, subgroup `no_op`, truth rows the test
/// control cells).
pub fn eval_items<'a>(instance: &'a TaskInstance<'_>) -> Vec<EvalItem<'a>> {
    let mut items: Vec<EvalItem<'a>> = instance
        .split
        .test
        .iter()
        .zip(&instance.test_rows)
        .map(|(t, rows)| {
            let p = instance.dataset.condition(t.condition);
            EvalItem {
                label: format!("{}×{ROLLOUT_LENGTH}", p.label()),
                subgroup: t.subgroup,
                actions: vec![p.clone(); ROLLOUT_LENGTH],
                truth: instance.dataset.expression(),
                rows,
            }
        })
        .collect();
    items.push(EvalItem {
        label: format!("ctrl×{ROLLOUT_LENGTH}"),
        subgroup: Subgroup::NoOp,
        actions: vec![Perturbation::control(); ROLLOUT_LENGTH],
        truth: instance.dataset.expression(),
        rows: &instance.split.control_test_rows,
    });
    items
}

/// Which real one-step rows are the reference manifold and which are held out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifoldRows {
    /// Reference cells (sorted): every row not excluded and not held out, a seeded subsample of at
    /// most `max_reference` rows.
    pub reference: Vec<usize>,
    /// Held-out real cells of each item (sorted): a seeded half of the item's rows that are not
    /// excluded (at least one when it has any).
    pub held_out: Vec<Vec<usize>>,
}

/// Splits rows `0..n_rows` (all conditions) into the reference and per-item held-out cells.
/// `exclude` (the start cells of the rollouts) is in neither, so a model that returns its start
/// cells is not rewarded for hitting them exactly.
pub fn manifold_rows(
    n_rows: usize,
    item_rows: &[&[usize]],
    exclude: &[usize],
    max_reference: usize,
    seed: u64,
) -> ManifoldRows {
    let mut taken = vec![false; n_rows];
    for &r in exclude {
        taken[r] = true;
    }
    let mut held_out = Vec::with_capacity(item_rows.len());
    for (k, rows) in item_rows.iter().enumerate() {
        let mut free: Vec<usize> = rows.iter().copied().filter(|&r| !taken[r]).collect();
        free.sort_unstable();
        free.dedup();
        metrics::rng::shuffle(&mut free, &mut metrics::rng::seeded(seed ^ 0x57AB_0000 ^ k as u64));
        free.truncate(free.len().div_ceil(2));
        free.sort_unstable();
        for &r in &free {
            taken[r] = true;
        }
        held_out.push(free);
    }
    let mut reference: Vec<usize> = (0..n_rows).filter(|&r| !taken[r]).collect();
    metrics::rng::shuffle(&mut reference, &mut metrics::rng::seeded(seed ^ 0x4EF));
    reference.truncate(max_reference);
    reference.sort_unstable();
    ManifoldRows { reference, held_out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifold_rows_are_disjoint_deterministic_and_capped() {
        let a: Vec<usize> = (0..10).collect();
        let b: Vec<usize> = (10..13).collect();
        let exclude = [0usize, 1, 20];
        let m = manifold_rows(40, &[&a, &b], &exclude, 1000, 7);
        assert_eq!(m, manifold_rows(40, &[&a, &b], &exclude, 1000, 7));
        // Half of the free rows of each item (rounded up) are held out.
        assert_eq!((m.held_out[0].len(), m.held_out[1].len()), (4, 2));
        assert!(m.held_out[0].iter().all(|r| a.contains(r) && !exclude.contains(r)));
        let held: Vec<usize> = m.held_out.concat();
        assert!(m.reference.iter().all(|r| !held.contains(r) && !exclude.contains(r)));
        // Everything else is reference: 40 − 3 excluded − 6 held out.
        assert_eq!(m.reference.len(), 31);
        let capped = manifold_rows(40, &[&a, &b], &exclude, 5, 7);
        assert_eq!(capped.reference.len(), 5);
        assert_eq!(capped.held_out, m.held_out);
        // A single free row is held out; no free row leaves the item empty.
        let m = manifold_rows(5, &[&[0, 1], &[2]], &[0], 10, 0);
        assert_eq!(m.held_out, vec![vec![1], vec![2]]);
        assert_eq!(m.reference, vec![3, 4]);
    }
}
