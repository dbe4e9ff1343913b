//! cell-eval's DE-comparison metrics for `arena score`: `metrics::de::compare_de` on the real and
//! predicted DE tables, laid out as cell-eval's result columns (overlap_at_N/K, precision_at_N/K,
//! de_spearman_sig (one value, repeated on every row as cell-eval does), de_direction_match,
//! de_spearman_lfc_sig, de_sig_genes_recall, de_nsig_counts_{real,pred}, pr_auc, roc_auc).
//! `None` (an empty CSV cell) where cell-eval has no value for a perturbation.

use metrics::de::{FIXED_K, compare_de};

use super::de::DeTable;

/// The DE metric columns named in `wanted`, as (name, per-perturbation values).
pub fn de_metrics(real: &DeTable, pred: &DeTable, wanted: &[&str]) -> Vec<(String, Vec<Option<f64>>)> {
    let n = real.groups.len();
    let cmp = match compare_de(&real.groups, &pred.groups) {
        Ok(c) => c,
        // Both tables cover the same perturbations and genes (one validated input, or partials the
        // merge checked), so this cannot happen; report NaN.
        Err(_) => return wanted.iter().map(|w| (w.to_string(), vec![Some(f64::NAN); n])).collect(),
    };
    let per = &cmp.per_perturbation;
    let col = |f: &dyn Fn(usize) -> Option<f64>| (0..n).map(f).collect::<Vec<_>>();
    let mut out = Vec::new();
    for &name in wanted {
        let values = match name {
            "overlap_at_N" => col(&|i| Some(per[i].overlap_at_n)),
            "precision_at_N" => col(&|i| Some(per[i].precision_at_n)),
            "de_spearman_sig" => vec![Some(cmp.spearman_sig); n],
            "de_direction_match" => col(&|i| per[i].direction_match),
            "de_spearman_lfc_sig" => col(&|i| per[i].spearman_lfc_sig),
            "de_sig_genes_recall" => col(&|i| per[i].sig_genes_recall),
            "de_nsig_counts_real" => col(&|i| Some(per[i].nsig_real as f64)),
            "de_nsig_counts_pred" => col(&|i| Some(per[i].nsig_pred as f64)),
            "pr_auc" => col(&|i| Some(per[i].pr_auc)),
            "roc_auc" => col(&|i| Some(per[i].roc_auc)),
            other => {
                let fixed = |prefix: &str| {
                    other
                        .strip_prefix(prefix)
                        .and_then(|k| k.parse::<usize>().ok())
                        .and_then(|k| FIXED_K.iter().position(|&f| f == k))
                };
                if let Some(k) = fixed("overlap_at_") {
                    col(&|i| Some(per[i].overlap_at_k[k]))
                } else if let Some(k) = fixed("precision_at_") {
                    col(&|i| Some(per[i].precision_at_k[k]))
                } else {
                    continue;
                }
            }
        };
        out.push((name.to_string(), values));
    }
    out
}
