//! Bootstrap confidence intervals over resampling units. A unit is what is drawn with
//! replacement: a test perturbation, or a whole held-out sequence on multi-step tasks (its steps
//! are not independent). Two intervals: the percentile interval ([`bootstrap_mean_ci`], kept for
//! the leaderboard's views) and the studentized (bootstrap-t) interval of a mean over units
//! ([`studentized_mean_ci`], what scorecards report), which covers at small n where the
//! percentile interval does not (measured in `bench/ci_coverage.sh`). A replicate may also
//! recompute every item's value, e.g. with a resampled control mean ([`studentized_ci_with`]).

use serde::{Deserialize, Serialize};

use crate::rng::{ChaCha8Rng, index, seeded};

/// A mean with its bootstrap interval. `n` counts the finite values used; NaN values
/// (undefined metric for that perturbation) are excluded and counted in `n_undefined`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub mean: f64,
    pub lower: f64,
    pub upper: f64,
    pub n: usize,
    pub n_undefined: usize,
}

/// Mean of the finite `values` with a percentile bootstrap CI: `n_resamples` resamples of the
/// finite values with replacement (ChaCha8 seeded by `seed`), the CI is the (1−level)/2 and
/// (1+level)/2 quantiles of the resampled means (linear interpolation, numpy's default). With no
/// finite values everything is NaN; with one value the interval collapses to it.
pub fn bootstrap_mean_ci(values: &[f64], n_resamples: usize, level: f64, seed: u64) -> Interval {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let n = finite.len();
    let n_undefined = values.len() - n;
    if n == 0 {
        return Interval { mean: f64::NAN, lower: f64::NAN, upper: f64::NAN, n, n_undefined };
    }
    let mean = finite.iter().sum::<f64>() / n as f64;
    if n == 1 || n_resamples == 0 {
        return Interval { mean, lower: mean, upper: mean, n, n_undefined };
    }
    let mut rng = seeded(seed);
    let mut means: Vec<f64> =
        (0..n_resamples).map(|_| (0..n).map(|_| finite[index(&mut rng, n)]).sum::<f64>() / n as f64).collect();
    means.sort_by(f64::total_cmp);
    let alpha = (1.0 - level) / 2.0;
    Interval { mean, lower: quantile(&means, alpha), upper: quantile(&means, 1.0 - alpha), n, n_undefined }
}

/// Item i belongs to unit `units[i]`; units are numbered 0.. in any order. Singleton units
/// (`units[i] = i`) resample items independently.
pub fn singleton_units(n: usize) -> Vec<usize> {
    (0..n).collect()
}

/// The items of every unit, units in order of first appearance.
pub fn unit_members(units: &[usize]) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = Vec::new();
    let mut members: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    let mut out: Vec<Vec<usize>> = Vec::new();
    for (i, &u) in units.iter().enumerate() {
        let k = *members.entry(u).or_insert_with(|| {
            order.push(u);
            out.push(Vec::new());
            out.len() - 1
        });
        out[k].push(i);
    }
    out
}

/// The mean of the finite values of the drawn units (a unit drawn twice counts twice) and its
/// standard error from the spread of the unit totals (the ratio estimator's linearisation,
/// C/(C−1) small-sample factor; singleton units give s/√n). `None` without a finite value.
pub(crate) fn unit_mean_se(
    values: &[f64],
    members: &[Vec<usize>],
    drawn: impl Iterator<Item = usize>,
) -> Option<(f64, f64)> {
    let mut totals: Vec<(f64, f64)> = Vec::new();
    for u in drawn {
        let (mut s, mut k) = (0.0, 0.0);
        for &i in &members[u] {
            if values[i].is_finite() {
                s += values[i];
                k += 1.0;
            }
        }
        totals.push((s, k));
    }
    let (sum, count): (f64, f64) = totals.iter().fold((0.0, 0.0), |(a, b), &(s, k)| (a + s, b + k));
    if count == 0.0 {
        return None;
    }
    let mean = sum / count;
    let c = totals.iter().filter(|(_, k)| *k > 0.0).count() as f64;
    if c < 2.0 {
        return Some((mean, 0.0));
    }
    let ss: f64 = totals.iter().filter(|(_, k)| *k > 0.0).map(|&(s, k)| (s - mean * k).powi(2)).sum();
    Some((mean, (ss * c / (c - 1.0)).sqrt() / count))
}

/// [`studentized_ci_with`] with fixed item values.
pub fn studentized_mean_ci(values: &[f64], units: &[usize], n_resamples: usize, level: f64, seed: u64) -> Interval {
    studentized_ci_with(values, units, n_resamples, level, seed, None)
}

/// Recomputes every item's value for replicate b (e.g. against a resampled control mean).
pub type ReplicateValues<'a> = &'a dyn Fn(usize) -> Vec<f64>;

