//! The range a metric's per-item values (and so their mean) live in, and the variance-stabilising
//! map of a mean in that range that the studentized interval is computed on
//! ([`crate::bootstrap::studentized_ci_with`]): Fisher's z (atanh) for correlations in [−1, 1],
//! the logit for fractions in [0, 1], the log for non-negative errors, the identity otherwise.
//! An interval computed on the mapped scale and mapped back lies inside the range by construction.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bounds {
    /// [−1, 1]: Pearson / Spearman correlations; mapped by atanh.
    Correlation,
    /// [0, 1]: rates and accuracies; mapped by the logit.
    Fraction,
    /// [0, ∞): absolute and squared errors; mapped by the log.
    NonNegative,
    /// The whole real line; no map.
    Unbounded,
}

impl Bounds {
    /// The closed range (infinite ends for open sides).
    pub fn range(self) -> (f64, f64) {
        match self {
            Bounds::Correlation => (-1.0, 1.0),
            Bounds::Fraction => (0.0, 1.0),
            Bounds::NonNegative => (0.0, f64::INFINITY),
            Bounds::Unbounded => (f64::NEG_INFINITY, f64::INFINITY),
        }
    }

    /// The map g onto the real line (±∞ at a closed end).
    pub fn to_line(self, x: f64) -> f64 {
        match self {
            Bounds::Correlation => x.clamp(-1.0, 1.0).atanh(),
            Bounds::Fraction => {
                let p = x.clamp(0.0, 1.0);
                (p / (1.0 - p)).ln()
            }
            Bounds::NonNegative => x.max(0.0).ln(),
            Bounds::Unbounded => x,
        }
    }

    /// The inverse of [`Bounds::to_line`] (±∞ map to the ends of the range).
    pub fn from_line(self, z: f64) -> f64 {
        match self {
            Bounds::Correlation => z.tanh(),
            Bounds::Fraction => 1.0 / (1.0 + (-z).exp()),
            Bounds::NonNegative => z.exp(),
            Bounds::Unbounded => z,
        }
    }

    /// g′(x), the delta method's factor from a standard error of x to one of g(x).
    pub fn slope(self, x: f64) -> f64 {
        match self {
            Bounds::Correlation => 1.0 / (1.0 - x * x),
            Bounds::Fraction => 1.0 / (x * (1.0 - x)),
            Bounds::NonNegative => 1.0 / x,
            Bounds::Unbounded => 1.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_invert_and_slopes_are_derivatives() {
        for (b, x) in
            [(Bounds::Correlation, 0.7), (Bounds::Fraction, 0.2), (Bounds::NonNegative, 3.0), (Bounds::Unbounded, -2.0)]
        {
            assert!((b.from_line(b.to_line(x)) - x).abs() < 1e-12, "{b:?}");
            let h = 1e-6;
            let numeric = (b.to_line(x + h) - b.to_line(x - h)) / (2.0 * h);
            assert!((numeric - b.slope(x)).abs() < 1e-5 * b.slope(x).abs(), "{b:?}");
        }
        assert_eq!(Bounds::Correlation.from_line(f64::INFINITY), 1.0);
        assert_eq!(Bounds::NonNegative.from_line(f64::NEG_INFINITY), 0.0);
    }

    #[test]
    fn metric_names_find_their_bounds() {
        assert_eq!(Bounds::of_metric("pearson_delta_pert"), Bounds::Correlation);
        assert_eq!(Bounds::of_metric("protein_pearson_delta"), Bounds::Correlation);
        assert_eq!(Bounds::of_metric("centroid_accuracy"), Bounds::Fraction);
        assert_eq!(Bounds::of_metric("mse_with_target"), Bounds::NonNegative);
        assert_eq!(Bounds::of_metric("coherence"), Bounds::Unbounded);
    }
}
