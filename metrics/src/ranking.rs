//! Paired comparison of models over the same items, and leaderboard tie groups: a percentile
//! paired bootstrap of the mean difference, a paired bootstrap-t test over resampling units, and
//! Holm-adjusted tie groups against each group's best model, with a numerical tolerance under
//! which two means are the same number (seeded ChaCha8 via `crate::rng`).

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::catalog::Better;
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
/// better is d* > 0 for [`Better::Higher`], else d* < 0. Edge cases: no finite pair → all NaN;
/// one pair or `n_resamples` = 0 → CI collapses to the observed difference and prob_a_better is
/// 1, 0 or ½ from its sign. Length mismatch: only the common prefix is paired.
pub fn paired_bootstrap(
    a: &[f64],
    b: &[f64],
    direction: Better,
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
        let signed = direction.orient(d);
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

/// Relative difference below which two means are the same number: |a − b| ≤ TIE_TOLERANCE ·
/// max(|a|, |b|, scale), `scale` the larger of the two models' mean absolute per-item value (so a
/// correlation averaging near 0 is not held to a near-zero tolerance). f32 predictions carry about
/// 1e-7 relative rounding, which a delta metric (a small difference of large levels) magnifies to
/// ~1e-6; this is ten times that, and far below the third decimal any table shows.
pub const TIE_TOLERANCE: f64 = 1e-5;

/// Whether two means are equal up to [`TIE_TOLERANCE`] (NaN equals only NaN).
pub fn exact_tie(a: f64, b: f64, scale: f64) -> bool {
    let scale = if scale.is_finite() { scale } else { 0.0 };
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= TIE_TOLERANCE * a.abs().max(b.abs()).max(scale)
}

/// Mean absolute value of the finite values (0 when there is none): the scale of [`exact_tie`].
pub fn value_scale(v: &[f64]) -> f64 {
    let f: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).map(f64::abs).collect();
    if f.is_empty() { 0.0 } else { f.iter().sum::<f64>() / f.len() as f64 }
}

/// Two-sided p-value of "mean(a − b) = 0" over paired items: a paired bootstrap-t over
/// resampling units (`units[i]` is item i's; see [`crate::bootstrap::studentized_mean_ci`]):
/// t_obs = mean(d)/se(d), t*_b = (mean*_b − mean)/se*_b, p = (1 + #{|t*_b| ≥ |t_obs|})/(B + 1).
/// Means equal up to [`TIE_TOLERANCE`] give p = 1; pairs with a non-finite value are skipped;
/// no finite pair gives NaN. When no replicate reaches t_obs the bootstrap says only that p is
/// below 1/(B + 1); the tail beyond it is then Student's t with C − 1 degrees of freedom (C units
/// with a finite pair), capped at 1/(B + 1), so that Holm over many rows (threshold 0.05/K, below
/// 1/(B + 1) once K > 0.05·(B + 1)) can still reject. Where a replicate reaches t_obs the p-value is
/// the bootstrap's alone.
pub fn paired_p_value(a: &[f64], b: &[f64], units: &[usize], n_resamples: usize, seed: u64) -> f64 {
    let len = a.len().min(b.len()).min(units.len());
    let members = crate::bootstrap::unit_members(&units[..len]);
    paired_p_value_drawn(&a[..len], &b[..len], &members, &Draws::new(members.len(), n_resamples, seed))
}

/// The bootstrap's unit draws of one set of units, in the order [`paired_p_value`] draws them;
/// [`tie_groups`] makes them once and shares them between its tests (the same seed for every
/// test: common random numbers).
struct Draws {
    draws: Vec<Vec<usize>>,
}

impl Draws {
    fn new(n_units: usize, n_resamples: usize, seed: u64) -> Draws {
        let mut rng = seeded(seed);
        Draws { draws: (0..n_resamples).map(|_| crate::bootstrap::draw(&mut rng, n_units)).collect() }
    }
}

