//! The v2 differential-expression table of raw counts (cell-eval2 `de_compute.compute_de`, CPU
//! backend): every cell normalised to 10⁶ counts (scanpy `normalize_total`: x / (ℓ/10⁶)); a gene
//! is tested only if its mean CPM over the reference's control cells exceeds 5 (one gene set for
//! every perturbation); per gene a two-sided Mann–Whitney U test of log1p(CPM) of the group
//! against the control cells (pdex / numba-mwu: average ranks, tie and continuity correction,
//! normal approximation, [`mwu_from_rank_sum`]); log2 fold change log2((m_t + ε)/(m_c + ε)) of
//! the arithmetic mean CPMs; Benjamini–Hochberg over the tested genes of each perturbation.

use rayon::prelude::*;

use super::{DE_TARGET_SUM, LFC_EPSILON, MIN_CONTROL_CPM};
use crate::de::table::lower_bound_from;
use crate::de::{CsrMatrix, benjamini_hochberg, mwu_from_rank_sum};

/// One perturbation's rows of the table, aligned to [`DeTable::kept`].
#[derive(Debug, Clone, PartialEq)]
pub struct GroupTable {
    pub n_cells: usize,
    pub target_mean: Vec<f64>,
    pub log2_fold_change: Vec<f64>,
    pub p_value: Vec<f64>,
    /// BH over this group's tested genes; 1 where the fold change is NaN (`nan_lfc_policy: mask`).
    pub p_adj: Vec<f64>,
}

/// The DE table of one side: the tested genes (column indices, ascending) and one block per group.
#[derive(Debug, Clone, PartialEq)]
pub struct DeTable {
    pub kept: Vec<usize>,
    pub reference_mean: Vec<f64>,
    pub reference_cells: usize,
    pub groups: Vec<GroupTable>,
}

impl DeTable {
    /// Position of gene column `g` among the tested genes.
    pub fn position(&self, g: usize) -> Option<usize> {
        self.kept.binary_search(&g).ok()
    }
}

/// Non-zero CPM values of a set of cells and their log1p, gene-major (row order within a gene).
struct Columns {
    n_rows: usize,
    col_ptr: Vec<usize>,
    cpm: Vec<f64>,
    log1p: Vec<f64>,
}

/// Counts below this are the most of a cell's values; each one's log1p(CPM) is computed once per cell.
const MEMO_COUNTS: usize = 64;

impl Columns {
    fn of(x: &CsrMatrix, rows: &[usize]) -> Columns {
        let mut counts = vec![0usize; x.n_cols + 1];
        for &r in rows {
            for k in x.indptr[r] as usize..x.indptr[r + 1] as usize {
                if x.data[k] != 0.0 {
                    counts[x.indices[k] as usize + 1] += 1;
                }
            }
        }
        for g in 0..x.n_cols {
            counts[g + 1] += counts[g];
        }
        let col_ptr = counts.clone();
        let mut pos = counts;
        let mut cpm = vec![0.0f64; col_ptr[x.n_cols]];
        let mut log1p = vec![0.0f64; col_ptr[x.n_cols]];
        for &r in rows {
            let (lo, hi) = (x.indptr[r] as usize, x.indptr[r + 1] as usize);
            let total: f64 = x.data[lo..hi].iter().map(|&v| f64::from(v)).sum();
            let mut scale = total / DE_TARGET_SUM;
            if scale == 0.0 {
                scale = 1.0;
            }
            // log1p(c / scale) of the small counts c of this cell, once each (the same value the
            // call on each entry gives: same argument, same function).
            let mut memo = [f64::NAN; MEMO_COUNTS];
            for k in lo..hi {
                let v = x.data[k];
                if v != 0.0 {
                    let g = x.indices[k] as usize;
                    let c = f64::from(v) / scale;
                    cpm[pos[g]] = c;
                    let small = v as usize;
                    log1p[pos[g]] = match small < MEMO_COUNTS && small as f32 == v {
                        true if !memo[small].is_nan() => memo[small],
                        true => {
                            memo[small] = c.ln_1p();
                            memo[small]
                        }
                        false => c.ln_1p(),
                    };
                    pos[g] += 1;
                }
            }
        }
        Columns { n_rows: rows.len(), col_ptr, cpm, log1p }
    }

    fn column(&self, g: usize) -> &[f64] {
        &self.cpm[self.col_ptr[g]..self.col_ptr[g + 1]]
    }

