//! The replicate-anchor scale of the VCC 2026 standard (cell-eval2 `scoring.score_one` on the
//! replicate scale): for a member with panel aggregate u, baseline b and replicate r,
//! s = (u − b)/(r − b), so 0 is the mean-response baseline and 1 a repeat of the experiment.
//! `expr_mse_unbiased_capped_norm` is clamped to [0, 1] and `de_wilcoxon_lfc_nmae` floored at −6
//! (cell-eval2's declared clamps); the other four are unclamped. A missing or non-finite u takes
//! the member's floor (the score of the metric's structural worst value 0 for the four bounded
//! members). The context's score is the equal-weight mean of the six. Also the disjoint split
//! of the replicate anchor: each group's cells shuffled and halved, an odd cell dropped.

use crate::rng::{seeded, shuffle};

/// The clamp of one scored member's scaled value: (low, high).
pub fn clamp_of(metric: &str) -> (f64, f64) {
    match metric {
        "expr_mse_unbiased_capped_norm" => (0.0, 1.0),
        "de_wilcoxon_lfc_nmae" => (-6.0, f64::INFINITY),
        _ => (f64::NEG_INFINITY, f64::INFINITY),
    }
}

/// s = (u − b)/(r − b) without any clamp; NaN when r = b or u is not finite.
pub fn unclipped(user: f64, baseline: f64, replicate: f64) -> f64 {
    let span = replicate - baseline;
    if span.is_finite() && span != 0.0 { (user - baseline) / span } else { f64::NAN }
}

/// s = (u − b)/(r − b), clamped per [`clamp_of`]; NaN when r = b (no scale).
pub fn scaled(metric: &str, user: f64, baseline: f64, replicate: f64) -> f64 {
    let (low, high) = clamp_of(metric);
    let span = replicate - baseline;
    if !(span.is_finite() && span != 0.0 && baseline.is_finite()) {
        return f64::NAN;
    }
    let s = if user.is_finite() {
        (user - baseline) / span
    } else if low.is_finite() {
        low
    } else {
        (0.0 - baseline) / span
    };
    if !s.is_finite() {
        return low;
    }
    if s <= low {
        low
    } else if s >= high {
        high
    } else {
        s
    }
}

/// Two disjoint halves of every group (each `floor(n/2)` cells; an odd one left out), seeded.
/// `groups` lists each group's rows; returns (half A, half B) with the same group order. A group
/// with fewer than two cells gets empty halves.
pub fn disjoint_halves(groups: &[Vec<usize>], seed: u64) -> (Vec<Vec<usize>>, Vec<Vec<usize>>) {
    let mut rng = seeded(seed);
    let mut a = Vec::with_capacity(groups.len());
    let mut b = Vec::with_capacity(groups.len());
    for rows in groups {
        let mut perm = rows.clone();
        shuffle(&mut perm, &mut rng);
        let h = perm.len() / 2;
        a.push(perm[..h].to_vec());
        b.push(perm[h..2 * h].to_vec());
    }
    (a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_and_clamps() {
        assert_eq!(scaled("pds_cosine", 0.75, 0.5, 1.0), 0.5);
        assert_eq!(scaled("pds_cosine", 1.25, 0.5, 1.0), 1.5);
        assert_eq!(scaled("pds_cosine", 0.0, 0.5, 1.0), -1.0);
        // lower-is-better members divide by a negative span
        assert_eq!(scaled("expr_mse_unbiased_capped_norm", 0.5, 1.0, 0.0), 0.5);
        assert_eq!(scaled("expr_mse_unbiased_capped_norm", 1.5, 1.0, 0.0), 0.0);
        assert_eq!(scaled("expr_mse_unbiased_capped_norm", -0.5, 1.0, 0.0), 1.0);
        assert_eq!(scaled("de_wilcoxon_lfc_nmae", 100.0, 1.0, 0.5), -6.0);
        assert_eq!(scaled("de_wilcoxon_lfc_nmae", f64::NAN, 1.0, 0.5), -6.0);
        assert_eq!(scaled("de_wilcoxon_sig_jaccard", f64::NAN, 0.2, 0.4), -1.0);
        assert!(scaled("pds_cosine", 0.7, 0.5, 0.5).is_nan());
        assert_eq!(unclipped(1.5, 1.0, 0.0), -0.5);
        assert_eq!(unclipped(100.0, 1.0, 0.5), -198.0);
    }

    #[test]
    fn halves_are_disjoint_and_seeded() {
        let groups = vec![(0..7).collect::<Vec<usize>>(), vec![7], (8..20).collect()];
        let (a, b) = disjoint_halves(&groups, 3);
        assert_eq!((a[0].len(), b[0].len()), (3, 3));
        assert!(a[1].is_empty() && b[1].is_empty());
        assert_eq!((a[2].len(), b[2].len()), (6, 6));
        for (x, y) in a.iter().zip(&b) {
            assert!(x.iter().all(|r| !y.contains(r)));
        }
        assert_eq!(disjoint_halves(&groups, 3), (a, b));
    }
}
