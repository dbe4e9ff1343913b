//! GEARS evaluation metrics (`gears/inference.py` of snap-stanford/GEARS: `compute_metrics` and
//! `deeper_analysis` / `non_dropout_analysis`), on one perturbation's mean profiles. The top DE
//! genes are given by the caller as indices (GEARS reads them from
//! `adata.uns["top_non_dropout_de_20"]`, ranked by its own DE test).
//!
//! Deviation: GEARS replaces a NaN Pearson (constant input) by 0; here it stays NaN, as
//! everywhere in this crate (use [`nan_to_zero`] for GEARS-identical aggregates).

use crate::correlation::pearson;
use crate::distance;

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

/// GEARS `mse`: (1/G) Σ (pred − truth)² over all genes (sklearn `mean_squared_error` of the mean
/// profiles). NaN if G = 0.
pub fn mse(pred: &[f64], truth: &[f64]) -> f64 {
    distance::mse(pred, truth)
}

/// GEARS `mse_de`: the same over the genes `de_idx` (top-20 DE). NaN if `de_idx` is empty.
/// (`deeper_analysis`'s `mse_top20_de` subtracts ctrl from both sides first — identical up to
/// rounding.)
pub fn mse_de(pred: &[f64], truth: &[f64], de_idx: &[usize]) -> f64 {
    distance::mse(&gather(pred, de_idx), &gather(truth, de_idx))
}

/// GEARS `pearson`: r(pred, truth) over all genes (not a Δ metric). NaN when constant.
pub fn pearson_all(pred: &[f64], truth: &[f64]) -> f64 {
    pearson(pred, truth)
}

/// GEARS `pearson_delta`: r(pred − ctrl, truth − ctrl) over all genes, ctrl = mean of the real
/// control cells. NaN when either Δ is constant.
pub fn pearson_delta(pred: &[f64], truth: &[f64], ctrl: &[f64]) -> f64 {
    pearson(&delta(pred, ctrl), &delta(truth, ctrl))
}

/// GEARS `pearson_delta_de`: r(pred − ctrl, truth − ctrl) over `de_idx`. NaN for < 2 genes or a
/// constant Δ.
pub fn pearson_delta_de(pred: &[f64], truth: &[f64], ctrl: &[f64], de_idx: &[usize]) -> f64 {
    let (dp, dt) = (delta(pred, ctrl), delta(truth, ctrl));
    pearson(&gather(&dp, de_idx), &gather(&dt, de_idx))
}

/// GEARS `frac_correct_direction_top{k}`: over the first `k` entries of `de_idx` (all of them if
/// k ≥ len), the fraction of genes with sign(pred − ctrl) = sign(truth − ctrl), where sign(0) = 0
/// (numpy `np.sign`; so a gene with no change on both sides counts as correct, and a change
/// predicted where none happened counts as wrong). NaN if no gene is evaluated.
pub fn frac_correct_direction(pred: &[f64], truth: &[f64], ctrl: &[f64], de_idx: &[usize], k: usize) -> f64 {
    let idx = &de_idx[..k.min(de_idx.len())];
    let (dp, dt) = (delta(pred, ctrl), delta(truth, ctrl));
    let (p, t) = (gather(&dp, idx), gather(&dt, idx));
    if p.is_empty() || p.len() != t.len() {
        return f64::NAN;
    }
    let sign = |x: f64| {
        if x > 0.0 {
            1
        } else if x < 0.0 {
            -1
        } else {
            0
        }
    };
    p.iter().zip(&t).filter(|(a, b)| !a.is_nan() && !b.is_nan() && sign(**a) == sign(**b)).count() as f64
        / p.len() as f64
}

/// GEARS' aggregate convention: NaN → 0 (`if np.isnan(val): val = 0`).
pub fn nan_to_zero(v: f64) -> f64 {
    if v.is_nan() { 0.0 } else { v }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_worked() {
        let ctrl = [1.0, 1.0, 1.0, 1.0];
        let truth = [2.0, 0.0, 1.0, 3.0]; // Δ = [1, −1, 0, 2]
        let pred = [1.5, 0.5, 1.2, 2.0]; // Δ = [0.5, −0.5, 0.2, 1]
        assert!((mse(&pred, &truth) - (0.25 + 0.25 + 0.04 + 1.0) / 4.0).abs() < 1e-15);
        assert!((mse_de(&pred, &truth, &[0, 3]) - (0.25 + 1.0) / 2.0).abs() < 1e-15);
        // Δ_pred on {0,1,3} = ½·Δ_truth → r = 1.
        assert!((pearson_delta_de(&pred, &truth, &ctrl, &[0, 1, 3]) - 1.0).abs() < 1e-12);
        assert!(pearson_delta(&pred, &truth, &ctrl) > 0.9);
        // Directions: genes 0,1,3 agree; gene 2: truth 0 vs pred + → wrong.
        assert_eq!(frac_correct_direction(&pred, &truth, &ctrl, &[0, 1, 2, 3], 20), 0.75);
        assert_eq!(frac_correct_direction(&pred, &truth, &ctrl, &[2, 0, 1, 3], 1), 0.0);
        assert_eq!(frac_correct_direction(&ctrl, &ctrl, &ctrl, &[0, 1], 2), 1.0);
    }

    #[test]
    fn degenerate_inputs_are_nan_not_panics() {
        let ctrl = [1.0, 1.0, 1.0];
        let truth = [2.0, 0.0, 1.0];
        // Constant prediction = ctrl → Δ constant → NaN (GEARS would report 0; see nan_to_zero).
        assert!(pearson_delta(&ctrl, &truth, &ctrl).is_nan());
        assert_eq!(nan_to_zero(pearson_delta(&ctrl, &truth, &ctrl)), 0.0);
        assert!(pearson_delta_de(&truth, &truth, &ctrl, &[0]).is_nan());
        assert!(mse_de(&truth, &truth, &[]).is_nan());
        assert!(frac_correct_direction(&truth, &truth, &ctrl, &[], 20).is_nan());
        assert!(mse_de(&truth, &truth, &[99]).is_nan());
        assert!(pearson_all(&[0.0; 3], &truth).is_nan());
    }
}
