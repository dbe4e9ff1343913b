//! cell-eval "anndata pair" metrics (`cell_eval/metrics/_anndata.py` over
//! `cell_eval/_types/_anndata.py::PerturbationAnndataPair`), computed from pseudobulk profiles
//! (bulk metrics) or dense cell matrices (`pearson_edistance`). This module owns the input types
//! and the control-mode choice; the metrics live in `bulk`, `discrimination` and `edistance`.
//!
//! Perturbation order is the caller's (cell-eval sorts perturbation names; the rank-based
//! discrimination score depends on order only through exact ties, see
//! [`discrimination::TieBreak`]).

pub mod bulk;
pub mod discrimination;
pub mod edistance;

pub use bulk::{mae, mae_delta, mse, mse_delta, pearson_delta};
pub use discrimination::{PdsDistance, TieBreak, discrimination_score, target_gene_indices};
pub use edistance::{CellPair, EdistanceResult, pearson_edistance};

/// Which control profile the prediction's Δ is taken against (spelled `real` and `own`, as
/// `arena score --controls` spells them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ControlMode {
    /// Arena default: Δ_pred = pred_pert − real_control. The submitter cannot move the reference,
    /// so a prediction earns a Δ score only through its perturbed profiles.
    #[default]
    #[serde(rename = "real")]
    RealControls,
    /// cell-eval compatible: Δ_pred = pred_pert − pred_control, where pred_control is the mean of
    /// the control cells *in the prediction file* (`BulkArrays.perturbation_effect("pred")` uses
    /// `ctrl_pred`). A submitter can shift every Δ by editing its own control cells (e.g. a
    /// control row equal to the mean perturbation makes the systematic shift vanish from Δ).
    #[serde(rename = "own")]
    OwnControls,
}

/// Pseudobulk (mean) profiles of one real/predicted pair: N perturbations × G genes, in the same
/// perturbation and gene order on both sides, plus both control means (length G).
#[derive(Debug, Clone, Copy)]
pub struct BulkPair<'a> {
    /// Real mean profile of each perturbation (`bulk_real[pert]`).
    pub real: &'a [Vec<f64>],
    /// Predicted mean profile of each perturbation (`bulk_pred[pert]`).
    pub pred: &'a [Vec<f64>],
    /// Mean of the real control cells (`ctrl_real`).
    pub real_control: &'a [f64],
    /// Mean of the prediction's own control cells (`ctrl_pred`); used only by
    /// [`ControlMode::OwnControls`].
    pub pred_control: &'a [f64],
}

impl BulkPair<'_> {
    /// Number of perturbations compared (min of both sides; callers pass equal lengths).
    pub fn len(&self) -> usize {
        self.real.len().min(self.pred.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Δ_real[i] = real[i] − real_control (`perturbation_effect("real")`).
    pub fn real_effect(&self, i: usize) -> Vec<f64> {
        sub(&self.real[i], self.real_control)
    }

    /// Δ_pred[i] = pred[i] − (real_control | pred_control) according to `mode`.
    pub fn pred_effect(&self, i: usize, mode: ControlMode) -> Vec<f64> {
        let control = match mode {
            ControlMode::RealControls => self.real_control,
            ControlMode::OwnControls => self.pred_control,
        };
        sub(&self.pred[i], control)
    }
}

/// Elementwise a − b; a length mismatch yields an all-NaN vector (the metric is then NaN).
fn sub(a: &[f64], b: &[f64]) -> Vec<f64> {
    if a.len() != b.len() {
        return vec![f64::NAN; a.len().max(1)];
    }
    a.iter().zip(b).map(|(x, y)| x - y).collect()
}

#[cfg(test)]
pub(crate) mod tests;
