//! GEARS' Δ correlations (`gears/inference.py` of snap-stanford/GEARS, `compute_metrics` and
//! `non_dropout_analysis`) on one perturbation's mean profiles, which the `systema` profile of
//! `arena score` computes against the perturbed reference: r(pred − ref, truth − ref) over all
//! genes and over given gene indices (top DE genes).
//!
//! Deviation: GEARS replaces a NaN Pearson (constant input) by 0; here it stays NaN, as
//! everywhere in this crate.

use crate::correlation::pearson;

/// Gathers `v[idx]` (indices out of range are skipped).
fn gather(v: &[f64], idx: &[usize]) -> Vec<f64> {
    idx.iter().filter_map(|&g| v.get(g).copied()).collect()
}

fn delta(v: &[f64], ctrl: &[f64]) -> Vec<f64> {
    if v.len() != ctrl.len() {
        return vec![f64::NAN; v.len().max(1)];
    }
    v.iter().zip(ctrl).map(|(a, b)| a - b).collect()
}

/// GEARS `pearson_delta`: r(pred − ctrl, truth − ctrl) over all genes (GEARS: ctrl = mean of the
/// real control cells). NaN when either Δ is constant.
pub fn pearson_delta(pred: &[f64], truth: &[f64], ctrl: &[f64]) -> f64 {
    pearson(&delta(pred, ctrl), &delta(truth, ctrl))
}

/// GEARS `pearson_delta_de`: r(pred − ctrl, truth − ctrl) over `de_idx`. NaN for < 2 genes or a
/// constant Δ.
pub fn pearson_delta_de(pred: &[f64], truth: &[f64], ctrl: &[f64], de_idx: &[usize]) -> f64 {
    let (dp, dt) = (delta(pred, ctrl), delta(truth, ctrl));
    pearson(&gather(&dp, de_idx), &gather(&dt, de_idx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_worked() {
        let ctrl = [1.0, 1.0, 1.0, 1.0];
        let truth = [2.0, 0.0, 1.0, 3.0]; // Δ = [1, −1, 0, 2]
        let pred = [1.5, 0.5, 1.2, 2.0]; // Δ = [0.5, −0.5, 0.2, 1]
        // Δ_pred on {0,1,3} = ½·Δ_truth → r = 1.
        assert!((pearson_delta_de(&pred, &truth, &ctrl, &[0, 1, 3]) - 1.0).abs() < 1e-12);
        assert!(pearson_delta(&pred, &truth, &ctrl) > 0.9);
    }

    #[test]
    fn degenerate_inputs_are_nan_not_panics() {
        let ctrl = [1.0, 1.0, 1.0];
        let truth = [2.0, 0.0, 1.0];
        // Constant prediction = ctrl → Δ constant → NaN (GEARS would report 0).
        assert!(pearson_delta(&ctrl, &truth, &ctrl).is_nan());
        assert!(pearson_delta_de(&truth, &truth, &ctrl, &[0]).is_nan());
        assert!(pearson_delta_de(&truth, &truth, &ctrl, &[99, 0]).is_nan());
    }
}
