//! Baseline-scaled score of cell-eval (`cell_eval/_score.py::score_agg_metrics`, the Virtual
//! Cell Challenge score): each metric's aggregate (the mean over perturbations) is scaled against
//! a baseline model's aggregate, then averaged.
//!
//! cell-eval exactly: lower-better (best value 0): s = 1 − u/b; higher-better (best value 1):
//! s = (u − b)/(1 − b); then NaN → 0 and s = max(s, 0) (`np.clip(s, 0, None)`: only the LOWER
//! bound is clipped, there is no upper clip at 1 — values above 1 arise only for impossible
//! inputs such as u < 0 for an error or u > 1 for a correlation); `avg_score` is the plain mean
//! of the clipped values over all scaled metrics. The arena reports the unclipped values too,
//! because the floor hides how much worse than the baseline a model is.

/// Which end of a metric is best (cell-eval `MetricBestValue`; metrics with `NONE` are not
/// scaled and should not be passed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BestValue {
    /// Lower is better, best = 0 (mse, mae, …): s = 1 − u/b.
    Zero,
    /// Higher is better, best = 1 (pearson_delta, discrimination_score, overlap_at_N, …):
    /// s = (u − b)/(1 − b).
    One,
}

/// The unclipped scaled value, IEEE arithmetic as numpy: b = 0 (Zero) gives ±inf or NaN (0/0);
/// b = 1 (One) likewise. 1 = perfect, 0 = as good as the baseline, < 0 = worse than baseline.
pub fn scale(user: f64, base: f64, best: BestValue) -> f64 {
    match best {
        BestValue::Zero => 1.0 - user / base,
        BestValue::One => (user - base) / (1.0 - base),
    }
}

/// cell-eval's clipping of one scaled value: NaN → 0, then max(·, 0) (+inf stays +inf, as
/// `np.clip(…, 0, None)`).
pub fn clip(scaled: f64) -> f64 {
    if scaled.is_nan() { 0.0 } else { scaled.max(0.0) }
}

/// One scaled metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScaledValue {
    pub unclipped: f64,
    pub clipped: f64,
}

/// The scaled metrics (input order) and their averages.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaledScore {
    pub values: Vec<ScaledValue>,
    /// cell-eval `avg_score`: mean of the clipped values (NaN for no metrics, as numpy's mean of
    /// an empty array).
    pub avg_clipped: f64,
    /// Mean of the unclipped values; NaN propagates (an undefined metric is not hidden).
    pub avg_unclipped: f64,
}

/// Scales every (user aggregate, baseline aggregate, best value) triple and averages.
pub fn scaled_score(metrics: &[(f64, f64, BestValue)]) -> ScaledScore {
    let values: Vec<ScaledValue> = metrics
        .iter()
        .map(|&(u, b, best)| {
            let unclipped = scale(u, b, best);
            ScaledValue { unclipped, clipped: clip(unclipped) }
        })
        .collect();
    let n = values.len() as f64;
    let avg =
        |f: fn(&ScaledValue) -> f64| if values.is_empty() { f64::NAN } else { values.iter().map(f).sum::<f64>() / n };
    ScaledScore { avg_clipped: avg(|v| v.clipped), avg_unclipped: avg(|v| v.unclipped), values }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_cell_eval_score_agg_metrics() {
        // Fixture: cell_eval._score.score_agg_metrics on one-row "mean" frames, user
        // {mse .05, mae .3, pearson_delta .2, discrimination_score_l1 .7, overlap_at_N NaN} vs
        // base {.04, .4, .1, .5, .3} → from_baseline [0, .25, .111111, .4, 0], avg .152222.
        let s = scaled_score(&[
            (0.05, 0.04, BestValue::Zero),
            (0.3, 0.4, BestValue::Zero),
            (0.2, 0.1, BestValue::One),
            (0.7, 0.5, BestValue::One),
            (f64::NAN, 0.3, BestValue::One),
        ]);
        let clipped: Vec<f64> = s.values.iter().map(|v| v.clipped).collect();
        let want = [0.0, 0.25, 0.1 / 0.9, 0.4, 0.0];
        for (g, w) in clipped.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{clipped:?}");
        }
        assert!((s.avg_clipped - (0.25 + 0.1 / 0.9 + 0.4) / 5.0).abs() < 1e-12);
        assert!((s.values[0].unclipped - (-0.25)).abs() < 1e-12);
        assert!(s.avg_unclipped.is_nan());
    }

    #[test]
    fn degenerate_baselines() {
        assert_eq!(clip(scale(0.1, 0.0, BestValue::Zero)), 0.0); // −inf → 0
        assert_eq!(clip(scale(0.0, 0.0, BestValue::Zero)), 0.0); // NaN → 0
        assert_eq!(scale(0.0, 0.5, BestValue::Zero), 1.0);
        assert_eq!(scale(1.0, 0.5, BestValue::One), 1.0);
        assert_eq!(clip(scale(0.9, 1.0, BestValue::One)), 0.0); // −inf → 0
        assert!(scaled_score(&[]).avg_clipped.is_nan());
    }
}
