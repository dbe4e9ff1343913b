//! cell-eval's DE-based metrics of a predicted DE table against the real one.
//!
//! Mirrors cell-eval 0.8.2 `_types/_de.py` (`DEResults`, `DEComparison.compute_overlap`) and
//! `metrics/_de.py` (`de_overlap_metric`, `DESpearmanSignificant`, `DEDirectionMatch`,
//! `DESpearmanLFC`, `DESigGenesRecall`, `DENsigCounts`, `compute_pr_auc`, `compute_roc_auc`),
//! with cell-eval's default `fdr_threshold = 0.05` and its float32 casts: `DEResults` stores
//! `fdr`, `p_value`, `log2_fold_change` and `abs_log2_fold_change` as Float32, so "significant"
//! is `f32(fdr) < f32(0.05)` (NaN never significant), genes are ranked by `|f32(lfc)|`, and the
//! AUC scores are `−log10(clip(f32(fdr), 1e-10, 1))` in float32 (polars: `ln(x)/ln(10)` in f32).
//!
//! Genes are identified by their column index; `real[i]` and `pred[i]` must be the same
//! perturbation over the same genes in the same order (cell-eval joins on (target, feature) and
//! breaks rank ties by the frame's row order, which for pdex frames is the gene order).

use super::error::DeError;
use super::table::GroupDe;

/// The fixed cut-offs of `overlap_at_K` / `precision_at_K` (cell-eval registers 50, 100, 200, 500).
pub const FIXED_K: [usize; 4] = [50, 100, 200, 500];

/// cell-eval's significance threshold on `fdr`.
pub const FDR_THRESHOLD: f32 = 0.05;

/// Every per-perturbation DE metric of cell-eval for one perturbation.
///
/// `Option` fields are `None` exactly where cell-eval's result dict has no entry for the
/// perturbation (metrics that iterate over the real significant genes skip a perturbation with
/// none); `Some(NaN)` is a NaN that cell-eval itself returns.
#[derive(Debug, Clone, PartialEq)]
pub struct DePerturbationScores {
    /// `overlap_at_N`: top-N overlap with N = number of real significant genes.
    pub overlap_at_n: f64,
    /// `overlap_at_50`, `_100`, `_200`, `_500` (order of [`FIXED_K`]).
    pub overlap_at_k: [f64; 4],
    /// `precision_at_N`: N = number of predicted significant genes.
    pub precision_at_n: f64,
    /// `precision_at_50`, ... (order of [`FIXED_K`]).
    pub precision_at_k: [f64; 4],
    /// `de_direction_match`.
    pub direction_match: Option<f64>,
    /// `de_spearman_lfc_sig`.
    pub spearman_lfc_sig: Option<f64>,
    /// `de_sig_genes_recall`.
    pub sig_genes_recall: Option<f64>,
    /// `de_nsig_counts` real / pred.
    pub nsig_real: usize,
    pub nsig_pred: usize,
    /// `pr_auc`.
    pub pr_auc: f64,
    /// `roc_auc`.
    pub roc_auc: f64,
}

/// All DE metrics of a prediction: per perturbation (input order) and the one global value.
#[derive(Debug, Clone, PartialEq)]
pub struct DeComparison {
    pub per_perturbation: Vec<DePerturbationScores>,
    /// `de_spearman_sig`, one value over perturbations.
    pub spearman_sig: f64,
}

/// `f32(fdr) < 0.05f32` per gene (polars compares the Float32 column with a float32 literal).
pub fn significant_mask(fdr: &[f64]) -> Vec<bool> {
    fdr.iter().map(|&q| (q as f32) < FDR_THRESHOLD).collect()
}

/// cell-eval `DEResults.get_top_genes(ABS_LOG2_FOLD_CHANGE)` for one perturbation: the indices of
/// the significant genes ordered by |f32(lfc)| descending (polars `rank("ordinal",
/// descending=True)`: NaN first, then +∞, …; equal values keep gene order).
pub fn ranked_significant_genes(lfc: &[f64], fdr: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..lfc.len()).filter(|&g| (fdr[g] as f32) < FDR_THRESHOLD).collect();
    idx.sort_by(|&a, &b| (lfc[b] as f32).abs().total_cmp(&(lfc[a] as f32).abs()));
    idx
}

