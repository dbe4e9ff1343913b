//! Shared mechanics of the mean-shift baselines: x' = x + δ(a), one δ per query row.

use ndarray::Array2;
use tasks::{QueryBatch, TaskError};

/// Adds `delta(perturbation)` to every start row.
pub(crate) fn apply_shift(
    batch: &QueryBatch<'_>,
    mut delta: impl FnMut(&tasks::Perturbation) -> Result<Vec<f64>, TaskError>,
) -> Result<Array2<f32>, TaskError> {
    let mut out = batch.start.to_owned();
    for (mut row, p) in out.rows_mut().into_iter().zip(batch.perturbations) {
        let d = delta(p)?;
        row.iter_mut().zip(&d).for_each(|(x, dx)| *x = (f64::from(*x) + dx) as f32);
    }
    Ok(out)
}
