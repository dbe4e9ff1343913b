//! The per-perturbation differential-expression table: pseudobulk means, fold changes,
//! Mann–Whitney U p-values and BH FDR of every gene, each group against the reference cells.
//!
//! Mirrors pdex 0.3.0 `_pdex_ref` as cell-eval 0.8.2 calls it (`_build_pdex_kwargs`:
//! `mode="ref"`, `is_log1p=True`, `geometric_mean=True` (pdex default), `epsilon=0.0`,
//! `cpm_filter=None`), including pdex's float32 arithmetic on float32 input. One [`GroupDe`]
//! corresponds to one `target` block of pdex's frame, genes in the input column order.
//!
//! Fast path: the reference is sorted once per gene; each group's few non-zero values are then
//! sorted and placed into it in ascending order, each by a galloping search from where the
//! previous one landed, with the zeros of both sides as one analytic tie block, so a (group,
//! gene) test costs O(nnz_group · log(nnz_ref / nnz_group)) instead of re-sorting the pooled
//! sample. Each distinct input matrix is validated once, not once per group that views it.

use rayon::prelude::*;

use super::error::DeError;
use super::matrix::{Cells, GeneColumns};
use crate::parity::fdr::benjamini_hochberg;
use crate::parity::mann_whitney::mwu_from_rank_sum;

/// Arithmetic precision of the pseudobulk means (the test statistics do not depend on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MeanPrecision {
    /// What pdex computes when `adata.X` is float32 (AnnData's usual dtype): per-gene float32
    /// sums (numpy `X.mean(0)` for a dense group: Σx then ÷n; scipy `csr.mean(0)` for a sparse
    /// group: Σ(x·f32(1/n))), both in row order, then float32 `expm1` (C `expm1f`).
    #[default]
    Float32,
    /// What pdex computes when `adata.X` is float64: the same two orders in float64.
    Float64,
}

/// Options of [`differential_expression`]; `Default` is cell-eval 0.8.2's configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeOptions {
    /// pdex `epsilon`, a pseudocount added to the count-space means in log2_fold_change (both
    /// sides) and percent_change (denominator). cell-eval pins it to 0.0.
    pub epsilon: f64,
    pub mean_precision: MeanPrecision,
}

impl Default for DeOptions {
    fn default() -> Self {
        DeOptions { epsilon: 0.0, mean_precision: MeanPrecision::Float32 }
    }
}

/// DE of one group of cells against the reference, one entry per gene (pdex's columns).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupDe {
    /// pdex `target_membership`: cells in the group.
    pub n_cells: usize,
    /// pdex `ref_membership`: cells in the reference.
    pub reference_cells: usize,
    /// pdex `target_mean` = expm1(mean(x)) over the group's cells (count space; geometric mean).
    pub target_mean: Vec<f64>,
    /// pdex `ref_mean` = expm1(mean(x)) over the reference cells.
    pub reference_mean: Vec<f64>,
    /// (target_mean + ε)/(reference_mean + ε); 0/0 → 1. Not a pdex column: = 2^log2_fold_change.
    pub fold_change: Vec<f64>,
    /// pdex `log2_fold_change` = log2((t + ε)/(r + ε)); 0/0 → 0, t > 0 = r → +∞, t = 0 < r → −∞.
    pub log2_fold_change: Vec<f64>,
    /// pdex `percent_change` = (t − r)/(r + ε) (t − r in float32 under `MeanPrecision::Float32`);
    /// 0/0 → 0, t > 0 = r → +∞.
    pub percent_change: Vec<f64>,
    /// pdex `p_value`: two-sided asymptotic Mann–Whitney U, tie + continuity corrected.
    pub p_value: Vec<f64>,
    /// pdex `statistic`: U of the group (U₁ = R₁ − n₁(n₁+1)/2).
    pub statistic: Vec<f64>,
    /// pdex `fdr`: Benjamini–Hochberg over this group's genes (see `fdr.rs`).
    pub fdr: Vec<f64>,
}

