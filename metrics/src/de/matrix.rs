//! Cell-by-gene expression matrices for differential expression: dense row-major or CSR, and
//! the [`Cells`] view (a whole matrix or a subset of its rows) that `table.rs` consumes.
//!
//! Mirrors what pdex 0.3.0 `_isolate_matrix` hands to its kernels: either an `np.ndarray` or a
//! `scipy.sparse.csr_matrix` of the selected cells. Which of the two a group is matters only for
//! the float32 rounding of the pseudobulk means (numpy and scipy sum in different orders, see
//! `table.rs`); the test statistics do not depend on it.

use super::error::DeError;

/// Dense cells × genes matrix, row-major: `data[row * n_cols + col]`.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseMatrix {
    pub n_rows: usize,
    pub n_cols: usize,
    pub data: Vec<f32>,
}

/// Compressed sparse row matrix (the AnnData / scipy layout): the entries of row `r` are
/// `indices[indptr[r]..indptr[r+1]]` (column ids, need not be sorted, must not repeat) and the
/// matching `data`. Stored zeros are allowed and treated as zeros.
#[derive(Debug, Clone, PartialEq)]
pub struct CsrMatrix {
    pub n_rows: usize,
    pub n_cols: usize,
    pub indptr: Vec<u64>,
    pub indices: Vec<u32>,
    pub data: Vec<f32>,
}

impl DenseMatrix {
    /// Checks `data.len() == n_rows · n_cols`.
    pub fn validate(&self) -> Result<(), DeError> {
        if self.data.len() != self.n_rows * self.n_cols {
            return Err(DeError::InvalidMatrix(format!(
                "dense matrix: data has {} values, expected n_rows·n_cols = {}·{}",
                self.data.len(),
                self.n_rows,
                self.n_cols
            )));
        }
        Ok(())
    }
}

impl CsrMatrix {
    /// The sum of row `r`'s stored values (a cell's total count), in storage order.
    pub fn row_total(&self, r: usize) -> f64 {
        self.data[self.indptr[r] as usize..self.indptr[r + 1] as usize].iter().map(|&v| f64::from(v)).sum()
    }

    /// Checks the CSR invariants: `indptr` has `n_rows + 1` non-decreasing entries from 0 to
    /// `nnz`, `indices.len() == data.len() == nnz`, every column id `< n_cols`.
    pub fn validate(&self) -> Result<(), DeError> {
        if self.indptr.len() != self.n_rows + 1 {
            return Err(DeError::InvalidMatrix(format!(
                "csr matrix: indptr has {} entries, expected n_rows + 1 = {}",
                self.indptr.len(),
                self.n_rows + 1
            )));
        }
        let nnz = self.data.len();
        if self.indices.len() != nnz {
            return Err(DeError::InvalidMatrix(format!(
                "csr matrix: {} indices but {} data values",
                self.indices.len(),
                nnz
            )));
        }
        if self.indptr[0] != 0
            || self.indptr[self.n_rows] as usize != nnz
            || self.indptr.windows(2).any(|w| w[0] > w[1])
        {
            return Err(DeError::InvalidMatrix("csr matrix: indptr must rise from 0 to nnz".to_string()));
        }
        if let Some(&c) = self.indices.iter().find(|&&c| c as usize >= self.n_cols) {
            return Err(DeError::InvalidMatrix(format!(
                "csr matrix: column index {c} out of range (n_cols = {})",
                self.n_cols
            )));
        }
        Ok(())
    }

    /// No rows, `n_cols` columns.
    pub fn empty(n_cols: usize) -> CsrMatrix {
        CsrMatrix { n_rows: 0, n_cols, indptr: vec![0], indices: Vec::new(), data: Vec::new() }
    }

    /// The CSR matrix of the given rows, in the given order (like scipy's `X[rows]`).
    pub fn select_rows(&self, rows: &[usize]) -> CsrMatrix {
        let mut indptr = Vec::with_capacity(rows.len() + 1);
        indptr.push(0u64);
        let (mut indices, mut data) = (Vec::new(), Vec::new());
        for &r in rows {
            let (a, b) = (self.indptr[r] as usize, self.indptr[r + 1] as usize);
            indices.extend_from_slice(&self.indices[a..b]);
            data.extend_from_slice(&self.data[a..b]);
            indptr.push(data.len() as u64);
        }
        CsrMatrix { n_rows: rows.len(), n_cols: self.n_cols, indptr, indices, data }
    }

    /// Mean over the given rows of every column, accumulated in f64 in row order (implicit zeros
    /// add nothing, so the sums equal a dense matrix's bit for bit); zeros for no rows.
    pub fn mean_of_rows(&self, rows: &[usize]) -> Vec<f64> {
        let mut sum = vec![0.0f64; self.n_cols];
        for &r in rows {
            for k in self.indptr[r] as usize..self.indptr[r + 1] as usize {
                sum[self.indices[k] as usize] += f64::from(self.data[k]);
            }
        }
        let n = rows.len().max(1) as f64;
        sum.iter_mut().for_each(|s| *s /= n);
        sum
    }

