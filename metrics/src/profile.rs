//! Profile-level (pseudobulk) metrics of one model on one task: for each perturbation, the
//! predicted mean profile against the true mean profile, with deltas taken against the REAL
//! control centroid (never a control supplied by the submitter) and Systema's perturbed reference.
//! The headline metrics leave out each item's perturbed genes (as cell-eval's PDS and the VCC 2026
//! metrics do): a knocked-down target moves a lot and trivially, so a model that only lowers its
//! target would otherwise score on it. The `*_with_target` metrics keep every gene.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::catalog::{self, Better, MetricInfo};
use crate::centroid::centroid_accuracy_skipping;
use crate::correlation::pearson;
use crate::distance::{mae, mse};

/// The profile metrics: the headline ones (each item's perturbed genes left out) and their
/// `*_with_target` twins over every gene.
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
    /// Systema centroid accuracy (see [`crate::centroid_accuracy`]); for item i every distance
    /// leaves out i's perturbed genes.
    CentroidAccuracy,
    /// [`Metric::PearsonDelta`] over every gene, the perturbed ones included.
    PearsonDeltaWithTarget,
    /// [`Metric::PearsonDeltaPert`] over every gene, the perturbed ones included.
    PearsonDeltaPertWithTarget,
    /// [`Metric::Mae`] over every gene, the perturbed ones included.
    MaeWithTarget,
    /// [`Metric::Mse`] over every gene, the perturbed ones included.
    MseWithTarget,
}

impl Metric {
    pub const ALL: [Metric; 9] = [
        Metric::PearsonDelta,
        Metric::PearsonDeltaPert,
        Metric::Mae,
        Metric::Mse,
        Metric::CentroidAccuracy,
        Metric::PearsonDeltaWithTarget,
        Metric::PearsonDeltaPertWithTarget,
        Metric::MaeWithTarget,
        Metric::MseWithTarget,
    ];

