//! Small dense linear algebra for the linear and ridge baselines: the symmetric eigendecomposition
//! (Householder tridiagonalisation and implicit QL, O(n³) for the conditions x conditions kernels
//! of thousands of training perturbations) and a Cholesky solve of a symmetric positive definite
//! system.

use ndarray::{Array1, Array2};

/// QL iterations allowed per eigenvalue (two or three are typical); a matrix holding NaN stops here.
const MAX_QL_ITERATIONS: usize = 200;

/// Eigenvalues (descending) and eigenvectors (columns, same order) of a symmetric matrix:
/// Householder reduction to tridiagonal form, then the implicit QL iteration (the EISPACK tred2
/// and tql2, as in JAMA), O(n³) with a small constant. The orthogonal transformations are held
/// transposed (row j of `w` is column j of V), so every inner loop runs along a contiguous row.
pub(crate) fn symmetric_eigen(matrix: &Array2<f64>) -> (Array1<f64>, Array2<f64>) {
    let n = matrix.nrows();
    if n == 0 {
        return (Array1::zeros(0), Array2::zeros((0, 0)));
    }
    // V starts as the matrix; held as w = Vᵀ, which for a symmetric matrix is the same values.
    let mut w: Vec<f64> = matrix.t().iter().copied().collect();
    let mut d = vec![0.0f64; n];
    let mut e = vec![0.0f64; n];
    tridiagonalize(n, &mut w, &mut d, &mut e);
    tridiagonal_ql(n, &mut w, &mut d, &mut e);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| d[j].total_cmp(&d[i]).then(i.cmp(&j)));
    let values = Array1::from_iter(order.iter().map(|&i| d[i]));
    let mut vectors = Array2::<f64>::zeros((n, n));
    for (new, &old) in order.iter().enumerate() {
        vectors.column_mut(new).assign(&ndarray::ArrayView1::from(&w[old * n..(old + 1) * n]));
    }
    (values, vectors)
}

/// Householder reduction (tred2): on return `d` is the tridiagonal's diagonal, `e[1..]` its
/// subdiagonal, and `w` (= Vᵀ; V[a][b] is `w[b * n + a]`) the accumulated orthogonal
/// transformation.
fn tridiagonalize(n: usize, w: &mut [f64], d: &mut [f64], e: &mut [f64]) {
    for j in 0..n {
        d[j] = w[j * n + (n - 1)];
    }
    for i in (1..n).rev() {
        let scale: f64 = d[..i].iter().map(|v| v.abs()).sum();
        d[i] = if scale == 0.0 {
            e[i] = d[i - 1];
            for j in 0..i {
                d[j] = w[j * n + (i - 1)];
                w[j * n + i] = 0.0;
                w[i * n + j] = 0.0;
            }
            0.0
        } else {
            householder_step(n, i, scale, w, d, e)
        };
    }
    accumulate_householder(n, w, d, e);
}

/// One Householder reflection of tred2, annihilating row i left of the subdiagonal; returns h
/// (the reflection's scale, kept in `d[i]` for the accumulation).
fn householder_step(n: usize, i: usize, scale: f64, w: &mut [f64], d: &mut [f64], e: &mut [f64]) -> f64 {
    let mut h = 0.0;
    for v in &mut d[..i] {
        *v /= scale;
        h += *v * *v;
    }
    let mut f = d[i - 1];
    let mut g = if f > 0.0 { -h.sqrt() } else { h.sqrt() };
    e[i] = scale * g;
    h -= f * g;
    d[i - 1] = f - g;
    e[..i].fill(0.0);
    for j in 0..i {
        f = d[j];
        w[i * n + j] = f;
        let row = &w[j * n..j * n + i];
        g = e[j] + row[j] * f;
        for k in (j + 1)..i {
            g += row[k] * d[k];
            e[k] += row[k] * f;
        }
        e[j] = g;
    }
    f = 0.0;
    for j in 0..i {
        e[j] /= h;
        f += e[j] * d[j];
    }
    let hh = f / (h + h);
    for j in 0..i {
        e[j] -= hh * d[j];
    }
    for j in 0..i {
        let (f, g) = (d[j], e[j]);
        let row = &mut w[j * n..j * n + i];
        for k in j..i {
            row[k] -= f * e[k] + g * d[k];
        }
        d[j] = row[i - 1];
        w[j * n + i] = 0.0;
    }
    h
}

