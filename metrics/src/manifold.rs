//! Distance to the real state manifold (multi-step stability, issue 4 family 3c).
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
//! it more (lower is better). [`manifold_ratio`] summarises P by the median ratio. Everything is
//! pure math over dense `ArrayView2<f32>` (cells × genes); distances accumulate in f64.

use ndarray::ArrayView2;
use rayon::prelude::*;

/// Rollout steps at which stability is scored.
pub const STABILITY_STEPS: [usize; 6] = [1, 2, 5, 10, 20, 50];

/// `stability_t{t}` for every t of [`STABILITY_STEPS`] (name, higher is better): the median ratio
/// of the predicted cells after t repeated actions (1 ≈ on the manifold; lower is better).
pub const STABILITY_METRICS: [(&str, bool); 6] = [
    ("stability_t1", false),
    ("stability_t2", false),
    ("stability_t5", false),
    ("stability_t10", false),
    ("stability_t20", false),
    ("stability_t50", false),
];

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
        for ((name, up), t) in STABILITY_METRICS.iter().zip(STABILITY_STEPS) {
            assert_eq!(*name, format!("stability_t{t}"));
            assert!(!up);
        }
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
