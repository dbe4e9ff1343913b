//! Count normalisation: detecting raw counts and scanpy's `normalize_total` + `log1p` (dense
//! output, or sparse in, sparse out).

use ndarray::{Array1, Array2};
use rayon::prelude::*;

use super::anndata::{Matrix, SparseMatrix};

/// True when every stored value is a non-negative integer (finite, no fractional part), i.e. the
/// matrix looks like raw UMI counts. Only stored values are checked (implicit sparse zeros are
/// counts anyway). An empty matrix counts as counts.
pub fn looks_like_counts(m: &Matrix) -> bool {
    let is_count = |x: &f32| x.is_finite() && *x >= 0.0 && x.fract() == 0.0;
    match m {
        Matrix::Dense(a) => a.iter().all(is_count),
        Matrix::Csr(s) | Matrix::Csc(s) => s.data.iter().all(is_count),
    }
}

/// scanpy `sc.pp.normalize_total(target_sum=target_sum)` followed by `sc.pp.log1p`: each row is
/// scaled to sum to `target_sum` (rows summing to 0 stay 0), then `ln(1 + x)`. Computed in f64 and
/// rounded to f32 at the end. Returns a dense cells x genes matrix; rows are processed in
/// parallel, one f64 row at a time (no f64 copy of the whole matrix).
pub fn normalize_total_log1p(m: &Matrix, target_sum: f32) -> Array2<f32> {
    let (n, g) = m.shape();
    let mut out = Array2::<f32>::zeros((n, g));
    if n == 0 || g == 0 {
        return out;
    }
    let transposed;
    let m = match m {
        Matrix::Csc(_) => {
            transposed = Matrix::Csr(m.clone().into_csr());
            &transposed
        }
        other => other,
    };
    let target = f64::from(target_sum);
    let slice = out.as_slice_mut().expect("a new array is contiguous");
    slice.par_chunks_mut(g).enumerate().for_each_init(
        || Array1::<f64>::zeros(g),
        |row_in, (r, row_out)| {
            match m {
                Matrix::Dense(a) => row_in.iter_mut().zip(a.row(r)).for_each(|(d, &x)| *d = f64::from(x)),
                Matrix::Csr(s) | Matrix::Csc(s) => {
                    row_in.fill(0.0);
                    for k in s.indptr[r] as usize..s.indptr[r + 1] as usize {
                        row_in[s.indices[k] as usize] += f64::from(s.data[k]);
                    }
                }
            }
            let scale = row_scale(row_in.sum(), target);
            for (x, y) in row_in.iter().zip(row_out.iter_mut()) {
                *y = (x * scale).ln_1p() as f32;
            }
        },
    );
    out
}

/// [`normalize_total_log1p`] of a CSR matrix, kept sparse: stored values are transformed (zeros
/// stay implicit, as scanpy keeps a sparse X sparse), rows in parallel. For counts (integers, so
/// every row sum is exact in f64) the values equal the dense function's bit for bit.
pub fn normalize_total_log1p_csr(s: &SparseMatrix, target_sum: f32) -> SparseMatrix {
    let mut data = s.data.clone();
    normalize_total_log1p_rows(&s.indptr, &mut data, target_sum);
    SparseMatrix { shape: s.shape, data, indices: s.indices.clone(), indptr: s.indptr.clone() }
}

/// The stored values of a CSR matrix (`data`, rows cut by `indptr`), normalised in place as
/// [`normalize_total_log1p_csr`] does, rows in parallel.
pub fn normalize_total_log1p_rows(indptr: &[u64], data: &mut [f32], target_sum: f32) {
    let target = f64::from(target_sum);
    let mut rows: Vec<&mut [f32]> = Vec::with_capacity(indptr.len().saturating_sub(1));
    let mut rest = data;
    for w in indptr.windows(2) {
        let (row, tail) = rest.split_at_mut((w[1] - w[0]) as usize);
        rows.push(row);
        rest = tail;
    }
    rows.into_par_iter().for_each(|row| normalize_row(row, target));
}