/// tred2's last stage: the reflections (vectors in `w`, scales in `d`) multiplied into the
/// orthogonal transformation, and the diagonal moved into `d`.
fn accumulate_householder(n: usize, w: &mut [f64], d: &mut [f64], e: &mut [f64]) {
    for i in 0..(n - 1) {
        w[i * n + (n - 1)] = w[i * n + i];
        w[i * n + i] = 1.0;
        let h = d[i + 1];
        if h != 0.0 {
            let (head, tail) = w.split_at_mut((i + 1) * n);
            let next = &tail[..n]; // V[.][i + 1]
            for k in 0..=i {
                d[k] = next[k] / h;
            }
            for j in 0..=i {
                let row = &mut head[j * n..j * n + i + 1];
                let g: f64 = next[..=i].iter().zip(row.iter()).map(|(a, b)| a * b).sum();
                for (v, dk) in row.iter_mut().zip(&d[..=i]) {
                    *v -= g * dk;
                }
            }
        }
        w[(i + 1) * n..(i + 1) * n + i + 1].fill(0.0);
    }
    for j in 0..n {
        d[j] = w[j * n + (n - 1)];
        w[j * n + (n - 1)] = 0.0;
    }
    w[(n - 1) * n + (n - 1)] = 1.0;
    e[0] = 0.0;
}

/// Implicit QL with shifts on the tridiagonal (tql2): `d` becomes the eigenvalues and the
/// rotations are accumulated into `w` (= Vᵀ, so a rotation of two columns of V is one of two rows).
fn tridiagonal_ql(n: usize, w: &mut [f64], d: &mut [f64], e: &mut [f64]) {
    for i in 1..n {
        e[i - 1] = e[i];
    }
    e[n - 1] = 0.0;
    let mut f = 0.0f64;
    let mut tst1 = 0.0f64;
    let eps = f64::EPSILON;
    for l in 0..n {
        tst1 = tst1.max(d[l].abs() + e[l].abs());
        let mut m = l;
        while m < n - 1 && e[m].abs() > eps * tst1 {
            m += 1;
        }
        if m > l {
            for _iteration in 0..MAX_QL_ITERATIONS {
                f += ql_step(n, l, m, w, d, e);
                if e[l].abs() <= eps * tst1 {
                    break;
                }
            }
        }
        d[l] += f;
        e[l] = 0.0;
    }
}

