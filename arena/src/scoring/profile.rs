//! Metric profiles of `arena score`: which metrics each `--profile` computes, and the column
//! order of `results.csv`. The cell-eval profiles reproduce `cell_eval/_pipeline/_runner.py`
//! (0.8.2): DE metrics first, then the "anndata pair" metrics, each in registry order, exactly as
//! cell-eval's pivot orders the columns. `systema` is the arena's Systema profile.

/// One `--profile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
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
}

/// DE-comparison metrics in cell-eval's registry order (`de_nsig_counts` expands to `_real`/`_pred`).
pub const DE_METRICS: [&str; 18] = [
    "overlap_at_N",
    "overlap_at_50",
    "overlap_at_100",
    "overlap_at_200",
    "overlap_at_500",
    "precision_at_N",
    "precision_at_50",
    "precision_at_100",
    "precision_at_200",
    "precision_at_500",
    "de_spearman_sig",
    "de_direction_match",
    "de_spearman_lfc_sig",
    "de_sig_genes_recall",
    "de_nsig_counts_real",
    "de_nsig_counts_pred",
    "pr_auc",
    "roc_auc",
];

/// Profile ("anndata pair") metrics in cell-eval's registry order. cell-eval's last one,
/// `clustering_agreement` (Leiden clustering of the centroids via scanpy/igraph), is not computed.
pub const PAIR_METRICS: [&str; 9] = [
    "pearson_delta",
    "mse",
    "mae",
    "mse_delta",
    "mae_delta",
    "discrimination_score_l1",
    "discrimination_score_l2",
    "discrimination_score_cosine",
    "pearson_edistance",
];

/// Systema metrics of the `systema` profile.
pub const SYSTEMA_METRICS: [&str; 3] = ["pearson_delta_pert", "pearson_delta_pert_de20", "centroid_accuracy"];

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
        }
    }

    /// The result columns, in output order.
    pub fn columns(self) -> Vec<&'static str> {
        match self {
            Profile::Full => DE_METRICS.iter().chain(&PAIR_METRICS).copied().collect(),
            Profile::De => DE_METRICS.to_vec(),
            Profile::Anndata => PAIR_METRICS.to_vec(),
            Profile::Minimal => vec![
                "overlap_at_N",
                "precision_at_N",
                "de_nsig_counts_real",
                "de_nsig_counts_pred",
                "pearson_delta",
                "mse",
                "mae",
                "discrimination_score_l1",
            ],
            Profile::Vcc => vec!["overlap_at_N", "mae", "discrimination_score_l1"],
            Profile::Pds => vec!["discrimination_score_l1"],
            Profile::Systema => SYSTEMA_METRICS.to_vec(),
            Profile::Vcc2026 => {
                metrics::vcc2026::SCORED.iter().chain(&metrics::vcc2026::DIAGNOSTICS).copied().collect()
            }
        }
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
