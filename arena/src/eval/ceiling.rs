//! The split-half noise ceiling: for each test perturbation its real cells are shuffled (seeded)
//! and halved; half A's mean is scored as the "prediction" of half B's mean. No model can be
//! expected to beat the agreement of two halves of the same experiment. Needs single cells
//! (at least two per perturbation); pseudobulk data have no ceiling.

use tasks::{Observation, TaskInstance};

/// (prediction, truth) profile pairs per test condition, or the reason there is no ceiling.
pub fn split_halves(instance: &TaskInstance<'_>, seed: u64) -> Result<(Vec<Vec<f64>>, Vec<Vec<f64>>), String> {
    if instance.dataset.observation == Observation::Pseudobulk {
        return Err("no noise ceiling: the dataset is pseudobulk (one profile per condition), so there are no cells to split in halves".into());
    }
    let mut predictions = Vec::new();
    let mut truths = Vec::new();
    for (k, (rows, test)) in instance.test_rows.iter().zip(instance.test_conditions()).enumerate() {
        if rows.len() < 2 {
            return Err(format!(
                "no noise ceiling: perturbation '{}' has {} cell(s); two halves need at least 2",
                test.label,
                rows.len()
            ));
        }
        let mut rows = rows.clone();
        metrics::rng::shuffle(&mut rows, &mut metrics::rng::seeded(seed.wrapping_add(k as u64)));
        let (a, b) = rows.split_at(rows.len() / 2);
        predictions.push(instance.dataset.mean_of_rows(a).to_vec());
        truths.push(instance.dataset.mean_of_rows(b).to_vec());
    }
    Ok((predictions, truths))
}
