//! Group-sum bulks of raw counts and their sampling correction (cell-eval2 `bulk_lognorm`):
//! b_g = log1p(TS · P_g / Σ P) over a group's summed counts P, and the delete-one jackknife
//! C = (n−1)/n · Σ_g Σ_i (v_ig − v̄_g)² with v_ig = log1p(TS · (P_g − y_ig)/(S − ℓ_i)).

use rayon::prelude::*;

use crate::de::CsrMatrix;

/// Per-gene count sums of `rows` (f64).
pub fn group_sums(x: &CsrMatrix, rows: &[usize]) -> Vec<f64> {
    let mut sums = vec![0.0f64; x.n_cols];
    for &r in rows {
        for k in x.indptr[r] as usize..x.indptr[r + 1] as usize {
            sums[x.indices[k] as usize] += f64::from(x.data[k]);
        }
    }
    sums
}

/// log1p(sums · (TS / Σ sums)); an all-zero group maps to zeros (`prep.bulk_lognorm_means`).
pub fn bulk_lognorm(sums: &[f64], target_sum: f64) -> Vec<f64> {
    let total: f64 = sums.iter().sum();
    let scale = if total > 0.0 { target_sum / total } else { 0.0 };
    sums.iter().map(|&s| (s * scale).ln_1p()).collect()
}

/// The group's bulk, and its delete-one jackknife correction C (`moments.jackknife_correction`):
/// 0 for fewer than two cells or no counts; the per-gene variance is taken of the deviations from
/// the full bulk (exact under the shift), and the sum is clamped at 0.
pub fn bulk_and_jackknife(x: &CsrMatrix, rows: &[usize], target_sum: f64) -> (Vec<f64>, f64) {
    let sums = group_sums(x, rows);
    let bulk = bulk_lognorm(&sums, target_sum);
    let n = rows.len();
    let total: f64 = sums.iter().sum();
    if n < 2 || total <= 0.0 {
        return (bulk, 0.0);
    }
    let g = x.n_cols;
    // Per-gene Σ_i d and Σ_i d² over the cells, computed in cell blocks in parallel and added in
    // block order (the result does not depend on the thread count).
    const BLOCK: usize = 64;
    let partials: Vec<(Vec<f64>, Vec<f64>)> = rows
        .par_chunks(BLOCK)
        .map(|block| {
            let mut s1 = vec![0.0f64; g];
            let mut s2 = vec![0.0f64; g];
            let mut y = vec![0.0f64; g];
            for &r in block {
                let (lo, hi) = (x.indptr[r] as usize, x.indptr[r + 1] as usize);
                let mut lib = 0.0f64;
                for k in lo..hi {
                    let v = f64::from(x.data[k]);
                    y[x.indices[k] as usize] += v;
                    lib += v;
                }
                let rem = total - lib;
                for j in 0..g {
                    let v = if rem > 0.0 { (target_sum * (sums[j] - y[j]) / rem).ln_1p() } else { 0.0 };
                    let d = v - bulk[j];
                    s1[j] += d;
                    s2[j] += d * d;
                }
                for k in lo..hi {
                    y[x.indices[k] as usize] = 0.0;
                }
            }
            (s1, s2)
        })
        .collect();
    let mut s1 = vec![0.0f64; g];
    let mut s2 = vec![0.0f64; g];
    for (a, b) in &partials {
        for j in 0..g {
            s1[j] += a[j];
            s2[j] += b[j];
        }
    }
    let nf = n as f64;
    let q: f64 = (0..g).map(|j| s2[j] - s1[j] * s1[j] / nf).sum();
    (bulk, ((nf - 1.0) / nf * q).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csr(rows: &[&[f32]]) -> CsrMatrix {
        let d = crate::de::DenseMatrix {
            n_rows: rows.len(),
            n_cols: rows[0].len(),
            data: rows.iter().flat_map(|r| r.iter().copied()).collect(),
        };
        CsrMatrix::from_dense(&d)
    }

    #[test]
    fn bulk_mass_is_the_target_sum() {
        let b = bulk_lognorm(&[3.0, 1.0, 0.0], 100.0);
        let mass: f64 = b.iter().map(|v| v.exp_m1()).sum();
        assert!((mass - 100.0).abs() < 1e-9);
        assert_eq!(bulk_lognorm(&[0.0, 0.0], 100.0), vec![0.0, 0.0]);
    }

    /// The jackknife equals its definition computed directly (leave-one-out bulks, variance).
    #[test]
    fn jackknife_matches_definition() {
        let rows = [&[3.0f32, 0.0, 1.0][..], &[1.0, 2.0, 0.0], &[0.0, 5.0, 2.0], &[4.0, 1.0, 1.0]];
        let x = csr(&rows);
        let all: Vec<usize> = (0..4).collect();
        let (_, c) = bulk_and_jackknife(&x, &all, 1000.0);
        let n = 4.0;
        let loo: Vec<Vec<f64>> = (0..4)
            .map(|i| {
                let rest: Vec<usize> = all.iter().copied().filter(|&r| r != i).collect();
                bulk_lognorm(&group_sums(&x, &rest), 1000.0)
            })
            .collect();
        let mut want = 0.0;
        for j in 0..3 {
            let mean = loo.iter().map(|v| v[j]).sum::<f64>() / n;
            want += loo.iter().map(|v| (v[j] - mean).powi(2)).sum::<f64>();
        }
        want *= (n - 1.0) / n;
        assert!((c - want).abs() < 1e-12, "{c} vs {want}");
        let (_, one) = bulk_and_jackknife(&x, &[0], 1000.0);
        assert_eq!(one, 0.0);
    }
}
