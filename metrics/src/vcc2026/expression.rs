//! The expression members of the VCC 2026 standard, over group-sum bulks (`bulk.rs`):
//! `pds_cosine` (panel targets removed, midrank, denominator n − 1), the unbiased squared error
//! `expr_mse_unbiased` and its capped form `expr_mse_unbiased_capped` (ρ-scaled, per-perturbation
//! capped prediction correction), the measured effect `expr_distance_unbiased`, the diagnostic
//! `expr_real_mass_ratio`, and the scored ratio of sums `expr_mse_unbiased_capped_norm`.
//! Reference: cell-eval2 0.20.0 `metrics/discrimination.py`, `metrics/delta.py`, `moments.py`.

/// Bulks and jackknife corrections of one side, perturbations in panel order.
#[derive(Debug, Clone)]
pub struct Bulks {
    pub perts: Vec<Vec<f64>>,
    pub correction: Vec<f64>,
    pub control: Vec<f64>,
    pub control_correction: f64,
}

fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Cosine distance with cell-eval2's conventions: a zero-norm operand gives distance 1; clipped to [0, 2].
fn cosine_distance(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f64 = a.iter().map(|x| x * x).sum();
    let nb: f64 = b.iter().map(|x| x * x).sum();
    let denom = na.sqrt() * nb.sqrt();
    let sim = if denom != 0.0 { dot / denom } else { 0.0 };
    (1.0 - sim).clamp(0.0, 2.0)
}

/// `pds_cosine` per perturbation: the predicted effect (against `pred_origin`) is compared by
/// cosine distance with every measured effect (against the real control), in the space with the
/// columns of every panel target gene removed; PDS = 1 − k/(n − 1) with k the match's midrank
/// (n_less + (n_equal − 1)/2) among the n distances.
pub fn pds_cosine(real: &Bulks, pred_perts: &[Vec<f64>], pred_origin: &[f64], targets: &[Option<usize>]) -> Vec<f64> {
    let n_genes = real.control.len();
    let mut panel = vec![false; n_genes];
    for g in targets.iter().flatten() {
        panel[*g] = true;
    }
    let keep: Vec<usize> = (0..n_genes).filter(|&g| !panel[g]).collect();
    let effect = |bulk: &[f64], origin: &[f64]| -> Vec<f64> { keep.iter().map(|&g| bulk[g] - origin[g]).collect() };
    let real_eff: Vec<Vec<f64>> = real.perts.iter().map(|b| effect(b, &real.control)).collect();
    let n = real_eff.len();
    let denom = n as f64 - 1.0;
    use rayon::prelude::*;
    pred_perts
        .par_iter()
        .enumerate()
        .map(|(i, b)| {
            let p = effect(b, pred_origin);
            let d: Vec<f64> = real_eff.iter().map(|r| cosine_distance(&p, r)).collect();
            let m = d[i];
            let (less, equal) = if m.is_nan() {
                let finite = d.iter().filter(|v| !v.is_nan()).count();
                (finite, n - finite)
            } else {
                (d.iter().filter(|&&v| v < m).count(), d.iter().filter(|&&v| v == m).count())
            };
            let rank = less as f64 + (equal as f64 - 1.0) / 2.0;
            if denom <= 0.0 { 1.0 } else { 1.0 - rank / denom }
        })
        .collect()
}

/// Genes scored for each perturbation (G, or G − 1 when its target gene is measured).
fn gene_counts(n_genes: usize, targets: &[Option<usize>]) -> Vec<f64> {
    targets.iter().map(|t| if t.is_some() { n_genes as f64 - 1.0 } else { n_genes as f64 }).collect()
}

/// Squared distance over every gene but the target, minus the two corrections, per gene scored.
fn per_gene(a: &[f64], b: &[f64], corrections: f64, target: Option<usize>, g_p: f64) -> f64 {
    let mut s = sq_dist(a, b) - corrections;
    if let Some(t) = target {
        s -= (a[t] - b[t]) * (a[t] - b[t]);
    }
    if g_p > 0.0 { s / g_p } else { f64::NAN }
}

