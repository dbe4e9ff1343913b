//! Small dense linear algebra for the linear baseline: the symmetric eigendecomposition (cyclic
//! Jacobi, exact to machine precision for the few-hundred-square matrices used here) and a
//! Cholesky solve of a symmetric positive definite system.

use ndarray::{Array1, Array2};

/// Eigenvalues (descending) and eigenvectors (columns, same order) of a symmetric matrix. The
/// matrices are held as row-major slices (the same arithmetic, in the same order, as indexing
/// the arrays, without the per-element index calls).
pub(crate) fn symmetric_eigen(matrix: &Array2<f64>) -> (Array1<f64>, Array2<f64>) {
    let n = matrix.nrows();
    let mut a: Vec<f64> = matrix.iter().copied().collect();
    let mut v = vec![0.0f64; n * n];
    for k in 0..n {
        v[k * n + k] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j].powi(2))
            .sum();
        let scale: f64 = a.iter().map(|x| x * x).sum::<f64>().max(f64::MIN_POSITIVE);
        if off <= 1e-30 * scale {
            break;
        }
        for p in 0..n {
            for q in (p + 1)..n {
                let apq = a[p * n + q];
                if apq.abs() < f64::MIN_POSITIVE {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for row in a.chunks_exact_mut(n) {
                    let (akp, akq) = (row[p], row[q]);
                    row[p] = c * akp - s * akq;
                    row[q] = s * akp + c * akq;
                }
                let (upper, lower) = a.split_at_mut(q * n);
                let (row_p, row_q) = (&mut upper[p * n..(p + 1) * n], &mut lower[..n]);
                for (apk, aqk) in row_p.iter_mut().zip(row_q.iter_mut()) {
                    let (x, y) = (*apk, *aqk);
                    *apk = c * x - s * y;
                    *aqk = s * x + c * y;
                }
                for row in v.chunks_exact_mut(n) {
                    let (vkp, vkq) = (row[p], row[q]);
                    row[p] = c * vkp - s * vkq;
                    row[q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| a[j * n + j].total_cmp(&a[i * n + i]).then(i.cmp(&j)));
    let values = Array1::from_iter(order.iter().map(|&i| a[i * n + i]));
    let mut vectors = Array2::<f64>::zeros((n, n));
    for (new, &old) in order.iter().enumerate() {
        for k in 0..n {
            vectors[[k, new]] = v[k * n + old];
        }
    }
    (values, vectors)
}

/// Solves A X = B for symmetric positive definite A (Cholesky). Returns None if A is not SPD.
pub(crate) fn cholesky_solve(a: &Array2<f64>, b: &Array2<f64>) -> Option<Array2<f64>> {
    let n = a.nrows();
    let mut l = Array2::<f64>::zeros((n, n));
    for i in 0..n {
        for j in 0..=i {
            let sum: f64 = (0..j).map(|k| l[[i, k]] * l[[j, k]]).sum();
            if i == j {
                let d = a[[i, i]] - sum;
                if d <= 0.0 {
                    return None;
                }
                l[[i, j]] = d.sqrt();
            } else {
                l[[i, j]] = (a[[i, j]] - sum) / l[[j, j]];
            }
        }
    }
    let mut x = b.clone();
    for col in 0..b.ncols() {
        for i in 0..n {
            let sum: f64 = (0..i).map(|k| l[[i, k]] * x[[k, col]]).sum();
            x[[i, col]] = (x[[i, col]] - sum) / l[[i, i]];
        }
        for i in (0..n).rev() {
            let sum: f64 = ((i + 1)..n).map(|k| l[[k, i]] * x[[k, col]]).sum();
            x[[i, col]] = (x[[i, col]] - sum) / l[[i, i]];
        }
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn eigen_reconstructs_the_matrix() {
        let m = array![[4.0, 1.0, 2.0], [1.0, 3.0, 0.5], [2.0, 0.5, 5.0]];
        let (values, vectors) = symmetric_eigen(&m);
        assert!(values[0] >= values[1] && values[1] >= values[2]);
        let rebuilt = vectors.dot(&Array2::from_diag(&values)).dot(&vectors.t());
        for (a, b) in rebuilt.iter().zip(m.iter()) {
            assert!((a - b).abs() < 1e-10, "{rebuilt:?}");
        }
        // Trace is preserved.
        assert!((values.sum() - 12.0).abs() < 1e-10);
    }

    /// The cyclic Jacobi as it was written on indexed arrays: the slice version must give the
    /// same bits.
    fn indexed_jacobi(matrix: &Array2<f64>) -> (Array1<f64>, Array2<f64>) {
        let n = matrix.nrows();
        let mut a = matrix.clone();
        let mut v = Array2::<f64>::eye(n);
        for _sweep in 0..100 {
            let off: f64 = (0..n)
                .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
                .map(|(i, j)| a[[i, j]].powi(2))
                .sum();
            let scale: f64 = a.iter().map(|x| x * x).sum::<f64>().max(f64::MIN_POSITIVE);
            if off <= 1e-30 * scale {
                break;
            }
            for p in 0..n {
                for q in (p + 1)..n {
                    let apq = a[[p, q]];
                    if apq.abs() < f64::MIN_POSITIVE {
                        continue;
                    }
                    let theta = (a[[q, q]] - a[[p, p]]) / (2.0 * apq);
                    let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                    let t = if theta == 0.0 { 1.0 } else { t };
                    let c = 1.0 / (t * t + 1.0).sqrt();
                    let s = t * c;
                    for k in 0..n {
                        let (akp, akq) = (a[[k, p]], a[[k, q]]);
                        a[[k, p]] = c * akp - s * akq;
                        a[[k, q]] = s * akp + c * akq;
                    }
                    for k in 0..n {
                        let (apk, aqk) = (a[[p, k]], a[[q, k]]);
                        a[[p, k]] = c * apk - s * aqk;
                        a[[q, k]] = s * apk + c * aqk;
                    }
                    for k in 0..n {
                        let (vkp, vkq) = (v[[k, p]], v[[k, q]]);
                        v[[k, p]] = c * vkp - s * vkq;
                        v[[k, q]] = s * vkp + c * vkq;
                    }
                }
            }
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&i, &j| a[[j, j]].total_cmp(&a[[i, i]]).then(i.cmp(&j)));
        let values = Array1::from_iter(order.iter().map(|&i| a[[i, i]]));
        let mut vectors = Array2::<f64>::zeros((n, n));
        for (new, &old) in order.iter().enumerate() {
            vectors.column_mut(new).assign(&v.column(old));
        }
        (values, vectors)
    }

    #[test]
    fn eigen_gives_the_bits_of_the_indexed_jacobi() {
        let mut rng = metrics::rng::seeded(0x2545);
        let mut next = || metrics::rng::index(&mut rng, 1 << 53) as f64 / (1u64 << 53) as f64 - 0.5;
        for (rows, cols) in [(37, 23), (20, 60), (1, 1)] {
            let x = Array2::from_shape_fn((rows, cols), |_| next());
            // A Gram matrix (as the baselines decompose) and one in column-major memory.
            for m in [x.dot(&x.t()), x.t().dot(&x).reversed_axes().as_standard_layout().to_owned().reversed_axes()] {
                let (values, vectors) = symmetric_eigen(&m);
                let (want_values, want_vectors) = indexed_jacobi(&m);
                let bits = |a: &[f64]| a.iter().map(|v| v.to_bits()).collect::<Vec<u64>>();
                assert_eq!(bits(&values.to_vec()), bits(&want_values.to_vec()));
                assert_eq!(
                    bits(&vectors.iter().copied().collect::<Vec<f64>>()),
                    bits(&want_vectors.iter().copied().collect::<Vec<f64>>())
                );
            }
        }
    }

    #[test]
    fn cholesky_solves_and_refuses_non_spd() {
        let a = array![[4.0, 2.0], [2.0, 3.0]];
        let b = array![[2.0], [1.0]];
        let x = cholesky_solve(&a, &b).unwrap();
        let back = a.dot(&x);
        assert!((back[[0, 0]] - 2.0).abs() < 1e-12 && (back[[1, 0]] - 1.0).abs() < 1e-12);
        assert!(cholesky_solve(&array![[0.0, 1.0], [1.0, 0.0]], &b).is_none());
    }
}
