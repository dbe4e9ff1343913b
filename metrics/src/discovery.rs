//! Closed-loop discovery metrics: a screen of `rounds` rounds picks `batch` untested candidates of
//! a library of `n_candidates` per round; `H` of the candidates are hits (members of the target
//! region). What a screen found is, per hit, the round it was picked in (`None`: never). From it:
//!
//! - the discovery curve, hits found after each round, and `recall_r{r}` = hits after round r / H;
//! - `discovery_auc` = Σ_r hits_r / Σ_r min(H, min(N, B·r)): the area under the curve as a
//!   fraction of the oracle's (a screen that picks a hit whenever one is left scores 1);
//! - `enrichment_vs_random` = hits after the last round / (P·H/N), P = min(N, B·R) picks: the
//!   hypergeometric mean of random screening is P·H/N, so random screening scores 1 in expectation;
//! - `enrichment_vs_baseline` = hits / the hits of a baseline-guided screen of the same design
//!   (NaN when that screen found none).
//!
//! Intervals ([`intervals`]): a percentile bootstrap over the hits. Each replicate draws H hits
//! with replacement (a hit drawn twice counts twice) and recomputes every metric from the drawn
//! hits' rounds; the baseline-guided screen's rounds are resampled with the same draw (paired).
//! The question it answers: how much would the screen's score move with another set of hits of
//! the same kind; the candidates' predictions and picks are not redrawn.

use crate::bootstrap::{Interval, draw, quantile};
use crate::catalog::{self, MetricInfo};
use crate::rng::seeded;

/// The longest screen the `recall_r{r}` metrics name.
pub const MAX_ROUNDS: usize = 8;

/// The closed-loop family's metrics, in report order.
pub const DISCOVERY_METRICS: [&MetricInfo; 3 + MAX_ROUNDS] = [
    &catalog::DISCOVERY_AUC,
    &catalog::ENRICHMENT_VS_RANDOM,
    &catalog::ENRICHMENT_VS_BASELINE,
    &catalog::RECALL_R1,
    &catalog::RECALL_R2,
    &catalog::RECALL_R3,
    &catalog::RECALL_R4,
    &catalog::RECALL_R5,
    &catalog::RECALL_R6,
    &catalog::RECALL_R7,
    &catalog::RECALL_R8,
];

/// The shape of a screen: library size, picks per round, rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScreenDesign {
    pub n_candidates: usize,
    pub batch: usize,
    pub rounds: usize,
}

impl ScreenDesign {
    /// Candidates tested after round r (1-based): min(N, B·r).
    pub fn picks_after(&self, round: usize) -> usize {
        (self.batch * round).min(self.n_candidates)
    }
}

/// Hits found after each round 1..=rounds, from the round each hit was picked in.
pub fn curve(found: &[Option<usize>], rounds: usize) -> Vec<usize> {
    (1..=rounds).map(|r| found.iter().filter(|f| f.is_some_and(|k| k <= r)).count()).collect()
}

/// The oracle's curve (it picks a hit whenever one is left): min(H, picks after round r).
pub fn oracle_curve(n_hits: usize, design: ScreenDesign) -> Vec<usize> {
    (1..=design.rounds).map(|r| n_hits.min(design.picks_after(r))).collect()
}

/// Expected hits of random screening after round r: the hypergeometric mean picks·H/N.
pub fn expected_random_curve(n_hits: usize, design: ScreenDesign) -> Vec<f64> {
    let n = design.n_candidates.max(1) as f64;
    (1..=design.rounds).map(|r| design.picks_after(r) as f64 * n_hits as f64 / n).collect()
}

/// The value of metric `name` for a screen (`found`) and the baseline-guided screen (`guide`,
/// the same hits in the same order); NaN for an unknown name, a round beyond the screen, or
/// without hits.
pub fn value(name: &str, found: &[Option<usize>], guide: Option<&[Option<usize>]>, design: ScreenDesign) -> f64 {
    let weights = vec![1.0; found.len()];
    weighted_value(name, found, guide, &weights, design)
}

