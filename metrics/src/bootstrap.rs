//! Bootstrap confidence intervals over resampling units. A unit is what is drawn with
//! replacement: a test perturbation, or a whole held-out sequence on multi-step tasks (its steps
//! are not independent). Two intervals: the percentile interval ([`bootstrap_mean_ci`], kept for
//! the leaderboard's views) and the studentized (bootstrap-t) interval of a mean over units
//! ([`studentized_mean_ci`], what scorecards report), which covers at small n where the
//! percentile interval does not (measured in `bench/ci_coverage.sh`). A replicate may also
//! recompute every item's value, e.g. with a resampled control mean ([`studentized_ci_with`]).

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

use crate::bounds::Bounds;
use crate::rng::{ChaCha8Rng, index, seeded};

/// A mean with its bootstrap interval. `n` counts the finite values used; NaN values
/// (undefined metric for that perturbation) are excluded and counted in `n_undefined`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    #[serde(deserialize_with = "nan_if_null")]
    pub mean: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub lower: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub upper: f64,
    pub n: usize,
    pub n_undefined: usize,
}

/// serde_json writes a NaN as `null`; an interval reads it back as NaN.
pub fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(<Option<f64> as serde::Deserialize>::deserialize(d)?.unwrap_or(f64::NAN))
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

/// What every interval over resampling units starts from: the units' members, the mean over
/// units and its standard error, the interval collapsed to the mean (with the finite and NaN
/// item counts), and how many units hold a finite value. `Err` is the all-NaN interval.
struct Start {
    members: Vec<Vec<usize>>,
    mean: f64,
    se: f64,
    collapsed: Interval,
    live: usize,
}

fn start(values: &[f64], units: &[usize]) -> Result<Start, Interval> {
    let n = values.iter().filter(|v| v.is_finite()).count();
    let n_undefined = values.len() - n;
    let members = unit_members(&units[..values.len().min(units.len())]);
    let Some((mean, se)) = unit_mean_se(values, &members, 0..members.len()) else {
        return Err(Interval { mean: f64::NAN, lower: f64::NAN, upper: f64::NAN, n, n_undefined });
    };
    let live = members.iter().filter(|m| m.iter().any(|&i| values[i].is_finite())).count();
    let collapsed = Interval { mean, lower: mean, upper: mean, n, n_undefined };
    Ok(Start { members, mean, se, collapsed, live })
}

/// [`studentized_ci_with`] with fixed item values, on an unbounded scale.
pub fn studentized_mean_ci(values: &[f64], units: &[usize], n_resamples: usize, level: f64, seed: u64) -> Interval {
    studentized_ci_with(values, units, n_resamples, level, seed, Bounds::Unbounded, None)
}

/// Recomputes every item's value for replicate b (e.g. against a resampled control mean).
pub type ReplicateValues<'a> = &'a dyn Fn(usize) -> Vec<f64>;

/// The bootstrap replicates of a mean over units: replicate b draws as many units as there are,
/// with replacement (ChaCha8 seeded by `seed`), takes the replicate's values (`values`, or
/// `replicate(b)` when given: the same items, recomputed) and gives the drawn units' (mean*, se*).
fn replicate_stats(
    values: &[f64],
    members: &[Vec<usize>],
    n_resamples: usize,
    seed: u64,
    replicate: Option<ReplicateValues<'_>>,
) -> Vec<(f64, f64)> {
    let mut rng = seeded(seed);
    let mut out = Vec::with_capacity(n_resamples);
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
        if let Some(stats) = unit_mean_se(vals, members, drawn.into_iter()) {
            out.push(stats);
        }
    }
    out
}

