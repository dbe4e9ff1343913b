//! Small dense linear algebra for the linear baseline: the symmetric eigendecomposition (cyclic
//! Jacobi, exact to machine precision for the few-hundred-square matrices used here) and a
//! Cholesky solve of a symmetric positive definite system.

use ndarray::{Array1, Array2};

/// Eigenvalues (descending) and eigenvectors (columns, same order) of a symmetric matrix.
pub(crate) fn symmetric_eigen(matrix: &Array2<f64>) -> (Array1<f64>, Array2<f64>) {
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
