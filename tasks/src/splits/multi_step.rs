//! The multi-step split: every one-step perturbed condition (singles, doubles) trains; a seeded
//! `test_fraction` of the dataset's action sequences is held out. Each held-out sequence is
//! scored after every action, so a model must compose actions it has seen only one at a time.

use crate::dataset::{ConditionId, Dataset};
use crate::error::TaskError;
use crate::split::{Split, split_controls};

pub fn build(dataset: &Dataset, test_fraction: f64, control_test_fraction: f64, seed: u64) -> Result<Split, TaskError> {
    let impossible =
        |reason: String| TaskError::SplitImpossible { task: "multi-step".into(), dataset: dataset.id.clone(), reason };
    let Some(seq) = &dataset.sequences else {
        return Err(impossible("it has no sequence observations (only the simulator provides them)".into()));
    };
    if seq.sequences.len() < 2 {
        return Err(impossible(format!("it has {} sequence(s); at least 2 are needed", seq.sequences.len())));
    }
    let mut order: Vec<usize> = (0..seq.sequences.len()).collect();
    // Sort by label first so the draw does not depend on the order sequences were stored in.
    order.sort_by_key(|&i| seq.label(i, seq.sequences[i].len()));
    metrics::rng::shuffle(&mut order, &mut metrics::rng::seeded(seed));
    let n_test = ((order.len() as f64 * test_fraction).round() as usize).clamp(1, order.len() - 1);
    let mut test_sequences = order[..n_test].to_vec();
    test_sequences.sort_by_key(|&i| seq.label(i, seq.sequences[i].len()));
    let mut train: Vec<ConditionId> = (0..dataset.conditions().len())
        .map(|i| ConditionId(i as u32))
        .filter(|&c| !dataset.condition(c).is_control())
        .collect();
    train.sort_by_key(|&c| dataset.condition(c).label());
    let mut train_genes: Vec<String> =
        train.iter().flat_map(|&c| dataset.condition(c).genes().map(str::to_string).collect::<Vec<_>>()).collect();
    train_genes.sort();
    train_genes.dedup();
    let (control_train_rows, control_test_rows) = split_controls(dataset, control_test_fraction, seed);
    Ok(Split {
        train,
        test: Vec::new(),
        control_train_rows,
        control_test_rows,
        train_genes,
        test_sequences,
        context: None,
    })
}