/// Mean of the finite `values` with a studentized (bootstrap-t) CI over resampling units, computed
/// on the variance-stabilising scale g of `bounds` ([`Bounds::to_line`]: atanh for correlations,
/// logit for fractions, log for errors) and mapped back, so the interval lies inside the metric's
/// range. Replicate b ([`replicate_stats`]) gives t*_b = (g(mean*_b) − g(mean)) / (g′(mean*_b) se*_b);
/// the CI is g⁻¹[g(mean) − t*_(1+level)/2 · se_g, g(mean) − t*_(1−level)/2 · se_g] with
/// se_g = g′(mean) se, the observed standard error on that scale, or with recomputed values the
/// larger of it and the root mean square of the replicates' (item-to-item noise of the
/// recomputation is in se*_b but not in the observed se). A replicate with se* = 0 counts as
/// t* = 0 when its mean equals the observed one and ±∞ otherwise; an infinite bound falls back
/// to the range of the values. NaN values are excluded and counted in `n_undefined`; with no
/// finite value everything is NaN; with fewer than two units holding a finite value, or a mean
/// at an end of the range, the interval collapses to the mean.
pub fn studentized_ci_with(
    values: &[f64],
    units: &[usize],
    n_resamples: usize,
    level: f64,
    seed: u64,
    bounds: Bounds,
    replicate: Option<ReplicateValues<'_>>,
) -> Interval {
    let Start { members, mean, se, collapsed, live } = match start(values, units) {
        Ok(start) => start,
        Err(undefined) => return undefined,
    };
    let z = bounds.to_line(mean);
    if live < 2 || n_resamples == 0 || se == 0.0 || !z.is_finite() {
        return collapsed;
    }
    let stats = replicate_stats(values, &members, n_resamples, seed, replicate);
    let mut ts: Vec<f64> = Vec::with_capacity(stats.len());
    let mut se2_sum = 0.0;
    for &(m, s) in &stats {
        let (zm, sz) = (bounds.to_line(m), bounds.slope(m) * s);
        if s > 0.0 && zm.is_finite() && sz.is_finite() && sz > 0.0 {
            se2_sum += sz * sz;
            ts.push((zm - z) / sz);
        } else {
            ts.push(if m == mean { 0.0 } else { (m - mean).signum() * f64::INFINITY });
        }
    }
    if ts.is_empty() {
        return collapsed;
    }
    // With recomputed values, noise that differs from item to item (not only a shift shared by
    // all) is in every se*: the interval scales by the standard error the replicates see.
    let se_z = bounds.slope(mean) * se;
    let se_z = if replicate.is_some() { (se2_sum / ts.len() as f64).sqrt().max(se_z) } else { se_z };
    ts.sort_by(f64::total_cmp);
    let alpha = (1.0 - level) / 2.0;
    let (t_lo, t_hi) = (quantile(&ts, alpha), quantile(&ts, 1.0 - alpha));
    let (z_lower, z_upper) = (z - t_hi * se_z, z - t_lo * se_z);
    if !(z_lower.is_finite() && z_upper.is_finite()) {
        // Too few distinct units for a t statistic (a replicate with no spread): the range of
        // the values, never an infinite bound.
        let finite = values.iter().copied().filter(|v| v.is_finite());
        let (lo, hi) = finite.fold((mean, mean), |(a, b), v| (a.min(v), b.max(v)));
        return Interval { lower: lo, upper: hi, ..collapsed };
    }
    let (lo, hi) = bounds.range();
    let back = |z: f64| bounds.from_line(z).clamp(lo, hi);
    Interval { lower: back(z_lower), upper: back(z_upper), ..collapsed }
}

/// Mean of the finite `values` with the percentile interval of the replicate means
/// ([`replicate_stats`]: units drawn with replacement, values recomputed when `replicate` is
/// given); inside the values' range whatever it is. The comparison interval of
/// `bench/ci_coverage.sh`.
pub fn percentile_ci_with(
    values: &[f64],
    units: &[usize],
    n_resamples: usize,
    level: f64,
    seed: u64,
    replicate: Option<ReplicateValues<'_>>,
) -> Interval {
    let Start { members, collapsed, .. } = match start(values, units) {
        Ok(start) => start,
        Err(undefined) => return undefined,
    };
    let mut means: Vec<f64> =
        replicate_stats(values, &members, n_resamples, seed, replicate).into_iter().map(|(m, _)| m).collect();
    if means.is_empty() {
        return collapsed;
    }
    means.sort_by(f64::total_cmp);
    let alpha = (1.0 - level) / 2.0;
    Interval { lower: quantile(&means, alpha), upper: quantile(&means, 1.0 - alpha), ..collapsed }
}

