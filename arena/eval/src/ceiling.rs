//! The noise ceiling: an estimate of what the population mean of each test condition (the
//! perfect model) would score against the mean of the condition's real test cells, the same
//! truth every model is scored against. The ceiling is a reference line: it is never ranked.
//!
//! Per test item with n cells (per gene g: sample variance s²_g of the cells):
//! - `pearson_delta`, `pearson_delta_pert`: the index of reliability. The item's delta (mean
//!   against the same reference the metric uses: μ_ctrl of the training controls, or μ_pert)
//!   spreads over genes by its signal plus the mean's sampling noise (the cells' spread around
//!   the mean, centred over genes the same way, / n(n − 1)); ρ = 1 − noise /
//!   spread is the reliability of an n-cell mean and the population mean's correlation with it is
//!   √ρ (0 where ρ ≤ 0). It is the value the Spearman–Brown-corrected split-half correlation
//!   estimates, from all n cells at once rather than two halves (whose correlation is noisy and,
//!   clamped at 0 and passed through √, biased low for items with little signal). The reference is
//!   shared by the population mean and the cells because every model shares it: its noise is part
//!   of what even the population mean scores.
//! - `mse`: the sampling variance of the mean, Σ_g s²_g/n / G (the jackknife variance of a mean),
//!   which is exactly the expected squared error of the population mean.
//! - `mae`: the expected absolute error of an n-cell mean, by resampling the item's cells
//!   ([`MAE_DRAWS`] draws, √(n/(n − 1)) scale correction; no normality assumed).
//! - every other metric: no ceiling, with the reason ([`no_ceiling_reason`]).
//!
//! Half-A means (split-half at half depth) remain available ([`split_halves`]) for families that
//! add their own metrics on top of the profile metrics. Needs single cells (at least two per
//! item); pseudobulk data have no ceiling.

use metrics::Metric;
use tasks::{Observation, TaskInstance};

/// The seed slot of an item's mae draws ([`split_seed`]; slot 0 is [`split_halves`]' split).
const MAE_SEED_SLOT: usize = 5;

/// Why a task, or one of its metrics, has no noise ceiling; the scorecard's notes show it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct NoCeiling(pub String);

impl From<String> for NoCeiling {
    fn from(reason: String) -> Self {
        Self(reason)
    }
}

impl From<&str> for NoCeiling {
    fn from(reason: &str) -> Self {
        Self(reason.to_string())
    }
}

/// Half A's and half B's mean profile per test condition.
pub type Halves = (Vec<Vec<f64>>, Vec<Vec<f64>>);

/// Why a metric has no ceiling estimator (`None`: it has one).
pub fn no_ceiling_reason(metric: Metric) -> Option<&'static str> {
    match metric {
        Metric::CentroidAccuracy => Some(
            "no ceiling for centroid_accuracy: the population mean's rank among the other items' truths depends on the \
             noise of every truth at once, and split halves (at half depth, against half-depth truths) have no known \
             correction",
        ),
        _ => None,
    }
}

/// The pseudobulk refusal, or the first item with fewer than two cells.
fn check_cells(instance: &TaskInstance<'_>) -> Result<(), NoCeiling> {
    if instance.dataset.observation == Observation::Pseudobulk {
        return Err("no noise ceiling: the dataset is pseudobulk (one profile per condition), so there are no cells to split in halves".into());
    }
    for item in instance.eval_items() {
        if item.rows.len() < 2 {
            return Err(format!(
                "no noise ceiling: perturbation '{}' has {} cell(s); two halves need at least 2",
                item.label,
                item.rows.len()
            )
            .into());
        }
    }
    Ok(())
}

/// (prediction, truth) profile pairs per test condition, or the reason there is no ceiling.
pub fn split_halves(instance: &TaskInstance<'_>, seed: u64) -> Result<Halves, NoCeiling> {
    check_cells(instance)?;
    let mut predictions = Vec::new();
    let mut truths = Vec::new();
    for (k, item) in instance.eval_items().iter().enumerate() {
        let (a, b) = halve(item.rows, split_seed(seed, k, MAE_SEED_SLOT));
        predictions.push(item.truth.mean_of_rows(&a).to_vec());
        truths.push(item.truth.mean_of_rows(&b).to_vec());
    }
    Ok((predictions, truths))
}

