//! Distributional (cell-level) metrics between two sets of cells: the energy distance (as
//! cell-eval's `edistance` helper in `cell_eval/metrics/_anndata.py`). Cell sets are dense
//! `ArrayView2<f64>` (cells × genes, any layout). Mean pairwise distances are computed in blocks
//! of rows through a Gram matrix (GEMM): memory is O(cells·genes + block·cells), never
//! O(cells²·genes); block sums are reduced in a fixed order, so results do not depend on the
//! thread count. `sparse_distance` computes the same energy distance on sparse (CSR) cells
//! without densifying.

use ndarray::ArrayView2;
use rayon::prelude::*;

/// Rows per block of the blocked distance computation: a block's Gram matrix with the other set
/// is BLOCK x m values.
const BLOCK: usize = 128;

/// Sum of √‖x_i − y_j‖² over i in `lo..hi` and every j (only j > i when `upper` and x = y),
/// through the Gram matrix (‖x‖² + ‖y‖² − 2x·y, the matrix product done by ndarray's GEMM, the
/// same expansion sklearn uses), clamped at 0 against rounding.
fn block_distance_sum(
    x: &ArrayView2<'_, f64>,
    y: &ArrayView2<'_, f64>,
    x_norms: &[f64],
    y_norms: &[f64],
    lo: usize,
    hi: usize,
    upper: bool,
) -> f64 {
    let gram = x.slice(ndarray::s![lo..hi, ..]).dot(&y.t());
    let mut sum = 0.0;
    for (bi, row) in gram.outer_iter().enumerate() {
        let i = lo + bi;
        let first = if upper { i + 1 } else { 0 };
        for j in first..y_norms.len() {
            sum += (x_norms[i] + y_norms[j] - 2.0 * row[j]).max(0.0).sqrt();
        }
    }
    sum
}

/// Σ over blocks in a fixed order: blocks run in parallel, partial sums are added sequentially,
/// so the result is bit-identical whatever the thread count or scheduling.
pub(crate) fn blocked_sum(n: usize, f: impl Fn(usize, usize) -> f64 + Sync) -> f64 {
    let blocks: Vec<f64> =
        (0..n.div_ceil(BLOCK)).into_par_iter().map(|b| f(b * BLOCK, ((b + 1) * BLOCK).min(n))).collect();
    blocks.iter().sum()
}

fn squared_norms(x: &ArrayView2<'_, f64>) -> Vec<f64> {
    x.outer_iter().map(|r| r.iter().map(|v| v * v).sum()).collect()
}

/// Mean Euclidean distance over all n² ordered pairs of rows of `x`, **diagonal zeros included**
/// (a V-statistic): `sklearn.metrics.pairwise_distances(x).mean()`, as cell-eval uses for σ_x.
/// Computed as 2·Σ_{i<j} d_ij / n² with d² = ‖x_i‖² + ‖x_j‖² − 2x_i·x_j (as sklearn), which can
/// differ from √Σ(x−y)² by rounding (≈1e-8 absolute for near-duplicate cells). NaN for an empty
/// set; 0 for a single cell.
pub fn mean_pairwise_distance(x: ArrayView2<'_, f64>) -> f64 {
    let n = x.nrows();
    if n == 0 {
        return f64::NAN;
    }
    let norms = squared_norms(&x);
    let upper = blocked_sum(n, |lo, hi| block_distance_sum(&x, &x, &norms, &norms, lo, hi, true));
    2.0 * upper / (n as f64 * n as f64)
}

/// Mean Euclidean distance over all (x_i, y_j) pairs: `pairwise_distances(x, y).mean()`.
/// NaN when either set is empty.
pub fn mean_cross_distance(x: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>) -> f64 {
    let (n, m) = (x.nrows(), y.nrows());
    if n == 0 || m == 0 || x.ncols() != y.ncols() {
        return f64::NAN;
    }
    let (xn, yn) = (squared_norms(&x), squared_norms(&y));
    blocked_sum(n, |lo, hi| block_distance_sum(&x, &y, &xn, &yn, lo, hi, false)) / (n as f64 * m as f64)
}

/// Energy distance E = 2·E‖X−Y‖ − E‖X−X′‖ − E‖Y−Y′‖ (Euclidean), every expectation a V-statistic
/// with the diagonal zeros included, exactly as cell-eval's `_edistance` (sklearn
/// `pairwise_distances(...).mean()`). Note this is NOT `scipy.stats.energy_distance` (1-D only,
/// and the square root of twice this quantity). With the diagonal included E ≥ 0 still holds;
/// E = 0 iff the two empirical distributions coincide. NaN if either set is empty.
pub fn energy_distance(x: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>) -> f64 {
    energy_distance_with_sigma_y(x, y, mean_pairwise_distance(y))
}

/// [`energy_distance`] with σ_y = E‖Y−Y′‖ precomputed (cell-eval precomputes it once for the
/// control cells): 2·mean_cross(x, y) − mean_pairwise(x) − sigma_y.
pub fn energy_distance_with_sigma_y(x: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>, sigma_y: f64) -> f64 {
    2.0 * mean_cross_distance(x, y) - mean_pairwise_distance(x) - sigma_y
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, array};

    use super::*;
    use crate::pair::tests::{REAL_CTRL, REAL_PA, array as to_array};

    #[test]
    fn energy_distance_matches_sklearn_pairwise_means() {
        // Fixture: sklearn.metrics.pairwise_distances(...).mean() on the cell-eval fixture cells
        // (see pair/tests.rs), /tmp/ce venv, sklearn 1.x.
        let (x, c) = (to_array(REAL_PA), to_array(REAL_CTRL));
        assert!((mean_pairwise_distance(x.view()) - 0.6262219138658559).abs() < 1e-12);
        assert!((mean_pairwise_distance(c.view()) - 1.3411376198697047).abs() < 1e-12);
        assert!((mean_cross_distance(x.view(), c.view()) - 2.8137686709244876).abs() < 1e-12);
        assert!((energy_distance(x.view(), c.view()) - 3.6601778081134144).abs() < 1e-12);
        // Non-standard layout gives the same answer.
        let xt = x.t().to_owned();
        assert!((mean_pairwise_distance(xt.t()) - 0.6262219138658559).abs() < 1e-12);
    }

    #[test]
    fn energy_distance_hand_worked() {
        // X = {0}, Y = {3} in 1-D: 2·3 − 0 − 0 = 6. X = {0, 2}: σ_x = (0+2+2+0)/4 = 1;
        // cross to Y = {3}: (3 + 1)/2 = 2 → E = 4 − 1 − 0 = 3.
        assert_eq!(energy_distance(array![[0.0]].view(), array![[3.0]].view()), 6.0);
        assert_eq!(energy_distance(array![[0.0], [2.0]].view(), array![[3.0]].view()), 3.0);
        let same = array![[1.0, 2.0], [3.0, 4.0]];
        assert_eq!(energy_distance(same.view(), same.view()), 0.0);
        let empty = Array2::<f64>::zeros((0, 2));
        assert!(energy_distance(empty.view(), same.view()).is_nan());
        // Zero genes: all distances 0.
        let nog = Array2::<f64>::zeros((3, 0));
        assert_eq!(energy_distance(nog.view(), nog.view()), 0.0);
    }
}
