//! Distance to the real state manifold (the stability family).
//!
//! For a cell x and a reference set R of real cells (rows, same genes), the kNN distance is
//!
//!   d_k(x; R) = (1/k) Σ_{i=1..k} ‖x − r_(i)‖₂,
//!
//! the mean Euclidean distance to its k nearest reference cells (k is capped at |R|). A set of
//! predicted cells P is compared with real held-out cells Q (disjoint from R) through the ratio
//!
//!   ratio(x) = d_k(x; R) / median_{q ∈ Q} d_k(q; R),
//!
//! so a typical real cell scores 1, a predicted cell on the manifold ≈ 1 and a cell drifting off
//! it more. [`manifold_ratio`] summarises P by the median ratio.
//!
//! The ratio alone is one-sided in the wrong way: a set of cells collapsed onto a dense point of
//! the manifold (every cell = the control mean) sits *closer* to the reference than real cells do
//! (ratio < 1). Stability is therefore scored two-sided, as the distance from the real cells'
//! values ([`stability_gap`]): the gap in manifold ratio plus the gap in [`dispersion`] (the
//! cells' root-mean-square distance to their own centroid), relative to the real cells of the
//! same item. Real cells score 0, a collapsed prediction at least 1 (its dispersion is 0), a
//! drifting rollout its excess ratio. Everything is pure math over dense `ArrayView2<f32>`
//! (cells × genes); distances accumulate in f64.

use ndarray::ArrayView2;
use rayon::prelude::*;

use crate::catalog::{self, MetricInfo};

/// Rollout steps at which stability is scored.
pub const STABILITY_STEPS: [usize; 6] = [1, 2, 5, 10, 20, 50];

/// The stability family's metrics, for every t of [`STABILITY_STEPS`]: `stability_gap_t{t}`, the
/// two-sided [`stability_gap`] of the predicted cells after t repeated actions from the real
/// cells of the item (0 = like real cells; lower is better); `trajectory_rmse_t{t}`, the
/// root-mean-square error over genes of the predicted mean after t actions against the true
/// expected profile after t actions; and `trajectory_energy_t{t}`, the energy distance
/// ([`crate::distributional::energy_distance`]) between the predicted cells after t actions and
/// true cells after t actions (a collapsed, a static and a drifting rollout all pay). The
/// trajectory metrics need the true trajectory, known only on the simulator; lower is better.
pub const STABILITY_METRICS: [&MetricInfo; 18] = [
    &catalog::STABILITY_GAP_T1,
    &catalog::STABILITY_GAP_T2,
    &catalog::STABILITY_GAP_T5,
    &catalog::STABILITY_GAP_T10,
    &catalog::STABILITY_GAP_T20,
    &catalog::STABILITY_GAP_T50,
    &catalog::TRAJECTORY_RMSE_T1,
    &catalog::TRAJECTORY_RMSE_T2,
    &catalog::TRAJECTORY_RMSE_T5,
    &catalog::TRAJECTORY_RMSE_T10,
    &catalog::TRAJECTORY_RMSE_T20,
    &catalog::TRAJECTORY_RMSE_T50,
    &catalog::TRAJECTORY_ENERGY_T1,
    &catalog::TRAJECTORY_ENERGY_T2,
    &catalog::TRAJECTORY_ENERGY_T5,
    &catalog::TRAJECTORY_ENERGY_T10,
    &catalog::TRAJECTORY_ENERGY_T20,
    &catalog::TRAJECTORY_ENERGY_T50,
];

/// Root-mean-square distance of the rows of `cells` to their own centroid (0 for a collapsed
/// set; NaN without cells).
pub fn dispersion(cells: ArrayView2<'_, f32>) -> f64 {
    let n = cells.nrows();
    if n == 0 {
        return f64::NAN;
    }
    let mut centroid = vec![0.0f64; cells.ncols()];
    for row in cells.rows() {
        centroid.iter_mut().zip(row).for_each(|(c, &v)| *c += f64::from(v));
    }
    centroid.iter_mut().for_each(|c| *c /= n as f64);
    let total: f64 = cells
        .rows()
        .into_iter()
        .map(|row| row.iter().zip(&centroid).map(|(&v, c)| (f64::from(v) - c).powi(2)).sum::<f64>())
        .sum();
    (total / n as f64).sqrt()
}