/// Which list `k` counts in [`overlap_at`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverlapKind {
    /// `overlap_at_*`: k_eff = min(k or |real|, |real|).
    Overlap,
    /// `precision_at_*`: k_eff = min(k or |pred|, |pred|).
    Precision,
}

/// `DEComparison.compute_overlap` for one perturbation, given both ranked significant lists:
/// k_eff as in [`OverlapKind`] (`k = None` or `Some(0)` means "the whole list", as Python's
/// `not k`); k_eff = 0 → 0.0; else |set(real[..k_eff]) ∩ set(pred[..k_eff])| / k_eff (each list
/// truncated to at most k_eff, so precision also truncates the *real* list to k_eff).
/// No significant gene anywhere → 0.0 (cell-eval's whole-table shortcut gives the same).
pub fn overlap_at(real_ranked: &[usize], pred_ranked: &[usize], k: Option<usize>, kind: OverlapKind) -> f64 {
    let base = match kind {
        OverlapKind::Overlap => real_ranked.len(),
        OverlapKind::Precision => pred_ranked.len(),
    };
    let k_eff = match k {
        Some(k) if k > 0 => k.min(base),
        _ => base,
    };
    if k_eff == 0 {
        return 0.0;
    }
    let real = &real_ranked[..k_eff.min(real_ranked.len())];
    let pred: std::collections::HashSet<usize> = pred_ranked[..k_eff.min(pred_ranked.len())].iter().copied().collect();
    let hits = real.iter().filter(|g| pred.contains(g)).count();
    hits as f64 / k_eff as f64
}

/// Average ranks (1-based; ties get the mean of their positions), as polars `rank("average")`.
fn average_ranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && x[idx[j + 1]] == x[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// Pearson correlation Σ(x−x̄)(y−ȳ)/√(Σ(x−x̄)²·Σ(y−ȳ)²); NaN for n < 2 or a constant side.
fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len();
    if n < 2 {
        return f64::NAN;
    }
    let mx = x.iter().sum::<f64>() / n as f64;
    let my = y.iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (dx, dy) = (x[i] - mx, y[i] - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx == 0.0 || syy == 0.0 {
        return f64::NAN;
    }
    sxy / (sxx * syy).sqrt()
}

/// Spearman correlation as polars `pl.corr(a, b, method="spearman")`: Pearson of average ranks.
/// n < 2 or a constant side → NaN; any NaN input → NaN.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    if x.iter().chain(y).any(|v| v.is_nan()) {
        return f64::NAN;
    }
    pearson(&average_ranks(x), &average_ranks(y))
}

/// numpy's pairwise summation (`np.add.reduce` on a contiguous float64 array): blocks of ≤ 128
/// with 8 accumulators, recursive halving above, starting from 0.0.
pub fn numpy_sum(a: &[f64]) -> f64 {
    0.0 + super::table::numpy_pairwise(a)
}

/// sklearn `_binary_clf_curve`: (fps, tps) at each distinct score, scores descending. f32 scores
/// convert to f64 exactly, so order and ties are those of the f32 values.
fn clf_curve(labels: &[bool], scores: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut fps, mut tps) = (Vec::new(), Vec::new());
    let mut tp = 0.0f64;
    for (pos, &i) in idx.iter().enumerate() {
        if labels[i] {
            tp += 1.0;
        }
        let last = pos + 1 == idx.len() || scores[idx[pos + 1]] != scores[i];
        if last {
            tps.push(tp);
            fps.push(1.0 + pos as f64 - tp);
        }
    }
    (fps, tps)
}

fn widen(scores: &[f32]) -> Vec<f64> {
    scores.iter().map(|&x| f64::from(x)).collect()
}

