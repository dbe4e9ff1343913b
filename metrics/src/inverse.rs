//! Inverse-design (screen ranking) metrics: given the predicted outcome of every candidate
//! perturbation and a target state, candidates are ranked by the Euclidean distance of their
//! predicted mean profile to the target (closest first), and the rank of the true perturbation is
//! scored. Ranking by distance of predicted deltas `pred − μ_ctrl` to the target delta
//! `target − μ_ctrl` gives exactly the same ranking (the shift cancels), so raw profiles are used.
//!
//! Ties count against the model: the true perturbation's rank is
//! `1 + #{j ≠ true : d_j ≤ d_true}`, so a model predicting the same profile for every candidate
//! ranks the truth last, never first. A NaN distance is treated as +∞.

use crate::catalog::{self, MetricInfo};

/// The inverse-design family's metrics, in report order.
pub const SCREEN_METRICS: [&MetricInfo; 6] = [
    &catalog::NORMALIZED_RANK,
    &catalog::HIT_AT_1,
    &catalog::HIT_AT_5,
    &catalog::HIT_AT_10,
    &catalog::ENRICHMENT_AT_10,
    &catalog::RANK,
];

/// Whether `name` is one of [`SCREEN_METRICS`].
pub fn is_screen_metric(name: &str) -> bool {
    SCREEN_METRICS.iter().any(|m| m.name == name)
}

/// The outcome of ranking one target's candidates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScreenScore {
    /// 1-based pessimistic rank of the true perturbation among `n_candidates`.
    pub rank: usize,
    pub n_candidates: usize,
    /// `1 − (rank − 1)/(N − 1)`: 1 = ranked first, 0 = ranked last; NaN when N < 2.
    pub normalized_rank: f64,
    pub hit_at_1: f64,
    pub hit_at_5: f64,
    pub hit_at_10: f64,
    /// hit@10 over the hit rate of random screening, `hit@10 / (min(10, N)/N)`.
    pub enrichment_at_10: f64,
}

impl ScreenScore {
    /// Value of a metric named in [`SCREEN_METRICS`] (NaN for an unknown name).
    pub fn value(&self, name: &str) -> f64 {
        match name {
            "normalized_rank" => self.normalized_rank,
            "hit_at_1" => self.hit_at_1,
            "hit_at_5" => self.hit_at_5,
            "hit_at_10" => self.hit_at_10,
            "enrichment_at_10" => self.enrichment_at_10,
            "rank" => self.rank as f64,
            _ => f64::NAN,
        }
    }
}

/// Euclidean distance (NaN if the lengths differ).
pub fn euclidean(a: &[f64], b: &[f64]) -> f64 {
    if a.len() != b.len() {
        return f64::NAN;
    }
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt()
}

/// Pessimistic 1-based rank of `distances[true_index]` (smaller is better; ties and NaN count
/// against the truth).
pub fn pessimistic_rank(distances: &[f64], true_index: usize) -> usize {
    let key = |d: f64| if d.is_nan() { f64::INFINITY } else { d };
    let t = key(distances[true_index]);
    1 + distances.iter().enumerate().filter(|&(j, &d)| j != true_index && key(d) <= t).count()
}

/// hit@k: 1 if the truth ranks within the first k, else 0.
pub fn hit_at(rank: usize, k: usize) -> f64 {
    if rank <= k { 1.0 } else { 0.0 }
}

/// Enrichment of hit@k over random screening: `hit@k / (min(k, N)/N)`.
pub fn enrichment_at(rank: usize, k: usize, n_candidates: usize) -> f64 {
    if n_candidates == 0 {
        return f64::NAN;
    }
    let random = k.min(n_candidates) as f64 / n_candidates as f64;
    hit_at(rank, k) / random
}

/// Scores one target from the distance of every candidate's prediction to the target.
pub fn score_distances(distances: &[f64], true_index: usize) -> ScreenScore {
    let n = distances.len();
    let rank = pessimistic_rank(distances, true_index);
    let normalized_rank = if n < 2 { f64::NAN } else { 1.0 - (rank - 1) as f64 / (n - 1) as f64 };
    ScreenScore {
        rank,
        n_candidates: n,
        normalized_rank,
        hit_at_1: hit_at(rank, 1),
        hit_at_5: hit_at(rank, 5),
        hit_at_10: hit_at(rank, 10),
        enrichment_at_10: enrichment_at(rank, 10, n),
    }
}