    /// The metric's catalog entry.
    pub fn info(self) -> &'static MetricInfo {
        match self {
            Metric::PearsonDelta => &catalog::PEARSON_DELTA,
            Metric::PearsonDeltaPert => &catalog::PEARSON_DELTA_PERT,
            Metric::Mae => &catalog::MAE,
            Metric::Mse => &catalog::MSE,
            Metric::CentroidAccuracy => &catalog::CENTROID_ACCURACY,
            Metric::PearsonDeltaWithTarget => &catalog::PEARSON_DELTA_WITH_TARGET,
            Metric::PearsonDeltaPertWithTarget => &catalog::PEARSON_DELTA_PERT_WITH_TARGET,
            Metric::MaeWithTarget => &catalog::MAE_WITH_TARGET,
            Metric::MseWithTarget => &catalog::MSE_WITH_TARGET,
        }
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    pub fn better(self) -> Better {
        self.info().direction()
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
/// perturbation and all profiles have the same genes as the references. `perturbed[i]` lists the
/// gene indices item i perturbs (genes outside the profiles are simply absent): the headline
/// metrics leave them out, the `*_with_target` metrics keep them. A missing entry perturbs none.
pub fn score_profiles(
    pred: &[Vec<f64>],
    truth: &[Vec<f64>],
    refs: &ProfileReferences<'_>,
    perturbed: &[Vec<usize>],
) -> ProfileScores {
    let none: Vec<usize> = Vec::new();
    let excluded = |i: usize| perturbed.get(i).unwrap_or(&none);
    let centroid = centroid_accuracy_skipping(pred, truth, perturbed);
    let values = pred
        .par_iter()
        .zip(truth.par_iter())
        .zip(centroid.par_iter())
        .enumerate()
        .map(|(i, ((p, t), &ca))| {
            let keep = kept_genes(p.len(), excluded(i));
            let (pk, tk) = (select(p, &keep), select(t, &keep));
            let (ck, rk) = (select(refs.control, &keep), select(refs.perturbed_mean, &keep));
            vec![
                delta_correlation(&pk, &tk, &ck),
                delta_correlation(&pk, &tk, &rk),
                mae(&pk, &tk),
                mse(&pk, &tk),
                ca,
                delta_correlation(p, t, refs.control),
                delta_correlation(p, t, refs.perturbed_mean),
                mae(p, t),
                mse(p, t),
            ]
        })
        .collect();
    ProfileScores { metrics: Metric::ALL.to_vec(), values }
}

/// Indices 0..n without `excluded`, ascending.
/// [`delta_correlation`] over every gene but `excluded` (an item's perturbed genes).
pub fn delta_correlation_without(p: &[f64], t: &[f64], reference: &[f64], excluded: &[usize]) -> f64 {
    let keep = kept_genes(p.len(), excluded);
    delta_correlation(&select(p, &keep), &select(t, &keep), &select(reference, &keep))
}

fn kept_genes(n: usize, excluded: &[usize]) -> Vec<usize> {
    (0..n).filter(|g| !excluded.contains(g)).collect()
}

fn select(v: &[f64], keep: &[usize]) -> Vec<f64> {
    keep.iter().filter_map(|&g| v.get(g).copied()).collect()
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
        let s = score_profiles(&constant, &truth, &refs, &[]);
        // Against control the constant prediction correlates (0.5 each), against μ_pert it has
        // no specific change and scores 0, and its centroid accuracy is 0 (ties).
        let pd = s.column(Metric::PearsonDelta);
        assert!((pd[0] - 0.5).abs() < 1e-12 && (pd[1] - 0.5).abs() < 1e-12, "{pd:?}");
        assert_eq!(s.column(Metric::PearsonDeltaPert), vec![0.0, 0.0]);
        assert_eq!(s.column(Metric::CentroidAccuracy), vec![0.0, 0.0]);
        // The same prediction after a round trip through f32 is still constant, not noise.
        let rounded: Vec<Vec<f64>> =
            constant.iter().map(|p| p.iter().map(|&v| f64::from(v as f32) + 1e-9).collect()).collect();
        assert_eq!(score_profiles(&rounded, &truth, &refs, &[]).column(Metric::PearsonDeltaPert), vec![0.0, 0.0]);
        // A truth without change (equal to the reference) leaves the correlation undefined.
        let flat = vec![control.clone(), truth[1].clone()];
        assert!(score_profiles(&truth, &flat, &refs, &[]).column(Metric::PearsonDelta)[0].is_nan());
        // The perfect prediction scores 1 everywhere and 0 error.
        let s = score_profiles(&truth, &truth, &refs, &[]);
        assert!(s.column(Metric::PearsonDeltaPert).iter().all(|v| (v - 1.0).abs() < 1e-12));
        assert_eq!(s.column(Metric::Mae), vec![0.0, 0.0]);
        assert_eq!(s.column(Metric::CentroidAccuracy), vec![1.0, 1.0]);
    }

    #[test]
    fn headline_metrics_leave_out_the_perturbed_genes() {
        // Gene 0 is the target: the truth drops it by 3 and moves genes 1..4 a little; the
        // "knockdown-only" prediction drops gene 0 and nothing else.
        let control = vec![5.0, 1.0, 1.0, 1.0, 1.0];
        let truth = vec![vec![2.0, 1.2, 0.9, 1.1, 1.0], vec![5.0, 0.5, 1.5, 1.0, 1.2]];
        let knockdown_only = vec![vec![2.0, 1.0, 1.0, 1.0, 1.0], vec![5.0, 1.0, 1.0, 1.0, 1.0]];
        let refs = ProfileReferences { control: &control, perturbed_mean: &control };
        let perturbed = vec![vec![0], vec![]];
        let s = score_profiles(&knockdown_only, &truth, &refs, &perturbed);
        // With the target: a near-perfect correlation; without it, no change is predicted: 0.
        let with = s.column(Metric::PearsonDeltaWithTarget);
        assert!(with[0] > 0.95, "{with:?}");
        assert_eq!(s.column(Metric::PearsonDelta)[0], 0.0);
        // mse over the four kept genes of item 0: (0.04 + 0.01 + 0.01 + 0) / 4.
        assert!((s.column(Metric::Mse)[0] - 0.015).abs() < 1e-12);
        assert!((s.column(Metric::MseWithTarget)[0] - 0.012).abs() < 1e-12);
        // Item 1 perturbs nothing in the panel: both variants agree.
        for (a, b) in
            [(Metric::Mae, Metric::MaeWithTarget), (Metric::PearsonDeltaPert, Metric::PearsonDeltaPertWithTarget)]
        {
            assert_eq!(s.column(a)[1], s.column(b)[1]);
        }
        // Centroid accuracy: a prediction right everywhere but on its target is nearest its own
        // truth once the target is left out, and nearest the other item's truth with it.
        let right_but_target = vec![vec![5.0, 1.2, 0.9, 1.1, 1.0], truth[1].clone()];
        let ca = |perturbed: &[Vec<usize>]| {
            score_profiles(&right_but_target, &truth, &refs, perturbed).column(Metric::CentroidAccuracy)
        };
        assert_eq!(ca(&perturbed), vec![1.0, 1.0]);
        assert_eq!(ca(&[]), vec![0.0, 1.0]);
        assert_eq!(Metric::MseWithTarget.better(), Better::Lower);
        assert_eq!(Metric::from_name("pearson_delta_pert_with_target"), Some(Metric::PearsonDeltaPertWithTarget));
    }
}