/// sklearn `auc(recall, precision)` of `precision_recall_curve(labels, scores)` (the trapezoid
/// rule over the PR points at each distinct score, every threshold kept, (R=0, P=1) appended), as
/// STAMP computes its PR-AUC. NaN without both a positive and a negative label (STAMP reports
/// "Nan" there: its `roc_auc_score` in the same `try` raises).
pub fn pr_auc_trapezoid(labels: &[bool], scores: &[f64]) -> f64 {
    if labels.len() != scores.len() || !labels.contains(&true) || !labels.contains(&false) {
        return f64::NAN;
    }
    let (fps, tps) = clf_curve(labels, scores);
    let total = *tps.last().unwrap_or(&0.0);
    let mut points: Vec<(f64, f64)> =
        tps.iter().zip(&fps).map(|(&t, &f)| (t / total, if t + f != 0.0 { t / (t + f) } else { 0.0 })).rev().collect();
    points.push((0.0, 1.0));
    let terms: Vec<f64> = points.windows(2).map(|w| (w[0].0 - w[1].0) * (w[0].1 + w[1].1) / 2.0).collect();
    numpy_sum(&terms)
}

/// sklearn `average_precision_score(labels, scores)` (step-wise, no interpolation):
/// AP = max(0, −Σ diff(recall)·precision[:-1]) over the reversed PR curve with (P=1, R=0) appended,
/// P = tp/(tp+fp), R = tp/tp_total at each distinct score; tied scores form one step.
/// Caller guarantees at least one positive and one negative.
pub fn average_precision(labels: &[bool], scores: &[f32]) -> f64 {
    let (fps, tps) = clf_curve(labels, &widen(scores));
    let total = *tps.last().unwrap();
    let mut precision: Vec<f64> =
        tps.iter().zip(&fps).map(|(&t, &f)| if t + f != 0.0 { t / (t + f) } else { 0.0 }).collect();
    let mut recall: Vec<f64> = tps.iter().map(|&t| t / total).collect();
    precision.reverse();
    recall.reverse();
    precision.push(1.0);
    recall.push(0.0);
    let terms: Vec<f64> = (0..recall.len() - 1).map(|i| (recall[i + 1] - recall[i]) * precision[i]).collect();
    let v = -numpy_sum(&terms);
    if v > 0.0 { v } else { 0.0 }
}

/// sklearn `auc(*roc_curve(labels, scores)[:2])`: ROC points at distinct scores, collinear points
/// dropped (`drop_intermediate=True`, when > 2 points), (0, 0) prepended, fpr = fp/fp_total,
/// tpr = tp/tp_total, trapezoid area Σ Δfpr·(tpr_i + tpr_{i−1})/2 (numpy summation).
/// Caller guarantees at least one positive and one negative.
pub fn roc_auc(labels: &[bool], scores: &[f32]) -> f64 {
    roc_auc_f64(labels, &widen(scores))
}

/// [`roc_auc`] of f64 scores (sklearn `roc_auc_score`).
pub fn roc_auc_f64(labels: &[bool], scores: &[f64]) -> f64 {
    let (mut fps, mut tps) = clf_curve(labels, scores);
    if fps.len() > 2 {
        let keep: Vec<usize> = (0..fps.len())
            .filter(|&i| {
                i == 0
                    || i == fps.len() - 1
                    || ((fps[i + 1] - fps[i]) - (fps[i] - fps[i - 1])) != 0.0
                    || ((tps[i + 1] - tps[i]) - (tps[i] - tps[i - 1])) != 0.0
            })
            .collect();
        fps = keep.iter().map(|&i| fps[i]).collect();
        tps = keep.iter().map(|&i| tps[i]).collect();
    }
    fps.insert(0, 0.0);
    tps.insert(0, 0.0);
    let (fl, tl) = (*fps.last().unwrap(), *tps.last().unwrap());
    let fpr: Vec<f64> = fps.iter().map(|&f| f / fl).collect();
    let tpr: Vec<f64> = tps.iter().map(|&t| t / tl).collect();
    let terms: Vec<f64> = (1..fpr.len()).map(|i| (fpr[i] - fpr[i - 1]) * (tpr[i] + tpr[i - 1]) / 2.0).collect();
    numpy_sum(&terms)
}

/// polars `sign` with polars equality (NaN equals NaN): −1, 0, 1, or NaN.
fn sign_eq(a: f32, b: f32) -> bool {
    let s = |x: f32| {
        if x > 0.0 {
            1i8
        } else if x < 0.0 {
            -1
        } else if x == 0.0 {
            0
        } else {
            2
        }
    };
    s(a) == s(b)
}