/// numpy's pairwise summation (`np.add.reduce` over a contiguous run), starting from zero:
/// < 8 values sequentially, ≤ 128 with 8 interleaved accumulators, otherwise split in halves
/// (the split rounded down to a multiple of 8).
pub(crate) fn numpy_pairwise<T: Copy + Default + std::ops::Add<Output = T>>(a: &[T]) -> T {
    fn pw<T: Copy + Default + std::ops::Add<Output = T>>(a: &[T]) -> T {
        let n = a.len();
        if n < 8 {
            a.iter().fold(T::default(), |s, &x| s + x)
        } else if n <= 128 {
            let mut r = [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]];
            let mut i = 8;
            while i < n - (n % 8) {
                for j in 0..8 {
                    r[j] = r[j] + a[i + j];
                }
                i += 8;
            }
            let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
            while i < n {
                res = res + a[i];
                i += 1;
            }
            res
        } else {
            let mut n2 = n / 2;
            n2 -= n2 % 8;
            pw(&a[..n2]) + pw(&a[n2..])
        }
    }
    T::default() + pw(a)
}

/// How pdex's float mean visits one gene's values.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SumOrder {
    /// scipy `csr.mean(0)`: Σ (x · (1/n)) in row order.
    SparseScaled,
    /// numpy `X.mean(0)` on a dense matrix with > 1 gene: Σ x in row order, then ÷ n.
    DenseRows,
    /// numpy `X.mean(0)` on a dense matrix with a single gene (a contiguous column): numpy's
    /// pairwise sum, then ÷ n.
    DensePairwise,
}

fn sum_order(cells: &Cells) -> SumOrder {
    if cells.is_sparse() {
        SumOrder::SparseScaled
    } else if cells.n_cols() == 1 {
        SumOrder::DensePairwise
    } else {
        SumOrder::DenseRows
    }
}

/// Per-gene pseudobulk mean in count space, pdex `pseudobulk(X, geometric_mean=True,
/// is_log1p=True)` = expm1(mean over cells of x), with pdex's summation order (`values` are the
/// non-zero entries in row order, zeros adding nothing to a sequential sum; for `DensePairwise`
/// they must be every value of the column in row order, zeros included, since numpy's pairwise
/// blocks depend on positions).
fn pseudobulk(values: &[f32], n: usize, order: SumOrder, precision: MeanPrecision) -> f64 {
    match precision {
        MeanPrecision::Float32 => {
            let m = match order {
                SumOrder::SparseScaled => {
                    let scale = (1.0f64 / n as f64) as f32;
                    values.iter().fold(0f32, |s, &x| s + x * scale)
                }
                SumOrder::DenseRows => values.iter().fold(0f32, |s, &x| s + x) / n as f32,
                SumOrder::DensePairwise => numpy_pairwise(values) / n as f32,
            };
            m.exp_m1() as f64
        }
        MeanPrecision::Float64 => {
            let m = match order {
                SumOrder::SparseScaled => {
                    let scale = 1.0f64 / n as f64;
                    values.iter().fold(0f64, |s, &x| s + x as f64 * scale)
                }
                SumOrder::DenseRows => values.iter().fold(0f64, |s, &x| s + x as f64) / n as f64,
                SumOrder::DensePairwise => {
                    numpy_pairwise(&values.iter().map(|&x| x as f64).collect::<Vec<f64>>()) / n as f64
                }
            };
            m.exp_m1()
        }
    }
}

/// [`pseudobulk`] of one gene; `DensePairwise` (a one-gene dense matrix) reads the full column.
fn gene_mean(cells: &Cells, nonzero: &[f32], n: usize, order: SumOrder, precision: MeanPrecision) -> f64 {
    if order == SumOrder::DensePairwise {
        pseudobulk(&cells.dense_single_column(), n, order, precision)
    } else {
        pseudobulk(nonzero, n, order, precision)
    }
}

/// Reference column prepared once: sorted non-zero values and the tie term of the reference alone.
struct RefGene {
    sorted: Vec<f32>,
    zeros: usize,
    negatives: usize,
    tie_term: u128,
    mean: f64,
}

fn tie_f(t: u128) -> u128 {
    t * t * t - t
}

fn prepare_reference(cells: &Cells, cols: &GeneColumns, precision: MeanPrecision) -> Vec<RefGene> {
    let order = sum_order(cells);
    (0..cols.col_ptr.len() - 1)
        .into_par_iter()
        .with_min_len(16)
        .map(|g| {
            let raw = cols.column(g);
            let mean = gene_mean(cells, raw, cols.n_rows, order, precision);
            let mut sorted = raw.to_vec();
            sorted.sort_unstable_by(|a, b| a.total_cmp(b));
            let zeros = cols.n_rows - sorted.len();
            let negatives = sorted.partition_point(|&x| x < 0.0);
            let mut tie_term = tie_f(zeros as u128);
            let mut i = 0;
            while i < sorted.len() {
                let mut j = i + 1;
                while j < sorted.len() && sorted[j] == sorted[i] {
                    j += 1;
                }
                tie_term += tie_f((j - i) as u128);
                i = j;
            }
            RefGene { sorted, zeros, negatives, tie_term, mean }
        })
        .collect()
}

