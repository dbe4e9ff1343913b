//! Shared mechanics of the mean-shift baselines: x' = x + δ(a), one δ per distinct perturbation
//! of a query batch.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use ndarray::Array2;
use tasks::{QueryBatch, TaskError};

/// Adds `delta(perturbation)` to every start row. `delta` is a function of the perturbation
/// alone, computed once per distinct perturbation of the batch (a batch holds many start rows per
/// perturbation; a ridge δ costs genes × training perturbations).
pub(crate) fn apply_shift(
    batch: &QueryBatch<'_>,
    delta: impl Fn(&tasks::Perturbation) -> Result<Vec<f64>, TaskError>,
) -> Result<Array2<f32>, TaskError> {
    let mut out = batch.start.to_owned();
    let mut deltas: HashMap<&tasks::Perturbation, Vec<f64>> = HashMap::new();
    for (mut row, p) in out.rows_mut().into_iter().zip(batch.perturbations) {
        let d = match deltas.entry(p) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(new) => new.insert(delta(p)?),
        };
        row.iter_mut().zip(d.iter()).for_each(|(x, dx)| *x = (f64::from(*x) + dx) as f32);
    }
    Ok(out)
}