/// [`value`] with hit i counted `weights[i]` times (a bootstrap replicate).
fn weighted_value(
    name: &str,
    found: &[Option<usize>],
    guide: Option<&[Option<usize>]>,
    weights: &[f64],
    design: ScreenDesign,
) -> f64 {
    let n_hits = found.len();
    if n_hits == 0 || design.rounds == 0 {
        return f64::NAN;
    }
    let hits_by = |rounds: &[Option<usize>], r: usize| -> f64 {
        // From +0 (an empty f64 sum is −0).
        rounds.iter().zip(weights).filter(|(f, _)| f.is_some_and(|k| k <= r)).fold(0.0, |s, (_, w)| s + w)
    };
    let last = design.rounds;
    match name {
        "discovery_auc" => {
            let area: f64 = (1..=last).map(|r| hits_by(found, r)).sum();
            let best: usize = oracle_curve(n_hits, design).iter().sum();
            area / best as f64
        }
        "enrichment_vs_random" => {
            let expected = expected_random_curve(n_hits, design)[last - 1];
            hits_by(found, last) / expected
        }
        "enrichment_vs_baseline" => match guide {
            Some(g) if hits_by(g, last) > 0.0 => hits_by(found, last) / hits_by(g, last),
            _ => f64::NAN,
        },
        other => match other.strip_prefix("recall_r").and_then(|r| r.parse::<usize>().ok()) {
            Some(r) if (1..=last).contains(&r) => hits_by(found, r) / n_hits as f64,
            _ => f64::NAN,
        },
    }
}

/// Per-hit values whose mean over the hits is metric `name` (a scorecard's per-item values): hit
/// i's share, H times its part of the total (for `enrichment_vs_baseline`, of the screen's hits
/// over the guided screen's total).
pub fn per_hit(name: &str, found: &[Option<usize>], guide: Option<&[Option<usize>]>, design: ScreenDesign) -> Vec<f64> {
    let n_hits = found.len();
    let one_hot = |i: usize| -> Vec<f64> { (0..n_hits).map(|j| if i == j { n_hits as f64 } else { 0.0 }).collect() };
    let guide_hits = guide.map(|g| curve(g, design.rounds).last().copied().unwrap_or(0));
    (0..n_hits)
        .map(|i| match (name, guide_hits) {
            ("enrichment_vs_baseline", Some(g)) if g > 0 => {
                let found_i = found[i].is_some_and(|k| k <= design.rounds);
                if found_i { n_hits as f64 / g as f64 } else { 0.0 }
            }
            ("enrichment_vs_baseline", _) => f64::NAN,
            _ => weighted_value(name, found, guide, &one_hot(i), design),
        })
        .collect()
}