/// The first index at or after `from` whose value is not below `v` (`sorted[..from]` must all be
/// below `v`): an exponential search from `from`, then a binary one, so placing a group's
/// ascending values costs O(log gap) each instead of O(log n).
pub(crate) fn lower_bound_from<T: PartialOrd + Copy>(sorted: &[T], from: usize, v: T) -> usize {
    let (mut lo, mut hi, mut step) = (from, from, 1);
    while hi < sorted.len() && sorted[hi] < v {
        lo = hi + 1;
        hi += step;
        step *= 2;
    }
    let hi = hi.min(sorted.len());
    lo + sorted[lo..hi].partition_point(|&x| x < v)
}

/// Rank sum of the group and tie term of the pooled sample, for one gene.
/// `grp` = the group's non-zero values, sorted; `grp_zeros` = its zero count.
fn rank_sum_and_ties(grp: &[f32], grp_zeros: usize, r: &RefGene) -> (f64, f64) {
    let mut r1 = 0.0f64;
    let mut tie = r.tie_term;
    // Place one block of t_g equal group values whose pooled rank starts after `less` values.
    let mut place = |less: usize, t_c: usize, t_g: usize| {
        // average rank = less + (t_c + t_g + 1)/2, a half-integer: exact in f64
        let avg = less as f64 + (t_c + t_g + 1) as f64 / 2.0;
        r1 += t_g as f64 * avg;
        tie = tie - tie_f(t_c as u128) + tie_f((t_c + t_g) as u128);
    };
    let grp_neg = grp.partition_point(|&x| x < 0.0);
    let mut zeros_done = grp_zeros == 0;
    // Every reference value before `done` is below the group values still to place (both sides
    // ascending), so each search starts there.
    let mut done = 0;
    let mut i = 0;
    while i < grp.len() {
        let v = grp[i];
        if !zeros_done && v > 0.0 {
            place(r.negatives + grp_neg, r.zeros, grp_zeros);
            zeros_done = true;
        }
        let mut j = i + 1;
        while j < grp.len() && grp[j] == v {
            j += 1;
        }
        let lo = if v.is_nan() { 0 } else { lower_bound_from(&r.sorted, done, v) };
        let mut hi = lo;
        while hi < r.sorted.len() && r.sorted[hi] == v {
            hi += 1;
        }
        if !v.is_nan() {
            done = hi;
        }
        let less_c = lo + if v > 0.0 { r.zeros } else { 0 };
        let less_g = i + if v > 0.0 { grp_zeros } else { 0 };
        place(less_c + less_g, hi - lo, j - i);
        i = j;
    }
    if !zeros_done {
        place(r.negatives + grp_neg, r.zeros, grp_zeros);
    }
    (r1, tie as f64)
}

fn group_de(cells: &Cells, refs: &[RefGene], n_ref: usize, options: &DeOptions) -> GroupDe {
    let cols = cells.gene_columns();
    let n = cols.n_rows;
    let order = sum_order(cells);
    let eps = options.epsilon;
    let per_gene: Vec<[f64; 7]> = (0..refs.len())
        .into_par_iter()
        .with_min_len(64)
        .map_init(Vec::new, |sorted: &mut Vec<f32>, g| {
            let raw = cols.column(g);
            let r = &refs[g];
            let t = gene_mean(cells, raw, n, order, options.mean_precision);
            let lfc = {
                let v = ((t + eps) / (r.mean + eps)).log2();
                if v.is_nan() { 0.0 } else { v }
            };
            let fc = {
                let v = (t + eps) / (r.mean + eps);
                if v.is_nan() { 1.0 } else { v }
            };
            let diff = match options.mean_precision {
                MeanPrecision::Float32 => (t as f32 - r.mean as f32) as f64,
                MeanPrecision::Float64 => t - r.mean,
            };
            let pc = {
                let v = diff / (r.mean + eps);
                if v.is_nan() { 0.0 } else { v }
            };
            sorted.clear();
            sorted.extend_from_slice(raw);
            sorted.sort_unstable_by(|a, b| a.total_cmp(b));
            let (r1, tie) = rank_sum_and_ties(sorted, n - sorted.len(), r);
            let m = mwu_from_rank_sum(r1, n, n_ref, tie);
            [t, r.mean, fc, lfc, pc, m.p_value, m.statistic]
        })
        .collect();
    let col = |k: usize| per_gene.iter().map(|v| v[k]).collect::<Vec<f64>>();
    let p_value = col(5);
    let fdr = benjamini_hochberg(&p_value);
    GroupDe {
        n_cells: n,
        reference_cells: n_ref,
        target_mean: col(0),
        reference_mean: col(1),
        fold_change: col(2),
        log2_fold_change: col(3),
        percent_change: col(4),
        p_value,
        statistic: col(6),
        fdr,
    }
}

