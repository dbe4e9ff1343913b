//! Genetic-interaction (GI) measures of a double perturbation, after Norman et al. 2019
//! (Science 365:786; Perturbseq_GI `GI_model_fits.ipynb`): the double's expression change is
//! regressed on its two singles' changes without intercept,
//!
//! ```text
//!     double ≈ c1 · first + c2 · second        (ordinary least squares over genes)
//! ```
//!
//! and the interaction is read from the coefficients: the **magnitude** `√(c1² + c2²)`
//! (`coef_norm2` in the published table). A purely additive double (c1 = c2 = 1) has magnitude
//! √2 ([`ADDITIVE_MAGNITUDE`]): that is the additive expectation. Norman's convention calls
//! magnitude > 1 synergistic and < 1 suppressive (buffering); measured against the additive
//! expectation, the arena's three classes are
//!
//! - synergy:     magnitude > √2 · (1 + tolerance)
//! - suppression: magnitude < √2 / (1 + tolerance)
//! - additive:    otherwise (within a factor 1 + tolerance of √2; tolerance 0.2 by default,
//!   i.e. the band [1.179, 1.697]).

use crate::bootstrap::Interval;
use crate::catalog::{self, MetricInfo};
use crate::rng::{index, seeded};

/// Magnitude of a purely additive double (c1 = c2 = 1).
pub const ADDITIVE_MAGNITUDE: f64 = std::f64::consts::SQRT_2;

/// Default relative half-width of the additive band (see the module docs).
pub const DEFAULT_ADDITIVE_TOLERANCE: f64 = 0.2;

/// The genetic-interaction family's metrics, in report order.
pub const GI_METRICS: [&MetricInfo; 3] =
    [&catalog::GI_MAGNITUDE_SPEARMAN, &catalog::GI_CLASS_BALANCED_ACCURACY, &catalog::GI_SYNERGY_BALANCED_ACCURACY];

/// Whether `name` is one of [`GI_METRICS`].
pub fn is_gi_metric(name: &str) -> bool {
    GI_METRICS.iter().any(|m| m.name == name)
}

/// The fitted linear interaction model of one double.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairFit {
    pub coef_first: f64,
    pub coef_second: f64,
    /// `√(c1² + c2²)` (Norman's `coef_norm2`).
    pub magnitude: f64,
    /// Pearson correlation of the fitted profile with the double (Norman's `corr_fit`).
    pub corr_fit: f64,
}

/// Least-squares fit of `double ≈ c1·first + c2·second` without intercept. `None` when the
/// lengths differ, fewer than 2 genes are given, or the singles are (numerically) collinear.
pub fn fit_pair(first: &[f64], second: &[f64], double: &[f64]) -> Option<PairFit> {
    let n = double.len();
    if first.len() != n || second.len() != n || n < 2 {
        return None;
    }
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let (aa, bb, ab) = (dot(first, first), dot(second, second), dot(first, second));
    let (ad, bd) = (dot(first, double), dot(second, double));
    let det = aa * bb - ab * ab;
    if !det.is_finite() || det <= 1e-12 * aa * bb || aa == 0.0 || bb == 0.0 {
        return None;
    }
    let c1 = (bb * ad - ab * bd) / det;
    let c2 = (aa * bd - ab * ad) / det;
    let fitted: Vec<f64> = first.iter().zip(second).map(|(a, b)| c1 * a + c2 * b).collect();
    Some(PairFit {
        coef_first: c1,
        coef_second: c2,
        magnitude: magnitude(c1, c2),
        corr_fit: crate::correlation::pearson(&fitted, double),
    })
}

/// `√(c1² + c2²)`.
pub fn magnitude(c1: f64, c2: f64) -> f64 {
    c1.hypot(c2)
}

/// Interaction class of a double by its magnitude (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InteractionClass {
    Suppression,
    Additive,
    Synergy,
}

impl InteractionClass {
    pub fn name(self) -> &'static str {
        match self {
            InteractionClass::Suppression => "suppression",
            InteractionClass::Additive => "additive",
            InteractionClass::Synergy => "synergy",
        }
    }
}

