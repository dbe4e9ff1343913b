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
/// 0 for fewer than two cells or no counts; the per-gene variance is taken of the deviations
/// d_ig = v_ig − b_g from the full bulk (exact under the shift), and the sum is clamped at 0.
///
/// A cell with no count of gene g has d_ig = log1p(w_g ε_i) (w_g = u_g/(1+u_g), u_g = TS·P_g/S,
/// ε_i = ℓ_i/(S − ℓ_i)), so the zeros' share of Σ_i d and Σ_i d² is a power series in w_g over
/// the power sums of ε (see [`ZeroSeries`]): the group costs one log1p per stored count, not one
/// per cell and gene. A group whose largest ε exceeds [`ZeroSeries::MAX_EPS`] (a handful of cells,
/// or one cell holding every count) takes the direct sum over every cell and gene.
pub fn bulk_and_jackknife(x: &CsrMatrix, rows: &[usize], target_sum: f64) -> (Vec<f64>, f64) {
    let sums = group_sums(x, rows);
    let bulk = bulk_lognorm(&sums, target_sum);
    let n = rows.len();
    let total: f64 = sums.iter().sum();
    if n < 2 || total <= 0.0 {
        return (bulk, 0.0);
    }
    let libs: Vec<f64> = rows.iter().map(|&r| x.row_total(r)).collect();
    let (s1, s2) = match ZeroSeries::new(&libs, total) {
        Some(series) => deviation_sums_sparse(x, rows, &libs, &sums, total, target_sum, &series),
        None => deviation_sums_dense(x, rows, &sums, &bulk, total, target_sum),
    };
    let nf = n as f64;
    let q: f64 = (0..x.n_cols).map(|j| s2[j] - s1[j] * s1[j] / nf).sum();
    (bulk, ((nf - 1.0) / nf * q).max(0.0))
}

/// Cells per parallel block; the blocks' partial sums are added in block order, so the result
/// does not depend on the thread count.
const BLOCK: usize = 64;

/// Adds per-block partial (Σ d, Σ d²) vectors in block order.
fn add_partials(partials: Vec<(Vec<f64>, Vec<f64>)>, g: usize) -> (Vec<f64>, Vec<f64>) {
    let mut s1 = vec![0.0f64; g];
    let mut s2 = vec![0.0f64; g];
    for (a, b) in &partials {
        for j in 0..g {
            s1[j] += a[j];
            s2[j] += b[j];
        }
    }
    (s1, s2)
}

/// Per-gene Σ_i d and Σ_i d² over every cell and gene: one log1p per cell and gene.
fn deviation_sums_dense(
    x: &CsrMatrix,
    rows: &[usize],
    sums: &[f64],
    bulk: &[f64],
    total: f64,
    target_sum: f64,
) -> (Vec<f64>, Vec<f64>) {
    let g = x.n_cols;
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
    add_partials(partials, g)
}

/// The zeros' share by series: every cell is first counted as a zero of every gene (the series
/// over all cells), then each stored count replaces its cell's zero term by its deviation, taken
/// as log1p(δ) of the relative change δ of the bulk's 1 + u rather than as the difference of two
/// log1p: δ is small (about y/P), where log1p costs half what it does at u′ of the bulk's scale
/// (−13% of the run's CPU on `bench/vcc2026.sh`), and P·ℓ − y·S is exact for counts (integers
/// below 2⁵³), so d carries a few ulp of itself instead of a few ulp of log1p(u) (1e-15 absolute).
fn deviation_sums_sparse(
    x: &CsrMatrix,
    rows: &[usize],
    libs: &[f64],
    sums: &[f64],
    total: f64,
    target_sum: f64,
    series: &ZeroSeries,
) -> (Vec<f64>, Vec<f64>) {
    let g = x.n_cols;
    // Per gene u = TS·P/S, w = u/(1+u) and a = TS/(S·(1+u)): a cell's deviation is
    // d = log1p(u′) − log1p(u) = log1p(δ) with δ = (u′ − u)/(1 + u) = a·(P·ℓ − y·S)/(S − ℓ).
    let (w, a): (Vec<f64>, Vec<f64>) = sums
        .iter()
        .map(|&p| {
            let u = target_sum * p / total;
            (u / (1.0 + u), target_sum / (total * (1.0 + u)))
        })
        .unzip();
    let starts: Vec<usize> = (0..rows.len()).step_by(BLOCK).collect();
    let partials: Vec<(Vec<f64>, Vec<f64>)> = starts
        .par_iter()
        .map(|&start| {
            let mut s1 = vec![0.0f64; g];
            let mut s2 = vec![0.0f64; g];
            for (&r, &lib) in rows[start..].iter().zip(&libs[start..]).take(BLOCK) {
                let rem = total - lib;
                let eps = lib / rem;
                for k in x.indptr[r] as usize..x.indptr[r + 1] as usize {
                    let j = x.indices[k] as usize;
                    let d = (a[j] * (sums[j] * lib - f64::from(x.data[k]) * total) / rem).ln_1p();
                    let zero = series.log1p(w[j] * eps);
                    s1[j] += d - zero;
                    s2[j] += d * d - zero * zero;
                }
            }
            (s1, s2)
        })
        .collect();
    let (mut s1, mut s2) = add_partials(partials, g);
    for j in 0..g {
        let (z1, z2) = series.sums(w[j]);
        s1[j] += z1;
        s2[j] += z2;
    }
    (s1, s2)
}