/// All of cell-eval's DE metrics for aligned real/pred tables (`real[i]`, `pred[i]`: the same
/// perturbation, same genes in the same order):
///
/// - `overlap_at_{N,50,100,200,500}`, `precision_at_{N,...}`: [`overlap_at`] on the
///   [`ranked_significant_genes`] lists;
/// - `de_nsig_counts`: |real sig|, |pred sig|;
/// - `de_sig_genes_recall` = |real sig ∩ pred sig| / |real sig| (None when |real sig| = 0);
/// - `de_direction_match` = mean over real sig genes of [sign f32(lfc_real) = sign f32(lfc_pred)]
///   (None when no real sig gene);
/// - `de_spearman_lfc_sig` = [`spearman`] of f32 lfc (real vs pred) over the real sig genes (None
///   when none; NaN for one gene or a constant side);
/// - `pr_auc` / `roc_auc`: labels = real sig over all genes, scores = −log10(clip(f32(fdr_pred),
///   1e-10, 1)) in f32; NaN when the labels are all 0 or all 1 (or there are no genes);
/// - `de_spearman_sig` = [`spearman`](nsig_real, nsig_pred) over the perturbations with ≥ 1 real
///   significant gene; 1.0 when there is none; NaN for one such perturbation or a constant side.
///
/// Error when the lengths of `real` and `pred`, or a perturbation's gene counts, differ.
pub fn compare_de(real: &[GroupDe], pred: &[GroupDe]) -> Result<DeComparison, DeError> {
    if real.len() != pred.len() {
        return Err(DeError::TableMismatch(format!("{} real vs {} predicted perturbations", real.len(), pred.len())));
    }
    let mut per = Vec::with_capacity(real.len());
    let (mut ns_real, mut ns_pred) = (Vec::new(), Vec::new());
    let ln10 = 10f32.ln();
    for (i, (r, p)) in real.iter().zip(pred).enumerate() {
        let n = r.fdr.len();
        if p.fdr.len() != n || r.log2_fold_change.len() != n || p.log2_fold_change.len() != n {
            return Err(DeError::TableMismatch(format!("perturbation {i}: different gene counts")));
        }
        let real_sig = significant_mask(&r.fdr);
        let pred_sig = significant_mask(&p.fdr);
        let real_rank = ranked_significant_genes(&r.log2_fold_change, &r.fdr);
        let pred_rank = ranked_significant_genes(&p.log2_fold_change, &p.fdr);
        let ov = |k: Option<usize>, kind| overlap_at(&real_rank, &pred_rank, k, kind);
        let nsig_real = real_rank.len();
        let nsig_pred = pred_rank.len();
        let sig_genes: Vec<usize> = (0..n).filter(|&g| real_sig[g]).collect();
        let (direction_match, spearman_lfc_sig, sig_genes_recall) = if sig_genes.is_empty() {
            (None, None, None)
        } else {
            let m = sig_genes.len() as f64;
            let dm = sig_genes
                .iter()
                .filter(|&&g| sign_eq(r.log2_fold_change[g] as f32, p.log2_fold_change[g] as f32))
                .count() as f64
                / m;
            let xr: Vec<f64> = sig_genes.iter().map(|&g| r.log2_fold_change[g] as f32 as f64).collect();
            let xp: Vec<f64> = sig_genes.iter().map(|&g| p.log2_fold_change[g] as f32 as f64).collect();
            let rec = sig_genes.iter().filter(|&&g| pred_sig[g]).count() as f64 / m;
            (Some(dm), Some(spearman(&xr, &xp)), Some(rec))
        };
        if nsig_real > 0 {
            ns_real.push(nsig_real as f64);
            ns_pred.push(nsig_pred as f64);
        }
        let positives = real_sig.iter().filter(|&&s| s).count();
        let (pr_auc, roc) = if positives == 0 || positives == n {
            (f64::NAN, f64::NAN)
        } else {
            let scores: Vec<f32> = p.fdr.iter().map(|&q| -((q as f32).clamp(1e-10f32, 1.0).ln() / ln10)).collect();
            (average_precision(&real_sig, &scores), roc_auc(&real_sig, &scores))
        };
        per.push(DePerturbationScores {
            overlap_at_n: ov(None, OverlapKind::Overlap),
            overlap_at_k: FIXED_K.map(|k| ov(Some(k), OverlapKind::Overlap)),
            precision_at_n: ov(None, OverlapKind::Precision),
            precision_at_k: FIXED_K.map(|k| ov(Some(k), OverlapKind::Precision)),
            direction_match,
            spearman_lfc_sig,
            sig_genes_recall,
            nsig_real,
            nsig_pred,
            pr_auc,
            roc_auc: roc,
        });
    }
    let spearman_sig = if ns_real.is_empty() { 1.0 } else { spearman(&ns_real, &ns_pred) };
    Ok(DeComparison { per_perturbation: per, spearman_sig })
}

