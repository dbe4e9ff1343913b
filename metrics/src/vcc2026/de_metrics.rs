//! The four DE members of the VCC 2026 standard, over a real and a predicted [`DeTable`]
//! (cell-eval2 0.20.0 `metrics/direction.py`, `metrics/de.py`): a gene is significant when its
//! BH-adjusted p < α; it is adjudicable when the reference gives it a non-zero, non-NaN log2
//! fold change; each perturbation's own target gene is removed (resolved against the genes the
//! reference table tested). The direction members read the genes both tables tested.

use std::cmp::Ordering;

use super::wilcoxon::{DeTable, GroupTable};
use super::{LFC_NMAE_MIN_GATE, P_ADJ_THRESHOLD, REACH_PURITY_FLOOR};

fn defined(v: f64) -> bool {
    !v.is_nan() && v != 0.0
}

/// Gene-by-gene join of one perturbation's real and predicted rows: (gene, real position,
/// predicted position) for every gene both tables tested, target excluded.
fn joined(real: &DeTable, pred: &DeTable, target: Option<usize>) -> Vec<(usize, usize, usize)> {
    real.kept
        .iter()
        .enumerate()
        .filter(|(_, g)| Some(**g) != target)
        .filter_map(|(ri, &g)| pred.position(g).map(|pi| (g, ri, pi)))
        .collect()
}

/// Number of reference-significant genes, target excluded (N_conf / n_real).
fn n_real_sig(real: &DeTable, r: &GroupTable, target: Option<usize>) -> usize {
    real.kept.iter().zip(&r.p_adj).filter(|(g, q)| Some(**g) != target && **q < P_ADJ_THRESHOLD).count()
}

/// `de_wilcoxon_direction_fidelity_yield_raw`: k / max(n_pred, n_real), NaN when both are 0.
pub fn direction_fidelity_yield_raw(real: &DeTable, pred: &DeTable, targets: &[Option<usize>]) -> Vec<f64> {
    (0..real.groups.len())
        .map(|p| {
            let (r, q) = (&real.groups[p], &pred.groups[p]);
            let (mut n_pred, mut k) = (0usize, 0usize);
            for (_, ri, pi) in joined(real, pred, targets[p]) {
                let (lr, lp) = (r.log2_fold_change[ri], q.log2_fold_change[pi]);
                if q.p_adj[pi] < P_ADJ_THRESHOLD && defined(lr) {
                    n_pred += 1;
                    if defined(lp) && lp.signum() == lr.signum() {
                        k += 1;
                    }
                }
            }
            let den = n_pred.max(n_real_sig(real, r, targets[p]));
            if den == 0 { f64::NAN } else { k as f64 / den as f64 }
        })
        .collect()
}

/// `de_wilcoxon_direction_reach_raw`: the reference-significant genes ordered by the
/// prediction's confidence (its significant calls first, then ascending adjusted p, ascending
/// p, descending |lfc|, gene name); k* = the deepest count of adjudicable genes at which the
/// fraction with the right sign is ≥ P₀ = 0.9; R = k*/n_real, NaN when n_real = 0.
pub fn direction_reach_raw(real: &DeTable, pred: &DeTable, targets: &[Option<usize>], genes: &[String]) -> Vec<f64> {
    let rank = |v: f64| if v.is_nan() { f64::INFINITY } else { v };
    (0..real.groups.len())
        .map(|p| {
            let (r, q) = (&real.groups[p], &pred.groups[p]);
            let n_real = n_real_sig(real, r, targets[p]);
            if n_real == 0 {
                return f64::NAN;
            }
            let mut pool: Vec<(usize, usize, usize)> = joined(real, pred, targets[p])
                .into_iter()
                .filter(|&(_, ri, _)| r.p_adj[ri] < P_ADJ_THRESHOLD)
                .collect();
            pool.sort_by(|a, b| {
                let (qa, qb) = (q.p_adj[a.2], q.p_adj[b.2]);
                let (sa, sb) = (qa < P_ADJ_THRESHOLD, qb < P_ADJ_THRESHOLD);
                let abs = |i: usize| {
                    let l = q.log2_fold_change[i];
                    if l.is_nan() { f64::NEG_INFINITY } else { l.abs() }
                };
                sb.cmp(&sa)
                    .then_with(|| rank(qa).total_cmp(&rank(qb)))
                    .then_with(|| rank(q.p_value[a.2]).total_cmp(&rank(q.p_value[b.2])))
                    .then_with(|| abs(b.2).total_cmp(&abs(a.2)))
                    .then_with(|| genes[a.0].as_bytes().cmp(genes[b.0].as_bytes()))
                    .then(Ordering::Equal)
            });
            let (mut n_denom, mut n_match, mut k_star) = (0usize, 0usize, 0usize);
            for &(_, ri, pi) in &pool {
                let (lr, lp) = (r.log2_fold_change[ri], q.log2_fold_change[pi]);
                if defined(lr) {
                    n_denom += 1;
                    if defined(lp) && lp.signum() == lr.signum() {
                        n_match += 1;
                    }
                }
                if n_denom > 0 && n_match as f64 / n_denom as f64 >= REACH_PURITY_FLOOR {
                    k_star = k_star.max(n_denom);
                }
            }
            k_star as f64 / n_real as f64
        })
        .collect()
}