/// The interval scorecards report for a mean over resampling units: [`t_interval_with`] (Student t
/// on the metric's variance-stabilising scale, the standard error over units widened by the
/// recomputed replicates where given). Chosen by the coverage measured in `bench/ci_coverage.sh`
/// (bench/results/ci_coverage.md) against bootstrap-t on either scale, BCa and percentile.
pub fn scorecard_ci(
    values: &[f64],
    units: &[usize],
    n_resamples: usize,
    level: f64,
    seed: u64,
    bounds: Bounds,
    replicate: Option<ReplicateValues<'_>>,
) -> Interval {
    t_interval_with(values, units, n_resamples, level, seed, bounds, replicate)
}

/// Mean of the finite `values` with a Student-t interval on the variance-stabilising scale g of
/// `bounds`: g⁻¹[g(mean) ± t_(C−1, (1+level)/2) · se_g], C the units holding a finite value, se_g
/// = g′(mean) se the delta-method standard error over units, or with recomputed values
/// (`replicate`, e.g. a redrawn μ_ctrl) the larger of it and the root mean square of the
/// replicates' se*_g ([`replicate_stats`]: the recomputation's item-to-item noise), and the
/// centre then moved by the bootstrap's bias estimate, g(mean) − (mean of g(mean*_b) − g(mean))
/// (a reference shared by prediction and truth, such as μ_ctrl, inflates a correlation; its
/// redraws inflate the replicates by as much again). Inside the metric's range by construction; no bootstrap quantile, so no blow-up when a replicate's units
/// happen to agree. For fractions ([`Bounds::Fraction`]) the union with the [`wilson`] interval
/// over the units. Collapses to the mean with fewer than two units, and (but for fractions) with
/// se = 0 or a mean at an end of the range.
pub fn t_interval_with(
    values: &[f64],
    units: &[usize],
    n_resamples: usize,
    level: f64,
    seed: u64,
    bounds: Bounds,
    replicate: Option<ReplicateValues<'_>>,
) -> Interval {
    let Start { members, mean, se, collapsed, live } = match start(values, units) {
        Ok(start) => start,
        Err(undefined) => return undefined,
    };
    let z = bounds.to_line(mean);
    if live >= 2 && bounds == Bounds::Fraction && (se == 0.0 || !z.is_finite()) {
        // Every unit at the same value, or at an end of [0, 1]: the Wilson interval alone.
        let (lower, upper) = wilson(mean, live, level);
        return Interval { lower, upper, ..collapsed };
    }
    if live < 2 || se == 0.0 || !z.is_finite() {
        return collapsed;
    }
    let (mut se_z, mut centre) = (bounds.slope(mean) * se, z);
    if replicate.is_some() && n_resamples > 0 {
        let stats = replicate_stats(values, &members, n_resamples, seed, replicate);
        let on_line: Vec<(f64, f64)> = stats
            .iter()
            .map(|&(m, s)| (bounds.to_line(m), bounds.slope(m) * s))
            .filter(|(zm, sz)| zm.is_finite() && sz.is_finite())
            .collect();
        if !on_line.is_empty() {
            let k = on_line.len() as f64;
            se_z = se_z.max((on_line.iter().map(|(_, v)| v * v).sum::<f64>() / k).sqrt());
            // The bootstrap's bias estimate: a redrawn reference moves every replicate the way
            // the observed reference's own noise moved the observed mean.
            centre = z - (on_line.iter().map(|(zm, _)| zm).sum::<f64>() / k - z);
        }
    }
    let half = student_t_quantile((1.0 + level) / 2.0, (live - 1) as f64) * se_z;
    let (lo, hi) = bounds.range();
    let back = |z: f64| bounds.from_line(z).clamp(lo, hi);
    let (lower, upper) = (back(centre - half), back(centre + half));
    if bounds == Bounds::Fraction {
        let (w_lower, w_upper) = wilson(mean, live, level);
        return Interval { lower: lower.min(w_lower), upper: upper.max(w_upper), ..collapsed };
    }
    Interval { lower, upper, ..collapsed }
}

