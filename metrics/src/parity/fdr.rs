//! Benjamini–Hochberg adjusted p-values (FDR), as pdex 0.3.0 applies them.
//!
//! Mirrors `scipy.stats.false_discovery_control(ps, method="bh")` (scipy 1.17.1), which pdex's
//! `_assemble_group_frame` applies to the p-values of **one perturbation group at a time** (all
//! genes of that group; never across groups).

/// BH: sort p ascending, q₍ₖ₎ = p₍ₖ₎ · (m / k) for rank k = 1..m (m/k computed first, as scipy),
/// then q₍ₖ₎ = min_{j ≥ k} q₍ⱼ₎ (reverse cumulative minimum), clip to [0, 1], and return in input
/// order. Ties in p get identical q whatever their order.
///
/// Edge cases: m = 0 → empty; m = 1 → the p-value unchanged (scipy returns the input as is).
/// scipy raises on NaN or on values outside [0, 1]; pdex never produces those (its p-values are
/// clipped to [0, 1] and are never NaN for non-empty groups). Here a NaN p-value yields a NaN q
/// for that gene and is excluded from m and from the other genes' adjustment — document-only
/// behaviour with no reference counterpart.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let mut out = vec![f64::NAN; p.len()];
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    let m = order.len();
    if m == 0 {
        return out;
    }
    if m == 1 {
        out[order[0]] = p[order[0]];
        return out;
    }
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mf = m as f64;
    let mut q: Vec<f64> = order.iter().enumerate().map(|(k, &i)| p[i] * (mf / (k + 1) as f64)).collect();
    for k in (0..m - 1).rev() {
        if q[k + 1] < q[k] {
            q[k] = q[k + 1];
        }
    }
    for (k, &i) in order.iter().enumerate() {
        out[i] = q[k].clamp(0.0, 1.0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected: scipy 1.17.1 `false_discovery_control(ps)` printed with `repr`.
    #[test]
    fn scipy_fixture() {
        let ps = [0.01, 0.04, 0.03, 0.005, 0.5, 0.04, 1.0];
        let q = benjamini_hochberg(&ps);
        let want =
            [0.035, 0.055999999999999994, 0.055999999999999994, 0.035, 0.5833333333333334, 0.055999999999999994, 1.0];
        assert_eq!(q, want);
    }

    #[test]
    fn edge_cases() {
        assert!(benjamini_hochberg(&[]).is_empty());
        assert_eq!(benjamini_hochberg(&[0.3]), vec![0.3]);
        assert_eq!(benjamini_hochberg(&[1.0, 1.0, 1.0]), vec![1.0, 1.0, 1.0]);
        let q = benjamini_hochberg(&[f64::NAN, 0.01, 0.02]);
        assert!(q[0].is_nan());
        assert_eq!(q[1], 0.02);
        assert_eq!(q[2], 0.02);
    }
}