/// [`paired_p_value`] of `a` and `b` (the same length) over the unit `members`, with `draws` made
/// for them.
fn paired_p_value_drawn(a: &[f64], b: &[f64], members: &[Vec<usize>], draws: &Draws) -> f64 {
    let len = a.len();
    let n_resamples = draws.draws.len();
    let diffs: Vec<f64> =
        (0..len).map(|i| if a[i].is_finite() && b[i].is_finite() { a[i] - b[i] } else { f64::NAN }).collect();
    let Some((d, se)) = crate::bootstrap::unit_mean_se(&diffs, members, 0..members.len()) else { return f64::NAN };
    let mean = |v: &[f64]| {
        let f: Vec<f64> = v.iter().zip(&diffs).filter(|(_, d)| d.is_finite()).map(|(x, _)| *x).collect();
        f.iter().sum::<f64>() / f.len().max(1) as f64
    };
    if exact_tie(mean(a), mean(b), value_scale(a).max(value_scale(b))) {
        return 1.0;
    }
    if se == 0.0 || n_resamples == 0 {
        return if d == 0.0 { 1.0 } else { 0.0 };
    }
    let t_obs = (d / se).abs();
    let mut extreme = 0usize;
    for drawn in &draws.draws {
        let Some((m, s)) = crate::bootstrap::unit_mean_se(&diffs, members, drawn.iter().copied()) else { continue };
        let t = if s > 0.0 {
            ((m - d) / s).abs()
        } else if m == d {
            0.0
        } else {
            f64::INFINITY
        };
        if t >= t_obs {
            extreme += 1;
        }
    }
    let floor = 1.0 / (n_resamples + 1) as f64;
    if extreme > 0 {
        return (1 + extreme) as f64 / (n_resamples + 1) as f64;
    }
    let units_with_pairs = members.iter().filter(|m| m.iter().any(|&i| diffs[i].is_finite())).count();
    match StudentsT::new(0.0, 1.0, units_with_pairs.saturating_sub(1) as f64) {
        Ok(t) => (2.0 * t.sf(t_obs)).min(floor),
        Err(_) => floor,
    }
}

/// Leaderboard order and tie groups of several models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TieGroups {
    /// Model indices, best first (by mean of finite values; models without any finite value
    /// last; means equal up to [`TIE_TOLERANCE`] keep input order).
    pub order: Vec<usize>,
    /// group[m] for each model m in INPUT order; group 0 is the top group, numbers increase down
    /// the board.
    pub group: Vec<usize>,
}

/// Mean of the finite values (NaN when there is none).
pub(crate) fn finite_mean(v: &[f64]) -> f64 {
    let f: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if f.is_empty() { f64::NAN } else { f.iter().sum::<f64>() / f.len() as f64 }
}

/// Whether mean `a` is better than mean `b` by more than the tie tolerance at `scale` (NaN is
/// worst).
pub(crate) fn better(a: f64, b: f64, scale: f64, direction: Better) -> bool {
    match (a.is_nan(), b.is_nan()) {
        (_, true) => !a.is_nan(),
        (true, false) => false,
        _ if exact_tie(a, b, scale) => false,
        _ => direction.is_better(a, b),
    }
}

/// Holm's step-down test of the hypotheses with p-values `p` at family-wise error `alpha`: the
/// k-th smallest p-value (0-based) is rejected at alpha/(K − k) while every smaller one was
/// rejected. A NaN p-value counts as rejected and does not stop the others (it sorts last).
/// Returns, in the order of `p`, whether each hypothesis is rejected.
pub fn holm_rejections(p: &[f64], alpha: f64) -> Vec<bool> {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&x, &y| p[x].total_cmp(&p[y]));
    let mut rejected = vec![false; p.len()];
    let mut rejecting = true;
    for (k, &i) in order.iter().enumerate() {
        rejecting = rejecting && (p[i].is_nan() || p[i] <= alpha / (p.len() - k) as f64);
        rejected[i] = rejecting || p[i].is_nan();
    }
    rejected
}