/// Mean of the finite `values` with a studentized (bootstrap-t) CI over resampling units:
/// replicate b draws as many units as there are, with replacement (ChaCha8 seeded by `seed`),
/// takes the replicate's values (`values`, or `replicate(b)` when given: the same items,
/// recomputed), and forms t*_b = (mean*_b − mean) / se*_b from the drawn units' mean and
/// standard error. The CI is [mean − t*_(1+level)/2 · se, mean − t*_(1−level)/2 · se] with se the
/// observed standard error, or with recomputed values the larger of it and the root mean square
/// of the se*_b (item-to-item noise of the recomputation is in se*_b but not in the observed se). A replicate with se* = 0 counts as t* = 0 when its mean equals the
/// observed one and ±∞ otherwise. NaN values are excluded and counted in `n_undefined`; with no
/// finite value everything is NaN; with fewer than two units holding a finite value the interval
/// collapses to the mean.
pub fn studentized_ci_with(
    values: &[f64],
    units: &[usize],
    n_resamples: usize,
    level: f64,
    seed: u64,
    replicate: Option<ReplicateValues<'_>>,
) -> Interval {
    let n = values.iter().filter(|v| v.is_finite()).count();
    let n_undefined = values.len() - n;
    let members = unit_members(&units[..values.len().min(units.len())]);
    let Some((mean, se)) = unit_mean_se(values, &members, 0..members.len()) else {
        return Interval { mean: f64::NAN, lower: f64::NAN, upper: f64::NAN, n, n_undefined };
    };
    let live = members.iter().filter(|m| m.iter().any(|&i| values[i].is_finite())).count();
    if live < 2 || n_resamples == 0 {
        return Interval { mean, lower: mean, upper: mean, n, n_undefined };
    }
    let mut rng = seeded(seed);
    let mut ts: Vec<f64> = Vec::with_capacity(n_resamples);
    let mut se2_sum = 0.0;
    for b in 0..n_resamples {
        let drawn = draw(&mut rng, members.len());
        let owned;
        let vals: &[f64] = match replicate {
            Some(f) => {
                owned = f(b);
                &owned
            }
            None => values,
        };
        let Some((m, s)) = unit_mean_se(vals, &members, drawn.into_iter()) else { continue };
        se2_sum += s * s;
        ts.push(if s > 0.0 {
            (m - mean) / s
        } else if m == mean {
            0.0
        } else {
            (m - mean).signum() * f64::INFINITY
        });
    }
    if ts.is_empty() || se == 0.0 {
        return Interval { mean, lower: mean, upper: mean, n, n_undefined };
    }
    // With recomputed values, noise that differs from item to item (not only a shift shared by
    // all) is in every se*: the interval scales by the standard error the replicates see.
    let se = if replicate.is_some() { (se2_sum / ts.len() as f64).sqrt().max(se) } else { se };
    ts.sort_by(f64::total_cmp);
    let alpha = (1.0 - level) / 2.0;
    let (t_lo, t_hi) = (quantile(&ts, alpha), quantile(&ts, 1.0 - alpha));
    let (lower, upper) = (mean - t_hi * se, mean - t_lo * se);
    if !(lower.is_finite() && upper.is_finite()) {
        // Too few distinct units for a t statistic (a replicate with no spread): the range of
        // the values, never an infinite bound.
        let finite = values.iter().copied().filter(|v| v.is_finite());
        let (lo, hi) = finite.fold((mean, mean), |(a, b), v| (a.min(v), b.max(v)));
        return Interval { mean, lower: lo, upper: hi, n, n_undefined };
    }
    Interval { mean, lower, upper, n, n_undefined }
}

/// One replicate's draw: `n` unit indices with replacement.
pub fn draw(rng: &mut ChaCha8Rng, n: usize) -> Vec<usize> {
    (0..n).map(|_| index(rng, n)).collect()
}

