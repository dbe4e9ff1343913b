//! Dose response: the Hill curve a compound's effect follows, and the dose family's metrics.
//!
//! - [`hill`]: H(d; EC50, n) = dⁿ / (EC50ⁿ + dⁿ): 0 without drug, ½ at the EC50, → 1 at
//!   saturation, increasing in d (n > 0).
//! - `pearson_delta_per_dose` ([`mean_over_levels`]): each scored item (a compound at a dose) has
//!   its Pearson r of predicted vs observed Δ (both against the training-control mean); the items
//!   of one dose level are averaged, then the levels (each level weighs the same, however many
//!   compounds it holds). Undefined items are skipped.
//! - `dose_monotonicity` ([`monotonicity`]): for one compound, its observed and predicted Δ
//!   profiles at its scored doses (sorted by dose); over its `top_k` genes with the largest
//!   observed |Δ| (at any of those doses) and every pair of doses i < j with an observed change
//!   (Δobs_j − Δobs_i ≠ 0), the fraction whose predicted change has the same sign; a predicted tie
//!   counts ½, so a prediction that ignores the dose (constant in dose) scores 0.5 and a perfectly
//!   ordered one 1. A Kendall-type concordance of the dose-response curves, gene by gene.

use crate::catalog::{self, MetricInfo};

/// The dose family's metrics, in report order.
pub const DOSE_METRICS: [&MetricInfo; 2] = [&catalog::PEARSON_DELTA_PER_DOSE, &catalog::DOSE_MONOTONICITY];

/// Genes per compound that [`monotonicity`] looks at in the arena's scorecards.
pub const DEFAULT_TOP_GENES: usize = 20;

/// The Hill curve dⁿ / (EC50ⁿ + dⁿ) (0 for d ≤ 0; NaN for a non-positive EC50 or n).
pub fn hill(dose: f64, ec50: f64, n: f64) -> f64 {
    if !(ec50 > 0.0 && n > 0.0) || dose.is_nan() {
        return f64::NAN;
    }
    if dose <= 0.0 {
        return 0.0;
    }
    // 1 / (1 + (EC50/d)ⁿ): stable for very small and very large doses.
    1.0 / (1.0 + (ec50 / dose).powf(n))
}

/// The mean over levels of the mean of `values` within each level (`levels[i]` is item i's
/// level); NaN values are skipped, a level without a defined value is skipped, NaN when none is.
pub fn mean_over_levels(values: &[f64], levels: &[usize]) -> f64 {
    let mut sums: std::collections::BTreeMap<usize, (f64, usize)> = std::collections::BTreeMap::new();
    for (&v, &l) in values.iter().zip(levels) {
        if v.is_finite() {
            let e = sums.entry(l).or_insert((0.0, 0));
            e.0 += v;
            e.1 += 1;
        }
    }
    if sums.is_empty() {
        return f64::NAN;
    }
    sums.values().map(|(s, n)| s / *n as f64).sum::<f64>() / sums.len() as f64
}

