//! The `systema` profile (Viñas Torné et al. 2025): PearsonΔ against the perturbed reference
//! μ_pert over all genes and over each perturbation's top-20 DE genes, and centroid accuracy.
//! Here μ_pert is the unweighted mean of the real centroids of all scored perturbations (`arena
//! score` has no training split), and the top-20 DE genes of a perturbation are the 20 smallest
//! real-DE p-values (ties: larger |log2FC| first, then gene order). The math is
//! `metrics::gears::{pearson_delta, pearson_delta_de}` with μ_pert as the reference and
//! `metrics::centroid_accuracy`.

use metrics::{centroid_accuracy, gears};

use super::pair::Bulk;

/// Number of DE genes of `pearson_delta_pert_de20`.
pub const TOP_DE: usize = 20;

/// μ_pert: the unweighted mean of the real perturbation centroids.
pub fn perturbed_mean(real: &[Vec<f64>]) -> Vec<f64> {
    let g = real.first().map_or(0, Vec::len);
    let mut mu = vec![0.0; g];
    for r in real {
        mu.iter_mut().zip(r).for_each(|(m, v)| *m += v);
    }
    let n = real.len().max(1) as f64;
    mu.iter_mut().for_each(|m| *m /= n);
    mu
}

/// The Systema columns (name, per-perturbation values); `top_de[i]` are perturbation i's top
/// DE gene indices.
pub fn systema_metrics(bulk: &Bulk, top_de: &[Vec<usize>]) -> Vec<(String, Vec<f64>)> {
    let mu = perturbed_mean(&bulk.real);
    let n = bulk.real.len();
    let all: Vec<f64> = (0..n).map(|i| gears::pearson_delta(&bulk.pred[i], &bulk.real[i], &mu)).collect();
    let de: Vec<f64> = (0..n)
        .map(|i| match top_de.get(i) {
            Some(idx) if idx.len() >= 2 => gears::pearson_delta_de(&bulk.pred[i], &bulk.real[i], &mu, idx),
            _ => f64::NAN,
        })
        .collect();
    let ca = centroid_accuracy(&bulk.pred, &bulk.real);
    let [all_info, de_info, ca_info] = super::profile::SYSTEMA_METRICS;
    vec![(all_info.name.into(), all), (de_info.name.into(), de), (ca_info.name.into(), ca)]
}

/// Indices of the `k` genes with the smallest p-values (ties: larger |lfc| first, then index);
/// NaN p-values come last.
pub fn top_de_genes(p_values: &[f64], lfc: &[f64], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..p_values.len()).collect();
    idx.sort_by(|&a, &b| {
        let key = |i: usize| if p_values[i].is_nan() { f64::INFINITY } else { p_values[i] };
        key(a).total_cmp(&key(b)).then_with(|| {
            let m = |i: usize| if lfc[i].is_nan() { -1.0 } else { lfc[i].abs() };
            m(b).total_cmp(&m(a))
        })
    });
    idx.truncate(k);
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-worked example: 3 perturbations over 3 genes.
    /// Real centroids t0 = [1,0,0], t1 = [0,1,0], t2 = [0,0,4] → μ_pert = [1/3, 1/3, 4/3].
    /// Predictions p0 = [1,0,0] (perfect), p1 = [0,0,4] (= t2), p2 = μ_pert (average perturbation).
    /// PearsonΔ vs μ_pert: p0 → r(t0−μ, t0−μ) = 1; p1 → r(t2−μ, t1−μ): t2−μ = [−1/3,−1/3,8/3],
    /// t1−μ = [−1/3,2/3,−4/3]; centred (means 2/3 and −1/3): [−1,−1,2], [0,1,−1] →
    /// r = (0−1−2)/(√6·√2) = −3/√12 = −0.8660…; p2 → Δ = 0 (constant) → NaN.
    /// Centroid accuracy (strict, over the N−1 = 2 others): p0 at distance 0 from t0, 1.41/4.12
    /// from t1/t2 → 2/2 = 1; p1 = t2: its own t1 is at √17 = 4.12 while t0 is also √17 (tie, counts
    /// against) and t2 at 0 → 0/2 = 0; p2 = μ: to t2 √(1/9+1/9+64/9) = 2.75, to t0 √(4/9+1/9+16/9)
    /// = 1.53, to t1 1.53 → 0/2 = 0.
    #[test]
    fn hand_worked_example() {
        let real = vec![vec![1.0, 0.0, 0.0], vec![0.0, 1.0, 0.0], vec![0.0, 0.0, 4.0]];
        let mu = perturbed_mean(&real);
        assert_eq!(mu, vec![1.0 / 3.0, 1.0 / 3.0, 4.0 / 3.0]);
        let pred = vec![real[0].clone(), real[2].clone(), mu.clone()];
        let bulk = Bulk { real, pred, real_control: vec![0.0; 3], pred_control: vec![0.0; 3] };
        let top = vec![vec![0, 1, 2]; 3];
        let cols = systema_metrics(&bulk, &top);
        let all = &cols[0].1;
        assert!((all[0] - 1.0).abs() < 1e-12);
        assert!((all[1] + 3.0 / 12f64.sqrt()).abs() < 1e-12, "{all:?}");
        assert!(all[2].is_nan());
        assert_eq!(cols[1].1[..2], all[..2]);
        assert_eq!(cols[2].1, vec![1.0, 0.0, 0.0]);
    }

    #[test]
    fn top_genes_by_p_then_fold_change() {
        let p = [0.5, 0.01, f64::NAN, 0.01, 0.2];
        let lfc = [1.0, 0.5, 9.0, -2.0, 0.1];
        assert_eq!(top_de_genes(&p, &lfc, 3), vec![3, 1, 4]);
    }
}