/// Quantile of sorted data with linear interpolation between closest ranks.
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    if sorted[lo] == sorted[hi] || !(sorted[lo].is_finite() && sorted[hi].is_finite()) {
        return if pos - (lo as f64) < 0.5 { sorted[lo] } else { sorted[hi] };
    }
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_brackets_the_mean_and_is_seeded() {
        let values: Vec<f64> = (0..40).map(|i| (i as f64).sin()).collect();
        let a = bootstrap_mean_ci(&values, 500, 0.95, 1);
        let b = bootstrap_mean_ci(&values, 500, 0.95, 1);
        assert_eq!(a, b);
        assert!(a.lower < a.mean && a.mean < a.upper, "{a:?}");
        // The CI of the mean of 40 values with sd ~0.7 is roughly ±0.22.
        assert!(a.upper - a.lower > 0.2 && a.upper - a.lower < 0.7, "{a:?}");
    }

    #[test]
    fn nan_values_are_excluded_and_counted() {
        let ci = bootstrap_mean_ci(&[1.0, f64::NAN, 3.0], 100, 0.95, 0);
        assert_eq!((ci.mean, ci.n, ci.n_undefined), (2.0, 2, 1));
        assert!(bootstrap_mean_ci(&[f64::NAN], 100, 0.95, 0).mean.is_nan());
        let single = bootstrap_mean_ci(&[5.0], 100, 0.95, 0);
        assert_eq!((single.lower, single.upper), (5.0, 5.0));
        let t = studentized_mean_ci(&[1.0, f64::NAN, 3.0, 2.0], &singleton_units(4), 100, 0.95, 0);
        assert_eq!((t.mean, t.n, t.n_undefined), (2.0, 3, 1));
        assert!(studentized_mean_ci(&[f64::NAN], &[0], 100, 0.95, 0).mean.is_nan());
        let flat = studentized_mean_ci(&[0.5; 6], &singleton_units(6), 100, 0.95, 0);
        assert_eq!((flat.lower, flat.upper), (0.5, 0.5));
    }

    #[test]
    fn quantile_interpolates() {
        assert_eq!(quantile(&[0.0, 10.0], 0.25), 2.5);
        assert_eq!(quantile(&[1.0, 2.0, 3.0], 0.5), 2.0);
    }

    /// The studentized interval of a mean of 12 normal values is close to the t interval
    /// (mean ± 2.20 s/√n), wider than the percentile interval (≈ ± 1.96 s/√(n) · √((n−1)/n)).
    #[test]
    fn studentized_interval_is_about_the_t_interval() {
        let values: Vec<f64> = (0..12).map(|i| ((i * 37 % 12) as f64 - 5.5) / 3.0).collect();
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        let t = studentized_mean_ci(&values, &singleton_units(12), 4000, 0.95, 3);
        assert_eq!(t, studentized_mean_ci(&values, &singleton_units(12), 4000, 0.95, 3));
        let half = (t.upper - t.lower) / 2.0 / (sd / n.sqrt());
        assert!((2.0..2.6).contains(&half), "half-width {half} standard errors");
        let p = bootstrap_mean_ci(&values, 4000, 0.95, 3);
        assert!(t.upper - t.lower > p.upper - p.lower, "{t:?} {p:?}");
    }

    /// Steps of one sequence move together: resampling sequences (units) gives a wider interval
    /// than resampling the steps as if independent.
    #[test]
    fn units_are_resampled_whole() {
        let per_sequence = [0.1, 0.9, 0.4, 0.7, 0.2, 0.8, 0.3, 0.6];
        let values: Vec<f64> = per_sequence.iter().flat_map(|&v| (0..4).map(move |k| v + 0.01 * k as f64)).collect();
        let units: Vec<usize> = (0..values.len()).map(|i| i / 4).collect();
        assert_eq!(unit_members(&units).len(), 8);
        let by_sequence = studentized_mean_ci(&values, &units, 2000, 0.95, 0);
        let by_step = studentized_mean_ci(&values, &singleton_units(values.len()), 2000, 0.95, 0);
        assert!((by_sequence.mean - by_step.mean).abs() < 1e-12);
        let (w_seq, w_step) = (by_sequence.upper - by_sequence.lower, by_step.upper - by_step.lower);
        assert!(w_seq > 1.6 * w_step, "sequence CI {w_seq} vs step CI {w_step}");
    }

    /// A replicate that recomputes the values (here: a shifted reference) widens the interval.
    #[test]
    fn replicate_values_enter_the_interval() {
        let values: Vec<f64> = (0..20).map(|i| 0.5 + 0.01 * ((i * 7) % 5) as f64).collect();
        let fixed = studentized_mean_ci(&values, &singleton_units(20), 500, 0.95, 1);
        let shifted = |b: usize| values.iter().map(|v| v + if b.is_multiple_of(2) { 0.2 } else { -0.2 }).collect();
        let varying = studentized_ci_with(&values, &singleton_units(20), 500, 0.95, 1, Some(&shifted));
        assert_eq!(fixed.mean, varying.mean);
        assert!(varying.upper - varying.lower > 5.0 * (fixed.upper - fixed.lower), "{fixed:?} {varying:?}");
        // Noise independent from item to item (here ±0.2 alternating by item and replicate)
        // widens it too, although it also inflates every replicate's own standard error.
        let jitter = |b: usize| {
            values.iter().enumerate().map(|(i, v)| v + if (i + b).is_multiple_of(2) { 0.2 } else { -0.2 }).collect()
        };
        let noisy = studentized_ci_with(&values, &singleton_units(20), 500, 0.95, 1, Some(&jitter));
        assert!(noisy.upper - noisy.lower > 0.1, "{noisy:?}");
    }
}
