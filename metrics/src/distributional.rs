//! Distributional (cell-level) metrics between two sets of cells: energy distance (as cell-eval's
//! `edistance` helper in `cell_eval/metrics/_anndata.py`), MMD² with an RBF kernel and the median
//! heuristic, and PerturBench's rank metric (`perturbench/analysis/benchmarks/metrics.py::
//! rank_helper`). Cell sets are dense `ArrayView2<f64>` (cells × genes, any layout). Mean pairwise
//! distances are computed in blocks of rows through a Gram matrix (GEMM): memory is
//! O(cells·genes + block·cells), never O(cells²·genes) (the median heuristic caps its sample);
//! block sums are reduced in a fixed order, so results do not depend on the thread count.
//! `sparse_distance` computes the same energy distance on sparse (CSR) cells without densifying.

use ndarray::{ArrayView2, CowArray, Ix2};
use rayon::prelude::*;

/// Rows of a matrix as contiguous slices (copies only when the view is not row-major).
pub(crate) struct Rows<'a> {
    data: CowArray<'a, f64, Ix2>,
    ncols: usize,
}

impl<'a> Rows<'a> {
    pub(crate) fn new(x: &ArrayView2<'a, f64>) -> Self {
        let data = if x.is_standard_layout() { CowArray::from(*x) } else { CowArray::from(x.to_owned()) };
        Rows { data, ncols: x.ncols() }
    }
    pub(crate) fn len(&self) -> usize {
        self.data.nrows()
    }
    pub(crate) fn row(&self, i: usize) -> &[f64] {
        let flat = self.data.as_slice().expect("standard layout");
        &flat[i * self.ncols..(i + 1) * self.ncols]
    }
}

fn sq_euclidean(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

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

/// Which MMD² estimator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MmdEstimator {
    /// V-statistic: k̄(X,X) + k̄(Y,Y) − 2k̄(X,Y), all means including i = j. Always ≥ 0.
    Biased,
    /// U-statistic (Gretton et al. 2012, eq. 3): within-set means exclude i = j. Unbiased, can be
    /// slightly negative; NaN when either set has fewer than 2 cells.
    Unbiased,
}

/// Median heuristic bandwidth: σ = median of the Euclidean distances ‖z_i − z_j‖ over the pairs
/// i < j of the pooled cells Z = X ∪ Y (the even-count median is the mean of the two middle
/// values, as `numpy.median`). When the pool has more than `max_points` cells, a deterministic
/// evenly strided subsample of `max_points` cells is used (memory O(max_points²)). NaN when the
/// pool has fewer than 2 cells.
pub fn median_heuristic_bandwidth(x: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>, max_points: usize) -> f64 {
    let (rx, ry) = (Rows::new(&x), Rows::new(&y));
    let total = rx.len() + ry.len();
    let take = total.min(max_points.max(2));
    let pick = |k: usize| -> &[f64] {
        let idx = if take == total { k } else { k * total / take };
        if idx < rx.len() { rx.row(idx) } else { ry.row(idx - rx.len()) }
    };
    if take < 2 {
        return f64::NAN;
    }
    let mut d: Vec<f64> = (0..take)
        .into_par_iter()
        .flat_map_iter(|i| {
            let zi = pick(i);
            ((i + 1)..take).map(move |j| sq_euclidean(zi, pick(j)).sqrt())
        })
        .collect();
    d.sort_by(f64::total_cmp);
    let n = d.len();
    if n % 2 == 1 { d[n / 2] } else { 0.5 * (d[n / 2 - 1] + d[n / 2]) }
}