/// Seed of split `s` of item `k` (split 0 is the historical single split).
fn split_seed(seed: u64, k: usize, s: usize) -> u64 {
    seed.wrapping_add(k as u64).wrapping_add((s as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// The rows shuffled by `seed` and cut in two (the extra cell of an odd count goes to B).
fn halve(rows: &[usize], seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rows = rows.to_vec();
    metrics::rng::shuffle(&mut rows, &mut metrics::rng::seeded(seed));
    let b = rows.split_off(rows.len() / 2);
    (rows, b)
}

/// The population mean's expected correlation of deltas with an n-cell mean, from the variance
/// components of the item's delta d = mean − reference over the kept genes: its spread over genes
/// V = Σ (d_g − d̄)² is the signal's plus `noise`, the mean's sampling noise centred the same way
/// (from the cells' spread around the mean), so the n-cell mean's reliability is ρ = 1 − noise/V
/// and the population mean correlates √ρ with it (the index of reliability; 0 where ρ ≤ 0, NaN
/// without a reference or a spread). This is the value Spearman–Brown gives from a split-half
/// correlation (every split's r estimates (V − noise)/(V + noise)), without the noise of
/// splitting n cells into two halves.
fn reliability_index(mean: &[f64], reference: &[f64], keep: &[bool], noise: f64) -> f64 {
    if reference.len() != mean.len() {
        return f64::NAN;
    }
    let d: Vec<f64> = mean.iter().zip(reference).zip(keep).filter(|(_, k)| **k).map(|((m, r), _)| m - r).collect();
    if d.len() < 2 {
        return f64::NAN;
    }
    let centre = d.iter().sum::<f64>() / d.len() as f64;
    let spread: f64 = d.iter().map(|x| (x - centre).powi(2)).sum();
    if spread == 0.0 {
        return f64::NAN;
    }
    (1.0 - noise / spread).max(0.0).sqrt()
}

/// Draws of an item's cells behind the `mae` ceiling.
pub const MAE_DRAWS: usize = 200;

/// The expected absolute error of an n-cell mean and its sd from draw to draw, by resampling the
/// item's n cells with replacement [`MAE_DRAWS`] times: mean over draws of Σ_g |m*_g − m_g| / G,
/// scaled by √(n/(n − 1)) (a resampled mean's spread is √((n − 1)/n) of the sampling spread). No
/// normality is assumed, so sparse genes whose means are discrete and skewed are estimated right.
/// `cells` are the item's cells (rows).
fn bootstrap_mae(cells: &ndarray::Array2<f32>, mean: &[f64], keep: &[bool], seed: u64) -> (f64, f64) {
    let n = cells.nrows();
    let kept = keep.iter().filter(|&&k| k).count();
    let scale = (n as f64 / (n as f64 - 1.0)).sqrt() / kept.max(1) as f64;
    let mut rng = metrics::rng::seeded(seed);
    let mut sum = vec![0.0; mean.len()];
    let draws: Vec<f64> = (0..MAE_DRAWS)
        .map(|_| {
            sum.iter_mut().for_each(|x| *x = 0.0);
            for i in metrics::bootstrap::draw(&mut rng, n) {
                sum.iter_mut().zip(cells.row(i)).for_each(|(s, &x)| *s += f64::from(x));
            }
            sum.iter().zip(mean).zip(keep).filter(|(_, k)| **k).map(|((s, m), _)| (s / n as f64 - m).abs()).sum::<f64>()
                * scale
        })
        .collect();
    let avg = draws.iter().sum::<f64>() / draws.len() as f64;
    let sd = (draws.iter().map(|d| (d - avg).powi(2)).sum::<f64>() / (draws.len() - 1) as f64).sqrt();
    (avg, sd)
}

/// A metric with its ceiling column, or the reason it has none.
pub type MetricCeiling = (Metric, Result<CeilingColumn, NoCeiling>);

/// One metric's ceiling per item.
#[derive(Debug, Clone, PartialEq)]
pub struct CeilingColumn {
    /// The estimated expected score of each item's population mean.
    pub values: Vec<f64>,
    /// mse and mae: the sd of the population mean's own score from one draw of n test cells to
    /// the next around that expectation (mse: genes taken as independent normal means, var =
    /// 2Σ v²/G², v = s²/n; mae: the sd over the resampled draws), so that the ceiling's CI covers
    /// the score it would get on these cells, not only its expectation.
    pub draw_sd: Option<Vec<f64>>,
}

/// The ceiling's per-item values of every metric in `metrics` (item order of
/// `instance.eval_items()`), or the reason a metric has none; `Err` when the task has no ceiling
/// at all (pseudobulk data, an item with fewer than two cells).
pub fn profile_ceiling(
    instance: &TaskInstance<'_>,
    metrics: &[Metric],
    seed: u64,
) -> Result<Vec<MetricCeiling>, NoCeiling> {
    check_cells(instance)?;
    let control = instance.control_mean.as_slice().unwrap_or(&[]);
    let perturbed = instance.perturbed_mean.as_slice().unwrap_or(&[]);
    let items = instance.eval_items();
    // The headline metrics leave each item's perturbed genes out; so does their ceiling.
    let excluded = instance.perturbed_gene_indices();
    let none = Vec::new();
    let per_item: Vec<[f64; 6]> = items
        .iter()
        .enumerate()
        .map(|(k, item)| {
            let n = item.rows.len() as f64;
            let cells = item.truth.select(item.rows);
            let mean = item.truth.mean_of_rows(item.rows);
            let out = excluded.get(k).unwrap_or(&none);
            let keep: Vec<bool> = (0..mean.len()).map(|g| !out.contains(&g)).collect();
            let kept = keep.iter().filter(|&&k| k).count().max(1) as f64;
            let (mut ss, mut centred) = (vec![0.0; mean.len()], 0.0);
            for cell in cells.rows() {
                let dev: Vec<f64> = cell.iter().zip(mean.iter()).map(|(&x, m)| f64::from(x) - m).collect();
                let cell_centre = dev.iter().zip(&keep).filter(|(_, k)| **k).map(|(d, _)| d).sum::<f64>() / kept;
                for (g, d) in dev.iter().enumerate() {
                    ss[g] += d * d;
                    if keep[g] {
                        centred += (d - cell_centre).powi(2);
                    }
                }
            }
            // The sampling noise of the mean's delta centred over the kept genes (any covariance
            // between genes included): Σ_g var(ē_g − mean_g ē).
            let noise = centred / (n - 1.0) / n;
            let var_of_mean: Vec<f64> =
                ss.iter().zip(&keep).filter(|(_, k)| **k).map(|(s, _)| s / (n - 1.0) / n).collect();
            let genes = var_of_mean.len().max(1) as f64;
            let mse = var_of_mean.iter().sum::<f64>() / genes;
            let mse_sd = (2.0 * var_of_mean.iter().map(|v| v * v).sum::<f64>()).sqrt() / genes;
            let (mae, mae_sd) = bootstrap_mae(&cells, &mean.to_vec(), &keep, split_seed(seed, k, MAE_SEED_SLOT));
            let mean = mean.to_vec();
            let (r_ctrl, r_pert) =
                (reliability_index(&mean, control, &keep, noise), reliability_index(&mean, perturbed, &keep, noise));
            [r_ctrl, r_pert, mae, mse, mae_sd, mse_sd]
        })
        .collect();
    Ok(metrics
        .iter()
        .map(|&m| {
            let column = |j: usize| per_item.iter().map(|v| v[j]).collect::<Vec<f64>>();
            let plain = |j: usize| Ok(CeilingColumn { values: column(j), draw_sd: None });
            let with_sd = |j: usize, k: usize| Ok(CeilingColumn { values: column(j), draw_sd: Some(column(k)) });
            let values = match (m, no_ceiling_reason(m)) {
                (_, Some(reason)) => Err(reason.into()),
                (Metric::PearsonDelta, _) => plain(0),
                (Metric::PearsonDeltaPert, _) => plain(1),
                (Metric::Mae, _) => with_sd(2, 4),
                (Metric::Mse, _) => with_sd(3, 5),
                (other, _) => Err(format!("no ceiling for {}: no estimator", other.name()).into()),
            };
            (m, values)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use tasks::{Dataset, Direction, GenePanel, Perturbation, Scale};

    const N_GENES: usize = 6;
    const CELLS: usize = 8;

    fn spec() -> tasks::LoadedSpec {
        tasks::spec::toy_spec(
            "rule = \"unseen-single\"\ntest_fraction = 0.3\ncontrol_test_fraction = 0.5",
            0,
            &["mae"],
            &[],
        )
    }

    fn name(g: usize) -> String {
        format!("G{g}")
    }

    /// Every single has `cells(g)` cells; cell k of a condition has 2^k in gene 0 (so the mean of
    /// any subset of a condition's cells reveals the subset) and the gene index elsewhere.
    fn dataset(observation: Observation, cells: impl Fn(usize) -> usize) -> Dataset {
        let mut labels = Vec::new();
        let mut rows: Vec<f32> = Vec::new();
        for g in 0..N_GENES {
            for k in 0..cells(g) {
                labels.push(Perturbation::single(name(g), Direction::Knockdown));
                rows.push((1u32 << k) as f32);
                rows.extend((1..N_GENES).map(|c| (g * c) as f32));
            }
            labels.push(Perturbation::control());
            rows.extend((0..N_GENES).map(|c| c as f32 * 0.5));
        }
        let x = Array2::from_shape_vec((labels.len(), N_GENES), rows).unwrap();
        let panel = GenePanel::new((0..N_GENES).map(name).collect()).unwrap();
        Dataset::new("toy", "", panel, Scale::LogNormalized, observation, x, labels).unwrap()
    }

    /// Bitmask of the cells behind a mean of `n` cells of one condition.
    fn cells_of(mean: &[f64], n: usize) -> u32 {
        let sum = mean[0] * n as f64;
        assert_eq!(sum.fract(), 0.0, "{sum}");
        sum as u32
    }

    #[test]
    fn pseudobulk_data_have_no_ceiling() {
        let ds = dataset(Observation::Pseudobulk, |_| 2);
        let inst = TaskInstance::build(spec(), &ds).unwrap();
        let err = split_halves(&inst, 0).unwrap_err();
        assert!(err.0.contains("pseudobulk"), "{err}");
    }

    #[test]
    fn a_test_perturbation_with_one_cell_is_named() {
        let probe = dataset(Observation::SingleCell, |_| CELLS);
        let inst = TaskInstance::build(spec(), &probe).unwrap();
        let tests: Vec<String> = inst.test_conditions().iter().map(|t| t.label.clone()).collect();
        // Give the last test perturbation a single cell (the split depends only on the genes).
        let lonely: usize = tests.last().unwrap()[1..].parse().unwrap();
        let ds = dataset(Observation::SingleCell, |g| if g == lonely { 1 } else { CELLS });
        let inst = TaskInstance::build(spec(), &ds).unwrap();
        assert_eq!(inst.test_conditions().iter().map(|t| t.label.clone()).collect::<Vec<_>>(), tests);
        let err = split_halves(&inst, 0).unwrap_err();
        assert!(err.0.contains(&format!("'{}'", name(lonely))), "{err}");
        assert!(err.0.contains("1 cell"), "{err}");
        for other in &tests[..tests.len() - 1] {
            assert!(!err.0.contains(&format!("'{other}'")), "{err}");
        }
    }

    #[test]
    fn the_reliability_index_is_the_population_mean_s_correlation() {
        // The delta spreads 4.5 over 4 genes; with sampling noise 0.9, ρ = 1 − 0.9/4.5 = 0.8.
        let mean = [1.5, -1.5, 0.0, 0.0];
        let reference = [0.0; 4];
        let keep = [true; 4];
        assert!((reliability_index(&mean, &reference, &keep, 0.9) - 0.8f64.sqrt()).abs() < 1e-12);
        // No noise: 1; noise above the spread: 0; a left-out gene does not count; no reference or
        // no spread: NaN.
        assert_eq!(reliability_index(&mean, &reference, &keep, 0.0), 1.0);
        assert_eq!(reliability_index(&mean, &reference, &keep, 5.0), 0.0);
        let last_out = [true, true, true, false];
        assert!((reliability_index(&[1.5, -1.5, 0.0, 9.0], &reference, &last_out, 0.9) - 0.8f64.sqrt()).abs() < 1e-12);
        assert!(reliability_index(&mean, &[], &keep, 0.9).is_nan());
        assert!(reliability_index(&[0.0; 4], &reference, &keep, 0.9).is_nan());
    }

    /// mse's ceiling is the variance of each item's mean (s²/n averaged over genes); centroid
    /// accuracy has none and says why.
    #[test]
    fn squared_error_ceiling_is_the_variance_of_the_mean() {
        let ds = dataset(Observation::SingleCell, |_| CELLS);
        let inst = TaskInstance::build(spec(), &ds).unwrap();
        let got = profile_ceiling(&inst, &[Metric::Mse, Metric::CentroidAccuracy, Metric::Mae], 0).unwrap();
        let mse = &got[0].1.as_ref().unwrap().values;
        // Gene 0 holds 2^k in cell k (k < 8), every other gene is constant within a condition; an
        // item's perturbed genes are left out (as by the headline metrics), gene 0 with them.
        let v: Vec<f64> = (0..CELLS).map(|k| (1u32 << k) as f64).collect();
        let m = v.iter().sum::<f64>() / CELLS as f64;
        let s2 = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (CELLS as f64 - 1.0);
        let excluded = inst.perturbed_gene_indices();
        for (value, out) in mse.iter().zip(&excluded) {
            let expected = if out.contains(&0) { 0.0 } else { s2 / CELLS as f64 / (N_GENES - out.len()) as f64 };
            assert!((value - expected).abs() < 1e-9, "{value} vs {expected} (genes left out: {out:?})");
        }
        assert!(got[1].1.as_ref().unwrap_err().0.contains("centroid_accuracy"));
        // mae: the mean absolute deviation of a resampled mean, positive and below the root of mse.
        let mae = &got[2].1.as_ref().unwrap().values;
        for (&v, out) in mae.iter().zip(&excluded) {
            let rms = (s2 / CELLS as f64).sqrt() / (N_GENES - out.len()) as f64;
            let ok = if out.contains(&0) { v == 0.0 } else { v > 0.3 * rms && v < rms * 1.05 };
            assert!(ok, "{v} vs {rms} (genes left out: {out:?})");
        }
        assert_eq!(profile_ceiling(&inst, &[Metric::Mse], 0).unwrap()[0].1, got[0].1, "deterministic");
    }

    #[test]
    fn halves_are_disjoint_cover_each_condition_and_follow_the_seed() {
        let ds = dataset(Observation::SingleCell, |_| CELLS);
        let inst = TaskInstance::build(spec(), &ds).unwrap();
        let (pred, truth) = split_halves(&inst, 7).unwrap();
        assert_eq!(pred.len(), inst.test_conditions().len());
        assert_eq!(truth.len(), pred.len());
        let all = (1u32 << CELLS) - 1;
        for (p, t) in pred.iter().zip(&truth) {
            let (a, b) = (cells_of(p, CELLS / 2), cells_of(t, CELLS - CELLS / 2));
            assert_eq!(a.count_ones() as usize, CELLS / 2);
            assert_eq!(a & b, 0, "halves overlap: {a:b} {b:b}");
            assert_eq!(a | b, all, "halves miss cells: {a:b} {b:b}");
        }
        assert_eq!(split_halves(&inst, 7).unwrap(), (pred.clone(), truth.clone()));
        let distinct: std::collections::BTreeSet<Vec<u32>> = (0..6)
            .map(|s| split_halves(&inst, s).unwrap().0.iter().map(|p| cells_of(p, CELLS / 2)).collect())
            .collect();
        assert!(distinct.len() > 1, "the seed does not change the halves");
    }

    #[test]
    fn odd_cell_counts_put_the_extra_cell_in_the_truth_half() {
        let ds = dataset(Observation::SingleCell, |_| 5);
        let inst = TaskInstance::build(spec(), &ds).unwrap();
        let (pred, truth) = split_halves(&inst, 1).unwrap();
        for (p, t) in pred.iter().zip(&truth) {
            let (a, b) = (cells_of(p, 2), cells_of(t, 3));
            assert_eq!((a.count_ones(), b.count_ones(), a & b, a | b), (2, 3, 0, 0b11111));
        }
    }
}
