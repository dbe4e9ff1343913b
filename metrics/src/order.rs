//! Order consistency of a world model on a pair of actions (the order-consistency family): does applying
//! a then b end where b then a ends?
//!
//! For a start profile x and the predicted profiles after both orders,
//! ab = M(M(x, a), b) and ba = M(M(x, b), a) (population means), the order inconsistency is
//!
//!   I = ‖ab − ba‖₂ / ( ½ (‖ab − x‖₂ + ‖ba − x‖₂) ),
//!
//! the gap between the two end points relative to the size of the predicted effect. 0 means the
//! model is order-independent (it composes the two actions commutatively); by the triangle
//! inequality I ≤ 2, reached when the two orders predict opposite effects. A model that predicts
//! no effect at all (ab = ba = x) is order-independent: I = 0. Lower is not necessarily better
//! biologically (real sequential biology can depend on order); on simultaneous doubles it
//! measures whether the model composes actions consistently.

use crate::catalog::{self, MetricInfo};

/// The order-consistency task's own metric, beside the profile metrics.
pub const ORDER_METRICS: [&MetricInfo; 1] = [&catalog::ORDER_INCONSISTENCY];

/// I (see the module docs); 0 when the gap is within single-precision rounding (1e-6 of ‖x‖ + ‖ab‖ + ‖ba‖). NaN if the profiles have different lengths or a non-finite value.
pub fn order_inconsistency(start: &[f64], ab: &[f64], ba: &[f64]) -> f64 {
    if start.len() != ab.len() || ab.len() != ba.len() {
        return f64::NAN;
    }
    let norm = |u: &[f64], v: &[f64]| u.iter().zip(v).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt();
    let gap = norm(ab, ba);
    if !gap.is_finite() {
        return f64::NAN;
    }
    // Predictions pass through f32 at every step: a gap within single-precision rounding of the
    // states involved (1e-6 of ‖x‖ + ‖ab‖ + ‖ba‖) is the same end point, not a tiny order effect.
    let zero = vec![0.0; start.len()];
    if gap <= 1e-6 * (norm(start, &zero) + norm(ab, &zero) + norm(ba, &zero)) {
        return 0.0;
    }
    gap / (0.5 * (norm(ab, start) + norm(ba, start)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_hand() {
        let x = [1.0, 1.0];
        // Same end point: 0, whatever the effect size (and for no effect at all).
        assert_eq!(order_inconsistency(&x, &[4.0, 5.0], &[4.0, 5.0]), 0.0);
        assert_eq!(order_inconsistency(&x, &x, &x), 0.0);
        // ab = x + (3, 4), ba = x + (3, 0): gap 4, effects 5 and 3 → 4 / 4 = 1.
        assert!((order_inconsistency(&x, &[4.0, 5.0], &[4.0, 1.0]) - 1.0).abs() < 1e-12);
        // Opposite effects reach the bound 2.
        assert!((order_inconsistency(&x, &[2.0, 1.0], &[0.0, 1.0]) - 2.0).abs() < 1e-12);
        // "Last action wins" with a then b ending at b's effect and b then a at a's: gap = ‖Δa − Δb‖.
        let (da, db) = ([1.0, 0.0], [0.0, 1.0]);
        let ab: Vec<f64> = x.iter().zip(&db).map(|(s, d)| s + d).collect();
        let ba: Vec<f64> = x.iter().zip(&da).map(|(s, d)| s + d).collect();
        assert!((order_inconsistency(&x, &ab, &ba) - 2f64.sqrt()).abs() < 1e-12);
        assert!(order_inconsistency(&x, &[1.0], &[1.0, 2.0]).is_nan());
        // f32 round trips of the same end point are the same end point.
        let ab = [0.1f32 as f64 + 0.2f32 as f64, 3.0];
        let ba = [(0.2f32 + 0.1f32) as f64, 3.0];
        assert_eq!(order_inconsistency(&x, &ab, &ba), 0.0);
    }
}