/// Class by magnitude around the additive expectation √2 with relative `tolerance`.
pub fn classify(magnitude: f64, tolerance: f64) -> InteractionClass {
    if magnitude > ADDITIVE_MAGNITUDE * (1.0 + tolerance) {
        InteractionClass::Synergy
    } else if magnitude < ADDITIVE_MAGNITUDE / (1.0 + tolerance) {
        InteractionClass::Suppression
    } else {
        InteractionClass::Additive
    }
}

/// Norman's binary call: synergistic when magnitude > 1 (else suppressive / buffering).
pub fn is_synergy_norman(magnitude: f64) -> bool {
    magnitude > 1.0
}

/// Balanced accuracy: the mean over the true classes present of the fraction of their items
/// predicted correctly (so always predicting the majority class scores 1/#classes, not the
/// majority share). Pairs with a `None` side are skipped; NaN with no pair left.
pub fn balanced_accuracy<T: Ord + Copy>(predicted: &[Option<T>], truth: &[Option<T>]) -> f64 {
    let mut per_class: std::collections::BTreeMap<T, (usize, usize)> = Default::default();
    for (p, t) in predicted.iter().zip(truth) {
        if let (Some(p), Some(t)) = (p, t) {
            let e = per_class.entry(*t).or_default();
            e.0 += usize::from(p == t);
            e.1 += 1;
        }
    }
    if per_class.is_empty() {
        return f64::NAN;
    }
    per_class.values().map(|(hit, n)| *hit as f64 / *n as f64).sum::<f64>() / per_class.len() as f64
}

/// Spearman correlation (Pearson of average ranks); NaN for n < 2, a constant side or NaN input.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    crate::de::compare::spearman(x, y)
}