/// `de_wilcoxon_sig_jaccard`: |R ∩ R̂| / |R ∪ R̂| of the two significant sets, 1 for an empty union.
pub fn sig_jaccard(real: &DeTable, pred: &DeTable, targets: &[Option<usize>]) -> Vec<f64> {
    (0..real.groups.len())
        .map(|p| {
            let (r, q) = (&real.groups[p], &pred.groups[p]);
            let sig = |t: &DeTable, g: &GroupTable| -> Vec<usize> {
                t.kept
                    .iter()
                    .zip(&g.p_adj)
                    .filter(|(gene, a)| Some(**gene) != targets[p] && **a < P_ADJ_THRESHOLD)
                    .map(|(gene, _)| *gene)
                    .collect()
            };
            let (a, b) = (sig(real, r), sig(pred, q));
            let inter = a.iter().filter(|g| b.binary_search(g).is_ok()).count();
            let union = a.len() + b.len() - inter;
            if union == 0 { 1.0 } else { inter as f64 / union as f64 }
        })
        .collect()
}

/// The lfc_nmae gate of one perturbation: the reference-significant genes with a finite fold
/// change, target excluded, as (gene, reference log2 fold change).
pub fn lfc_gate(real: &DeTable, p: usize, target: Option<usize>) -> Vec<(usize, f64)> {
    let r = &real.groups[p];
    real.kept
        .iter()
        .enumerate()
        .filter(|(i, g)| Some(**g) != target && r.p_adj[*i] < P_ADJ_THRESHOLD && r.log2_fold_change[*i].is_finite())
        .map(|(i, &g)| (g, r.log2_fold_change[i]))
        .collect()
}

/// Σ_gate |a_g − b_g| / Σ_gate |lfc_g| as cell-eval2 computes it (a mean over a mean), or
/// `None` for a gate below the minimum size or a zero / non-finite denominator.
fn nmae(gate: &[(usize, f64)], a: impl Fn(usize) -> f64, b: impl Fn(usize, f64) -> f64) -> Option<f64> {
    if gate.len() < LFC_NMAE_MIN_GATE {
        return None;
    }
    let n = gate.len() as f64;
    let num = gate.iter().map(|&(g, l)| (a(g) - b(g, l)).abs()).sum::<f64>() / n;
    let den = gate.iter().map(|&(_, l)| l.abs()).sum::<f64>() / n;
    (den.is_finite() && den != 0.0).then(|| num / den)
}

/// A table's log2 fold change of gene `g` for perturbation `p`, 0 where it was not tested or is
/// not finite (`de_lfc_nmae`'s reading of a missing prediction).
fn lfc_or_zero(t: &DeTable, p: usize, g: usize) -> f64 {
    t.position(g).map(|i| t.groups[p].log2_fold_change[i]).filter(|v| v.is_finite()).unwrap_or(0.0)
}

/// `de_wilcoxon_lfc_nmae` per perturbation (`None` = omitted: gate below 10 genes, or a zero
/// denominator): Σ |lfĉ − lfc| / Σ |lfc| over the reference's gate.
pub fn lfc_nmae(real: &DeTable, pred: &DeTable, targets: &[Option<usize>]) -> Vec<Option<f64>> {
    (0..real.groups.len())
        .map(|p| {
            let gate = lfc_gate(real, p, targets[p]);
            nmae(&gate, |g| lfc_or_zero(pred, p, g), |_, l| l)
        })
        .collect()
}