/// Ranks `candidates` (predicted mean profiles) by Euclidean distance to `target` and scores the
/// candidate at `true_index`.
pub fn score_screen(candidates: &[Vec<f64>], target: &[f64], true_index: usize) -> ScreenScore {
    let distances: Vec<f64> = candidates.iter().map(|c| euclidean(c, target)).collect();
    score_distances(&distances, true_index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_hits_and_enrichment_by_hand() {
        // Distances 0.5, 0.1, 0.9, 0.3: the truth (index 0) is third closest.
        let s = score_distances(&[0.5, 0.1, 0.9, 0.3], 0);
        assert_eq!((s.rank, s.n_candidates), (3, 4));
        assert!((s.normalized_rank - (1.0 - 2.0 / 3.0)).abs() < 1e-12);
        assert_eq!((s.hit_at_1, s.hit_at_5, s.hit_at_10), (0.0, 1.0, 1.0));
        // N = 4 < 10: random screening hits within 10 always, so enrichment is 1.
        assert_eq!(s.enrichment_at_10, 1.0);
        // First and last.
        assert_eq!(score_distances(&[0.5, 0.1, 0.9, 0.3], 1).normalized_rank, 1.0);
        assert_eq!(score_distances(&[0.5, 0.1, 0.9, 0.3], 2).normalized_rank, 0.0);
    }

    #[test]
    fn ties_count_against_the_model() {
        // Every candidate predicted identically: the truth ranks last.
        let s = score_distances(&[1.0; 5], 2);
        assert_eq!((s.rank, s.normalized_rank, s.hit_at_1), (5, 0.0, 0.0));
        // One tie with a better candidate: rank 3 of 4 (d=0.1 and the tied 0.2 before it).
        assert_eq!(pessimistic_rank(&[0.2, 0.1, 0.2, 0.7], 0), 3);
        assert_eq!(pessimistic_rank(&[0.2, 0.1, 0.2, 0.7], 2), 3);
        // NaN distances are worst; a NaN truth ranks last.
        assert_eq!(pessimistic_rank(&[0.2, f64::NAN, 0.3], 0), 1);
        assert_eq!(pessimistic_rank(&[f64::NAN, 0.1, 0.3], 0), 3);
    }

    #[test]
    fn enrichment_over_random_screening() {
        // 100 candidates, truth ranked 7th: hit@10 = 1, random hit@10 = 0.1 → enrichment 10.
        let mut d: Vec<f64> = (0..100).map(|i| i as f64).collect();
        d.swap(0, 6);
        let s = score_distances(&d, 0);
        assert_eq!((s.rank, s.hit_at_5, s.hit_at_10), (7, 0.0, 1.0));
        assert!((s.enrichment_at_10 - 10.0).abs() < 1e-12);
        assert!((s.normalized_rank - (1.0 - 6.0 / 99.0)).abs() < 1e-12);
        assert_eq!(enrichment_at(11, 10, 100), 0.0);
        assert!(score_distances(&[0.0], 0).normalized_rank.is_nan());
    }

    #[test]
    fn screen_ranks_by_euclidean_distance_and_delta_shift_does_not_matter() {
        let target = vec![1.0, 2.0];
        let cands = vec![vec![0.0, 0.0], vec![1.1, 2.0], vec![1.0, 2.05]];
        assert_eq!(score_screen(&cands, &target, 2).rank, 1);
        assert_eq!(score_screen(&cands, &target, 1).rank, 2);
        let shift = [0.3, -4.0];
        let sh = |v: &Vec<f64>| v.iter().zip(&shift).map(|(a, b)| a - b).collect::<Vec<f64>>();
        let shifted: Vec<Vec<f64>> = cands.iter().map(sh).collect();
        for t in 0..3 {
            assert_eq!(score_screen(&shifted, &sh(&target), t), score_screen(&cands, &target, t));
        }
        assert_eq!(euclidean(&[0.0, 0.0], &[3.0, 4.0]), 5.0);
    }

    #[test]
    fn metric_names_resolve() {
        let s = score_distances(&[0.1, 0.2], 0);
        for name in SCREEN_METRICS.map(|m| m.name) {
            assert!(is_screen_metric(name));
            assert!(s.value(name).is_finite(), "{name}");
        }
        assert!(!is_screen_metric("mae"));
    }
}
