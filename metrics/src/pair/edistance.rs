//! cell-eval's `pearson_edistance` (`edistance` in `cell_eval/metrics/_anndata.py`): the energy
//! distance of each perturbation's cells from the control cells, computed for the real and the
//! predicted data, then the Pearson correlation of the two vectors over perturbations.

use ndarray::ArrayView2;

use crate::correlation::pearson;
use crate::distributional::{energy_distance_with_sigma_y, mean_pairwise_distance};

use super::ControlMode;

/// Dense cell matrices (cells × genes) of one real/predicted pair: the cells of each
/// perturbation (same perturbation order on both sides) and both sets of control cells.
#[derive(Debug, Clone)]
pub struct CellPair<'a> {
    pub real_pert: Vec<ArrayView2<'a, f64>>,
    pub pred_pert: Vec<ArrayView2<'a, f64>>,
    pub real_control: ArrayView2<'a, f64>,
    /// The prediction's own control cells; used only by [`ControlMode::OwnControls`].
    pub pred_control: ArrayView2<'a, f64>,
}

/// Per-perturbation energy distances and their correlation.
#[derive(Debug, Clone, PartialEq)]
pub struct EdistanceResult {
    /// E(real cells of p, real control cells).
    pub real: Vec<f64>,
    /// E(predicted cells of p, control cells chosen by the mode).
    pub pred: Vec<f64>,
    /// Pearson r(real, pred) over perturbations (`pearsonr(d_real, d_pred)`).
    pub pearson: f64,
}

/// pearson_edistance = r(d_real, d_pred) with
/// d_real_p = 2·mean‖x−c‖ − mean‖x−x′‖ − σ_c over real cells x of p and real controls c, and
/// d_pred_p the same over predicted cells of p and the controls chosen by `mode`:
/// `OwnControls` (cell-eval) = the prediction's control cells and their σ; `RealControls`
/// (arena) = the real control cells and the real σ_c. σ_c = mean pairwise distance of the control
/// cells, computed once; every mean is a V-statistic over all pairs including i = j (see
/// [`crate::distributional::energy_distance`]). Euclidean distance.
/// Edge cases: fewer than 2 perturbations or constant d (e.g. every predicted perturbation is the
/// same constant cell) → `pearson` NaN (scipy raises / returns NaN); a perturbation with no cells
/// → NaN distance, which makes `pearson` NaN.
pub fn pearson_edistance(cells: &CellPair<'_>, mode: ControlMode) -> EdistanceResult {
    let sigma_real = mean_pairwise_distance(cells.real_control);
    let (pred_control, sigma_pred) = match mode {
        ControlMode::RealControls => (cells.real_control, sigma_real),
        ControlMode::OwnControls => (cells.pred_control, mean_pairwise_distance(cells.pred_control)),
    };
    let n = cells.real_pert.len().min(cells.pred_pert.len());
    let real: Vec<f64> =
        (0..n).map(|p| energy_distance_with_sigma_y(cells.real_pert[p], cells.real_control, sigma_real)).collect();
    let pred: Vec<f64> =
        (0..n).map(|p| energy_distance_with_sigma_y(cells.pred_pert[p], pred_control, sigma_pred)).collect();
    let pearson = if real.iter().chain(&pred).all(|v| v.is_finite()) { pearson(&real, &pred) } else { f64::NAN };
    EdistanceResult { real, pred, pearson }
}
