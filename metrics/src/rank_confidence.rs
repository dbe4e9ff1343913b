//! Rank confidence of a leaderboard: each model's rank with a bootstrap interval, and tie groups.
//! Resampling units (perturbations, or whole sequences on multi-step tasks) are resampled jointly
//! for all models (a paired bootstrap: every resample draws the same units for every model), each
//! resample ranks the models by their mean, and a model's interval is the percentile range of its
//! resampled ranks. Means equal up to [`crate::ranking::TIE_TOLERANCE`] share a rank. Tie groups
//! come from [`crate::ranking::tie_groups`] (Holm-adjusted paired tests against each group's
//! best model). Reference rows (the noise ceiling) are not models and are never passed here.

use serde::{Deserialize, Serialize};

use crate::bootstrap::{draw, unit_members};
use crate::catalog::Better;
use crate::ranking::{TIE_TOLERANCE, better, tie_groups, value_scale};
use crate::rng::seeded;

/// One model's rank on a board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankInterval {
    /// 1-based rank of the observed means (best = 1; equal means share a rank; models without a
    /// finite value last).
    pub rank: usize,
    /// Lower and upper end of the rank interval: the (1−level)/2 and (1+level)/2 quantiles of the
    /// bootstrap ranks ("lower"/"higher" quantiles, so always whole ranks), widened where needed
    /// to contain `rank`.
    pub lower: usize,
    pub upper: usize,
    /// 0-based tie group (0 = top group; see `ranking::tie_groups`).
    pub tie_group: usize,
}

/// The rank confidence of a scorecard: settings and one entry per row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankConfidence {
    /// The metric ranked on (the scorecard's primary metric).
    pub metric: String,
    #[serde(rename = "higher_is_better")]
    pub direction: Better,
    pub resamples: usize,
    pub level: f64,
    pub seed: u64,
    /// (row name, its rank), in the scorecard's row order.
    pub rows: Vec<(String, RankInterval)>,
}

/// Tie-group label: A, B, …, Z, AA, AB, …
pub fn group_label(group: usize) -> String {
    let mut g = group;
    let mut s = Vec::new();
    loop {
        s.push((b'A' + (g % 26) as u8) as char);
        if g < 26 {
            break;
        }
        g = g / 26 - 1;
    }
    s.iter().rev().collect()
}

fn finite_mean(values: impl Iterator<Item = f64>) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for v in values.filter(|v| v.is_finite()) {
        sum += v;
        n += 1;
    }
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

/// 1-based competition ranks of `means` ("1224": best first, means equal up to the tie tolerance
/// share the better rank, NaN last): rank = 1 + the number of models better by more than the
/// tolerance, so identical predictions never get different ranks. Sorting makes this
/// O(n log n): a model is certainly better than model i when its oriented mean exceeds i's by more
/// than twice the largest tolerance any pair can have, and only those inside that band are
/// compared pair by pair ([`ranks_by_pairs`], the definition).
fn ranks_of(means: &[f64], scales: &[f64], direction: Better) -> Vec<usize> {
    if scales.iter().any(|s| !s.is_finite()) || means.iter().any(|m| m.is_infinite()) {
        return ranks_by_pairs(means, scales, direction);
    }
    let finite: Vec<usize> = (0..means.len()).filter(|&j| !means[j].is_nan()).collect();
    let mut oriented: Vec<f64> = finite.iter().map(|&j| direction.orient(means[j])).collect();
    let mut by_oriented = finite.clone();
    by_oriented.sort_by(|&a, &b| direction.orient(means[a]).total_cmp(&direction.orient(means[b])));
    oriented.sort_by(f64::total_cmp);
    let widest = finite.iter().map(|&j| means[j].abs().max(scales[j])).fold(0.0, f64::max);
    (0..means.len())
        .map(|i| {
            if means[i].is_nan() {
                return 1 + finite.len();
            }
            let o = direction.orient(means[i]);
            let band = 2.0 * TIE_TOLERANCE * widest;
            let above = oriented.partition_point(|&x| x <= o);
            let beyond = oriented.partition_point(|&x| x <= o + band).max(above);
            let in_band = by_oriented[above..beyond]
                .iter()
                .filter(|&&j| better(means[j], means[i], scales[i].max(scales[j]), direction))
                .count();
            1 + in_band + (oriented.len() - beyond)
        })
        .collect()
}

