//! STAMP's three-level evaluation of a perturbation prediction (Gao et al., "STAMP"; code
//! github.com/bm2-lab/STAMP, `stamp/STAMP.py::STAMP.prediction`, labels from
//! `DataProcess/myUtil.py`). For one group of perturbations (STAMP: all test perturbations, and
//! for combinations each seen-group: single, 2/2, 1/2 and 0/2 genes seen in training), every
//! (perturbation, gene) pair of the group is one observation:
//!
//! 1. DEG identification: ROC-AUC (sklearn `roc_auc_score`) and PR-AUC (sklearn
//!    `auc(recall, precision)` of `precision_recall_curve`, the trapezoid rule, not average
//!    precision) of the predicted DEG score against the true DEG label (adjusted p ≤ 0.01);
//! 2. direction, over the TRUE DEGs only: ROC-AUC and PR-AUC of the predicted up-score against the
//!    true label "up" (fold change ≥ 1);
//! 3. magnitude, over the TRUE DEGs only: Pearson r and the mean squared error of the predicted
//!    against the true fold change (linear, 2^log2FC).
//!
//! An AUC without both classes is NaN (STAMP catches sklearn's error and reports "Nan").

use crate::correlation::pearson;
use crate::de::compare::{pr_auc_trapezoid, roc_auc_f64};
use crate::distance::mse;

/// The observations of one group, one entry per (perturbation, gene) pair, all of equal length.
#[derive(Debug, Clone, Copy)]
pub struct StampInput<'a> {
    /// Level-1 label: the gene is differentially expressed (adjusted p ≤ 0.01).
    pub true_deg: &'a [bool],
    /// Predicted DEG score (higher = more likely DE).
    pub deg_score: &'a [f64],
    /// Level-2 label: fold change ≥ 1.
    pub true_up: &'a [bool],
    /// Predicted up-score (higher = more likely up).
    pub up_score: &'a [f64],
    /// Level-3 label: the true fold change.
    pub true_fold_change: &'a [f64],
    /// The predicted fold change.
    pub pred_fold_change: &'a [f64],
}

/// STAMP's six numbers of one group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StampScores {
    /// `ROC_AUC_1`.
    pub deg_roc_auc: f64,
    /// `PR_AUC_1`.
    pub deg_pr_auc: f64,
    /// `ROC_AUC_2`.
    pub direction_roc_auc: f64,
    /// `PR_AUC_2`.
    pub direction_pr_auc: f64,
    /// `COR_3`.
    pub magnitude_pearson: f64,
    /// `mse_3`.
    pub magnitude_mse: f64,
}

/// sklearn `roc_auc_score`, NaN without both classes or on a length mismatch.
pub fn roc_auc(labels: &[bool], scores: &[f64]) -> f64 {
    if labels.len() != scores.len() || !labels.contains(&true) || !labels.contains(&false) {
        return f64::NAN;
    }
    roc_auc_f64(labels, scores)
}

/// sklearn `auc(recall, precision)` of `precision_recall_curve`, NaN without both classes.
pub fn pr_auc(labels: &[bool], scores: &[f64]) -> f64 {
    pr_auc_trapezoid(labels, scores)
}