/// MMD² with the Gaussian RBF kernel k(a,b) = exp(−‖a−b‖²/(2σ²)).
/// `bandwidth`: σ; `None` uses [`median_heuristic_bandwidth`] over the pooled cells (capped at
/// 2,000 cells). σ = 0 (e.g. more than half the pooled pairs are identical cells) is the limit
/// kernel k = 1 if a = b else 0. NaN when a set is empty, the gene counts differ, or (Unbiased)
/// a set has fewer than 2 cells.
pub fn mmd2_rbf(
    x: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    bandwidth: Option<f64>,
    estimator: MmdEstimator,
) -> f64 {
    let (n, m) = (x.nrows(), y.nrows());
    if n == 0 || m == 0 || x.ncols() != y.ncols() {
        return f64::NAN;
    }
    if estimator == MmdEstimator::Unbiased && (n < 2 || m < 2) {
        return f64::NAN;
    }
    let sigma = bandwidth.unwrap_or_else(|| median_heuristic_bandwidth(x, y, 2000));
    if sigma.is_nan() || sigma < 0.0 {
        return f64::NAN;
    }
    let denom = 2.0 * sigma * sigma;
    let k = move |a: &[f64], b: &[f64]| {
        let d2 = sq_euclidean(a, b);
        if d2 == 0.0 { 1.0 } else { (-d2 / denom).exp() }
    };
    let (rx, ry) = (Rows::new(&x), Rows::new(&y));
    // Sum over i < j within a set (the kernel is symmetric).
    let within = |r: &Rows<'_>| -> f64 {
        let len = r.len();
        (0..len).into_par_iter().map(|i| ((i + 1)..len).map(|j| k(r.row(i), r.row(j))).sum::<f64>()).sum()
    };
    let kxx = within(&rx);
    let kyy = within(&ry);
    let kxy: f64 = (0..n).into_par_iter().map(|i| (0..m).map(|j| k(rx.row(i), ry.row(j))).sum::<f64>()).sum();
    let (nf, mf) = (n as f64, m as f64);
    match estimator {
        MmdEstimator::Biased => (2.0 * kxx + nf) / (nf * nf) + (2.0 * kyy + mf) / (mf * mf) - 2.0 * kxy / (nf * mf),
        MmdEstimator::Unbiased => 2.0 * kxx / (nf * (nf - 1.0)) + 2.0 * kyy / (mf * (mf - 1.0)) - 2.0 * kxy / (nf * mf),
    }
}

/// Profile comparison used by [`perturbench_rank`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankMetric {
    /// √mean((p − t)²), lower = closer (PerturBench `rmse`, metric_type "distance").
    Rmse,
    /// p·t/(‖p‖‖t‖), higher = closer (PerturBench `cosine`, metric_type "similarity"); NaN for a
    /// zero vector, and a NaN comparison ranks the prediction last.
    Cosine,
}