/// [`ranks_of`] by its definition, every pair compared: O(n²).
fn ranks_by_pairs(means: &[f64], scales: &[f64], direction: Better) -> Vec<usize> {
    means
        .iter()
        .zip(scales)
        .map(|(&m, &s)| {
            1 + means.iter().zip(scales).filter(|&(&other, &t)| better(other, m, s.max(t), direction)).count()
        })
        .collect()
}

/// Rank intervals and tie groups of `models` (per-item values, all in the same item order; NaN =
/// undefined and skipped in a mean; `units[i]` is item i's resampling unit). Only the common
/// prefix of the value lists is used. `n_resamples` = 0 or fewer than two units collapse every
/// interval to the observed rank. Deterministic for a given `seed`.
pub fn rank_intervals(
    models: &[&[f64]],
    units: &[usize],
    direction: Better,
    n_resamples: usize,
    level: f64,
    seed: u64,
) -> Vec<RankInterval> {
    let n = models.iter().map(|m| m.len()).min().unwrap_or(0).min(units.len());
    let means: Vec<f64> = models.iter().map(|m| finite_mean(m[..n].iter().copied())).collect();
    let scales: Vec<f64> = models.iter().map(|m| value_scale(&m[..n])).collect();
    let point = ranks_of(&means, &scales, direction);
    let trimmed: Vec<&[f64]> = models.iter().map(|m| &m[..n]).collect();
    let groups = tie_groups(&trimmed, &units[..n], direction, n_resamples, level, seed);
    let members = unit_members(&units[..n]);
    let mut samples: Vec<Vec<usize>> = vec![Vec::with_capacity(n_resamples); models.len()];
    if members.len() >= 2 {
        let mut rng = seeded(seed);
        for _ in 0..n_resamples {
            let picks: Vec<usize> =
                draw(&mut rng, members.len()).into_iter().flat_map(|u| members[u].iter().copied()).collect();
            let resampled: Vec<f64> = trimmed.iter().map(|m| finite_mean(picks.iter().map(|&i| m[i]))).collect();
            for (k, r) in ranks_of(&resampled, &scales, direction).into_iter().enumerate() {
                samples[k].push(r);
            }
        }
    }
    let alpha = ((1.0 - level) / 2.0).clamp(0.0, 0.5);
    (0..models.len())
        .map(|k| {
            let s = &mut samples[k];
            let (lo, hi) = if s.is_empty() {
                (point[k], point[k])
            } else {
                s.sort_unstable();
                let last = (s.len() - 1) as f64;
                (s[(alpha * last).floor() as usize], s[((1.0 - alpha) * last).ceil() as usize])
            };
            RankInterval {
                rank: point[k],
                lower: lo.min(point[k]),
                upper: hi.max(point[k]),
                tie_group: groups.group[k],
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noisy(offset: f64, n: usize, phase: f64) -> Vec<f64> {
        (0..n).map(|i| offset + 0.3 * ((i as f64) * 1.7 + phase).sin()).collect()
    }

    #[test]
    fn separated_models_have_tight_intervals_close_ones_overlap() {
        let n = 40;
        let best = noisy(2.0, n, 0.0);
        let twin_a = noisy(1.0, n, 0.3);
        let twin_b = noisy(1.0, n, 2.0);
        let worst = noisy(-1.0, n, 0.7);
        let models: Vec<&[f64]> = vec![&twin_a, &worst, &best, &twin_b];
        let units: Vec<usize> = (0..n).collect();
        let r = rank_intervals(&models, &units, Better::Higher, 500, 0.95, 4);
        assert_eq!(r, rank_intervals(&models, &units, Better::Higher, 500, 0.95, 4), "seeded");
        assert_eq!((r[2].rank, r[2].lower, r[2].upper, r[2].tie_group), (1, 1, 1, 0));
        assert_eq!((r[1].rank, r[1].lower, r[1].upper), (4, 4, 4));
        for k in [0, 3] {
            assert!(r[k].lower <= 2 && r[k].upper >= 3, "twins overlap: {:?}", r[k]);
            assert_eq!(r[k].tie_group, 1);
        }
        assert_eq!(r[1].tie_group, 2);
        for x in &r {
            assert!(x.lower <= x.rank && x.rank <= x.upper);
        }
        // Lower is better flips the board.
        let low = rank_intervals(&models, &units, Better::Lower, 500, 0.95, 4);
        assert_eq!((low[1].rank, low[2].rank), (1, 4));
    }

    #[test]
    fn degenerate_inputs() {
        let a = [1.0];
        let b = [0.5];
        let r = rank_intervals(&[&a, &b], &[0], Better::Higher, 100, 0.95, 0);
        assert_eq!(r.iter().map(|x| (x.rank, x.lower, x.upper)).collect::<Vec<_>>(), vec![(1, 1, 1), (2, 2, 2)]);
        let nan = [f64::NAN, f64::NAN];
        let ok = [0.1, 0.2];
        let r = rank_intervals(&[&nan, &ok], &[0, 1], Better::Higher, 100, 0.95, 0);
        assert_eq!((r[0].rank, r[1].rank), (2, 1));
        assert!(rank_intervals(&[], &[], Better::Higher, 10, 0.95, 0).is_empty());
        // Identical models share their rank in every resample.
        let same = [0.3, 0.1, 0.2];
        let r = rank_intervals(&[&ok, &same, &same], &[0, 1, 2], Better::Higher, 100, 0.95, 0);
        assert_eq!((r[1].rank, r[1].lower, r[1].upper), (r[2].rank, r[2].lower, r[2].upper));
        // Values identical up to 1e-9 (relative) share their rank and group.
        let near: Vec<f64> = same.iter().map(|v| v * (1.0 + 1e-9)).collect();
        let r = rank_intervals(&[&near, &ok, &same], &[0, 1, 2], Better::Higher, 100, 0.95, 0);
        assert_eq!((r[0].rank, r[0].tie_group), (r[2].rank, r[2].tie_group));
        assert_eq!(group_label(0), "A");
        assert_eq!(group_label(25), "Z");
        assert_eq!(group_label(26), "AA");
    }

    /// The sorted ranks equal the pairwise definition, on means with exact ties, ties within the
    /// tolerance, NaN, both directions and spread-out scales.
    #[test]
    fn sorted_ranks_equal_the_pairwise_definition() {
        let mut state = 11u64;
        let mut u = || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for case in 0..300 {
            let n = 1 + case % 40;
            let mut means: Vec<f64> = (0..n).map(|_| (u() - 0.3) * 10f64.powi((case % 5) as i32 - 2)).collect();
            for k in 0..n {
                match (u() * 6.0) as usize {
                    0 => means[k] = f64::NAN,
                    1 if k > 0 => means[k] = means[k - 1],
                    2 if k > 0 => means[k] = means[k - 1] * (1.0 + 3e-6 * (u() - 0.5)),
                    3 if k > 0 => means[k] = means[k - 1] + 2e-5 * means[k - 1].abs(),
                    _ => {}
                }
            }
            let scales: Vec<f64> = (0..n).map(|_| u() * 10f64.powi((case % 3) as i32 - 1)).collect();
            for direction in [Better::Higher, Better::Lower] {
                assert_eq!(
                    ranks_of(&means, &scales, direction),
                    ranks_by_pairs(&means, &scales, direction),
                    "case {case} {direction:?}: {means:?}"
                );
            }
        }
    }
}