    /// Gene `g`'s log1p(CPM) values, sorted.
    fn sorted_log1p(&self, g: usize) -> Vec<f64> {
        let mut v = self.log1p[self.col_ptr[g]..self.col_ptr[g + 1]].to_vec();
        v.sort_unstable_by(|a, b| a.total_cmp(b));
        v
    }

    fn mean(&self, g: usize) -> f64 {
        self.column(g).iter().sum::<f64>() / self.n_rows.max(1) as f64
    }
}

fn tie_f(t: u128) -> u128 {
    t * t * t - t
}

/// The control cells of one gene, prepared once: sorted log1p(CPM) of the non-zero cells.
struct RefGene {
    sorted: Vec<f64>,
    zeros: usize,
    tie_term: u128,
}

fn runs(sorted: &[f64]) -> u128 {
    let mut t = 0u128;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i + 1;
        while j < sorted.len() && sorted[j] == sorted[i] {
            j += 1;
        }
        t += tie_f((j - i) as u128);
        i = j;
    }
    t
}

/// Rank sum of the group and tie term of the pooled sample for one gene; both sides' values are
/// positive and sorted, zeros counted apart as one tie block of rank (zeros + 1)/2.
fn rank_sum(grp: &[f64], grp_zeros: usize, r: &RefGene) -> (f64, f64) {
    let zeros = grp_zeros + r.zeros;
    let mut r1 = grp_zeros as f64 * (zeros + 1) as f64 / 2.0;
    let mut tie = r.tie_term - tie_f(r.zeros as u128) + tie_f(zeros as u128);
    let mut done = 0usize;
    let mut i = 0;
    while i < grp.len() {
        let v = grp[i];
        let mut j = i + 1;
        while j < grp.len() && grp[j] == v {
            j += 1;
        }
        let lo = lower_bound_from(&r.sorted, done, v);
        let mut hi = lo;
        while hi < r.sorted.len() && r.sorted[hi] == v {
            hi += 1;
        }
        done = hi;
        let (t_c, t_g) = (hi - lo, j - i);
        let less = zeros + lo + i;
        r1 += t_g as f64 * (less as f64 + (t_c + t_g + 1) as f64 / 2.0);
        tie = tie - tie_f(t_c as u128) + tie_f((t_c + t_g) as u128);
        i = j;
    }
    (r1, tie as f64)
}

/// The control cells of a DE table, prepared once: the gene gate (mean CPM over the control
/// cells above 5), their means and each tested gene's sorted log1p(CPM). A batch of groups is
/// tested against it with [`Reference::test`]; the groups are independent of each other, so the
/// table does not depend on how the groups are batched.
pub struct Reference {
    kept: Vec<usize>,
    reference_mean: Vec<f64>,
    refs: Vec<RefGene>,
    n_ref: usize,
}

impl Reference {
    /// The control cells `control` of `reference`. The gene gate reads the control cells alone.
    pub fn of(reference: &CsrMatrix, control: &[usize]) -> Reference {
        let ref_cols = Columns::of(reference, control);
        let reference_mean_all: Vec<f64> = (0..reference.n_cols).map(|g| ref_cols.mean(g)).collect();
        let kept: Vec<usize> = (0..reference.n_cols).filter(|&g| reference_mean_all[g] > MIN_CONTROL_CPM).collect();
        let refs: Vec<RefGene> = kept
            .par_iter()
            .map(|&g| {
                let sorted = ref_cols.sorted_log1p(g);
                let zeros = control.len() - sorted.len();
                let tie_term = tie_f(zeros as u128) + runs(&sorted);
                RefGene { sorted, zeros, tie_term }
            })
            .collect();
        let reference_mean: Vec<f64> = kept.iter().map(|&g| reference_mean_all[g]).collect();
        Reference { kept, reference_mean, refs, n_ref: control.len() }
    }

    /// The table's rows of every group of `target` (rows `groups`), in order.
    pub fn test(&self, target: &CsrMatrix, groups: &[Vec<usize>]) -> Vec<GroupTable> {
        let n_ref = self.n_ref;
        groups
            .par_iter()
            .map(|rows| {
                let cols = Columns::of(target, rows);
                let n = rows.len();
                let per_gene: Vec<[f64; 3]> = self
                    .kept
                    .par_iter()
                    .zip(&self.refs)
                    .zip(&self.reference_mean)
                    .with_min_len(64)
                    .map(|((&g, r), &mr)| {
                        let col = cols.column(g);
                        let mt = col.iter().sum::<f64>() / n.max(1) as f64;
                        let lfc = ((mt + LFC_EPSILON) / (mr + LFC_EPSILON)).log2();
                        let sorted = cols.sorted_log1p(g);
                        let (r1, tie) = rank_sum(&sorted, n - sorted.len(), r);
                        [mt, lfc, mwu_from_rank_sum(r1, n, n_ref, tie).p_value]
                    })
                    .collect();
                let p_value: Vec<f64> = per_gene.iter().map(|v| v[2]).collect();
                let log2_fold_change: Vec<f64> = per_gene.iter().map(|v| v[1]).collect();
                let mut p_adj = benjamini_hochberg(&p_value);
                for (q, l) in p_adj.iter_mut().zip(&log2_fold_change) {
                    if l.is_nan() {
                        *q = 1.0;
                    }
                }
                GroupTable {
                    n_cells: n,
                    target_mean: per_gene.iter().map(|v| v[0]).collect(),
                    log2_fold_change,
                    p_value,
                    p_adj,
                }
            })
            .collect()
    }

