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

    /// The distance over all genes.
    pub fn distance(self, a: &[f64], b: &[f64]) -> f64 {
        self.distance_over(a, b, &[(0, a.len().min(b.len()))])
    }

    /// The distance over the gene ranges `runs` (`lo..hi` pairs, within both slices).
    fn distance_over(self, a: &[f64], b: &[f64], runs: &[(usize, usize)]) -> f64 {
        match self {
            PdsDistance::L1 => lane_sum(a, b, runs, |x, y| (x - y).abs()),
            PdsDistance::L2 => lane_sum(a, b, runs, |x, y| (x - y) * (x - y)).sqrt(),
            PdsDistance::Cosine => {
                let ab = lane_sum(a, b, runs, |x, y| x * y);
                let aa = lane_sum(a, b, runs, |x, _| x * x);
                let bb = lane_sum(a, b, runs, |_, y| y * y);
                let sim = if aa == 0.0 || bb == 0.0 { 0.0 } else { ab / (aa.sqrt() * bb.sqrt()) };
                (1.0 - sim).clamp(0.0, 2.0)
            }
        }
    }
}

/// Lanes of [`lane_sum`]: independent partial sums the compiler keeps in vector registers.
const LANES: usize = 8;

/// Σ f(a_g, b_g) over the genes of `runs`, in [`LANES`] interleaved partial sums added in a fixed
/// order at the end (deterministic, and vectorised where a sequential sum cannot be).
fn lane_sum(a: &[f64], b: &[f64], runs: &[(usize, usize)], f: impl Fn(f64, f64) -> f64) -> f64 {
    let mut acc = [0.0f64; LANES];
    let mut tail = 0.0;
    for &(lo, hi) in runs {
        let (a, b) = (&a[lo..hi], &b[lo..hi]);
        let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
        tail += ca.remainder().iter().zip(cb.remainder()).map(|(&x, &y)| f(x, y)).sum::<f64>();
        for (x, y) in ca.zip(cb) {
            for l in 0..LANES {
                acc[l] += f(x[l], y[l]);
            }
        }
    }
    acc.iter().sum::<f64>() + tail
}

/// The ranges of `0..n` left when the genes `excluded` are taken out.
fn kept_runs(n: usize, excluded: impl IntoIterator<Item = usize>) -> Vec<(usize, usize)> {
    let mut cut: Vec<usize> = excluded.into_iter().filter(|&g| g < n).collect();
    cut.sort_unstable();
    cut.dedup();
    let mut runs = Vec::with_capacity(cut.len() + 1);
    let mut lo = 0;
    for g in cut {
        if g > lo {
            runs.push((lo, g));
        }
        lo = g + 1;
    }
    if n > lo {
        runs.push((lo, n));
    }
    runs
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
            let runs = kept_runs(pred.len(), exclude.get(p).into_iter().flatten().copied());
            let d: Vec<f64> = real
                .iter()
                .map(|r| if r.len() == pred.len() { distance.distance_over(r, &pred, &runs) } else { f64::NAN })
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
