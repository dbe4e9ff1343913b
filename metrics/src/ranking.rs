//! Paired comparison of models over the same perturbations, and leaderboard tie groups. No
//! single reference implementation: a percentile paired bootstrap (as `crate::bootstrap`, seeded
//! ChaCha8 via `crate::rng`).

use serde::{Deserialize, Serialize};

use crate::rng::{index, seeded};

/// Model A against model B on paired per-perturbation values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PairedComparison {
    /// mean over perturbations of (a_i − b_i) (raw difference, not sign-adjusted).
    pub mean_diff: f64,
    /// Percentile bootstrap CI of `mean_diff`.
    pub lower: f64,
    pub upper: f64,
    /// Fraction of resamples in which A's mean is better than B's (ties count ½).
    pub prob_a_better: f64,
    /// Pairs used (both values finite).
    pub n: usize,
    /// Pairs dropped because either value is NaN/inf.
    pub n_undefined: usize,
}

/// Paired bootstrap over perturbations: the pairs (a_i, b_i) with both values finite are
/// resampled with replacement `n_resamples` times (same indices for A and B); each resample's
/// mean difference d* = mean(a − b). CI = the (1−level)/2 and (1+level)/2 quantiles of d* (linear
/// interpolation, numpy default); prob_a_better = (#{d* better} + ½#{d* = 0}) / n_resamples where
/// better is d* > 0 if `higher_is_better`, else d* < 0. Edge cases: no finite pair → all NaN;
/// one pair or `n_resamples` = 0 → CI collapses to the observed difference and prob_a_better is
/// 1, 0 or ½ from its sign. Length mismatch: only the common prefix is paired.
pub fn paired_bootstrap(
    a: &[f64],
    b: &[f64],
    higher_is_better: bool,
    n_resamples: usize,
    level: f64,
    seed: u64,
) -> PairedComparison {
    let len = a.len().min(b.len());
    let diffs: Vec<f64> = (0..len).filter(|&i| a[i].is_finite() && b[i].is_finite()).map(|i| a[i] - b[i]).collect();
    let n = diffs.len();
    let n_undefined = len - n;
    if n == 0 {
        return PairedComparison {
            mean_diff: f64::NAN,
            lower: f64::NAN,
            upper: f64::NAN,
            prob_a_better: f64::NAN,
            n,
            n_undefined,
        };
    }
    let better = |d: f64| -> f64 {
        let signed = if higher_is_better { d } else { -d };
        if signed > 0.0 {
            1.0
        } else if signed == 0.0 {
            0.5
        } else {
            0.0
        }
    };
    let mean_diff = diffs.iter().sum::<f64>() / n as f64;
    if n == 1 || n_resamples == 0 {
        return PairedComparison {
            mean_diff,
            lower: mean_diff,
            upper: mean_diff,
            prob_a_better: better(mean_diff),
            n,
            n_undefined,
        };
    }
    let mut rng = seeded(seed);
    let mut means: Vec<f64> =
        (0..n_resamples).map(|_| (0..n).map(|_| diffs[index(&mut rng, n)]).sum::<f64>() / n as f64).collect();
    let prob_a_better = means.iter().map(|&d| better(d)).sum::<f64>() / n_resamples as f64;
    means.sort_by(f64::total_cmp);
    let alpha = (1.0 - level) / 2.0;
    PairedComparison {
        mean_diff,
        lower: quantile(&means, alpha),
        upper: quantile(&means, 1.0 - alpha),
        prob_a_better,
        n,
        n_undefined,
    }
}

/// Quantile of sorted data with linear interpolation between closest ranks (numpy default).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Leaderboard order and tie groups of several models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TieGroups {
    /// Model indices, best first (by mean of finite values; models without any finite value
    /// last; equal means keep input order).
    pub order: Vec<usize>,
    /// group[m] for each model m in INPUT order; group 0 is the top group, numbers increase down
    /// the board.
    pub group: Vec<usize>,
}

