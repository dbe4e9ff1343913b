//! The cells × genes matrix of a dataset: dense, CSR (`metrics::de::CsrMatrix`) when the source
//! file is sparse, so that a screen costs its stored values and never a dense copy of every cell,
//! or stored ([`RowSource`]: rows read from storage when asked for, a perturbation group at a
//! time, so that a screen larger than memory costs its largest groups and its controls).
//! Everything reads it through row groups ([`Expression::select`], [`Expression::mean_of_rows`],
//! [`Expression::for_each_row`]), which give the same numbers bit for bit from every form: a
//! mean adds a row's stored values in row order, and adding an implicit zero to a finite f64 sum
//! would not change it.

use std::sync::Arc;

use metrics::de::CsrMatrix;
use ndarray::{Array1, Array2, ArrayView1, Axis};

/// Rows are observations, columns are genes.
#[derive(Debug, Clone, PartialEq)]
pub enum Expression {
    Dense(Array2<f32>),
    /// Column ids within a row are unique (the loader sums repeats, as a dense copy would).
    Sparse(CsrMatrix),
    /// Rows kept in storage, read when asked for.
    Stored(StoredRows),
}

/// Where the rows of a [`Expression::Stored`] matrix come from (the loader's grouped store). A
/// read hands back a matrix and the positions in it of the rows asked for, so that a source can
/// lend a group it holds instead of copying it.
pub trait RowSource: Send + Sync + std::fmt::Debug {
    /// (rows, columns).
    fn shape(&self) -> (usize, usize);
    /// A CSR matrix (column ids unique within a row) holding the rows `rows`, and where each of
    /// them is in it, in the order asked. Storage that fails after the source was opened (a cache
    /// deleted during a run) cannot be recovered from and panics, naming the file.
    fn rows(&self, rows: &[usize]) -> (Arc<CsrMatrix>, Vec<usize>);
    /// The first value that is not finite, as (row, column, value), row by row.
    fn first_non_finite(&self) -> Option<(usize, usize, f32)>;
    /// Bytes held in memory now.
    fn bytes(&self) -> usize;
    /// The most cells held in memory at once so far.
    fn peak_cells(&self) -> usize;
}

/// A [`RowSource`] behind a shared handle; two are equal when they are the same source.
#[derive(Debug, Clone)]
pub struct StoredRows(pub Arc<dyn RowSource>);

impl PartialEq for StoredRows {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl From<Array2<f32>> for Expression {
    fn from(m: Array2<f32>) -> Self {
        Expression::Dense(m)
    }
}

impl Expression {
    pub fn nrows(&self) -> usize {
        match self {
            Expression::Dense(m) => m.nrows(),
            Expression::Sparse(s) => s.n_rows,
            Expression::Stored(s) => s.0.shape().0,
        }
    }

    pub fn ncols(&self) -> usize {
        match self {
            Expression::Dense(m) => m.ncols(),
            Expression::Sparse(s) => s.n_cols,
            Expression::Stored(s) => s.0.shape().1,
        }
    }

    /// Bytes the matrix holds (values, and for CSR its indices and row pointers).
    pub fn bytes(&self) -> usize {
        match self {
            Expression::Dense(m) => m.len() * 4,
            Expression::Sparse(s) => s.data.len() * 8 + s.indptr.len() * 8,
            Expression::Stored(s) => s.0.bytes(),
        }
    }

    /// The given rows, dense, in the given order.
    pub fn select(&self, rows: &[usize]) -> Array2<f32> {
        match self {
            Expression::Dense(m) => m.select(Axis(0), rows),
            Expression::Sparse(s) => s.dense_rows(rows),
            Expression::Stored(s) => {
                let (m, at) = s.0.rows(rows);
                m.dense_rows(&at)
            }
        }
    }

    /// The given rows, in the given order, in the same form (dense stays dense, CSR stays CSR,
    /// stored rows are read into CSR).
    pub fn subset(&self, rows: &[usize]) -> Expression {
        match self {
            Expression::Dense(m) => Expression::Dense(m.select(Axis(0), rows)),
            Expression::Sparse(s) => Expression::Sparse(s.select_rows(rows)),
            Expression::Stored(s) => {
                let (m, at) = s.0.rows(rows);
                Expression::Sparse(m.select_rows(&at))
            }
        }
    }