/// `expr_mse_unbiased`: (‖b̂_p − b_p‖² − Ĉ_p − C_p)/G_p over the genes but the target.
pub fn mse_unbiased(real: &Bulks, pred: &Bulks, targets: &[Option<usize>]) -> Vec<f64> {
    let g = gene_counts(real.control.len(), targets);
    (0..real.perts.len())
        .map(|i| per_gene(&pred.perts[i], &real.perts[i], pred.correction[i] + real.correction[i], targets[i], g[i]))
        .collect()
}

/// The prediction's across-perturbation budget B = Σ_g Σ_p w_p (b̂_pg − b̄_g)², weighted mean b̄,
/// each perturbation's target gene left out of its gene (`delta._across_pert_budget`).
fn across_pert_budget(pred: &[Vec<f64>], targets: &[Option<usize>], w: &[f64]) -> f64 {
    let n = pred.len();
    if n == 0 {
        return 0.0;
    }
    let n_genes = pred[0].len();
    let mut excluded: Vec<Vec<usize>> = vec![Vec::new(); n_genes];
    for (k, t) in targets.iter().enumerate() {
        if let Some(t) = t {
            excluded[*t].push(k);
        }
    }
    let wsum_all: f64 = w.iter().sum();
    let mut total = 0.0;
    for g in 0..n_genes {
        let mean = pred.iter().map(|r| r[g]).sum::<f64>() / n as f64;
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        for (k, r) in pred.iter().enumerate() {
            let d = r[g] - mean;
            s1 += w[k] * d;
            s2 += w[k] * d * d;
        }
        let (mut wsum, mut cnt) = (wsum_all, n as f64);
        for &k in &excluded[g] {
            let d = pred[k][g] - mean;
            s1 -= w[k] * d;
            s2 -= w[k] * d * d;
            wsum -= w[k];
            cnt -= 1.0;
        }
        if cnt >= 2.0 && wsum > 0.0 {
            total += (s2 - s1 * s1 / wsum).max(0.0);
        }
    }
    total
}

/// `expr_mse_unbiased_capped`: the prediction's correction is capped at the reference's,
/// min(Ĉ_p, C_p), and scaled by ρ = min(1, B / Σ_p min(Ĉ_p, C_p)/G_p).
pub fn mse_unbiased_capped(real: &Bulks, pred: &Bulks, targets: &[Option<usize>]) -> Vec<f64> {
    let g = gene_counts(real.control.len(), targets);
    let w: Vec<f64> = g.iter().map(|&x| if x > 0.0 { 1.0 / x } else { 0.0 }).collect();
    let mut term: Vec<f64> = pred.correction.iter().zip(&real.correction).map(|(p, r)| p.min(*r)).collect();
    let claim: f64 = term.iter().zip(&w).map(|(t, w)| t * w).sum();
    if claim > 0.0 {
        let ratio = across_pert_budget(&pred.perts, targets, &w) / claim;
        if ratio < 1.0 {
            term.iter_mut().for_each(|t| *t *= ratio);
        }
    }
    (0..real.perts.len())
        .map(|i| per_gene(&pred.perts[i], &real.perts[i], term[i] + real.correction[i], targets[i], g[i]))
        .collect()
}

/// `expr_distance_unbiased`: (‖b_p − b_ctrl‖² − C_p − C_ctrl)/G_p, the reference's own effect.
pub fn distance_unbiased(real: &Bulks, targets: &[Option<usize>]) -> Vec<f64> {
    let g = gene_counts(real.control.len(), targets);
    (0..real.perts.len())
        .map(|i| {
            per_gene(&real.perts[i], &real.control, real.correction[i] + real.control_correction, targets[i], g[i])
        })
        .collect()
}