/// The six numbers of one group (NaN everywhere when the slices differ in length).
pub fn stamp_scores(input: &StampInput<'_>) -> StampScores {
    let n = input.true_deg.len();
    let lengths = [
        input.deg_score.len(),
        input.true_up.len(),
        input.up_score.len(),
        input.true_fold_change.len(),
        input.pred_fold_change.len(),
    ];
    if lengths.iter().any(|&l| l != n) {
        let nan = f64::NAN;
        return StampScores {
            deg_roc_auc: nan,
            deg_pr_auc: nan,
            direction_roc_auc: nan,
            direction_pr_auc: nan,
            magnitude_pearson: nan,
            magnitude_mse: nan,
        };
    }
    let degs: Vec<usize> = (0..n).filter(|&i| input.true_deg[i]).collect();
    let on_degs = |v: &[f64]| -> Vec<f64> { degs.iter().map(|&i| v[i]).collect() };
    let up: Vec<bool> = degs.iter().map(|&i| input.true_up[i]).collect();
    let up_score = on_degs(input.up_score);
    let (pred_fc, true_fc) = (on_degs(input.pred_fold_change), on_degs(input.true_fold_change));
    StampScores {
        deg_roc_auc: roc_auc(input.true_deg, input.deg_score),
        deg_pr_auc: pr_auc(input.true_deg, input.deg_score),
        direction_roc_auc: roc_auc(&up, &up_score),
        direction_pr_auc: pr_auc(&up, &up_score),
        magnitude_pearson: pearson(&pred_fc, &true_fc),
        magnitude_mse: mse(&pred_fc, &true_fc),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-worked: labels [T, F, T, F], scores [0.9, 0.8, 0.4, 0.4].
    /// ROC: positive–negative pairs (0.9,0.8) 1, (0.9,0.4) 1, (0.4,0.8) 0, (0.4,0.4) ½ → 2.5/4.
    /// PR points per distinct score: 0.9 (R ½, P 1), 0.8 (R ½, P ½), 0.4 (R 1, P ½), plus (0, 1):
    /// trapezoids ½·1 + 0 + ½·½ = 0.75 (average precision would be ½·1 + ½·½ = 0.75 too; the
    /// second case tells them apart).
    #[test]
    fn aucs_hand_worked() {
        let (labels, scores) = ([true, false, true, false], [0.9, 0.8, 0.4, 0.4]);
        assert_eq!(roc_auc(&labels, &scores), 0.625);
        assert_eq!(pr_auc(&labels, &scores), 0.75);
        // [F, T] with scores [2, 1]: PR points (R 0, P 0) at 2, (R 1, P ½) at 1, plus (0, 1):
        // trapezoids (1 − 0)·(½ + 0)/2 + 0 = 0.25 (average precision: 0.5).
        assert_eq!(pr_auc(&[false, true], &[2.0, 1.0]), 0.25);
        assert_eq!(roc_auc(&[false, true], &[2.0, 1.0]), 0.0);
        assert!(roc_auc(&[true, true], &[1.0, 2.0]).is_nan());
        assert!(pr_auc(&[false, false], &[1.0, 2.0]).is_nan());
    }

    /// Fixture: sklearn 1.9.1 (`roc_auc_score(y, s)`; `p, r, _ = precision_recall_curve(y, s)`,
    /// `auc(r, p)`, as STAMP calls them) on y = [1,0,1,1,0,0,1,0],
    /// s = [0.9,0.8,0.8,0.5,0.4,0.4,0.1,0.05]: 0.71875 and 0.7693452380952381.
    #[test]
    fn aucs_match_sklearn() {
        let y = [true, false, true, true, false, false, true, false];
        let s = [0.9, 0.8, 0.8, 0.5, 0.4, 0.4, 0.1, 0.05];
        assert!((roc_auc(&y, &s) - 0.71875).abs() < 1e-15, "{}", roc_auc(&y, &s));
        assert!((pr_auc(&y, &s) - 0.7693452380952381).abs() < 1e-15, "{}", pr_auc(&y, &s));
    }

    /// Two perturbations × 3 genes, flattened. True DEGs: (p0,g0) up, (p0,g2) down, (p1,g1) up.
    /// Level 2 over those three: labels [T, F, T], up-scores [1.0, −2.0, 0.5] → ROC 1, PR 1.
    /// Level 3 over those three: pred fc [2, 0.5, 1.5] against true fc [4, 0.25, 2]:
    /// errors −2, 0.25, −0.5 → MSE (4 + 0.0625 + 0.25)/3 = 1.4375; Pearson of (2, 0.5, 1.5) and
    /// (4, 0.25, 2): centred (2/3, −5/6, 1/6) and (23/12, −11/6, −1/12) → Sxy = 67/24,
    /// Sxx = 7/6, Syy = 169/24, r = 0.97398… (scipy `pearsonr`: 0.9739853727545469).
    #[test]
    fn levels_two_and_three_use_the_true_degs_only() {
        let true_deg = [true, false, true, false, true, false];
        let deg_score = [3.0, 0.0, 2.0, 1.0, 4.0, 0.5];
        let true_up = [true, true, false, false, true, false];
        let up_score = [1.0, 9.0, -2.0, -9.0, 0.5, 9.0];
        let true_fc = [4.0, 1.1, 0.25, 0.9, 2.0, 1.0];
        let pred_fc = [2.0, 100.0, 0.5, 100.0, 1.5, 100.0];
        let s = stamp_scores(&StampInput {
            true_deg: &true_deg,
            deg_score: &deg_score,
            true_up: &true_up,
            up_score: &up_score,
            true_fold_change: &true_fc,
            pred_fold_change: &pred_fc,
        });
        // Level 1: the three DEGs score 3, 2, 4 and the others 0, 1, 0.5: perfectly separated.
        assert_eq!((s.deg_roc_auc, s.deg_pr_auc), (1.0, 1.0));
        assert_eq!((s.direction_roc_auc, s.direction_pr_auc), (1.0, 1.0));
        assert!((s.magnitude_mse - 1.4375).abs() < 1e-15, "{}", s.magnitude_mse);
        let r = (67.0 / 24.0) / (7.0f64 / 6.0 * (169.0 / 24.0)).sqrt();
        assert!((s.magnitude_pearson - r).abs() < 1e-12, "{} vs {r}", s.magnitude_pearson);
        assert!((s.magnitude_pearson - 0.9739853727545469).abs() < 1e-12);
        // A predicted up-score that ranks the down DEG first: direction ROC 0 on the pairs.
        let flipped = [1.0, 9.0, 2.0, -9.0, 0.5, 9.0];
        let s = stamp_scores(&StampInput {
            true_deg: &true_deg,
            deg_score: &deg_score,
            true_up: &true_up,
            up_score: &flipped,
            true_fold_change: &true_fc,
            pred_fold_change: &pred_fc,
        });
        assert_eq!(s.direction_roc_auc, 0.0);
        let short = stamp_scores(&StampInput {
            true_deg: &true_deg,
            deg_score: &deg_score[..2],
            true_up: &true_up,
            up_score: &up_score,
            true_fold_change: &true_fc,
            pred_fold_change: &pred_fc,
        });
        assert!(short.deg_roc_auc.is_nan() && short.magnitude_mse.is_nan());
    }
}
