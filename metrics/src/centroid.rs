//! Systema's centroid accuracy, and the exact "is truth j strictly farther than the own truth"
//! test it counts (with an early exit that never changes a comparison).

use rayon::prelude::*;

use crate::distance::euclidean;

/// Genes summed between two early-exit checks of [`farther_than`].
const CHECK_EVERY: usize = 256;

/// Systema centroid accuracy per perturbation i (Viñas Torné et al. 2025, Systema):
/// score_i = #{ j ≠ i : ‖pred_i − truth_j‖ > ‖pred_i − truth_i‖ } / (N − 1),
/// the fraction of other perturbations' true centroids that are strictly farther from the
/// prediction than its own true centroid (1 = the prediction is closest to its own truth; ties
/// count against the model). `pred[i]` and `truth[i]` are profiles of the same perturbation.
/// With N < 2 the score is undefined (NaN).
pub fn centroid_accuracy(pred: &[Vec<f64>], truth: &[Vec<f64>]) -> Vec<f64> {
    centroid_accuracy_skipping(pred, truth, &[])
}

/// [`centroid_accuracy`] where item i's distances (to its own truth and to every other truth)
/// leave out the genes `excluded[i]` (ascending or not; a missing entry leaves out none).
pub fn centroid_accuracy_skipping(pred: &[Vec<f64>], truth: &[Vec<f64>], excluded: &[Vec<usize>]) -> Vec<f64> {
    let n = pred.len().min(truth.len());
    if n < 2 {
        return vec![f64::NAN; pred.len()];
    }
    // The early exit assumes finite profiles (a NaN or infinite value after the exit could turn a
    // larger partial sum into NaN); any other input takes the full distances.
    let finite = pred[..n].iter().chain(&truth[..n]).all(|v| v.iter().all(|x| x.is_finite()));
    (0..n)
        .into_par_iter()
        .map(|i| {
            let out = excluded.get(i).map_or(&[][..], Vec::as_slice);
            let own = distance_skipping(&pred[i], &truth[i], out);
            let is_farther = |j: usize| match finite {
                true => farther_than(&pred[i], &truth[j], out, own),
                false => distance_skipping(&pred[i], &truth[j], out) > own,
            };
            let farther = (0..n).filter(|&j| j != i && is_farther(j)).count();
            farther as f64 / (n - 1) as f64
        })
        .collect()
}

/// ‖p − t‖ over the genes not in `excluded`: the same sum, in the same order, as [`euclidean`]
/// of the two profiles with those genes removed.
fn distance_skipping(p: &[f64], t: &[f64], excluded: &[usize]) -> f64 {
    if excluded.is_empty() {
        return euclidean(p, t);
    }
    p.iter()
        .zip(t)
        .enumerate()
        .filter(|(g, _)| !excluded.contains(g))
        .map(|(_, (x, y))| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

/// `distance_skipping(p, t, excluded) > own`, exactly, for finite `p` and `t`. The sum of squares runs in the same order
/// as [`distance_skipping`] and stops once its partial sum's square root is above `own`: every
/// term is ≥ 0, so the rounded partial sums never decrease and neither does their square root,
/// so the full distance would be above `own` too.
fn farther_than(p: &[f64], t: &[f64], excluded: &[usize], own: f64) -> bool {
    let mut sum = -0.0f64;
    let mut next_check = CHECK_EVERY;
    for (g, (x, y)) in p.iter().zip(t).enumerate() {
        if !excluded.is_empty() && excluded.contains(&g) {
            continue;
        }
        sum += (x - y) * (x - y);
        if g >= next_check {
            if sum.sqrt() > own {
                return true;
            }
            next_check = g + CHECK_EVERY;
        }
    }
    sum.sqrt() > own
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

    /// The early exit and the skipped genes give exactly the comparisons of the direct distances
    /// (profiles long enough to pass several checks, with ties and near-ties).
    #[test]
    fn the_early_exit_gives_the_comparisons_of_the_full_distances() {
        use rand::RngExt;
        let mut rng = crate::rng::seeded(0x9E37);
        let mut next = || rng.random::<f64>();
        let genes = 1_000;
        let truth: Vec<Vec<f64>> = (0..12).map(|_| (0..genes).map(|_| next()).collect()).collect();
        let mut pred: Vec<Vec<f64>> =
            truth.iter().map(|t| t.iter().map(|v| v + 0.3 * (next() - 0.5)).collect()).collect();
        pred[3] = truth[5].clone(); // a prediction equal to another item's truth
        pred[4] = truth[4].iter().map(|v| v + 1e-13).collect(); // near-ties
        let excluded: Vec<Vec<usize>> =
            (0..12).map(|i| if i % 2 == 0 { vec![i, 300 + i, 999] } else { vec![] }).collect();
        let keep = |v: &[f64], out: &[usize]| -> Vec<f64> {
            v.iter().enumerate().filter(|(g, _)| !out.contains(g)).map(|(_, x)| *x).collect()
        };
        for i in 0..12 {
            let out = &excluded[i];
            let p = keep(&pred[i], out);
            let own = euclidean(&p, &keep(&truth[i], out));
            assert_eq!(distance_skipping(&pred[i], &truth[i], out).to_bits(), own.to_bits());
            for (j, t) in truth.iter().enumerate() {
                let direct = euclidean(&p, &keep(t, out));
                for threshold in [own, direct, direct - 1e-12, direct + 1e-12, 0.0] {
                    assert_eq!(farther_than(&pred[i], t, out, threshold), direct > threshold, "{i} {j}");
                }
            }
        }
        let direct: Vec<f64> = (0..12)
            .map(|i| {
                let out = &excluded[i];
                let p = keep(&pred[i], out);
                let own = euclidean(&p, &keep(&truth[i], out));
                let far = (0..12).filter(|&j| j != i && euclidean(&p, &keep(&truth[j], out)) > own).count();
                far as f64 / 11.0
            })
            .collect();
        assert_eq!(centroid_accuracy_skipping(&pred, &truth, &excluded), direct);
    }
}