/// `expr_real_mass_ratio`: Σ_g expm1(b_p,g)/TS of the reference (1 for a group with counts).
pub fn real_mass_ratio(real: &Bulks, target_sum: f64) -> Vec<f64> {
    real.perts.iter().map(|b| b.iter().map(|v| v.exp_m1()).sum::<f64>() / target_sum).collect()
}

/// `expr_mse_unbiased_capped_norm`: Σ_p N_p / Σ_p D_p over the perturbations where both are
/// finite; `None` when the denominator's sum is not positive (cell-eval2 refuses such a panel).
pub fn capped_norm(numerator: &[f64], denominator: &[f64]) -> Option<f64> {
    let (mut n, mut d) = (0.0, 0.0);
    for (a, b) in numerator.iter().zip(denominator) {
        if a.is_finite() && b.is_finite() {
            n += a;
            d += b;
        }
    }
    (d > 0.0).then(|| n / d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulks(perts: Vec<Vec<f64>>, control: Vec<f64>) -> Bulks {
        let n = perts.len();
        Bulks { perts, correction: vec![0.0; n], control, control_correction: 0.0 }
    }

    #[test]
    fn pds_perfect_constant_and_tied() {
        let real = bulks(vec![vec![1.0, 0.0, 0.0], vec![0.0, 1.0, 0.0], vec![0.0, 0.0, 1.0]], vec![0.0; 3]);
        let none = [None, None, None];
        assert_eq!(pds_cosine(&real, &real.perts, &real.control, &none), vec![1.0; 3]);
        // a zero effect ties every distance at 1: each scores exactly 0.5
        let zero = vec![vec![0.0; 3]; 3];
        assert_eq!(pds_cosine(&real, &zero, &real.control, &none), vec![0.5; 3]);
        // removing the panel's target genes (all three) leaves nothing: ties again
        let t = [Some(0), Some(1), Some(2)];
        assert_eq!(pds_cosine(&real, &real.perts, &real.control, &t), vec![0.5; 3]);
    }

    #[test]
    fn mse_terms() {
        let mut real = bulks(vec![vec![1.0, 2.0], vec![0.0, 1.0]], vec![0.0, 0.0]);
        real.correction = vec![0.5, 0.1];
        let mut pred = bulks(vec![vec![2.0, 2.0], vec![0.0, 3.0]], vec![0.0, 0.0]);
        pred.correction = vec![1.0, 0.05];
        let t = [Some(1), None];
        let m = mse_unbiased(&real, &pred, &t);
        assert_eq!(m, vec![(1.0 - 1.5) / 1.0, (4.0 - 0.15) / 2.0]);
        let d = distance_unbiased(&real, &t);
        assert_eq!(d, vec![(1.0 - 0.5) / 1.0, (1.0 - 0.1) / 2.0]);
        // capped: min(Ĉ, C) = [0.5, 0.05], claim = 0.5/1 + 0.05/2 = 0.525; budget from the spread
        let c = mse_unbiased_capped(&real, &pred, &t);
        let budget = {
            // gene 0: both rows (w 1, 0.5), mean 1; gene 1: row 1 only -> fewer than 2 rows
            let (w0, w1) = (1.0, 0.5);
            let (d0, d1) = (1.0, -1.0);
            let s1: f64 = w0 * d0 + w1 * d1;
            let s2: f64 = w0 * d0 * d0 + w1 * d1 * d1;
            s2 - s1 * s1 / (w0 + w1)
        };
        let rho = (budget / 0.525f64).min(1.0);
        assert!((c[0] - (1.0 - rho * 0.5 - 0.5)).abs() < 1e-12);
        assert!((c[1] - (4.0 - rho * 0.05 - 0.1) / 2.0).abs() < 1e-12);
        assert_eq!(capped_norm(&[1.0, f64::NAN, 2.0], &[2.0, 1.0, 4.0]), Some(0.5));
        assert_eq!(capped_norm(&[1.0], &[-1.0]), None);
    }
}
