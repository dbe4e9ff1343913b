//! Systematic variation (Systema, Viñas Torné et al. 2025) and the arithmetic of the gaming
//! probes: how much of each test perturbation's shift is the shift every perturbation shares, how
//! much of a metric a constant prediction already earns, and the seeded derangement behind the
//! shuffled-perturbation probe with its chance level under centroid accuracy.

use crate::catalog::Better;
use crate::rng::{index, seeded};

/// cos(a, b) = a·b / (‖a‖‖b‖); NaN when either vector is zero (or lengths differ).
pub fn cosine(a: &[f64], b: &[f64]) -> f64 {
    if a.len() != b.len() {
        return f64::NAN;
    }
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 { f64::NAN } else { dot / (na * nb) }
}

/// Systema's systematic-variation cosine of every test perturbation i:
/// cos(t_i − μ_ctrl, μ_pert − μ_ctrl). Near 1: the perturbation's shift is mostly the shift all
/// perturbed cells share (selection, stress, cell-cycle effects), which a constant prediction
/// already captures; near 0: its shift is specific.
pub fn systematic_cosines(truths: &[Vec<f64>], control: &[f64], perturbed_mean: &[f64]) -> Vec<f64> {
    let shared: Vec<f64> = perturbed_mean.iter().zip(control).map(|(p, c)| p - c).collect();
    truths
        .iter()
        .map(|t| {
            let shift: Vec<f64> = t.iter().zip(control).map(|(x, c)| x - c).collect();
            cosine(&shift, &shared)
        })
        .collect()
}

/// How much of a metric a probe earns relative to a reference score (e.g. the best baseline):
/// probe / reference for higher-is-better metrics, reference / probe for lower-is-better (errors),
/// so 1 means "as good as the reference" and smaller means worse in both cases. NaN when the
/// ratio is undefined (a zero denominator or a non-finite input).
pub fn earned_fraction(probe: f64, reference: f64, direction: Better) -> f64 {
    let (num, den) = match direction {
        Better::Higher => (probe, reference),
        Better::Lower => (reference, probe),
    };
    if !num.is_finite() || !den.is_finite() || den == 0.0 { f64::NAN } else { num / den }
}

/// A seeded derangement of 0..n (σ(i) ≠ i for every i) by Sattolo's algorithm: a uniformly
/// random cyclic permutation, so each σ(i) is uniform over the n − 1 other indices. n < 2 has no
/// derangement: the identity is returned (callers check n ≥ 2).
pub fn derangement(n: usize, seed: u64) -> Vec<usize> {
    let mut sigma: Vec<usize> = (0..n).collect();
    let mut rng = seeded(seed);
    for i in (1..n).rev() {
        let j = index(&mut rng, i); // j < i: Sattolo, never a fixed point
        sigma.swap(i, j);
    }
    sigma
}

/// Expected centroid accuracy of a prediction that is exactly another test item's truth
/// (t_σ(i) for item i, σ a random derangement), with N test items and no ties. The predicted
/// item itself is always nearer than t_i (distance 0) and never counts as "farther"; t_i is
/// uniform among the other N − 1 items by distance from t_σ(i), so
/// E = ((N − 1) − N/2) / (N − 1) = (N − 2) / (2(N − 1)): 0.444 for N = 10, → 0.5 as N grows.
pub fn shuffled_centroid_chance(n: usize) -> f64 {
    if n < 2 { f64::NAN } else { (n as f64 - 2.0) / (2.0 * (n as f64 - 1.0)) }
}

/// Tolerance for the mean centroid accuracy of the shuffled probe around 0.5: the bias of its
/// chance level, |0.5 − (N − 2)/(2(N − 1))| = 1/(2(N − 1)), plus three standard errors of a mean of
/// N scores that are near-uniform on [0, 1] (sd 1/√12 each): 3/√(12N).
pub fn shuffled_centroid_tolerance(n: usize) -> f64 {
    if n < 2 { f64::NAN } else { 0.5 / (n as f64 - 1.0) + 3.0 / (12.0 * n as f64).sqrt() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::centroid_accuracy;

    #[test]
    fn cosine_basics() {
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-15);
        assert!(cosine(&[1.0, 0.0], &[0.0, 3.0]).abs() < 1e-15);
        assert!((cosine(&[1.0, 1.0], &[-1.0, -1.0]) + 1.0).abs() < 1e-15);
        assert!(cosine(&[0.0, 0.0], &[1.0, 0.0]).is_nan());
        assert!(cosine(&[1.0], &[1.0, 0.0]).is_nan());
    }

    #[test]
    fn systematic_cosine_of_a_pure_shared_shift_is_one() {
        let control = [1.0, 1.0, 1.0];
        let mu_pert = [2.0, 1.0, 1.5];
        let truths = vec![vec![3.0, 1.0, 2.0], vec![1.0, 2.0, 1.0], control.to_vec()];
        let c = systematic_cosines(&truths, &control, &mu_pert);
        assert!((c[0] - 1.0).abs() < 1e-12, "{c:?}");
        assert!(c[1].abs() < 1e-12, "{c:?}");
        assert!(c[2].is_nan());
    }

    #[test]
    fn earned_fraction_respects_direction() {
        assert_eq!(earned_fraction(0.2, 0.4, Better::Higher), 0.5);
        assert_eq!(earned_fraction(0.2, 0.1, Better::Lower), 0.5);
        assert!(earned_fraction(0.2, 0.0, Better::Higher).is_nan());
        assert!(earned_fraction(f64::NAN, 0.3, Better::Higher).is_nan());
    }

    #[test]
    fn derangement_has_no_fixed_point_and_is_seeded() {
        for n in 2..40 {
            for seed in 0..5 {
                let s = derangement(n, seed);
                assert!(s.iter().enumerate().all(|(i, &j)| i != j), "n {n} seed {seed}: {s:?}");
                let mut sorted = s.clone();
                sorted.sort_unstable();
                assert_eq!(sorted, (0..n).collect::<Vec<_>>());
                assert_eq!(s, derangement(n, seed));
            }
        }
        assert_ne!(derangement(20, 0), derangement(20, 1));
    }

    #[test]
    fn shuffled_truths_score_the_derived_chance_level() {
        // Random points in 8 dimensions: averaged over many derangements the centroid accuracy of
        // "another item's truth" is (N − 2)/(2(N − 1)).
        let n = 12;
        let mut rng = seeded(9);
        let truths: Vec<Vec<f64>> =
            (0..n).map(|_| (0..8).map(|_| index(&mut rng, 1000) as f64 / 1000.0).collect()).collect();
        let mut total = 0.0;
        let seeds = 400;
        for seed in 0..seeds {
            let sigma = derangement(n, seed);
            let pred: Vec<Vec<f64>> = sigma.iter().map(|&j| truths[j].clone()).collect();
            let ca = centroid_accuracy(&pred, &truths);
            total += ca.iter().sum::<f64>() / n as f64;
        }
        let mean = total / seeds as f64;
        let expected = shuffled_centroid_chance(n);
        assert!((mean - expected).abs() < 0.01, "{mean} vs {expected}");
        assert!((shuffled_centroid_chance(10) - 4.0 / 9.0).abs() < 1e-15);
        assert!(shuffled_centroid_tolerance(10) > 0.5 - shuffled_centroid_chance(10));
    }
}