/// The Wilson score interval of a mean `p` of `n` values in [0, 1], each counted as one trial:
/// a value in [0, 1] with mean p has variance at most p(1 − p) (v² ≤ v), so this is the widest
/// the interval of such a mean needs to be. A fraction's interval ([`t_interval_with`]) is the
/// union of it and the t interval: a mean near 0 or 1 of a few units, most of them at the end of
/// the range, shows almost no spread although the rare units away from it move the mean a lot.
/// The price: where units agree closely away from the ends, the union is wider than needed.
pub fn wilson(p: f64, n: usize, level: f64) -> (f64, f64) {
    let (n, z) = (n as f64, normal_quantile((1.0 + level) / 2.0));
    let p = p.clamp(0.0, 1.0);
    let denominator = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denominator;
    let half = z / denominator * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// The interval of a metric taken against a reference shared by prediction and truth and
/// estimated from cells (`pearson_delta` against μ_ctrl; [`crate::reference_noise`]). `values`
/// are the metric as scored (the interval's `mean`, `n`, `n_undefined`); `corrected` are the same
/// items' values with the reference's noise removed, the estimate of what they would be against
/// the population reference, on which the interval is centred; `redraw_means` holds, per redraw
/// of the reference's cells, the mean of the corrected values over the same items. A Student t
/// interval on the variance-stabilising scale g of `bounds`:
/// g⁻¹[g(c̄) ± t_(C−1, (1+level)/2) · √((g′(c̄) se_c)² + var_k g(r̄_k))], c̄ and se_c the mean and
/// standard error over units of the corrected values, var_k the variance over the redraws (the
/// reference's noise moves every item at once, so it does not shrink with the number of units).
/// The interval need not contain `mean`: the scored value carries the shared noise's inflation.
/// Collapses to the corrected mean with fewer than two units or no spread at all.
pub fn t_interval_shared_reference(
    values: &[f64],
    corrected: &[f64],
    units: &[usize],
    level: f64,
    bounds: Bounds,
    redraw_means: &[f64],
) -> Interval {
    let reported = match start(values, units) {
        Ok(start) => start.collapsed,
        Err(undefined) => return undefined,
    };
    let Ok(Start { mean, se, live, .. }) = start(corrected, units) else {
        return reported;
    };
    let (lo, hi) = bounds.range();
    // A corrected mean at an end of the range is moved just inside it, where g is finite.
    let inside = if bounds == Bounds::Unbounded { mean } else { mean.clamp(lo + 1e-9, hi - 1e-9) };
    let z = bounds.to_line(inside);
    let on_line: Vec<f64> = redraw_means.iter().map(|&m| bounds.to_line(m)).filter(|z| z.is_finite()).collect();
    let var_redraws = match on_line.len() {
        0 | 1 => 0.0,
        k => {
            let m = on_line.iter().sum::<f64>() / k as f64;
            on_line.iter().map(|z| (z - m).powi(2)).sum::<f64>() / (k - 1) as f64
        }
    };
    let se_z = ((bounds.slope(inside) * se).powi(2) + var_redraws).sqrt();
    if live < 2 || !z.is_finite() || !se_z.is_finite() {
        return Interval { lower: mean, upper: mean, ..reported };
    }
    let half = student_t_quantile((1.0 + level) / 2.0, (live - 1) as f64) * se_z;
    let back = |z: f64| bounds.from_line(z).clamp(lo, hi);
    Interval { lower: back(z - half), upper: back(z + half), ..reported }
}

/// The p-quantile of Student's t with `df` degrees of freedom (statrs; NaN for df ≤ 0).
pub fn student_t_quantile(p: f64, df: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |t| t.inverse_cdf(p))
}