/// pdex `_pdex_ref`: for every group, every gene, against `reference`:
///
/// - target_mean / reference_mean = expm1(mean_cells(x)) (`MeanPrecision` picks the rounding);
/// - log2_fold_change = log2((t+ε)/(r+ε)) with NaN → 0; percent_change = (t−r)/(r+ε), NaN → 0;
/// - statistic, p_value: two-sided asymptotic MWU of the group's cells vs the reference's
///   (average ranks, tie term Σ(t³−t) incl. the block of zeros, continuity 0.5), see
///   `mann_whitney.rs`; a gene zero (or constant) in every cell of both → U = n₁n₂/2, p = 1;
/// - fdr: BH over the group's genes.
///
/// Output is in `groups` order and deterministic (independent of the thread count). Rayon
/// parallelises over groups and genes. Values are compared as f32 (exactly as pdex's float64
/// copies of float32 data compare). Errors: malformed matrix, gene-count mismatch, empty group.
pub fn differential_expression(
    reference: &Cells,
    groups: &[Cells],
    options: &DeOptions,
) -> Result<Vec<GroupDe>, DeError> {
    // Groups are usually row views of one matrix: each distinct matrix is checked once.
    let mut checked: Vec<*const ()> = Vec::new();
    let mut validate = |cells: &Cells| -> Result<(), DeError> {
        if !checked.contains(&cells.matrix_addr()) {
            cells.validate_matrix()?;
            checked.push(cells.matrix_addr());
        }
        cells.validate_rows()
    };
    validate(reference)?;
    let n_genes = reference.n_cols();
    if reference.n_rows() == 0 {
        return Err(DeError::EmptyGroup { group: None });
    }
    for (i, g) in groups.iter().enumerate() {
        validate(g)?;
        if g.n_cols() != n_genes {
            return Err(DeError::GeneCountMismatch { group: i, expected: n_genes, found: g.n_cols() });
        }
        if g.n_rows() == 0 {
            return Err(DeError::EmptyGroup { group: Some(i) });
        }
    }
    let ref_cols = reference.gene_columns();
    let refs = prepare_reference(reference, &ref_cols, options.mean_precision);
    drop(ref_cols);
    let n_ref = reference.n_rows();
    Ok(groups.par_iter().map(|g| group_de(g, &refs, n_ref, options)).collect())
}

#[cfg(test)]
mod tests {
    use super::super::matrix::{CsrMatrix, DenseMatrix};
    use super::*;
    use crate::parity::mann_whitney::mann_whitney_u;

    fn dense(rows: &[&[f32]]) -> DenseMatrix {
        DenseMatrix {
            n_rows: rows.len(),
            n_cols: rows[0].len(),
            data: rows.iter().flat_map(|r| r.iter().copied()).collect(),
        }
    }

