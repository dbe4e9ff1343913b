//! Count normalisation: detecting raw counts and scanpy's `normalize_total` + `log1p`.

use ndarray::Array2;

use super::anndata::Matrix;

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
/// rounded to f32 at the end. Returns a dense cells x genes matrix.
pub fn normalize_total_log1p(m: &Matrix, target_sum: f32) -> Array2<f32> {
    let dense = to_dense_f64(m);
    let target = f64::from(target_sum);
    let mut out = Array2::<f32>::zeros(dense.dim());
    for (row_in, mut row_out) in dense.rows().into_iter().zip(out.rows_mut()) {
        let sum: f64 = row_in.sum();
        let scale = if sum > 0.0 { target / sum } else { 0.0 };
        for (x, y) in row_in.iter().zip(row_out.iter_mut()) {
            *y = (x * scale).ln_1p() as f32;
        }
    }
    out
}

/// Dense f64 copy of a matrix (rows x columns), summing duplicate sparse entries.
fn to_dense_f64(m: &Matrix) -> Array2<f64> {
    match m {
        Matrix::Dense(a) => a.mapv(f64::from),
        Matrix::Csr(s) => {
            let mut out = Array2::zeros(s.shape);
            for row in 0..s.shape.0 {
                for k in s.indptr[row] as usize..s.indptr[row + 1] as usize {
                    out[[row, s.indices[k] as usize]] += f64::from(s.data[k]);
                }
            }
            out
        }
        Matrix::Csc(s) => {
            let mut out = Array2::zeros(s.shape);
            for col in 0..s.shape.1 {
                for k in s.indptr[col] as usize..s.indptr[col + 1] as usize {
                    out[[s.indices[k] as usize, col]] += f64::from(s.data[k]);
                }
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::anndata::SparseMatrix;
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
        // target_sum 1: [0.25, 0, 0.75] -> ln(1.25), ln(1.75)
        let one = normalize_total_log1p(&csr(), 1.0);
        assert!((one[[0, 0]] - 0.223_143_55).abs() < 1e-7);
        assert!((one[[0, 2]] - 0.559_615_8).abs() < 1e-7);
    }
}