/// Mean of the finite `values` with the BCa interval (bias-corrected and accelerated percentile,
/// Efron 1987) of the replicate means ([`replicate_stats`]): the bias correction z0 = Φ⁻¹(share
/// of replicate means below the mean), the acceleration from the jackknife over units (each unit
/// left out in turn), and the percentile levels Φ(z0 + (z0 + z)/(1 − a(z0 + z))) for
/// z = Φ⁻¹((1 ∓ level)/2). A quantile of replicate means lies inside the range of the values.
pub fn bca_ci_with(
    values: &[f64],
    units: &[usize],
    n_resamples: usize,
    level: f64,
    seed: u64,
    replicate: Option<ReplicateValues<'_>>,
) -> Interval {
    let Start { members, mean, collapsed, .. } = match start(values, units) {
        Ok(start) => start,
        Err(undefined) => return undefined,
    };
    let mut means: Vec<f64> =
        replicate_stats(values, &members, n_resamples, seed, replicate).into_iter().map(|(m, _)| m).collect();
    if means.is_empty() {
        return collapsed;
    }
    means.sort_by(f64::total_cmp);
    let below =
        means.iter().filter(|&&m| m < mean).count() as f64 + 0.5 * means.iter().filter(|&&m| m == mean).count() as f64;
    let share = (below / means.len() as f64).clamp(0.5 / means.len() as f64, 1.0 - 0.5 / means.len() as f64);
    let z0 = normal_quantile(share);
    let jack: Vec<f64> = (0..members.len())
        .filter_map(|left| unit_mean_se(values, &members, (0..members.len()).filter(|&u| u != left)).map(|(m, _)| m))
        .collect();
    let jm = jack.iter().sum::<f64>() / jack.len().max(1) as f64;
    let (num, den) = jack.iter().fold((0.0, 0.0), |(a, b), &j| (a + (jm - j).powi(3), b + (jm - j).powi(2)));
    let accel = if den > 0.0 { num / (6.0 * den.powf(1.5)) } else { 0.0 };
    let level_at = |z: f64| normal_cdf(z0 + (z0 + z) / (1.0 - accel * (z0 + z)));
    let alpha = (1.0 - level) / 2.0;
    let (qa, qb) = (level_at(normal_quantile(alpha)), level_at(normal_quantile(1.0 - alpha)));
    Interval { lower: quantile(&means, qa), upper: quantile(&means, qb), ..collapsed }
}

/// Φ, the standard normal distribution function (statrs).
pub fn normal_cdf(z: f64) -> f64 {
    Normal::standard().cdf(z)
}

