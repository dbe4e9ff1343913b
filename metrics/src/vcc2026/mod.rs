//! The VCC 2026 standard of cell-eval2 0.20.0 (its `vcc2026` profile under the v2 conventions),
//! as pure math over raw-count matrices: the per-cell CPM Wilcoxon DE table with the 5-CPM
//! control-only gene gate and per-perturbation BH (`wilcoxon`, its rank sums in `ranks`), the
//! group-sum bulks and their delete-one jackknife (`bulk`), the six scored metrics and the four
//! expression diagnostics (`expression`, `de_metrics`), and the replicate-anchor scale
//! s = (u − b)/(r − b) (`scale`).
//!
//! Reference: cell-eval2 0.20.0 (PyPI), `docs/vcc2026_metrics/vcc2026-metrics.md` of
//! ArcInstitute/cell-eval2, code `de_compute.py`, `moments.py`, `metrics/{delta,discrimination,
//! direction,de}.py`, `lfc_nmae_ref.py`, `anchor.py`, `scoring.py`. Metric names are cell-eval2's.

pub mod bulk;
pub mod de_metrics;
pub mod expression;
pub mod ranks;
pub mod scale;
pub mod score;
pub mod wilcoxon;

/// `bulk_target_sum` TS of the expression metrics (cell-eval2 `configs/vcc2026.yaml`).
pub const BULK_TARGET_SUM: f64 = 5e4;
/// Per-cell normalisation target of the DE test (CPM).
pub const DE_TARGET_SUM: f64 = 1e6;
/// `filter_gene_min_cpm_cell`: a gene is tested only if its mean CPM in the control cells exceeds this.
pub const MIN_CONTROL_CPM: f64 = 5.0;
/// `p_adj_threshold` α (BH, per perturbation).
pub const P_ADJ_THRESHOLD: f64 = 0.05;
/// Pseudocount ε of the log2 fold change.
pub const LFC_EPSILON: f64 = 1e-9;
/// `REACH_PURITY_FLOOR` P₀ of `de_wilcoxon_direction_reach_raw`.
pub const REACH_PURITY_FLOOR: f64 = 0.9;
/// `min_gate_size` of `de_wilcoxon_lfc_nmae`.
pub const LFC_NMAE_MIN_GATE: usize = 10;
/// `max_counts_per_cell` of submission validation.
pub const MAX_COUNTS_PER_CELL: f64 = 1e6;
/// Replicate-anchor splits (`n_splits`).
pub const ANCHOR_SPLITS: usize = 5;

/// The six scored members, in cell-eval2's catalog order.
pub const SCORED: [&str; 6] = [
    "pds_cosine",
    "expr_mse_unbiased_capped_norm",
    "de_wilcoxon_direction_fidelity_yield_raw",
    "de_wilcoxon_direction_reach_raw",
    "de_wilcoxon_sig_jaccard",
    "de_wilcoxon_lfc_nmae",
];

/// The four expression diagnostics cell-eval2 emits beside them (not scored).
pub const DIAGNOSTICS: [&str; 4] =
    ["expr_mse_unbiased", "expr_mse_unbiased_capped", "expr_distance_unbiased", "expr_real_mass_ratio"];

/// Where the prediction's effects and DE are measured from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlSource {
    /// The reference's control cells (v2, the scored standard).
    Real,
    /// The prediction's own control cells (the replicate anchor: each half with its own controls).
    Own,
}

/// One side's raw counts: a CSR matrix (cells × genes, integral values), the rows of every
/// perturbation (in the panel's order) and of the control group.
#[derive(Debug, Clone, Copy)]
pub struct CountsSide<'a> {
    pub x: &'a crate::de::CsrMatrix,
    pub groups: &'a [Vec<usize>],
    pub control: &'a [usize],
}

/// The gene column of each perturbation's own target: the gene whose name equals the label
/// exactly (cell-eval2 `resolve_exclusion_columns` without a `target_gene_map`).
pub fn resolve_targets(perts: &[String], genes: &[String]) -> Vec<Option<usize>> {
    let index: std::collections::HashMap<&str, usize> =
        genes.iter().enumerate().map(|(i, g)| (g.as_str(), i)).collect();
    perts.iter().map(|p| index.get(p.as_str()).copied()).collect()
}
