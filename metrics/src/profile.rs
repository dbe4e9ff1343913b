//! Profile-level (pseudobulk) metrics of one model on one task: for each perturbation, the
//! predicted mean profile against the true mean profile, with deltas taken against the REAL
//! control centroid (never a control supplied by the submitter) and Systema's perturbed reference.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::centroid::centroid_accuracy;
use crate::correlation::pearson;
use crate::distance::{mae, mse};

/// The headline profile metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// cell-eval `pearson_delta`: r(pred − μ_ctrl, truth − μ_ctrl).
    PearsonDelta,
    /// Systema PearsonΔ vs the perturbed reference: r(pred − μ_pert, truth − μ_pert), where μ_pert
    /// is the unweighted mean of the training perturbation centroids. A constant "average
    /// perturbation" prediction scores 0 here however large the systematic shift is.
    PearsonDeltaPert,
    /// cell-eval `mae` on pseudobulk means.
    Mae,
    /// cell-eval / GEARS `mse` on pseudobulk means.
    Mse,
    /// Systema centroid accuracy (see [`crate::centroid_accuracy`]).
    CentroidAccuracy,
}

impl Metric {
    pub const ALL: [Metric; 5] =
        [Metric::PearsonDelta, Metric::PearsonDeltaPert, Metric::Mae, Metric::Mse, Metric::CentroidAccuracy];

    pub fn name(self) -> &'static str {
        match self {
            Metric::PearsonDelta => "pearson_delta",
            Metric::PearsonDeltaPert => "pearson_delta_pert",
            Metric::Mae => "mae",
            Metric::Mse => "mse",
            Metric::CentroidAccuracy => "centroid_accuracy",
        }
    }

    pub fn higher_is_better(self) -> bool {
        !matches!(self, Metric::Mae | Metric::Mse)
    }

    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// The reference profiles deltas are taken against.
#[derive(Debug, Clone, Copy)]
pub struct ProfileReferences<'a> {
    /// μ_ctrl: mean of real (training) control cells; zero for log-fold-change data.
    pub control: &'a [f64],
    /// μ_pert: unweighted mean of the training perturbation centroids.
    pub perturbed_mean: &'a [f64],
}

/// Per-perturbation values, `values[i][k]` for perturbation i and metric `metrics[k]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileScores {
    pub metrics: Vec<Metric>,
    pub values: Vec<Vec<f64>>,
}

impl ProfileScores {
    /// All perturbations' values of one metric.
    pub fn column(&self, metric: Metric) -> Vec<f64> {
        let k = self.metrics.iter().position(|&m| m == metric).expect("metric is scored");
        self.values.iter().map(|row| row[k]).collect()
    }
}

/// Scores predicted mean profiles against true ones; `pred[i]`, `truth[i]` belong to the same
/// perturbation and all profiles have the same genes as the references.
pub fn score_profiles(pred: &[Vec<f64>], truth: &[Vec<f64>], refs: &ProfileReferences<'_>) -> ProfileScores {
    let centroid = centroid_accuracy(pred, truth);
    let values = pred
        .par_iter()
        .zip(truth.par_iter())
        .zip(centroid.par_iter())
        .map(|((p, t), &ca)| {
            vec![
                delta_correlation(p, t, refs.control),
                delta_correlation(p, t, refs.perturbed_mean),
                mae(p, t),
                mse(p, t),
                ca,
            ]
        })
        .collect();
    ProfileScores { metrics: Metric::ALL.to_vec(), values }
}

/// r(p − ref, t − ref). A prediction whose delta is constant (it predicts no specific change,
/// e.g. the reference itself) carries no information about which genes respond: it scores 0,
/// not "undefined", so averaging over perturbations cannot hide it. When the *true* delta is
/// constant the correlation is undefined (NaN), excluded from means and counted.
pub fn delta_correlation(p: &[f64], t: &[f64], reference: &[f64]) -> f64 {
    let pd = relative_delta(p, reference);
    let td = relative_delta(t, reference);
    if is_constant(&td) {
        f64::NAN
    } else if is_constant(&pd) {
        0.0
    } else {
        pearson(&pd, &td)
    }
}

fn is_constant(v: &[f64]) -> bool {
    v.windows(2).all(|w| w[0] == w[1])
}

/// x − r, or the zero vector when x equals r up to single-precision rounding (|x − r| within
/// 1e-6 relative for every gene). Predictions pass through f32, so a prediction that *is* the
/// reference would otherwise leave rounding noise whose correlation with the truth is meaningless.
fn relative_delta(x: &[f64], r: &[f64]) -> Vec<f64> {
    let delta: Vec<f64> = x.iter().zip(r).map(|(a, b)| a - b).collect();
    let same = x.iter().zip(r).zip(&delta).all(|((a, b), d)| d.abs() <= 1e-6 * (a.abs() + b.abs()) + 1e-12);
    if same { vec![0.0; delta.len()] } else { delta }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perturbed_mean_prediction_scores_zero_information_under_systema() {
        // Two perturbations sharing a systematic shift (+1 on gene 0) plus specific effects.
        let control = vec![0.0, 0.0, 0.0];
        let truth = vec![vec![1.0, 1.0, 0.0], vec![1.0, 0.0, 1.0]];
        let mu_pert = vec![1.0, 0.5, 0.5];
        let constant = vec![mu_pert.clone(), mu_pert.clone()];
        let refs = ProfileReferences { control: &control, perturbed_mean: &mu_pert };
        let s = score_profiles(&constant, &truth, &refs);
        // Against control the constant prediction correlates (0.5 each), against μ_pert it has
        // no specific change and scores 0, and its centroid accuracy is 0 (ties).
        let pd = s.column(Metric::PearsonDelta);
        assert!((pd[0] - 0.5).abs() < 1e-12 && (pd[1] - 0.5).abs() < 1e-12, "{pd:?}");
        assert_eq!(s.column(Metric::PearsonDeltaPert), vec![0.0, 0.0]);
        assert_eq!(s.column(Metric::CentroidAccuracy), vec![0.0, 0.0]);
        // The same prediction after a round trip through f32 is still constant, not noise.
        let rounded: Vec<Vec<f64>> =
            constant.iter().map(|p| p.iter().map(|&v| f64::from(v as f32) + 1e-9).collect()).collect();
        assert_eq!(score_profiles(&rounded, &truth, &refs).column(Metric::PearsonDeltaPert), vec![0.0, 0.0]);
        // A truth without change (equal to the reference) leaves the correlation undefined.
        let flat = vec![control.clone(), truth[1].clone()];
        assert!(score_profiles(&truth, &flat, &refs).column(Metric::PearsonDelta)[0].is_nan());
        // The perfect prediction scores 1 everywhere and 0 error.
        let s = score_profiles(&truth, &truth, &refs);
        assert!(s.column(Metric::PearsonDeltaPert).iter().all(|v| (v - 1.0).abs() < 1e-12));
        assert_eq!(s.column(Metric::Mae), vec![0.0, 0.0]);
        assert_eq!(s.column(Metric::CentroidAccuracy), vec![1.0, 1.0]);
    }
}