/// Φ⁻¹ (statrs), for p in (0, 1).
pub fn normal_quantile(p: f64) -> f64 {
    Normal::standard().inverse_cdf(p)
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
    fn an_undefined_interval_survives_json() {
        let undefined = bootstrap_mean_ci(&[f64::NAN], 100, 0.95, 0);
        let json = serde_json::to_string(&undefined).unwrap();
        assert!(json.contains("\"mean\":null"), "{json}");
        let back: Interval = serde_json::from_str(&json).unwrap();
        assert!(back.mean.is_nan() && back.lower.is_nan() && back.upper.is_nan());
        assert_eq!(back.n_undefined, 1);
    }

    #[test]
    fn normal_quantile_inverts_the_cdf() {
        for p in [0.001, 0.025, 0.3, 0.5, 0.9, 0.975, 0.999] {
            assert!((normal_cdf(normal_quantile(p)) - p).abs() < 1e-6, "{p}");
        }
        assert!((normal_quantile(0.975) - 1.959_964).abs() < 1e-5);
        // Student's t, R's qt(0.975, df), the smallest df included.
        for (df, t) in [(1.0, 12.706_204_736), (2.0, 4.302_652_730), (4.0, 2.776_445_105), (11.0, 2.200_985_160)] {
            assert!((student_t_quantile(0.975, df) - t).abs() < 1e-6, "{df}");
        }
        assert!(student_t_quantile(0.975, 0.0).is_nan());
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
        let varying =
            studentized_ci_with(&values, &singleton_units(20), 500, 0.95, 1, Bounds::Unbounded, Some(&shifted));
        assert_eq!(fixed.mean, varying.mean);
        assert!(varying.upper - varying.lower > 5.0 * (fixed.upper - fixed.lower), "{fixed:?} {varying:?}");
        // Noise independent from item to item (here ±0.2 alternating by item and replicate)
        // widens it too, although it also inflates every replicate's own standard error.
        let jitter = |b: usize| {
            values.iter().enumerate().map(|(i, v)| v + if (i + b).is_multiple_of(2) { 0.2 } else { -0.2 }).collect()
        };
        let noisy = studentized_ci_with(&values, &singleton_units(20), 500, 0.95, 1, Bounds::Unbounded, Some(&jitter));
        assert!(noisy.upper - noisy.lower > 0.1, "{noisy:?}");
    }

    /// The shared-reference interval is centred on the corrected values (not on the scored mean),
    /// reports the scored mean, and keeps the redraws' spread however many units there are.
    #[test]
    fn shared_reference_interval_centres_on_corrected_values() {
        let scored: Vec<f64> = (0..40).map(|i| 0.3 + 0.01 * ((i * 7) % 5) as f64).collect();
        let corrected: Vec<f64> = scored.iter().map(|v| v - 0.25).collect();
        let units = singleton_units(40);
        let still = [0.07; 50];
        let ci = t_interval_shared_reference(&scored, &corrected, &units, 0.95, Bounds::Correlation, &still);
        assert!((ci.mean - 0.32).abs() < 1e-12, "{ci:?}");
        assert!(ci.lower < 0.07 && 0.07 < ci.upper && ci.upper < 0.1, "{ci:?}");
        let moving: Vec<f64> = (0..50).map(|k| 0.07 + if k % 2 == 0 { 0.05 } else { -0.05 }).collect();
        let wide = t_interval_shared_reference(&scored, &corrected, &units, 0.95, Bounds::Correlation, &moving);
        // ± t · 0.05 on Fisher's z at least, whatever the number of units.
        assert!(wide.upper - wide.lower > 0.18, "{wide:?}");
        let few =
            t_interval_shared_reference(&scored[..1], &corrected[..1], &units[..1], 0.95, Bounds::Correlation, &moving);
        assert_eq!((few.mean, few.lower, few.upper), (scored[0], corrected[0], corrected[0]));
    }

    /// A fraction's interval is at least the Wilson interval: twelve units all at 1 give no spread
    /// but not a point (Wilson's lower end 12/(12 + z²) ≈ 0.757); a spread-out sample keeps its t interval.
    #[test]
    fn fraction_interval_is_at_least_wilson() {
        let (lower, upper) = wilson(1.0, 12, 0.95);
        assert!((lower - 12.0 / (12.0 + 1.959_964f64.powi(2))).abs() < 1e-6 && upper == 1.0, "{lower} {upper}");
        let ones = t_interval_with(&[1.0; 12], &singleton_units(12), 100, 0.95, 0, Bounds::Fraction, None);
        assert_eq!((ones.mean, ones.lower, ones.upper), (1.0, lower, 1.0));
        let skewed = [1.0, 1.0, 1.0, 0.99, 1.0, 1.0, 0.98, 1.0, 1.0, 1.0, 1.0, 0.99];
        let ci = t_interval_with(&skewed, &singleton_units(12), 100, 0.95, 0, Bounds::Fraction, None);
        let (w_lower, _) = wilson(ci.mean, 12, 0.95);
        assert!(ci.lower <= w_lower && ci.upper <= 1.0, "{ci:?}");
        // Units at both ends: the variance is p(1 − p) already, and the t interval (t quantile
        // 2.20 against z = 1.96) is the wider.
        let spread: Vec<f64> = (0..12).map(|i| if i == 0 { 0.5 } else { (i % 2) as f64 }).collect();
        let t = t_interval_with(&spread, &singleton_units(12), 100, 0.95, 0, Bounds::Fraction, None);
        let w = wilson(t.mean, 12, 0.95);
        assert!(t.lower < w.0 && t.upper > w.1, "the t interval of a spread-out sample is wider: {t:?} {w:?}");
    }

    /// A small skewed sample of correlations (most near 1, one far below): the studentized
    /// interval on the raw scale leaves [−1, 1]; on Fisher's z scale it stays inside and still
    /// contains the mean.
    #[test]
    fn correlation_interval_stays_in_range() {
        let values = [0.97, 0.95, -0.9, 0.98, 0.96, 0.99, 0.94];
        let units = singleton_units(values.len());
        let raw = studentized_mean_ci(&values, &units, 2000, 0.95, 4);
        assert!(raw.lower < -1.0 || raw.upper > 1.0, "the raw-scale interval was expected to leave the range: {raw:?}");
        for seed in 0..20 {
            let ci = studentized_ci_with(&values, &units, 2000, 0.95, seed, Bounds::Correlation, None);
            assert!(-1.0 <= ci.lower && ci.lower <= ci.mean && ci.mean <= ci.upper && ci.upper <= 1.0, "{ci:?}");
            assert!(ci.upper - ci.lower > 0.05, "{ci:?}");
        }
        let errors = [0.01, 0.02, 0.015, 0.9, 0.012];
        let ci = studentized_ci_with(&errors, &singleton_units(5), 2000, 0.95, 1, Bounds::NonNegative, None);
        assert!(0.0 <= ci.lower && ci.lower <= ci.mean && ci.mean <= ci.upper, "{ci:?}");
        let p = percentile_ci_with(&values, &units, 2000, 0.95, 1, None);
        assert!(-1.0 <= p.lower && p.upper <= 1.0, "{p:?}");
    }
}