    /// Calls `f(i, row)` with each of the given rows (dense), `i` its position in `rows`; a
    /// sparse matrix fills one reused buffer.
    pub fn for_each_row(&self, rows: &[usize], mut f: impl FnMut(usize, ArrayView1<'_, f32>)) {
        match self {
            Expression::Dense(m) => rows.iter().enumerate().for_each(|(i, &r)| f(i, m.row(r))),
            Expression::Sparse(s) => csr_for_each_row(s, rows, f),
            Expression::Stored(s) => {
                let (m, at) = s.0.rows(rows);
                csr_for_each_row(&m, &at, f)
            }
        }
    }

    /// Row `r`, dense.
    pub fn row(&self, r: usize) -> Array1<f32> {
        match self {
            Expression::Dense(m) => m.row(r).to_owned(),
            Expression::Sparse(_) | Expression::Stored(_) => self.select(&[r]).index_axis_move(Axis(0), 0),
        }
    }

    /// Mean over the given rows (f64 accumulation in row order); zeros for no rows.
    pub fn mean_of_rows(&self, rows: &[usize]) -> Array1<f64> {
        match self {
            Expression::Dense(m) => crate::dataset::mean_rows(m, rows),
            Expression::Sparse(s) => Array1::from(s.mean_of_rows(rows)),
            Expression::Stored(s) => {
                let (m, at) = s.0.rows(rows);
                Array1::from(m.mean_of_rows(&at))
            }
        }
    }

    /// The first value that is not finite, as (row, column, value).
    pub fn first_non_finite(&self) -> Option<(usize, usize, f32)> {
        match self {
            Expression::Dense(m) => m.indexed_iter().find(|(_, v)| !v.is_finite()).map(|((r, c), &v)| (r, c, v)),
            Expression::Sparse(s) => {
                let k = s.data.iter().position(|v| !v.is_finite())?;
                let row = s.indptr.partition_point(|&p| p as usize <= k) - 1;
                Some((row, s.indices[k] as usize, s.data[k]))
            }
            Expression::Stored(s) => s.0.first_non_finite(),
        }
    }
}

/// Calls `f(i, row)` with each of the rows `rows` of `s` (dense, one reused buffer).
fn csr_for_each_row(s: &CsrMatrix, rows: &[usize], mut f: impl FnMut(usize, ArrayView1<'_, f32>)) {
    let mut buffer = Array1::<f32>::zeros(s.n_cols);
    for (i, &r) in rows.iter().enumerate() {
        let range = s.indptr[r] as usize..s.indptr[r + 1] as usize;
        for k in range.clone() {
            buffer[s.indices[k] as usize] = s.data[k];
        }
        f(i, buffer.view());
        for k in range {
            buffer[s.indices[k] as usize] = 0.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// The dense matrix and its CSR form, columns within a row out of order.
    fn both() -> (Expression, Expression) {
        let dense = array![[0.5f32, 0.0, 1.25], [0.0, 0.0, 0.0], [0.1, 3.0, 0.0], [0.7, 0.0, 0.3]];
        let sparse = CsrMatrix {
            n_rows: 4,
            n_cols: 3,
            indptr: vec![0, 2, 2, 4, 6],
            indices: vec![2, 0, 1, 0, 0, 2],
            data: vec![1.25, 0.5, 3.0, 0.1, 0.7, 0.3],
        };
        (Expression::Dense(dense), Expression::Sparse(sparse))
    }

    /// A source holding the rows in reverse order, so that positions must be mapped.
    #[derive(Debug)]
    struct Reversed(Arc<CsrMatrix>);

    impl RowSource for Reversed {
        fn shape(&self) -> (usize, usize) {
            (self.0.n_rows, self.0.n_cols)
        }
        fn rows(&self, rows: &[usize]) -> (Arc<CsrMatrix>, Vec<usize>) {
            (self.0.clone(), rows.iter().map(|r| self.0.n_rows - 1 - r).collect())
        }
        fn first_non_finite(&self) -> Option<(usize, usize, f32)> {
            None
        }
        fn bytes(&self) -> usize {
            0
        }
        fn peak_cells(&self) -> usize {
            self.0.n_rows
        }
    }

    #[test]
    fn stored_rows_read_through_their_source_equal_the_matrix_they_came_from() {
        let (dense, sparse) = both();
        let Expression::Sparse(s) = &sparse else { unreachable!() };
        let reversed = Arc::new(s.select_rows(&[3, 2, 1, 0]));
        let stored = Expression::Stored(StoredRows(Arc::new(Reversed(reversed))));
        for rows in [&[][..], &[1], &[0, 2, 3], &[3, 3, 1, 0]] {
            assert_eq!(stored.select(rows), dense.select(rows));
            assert_eq!(stored.subset(rows), sparse.subset(rows));
            let (a, b) = (dense.mean_of_rows(rows), stored.mean_of_rows(rows));
            assert_eq!(a.mapv(f64::to_bits), b.mapv(f64::to_bits));
        }
        assert_eq!(stored.row(2), dense.row(2));
        assert_eq!((stored.nrows(), stored.ncols()), (4, 3));
        let mut seen = Vec::new();
        stored.for_each_row(&[2, 0], |i, row| seen.push((i, row.to_vec())));
        assert_eq!(seen, vec![(0, dense.row(2).to_vec()), (1, dense.row(0).to_vec())]);
        assert_eq!(stored.clone(), stored);
        assert_ne!(stored, Expression::Stored(StoredRows(Arc::new(Reversed(Arc::new(s.clone()))))));
    }

    #[test]
    fn both_forms_give_the_same_rows_means_and_subsets() {
        let (dense, sparse) = both();
        let rows = [3, 0, 2, 0];
        assert_eq!(sparse.select(&rows), dense.select(&rows));
        assert_eq!(sparse.row(2), dense.row(2));
        assert_eq!(sparse.subset(&rows).select(&[0, 1, 2, 3]), dense.select(&rows));
        assert!(matches!(sparse.subset(&rows), Expression::Sparse(_)));
        for rows in [&[][..], &[1], &[0, 2, 3], &[3, 3, 1, 0]] {
            let (a, b) = (dense.mean_of_rows(rows), sparse.mean_of_rows(rows));
            assert_eq!(
                a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                b.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
        }
        let collect = |e: &Expression| {
            let mut seen = Vec::new();
            e.for_each_row(&rows, |i, row| seen.push((i, row.to_vec())));
            seen
        };
        assert_eq!(collect(&sparse), collect(&dense));
        assert_eq!((sparse.nrows(), sparse.ncols()), (4, 3));
        assert_eq!(sparse.bytes(), 6 * 8 + 5 * 8);
    }

    #[test]
    fn finds_the_first_non_finite_value_in_either_form() {
        let (dense, sparse) = both();
        assert_eq!((dense.first_non_finite(), sparse.first_non_finite()), (None, None));
        let Expression::Sparse(mut s) = sparse else { unreachable!() };
        s.data[4] = f32::INFINITY;
        assert_eq!(Expression::Sparse(s).first_non_finite(), Some((3, 0, f32::INFINITY)));
    }
}
