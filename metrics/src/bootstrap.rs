//! Bootstrap confidence intervals over perturbations.

use serde::{Deserialize, Serialize};

use crate::rng::{index, seeded};

/// A mean with its percentile bootstrap interval. `n` counts the finite values used; NaN values
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

/// Quantile of sorted data with linear interpolation between closest ranks.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
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
    }

    #[test]
    fn quantile_interpolates() {
        assert_eq!(quantile(&[0.0, 10.0], 0.25), 2.5);
        assert_eq!(quantile(&[1.0, 2.0, 3.0], 0.5), 2.0);
    }
}