/// The two-sided stability score of a set of predicted cells against the real cells of the same
/// item: |ratio − ratio_real| + |dispersion / dispersion_real − 1|, where ratio is
/// [`manifold_ratio`] and dispersion [`dispersion`]. 0 = the real cells' values; NaN when the real
/// dispersion is not a positive finite number.
pub fn stability_gap(ratio: f64, dispersion: f64, real_ratio: f64, real_dispersion: f64) -> f64 {
    if !(real_dispersion.is_finite() && real_dispersion > 0.0) {
        return f64::NAN;
    }
    (ratio - real_ratio).abs() + (dispersion / real_dispersion - 1.0).abs()
}

/// Root-mean-square difference of two profiles (NaN for different lengths or no genes).
pub fn rmse(predicted: &[f64], truth: &[f64]) -> f64 {
    if predicted.len() != truth.len() || truth.is_empty() {
        return f64::NAN;
    }
    (predicted.iter().zip(truth).map(|(p, t)| (p - t).powi(2)).sum::<f64>() / truth.len() as f64).sqrt()
}

/// d_k(x; R) for every row x of `queries` (see the module docs). NaN for every query when the
/// reference is empty or k is 0.
pub fn knn_mean_distance(queries: ArrayView2<'_, f32>, reference: ArrayView2<'_, f32>, k: usize) -> Vec<f64> {
    assert_eq!(queries.ncols(), reference.ncols(), "queries and reference need the same genes");
    let k = k.min(reference.nrows());
    if k == 0 {
        return vec![f64::NAN; queries.nrows()];
    }
    let reference = reference.as_standard_layout();
    let ncols = reference.ncols();
    let flat = reference.as_slice().expect("standard layout");
    let queries = queries.as_standard_layout();
    let qflat = queries.as_slice().expect("standard layout");
    (0..queries.nrows())
        .into_par_iter()
        .map(|i| {
            let q = &qflat[i * ncols..(i + 1) * ncols];
            // The k smallest squared distances, kept sorted (k is small).
            let mut best: Vec<f64> = Vec::with_capacity(k + 1);
            for r in flat.chunks_exact(ncols.max(1)).take(reference.nrows()) {
                let bound = if best.len() == k { best[k - 1] } else { f64::INFINITY };
                let mut d2 = 0.0f64;
                for (a, b) in q.iter().zip(r) {
                    let d = f64::from(*a) - f64::from(*b);
                    d2 += d * d;
                    if d2 >= bound {
                        break;
                    }
                }
                if d2 < bound {
                    let pos = best.partition_point(|&v| v <= d2);
                    best.insert(pos, d2);
                    best.truncate(k);
                }
            }
            best.iter().map(|d2| d2.sqrt()).sum::<f64>() / k as f64
        })
        .collect()
}

/// Median of the finite values (mean of the two middle ones for an even count); NaN if none.
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { 0.5 * (v[n / 2 - 1] + v[n / 2]) }
}

/// The real-vs-real scale: median over real held-out cells `real` (disjoint from `reference`) of
/// their kNN distance to the reference.
pub fn real_scale(real: ArrayView2<'_, f32>, reference: ArrayView2<'_, f32>, k: usize) -> f64 {
    median(&knn_mean_distance(real, reference, k))
}