/// PerturBench rank metric (`rank_helper`): for each perturbation i, compare the true profile t_i
/// with every prediction p_j, and take the position of p_i in the sorted list (0 = p_i is the
/// closest prediction to t_i), divided by N (PerturBench divides by N, not N−1, so the best
/// score is 0 and the worst (N−1)/N). Lower is better.
/// Ties: PerturBench shuffles before sorting (random tie-break); we return its expectation,
/// rank_i = #{j : p_j strictly closer} + ½·#{j ≠ i : p_j exactly as close}. A NaN comparison
/// counts as farther than any number (NaN for p_i itself ranks it after every finite p_j, ties
/// with other NaNs halved). Profiles are whatever the caller passes (PerturBench ranks either
/// expression means or deltas). Empty input → empty output; ragged input → NaN entries.
pub fn perturbench_rank(pred: &[Vec<f64>], truth: &[Vec<f64>], metric: RankMetric) -> Vec<f64> {
    let n = pred.len().min(truth.len());
    (0..n)
        .into_par_iter()
        .map(|i| {
            // Distance-like key: lower is closer; NaN mapped to +inf-like via Option ordering.
            let key = |j: usize| -> f64 {
                let (p, t) = (&pred[j], &truth[i]);
                if p.len() != t.len() || p.is_empty() {
                    return f64::NAN;
                }
                match metric {
                    RankMetric::Rmse => (sq_euclidean(p, t) / p.len() as f64).sqrt(),
                    RankMetric::Cosine => {
                        let dot: f64 = p.iter().zip(t).map(|(a, b)| a * b).sum();
                        let np = p.iter().map(|a| a * a).sum::<f64>().sqrt();
                        let nt = t.iter().map(|a| a * a).sum::<f64>().sqrt();
                        -(dot / (np * nt))
                    }
                }
            };
            if pred[i].len() != truth[i].len() {
                return f64::NAN;
            }
            let own = key(i);
            let (mut less, mut tied) = (0usize, 0usize);
            for j in (0..n).filter(|&j| j != i) {
                let d = key(j);
                match (d.is_nan(), own.is_nan()) {
                    (false, true) => less += 1,
                    (true, true) => tied += 1,
                    (true, false) => {}
                    (false, false) => {
                        if d < own {
                            less += 1
                        } else if d == own {
                            tied += 1
                        }
                    }
                }
            }
            (less as f64 + 0.5 * tied as f64) / n as f64
        })
        .collect()
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

    #[test]
    fn mmd_matches_numpy_reference() {
        // Fixture: numpy by hand (no library reference exists): σ = np.median of the i<j pooled
        // distances, K = exp(−D²/(2σ²)), biased = means incl. diagonal, unbiased = off-diagonal.
        let (x, c) = (to_array(REAL_PA), to_array(REAL_CTRL));
        assert!((median_heuristic_bandwidth(x.view(), c.view(), 2000) - 2.0649498073922303).abs() < 1e-12);
        assert!((mmd2_rbf(x.view(), c.view(), None, MmdEstimator::Biased) - 0.9068793731668121).abs() < 1e-12);
        assert!((mmd2_rbf(x.view(), c.view(), None, MmdEstimator::Unbiased) - 0.8285240219905543).abs() < 1e-12);
    }

    #[test]
    fn mmd_degenerate_inputs() {
        let a = array![[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]];
        // Identical constant sets: σ = 0 → indicator kernel; biased MMD² = 1 + 1 − 2 = 0.
        assert_eq!(mmd2_rbf(a.view(), a.view(), None, MmdEstimator::Biased), 0.0);
        assert_eq!(mmd2_rbf(a.view(), a.view(), None, MmdEstimator::Unbiased), 0.0);
        let one = array![[0.0, 0.0]];
        assert!(mmd2_rbf(one.view(), a.view(), None, MmdEstimator::Unbiased).is_nan());
        // Two different points, σ = 1: biased = 1 + 1 − 2e^{−1/2}.
        let (p, q) = (array![[0.0]], array![[1.0]]);
        let v = mmd2_rbf(p.view(), q.view(), Some(1.0), MmdEstimator::Biased);
        assert!((v - (2.0 - 2.0 * (-0.5f64).exp())).abs() < 1e-15);
    }

    #[test]
    fn perturbench_rank_hand_worked() {
        let truth = vec![vec![0.0, 0.0], vec![1.0, 0.0], vec![5.0, 0.0]];
        // Perfect predictions: each is its own nearest → 0.
        assert_eq!(perturbench_rank(&truth, &truth, RankMetric::Rmse), vec![0.0, 0.0, 0.0]);
        // Predictions swapped for 0 and 1: for truth 0, p_1 = [0,0] is closer than p_0 = [1,0].
        let pred = vec![vec![1.0, 0.0], vec![0.0, 0.0], vec![5.0, 0.0]];
        assert_eq!(perturbench_rank(&pred, &truth, RankMetric::Rmse), vec![1.0 / 3.0, 1.0 / 3.0, 0.0]);
        // Constant predictions: all tied → (N−1)/2/N each.
        let flat = vec![vec![2.0, 2.0]; 3];
        assert_eq!(perturbench_rank(&flat, &truth, RankMetric::Rmse), vec![1.0 / 3.0; 3]);
        // Cosine with a zero truth vector: NaN similarity for all → tied.
        assert_eq!(perturbench_rank(&pred, &truth, RankMetric::Cosine)[0], 1.0 / 3.0);
        assert!(perturbench_rank(&[], &[], RankMetric::Rmse).is_empty());
    }
}