/// Σ_i log1p(w ε_i) and Σ_i log1p(w ε_i)² over a group's cells as power series in w (0 ≤ w < 1)
/// over the power sums E_m = Σ_i ε_i^m: log1p(t) = Σ_k c_k t^k with c_k = (−1)^(k+1)/k, and
/// log1p(t)² = Σ_m g_m t^m with g_m = Σ_(k+l=m) c_k c_l. With every ε ≤ MAX_EPS the terms
/// left out are below 1e-17 of the leading one.
struct ZeroSeries {
    /// Terms of log1p kept (its square keeps 2·terms).
    terms: usize,
    /// E_m for m = 1..=2·terms (index m − 1).
    power_sums: Vec<f64>,
    /// g_m for m = 1..=2·terms (index m − 1), computed once per group.
    square_coefficients: Vec<f64>,
}

impl ZeroSeries {
    const MAX_EPS: f64 = 0.05;

    /// `None` when a cell holds every count or an ε exceeds [`Self::MAX_EPS`].
    fn new(libs: &[f64], total: f64) -> Option<Self> {
        let mut eps_max = 0.0f64;
        for &lib in libs {
            let rem = total - lib;
            if rem <= 0.0 {
                return None;
            }
            eps_max = eps_max.max(lib / rem);
        }
        if eps_max > Self::MAX_EPS {
            return None;
        }
        // Smallest K with eps_max^(K+1)/(K+1) < 1e-17 (K = 12 at MAX_EPS).
        let mut terms = 1;
        while terms < Self::C.len() && eps_max.powi(terms as i32 + 1) / (terms as f64 + 1.0) >= 1e-17 {
            terms += 1;
        }
        let mut power_sums = vec![0.0f64; 2 * terms];
        for &lib in libs {
            let eps = lib / (total - lib);
            let mut p = 1.0;
            for e in &mut power_sums {
                p *= eps;
                *e += p;
            }
        }
        let square_coefficients =
            (1..=2 * terms).map(|m| (1..m).map(|k| Self::c(k) * Self::c(m - k)).sum::<f64>()).collect();
        Some(Self { terms, power_sums, square_coefficients })
    }

    const fn c(k: usize) -> f64 {
        if k % 2 == 1 { 1.0 / k as f64 } else { -1.0 / k as f64 }
    }

    /// c_1..=c_12, computed once (the same divisions [`Self::c`] makes on every call).
    const C: [f64; 12] = {
        let mut c = [0.0; 12];
        let mut k = 0;
        while k < 12 {
            c[k] = Self::c(k + 1);
            k += 1;
        }
        c
    };

    /// log1p(t) for 0 ≤ t ≤ MAX_EPS by its series (Horner over [`Self::C`], the c_k of [`Self::c`]).
    fn log1p(&self, t: f64) -> f64 {
        let mut acc = 0.0;
        for &c in Self::C[..self.terms].iter().rev() {
            acc = acc * t + c;
        }
        acc * t
    }

    /// (Σ_i log1p(w ε_i), Σ_i log1p(w ε_i)²).
    fn sums(&self, w: f64) -> (f64, f64) {
        let (mut z1, mut z2) = (0.0, 0.0);
        let mut wm = 1.0;
        for m in 1..=2 * self.terms {
            wm *= w;
            let e = self.power_sums[m - 1];
            if m <= self.terms {
                z1 += Self::C[m - 1] * wm * e;
            }
            z2 += self.square_coefficients[m - 1] * wm * e;
        }
        (z1, z2)
    }
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

    /// On groups large enough for the series (every cell under 5% of the counts), the sparse sums
    /// agree with the direct sum over every cell and gene to rounding.
    #[test]
    fn the_zero_series_equals_the_direct_sum() {
        use rand::RngExt;
        let mut rng = crate::rng::seeded(7);
        for (n, genes, density) in [(40usize, 30usize, 0.3f64), (200, 50, 0.05), (400, 20, 0.9)] {
            let rows: Vec<Vec<f32>> = (0..n)
                .map(|_| {
                    (0..genes)
                        .map(|_| {
                            let u: f64 = rng.random();
                            let c: f64 = rng.random();
                            if u < density { (1.0 + 30.0 * c * c).floor() as f32 } else { 0.0 }
                        })
                        .collect()
                })
                .collect();
            let refs: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
            let x = csr(&refs);
            let all: Vec<usize> = (0..n).collect();
            let sums = group_sums(&x, &all);
            let bulk = bulk_lognorm(&sums, 1e6);
            let total: f64 = sums.iter().sum();
            let libs: Vec<f64> = all.iter().map(|&r| x.row_total(r)).collect();
            let series = ZeroSeries::new(&libs, total).expect("every cell under 5% of the counts");
            let (a1, a2) = deviation_sums_sparse(&x, &all, &libs, &sums, total, 1e6, &series);
            let (b1, b2) = deviation_sums_dense(&x, &all, &sums, &bulk, total, 1e6);
            for j in 0..genes {
                assert!((a1[j] - b1[j]).abs() < 1e-12 * (1.0 + b1[j].abs()), "gene {j}: {} vs {}", a1[j], b1[j]);
                assert!((a2[j] - b2[j]).abs() < 1e-12 * (1.0 + b2[j].abs()), "gene {j}: {} vs {}", a2[j], b2[j]);
            }
        }
        // Two cells: an ε above the bound sends the group to the direct sum.
        assert!(ZeroSeries::new(&[3.0, 5.0], 8.0).is_none());
    }
}