    /// The table of `groups` (rows from [`Reference::test`], in the panel's order).
    pub fn table(&self, groups: Vec<GroupTable>) -> DeTable {
        DeTable {
            kept: self.kept.clone(),
            reference_mean: self.reference_mean.clone(),
            reference_cells: self.n_ref,
            groups,
        }
    }
}

/// The DE table of every group of `target` (rows `groups`) against the control cells `control`
/// of `reference` (which may be the same matrix). The gene gate reads the control cells alone.
pub fn wilcoxon_de(target: &CsrMatrix, groups: &[Vec<usize>], reference: &CsrMatrix, control: &[usize]) -> DeTable {
    let r = Reference::of(reference, control);
    r.table(r.test(target, groups))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::de::{DenseMatrix, mann_whitney_u};

    fn csr(rows: &[&[f32]]) -> CsrMatrix {
        CsrMatrix::from_dense(&DenseMatrix {
            n_rows: rows.len(),
            n_cols: rows[0].len(),
            data: rows.iter().flat_map(|r| r.iter().copied()).collect(),
        })
    }

    /// The kernel equals the plain pooled Mann–Whitney test on the log1p(CPM) values, the gate
    /// drops genes at or below 5 CPM in the controls, and fold changes use the mean CPMs.
    #[test]
    fn table_matches_pooled_test() {
        let x = csr(&[
            &[10.0, 0.0, 5.0, 1.0],
            &[20.0, 0.0, 5.0, 0.0],
            &[0.0, 1.0, 10.0, 2.0],
            &[30.0, 0.0, 5.0, 0.0],
            &[5.0, 0.0, 5.0, 1.0],
            &[10.0, 0.0, 20.0, 3.0],
            &[0.0, 0.0, 5.0, 1.0],
        ]);
        let control = vec![0, 1, 2, 3];
        let groups = vec![vec![4, 5, 6]];
        let t = wilcoxon_de(&x, &groups, &x, &control);
        // gene 1: control mean CPM = (0+0+1/13*1e6... ) > 5, so every gene is kept here
        assert_eq!(t.kept, vec![0, 1, 2, 3]);
        let cpm = |r: usize, g: usize| -> f64 {
            let row: Vec<f64> = (0..4)
                .map(|j| {
                    let (lo, hi) = (x.indptr[r] as usize, x.indptr[r + 1] as usize);
                    (lo..hi).find(|&k| x.indices[k] as usize == j).map_or(0.0, |k| f64::from(x.data[k]))
                })
                .collect();
            let total: f64 = row.iter().sum();
            row[g] / (total / 1e6)
        };
        for (pos, &g) in t.kept.iter().enumerate() {
            let a: Vec<f64> = groups[0].iter().map(|&r| cpm(r, g).ln_1p()).collect();
            let b: Vec<f64> = control.iter().map(|&r| cpm(r, g).ln_1p()).collect();
            assert_eq!(t.groups[0].p_value[pos], mann_whitney_u(&a, &b).p_value, "gene {g}");
            let mt = groups[0].iter().map(|&r| cpm(r, g)).sum::<f64>() / 3.0;
            let mr = control.iter().map(|&r| cpm(r, g)).sum::<f64>() / 4.0;
            let want = ((mt + 1e-9) / (mr + 1e-9)).log2();
            assert!((t.groups[0].log2_fold_change[pos] - want).abs() < 1e-12);
        }
        // a gene expressed below 5 CPM in the controls is not tested
        let low = csr(&[&[1e6, 1.0], &[1e6, 0.0], &[1e6, 9.0]]);
        let t = wilcoxon_de(&low, &[vec![2]], &low, &[0, 1]);
        assert_eq!(t.kept, vec![0]);
    }
}