/// Tie groups, greedily from the top: the best not-yet-grouped model leads a new group; every
/// other ungrouped model (in board order) whose paired-bootstrap CI of (leader − model) contains
/// 0 joins the leader's group; repeat. Ties are thus defined against each group's leader only
/// (not transitively), so a group is "statistically indistinguishable from its best member".
/// Each comparison uses the same `seed` (common random numbers). A model with no finite value
/// paired with the leader (CI NaN) is not tied to it. `models[m]` holds model m's
/// per-perturbation values, all in the same perturbation order.
pub fn tie_groups(models: &[&[f64]], higher_is_better: bool, n_resamples: usize, level: f64, seed: u64) -> TieGroups {
    let mean = |v: &[f64]| {
        let f: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
        if f.is_empty() { f64::NAN } else { f.iter().sum::<f64>() / f.len() as f64 }
    };
    let means: Vec<f64> = models.iter().map(|m| mean(m)).collect();
    let mut order: Vec<usize> = (0..models.len()).collect();
    order.sort_by(|&x, &y| {
        let (a, b) = (means[x], means[y]);
        match (a.is_nan(), b.is_nan()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            _ if higher_is_better => b.total_cmp(&a),
            _ => a.total_cmp(&b),
        }
    });
    let mut group = vec![usize::MAX; models.len()];
    let mut next = 0;
    for (pos, &leader) in order.iter().enumerate() {
        if group[leader] != usize::MAX {
            continue;
        }
        group[leader] = next;
        for &m in &order[pos + 1..] {
            if group[m] != usize::MAX {
                continue;
            }
            let c = paired_bootstrap(models[leader], models[m], higher_is_better, n_resamples, level, seed);
            if c.lower <= 0.0 && 0.0 <= c.upper {
                group[m] = next;
            }
        }
        next += 1;
    }
    TieGroups { order, group }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clear_winner_and_seeded() {
        let a: Vec<f64> = (0..30).map(|i| 0.6 + 0.01 * (i as f64).sin()).collect();
        let b: Vec<f64> = (0..30).map(|i| 0.4 + 0.01 * (i as f64).cos()).collect();
        let c = paired_bootstrap(&a, &b, true, 500, 0.95, 3);
        assert_eq!(c, paired_bootstrap(&a, &b, true, 500, 0.95, 3));
        assert!(c.lower > 0.0 && c.prob_a_better == 1.0, "{c:?}");
        let lower_better = paired_bootstrap(&a, &b, false, 500, 0.95, 3);
        assert_eq!(lower_better.prob_a_better, 0.0);
    }

    #[test]
    fn identical_models_tie_and_degenerate_inputs() {
        let a = [0.1, 0.5, f64::NAN, 0.3];
        let c = paired_bootstrap(&a, &a, true, 200, 0.95, 0);
        assert_eq!((c.mean_diff, c.lower, c.upper, c.prob_a_better, c.n, c.n_undefined), (0.0, 0.0, 0.0, 0.5, 3, 1));
        let one = paired_bootstrap(&[1.0], &[0.5], true, 200, 0.95, 0);
        assert_eq!((one.lower, one.upper, one.prob_a_better), (0.5, 0.5, 1.0));
        assert!(paired_bootstrap(&[f64::NAN], &[1.0], true, 200, 0.95, 0).mean_diff.is_nan());
    }

    #[test]
    fn tie_groups_greedy_from_top() {
        let base: Vec<f64> = (0..40).map(|i| ((i * 7919) % 101) as f64 / 100.0).collect();
        let best: Vec<f64> = base.iter().map(|v| v + 0.5).collect();
        let best_twin: Vec<f64> =
            base.iter().enumerate().map(|(i, v)| v + 0.5 + if i % 2 == 0 { 0.01 } else { -0.01 }).collect();
        let worst = base.clone();
        let broken = vec![f64::NAN; 40];
        let models: Vec<&[f64]> = vec![&worst, &best_twin, &broken, &best];
        let g = tie_groups(&models, true, 500, 0.95, 1);
        assert_eq!(g.order[2..], [0, 2]);
        assert_eq!(g.group[1], 0);
        assert_eq!(g.group[3], 0);
        assert_eq!(g.group[0], 1);
        assert_eq!(g.group[2], 2);
        // Lower is better flips the board.
        let g = tie_groups(&models, false, 500, 0.95, 1);
        assert_eq!((g.order[0], g.group[0]), (0, 0));
        assert!(tie_groups(&[], true, 10, 0.95, 0).order.is_empty());
    }
}