/// Every metric of `names` with its percentile bootstrap interval over the hits (see the module
/// documentation): `resamples` replicates, seeded by `seed`, the (1 ± level)/2 quantiles.
/// `n` counts the hits; an undefined value has a NaN interval.
pub fn intervals(
    names: &[&str],
    found: &[Option<usize>],
    guide: Option<&[Option<usize>]>,
    design: ScreenDesign,
    resamples: usize,
    level: f64,
    seed: u64,
) -> Vec<Interval> {
    let n_hits = found.len();
    let mut rng = seeded(seed);
    let weights: Vec<Vec<f64>> = (0..resamples)
        .map(|_| {
            let mut w = vec![0.0; n_hits];
            for i in draw(&mut rng, n_hits) {
                w[i] += 1.0;
            }
            w
        })
        .collect();
    names
        .iter()
        .map(|name| {
            let mean = value(name, found, guide, design);
            let defined = usize::from(mean.is_finite());
            let collapsed = Interval { mean, lower: mean, upper: mean, n: n_hits * defined, n_undefined: 0 };
            if !mean.is_finite() {
                return Interval { lower: f64::NAN, upper: f64::NAN, n_undefined: n_hits, ..collapsed };
            }
            let mut replicates: Vec<f64> = weights
                .iter()
                .map(|w| weighted_value(name, found, guide, w, design))
                // A replicate that draws an early hit twice can pass the oracle's area: capped at 1.
                .map(|v| if *name == "discovery_auc" { v.min(1.0) } else { v })
                .filter(|v| v.is_finite())
                .collect();
            if replicates.is_empty() {
                return collapsed;
            }
            replicates.sort_by(f64::total_cmp);
            let alpha = (1.0 - level) / 2.0;
            Interval { lower: quantile(&replicates, alpha), upper: quantile(&replicates, 1.0 - alpha), ..collapsed }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DESIGN: ScreenDesign = ScreenDesign { n_candidates: 100, batch: 4, rounds: 3 };

    #[test]
    fn curve_counts_hits_found_by_each_round() {
        let found = [Some(1), None, Some(3), Some(1), Some(2)];
        assert_eq!(curve(&found, 3), vec![2, 3, 4]);
        assert_eq!(oracle_curve(5, DESIGN), vec![4, 5, 5]);
        assert_eq!(oracle_curve(20, DESIGN), vec![4, 8, 12]);
        let random = expected_random_curve(5, DESIGN);
        assert!((random[2] - 12.0 * 5.0 / 100.0).abs() < 1e-12);
    }

    #[test]
    fn metrics_follow_their_definitions() {
        let found = [Some(1), None, Some(3), Some(1), Some(2)];
        // Area 2 + 3 + 4 = 9 of the oracle's 4 + 5 + 5 = 14.
        assert!((value("discovery_auc", &found, None, DESIGN) - 9.0 / 14.0).abs() < 1e-12);
        // 4 hits found; random expects 12 · 5 / 100 = 0.6.
        assert!((value("enrichment_vs_random", &found, None, DESIGN) - 4.0 / 0.6).abs() < 1e-12);
        let guide = [None, None, Some(2), Some(3), None];
        assert!((value("enrichment_vs_baseline", &found, Some(&guide), DESIGN) - 2.0).abs() < 1e-12);
        assert!(value("enrichment_vs_baseline", &found, Some(&[None; 5]), DESIGN).is_nan());
        assert!((value("recall_r2", &found, None, DESIGN) - 0.6).abs() < 1e-12);
        assert!(value("recall_r4", &found, None, DESIGN).is_nan(), "beyond the screen");
        for name in ["discovery_auc", "enrichment_vs_random", "enrichment_vs_baseline", "recall_r2"] {
            let values = per_hit(name, &found, Some(&guide), DESIGN);
            let mean = values.iter().sum::<f64>() / values.len() as f64;
            assert!((mean - value(name, &found, Some(&guide), DESIGN)).abs() < 1e-12, "{name}");
        }
        let oracle = [Some(1), Some(1), Some(1), Some(1), Some(2)];
        assert_eq!(value("discovery_auc", &oracle, None, DESIGN), 1.0);
        assert!(value("discovery_auc", &[], None, DESIGN).is_nan());
    }

    #[test]
    fn intervals_hold_the_value_and_are_deterministic() {
        let found: Vec<Option<usize>> = (0..30).map(|i| if i % 3 == 0 { None } else { Some(1 + i % 3) }).collect();
        let guide: Vec<Option<usize>> = (0..30).map(|i| if i % 2 == 0 { Some(3) } else { None }).collect();
        let names = ["discovery_auc", "enrichment_vs_random", "enrichment_vs_baseline", "recall_r3"];
        let design = ScreenDesign { n_candidates: 400, batch: 10, rounds: 3 };
        let a = intervals(&names, &found, Some(&guide), design, 500, 0.95, 7);
        assert_eq!(a, intervals(&names, &found, Some(&guide), design, 500, 0.95, 7));
        for (ci, name) in a.iter().zip(names) {
            assert!(ci.lower < ci.mean && ci.mean < ci.upper, "{name}: {ci:?}");
            assert_eq!(ci.n, 30);
        }
        // A screen that finds every hit in round 1 has no spread to resample.
        let all = vec![Some(1); 30];
        let b = intervals(&["recall_r1"], &all, None, design, 200, 0.95, 7);
        assert_eq!((b[0].lower, b[0].mean, b[0].upper), (1.0, 1.0, 1.0));
    }
}