/// The stored values of one CSR row, normalised in place as [`normalize_total_log1p_csr`] does
/// (same arithmetic, so the same bits): for writers that produce a CSR matrix a few rows at a time.
pub fn normalize_total_log1p_row(row: &mut [f32], target_sum: f32) {
    normalize_row(row, f64::from(target_sum));
}

fn normalize_row(row: &mut [f32], target: f64) {
    let scale = row_scale(row.iter().map(|&x| f64::from(x)).sum(), target);
    row.iter_mut().for_each(|x| *x = (f64::from(*x) * scale).ln_1p() as f32);
}

/// The factor scaling a row summing to `sum` to `target` (0 for an empty row).
fn row_scale(sum: f64, target: f64) -> f64 {
    if sum > 0.0 { target / sum } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anndata::SparseMatrix;
    use ndarray::arr2;

    fn csr() -> Matrix {
        // [[1, 0, 3], [0, 0, 0], [0, 2, 2]]
        Matrix::Csr(SparseMatrix {
            shape: (3, 3),
            data: vec![1.0, 3.0, 2.0, 2.0],
            indices: vec![0, 2, 1, 2],
            indptr: vec![0, 2, 2, 4],
        })
    }

    #[test]
    fn counts_detection() {
        assert!(looks_like_counts(&csr()));
        assert!(looks_like_counts(&Matrix::Dense(arr2(&[[0.0, 5.0], [2.0, 1.0]]))));
        assert!(!looks_like_counts(&Matrix::Dense(arr2(&[[0.5, 5.0]]))));
        assert!(!looks_like_counts(&Matrix::Dense(arr2(&[[-1.0, 5.0]]))));
        assert!(!looks_like_counts(&Matrix::Dense(arr2(&[[f32::NAN]]))));
        let mut logged = csr();
        if let Matrix::Csr(s) = &mut logged {
            s.data[0] = 0.5;
        }
        assert!(!looks_like_counts(&logged));
    }

    #[test]
    fn normalize_log1p_matches_hand_computation() {
        // Row 0: sum 4 -> [1e4/4, 0, 3e4/4] = [2500, 0, 7500]; ln(2501) = 7.824445…, ln(7501) = 8.922792…
        // Row 1: sum 0 stays 0. Row 2: sum 4 -> [0, 5000, 5000]; ln(5001) = 8.517393…
        let out = normalize_total_log1p(&csr(), 1e4);
        let expected = arr2(&[
            [2501f64.ln() as f32, 0.0, 7501f64.ln() as f32],
            [0.0, 0.0, 0.0],
            [0.0, 5001f64.ln() as f32, 5001f64.ln() as f32],
        ]);
        assert_eq!(out, expected);
        assert!((out[[0, 0]] - 7.824_446).abs() < 1e-5);
        assert!((out[[0, 2]] - 8.922_792).abs() < 1e-5);
        assert!((out[[2, 1]] - 8.517_393).abs() < 1e-5);
        // Same result from the CSC and dense forms of the same matrix.
        let dense = csr().to_dense();
        assert_eq!(normalize_total_log1p(&Matrix::Dense(dense), 1e4), out);
        let csc = Matrix::Csc(SparseMatrix {
            shape: (3, 3),
            data: vec![1.0, 2.0, 3.0, 2.0],
            indices: vec![0, 2, 0, 2],
            indptr: vec![0, 1, 2, 4],
        });
        assert_eq!(normalize_total_log1p(&csc, 1e4), out);
        // The sparse form keeps the sparsity pattern and gives the same values.
        let Matrix::Csr(s) = csr() else { unreachable!() };
        let sparse = normalize_total_log1p_csr(&s, 1e4);
        assert_eq!((&sparse.indices, &sparse.indptr), (&s.indices, &s.indptr));
        assert_eq!(Matrix::Csr(sparse).to_dense(), out);
        // target_sum 1: [0.25, 0, 0.75] -> ln(1.25), ln(1.75)
        let one = normalize_total_log1p(&csr(), 1.0);
        assert!((one[[0, 0]] - 0.223_143_55).abs() < 1e-7);
        assert!((one[[0, 2]] - 0.559_615_8).abs() < 1e-7);
    }
}
