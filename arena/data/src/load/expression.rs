//! A file's X as a dataset's [`Expression`]: raw counts become log1p(normalize_total(1e4)) as
//! scanpy computes them, and a sparse X stays CSR unless its dense form would be smaller, so that
//! a screen costs its stored values, never a dense float of every cell and gene. The values equal
//! those of a dense conversion bit for bit: repeated column ids within a row are summed first, in
//! the order a dense copy sums them, and a count row's sum is exact in f64 either way.

use metrics::de::CsrMatrix;
use tasks::Expression;

use crate::{Matrix, SparseMatrix, looks_like_counts, normalize_total_log1p, normalize_total_log1p_rows};

/// The rows `rows` (in that order; `None`: every row) of `x`, normalised when `x` holds counts.
pub fn expression_of(x: Matrix, rows: Option<&[usize]>) -> Expression {
    let counts = looks_like_counts(&x);
    match x {
        Matrix::Dense(a) => {
            let a = if counts { normalize_total_log1p(&Matrix::Dense(a), 1e4) } else { a };
            Expression::Dense(match rows {
                Some(rows) => a.select(ndarray::Axis(0), rows),
                None => a,
            })
        }
        sparse => {
            let s = sparse.into_csr();
            let (n_rows, n_cols) = s.shape;
            let mut csr = CsrMatrix { n_rows, n_cols, indptr: s.indptr, indices: s.indices, data: s.data };
            if let Some(rows) = rows {
                csr = csr.select_rows(rows);
            }
            sum_repeated_columns(&mut csr);
            if counts {
                normalize_total_log1p_rows(&csr.indptr, &mut csr.data, 1e4);
            }
            let dense_bytes = csr.n_rows * csr.n_cols * 4;
            match csr.data.len() * 8 + csr.indptr.len() * 8 >= dense_bytes {
                true => Expression::Dense(
                    Matrix::Csr(SparseMatrix {
                        shape: (csr.n_rows, csr.n_cols),
                        data: csr.data,
                        indices: csr.indices,
                        indptr: csr.indptr,
                    })
                    .to_dense(),
                ),
                false => Expression::Sparse(csr),
            }
        }
    }
}

/// Merges the entries of a row that share a column into the first of them (values added in
/// storage order, from zero, as a dense copy adds them); a matrix without repeats is untouched.
pub(super) fn sum_repeated_columns(csr: &mut CsrMatrix) {
    // seen[c]: 1 + the row that last stored column c.
    let mut seen = vec![0usize; csr.n_cols];
    let has_repeat = (0..csr.n_rows).any(|r| {
        csr.indices[csr.indptr[r] as usize..csr.indptr[r + 1] as usize]
            .iter()
            .any(|&c| std::mem::replace(&mut seen[c as usize], r + 1) == r + 1)
    });
    if !has_repeat {
        return;
    }
    // at[c]: where column c's value of the current row went in the output.
    let mut at = vec![usize::MAX; csr.n_cols];
    let (mut indptr, mut indices, mut data) = (vec![0u64], Vec::new(), Vec::new());
    for r in 0..csr.n_rows {
        let first = data.len();
        for k in csr.indptr[r] as usize..csr.indptr[r + 1] as usize {
            let c = csr.indices[k] as usize;
            match at[c] {
                i if i != usize::MAX && i >= first => data[i] += csr.data[k],
                _ => {
                    at[c] = data.len();
                    indices.push(csr.indices[k]);
                    data.push(0.0f32 + csr.data[k]);
                }
            }
        }
        indptr.push(data.len() as u64);
    }
    (csr.indptr, csr.indices, csr.data) = (indptr, indices, data);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// 40 cells x 30 genes of counts, about 10% stored (column ids of a row in descending order).
    fn counts() -> SparseMatrix {
        let mut s = SparseMatrix { shape: (40, 30), data: vec![], indices: vec![], indptr: vec![0] };
        for r in 0..40u32 {
            for c in (0..30u32).rev() {
                if (r * 31 + c * 17) % 10 == 0 {
                    s.indices.push(c);
                    s.data.push(((r + c) % 7 + 1) as f32);
                }
            }
            s.indptr.push(s.data.len() as u64);
        }
        s
    }

    fn dense(e: &Expression) -> Array2<f32> {
        e.select(&(0..e.nrows()).collect::<Vec<_>>())
    }

    #[test]
    fn sparse_counts_stay_csr_with_the_values_of_the_dense_conversion() {
        let x = Matrix::Csr(counts());
        let want = normalize_total_log1p(&x, 1e4);
        let got = expression_of(x.clone(), None);
        assert!(matches!(got, Expression::Sparse(_)));
        assert_eq!(dense(&got), want);
        let rows = [7, 3, 39, 3];
        assert_eq!(dense(&expression_of(x, Some(&rows))), want.select(ndarray::Axis(0), &rows));
        // Not counts: kept as stored.
        let mut logged = counts();
        logged.data.iter_mut().for_each(|v| *v *= 0.5);
        let want = Matrix::Csr(logged.clone()).to_dense();
        assert_eq!(dense(&expression_of(Matrix::Csr(logged), None)), want);
    }

    #[test]
    fn repeated_columns_are_summed_as_a_dense_copy_sums_them() {
        // Row 0 stores column 1 three times, row 1 column 0 twice.
        let s = SparseMatrix {
            shape: (3, 4),
            data: vec![0.1, 2.0, 0.7, 0.2, 1.0, 3.0, 4.0, 0.5],
            indices: vec![1, 3, 1, 1, 0, 2, 0, 3],
            indptr: vec![0, 4, 7, 8],
        };
        let x = Matrix::Csr(s.clone());
        assert_eq!(dense(&expression_of(x.clone(), None)), x.to_dense());
        let mut whole = s;
        whole.data.iter_mut().for_each(|v| *v = v.round() + 1.0);
        let x = Matrix::Csr(whole);
        assert_eq!(dense(&expression_of(x.clone(), None)), normalize_total_log1p(&x, 1e4));
    }

    #[test]
    fn dense_when_smaller_and_dense_files_stay_dense() {
        let full = Array2::from_shape_fn((5, 4), |(i, j)| (i + j + 1) as f32);
        let x = Matrix::Csr(SparseMatrix::csr_from_dense(full.view()));
        assert!(matches!(expression_of(x.clone(), None), Expression::Dense(_)));
        assert_eq!(dense(&expression_of(x, None)), normalize_total_log1p(&Matrix::Dense(full.clone()), 1e4));
        let kept = expression_of(Matrix::Dense(full.clone()), Some(&[4, 0]));
        assert!(matches!(kept, Expression::Dense(_)));
        assert_eq!(dense(&kept), normalize_total_log1p(&Matrix::Dense(full), 1e4).select(ndarray::Axis(0), &[4, 0]));
    }
}
