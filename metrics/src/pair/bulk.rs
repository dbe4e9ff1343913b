//! cell-eval's per-perturbation bulk metrics (`_generic_evaluation` in
//! `cell_eval/metrics/_anndata.py`): `pearson_delta` (scipy `pearsonr`), `mse`/`mae` (sklearn
//! `mean_squared_error`/`mean_absolute_error` on the means) and `mse_delta`/`mae_delta` (on Δ).
//! Each returns one value per perturbation in input order.

use crate::correlation::pearson;
use crate::distance;

use super::{BulkPair, ControlMode};

/// pearson_delta_i = r(Δ_pred_i, Δ_real_i), Pearson over genes (`pearsonr(x=pred Δ, y=real Δ)`).
/// NaN when either Δ is constant (e.g. a prediction equal to the control, or G < 2), as scipy
/// returns NaN (with a warning) for constant input. Deviation: scipy raises for G < 2; NaN here.
pub fn pearson_delta(pair: &BulkPair<'_>, mode: ControlMode) -> Vec<f64> {
    (0..pair.len()).map(|i| pearson(&pair.pred_effect(i, mode), &pair.real_effect(i))).collect()
}

/// mse_i = (1/G) Σ_g (pred_ig − real_ig)² on the means (no control involved). NaN if G = 0.
pub fn mse(pair: &BulkPair<'_>) -> Vec<f64> {
    (0..pair.len()).map(|i| distance::mse(&pair.pred[i], &pair.real[i])).collect()
}

/// mae_i = (1/G) Σ_g |pred_ig − real_ig| on the means. NaN if G = 0.
pub fn mae(pair: &BulkPair<'_>) -> Vec<f64> {
    (0..pair.len()).map(|i| distance::mae(&pair.pred[i], &pair.real[i])).collect()
}

/// mse_delta_i = (1/G) Σ_g (Δ_pred_ig − Δ_real_ig)². With [`ControlMode::RealControls`] this
/// equals `mse` up to rounding (the common control cancels); with `OwnControls` it differs by the
/// control offset (real_control − pred_control).
pub fn mse_delta(pair: &BulkPair<'_>, mode: ControlMode) -> Vec<f64> {
    (0..pair.len()).map(|i| distance::mse(&pair.pred_effect(i, mode), &pair.real_effect(i))).collect()
}

/// mae_delta_i = (1/G) Σ_g |Δ_pred_ig − Δ_real_ig| (see [`mse_delta`] for the control caveat).
pub fn mae_delta(pair: &BulkPair<'_>, mode: ControlMode) -> Vec<f64> {
    (0..pair.len()).map(|i| distance::mae(&pair.pred_effect(i, mode), &pair.real_effect(i))).collect()
}