    /// The fast kernel equals the plain pooled ranking on columns with negatives, zeros and ties.
    #[test]
    fn fast_kernel_equals_pooled_ranking() {
        let ctrl = dense(&[
            &[0.0, 1.0, -1.0, 0.0],
            &[2.0, 1.0, 0.0, 0.0],
            &[0.0, 0.5, 3.0, 0.0],
            &[1.0, 1.0, -1.0, 0.0],
            &[0.0, 0.0, 0.0, 0.0],
        ]);
        let grp = dense(&[&[1.0, 1.0, -1.0, 0.0], &[0.0, 2.0, 0.0, 0.0], &[3.0, 1.0, -2.0, 0.0]]);
        let out = differential_expression(&Cells::Dense(&ctrl), &[Cells::Dense(&grp)], &DeOptions::default()).unwrap();
        for g in 0..4 {
            let x: Vec<f64> = (0..3).map(|r| grp.data[r * 4 + g] as f64).collect();
            let y: Vec<f64> = (0..5).map(|r| ctrl.data[r * 4 + g] as f64).collect();
            let want = mann_whitney_u(&x, &y);
            assert_eq!(out[0].statistic[g], want.statistic, "gene {g}");
            assert_eq!(out[0].p_value[g], want.p_value, "gene {g}");
        }
        // gene 3 is zero everywhere: U = n1 n2 / 2, p = 1, lfc = pc = 0, fc = 1
        assert_eq!(out[0].statistic[3], 7.5);
        assert_eq!(out[0].p_value[3], 1.0);
        assert_eq!((out[0].log2_fold_change[3], out[0].percent_change[3], out[0].fold_change[3]), (0.0, 0.0, 1.0));
        // sparse input gives the same tests
        let c = CsrMatrix::from_dense(&ctrl);
        let gs = CsrMatrix::from_dense(&grp);
        let out2 = differential_expression(&Cells::Csr(&c), &[Cells::Csr(&gs)], &DeOptions::default()).unwrap();
        assert_eq!(out[0].p_value, out2[0].p_value);
        assert_eq!(out[0].statistic, out2[0].statistic);
    }

    /// Long reference columns (galloping over wide gaps), ties within and across the two sides,
    /// negatives and zeros: still the plain pooled ranking.
    #[test]
    fn fast_kernel_equals_pooled_ranking_on_long_columns() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = |genes: usize| -> Vec<f32> {
            (0..genes)
                .map(|g| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    // gene g: zero in about g/8 of the cells, else one of 40 levels (many ties)
                    let u = (x >> 11) as f64 / (1u64 << 53) as f64;
                    if u < g as f64 / 8.0 { 0.0 } else { ((x % 40) as f32 - 5.0) * 0.25 }
                })
                .collect()
        };
        let rows = |n: usize, next: &mut dyn FnMut(usize) -> Vec<f32>| DenseMatrix {
            n_rows: n,
            n_cols: 8,
            data: (0..n).flat_map(|_| next(8)).collect(),
        };
        let ctrl = rows(400, &mut next);
        let groups = [rows(1, &mut next), rows(7, &mut next), rows(60, &mut next)];
        let cells: Vec<Cells> = groups.iter().map(Cells::Dense).collect();
        let out = differential_expression(&Cells::Dense(&ctrl), &cells, &DeOptions::default()).unwrap();
        for (grp, de) in groups.iter().zip(&out) {
            for g in 0..8 {
                let col = |m: &DenseMatrix| -> Vec<f64> { (0..m.n_rows).map(|r| m.data[r * 8 + g] as f64).collect() };
                let want = mann_whitney_u(&col(grp), &col(&ctrl));
                assert_eq!((de.statistic[g], de.p_value[g]), (want.statistic, want.p_value), "gene {g}");
            }
        }
    }

    #[test]
    fn one_cell_groups_constant_groups_and_infinities() {
        let ctrl = dense(&[&[0.0, 1.0, 2.0]]);
        let grp = dense(&[&[1.0, 1.0, 0.0]]);
        let out = differential_expression(&Cells::Dense(&ctrl), &[Cells::Dense(&grp)], &DeOptions::default()).unwrap();
        let d = &out[0];
        assert_eq!(d.p_value, vec![1.0, 1.0, 1.0]);
        assert_eq!(d.fdr, vec![1.0, 1.0, 1.0]);
        assert_eq!(d.log2_fold_change[0], f64::INFINITY);
        assert_eq!(d.percent_change[0], f64::INFINITY);
        assert_eq!(d.log2_fold_change[1], 0.0);
        assert_eq!(d.log2_fold_change[2], f64::NEG_INFINITY);
        assert_eq!(d.percent_change[2], -1.0);
    }

    #[test]
    fn errors_not_panics() {
        let a = dense(&[&[0.0, 1.0]]);
        let b = dense(&[&[0.0, 1.0, 2.0]]);
        assert!(matches!(
            differential_expression(&Cells::Dense(&a), &[Cells::Dense(&b)], &DeOptions::default()),
            Err(DeError::GeneCountMismatch { .. })
        ));
        let empty: [usize; 0] = [];
        assert!(matches!(
            differential_expression(&Cells::Dense(&a), &[Cells::DenseRows(&a, &empty)], &DeOptions::default()),
            Err(DeError::EmptyGroup { group: Some(0) })
        ));
        assert!(differential_expression(&Cells::Dense(&a), &[], &DeOptions::default()).unwrap().is_empty());
    }
}