    /// Dense copy of the given rows (len(rows) x n_cols), in that order.
    pub fn dense_rows(&self, rows: &[usize]) -> ndarray::Array2<f32> {
        let mut out = ndarray::Array2::<f32>::zeros((rows.len(), self.n_cols));
        for (mut dst, &r) in out.rows_mut().into_iter().zip(rows) {
            for k in self.indptr[r] as usize..self.indptr[r + 1] as usize {
                dst[self.indices[k] as usize] += self.data[k];
            }
        }
        out
    }

    /// CSR form of a dense matrix (exact zeros dropped).
    pub fn from_dense(m: &DenseMatrix) -> CsrMatrix {
        let mut indptr = vec![0u64];
        let (mut indices, mut data) = (Vec::new(), Vec::new());
        for r in 0..m.n_rows {
            for (c, &v) in m.data[r * m.n_cols..(r + 1) * m.n_cols].iter().enumerate() {
                if v != 0.0 {
                    indices.push(c as u32);
                    data.push(v);
                }
            }
            indptr.push(data.len() as u64);
        }
        CsrMatrix { n_rows: m.n_rows, n_cols: m.n_cols, indptr, indices, data }
    }
}

/// A group of cells: a whole matrix, or the listed rows of one (no copy).
#[derive(Debug, Clone, Copy)]
pub enum Cells<'a> {
    Dense(&'a DenseMatrix),
    Csr(&'a CsrMatrix),
    DenseRows(&'a DenseMatrix, &'a [usize]),
    CsrRows(&'a CsrMatrix, &'a [usize]),
}

/// One group's expression in gene-major form: for gene `g`, the values that are not zero,
/// `values[col_ptr[g]..col_ptr[g+1]]`, in row order. Zeros (implicit, stored, or dense) are left
/// out; `n_rows` counts every cell.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneColumns {
    pub n_rows: usize,
    pub col_ptr: Vec<usize>,
    pub values: Vec<f32>,
}

impl GeneColumns {
    /// Non-zero values of gene `g`, in row order.
    pub fn column(&self, g: usize) -> &[f32] {
        &self.values[self.col_ptr[g]..self.col_ptr[g + 1]]
    }
}

impl<'a> Cells<'a> {
    /// Number of cells.
    pub fn n_rows(&self) -> usize {
        match self {
            Cells::Dense(m) => m.n_rows,
            Cells::Csr(m) => m.n_rows,
            Cells::DenseRows(_, r) | Cells::CsrRows(_, r) => r.len(),
        }
    }

    /// Number of genes.
    pub fn n_cols(&self) -> usize {
        match self {
            Cells::Dense(m) | Cells::DenseRows(m, _) => m.n_cols,
            Cells::Csr(m) | Cells::CsrRows(m, _) => m.n_cols,
        }
    }

    /// Whether pdex would see a `csr_matrix` (true) or an `np.ndarray` (false).
    pub fn is_sparse(&self) -> bool {
        matches!(self, Cells::Csr(_) | Cells::CsrRows(..))
    }

    /// Checks the underlying matrix and that every listed row exists.
    pub fn validate(&self) -> Result<(), DeError> {
        self.validate_matrix()?;
        self.validate_rows()
    }

    /// Checks the underlying matrix only (a pass over all of it).
    pub fn validate_matrix(&self) -> Result<(), DeError> {
        match self {
            Cells::Dense(m) | Cells::DenseRows(m, _) => m.validate(),
            Cells::Csr(m) | Cells::CsrRows(m, _) => m.validate(),
        }
    }

    /// Checks that every listed row exists in the underlying matrix.
    pub fn validate_rows(&self) -> Result<(), DeError> {
        let (n, rows) = match self {
            Cells::Dense(_) | Cells::Csr(_) => return Ok(()),
            Cells::DenseRows(m, r) => (m.n_rows, r),
            Cells::CsrRows(m, r) => (m.n_rows, r),
        };
        match rows.iter().find(|&&r| r >= n) {
            Some(r) => Err(DeError::InvalidMatrix(format!("row {r} out of range (matrix has {n} rows)"))),
            None => Ok(()),
        }
    }

    /// Address of the underlying matrix: row views of one matrix share it, so a caller checking
    /// many groups validates each distinct matrix once.
    pub fn matrix_addr(&self) -> *const () {
        match self {
            Cells::Dense(m) | Cells::DenseRows(m, _) => std::ptr::from_ref(*m).cast(),
            Cells::Csr(m) | Cells::CsrRows(m, _) => std::ptr::from_ref(*m).cast(),
        }
    }

