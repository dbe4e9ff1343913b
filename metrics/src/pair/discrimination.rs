//! cell-eval's perturbation discrimination score, PDS (`discrimination_score` in
//! `cell_eval/metrics/_anndata.py`; registered as `discrimination_score_{l1,l2,cosine}`).
//!
//! For each perturbation p: distances (sklearn `pairwise_distances` semantics) from the predicted
//! Δ of p to the real Δ of every perturbation, over the genes not excluded for p; the rank of p's
//! own real Δ in the ascending order; score_p = 1 − rank/N (1 = the true perturbation is the
//! closest, 1/N = the farthest).

use rayon::prelude::*;

use super::{BulkPair, ControlMode};

/// Distance between Δ profiles (sklearn `pairwise_distances(metric=…)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PdsDistance {
    /// Σ|a−b| (`l1` / `manhattan` / `cityblock`).
    L1,
    /// √Σ(a−b)² (`l2` / `euclidean`). Computed directly; sklearn's ‖a‖²−2a·b+‖b‖² form differs by
    /// rounding, which can only reorder distances that agree to ~1e-12 relative.
    L2,
    /// 1 − a·b/(‖a‖‖b‖), clipped to [0, 2] (`cosine`). As sklearn (which L2-normalises rows and
    /// leaves a zero row at zero), a zero vector has similarity 0, i.e. distance 1.
    Cosine,
}

impl PdsDistance {
    pub fn name(self) -> &'static str {
        match self {
            PdsDistance::L1 => "l1",
            PdsDistance::L2 => "l2",
            PdsDistance::Cosine => "cosine",
        }
    }

    /// The distance over the genes `keep` (all genes when `keep` is `None`).
    pub fn distance(self, a: &[f64], b: &[f64], keep: Option<&[bool]>) -> f64 {
        let pairs = a.iter().zip(b).enumerate().filter(|(g, _)| keep.is_none_or(|k| k[*g])).map(|(_, p)| p);
        match self {
            PdsDistance::L1 => pairs.map(|(x, y)| (x - y).abs()).sum(),
            PdsDistance::L2 => pairs.map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt(),
            PdsDistance::Cosine => {
                let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
                for (x, y) in pairs {
                    ab += x * y;
                    aa += x * x;
                    bb += y * y;
                }
                let sim = if aa == 0.0 || bb == 0.0 { 0.0 } else { ab / (aa.sqrt() * bb.sqrt()) };
                (1.0 - sim).clamp(0.0, 2.0)
            }
        }
    }
}

/// How exact distance ties are ordered.
///
/// cell-eval ranks with `np.argsort(distances)` (default `kind="quicksort"`), which is NOT
/// stable. Measured with numpy 2.4.6 on x86-64 with AVX-512 (the reference venv): argsort
/// dispatches to x86-simd-sort and reorders ties even for N = 5 (e.g. distances
/// [1,1,0,0,1,1,0,0] → [3,2,6,7,0,1,5,4], stable would be [2,3,6,7,0,1,4,5]); disabling AVX-512
/// still leaves an AVX2 path that differs from stable. The tie order is therefore hardware
/// dependent and cannot be replicated; results agree with cell-eval whenever distances are
/// distinct (the usual case with real-valued data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TieBreak {
    /// Ties in index order: rank = #{j : d_j < d_p} + #{j < p : d_j = d_p}, i.e.
    /// `np.argsort(kind="stable")`. Deterministic; the default.
    #[default]
    Stable,
    /// Mid-rank: rank = #{j : d_j < d_p} + ½·#{j ≠ p : d_j = d_p}, the expectation of a random
    /// tie-break; independent of perturbation order (fairer for a leaderboard).
    Average,
}

/// The gene indices cell-eval excludes for each perturbation: every gene whose name equals the
/// perturbation name exactly (`np.flatnonzero(genes != p)` keeps the rest). A combination name
/// such as "A+B" matches no gene, so nothing is excluded — as cell-eval.
pub fn target_gene_indices(perturbations: &[&str], genes: &[&str]) -> Vec<Vec<usize>> {
    perturbations.iter().map(|p| genes.iter().enumerate().filter(|(_, g)| *g == p).map(|(i, _)| i).collect()).collect()
}

/// PDS per perturbation: score_p = 1 − rank_p / N, where rank_p (0-based) is the position of
/// Δ_real[p] among all Δ_real[j] (j = 0..N, p included) sorted by distance to Δ_pred[p], over
/// the genes not in `exclude[p]` (pass [`target_gene_indices`] for cell-eval's
/// `exclude_target_gene=True`; an empty slice or a missing entry excludes nothing).
///
/// Δ_pred follows `mode` (cell-eval = [`ControlMode::OwnControls`]); Δ_real = real − real_control.
/// Edge cases: N = 0 → empty; N = 1 → [1.0]; all distances equal (e.g. constant prediction with
/// identical real Δ) → ranks decided by `ties`. A NaN distance sorts after every number (as
/// numpy); NaN distances tie with each other.
pub fn discrimination_score(
    pair: &BulkPair<'_>,
    mode: ControlMode,
    distance: PdsDistance,
    exclude: &[Vec<usize>],
    ties: TieBreak,
) -> Vec<f64> {
    let n = pair.len();
    let real: Vec<Vec<f64>> = (0..n).map(|j| pair.real_effect(j)).collect();
    (0..n)
        .into_par_iter()
        .map(|p| {
            let pred = pair.pred_effect(p, mode);
            let keep: Option<Vec<bool>> = exclude.get(p).filter(|e| !e.is_empty()).map(|e| {
                let mut keep = vec![true; pred.len()];
                for &g in e {
                    if g < keep.len() {
                        keep[g] = false;
                    }
                }
                keep
            });
            let d: Vec<f64> = real
                .iter()
                .map(|r| if r.len() == pred.len() { distance.distance(r, &pred, keep.as_deref()) } else { f64::NAN })
                .collect();
            let own = d[p];
            let mut less = 0usize;
            let mut tied_before = 0usize;
            let mut tied_other = 0usize;
            for (j, &dj) in d.iter().enumerate().filter(|(j, _)| *j != p) {
                let (is_less, is_tie) = match (dj.is_nan(), own.is_nan()) {
                    (false, true) => (true, false),
                    (true, true) => (false, true),
                    (true, false) => (false, false),
                    (false, false) => (dj < own, dj == own),
                };
                if is_less {
                    less += 1;
                } else if is_tie {
                    tied_other += 1;
                    if j < p {
                        tied_before += 1;
                    }
                }
            }
            let rank = match ties {
                TieBreak::Stable => (less + tied_before) as f64,
                TieBreak::Average => less as f64 + 0.5 * tied_other as f64,
            };
            1.0 - rank / n as f64
        })
        .collect()
}
