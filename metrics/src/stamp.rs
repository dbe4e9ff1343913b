//! STAMP-style decomposition of a perturbation prediction into three subtasks (Zhao et al.,
//! "STAMP: a benchmark for single-cell perturbation prediction" — task 1 DEG identification,
//! task 2 direction of change, task 3 magnitude): per perturbation, over genes.
//!
//! Exact choices (documented because the reference leaves them open):
//! - identification: area under the precision–recall curve computed as average precision,
//!   exactly sklearn `average_precision_score(y_true=is_de, y_score=score)` (step function, ties
//!   in score handled as one threshold, no interpolation);
//! - direction: accuracy of sign(pred lfc) against sign(true lfc) on the TRUE DEGs;
//! - magnitude: mean absolute error of |lfc| on the TRUE DEGs, mean | |pred| − |true| |
//!   (direction-agnostic, so it does not double-count task 2).

/// Average precision AP = Σ_n (R_n − R_{n−1}) · P_n over the distinct score thresholds in
/// decreasing order (sklearn `average_precision_score`). Scores are any "more likely DE" values
/// (e.g. |predicted lfc| or −log10 p). NaN when there is no positive label, when the inputs are
/// empty or of different lengths, or when a score is NaN. (sklearn warns and returns 0 with no
/// positives; −0.0 in some versions — undefined is reported as NaN here.)
pub fn deg_auprc(is_de: &[bool], score: &[f64]) -> f64 {
    if is_de.len() != score.len() || is_de.is_empty() || score.iter().any(|s| s.is_nan()) {
        return f64::NAN;
    }
    let total_pos = is_de.iter().filter(|&&d| d).count();
    if total_pos == 0 {
        return f64::NAN;
    }
    let mut order: Vec<usize> = (0..score.len()).collect();
    order.sort_by(|&a, &b| score[b].total_cmp(&score[a]));
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut ap = 0.0;
    let mut prev_recall = 0.0;
    let mut k = 0;
    while k < order.len() {
        let s = score[order[k]];
        while k < order.len() && score[order[k]] == s {
            if is_de[order[k]] {
                tp += 1
            } else {
                fp += 1
            }
            k += 1;
        }
        let recall = tp as f64 / total_pos as f64;
        let precision = tp as f64 / (tp + fp) as f64;
        ap += (recall - prev_recall) * precision;
        prev_recall = recall;
    }
    ap
}

/// Direction accuracy on the true DEGs: #{g ∈ DE : sign(pred_g) = sign(true_g)} / #DE, with
/// sign(0) = 0 (a predicted zero change on a DEG is wrong). NaN with no DEG or length mismatch.
pub fn direction_accuracy(true_lfc: &[f64], pred_lfc: &[f64], is_de: &[bool]) -> f64 {
    over_de(true_lfc, pred_lfc, is_de, |t, p| {
        let sign = |x: f64| {
            if x > 0.0 {
                1
            } else if x < 0.0 {
                -1
            } else {
                0
            }
        };
        if sign(t) == sign(p) { 1.0 } else { 0.0 }
    })
}

/// Magnitude error on the true DEGs: (1/#DE) Σ_{g ∈ DE} | |pred_g| − |true_g| |. Lower is better.
/// NaN with no DEG or length mismatch.
pub fn magnitude_error(true_lfc: &[f64], pred_lfc: &[f64], is_de: &[bool]) -> f64 {
    over_de(true_lfc, pred_lfc, is_de, |t, p| (p.abs() - t.abs()).abs())
}

fn over_de(t: &[f64], p: &[f64], is_de: &[bool], f: impl Fn(f64, f64) -> f64) -> f64 {
    if t.len() != p.len() || t.len() != is_de.len() {
        return f64::NAN;
    }
    let (sum, n) = t
        .iter()
        .zip(p)
        .zip(is_de)
        .filter(|(_, d)| **d)
        .fold((0.0, 0usize), |(s, n), ((t, p), _)| (s + f(*t, *p), n + 1));
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

/// The three STAMP numbers for one perturbation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StampScores {
    pub deg_auprc: f64,
    pub direction_accuracy: f64,
    pub magnitude_error: f64,
}

/// All three at once; `de_score` ranks genes for identification (e.g. |pred lfc|).
pub fn stamp_scores(true_lfc: &[f64], pred_lfc: &[f64], is_de: &[bool], de_score: &[f64]) -> StampScores {
    StampScores {
        deg_auprc: deg_auprc(is_de, de_score),
        direction_accuracy: direction_accuracy(true_lfc, pred_lfc, is_de),
        magnitude_error: magnitude_error(true_lfc, pred_lfc, is_de),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auprc_matches_sklearn_average_precision() {
        // Fixtures: sklearn.metrics.average_precision_score on the same arrays (/tmp/ce venv).
        let y = [true, false, true, true, false, false, true, false];
        let s = [0.9, 0.8, 0.8, 0.5, 0.4, 0.4, 0.1, 0.05];
        assert!((deg_auprc(&y, &s) - 0.7470238095238095).abs() < 1e-15);
        let y2 = [false, true, false, false, true];
        let s2 = [3.0, 3.0, 2.0, 1.0, 1.0];
        assert!((deg_auprc(&y2, &s2) - 0.45).abs() < 1e-15);
        // Hand-worked: perfect ranking → 1.
        assert_eq!(deg_auprc(&[true, true, false], &[3.0, 2.0, 1.0]), 1.0);
        // Constant scores (ties everywhere) → prevalence.
        assert_eq!(deg_auprc(&[true, false, false, false], &[1.0; 4]), 0.25);
        // No positives: sklearn returns 0.0 with a warning; undefined here.
        assert!(deg_auprc(&[false; 3], &[1.0, 2.0, 3.0]).is_nan());
        assert!(deg_auprc(&[], &[]).is_nan());
    }

    #[test]
    fn direction_and_magnitude_hand_worked() {
        let t = [1.0, -2.0, 0.5, 3.0];
        let p = [0.5, 1.0, 0.0, 3.0];
        let de = [true, true, false, true];
        assert!((direction_accuracy(&t, &p, &de) - 2.0 / 3.0).abs() < 1e-15);
        // | |p| − |t| | on DE: 0.5, 1, 0 → 0.5
        assert!((magnitude_error(&t, &p, &de) - 0.5).abs() < 1e-15);
        let none = [false; 4];
        assert!(direction_accuracy(&t, &p, &none).is_nan());
        assert!(magnitude_error(&t, &p, &none).is_nan());
        // Zero predicted change on a DEG counts as a wrong direction.
        assert_eq!(direction_accuracy(&t, &[0.0; 4], &de), 0.0);
        let s = stamp_scores(&t, &p, &de, &[0.5, 1.0, 0.0, 3.0]);
        assert_eq!(s.deg_auprc, 1.0);
    }
}