    fn for_each_nonzero(&self, mut f: impl FnMut(usize, f32)) {
        let dense_row = |m: &DenseMatrix, r: usize, f: &mut dyn FnMut(usize, f32)| {
            for (c, &v) in m.data[r * m.n_cols..(r + 1) * m.n_cols].iter().enumerate() {
                if v != 0.0 {
                    f(c, v);
                }
            }
        };
        let csr_row = |m: &CsrMatrix, r: usize, f: &mut dyn FnMut(usize, f32)| {
            let (a, b) = (m.indptr[r] as usize, m.indptr[r + 1] as usize);
            for k in a..b {
                if m.data[k] != 0.0 {
                    f(m.indices[k] as usize, m.data[k]);
                }
            }
        };
        match self {
            Cells::Dense(m) => (0..m.n_rows).for_each(|r| dense_row(m, r, &mut f)),
            Cells::DenseRows(m, rows) => rows.iter().for_each(|&r| dense_row(m, r, &mut f)),
            Cells::Csr(m) => (0..m.n_rows).for_each(|r| csr_row(m, r, &mut f)),
            Cells::CsrRows(m, rows) => rows.iter().for_each(|&r| csr_row(m, r, &mut f)),
        }
    }

    /// Every value of column 0 in row order, zeros included (used for a one-gene dense group,
    /// whose numpy mean is a pairwise sum over the contiguous column).
    pub fn dense_single_column(&self) -> Vec<f32> {
        let mut out = vec![0f32; self.n_rows()];
        let csr_put = |out: &mut [f32], i: usize, m: &CsrMatrix, r: usize| {
            for k in m.indptr[r] as usize..m.indptr[r + 1] as usize {
                if m.indices[k] == 0 {
                    out[i] = m.data[k];
                }
            }
        };
        match self {
            Cells::Dense(m) => (0..m.n_rows).for_each(|r| out[r] = m.data[r * m.n_cols]),
            Cells::DenseRows(m, rows) => rows.iter().enumerate().for_each(|(i, &r)| out[i] = m.data[r * m.n_cols]),
            Cells::Csr(m) => (0..m.n_rows).for_each(|r| csr_put(&mut out, r, m, r)),
            Cells::CsrRows(m, rows) => rows.iter().enumerate().for_each(|(i, &r)| csr_put(&mut out, i, m, r)),
        }
        out
    }

    /// Gene-major copy of the non-zero values (a counting sort by column, stable in row order).
    pub fn gene_columns(&self) -> GeneColumns {
        let n_cols = self.n_cols();
        let mut counts = vec![0usize; n_cols + 1];
        self.for_each_nonzero(|c, _| counts[c + 1] += 1);
        for g in 0..n_cols {
            counts[g + 1] += counts[g];
        }
        let col_ptr = counts.clone();
        let mut pos = counts;
        let mut values = vec![0f32; col_ptr[n_cols]];
        self.for_each_nonzero(|c, v| {
            values[pos[c]] = v;
            pos[c] += 1;
        });
        GeneColumns { n_rows: self.n_rows(), col_ptr, values }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dense() -> DenseMatrix {
        DenseMatrix { n_rows: 3, n_cols: 3, data: vec![1.0, 0.0, 2.0, 0.0, 0.0, 3.0, 4.0, 0.0, 0.0] }
    }

    #[test]
    fn dense_and_csr_give_same_columns() {
        let d = dense();
        let c = CsrMatrix::from_dense(&d);
        c.validate().unwrap();
        let gd = Cells::Dense(&d).gene_columns();
        let gc = Cells::Csr(&c).gene_columns();
        assert_eq!(gd, gc);
        assert_eq!(gd.column(0), &[1.0, 4.0]);
        assert!(gd.column(1).is_empty());
        assert_eq!(gd.column(2), &[2.0, 3.0]);
    }

    #[test]
    fn row_subsets_and_stored_zeros() {
        let d = dense();
        let rows = [2usize, 0];
        let g = Cells::DenseRows(&d, &rows).gene_columns();
        assert_eq!(g.n_rows, 2);
        assert_eq!(g.column(0), &[4.0, 1.0]);
        let c = CsrMatrix { n_rows: 1, n_cols: 2, indptr: vec![0, 2], indices: vec![1, 0], data: vec![0.0, 5.0] };
        c.validate().unwrap();
        let g = Cells::Csr(&c).gene_columns();
        assert_eq!(g.column(0), &[5.0]);
        assert!(g.column(1).is_empty());
        assert_eq!(c.select_rows(&[0, 0]).n_rows, 2);
        assert!(Cells::CsrRows(&c, &[1]).validate().is_err());
    }

    #[test]
    fn validate_rejects_bad_csr() {
        let c = CsrMatrix { n_rows: 1, n_cols: 2, indptr: vec![0, 1], indices: vec![2], data: vec![1.0] };
        assert!(c.validate().is_err());
        let d = DenseMatrix { n_rows: 2, n_cols: 2, data: vec![0.0; 3] };
        assert!(d.validate().is_err());
    }
}