/// Median over the rows x of `cells` of d_k(x; R) / `scale` (see the module docs); NaN when the
/// scale is not a positive finite number or there are no cells.
pub fn manifold_ratio(cells: ArrayView2<'_, f32>, reference: ArrayView2<'_, f32>, k: usize, scale: f64) -> f64 {
    if !(scale.is_finite() && scale > 0.0) {
        return f64::NAN;
    }
    median(&knn_mean_distance(cells, reference, k)) / scale
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn knn_distance_by_hand() {
        // Reference on a line at 0, 1, 3, 7 (second gene constant).
        let r = array![[0.0f32, 5.0], [1.0, 5.0], [3.0, 5.0], [7.0, 5.0]];
        let q = array![[0.0f32, 5.0], [2.0, 5.0], [3.0, 9.0]];
        // k = 1: 0; 1; 4 (to (3,5)).
        assert_eq!(knn_mean_distance(q.view(), r.view(), 1), vec![0.0, 1.0, 4.0]);
        // k = 2: (0+1)/2; (1+1)/2; (4 + sqrt(4+16))/2.
        let d = knn_mean_distance(q.view(), r.view(), 2);
        assert_eq!(d[..2], [0.5, 1.0]);
        assert!((d[2] - (4.0 + 20f64.sqrt()) / 2.0).abs() < 1e-12, "{d:?}");
        // k beyond the reference is capped: mean over all four.
        let d = knn_mean_distance(q.view(), r.view(), 10);
        assert!((d[0] - (0.0 + 1.0 + 3.0 + 7.0) / 4.0).abs() < 1e-12);
        // Empty reference or k = 0: undefined.
        assert!(knn_mean_distance(q.view(), r.slice(ndarray::s![..0, ..]), 3).iter().all(|v| v.is_nan()));
        assert!(knn_mean_distance(q.view(), r.view(), 0).iter().all(|v| v.is_nan()));
    }

    #[test]
    fn metric_names_follow_the_steps() {
        let n = STABILITY_STEPS.len();
        assert_eq!(STABILITY_METRICS.len(), 3 * n);
        for (k, t) in STABILITY_STEPS.iter().enumerate() {
            assert_eq!(STABILITY_METRICS[k].name, format!("stability_gap_t{t}"));
            assert_eq!(STABILITY_METRICS[n + k].name, format!("trajectory_rmse_t{t}"));
            assert_eq!(STABILITY_METRICS[2 * n + k].name, format!("trajectory_energy_t{t}"));
        }
        assert!(STABILITY_METRICS.iter().all(|m| m.better == Some(crate::Better::Lower)));
    }

    #[test]
    fn the_gap_is_zero_for_real_values_and_penalises_collapse_and_drift_both_ways() {
        let cells = array![[0.0f32, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]];
        // Centroid (1, 1): every cell at sqrt(2).
        assert!((dispersion(cells.view()) - 2f64.sqrt()).abs() < 1e-12);
        let collapsed = array![[1.0f32, 1.0], [1.0, 1.0]];
        assert_eq!(dispersion(collapsed.view()), 0.0);
        assert!(dispersion(cells.slice(ndarray::s![..0, ..])).is_nan());
        let real = (1.0, 2.0);
        assert_eq!(stability_gap(1.0, 2.0, real.0, real.1), 0.0);
        // Closer to the manifold than real cells (a collapse) is as far off as farther from it.
        assert!((stability_gap(0.9, 2.0, real.0, real.1) - stability_gap(1.1, 2.0, real.0, real.1)).abs() < 1e-12);
        // A collapsed set pays its whole dispersion: at least 1.
        assert!(stability_gap(0.97, 0.0, real.0, real.1) >= 1.0);
        assert!((stability_gap(3.0, 4.0, real.0, real.1) - 3.0).abs() < 1e-12);
        assert!(stability_gap(1.0, 1.0, 1.0, 0.0).is_nan());
        assert!((rmse(&[1.0, 3.0], &[1.0, 1.0]) - 2f64.sqrt()).abs() < 1e-12);
        assert!(rmse(&[1.0], &[1.0, 2.0]).is_nan());
    }

    #[test]
    fn median_by_hand() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[f64::NAN, 5.0]), 5.0);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn ratio_is_one_for_real_cells_and_grows_with_drift() {
        // Reference: a 10 x 10 grid with spacing 1; held-out real cells at half-spacing offsets.
        let mut r = Vec::new();
        for i in 0..10 {
            for j in 0..10 {
                r.extend([i as f32, j as f32]);
            }
        }
        let r = ndarray::Array2::from_shape_vec((100, 2), r).unwrap();
        let real = array![[2.5f32, 3.5], [5.5, 5.5], [7.5, 1.5]];
        // k = 4: every held-out point has 4 neighbours at sqrt(0.5).
        let scale = real_scale(real.view(), r.view(), 4);
        assert!((scale - 0.5f64.sqrt()).abs() < 1e-6, "{scale}");
        assert!((manifold_ratio(real.view(), r.view(), 4, scale) - 1.0).abs() < 1e-6);
        // The same cells shifted far off the grid: ratio grows with the shift.
        let near = real.mapv(|v| v + 0.2);
        let far = real.mapv(|v| v + 30.0);
        let r_near = manifold_ratio(near.view(), r.view(), 4, scale);
        let r_far = manifold_ratio(far.view(), r.view(), 4, scale);
        assert!(r_near < 1.5 && r_far > 20.0, "{r_near} {r_far}");
        assert!(manifold_ratio(real.view(), r.view(), 4, 0.0).is_nan());
    }
}
