//! The v2 differential-expression table of raw counts (cell-eval2 `de_compute.compute_de`, CPU
//! backend): every cell normalised to 10⁶ counts (scanpy `normalize_total`: x / (ℓ/10⁶)); a gene
//! is tested only if its mean CPM over the reference's control cells exceeds 5 (one gene set for
//! every perturbation); per gene a two-sided Mann–Whitney U test of log1p(CPM) of the group
//! against the control cells (pdex / numba-mwu: average ranks, tie and continuity correction,
//! normal approximation, [`mwu_from_rank_sum`]; the ranks from `ranks.rs`, which ranks the CPM
//! values and takes their log1p only where that could change a rank); log2 fold change log2((m_t + ε)/(m_c + ε)) of
//! the arithmetic mean CPMs; Benjamini–Hochberg over the tested genes of each perturbation.

use rayon::prelude::*;

use super::ranks::{RankScratch, RefGenes, rank_sum};
use super::{DE_TARGET_SUM, LFC_EPSILON, MIN_CONTROL_CPM};
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

/// Non-zero CPM values of a set of cells, gene-major (row order within a gene); refilled in
/// place for each group ([`Columns::fill`]), so its buffers are allocated once per thread.
#[derive(Default)]
struct Columns {
    n_rows: usize,
    col_ptr: Vec<usize>,
    pos: Vec<usize>,
    cpm: Vec<f64>,
}

impl Columns {
    fn of(x: &CsrMatrix, rows: &[usize]) -> Columns {
        let mut c = Columns::default();
        c.fill(x, rows);
        c
    }

    /// The columns of rows `rows` of `x`.
    fn fill(&mut self, x: &CsrMatrix, rows: &[usize]) {
        let counts = &mut self.col_ptr;
        counts.clear();
        counts.resize(x.n_cols + 1, 0);
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
        self.pos.clear();
        self.pos.extend_from_slice(&self.col_ptr);
        let pos = &mut self.pos;
        let cpm = &mut self.cpm;
        cpm.clear();
        cpm.resize(self.col_ptr[x.n_cols], 0.0);
        for &r in rows {
            let (lo, hi) = (x.indptr[r] as usize, x.indptr[r + 1] as usize);
            let mut scale = x.row_total(r) / DE_TARGET_SUM;
            if scale == 0.0 {
                scale = 1.0;
            }
            for k in lo..hi {
                let v = x.data[k];
                if v != 0.0 {
                    let g = x.indices[k] as usize;
                    cpm[pos[g]] = f64::from(v) / scale;
                    pos[g] += 1;
                }
            }
        }
        self.n_rows = rows.len();
    }

    fn column(&self, g: usize) -> &[f64] {
        &self.cpm[self.col_ptr[g]..self.col_ptr[g + 1]]
    }

    fn mean(&self, g: usize) -> f64 {
        self.column(g).iter().sum::<f64>() / self.n_rows.max(1) as f64
    }
}

/// One thread's buffers: a group's columns, and one gene's values being ranked.
#[derive(Default)]
struct Scratch {
    cols: Columns,
    ranks: RankScratch,
}

/// The control cells of a DE table, prepared once: the gene gate (mean CPM over the control
/// cells above 5), their means and each tested gene's sorted CPM and log1p(CPM) ([`RefGenes`]). A batch of groups is
/// tested against it with [`Reference::test`]; the groups are independent of each other, so the
/// table does not depend on how the groups are batched.
pub struct Reference {
    kept: Vec<usize>,
    reference_mean: Vec<f64>,
    refs: RefGenes,
    n_ref: usize,
}

impl Reference {
    /// The control cells `control` of `reference`. The gene gate reads the control cells alone.
    pub fn of(reference: &CsrMatrix, control: &[usize]) -> Reference {
        let ref_cols = Columns::of(reference, control);
        let reference_mean_all: Vec<f64> = (0..reference.n_cols).map(|g| ref_cols.mean(g)).collect();
        let kept: Vec<usize> = (0..reference.n_cols).filter(|&g| reference_mean_all[g] > MIN_CONTROL_CPM).collect();
        let columns: Vec<&[f64]> = kept.iter().map(|&g| ref_cols.column(g)).collect();
        let refs = RefGenes::of(&columns, control.len());
        let reference_mean: Vec<f64> = kept.iter().map(|&g| reference_mean_all[g]).collect();
        Reference { kept, reference_mean, refs, n_ref: control.len() }
    }

    /// The table's rows of every group of `target` (rows `groups`), in order.
    pub fn test(&self, target: &CsrMatrix, groups: &[Vec<usize>]) -> Vec<GroupTable> {
        groups.par_iter().map_init(Scratch::default, |scratch, rows| self.test_group(target, rows, scratch)).collect()
    }

    /// One group's rows: per tested gene the mean CPM, the fold change and the p-value, then BH.
    fn test_group(&self, target: &CsrMatrix, rows: &[usize], scratch: &mut Scratch) -> GroupTable {
        let Scratch { cols, ranks } = scratch;
        cols.fill(target, rows);
        let n = rows.len();
        let k = self.kept.len();
        let (mut target_mean, mut log2_fold_change, mut p_value) =
            (Vec::with_capacity(k), Vec::with_capacity(k), Vec::with_capacity(k));
        for (k, (&g, &mr)) in self.kept.iter().zip(&self.reference_mean).enumerate() {
            let col = cols.column(g);
            let mt = cols.mean(g);
            target_mean.push(mt);
            log2_fold_change.push(((mt + LFC_EPSILON) / (mr + LFC_EPSILON)).log2());
            ranks.values.clear();
            ranks.values.extend(col.iter().map(|c| c.to_bits()));
            let (r1, tie) = rank_sum(ranks, n - col.len(), &self.refs.gene(k));
            p_value.push(mwu_from_rank_sum(r1, n, self.n_ref, tie).p_value);
        }
        let mut p_adj = benjamini_hochberg(&p_value);
        for (q, l) in p_adj.iter_mut().zip(&log2_fold_change) {
            if l.is_nan() {
                *q = 1.0;
            }
        }
        GroupTable { n_cells: n, target_mean, log2_fold_change, p_value, p_adj }
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
