//! Metric profiles of `arena score`: which metrics each `--profile` computes, and the column
//! order of `results.csv`. The cell-eval profiles reproduce `cell_eval/_pipeline/_runner.py`
//! (0.8.2): DE metrics first, then the "anndata pair" metrics, each in registry order, exactly as
//! cell-eval's pivot orders the columns. `systema` is the arena's Systema profile. Every column
//! is a `metrics::catalog` entry of `arena score`.

use metrics::catalog::{self, MetricInfo};

/// One `--profile` (serialised by its [`Profile::name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Every cell-eval metric (except clustering_agreement, see the README).
    Full,
    /// The Virtual Cell Challenge metrics: overlap_at_N, mae, discrimination_score_l1.
    Vcc,
    /// cell-eval's minimal set.
    Minimal,
    /// The DE metrics only.
    De,
    /// The profile ("anndata pair") metrics only.
    Anndata,
    /// discrimination_score_l1 only (no DE).
    Pds,
    /// Systema: PearsonΔ vs μ_pert over all genes and the top-20 DE genes, centroid accuracy.
    Systema,
    /// The VCC 2026 standard of cell-eval2 0.20.0 on raw counts (six scored members, four
    /// diagnostics; scored by `scoring::vcc2026`, not by the columns below).
    Vcc2026,
    /// STAMP: DEG identification, direction and magnitude, pooled over perturbations × genes.
    Stamp,
}

/// DE-comparison metrics in cell-eval's registry order (`de_nsig_counts` expands to `_real`/`_pred`).
pub const DE_METRICS: [&MetricInfo; 18] = [
    &catalog::OVERLAP_AT_N,
    &catalog::OVERLAP_AT_50,
    &catalog::OVERLAP_AT_100,
    &catalog::OVERLAP_AT_200,
    &catalog::OVERLAP_AT_500,
    &catalog::PRECISION_AT_N,
    &catalog::PRECISION_AT_50,
    &catalog::PRECISION_AT_100,
    &catalog::PRECISION_AT_200,
    &catalog::PRECISION_AT_500,
    &catalog::DE_SPEARMAN_SIG,
    &catalog::DE_DIRECTION_MATCH,
    &catalog::DE_SPEARMAN_LFC_SIG,
    &catalog::DE_SIG_GENES_RECALL,
    &catalog::DE_NSIG_COUNTS_REAL,
    &catalog::DE_NSIG_COUNTS_PRED,
    &catalog::PR_AUC,
    &catalog::ROC_AUC,
];

/// Profile ("anndata pair") metrics in cell-eval's registry order. cell-eval's last one,
/// `clustering_agreement` (Leiden clustering of the centroids via scanpy/igraph), is not computed.
pub const PAIR_METRICS: [&MetricInfo; 9] = [
    &catalog::CELL_EVAL_PEARSON_DELTA,
    &catalog::CELL_EVAL_MSE,
    &catalog::CELL_EVAL_MAE,
    &catalog::MSE_DELTA,
    &catalog::MAE_DELTA,
    &catalog::DISCRIMINATION_SCORE_L1,
    &catalog::DISCRIMINATION_SCORE_L2,
    &catalog::DISCRIMINATION_SCORE_COSINE,
    &catalog::PEARSON_EDISTANCE,
];

/// STAMP metrics of the `stamp` profile (levels 1–3, in STAMP's order).
pub const STAMP_METRICS: [&MetricInfo; 6] = [
    &catalog::STAMP_DEG_ROC_AUC,
    &catalog::STAMP_DEG_PR_AUC,
    &catalog::STAMP_DIRECTION_ROC_AUC,
    &catalog::STAMP_DIRECTION_PR_AUC,
    &catalog::STAMP_MAGNITUDE_PEARSON,
    &catalog::STAMP_MAGNITUDE_MSE,
];

/// The `vcc2026` profile: cell-eval2's six scored members, then its four diagnostics
/// (`metrics::vcc2026::SCORED`, `DIAGNOSTICS`, by name; a test pins the two lists equal).
pub const VCC2026_METRICS: [&MetricInfo; 10] = [
    &catalog::PDS_COSINE,
    &catalog::EXPR_MSE_UNBIASED_CAPPED_NORM,
    &catalog::DE_WILCOXON_DIRECTION_FIDELITY_YIELD_RAW,
    &catalog::DE_WILCOXON_DIRECTION_REACH_RAW,
    &catalog::DE_WILCOXON_SIG_JACCARD,
    &catalog::DE_WILCOXON_LFC_NMAE,
    &catalog::EXPR_MSE_UNBIASED,
    &catalog::EXPR_MSE_UNBIASED_CAPPED,
    &catalog::EXPR_DISTANCE_UNBIASED,
    &catalog::EXPR_REAL_MASS_RATIO,
];