#[cfg(test)]
mod tests {
    use super::super::matrix::{Cells, CsrMatrix, DenseMatrix};
    use super::super::table::{DeOptions, differential_expression};
    use super::*;

    fn csr(rows: &[[f32; 4]]) -> CsrMatrix {
        CsrMatrix::from_dense(&DenseMatrix {
            n_rows: rows.len(),
            n_cols: 4,
            data: rows.iter().flatten().copied().collect(),
        })
    }

    /// Fixture produced with cell-eval 0.8.2 / pdex 0.3.0 / numba-mwu 0.2.0 / scipy 1.17.1 /
    /// sklearn 1.9.1 / polars 1.x (Python 3.11, glibc 2.36): an AnnData with `X = csr_matrix(float32)`
    /// (control rows then groups, `obs.target` = "non-targeting"/"p00"/"p01"),
    /// `pdex(adata, mode="ref", **_build_pdex_kwargs("non-targeting", "target", 1, False))` for real
    /// and pred, then `initialize_de_comparison(real, pred)` and the metric functions of
    /// `cell_eval.metrics._de`; values printed with `repr`. Gene 3 is zero everywhere; p01 has one cell.
    #[test]
    fn cell_eval_fixture() {
        let ctrl = csr(&[
            [0., 1., 2., 0.],
            [0., 1., 0., 0.],
            [1., 1., 2., 0.],
            [0., 2., 0., 0.],
            [0., 1., 1., 0.],
            [0., 1., 2., 0.],
        ]);
        let real =
            [csr(&[[3., 0., 2., 0.], [3., 0., 2., 0.], [2., 1., 0., 0.], [3., 0., 2., 0.]]), csr(&[[0., 1., 2., 0.]])];
        let pred =
            [csr(&[[2., 1., 2., 0.], [3., 0., 0., 0.], [3., 0., 2., 0.], [2., 0., 2., 0.]]), csr(&[[1., 1., 2., 0.]])];
        let opts = DeOptions::default();
        let de = |g: &[CsrMatrix; 2]| {
            let cells: Vec<Cells> = g.iter().map(Cells::Csr).collect();
            differential_expression(&Cells::Csr(&ctrl), &cells, &opts).unwrap()
        };
        let (r, p) = (de(&real), de(&pred));
        let cat = |f: &dyn Fn(&GroupDe) -> &Vec<f64>| r.iter().flat_map(|g| f(g).clone()).collect::<Vec<f64>>();
        assert_eq!(
            cat(&|g| &g.p_value),
            [0.007995086831894151, 0.02810804014715186, 0.6255852315243253, 1.0, 1.0, 1.0, 0.5769991622487407, 1.0]
        );
        assert_eq!(cat(&|g| &g.statistic), [24.0, 2.5, 14.5, 12.0, 2.5, 2.5, 4.5, 3.0]);
        assert_eq!(
            cat(&|g| &g.fdr),
            [0.031980347327576604, 0.05621608029430372, 0.8341136420324338, 1.0, 1.0, 1.0, 1.0, 1.0]
        );
        assert_eq!(
            cat(&|g| &g.log2_fold_change),
            [
                6.33517137802529,
                -2.9607833936906274,
                0.6549116114914035,
                0.0,
                f64::NEG_INFINITY,
                -0.3639087944144988,
                1.5307271118848955,
                0.0
            ]
        );
        assert_eq!(
            cat(&|g| &g.target_mean),
            [
                14.642631530761719,
                0.2840254306793213,
                3.481688976287842,
                0.0,
                0.0,
                1.7182817459106445,
                6.389056205749512,
                0.0
            ]
        );
        assert_eq!(
            cat(&|g| &g.reference_mean),
            [
                0.1813604235649109,
                2.211270332336426,
                2.211270809173584,
                0.0,
                0.1813604235649109,
                2.211270332336426,
                2.211270809173584,
                0.0
            ]
        );
        assert_eq!(
            cat(&|g| &g.percent_change),
            [
                79.7377454339419,
                -0.8715555368668017,
                0.5745194852859519,
                0.0,
                -1.0,
                -0.22294360812270747,
                1.8893142256679485,
                0.0
            ]
        );
        assert_eq!(p[0].fdr, [0.03378756076261018, 0.05621608029430372, 0.8341136420324338, 1.0]);
        assert_eq!(p[1].log2_fold_change[0], 3.24403504324771);

        let c = compare_de(&r, &p).unwrap();
        assert!(c.spearman_sig.is_nan()); // one perturbation with real significant genes
        let (a, b) = (&c.per_perturbation[0], &c.per_perturbation[1]);
        assert_eq!(
            (a.overlap_at_n, a.overlap_at_k, a.precision_at_n, a.precision_at_k),
            (1.0, [1.0; 4], 1.0, [1.0; 4])
        );
        assert_eq!((a.direction_match, a.sig_genes_recall, a.nsig_real, a.nsig_pred), (Some(1.0), Some(1.0), 1, 1));
        assert!(a.spearman_lfc_sig.unwrap().is_nan()); // a single significant gene
        assert_eq!((a.pr_auc, a.roc_auc), (1.0, 1.0));
        assert_eq!((b.overlap_at_n, b.precision_at_k, b.nsig_real, b.nsig_pred), (0.0, [0.0; 4], 0, 0));
        assert_eq!((b.direction_match, b.spearman_lfc_sig, b.sig_genes_recall), (None, None, None));
        assert!(b.pr_auc.is_nan() && b.roc_auc.is_nan()); // no real significant gene: labels all 0
    }