/// Tie groups with multiplicity control, from the top: the best not-yet-grouped model leads a
/// new group; every other ungrouped model is tested against it ([`paired_p_value`], two-sided,
/// the same `seed` for every test: common random numbers) and the p-values are Holm-adjusted
/// (family-wise error 1 − `level` within the step); a model joins the leader's group unless
/// Holm rejects "no difference" for it. Means equal up to [`TIE_TOLERANCE`] always share a group.
/// Repeat with the models left. A model with no finite value paired with the leader (p NaN) is not
/// tied to it. `models[m]` holds model m's per-item values, all in the same item order;
/// `units[i]` is item i's resampling unit.
pub fn tie_groups(
    models: &[&[f64]],
    units: &[usize],
    direction: Better,
    n_resamples: usize,
    level: f64,
    seed: u64,
) -> TieGroups {
    let means: Vec<f64> = models.iter().map(|m| finite_mean(m)).collect();
    let scales: Vec<f64> = models.iter().map(|m| value_scale(m)).collect();
    let mut order: Vec<usize> = (0..models.len()).collect();
    order.sort_by(|&x, &y| {
        let scale = scales[x].max(scales[y]);
        if better(means[x], means[y], scale, direction) {
            std::cmp::Ordering::Less
        } else if better(means[y], means[x], scale, direction) {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        }
    });
    let alpha = 1.0 - level;
    // Pairs of the same length share their units and so the draws: made once per length, on the
    // first pair that needs them.
    let mut prepared: std::collections::HashMap<usize, (Vec<Vec<usize>>, Draws)> = std::collections::HashMap::new();
    let mut group = vec![usize::MAX; models.len()];
    let mut next = 0;
    for (pos, &leader) in order.iter().enumerate() {
        if group[leader] != usize::MAX {
            continue;
        }
        group[leader] = next;
        let tests: Vec<(usize, f64)> = order[pos + 1..]
            .iter()
            .filter(|&&m| group[m] == usize::MAX)
            .map(|&m| {
                let p = if exact_tie(means[leader], means[m], scales[leader].max(scales[m])) {
                    1.0
                } else {
                    let len = models[leader].len().min(models[m].len()).min(units.len());
                    let (members, draws) = prepared.entry(len).or_insert_with(|| {
                        let members = crate::bootstrap::unit_members(&units[..len]);
                        let draws = Draws::new(members.len(), n_resamples, seed);
                        (members, draws)
                    });
                    paired_p_value_drawn(&models[leader][..len], &models[m][..len], members, draws)
                };
                (m, p)
            })
            .collect();
        // NaN (nothing paired) is always "different".
        let p: Vec<f64> = tests.iter().map(|t| t.1).collect();
        for (&(m, _), rejected) in tests.iter().zip(holm_rejections(&p, alpha)) {
            if !rejected {
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

    /// Holm at 0.05 over five: 0.01 ≤ 0.05/5 and 0.012 ≤ 0.05/4 are rejected; 0.03 > 0.05/3
    /// stops the steps, so 0.04 is kept though below 0.05/2; NaN is rejected wherever it sits.
    #[test]
    fn holm_steps_down_and_stops_at_the_first_kept() {
        let rejected = holm_rejections(&[0.04, 0.01, f64::NAN, 0.03, 0.012], 0.05);
        assert_eq!(rejected, vec![false, true, true, false, true]);
        assert_eq!(holm_rejections(&[0.2, 0.3], 0.05), vec![false, false]);
        assert!(holm_rejections(&[], 0.05).is_empty());
    }

    #[test]
    fn clear_winner_and_seeded() {
        let a: Vec<f64> = (0..30).map(|i| 0.6 + 0.01 * (i as f64).sin()).collect();
        let b: Vec<f64> = (0..30).map(|i| 0.4 + 0.01 * (i as f64).cos()).collect();
        let c = paired_bootstrap(&a, &b, Better::Higher, 500, 0.95, 3);
        assert_eq!(c, paired_bootstrap(&a, &b, Better::Higher, 500, 0.95, 3));
        assert!(c.lower > 0.0 && c.prob_a_better == 1.0, "{c:?}");
        let lower_better = paired_bootstrap(&a, &b, Better::Lower, 500, 0.95, 3);
        assert_eq!(lower_better.prob_a_better, 0.0);
    }

    #[test]
    fn identical_models_tie_and_degenerate_inputs() {
        let a = [0.1, 0.5, f64::NAN, 0.3];
        let c = paired_bootstrap(&a, &a, Better::Higher, 200, 0.95, 0);
        assert_eq!((c.mean_diff, c.lower, c.upper, c.prob_a_better, c.n, c.n_undefined), (0.0, 0.0, 0.0, 0.5, 3, 1));
        let one = paired_bootstrap(&[1.0], &[0.5], Better::Higher, 200, 0.95, 0);
        assert_eq!((one.lower, one.upper, one.prob_a_better), (0.5, 0.5, 1.0));
        assert!(paired_bootstrap(&[f64::NAN], &[1.0], Better::Higher, 200, 0.95, 0).mean_diff.is_nan());
    }

    #[test]
    fn tie_groups_from_the_top() {
        let base: Vec<f64> = (0..40).map(|i| ((i * 7919) % 101) as f64 / 100.0).collect();
        let best: Vec<f64> = base.iter().map(|v| v + 0.5).collect();
        let best_twin: Vec<f64> =
            base.iter().enumerate().map(|(i, v)| v + 0.5 + if i % 2 == 0 { 0.01 } else { -0.01 }).collect();
        let worst = base.clone();
        let broken = vec![f64::NAN; 40];
        let models: Vec<&[f64]> = vec![&worst, &best_twin, &broken, &best];
        let units = crate::bootstrap::singleton_units(40);
        let g = tie_groups(&models, &units, Better::Higher, 500, 0.95, 1);
        assert_eq!(g.order[2..], [0, 2]);
        assert_eq!(g.group[1], 0);
        assert_eq!(g.group[3], 0);
        assert_eq!(g.group[0], 1);
        assert_eq!(g.group[2], 2);
        // Lower is better flips the board.
        let g = tie_groups(&models, &units, Better::Lower, 500, 0.95, 1);
        assert_eq!((g.order[0], g.group[0]), (0, 0));
        assert!(tie_groups(&[], &[], Better::Higher, 10, 0.95, 0).order.is_empty());
    }

    /// Near-identical models (values equal up to 1e-9 relative) share a group even though every
    /// item favours one of them, and a clearly worse model among several equal ones is separated.
    #[test]
    fn rounding_level_differences_are_ties_and_holm_controls_the_family() {
        let base: Vec<f64> = (0..30).map(|i| 0.4 + 0.2 * ((i * 13) % 7) as f64 / 7.0).collect();
        let twin: Vec<f64> = base.iter().map(|v| v * (1.0 + 1e-9)).collect();
        let worse: Vec<f64> = base.iter().map(|v| v - 0.3).collect();
        let units = crate::bootstrap::singleton_units(30);
        assert_eq!(paired_p_value(&twin, &base, &units, 200, 0), 1.0);
        let g = tie_groups(&[&base, &twin, &worse], &units, Better::Higher, 500, 0.95, 0);
        assert_eq!(g.group, vec![0, 0, 1]);
        assert_eq!(g.order, vec![0, 1, 2], "equal means keep input order");
        let g = tie_groups(&[&twin, &base, &worse], &units, Better::Higher, 500, 0.95, 0);
        assert_eq!(g.group, vec![0, 0, 1]);
        assert!(paired_p_value(&base, &worse, &units, 200, 0) < 0.01);
    }

    /// A clear leader among 120 rows: each pair's bootstrap p-value sits at its floor 1/(B + 1),
    /// which Holm's first threshold 0.05/119 is below, so only the t tail beyond the bootstrap
    /// lets the leader stand alone; 119 rows equal up to noise stay in one group below it.
    #[test]
    fn a_clear_leader_stands_alone_on_a_large_board() {
        let units = crate::bootstrap::singleton_units(20);
        let noise = |m: usize, i: usize| {
            // splitmix64 of (row, item): independent uniform noise in ±0.1.
            let mut z = ((m * 1_000 + i) as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            0.2 * ((z >> 11) as f64 / (1u64 << 53) as f64 - 0.5)
        };
        let leader: Vec<f64> = (0..20).map(|i| 1.0 + noise(0, i)).collect();
        let others: Vec<Vec<f64>> = (1..120).map(|m| (0..20).map(|i| 0.5 + noise(m, i)).collect()).collect();
        let mut models: Vec<&[f64]> = vec![&leader];
        models.extend(others.iter().map(Vec::as_slice));
        let p = paired_p_value(&leader, &others[0], &units, 200, 0);
        assert!(p < 1e-10, "t tail beyond the bootstrap: {p}");
        let g = tie_groups(&models, &units, Better::Higher, 200, 0.95, 0);
        assert_eq!(g.group[0], 0);
        assert!(g.group[1..].iter().all(|&k| k == 1), "{:?}", g.group);
    }
}