/// Systema metrics of the `systema` profile.
pub const SYSTEMA_METRICS: [&MetricInfo; 3] = [
    &catalog::SYSTEMA_PEARSON_DELTA_PERT,
    &catalog::SYSTEMA_PEARSON_DELTA_PERT_DE20,
    &catalog::SYSTEMA_CENTROID_ACCURACY,
];

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Full => "full",
            Profile::Vcc => "vcc",
            Profile::Minimal => "minimal",
            Profile::De => "de",
            Profile::Anndata => "anndata",
            Profile::Pds => "pds",
            Profile::Systema => "systema",
            Profile::Vcc2026 => "vcc2026",
            Profile::Stamp => "stamp",
        }
    }

    /// The metrics of the result columns, in output order.
    pub fn metrics(self) -> Vec<&'static MetricInfo> {
        match self {
            Profile::Full => DE_METRICS.iter().chain(&PAIR_METRICS).copied().collect(),
            Profile::De => DE_METRICS.to_vec(),
            Profile::Anndata => PAIR_METRICS.to_vec(),
            Profile::Minimal => vec![
                &catalog::OVERLAP_AT_N,
                &catalog::PRECISION_AT_N,
                &catalog::DE_NSIG_COUNTS_REAL,
                &catalog::DE_NSIG_COUNTS_PRED,
                &catalog::CELL_EVAL_PEARSON_DELTA,
                &catalog::CELL_EVAL_MSE,
                &catalog::CELL_EVAL_MAE,
                &catalog::DISCRIMINATION_SCORE_L1,
            ],
            Profile::Vcc => vec![&catalog::OVERLAP_AT_N, &catalog::CELL_EVAL_MAE, &catalog::DISCRIMINATION_SCORE_L1],
            Profile::Pds => vec![&catalog::DISCRIMINATION_SCORE_L1],
            Profile::Systema => SYSTEMA_METRICS.to_vec(),
            Profile::Vcc2026 => VCC2026_METRICS.to_vec(),
            Profile::Stamp => STAMP_METRICS.to_vec(),
        }
    }

    /// The result columns (metric names), in output order.
    pub fn columns(self) -> Vec<&'static str> {
        self.metrics().into_iter().map(|m| m.name).collect()
    }

    /// Whether the DE tables are computed and written (cell-eval skips DE only for `pds`).
    pub fn runs_de(self) -> bool {
        self != Profile::Pds
    }

    /// Whether the predicted DE table is needed (Systema uses the real DE only).
    pub fn runs_pred_de(self) -> bool {
        self.runs_de() && self != Profile::Systema
    }

    pub fn wants(self, metric: &str) -> bool {
        self.columns().contains(&metric)
    }
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;
    use metrics::catalog::{CATALOG, Scorer};

    use super::*;

    /// Every column resolves to its own `arena score` catalog entry, and every such entry is a
    /// column of some profile.
    #[test]
    fn profiles_print_exactly_the_catalogued_score_metrics() {
        let mut printed = Vec::new();
        for p in Profile::value_variants() {
            for m in p.metrics() {
                assert_eq!(catalog::score(m.name), Some(m), "{}: {}", p.name(), m.name);
                printed.push(m.name);
            }
        }
        for m in CATALOG.iter().filter(|m| m.scorer == Scorer::Score) {
            assert!(printed.contains(&m.name), "catalog entry `{}` is printed by no profile", m.name);
        }
    }

    /// The vcc2026 columns are the metric names `metrics::vcc2026` computes and writes.
    #[test]
    fn vcc2026_columns_are_what_the_scorer_writes() {
        let written: Vec<&str> =
            metrics::vcc2026::SCORED.iter().chain(&metrics::vcc2026::DIAGNOSTICS).copied().collect();
        assert_eq!(Profile::Vcc2026.columns(), written);
    }
}