/// The replicate estimator of `de_wilcoxon_lfc_nmae` (cell-eval2 `full_gate_raw`): the gate and
/// the denominator from the full reference table, the numerator Σ |lfc_A − lfc_B| of the two
/// halves' tables (each against its own controls).
pub fn lfc_nmae_full_gate(
    full: &DeTable,
    half_a: &DeTable,
    half_b: &DeTable,
    targets: &[Option<usize>],
) -> Vec<Option<f64>> {
    (0..full.groups.len())
        .map(|p| {
            let gate = lfc_gate(full, p, targets[p]);
            nmae(&gate, |g| lfc_or_zero(half_a, p, g), |g, _| lfc_or_zero(half_b, p, g))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(kept: Vec<usize>, rows: Vec<(Vec<f64>, Vec<f64>)>) -> DeTable {
        let n = kept.len();
        DeTable {
            kept,
            reference_mean: vec![1.0; n],
            reference_cells: 10,
            groups: rows
                .into_iter()
                .map(|(lfc, p_adj)| GroupTable {
                    n_cells: 10,
                    target_mean: vec![1.0; lfc.len()],
                    p_value: p_adj.clone(),
                    log2_fold_change: lfc,
                    p_adj,
                })
                .collect(),
        }
    }

    #[test]
    fn direction_members() {
        let genes: Vec<String> = (0..4).map(|i| format!("g{i}")).collect();
        // real: genes 0,1,2 significant (+,-,+), gene 3 not
        let real = table(vec![0, 1, 2, 3], vec![(vec![1.0, -1.0, 2.0, 0.5], vec![0.01, 0.01, 0.01, 0.5])]);
        // pred: calls 0 (+, right) and 1 (+, wrong) and 3 (not adjudicable as significant real? it is adjudicable)
        let pred = table(vec![0, 1, 2, 3], vec![(vec![1.0, 1.0, 0.0, -1.0], vec![0.001, 0.01, 0.9, 0.02])]);
        let none = [None];
        // n_pred = genes 0,1,3 (p_adj < .05, real lfc defined) = 3; k = 1 (gene 0); n_real = 3
        assert_eq!(direction_fidelity_yield_raw(&real, &pred, &none), vec![1.0 / 3.0]);
        // excluding gene 0 as the target: n_pred = 2, k = 0, n_real = 2
        assert_eq!(direction_fidelity_yield_raw(&real, &pred, &[Some(0)]), vec![0.0]);
        // reach: order g0 (sig, .001), g1 (sig, .01), g2 (not sig); purity 1, 1/2, 1/3 -> k* = 1
        assert_eq!(direction_reach_raw(&real, &pred, &none, &genes), vec![1.0 / 3.0]);
        // jaccard: R = {0,1,2}, R̂ = {0,1,3} -> 2/4
        assert_eq!(sig_jaccard(&real, &pred, &none), vec![0.5]);
        let empty = table(vec![0], vec![(vec![1.0], vec![0.9])]);
        assert_eq!(sig_jaccard(&empty, &empty, &none), vec![1.0]);
        assert!(direction_fidelity_yield_raw(&empty, &empty, &none)[0].is_nan());
        assert!(direction_reach_raw(&empty, &empty, &none, &genes)[0].is_nan());
    }

    #[test]
    fn lfc_nmae_gate_and_zero_fill() {
        let n = 12;
        let kept: Vec<usize> = (0..n).collect();
        let real = table(kept.clone(), vec![(vec![1.0; n], vec![0.01; n])]);
        // prediction tests only the first half of the genes
        let pred = table((0..6).collect(), vec![(vec![0.5; 6], vec![0.01; 6])]);
        let v = lfc_nmae(&real, &pred, &[None])[0].unwrap();
        assert!((v - (6.0 * 0.5 + 6.0 * 1.0) / 12.0).abs() < 1e-15);
        // a gate of 11 genes is still scored, of 9 is omitted
        assert!(lfc_nmae(&real, &pred, &[Some(0)])[0].is_some());
        let small = table((0..9).collect(), vec![(vec![1.0; 9], vec![0.01; 9])]);
        assert_eq!(lfc_nmae(&small, &small, &[None]), vec![None]);
        let z = lfc_nmae_full_gate(&real, &real, &real, &[None])[0].unwrap();
        assert_eq!(z, 0.0);
    }
}