    #[test]
    fn overlap_edge_cases() {
        assert_eq!(overlap_at(&[], &[1, 2], None, OverlapKind::Overlap), 0.0);
        assert_eq!(overlap_at(&[1, 2], &[], None, OverlapKind::Precision), 0.0);
        // precision truncates the real list to k_eff = |pred| too
        assert_eq!(overlap_at(&[5, 1, 2], &[1], None, OverlapKind::Precision), 0.0);
        assert_eq!(overlap_at(&[1, 5, 2], &[1], None, OverlapKind::Precision), 1.0);
        assert_eq!(overlap_at(&[1, 2, 3, 4], &[4, 3], Some(2), OverlapKind::Overlap), 0.0);
        assert_eq!(overlap_at(&[1, 2, 3, 4], &[2, 3], Some(50), OverlapKind::Overlap), 0.5);
    }

    #[test]
    fn ranking_ties_and_infinities() {
        let lfc = [1.0, f64::INFINITY, -1.0, 3.0, f64::NEG_INFINITY, 0.5];
        let fdr = [0.01, 0.01, 0.01, 0.01, 0.01, 0.2];
        assert_eq!(ranked_significant_genes(&lfc, &fdr), vec![1, 4, 3, 0, 2]);
        // 0.049999999999 rounds to f32 0.05 and is not significant in cell-eval
        assert_eq!(significant_mask(&[0.049999999999, 0.0499, f64::NAN]), vec![false, true, false]);
    }

    /// sklearn 1.9.1: average_precision_score([1,0,1,1,0,0], [.9,.9,.8,.3,.3,.1]) and
    /// auc(*roc_curve(...)[:2]) printed with repr.
    #[test]
    fn sklearn_auc_fixture() {
        let labels = [true, false, true, true, false, false];
        let scores = [0.9f32, 0.9, 0.8, 0.3, 0.3, 0.1];
        assert_eq!(average_precision(&labels, &scores), 0.5888888888888889);
        assert_eq!(roc_auc(&labels, &scores), 0.6666666666666666);
        assert!((spearman(&[1.0, 1.0, 2.0, 3.0], &[1.0, 2.0, 2.0, 2.0]) - 0.5443310539518174).abs() < 1e-15);
        assert!(spearman(&[1.0, 2.0], &[3.0, 3.0]).is_nan());
    }
}