/// Dose-response concordance of one compound (see the module docs): `observed[k]` and
/// `predicted[k]` are the Δ profiles at its k-th scored dose (ascending). NaN with fewer than two
/// doses, mismatched shapes, or no gene pair with an observed change.
pub fn monotonicity(observed: &[Vec<f64>], predicted: &[Vec<f64>], top_k: usize) -> f64 {
    let k = observed.len();
    if k < 2 || predicted.len() != k || top_k == 0 {
        return f64::NAN;
    }
    let n_genes = observed[0].len();
    if observed.iter().chain(predicted).any(|v| v.len() != n_genes) {
        return f64::NAN;
    }
    let strength = |g: usize| observed.iter().map(|o| o[g].abs()).fold(0.0, f64::max);
    let mut genes: Vec<usize> = (0..n_genes).filter(|&g| strength(g).is_finite()).collect();
    // Strongest first; ties by gene index, so the choice is deterministic.
    genes.sort_by(|&a, &b| strength(b).total_cmp(&strength(a)).then(a.cmp(&b)));
    genes.truncate(top_k);
    let (mut score, mut pairs) = (0.0, 0usize);
    for &g in &genes {
        for i in 0..k {
            for j in i + 1..k {
                let obs = observed[j][g] - observed[i][g];
                let pred = predicted[j][g] - predicted[i][g];
                if obs == 0.0 || !obs.is_finite() || !pred.is_finite() {
                    continue;
                }
                pairs += 1;
                score += if pred == 0.0 {
                    0.5
                } else if pred.signum() == obs.signum() {
                    1.0
                } else {
                    0.0
                };
            }
        }
    }
    if pairs == 0 { f64::NAN } else { score / pairs as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hill_is_monotone_half_at_ec50_and_saturates() {
        for n in [0.5, 1.0, 2.0, 4.0] {
            assert_eq!(hill(0.0, 100.0, n), 0.0);
            assert!((hill(100.0, 100.0, n) - 0.5).abs() < 1e-12);
            let doses = [1e-3, 0.1, 1.0, 10.0, 100.0, 1e3, 1e4, 1e6];
            let h: Vec<f64> = doses.iter().map(|&d| hill(d, 100.0, n)).collect();
            assert!(h.windows(2).all(|w| w[0] < w[1]), "{h:?}");
            assert!(hill(1e12, 100.0, n) > 0.999_99, "n = {n}");
        }
        // n = 1: d / (EC50 + d) exactly; 300 nM at EC50 100 nM is 3/4.
        assert!((hill(300.0, 100.0, 1.0) - 0.75).abs() < 1e-12);
        // n = 2 at 2·EC50: 4/5.
        assert!((hill(200.0, 100.0, 2.0) - 0.8).abs() < 1e-12);
        assert!(hill(1.0, 0.0, 1.0).is_nan() && hill(1.0, 1.0, 0.0).is_nan());
    }

    #[test]
    fn levels_weigh_the_same_whatever_their_size() {
        // Level 0: 0.2, 0.4 (mean 0.3); level 1: 0.9 alone; NaN skipped → (0.3 + 0.9) / 2.
        let v = [0.2, 0.4, 0.9, f64::NAN];
        assert!((mean_over_levels(&v, &[0, 0, 1, 1]) - 0.6).abs() < 1e-12);
        assert!(mean_over_levels(&[f64::NAN], &[0]).is_nan());
        assert!(mean_over_levels(&[], &[]).is_nan());
    }

    #[test]
    fn monotonicity_counts_concordant_pairs_with_ties_half() {
        // Two genes, three doses. Gene 0 rises 0 → 1 → 2, gene 1 falls 0 → −1 → −3.
        let observed = vec![vec![0.0, 0.0], vec![1.0, -1.0], vec![2.0, -3.0]];
        assert_eq!(monotonicity(&observed, &observed, 20), 1.0);
        // A constant prediction ties every pair: 0.5.
        let flat = vec![vec![0.3, 0.1]; 3];
        assert_eq!(monotonicity(&observed, &flat, 20), 0.5);
        // Reversed: every pair wrong.
        let reversed: Vec<Vec<f64>> = observed.iter().rev().cloned().collect();
        assert_eq!(monotonicity(&observed, &reversed, 20), 0.0);
        // Gene 0 right on all 3 pairs; gene 1 right on (0,1), tie on (0,2), wrong on (1,2):
        // (3 + 1 + 0.5 + 0) / 6.
        let mixed = vec![vec![0.0, 0.0], vec![1.0, -1.0], vec![2.0, 0.0]];
        assert!((monotonicity(&observed, &mixed, 20) - 4.5 / 6.0).abs() < 1e-12);
        // top_k = 1 keeps the strongest gene (gene 1, |−3|): (1 + 0.5 + 0) / 3.
        assert!((monotonicity(&observed, &mixed, 1) - 0.5).abs() < 1e-12);
        // Pairs without an observed change are not counted; none at all is undefined.
        assert!(monotonicity(&[vec![1.0], vec![1.0]], &[vec![0.0], vec![2.0]], 20).is_nan());
        assert!(monotonicity(&observed[..1], &observed[..1], 20).is_nan());
    }
}