/// One implicit QL step with shift on the unreduced block l..=m of the tridiagonal, the plane
/// rotations applied to rows of `w`; returns the shift (tql2 adds it back to the eigenvalue).
fn ql_step(n: usize, l: usize, m: usize, w: &mut [f64], d: &mut [f64], e: &mut [f64]) -> f64 {
    let mut g = d[l];
    let mut p = (d[l + 1] - g) / (2.0 * e[l]);
    let mut r = p.hypot(1.0);
    if p < 0.0 {
        r = -r;
    }
    d[l] = e[l] / (p + r);
    d[l + 1] = e[l] * (p + r);
    let dl1 = d[l + 1];
    let shift = g - d[l];
    for v in &mut d[(l + 2)..n] {
        *v -= shift;
    }
    p = d[m];
    let (mut c, mut c2, mut c3) = (1.0f64, 1.0f64, 1.0f64);
    let el1 = e[l + 1];
    let (mut s, mut s2) = (0.0f64, 0.0f64);
    for i in (l..m).rev() {
        c3 = c2;
        c2 = c;
        s2 = s;
        g = c * e[i];
        let h = c * p;
        r = p.hypot(e[i]);
        e[i + 1] = s * r;
        s = e[i] / r;
        c = p / r;
        p = c * d[i] - s * g;
        d[i + 1] = h + s * (c * g + s * d[i]);
        let (head, tail) = w.split_at_mut((i + 1) * n);
        let (vi, vi1) = (&mut head[i * n..], &mut tail[..n]);
        for (a, b) in vi.iter_mut().zip(vi1.iter_mut()) {
            let hk = *b;
            *b = s * *a + c * hk;
            *a = c * *a - s * hk;
        }
    }
    p = -s * s2 * c3 * el1 * e[l] / dl1;
    e[l] = s * p;
    d[l] = c * p;
    shift
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
    use ndarray::{Axis, array};

    /// The cyclic Jacobi the baselines used before (exact to machine precision, cubic per sweep
    /// with a large constant): the reference the eigensolver is checked against.
    fn jacobi_eigen(matrix: &Array2<f64>) -> (Array1<f64>, Array2<f64>) {
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

    /// Uniform draws on [−0.5, 0.5) from a seeded generator.
    fn uniform(seed: u64) -> impl FnMut() -> f64 {
        let mut rng = metrics::rng::seeded(seed);
        move || metrics::rng::index(&mut rng, 1 << 53) as f64 / (1u64 << 53) as f64 - 0.5
    }

    /// Kernels as the baselines decompose them: a random Gram matrix of full and of deficient
    /// rank, a centred indicator design's (combinations: overlapping columns) and the centred
    /// kernel of distinct singles, I − J/n (one eigenvalue 0, the rest 1: a degenerate space).
    fn kernels(next: &mut impl FnMut() -> f64) -> Vec<Array2<f64>> {
        let mut out = Vec::new();
        for (rows, cols) in [(37, 60), (40, 13), (1, 1), (2, 3)] {
            let x = Array2::from_shape_fn((rows, cols), |_| next());
            out.push(x.dot(&x.t()));
        }
        let x = Array2::from_shape_fn((45, 30), |_| if next() > 0.2 { 1.0 } else { 0.0 });
        let design = &x - &x.mean_axis(Axis(0)).unwrap().insert_axis(Axis(0));
        out.push(design.dot(&design.t()));
        let n = 50;
        let singles = Array2::<f64>::eye(n) - &Array2::from_elem((n, n), 1.0 / n as f64);
        out.push(singles);
        out
    }

    /// U f(Λ) Uᵀ Y, the quantity the ridge fit reads off the decomposition (invariant to the
    /// eigenvectors' signs and to rotations within a degenerate eigenspace).
    fn spectral_apply(values: &Array1<f64>, vectors: &Array2<f64>, y: &Array2<f64>, lambda: f64) -> Array2<f64> {
        let inverse = values.mapv(|s| 1.0 / (s.max(0.0) + lambda));
        vectors.dot(&(&vectors.t().dot(y) * &inverse.insert_axis(Axis(1))))
    }

    #[test]
    fn eigen_agrees_with_the_jacobi_on_the_kernels_the_baselines_decompose() {
        let mut next = uniform(0x2545);
        for m in kernels(&mut next) {
            let n = m.nrows();
            let (values, vectors) = symmetric_eigen(&m);
            let (want_values, want_vectors) = jacobi_eigen(&m);
            let top = want_values[0].abs().max(1e-300);
            for (a, b) in values.iter().zip(&want_values) {
                assert!((a - b).abs() <= 1e-12 * top, "n {n}: {values:?} vs {want_values:?}");
            }
            // Orthonormal eigenvectors that rebuild the matrix.
            let gram = vectors.t().dot(&vectors);
            assert!(gram.indexed_iter().all(|((i, j), v)| (v - if i == j { 1.0 } else { 0.0 }).abs() < 1e-12));
            let rebuilt = vectors.dot(&Array2::from_diag(&values)).dot(&vectors.t());
            assert!(rebuilt.iter().zip(&m).all(|(a, b)| (a - b).abs() <= 1e-12 * top), "n {n}");
            // The ridge solve agrees with the Jacobi's to 1e-9 relative at every λ of its grid.
            let y = Array2::from_shape_fn((n, 9), |_| next());
            for factor in [1e-3, 1.0, 1e3] {
                let lambda = factor * (m.diag().sum() / n as f64).max(1e-12);
                let got = spectral_apply(&values, &vectors, &y, lambda);
                let want = spectral_apply(&want_values, &want_vectors, &y, lambda);
                let size = want.iter().fold(0.0f64, |a, v| a.max(v.abs()));
                assert!(got.iter().zip(&want).all(|(a, b)| (a - b).abs() <= 1e-9 * size), "n {n}, λ {lambda}");
            }
        }
    }

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
