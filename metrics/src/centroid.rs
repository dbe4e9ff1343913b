//! Systema's centroid accuracy.

use rayon::prelude::*;

use crate::distance::euclidean;

/// Systema centroid accuracy per perturbation i (Viñas Torné et al. 2025, Systema):
/// score_i = #{ j ≠ i : ‖pred_i − truth_j‖ > ‖pred_i − truth_i‖ } / (N − 1),
/// the fraction of other perturbations' true centroids that are strictly farther from the
/// prediction than its own true centroid (1 = the prediction is closest to its own truth; ties
/// count against the model). `pred[i]` and `truth[i]` are profiles of the same perturbation.
/// With N < 2 the score is undefined (NaN).
pub fn centroid_accuracy(pred: &[Vec<f64>], truth: &[Vec<f64>]) -> Vec<f64> {
    let n = pred.len().min(truth.len());
    if n < 2 {
        return vec![f64::NAN; pred.len()];
    }
    (0..n)
        .into_par_iter()
        .map(|i| {
            let own = euclidean(&pred[i], &truth[i]);
            let farther = (0..n).filter(|&j| j != i && euclidean(&pred[i], &truth[j]) > own).count();
            farther as f64 / (n - 1) as f64
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_worked_example() {
        // Truth centroids on a line at 0, 1, 10. Predictions: 0.1 (nearest own: 2/2),
        // 6 (own truth 1 at distance 5, truth 10 at distance 4 is nearer, truth 0 at 6 farther: 1/2),
        // 0 (own truth 10 is the farthest: 0/2).
        let truth = vec![vec![0.0], vec![1.0], vec![10.0]];
        let pred = vec![vec![0.1], vec![6.0], vec![0.0]];
        assert_eq!(centroid_accuracy(&pred, &truth), vec![1.0, 0.5, 0.0]);
    }

    #[test]
    fn ties_count_against_the_model_and_small_n_is_nan() {
        let truth = vec![vec![0.0], vec![2.0]];
        let pred = vec![vec![1.0], vec![2.0]];
        assert_eq!(centroid_accuracy(&pred, &truth), vec![0.0, 1.0]);
        assert!(centroid_accuracy(&[vec![0.0]], &[vec![0.0]])[0].is_nan());
    }
}
