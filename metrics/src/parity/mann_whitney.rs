//! Two-sided asymptotic Mann–Whitney U test with tie and continuity correction.
//!
//! Mirrors numba-mwu 0.2.0 `_core._mwu_stats_from_rank_sum` / `_sparse._sparse_mwu_column`
//! (what pdex 0.3.0 `mwu()` calls with `use_continuity=True, alternative="two-sided"`), operation
//! for operation, so p-values agree bit for bit (see `erfc.rs`). The rank sum and tie term are
//! sums of half-integers / integers and therefore exact (for fewer than ~2·10⁵ cells per test).

use super::erfc::erfc;

/// Result of one test: `statistic` is U₁, the U of the first sample (the perturbed group), as
/// pdex reports it; `p_value` is two-sided.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MwuResult {
    pub statistic: f64,
    pub p_value: f64,
}

/// Reduces a rank sum to (U₁, p), exactly numba-mwu's `_mwu_stats_from_rank_sum`:
///
/// U₁ = R₁ − n₁(n₁+1)/2, U₂ = n₁n₂ − U₁, U = max(U₁, U₂), μ = n₁n₂/2,
/// σ² = n₁n₂/12 · ((n+1) − T/(n(n−1))) with T = Σ(tᵢ³ − tᵢ) over tie groups of the pooled
/// sample, z = (U − μ − 0.5)/σ, p = 2 · ½·erfc(z/√2), clipped to [0, 1].
///
/// Edge cases as the reference: σ² ≤ 0 (every value tied, e.g. a gene that is zero in all cells)
/// → p = 1; U₁ = U₂ → z < 0 → p clipped to 1; n₁ + n₂ = 1 (impossible with both samples
/// non-empty) → 0/0 → p = NaN; n₁ = 0 or n₂ = 0 → σ² = 0 → p = 1.
pub fn mwu_from_rank_sum(rank_sum_1: f64, n1: usize, n2: usize, tie_term: f64) -> MwuResult {
    let n1f = n1 as f64;
    let n = (n1 + n2) as f64;
    let n1n2 = (n1 * n2) as f64;
    let u1 = rank_sum_1 - n1f * (n1f + 1.0) / 2.0;
    let u2 = n1n2 - u1;
    let u = if u1 > u2 { u1 } else { u2 };
    let mu = n1n2 / 2.0;
    let denom = n * (n - 1.0);
    let var_inner = (n + 1.0) - tie_term / denom;
    let s_sq = n1n2 / 12.0 * var_inner;
    if s_sq <= 0.0 {
        return MwuResult { statistic: u1, p_value: 1.0 };
    }
    let s = s_sq.sqrt();
    let z = (u - mu - 0.5) / s;
    // numba-mwu: _ndtr(-z) * 2 = 0.5 * erfc(-(-z)/sqrt(2)) * 2
    let p = (0.5 * erfc(z / std::f64::consts::SQRT_2) * 2.0).clamp(0.0, 1.0);
    MwuResult { statistic: u1, p_value: p }
}

/// Two-sample test on plain slices: pools x (group) and y (reference), ranks with average ranks
/// for ties (values compared with `==`; NaN sorts last and ties with nothing, like numba's
/// argsort), R₁ = Σ ranks of x, T = Σ(t³ − t), then [`mwu_from_rank_sum`]. This is numba-mwu's
/// `mannwhitneyu(x, y)`; the fast per-gene kernel lives in `table.rs` and gives identical results.
pub fn mann_whitney_u(x: &[f64], y: &[f64]) -> MwuResult {
    let n1 = x.len();
    let mut all: Vec<(f64, bool)> = x.iter().map(|&v| (v, true)).chain(y.iter().map(|&v| (v, false))).collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    // total_cmp orders -0.0 before 0.0 but they compare equal with ==; the run scan below uses ==.
    let n = all.len();
    let (mut r1, mut tie) = (0.0f64, 0.0f64);
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && all[j].0 == all[j + 1].0 {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        let t = (j - i + 1) as f64;
        tie += t * t * t - t;
        for e in &all[i..=j] {
            if e.1 {
                r1 += avg;
            }
        }
        i = j + 1;
    }
    mwu_from_rank_sum(r1, n1, y.len(), tie)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values from numba_mwu 0.2.0 `mannwhitneyu(x, y)` (= scipy 1.17.1
    /// `mannwhitneyu(x, y, method="asymptotic")`), Python 3.11, printed with `repr`.
    #[test]
    fn fixtures_from_numba_mwu() {
        let r = mann_whitney_u(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0, 7.0]);
        assert_eq!(r.statistic, 0.0);
        assert_eq!(r.p_value, 0.051829927217909716);
        let r = mann_whitney_u(&[0.0, 0.0, 1.0, 2.0, 2.0], &[0.0, 1.0, 1.0, 3.0, 0.0, 0.0]);
        assert_eq!(r.statistic, 17.0);
        assert_eq!(r.p_value, 0.7711375628906925);
    }

    #[test]
    fn all_tied_gives_p_one() {
        let r = mann_whitney_u(&[0.0; 4], &[0.0; 7]);
        assert_eq!(r, MwuResult { statistic: 14.0, p_value: 1.0 });
        let r = mann_whitney_u(&[2.5], &[2.5]);
        assert_eq!(r.p_value, 1.0);
    }

    #[test]
    fn one_cell_each_side() {
        let r = mann_whitney_u(&[1.0], &[0.0]);
        assert_eq!(r.statistic, 1.0);
        assert_eq!(r.p_value, 1.0); // z = (1 - 0.5 - 0.5)/σ = 0 → p = erfc(0) = 1
    }

    #[test]
    fn empty_side_is_p_one() {
        let r = mann_whitney_u(&[], &[1.0, 2.0]);
        assert_eq!(r.p_value, 1.0);
    }
}