/// Percentile bootstrap CI of a statistic over `n` paired items: `statistic` receives the
/// indices of a resample (with replacement, ChaCha8 seeded by `seed`); resamples where it is NaN
/// are dropped. `mean` is the statistic on all items; `n` counts the items; with n < 2 or no
/// finite resample the interval collapses to the estimate.
pub fn bootstrap_statistic_ci(
    n: usize,
    n_resamples: usize,
    level: f64,
    seed: u64,
    statistic: impl Fn(&[usize]) -> f64,
) -> Interval {
    let all: Vec<usize> = (0..n).collect();
    let estimate = if n == 0 { f64::NAN } else { statistic(&all) };
    let collapsed = Interval { mean: estimate, lower: estimate, upper: estimate, n, n_undefined: 0 };
    if n < 2 || n_resamples == 0 || !estimate.is_finite() {
        return collapsed;
    }
    let mut rng = seeded(seed);
    let mut values: Vec<f64> = (0..n_resamples)
        .map(|_| {
            let idx: Vec<usize> = (0..n).map(|_| index(&mut rng, n)).collect();
            statistic(&idx)
        })
        .filter(|v| v.is_finite())
        .collect();
    if values.is_empty() {
        return collapsed;
    }
    values.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let pos = p.clamp(0.0, 1.0) * (values.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        values[lo] + (values[hi] - values[lo]) * (pos - lo as f64)
    };
    let alpha = (1.0 - level) / 2.0;
    Interval { mean: estimate, lower: q(alpha), upper: q(1.0 - alpha), n, n_undefined: 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_recovers_known_coefficients() {
        let a = [1.0, 0.0, 2.0, -1.0, 0.5];
        let b = [0.0, 1.0, 1.0, 3.0, -2.0];
        let d: Vec<f64> = a.iter().zip(&b).map(|(x, y)| 0.3 * x + 1.7 * y).collect();
        let f = fit_pair(&a, &b, &d).unwrap();
        assert!((f.coef_first - 0.3).abs() < 1e-12 && (f.coef_second - 1.7).abs() < 1e-12, "{f:?}");
        assert!((f.magnitude - (0.09f64 + 2.89).sqrt()).abs() < 1e-12);
        assert!((f.corr_fit - 1.0).abs() < 1e-12);
        // The additive double has magnitude √2.
        let sum: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
        assert!((fit_pair(&a, &b, &sum).unwrap().magnitude - ADDITIVE_MAGNITUDE).abs() < 1e-12);
    }

    #[test]
    fn least_squares_by_hand() {
        // Orthogonal singles e1, e2 with noise in a third gene: c1 = d1, c2 = d2.
        let f = fit_pair(&[1.0, 0.0, 0.0], &[0.0, 1.0, 0.0], &[2.0, -0.5, 9.0]).unwrap();
        assert_eq!((f.coef_first, f.coef_second), (2.0, -0.5));
        // a = (1,1), b = (1,-1), d = (3,1): c1 = 2, c2 = 1.
        let f = fit_pair(&[1.0, 1.0], &[1.0, -1.0], &[3.0, 1.0]).unwrap();
        assert!((f.coef_first - 2.0).abs() < 1e-12 && (f.coef_second - 1.0).abs() < 1e-12);
    }

    #[test]
    fn degenerate_fits_are_refused() {
        assert!(fit_pair(&[1.0, 2.0], &[2.0, 4.0], &[1.0, 1.0]).is_none(), "collinear");
        assert!(fit_pair(&[0.0, 0.0], &[1.0, 4.0], &[1.0, 1.0]).is_none(), "zero single");
        assert!(fit_pair(&[1.0], &[1.0], &[1.0]).is_none());
        assert!(fit_pair(&[1.0, 2.0], &[1.0, 0.0, 3.0], &[1.0, 1.0]).is_none());
    }

    #[test]
    fn classes_around_the_additive_expectation() {
        let t = DEFAULT_ADDITIVE_TOLERANCE;
        assert_eq!(classify(ADDITIVE_MAGNITUDE, t), InteractionClass::Additive);
        assert_eq!(classify(1.2, t), InteractionClass::Additive);
        assert_eq!(classify(1.17, t), InteractionClass::Suppression);
        assert_eq!(classify(1.70, t), InteractionClass::Synergy);
        assert_eq!(classify(0.5, t).name(), "suppression");
        assert!(is_synergy_norman(1.01) && !is_synergy_norman(0.99));
    }

    #[test]
    fn balanced_accuracy_by_hand() {
        use InteractionClass::*;
        let truth = [Some(Suppression), Some(Suppression), Some(Suppression), Some(Additive)];
        // Always the majority class: recall 1 for suppression, 0 for additive → 0.5 (not 0.75).
        assert_eq!(balanced_accuracy(&[Some(Suppression); 4], &truth), 0.5);
        assert_eq!(balanced_accuracy(&truth, &truth), 1.0);
        // 2 of 3 suppressions right, the additive right: (2/3 + 1)/2; a None pair is skipped.
        let pred = [Some(Suppression), Some(Synergy), Some(Suppression), Some(Additive)];
        assert!((balanced_accuracy(&pred, &truth) - (2.0 / 3.0 + 1.0) / 2.0).abs() < 1e-12);
        let pred = [None, Some(Synergy), Some(Suppression), Some(Additive)];
        assert!((balanced_accuracy(&pred, &truth) - 0.75).abs() < 1e-12);
        assert!(balanced_accuracy::<InteractionClass>(&[None], &[None]).is_nan());
    }

    #[test]
    fn spearman_and_statistic_bootstrap() {
        assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 100.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        let x: Vec<f64> = (0..30).map(|i| i as f64).collect();
        let y: Vec<f64> = (0..30).map(|i| (i as f64) + 8.0 * ((i * 7) % 5) as f64).collect();
        let stat = |idx: &[usize]| {
            let (a, b): (Vec<f64>, Vec<f64>) = idx.iter().map(|&i| (x[i], y[i])).unzip();
            spearman(&a, &b)
        };
        let ci = bootstrap_statistic_ci(30, 200, 0.95, 3, stat);
        assert_eq!(ci, bootstrap_statistic_ci(30, 200, 0.95, 3, stat));
        assert!((ci.mean - spearman(&x, &y)).abs() < 1e-12);
        assert!(ci.lower < ci.mean && ci.mean < ci.upper, "{ci:?}");
        let one = bootstrap_statistic_ci(1, 100, 0.95, 0, |_| 0.5);
        assert_eq!((one.lower, one.upper, one.n), (0.5, 0.5, 1));
        assert!(bootstrap_statistic_ci(0, 100, 0.95, 0, |_| 0.5).mean.is_nan());
    }
}
