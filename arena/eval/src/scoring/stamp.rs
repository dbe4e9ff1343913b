//! The `stamp` profile: STAMP's three levels (`metrics::stamp`) on the DE tables of `arena score`,
//! one group of every (perturbation, gene) pair of the run (STAMP's "Overall"; its seen-groups
//! need a training split, which `arena score` does not have). The real DE table gives the labels:
//! a DEG has real FDR ≤ 0.01 (STAMP's adjusted-p cut), "up" is a real fold change ≥ 1, the
//! magnitude is the real fold change. The predicted DE table gives the model's side: the DEG score
//! is −p (a smaller predicted p-value ranks first; NaN counts as p = 1), the up-score the
//! predicted log2 fold change, the magnitude the predicted fold change.

use metrics::stamp::{StampInput, stamp_scores};

use super::de::DeTable;
use super::profile::STAMP_METRICS;

/// STAMP's adjusted p-value cut for a true DEG.
pub const DEG_FDR: f64 = 0.01;

/// The six STAMP columns (name, the one value of the run); `real.groups[i]` and `pred.groups[i]`
/// are the same perturbation.
pub fn stamp_metrics(real: &DeTable, pred: &DeTable) -> Vec<(String, f64)> {
    let (mut true_deg, mut deg_score, mut true_up, mut up_score, mut true_fc, mut pred_fc) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (r, p) in real.groups.iter().zip(&pred.groups) {
        true_deg.extend(r.fdr.iter().map(|&q| q <= DEG_FDR));
        deg_score.extend(p.p_value.iter().map(|&pv| if pv.is_nan() { -1.0 } else { -pv }));
        true_up.extend(r.fold_change.iter().map(|&f| f >= 1.0));
        up_score.extend(p.log2_fold_change.iter().map(|&l| if l.is_nan() { 0.0 } else { l }));
        true_fc.extend_from_slice(&r.fold_change);
        pred_fc.extend_from_slice(&p.fold_change);
    }
    let s = stamp_scores(&StampInput {
        true_deg: &true_deg,
        deg_score: &deg_score,
        true_up: &true_up,
        up_score: &up_score,
        true_fold_change: &true_fc,
        pred_fold_change: &pred_fc,
    });
    let values =
        [s.deg_roc_auc, s.deg_pr_auc, s.direction_roc_auc, s.direction_pr_auc, s.magnitude_pearson, s.magnitude_mse];
    STAMP_METRICS.iter().zip(values).map(|(m, v)| (m.name.to_string(), v)).collect()
}
