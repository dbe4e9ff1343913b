//! The way from the best baseline (0) to the noise ceiling (1): (value − best) / (ceiling − best).
//! One formula for higher- and lower-is-better metrics (for ↓ both differences are negative); the
//! direction only decides whether the ceiling is better than the best baseline. Used by the
//! scorecard (`arena eval`) and by the leaderboard's per-view boards.

use crate::catalog::Better;

/// The smallest ceiling − best-baseline gap that defines a fraction (smaller gaps are ties, as in
/// the audit's flag rules).
pub const MIN_GAP: f64 = 1e-8;

/// The fraction of the way from `best` to `ceiling` that `value` has come (1 = at the ceiling,
/// 0 = no better than the best baseline, < 0 = worse, > 1 = beyond the ceiling).
pub fn fraction(value: f64, best: f64, ceiling: f64, direction: Better) -> Option<f64> {
    let gap = ceiling - best;
    let headroom = direction.orient(gap);
    // + 0.0 turns the −0.0 of a ↓ metric's best baseline into 0.0.
    (value.is_finite() && best.is_finite() && ceiling.is_finite() && headroom > MIN_GAP)
        .then(|| (value - best) / gap + 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-12)
    }

    #[test]
    fn higher_is_better() {
        assert!(close(fraction(0.5, 0.2, 0.8, Better::Higher), 0.5));
        assert!(close(fraction(0.2, 0.2, 0.8, Better::Higher), 0.0));
        assert!(close(fraction(0.8, 0.2, 0.8, Better::Higher), 1.0));
        assert!(close(fraction(0.1, 0.2, 0.8, Better::Higher), -1.0 / 6.0));
        assert!(close(fraction(1.1, 0.2, 0.8, Better::Higher), 1.5));
    }

    #[test]
    fn lower_is_better() {
        // MAE: best baseline 0.10, ceiling 0.06; a model at 0.07 has come three quarters of the way.
        assert!(close(fraction(0.07, 0.10, 0.06, Better::Lower), 0.75));
        assert!(close(fraction(0.10, 0.10, 0.06, Better::Lower), 0.0));
        assert!(fraction(0.10, 0.10, 0.06, Better::Lower).unwrap().is_sign_positive(), "-0.0 prints as -0.00");
        assert!(close(fraction(0.06, 0.10, 0.06, Better::Lower), 1.0));
        // Worse than the best baseline is negative, as for ↑ metrics.
        assert!(close(fraction(0.12, 0.10, 0.06, Better::Lower), -0.5));
    }

    #[test]
    fn undefined_without_headroom_or_values() {
        // Ceiling no better than the best baseline, in either direction.
        assert_eq!(fraction(0.5, 0.6, 0.4, Better::Higher), None);
        assert_eq!(fraction(0.5, 0.6, 0.6, Better::Higher), None);
        assert_eq!(fraction(0.5, 0.6, 0.6 + 1e-9, Better::Higher), None);
        assert_eq!(fraction(0.05, 0.04, 0.06, Better::Lower), None);
        assert_eq!(fraction(f64::NAN, 0.2, 0.8, Better::Higher), None);
        assert_eq!(fraction(0.5, f64::NAN, 0.8, Better::Higher), None);
        assert_eq!(fraction(0.5, 0.2, f64::NAN, Better::Higher), None);
    }
}
