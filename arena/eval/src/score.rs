//! Turns predicted and true profiles into a scorecard row: per-perturbation metric values and,
//! per metric, the mean with its CI overall and per subgroup ([`metrics::scorecard_ci`]: a Student
//! t interval on the metric's variance-stabilising scale, inside the metric's range). The standard
//! error is over resampling units (`tasks::resampling_units`: test perturbations, whole sequences
//! on multi-step tasks). `pearson_delta` is taken against μ_ctrl, whose sampling noise prediction
//! and truth share ([`ControlReplicates`]): its interval is centred on the values with that noise
//! removed (`metrics::reference_noise`) and widened by the spread over redraws of the training
//! control cells ([`metrics::t_interval_shared_reference`]).

use std::collections::BTreeMap;

use metrics::profile::delta_correlation_without;
use metrics::reference_noise::corrected_delta_correlation;
use metrics::{Metric, MetricInfo, ProfileReferences, score_profiles, scorecard_ci};
use tasks::scorecard::{BootstrapSettings, MetricSummary, PerturbationScore, ScoreRow};
use tasks::{ModelKind, Scale, TaskInstance};

/// Distinct control redraws per bootstrap; replicate b uses redraw b mod this.
pub const CONTROL_REDRAWS: usize = 200;

/// μ_ctrl's sampling noise and its redraws: the per-gene variance of μ_ctrl (s²/m over the m
/// training control cells) and μ_ctrl recomputed from those cells drawn with replacement,
/// [`CONTROL_REDRAWS`] times (seeded by the bootstrap seed, so every row of a scorecard sees the
/// same redraws).
pub struct ControlReplicates {
    pub control: Vec<f64>,
    pub variance: Vec<f64>,
    pub means: Vec<Vec<f64>>,
    cells: usize,
}

impl ControlReplicates {
    /// `None` where μ_ctrl is not estimated from cells (log-fold-change data), from fewer than two
    /// cells, or no resampling is asked for.
    pub fn new(instance: &TaskInstance<'_>, bootstrap: &BootstrapSettings) -> Option<Self> {
        // μ_ctrl of an unseen-context task is the new context's reference controls' mean.
        let (x, rows) = match (&instance.spec.spec.split, &instance.split.context, &instance.dataset.context) {
            (tasks::SplitRule::UnseenContext { .. }, Some(split), Some(ctx)) => {
                (&ctx.expression, &split.control_adapt_rows)
            }
            _ => (instance.dataset.expression(), &instance.split.control_train_rows),
        };
        if instance.dataset.scale != Scale::LogNormalized || rows.len() < 2 || bootstrap.resamples == 0 {
            return None;
        }
        let control = x.mean_of_rows(rows).to_vec();
        let mut ss = vec![0.0; control.len()];
        x.for_each_row(rows, |_, row| {
            for ((s, &v), m) in ss.iter_mut().zip(row).zip(&control) {
                *s += (f64::from(v) - m).powi(2);
            }
        });
        let m = rows.len() as f64;
        let variance = ss.iter().map(|s| s / (m - 1.0) / m).collect();
        let mut rng = metrics::rng::seeded(bootstrap.seed ^ 0xC0_17_20_15);
        let means = (0..CONTROL_REDRAWS.min(bootstrap.resamples))
            .map(|_| {
                let drawn: Vec<usize> =
                    metrics::bootstrap::draw(&mut rng, rows.len()).into_iter().map(|i| rows[i]).collect();
                x.mean_of_rows(&drawn).to_vec()
            })
            .collect();
        Some(Self { control, variance, means, cells: rows.len() })
    }

    /// The per-item values of `pearson_delta` (each item's perturbed genes left out, as in the
    /// headline) against every redrawn μ_ctrl, as scored (the shared noise not removed).
    pub fn pearson_delta(
        &self,
        predictions: &[Vec<f64>],
        truths: &[Vec<f64>],
        perturbed: &[Vec<usize>],
    ) -> Vec<Vec<f64>> {
        let none = Vec::new();
        self.means
            .iter()
            .map(|mu| {
                predictions
                    .iter()
                    .zip(truths)
                    .enumerate()
                    .map(|(i, (p, t))| delta_correlation_without(p, t, mu, perturbed.get(i).unwrap_or(&none)))
                    .collect()
            })
            .collect()
    }

    /// `pearson_delta` with μ_ctrl's noise removed ([`metrics::reference_noise`]), per item: the
    /// observed values, and the values against every redrawn μ_ctrl (whose noise is the observed
    /// one plus the redraw's, (m − 1)/m of it).
    pub fn corrected_pearson_delta(
        &self,
        predictions: &[Vec<f64>],
        truths: &[Vec<f64>],
        perturbed: &[Vec<usize>],
    ) -> SharedReference {
        let none = Vec::new();
        let column = |mu: &[f64], multiple: f64| -> Vec<f64> {
            predictions
                .iter()
                .zip(truths)
                .enumerate()
                .map(|(i, (p, t))| {
                    let out = perturbed.get(i).unwrap_or(&none);
                    corrected_delta_correlation(p, t, mu, &self.variance, out, multiple)
                })
                .collect()
        };
        let m = self.cells as f64;
        SharedReference {
            corrected: column(&self.control, 1.0),
            redraws: self.means.iter().map(|mu| column(mu, 1.0 + (m - 1.0) / m)).collect(),
        }
    }
}

/// A metric against a reference shared by prediction and truth: per item, its value with the
/// reference's noise removed, and the same against every redrawn reference
/// ([`metrics::t_interval_shared_reference`]).
pub struct SharedReference {
    pub corrected: Vec<f64>,
    pub redraws: Vec<Vec<f64>>,
}

/// What a metric's interval recomputes beside its per-item values.
#[derive(Clone, Copy)]
pub enum Replicates<'a> {
    /// Replicate b of the bootstrap uses `draws[b mod len]` (the same items, recomputed).
    Draws(&'a [Vec<f64>]),
    /// The interval is centred on the corrected values and widened by the redraws' spread.
    SharedReference(&'a SharedReference),
}

/// What a scorecard's bootstrap resamples, in words (the scorecard's `resampling`).
pub fn resampling_note(instance: &TaskInstance<'_>, bootstrap: &BootstrapSettings) -> String {
    let items = instance.eval_items();
    let units = tasks::resampling_units(items.iter().map(|i| i.subgroup));
    let n_units = units.iter().max().map_or(0, |m| m + 1);
    let unit = if n_units < items.len() {
        format!(
            "{n_units} units (each held-out sequence with all its steps, every other item alone) of {} items",
            items.len()
        )
    } else {
        format!("{n_units} test items (perturbations)")
    };
    let controls = match ControlReplicates::new(instance, bootstrap) {
        Some(c) => format!(
            "; for pearson_delta, the interval is for the value against the population μ_ctrl: centred on the per-item \
             values with the sampling noise of μ_ctrl (mean of {} training control cells) removed (errors-in-variables \
             correction; it assumes the predictions do not reuse those cells), widened by its spread over {} redraws of \
             the training control cells behind μ_ctrl; the scored mean keeps the shared noise's inflation and can lie \
             above the interval",
            c.cells,
            c.means.len()
        ),
        None => "; μ_ctrl is not resampled (no control cells: log-fold-change data)".into(),
    };
    let small = match n_units < FULL_COVERAGE_UNITS {
        true => format!(
            "; with {n_units} units (< {FULL_COVERAGE_UNITS}) a 95% interval can cover less: measured on the simulator, \
             on a pool of sim-unseen-single's own design at least 0.955 from n = 8, but where a few units carry most of \
             an error metric's mean {} (bench/results/ci_coverage_unseen_single.md, ci_coverage_200.md)",
            SMALL_N_COVERAGE.iter().map(|(n, c)| format!("{c} at n = {n}")).collect::<Vec<_>>().join(", ")
        ),
        false => String::new(),
    };
    format!(
        "Student t interval on the metric's scale (atanh for correlations, logit for fractions, log for errors; \
         inside the metric's range), standard error over {unit}{controls}; bootstrap {} resamples, seed {}; μ_pert \
         (training centroids) is held fixed{small}",
        bootstrap.resamples, bootstrap.seed
    )
}

/// Resampling units below which a scorecard states the coverage measured at its size: the 95%
/// interval covered at least 0.915 from 20 units on every simulator profile task, but as little
/// as 0.885 at 12 on a pool whose error is carried by 4 of 30 units (bench/results/ci_coverage_200.md,
/// 200 replicates); on a pool of sim-unseen-single's own design, at least 0.955 from 8
/// (bench/results/ci_coverage_unseen_single.md).
pub const FULL_COVERAGE_UNITS: usize = 20;

/// The lowest coverage of the scorecard's 95% interval measured at small n on the simulator
/// (bench/results/ci_coverage_200.md: 200 replicates of sim-unseen-single, sim-combinatorial and
/// sim-multi-step, over their baselines and the headline metrics pearson_delta_pert,
/// pearson_delta, mae, mse and centroid_accuracy; the lowest are mae and mse on sim-unseen-single,
/// whose per-perturbation errors are right-skewed).
pub const SMALL_N_COVERAGE: [(usize, &str); 3] = [(5, "as low as 0.48"), (8, "as low as 0.71"), (12, "as low as 0.89")];

pub struct RowInput<'a> {
    pub name: String,
    pub kind: ModelKind,
    pub model_sha256: String,
    pub predictions: &'a [Vec<f64>],
    pub truths: &'a [Vec<f64>],
}

pub fn score_row(instance: &TaskInstance<'_>, input: RowInput<'_>, bootstrap: &BootstrapSettings) -> ScoreRow {
    let refs = ProfileReferences {
        control: instance.control_mean.as_slice().unwrap_or(&[]),
        perturbed_mean: instance.perturbed_mean.as_slice().unwrap_or(&[]),
    };
    let scores = score_profiles(input.predictions, input.truths, &refs, &instance.perturbed_gene_indices());
    let wanted = instance.spec.spec.metric_list();
    let tests = instance.eval_items();
    let classes = instance.target_classes();
    let subgroups: Vec<tasks::Subgroup> = tests.iter().map(|t| t.subgroup).collect();
    let perturbed = instance.perturbed_gene_indices();
    let controls = match wanted.contains(&Metric::PearsonDelta) {
        true => ControlReplicates::new(instance, bootstrap),
        false => None,
    };
    let metrics = wanted
        .iter()
        .map(|&metric| {
            let column = scores.column(metric);
            let replicates = match (&controls, metric) {
                (Some(c), Metric::PearsonDelta) => {
                    Some(c.corrected_pearson_delta(input.predictions, input.truths, &perturbed))
                }
                _ => None,
            };
            let mut summary = summarize_with(
                metric.info(),
                &column,
                &subgroups,
                bootstrap,
                replicates.as_ref().map(Replicates::SharedReference),
            );
            if let Some(classes) = &classes {
                add_class_groups(&mut summary, &column, &subgroups, classes, bootstrap);
            }
            summary
        })
        .collect();
    let per_perturbation = tests
        .iter()
        .take(scores.values.len())
        .enumerate()
        .map(|(i, t)| PerturbationScore {
            perturbation: t.label.clone(),
            subgroup: t.subgroup,
            n_truth: tests[i].rows.len(),
            values: wanted
                .iter()
                .map(|&m| {
                    let k = scores.metrics.iter().position(|&x| x == m).unwrap_or(0);
                    Some(scores.values[i][k]).filter(|v| v.is_finite())
                })
                .collect(),
        })
        .collect();
    ScoreRow { name: input.name, kind: input.kind, model_sha256: input.model_sha256, metrics, per_perturbation }
}

/// One metric's per-item values summarised: the mean with a studentized bootstrap CI over
/// resampling units, overall and per subgroup (`subgroups[i]` is item i's; the units follow from
/// them, see `tasks::resampling_units`). The overall summary covers the items of headline
/// subgroups ([`tasks::Subgroup::in_headline`]; all of them when no item is in one). Every family
/// reports its metrics through this.
pub fn summarize(
    metric: &MetricInfo,
    column: &[f64],
    subgroups: &[tasks::Subgroup],
    bootstrap: &BootstrapSettings,
) -> MetricSummary {
    summarize_with(metric, column, subgroups, bootstrap, None)
}

/// [`summarize`] with what the interval recomputes ([`Replicates`]): draws of the items' values
/// (replicate b of the bootstrap uses `draws[b mod len]`), or a shared reference's corrected
/// values and redraws.
pub fn summarize_with(
    metric: &MetricInfo,
    column: &[f64],
    subgroups: &[tasks::Subgroup],
    bootstrap: &BootstrapSettings,
    replicates: Option<Replicates<'_>>,
) -> MetricSummary {
    let units = tasks::resampling_units(subgroups.iter().copied());
    let bounds = metric.interval;
    let ci = |members: &[usize]| {
        let values: Vec<f64> = members.iter().map(|&i| column[i]).collect();
        let units: Vec<usize> = members.iter().map(|&i| units.get(i).copied().unwrap_or(i)).collect();
        let (b, level, seed) = (bootstrap.resamples, bootstrap.level, bootstrap.seed);
        match replicates {
            Some(Replicates::SharedReference(shared)) if b > 0 => {
                let corrected: Vec<f64> = members.iter().map(|&i| shared.corrected[i]).collect();
                let redraw_means: Vec<f64> = shared
                    .redraws
                    .iter()
                    .map(|r| {
                        let finite: Vec<f64> = members.iter().map(|&i| r[i]).filter(|v| v.is_finite()).collect();
                        finite.iter().sum::<f64>() / finite.len().max(1) as f64
                    })
                    .collect();
                metrics::t_interval_shared_reference(&values, &corrected, &units, level, bounds, &redraw_means)
            }
            Some(Replicates::Draws(draws)) if !draws.is_empty() => {
                let replicate = |b: usize| -> Vec<f64> { members.iter().map(|&i| draws[b % draws.len()][i]).collect() };
                scorecard_ci(&values, &units, b, level, seed, bounds, Some(&replicate))
            }
            _ => scorecard_ci(&values, &units, b, level, seed, bounds, None),
        }
    };
    let mut groups: BTreeMap<tasks::Subgroup, Vec<usize>> = BTreeMap::new();
    for (i, g) in subgroups.iter().enumerate().take(column.len()) {
        groups.entry(*g).or_default().push(i);
    }
    let headline: Vec<usize> =
        (0..column.len()).filter(|&i| subgroups.get(i).is_none_or(|g| g.in_headline())).collect();
    let headline = if headline.is_empty() { (0..column.len()).collect() } else { headline };
    MetricSummary {
        metric: metric.name.to_string(),
        better: metric.direction(),
        overall: ci(&headline),
        by_subgroup: groups.into_iter().map(|(g, v)| (g, ci(&v))).collect(),
        toward_ceiling: None,
    }
}

/// Appends the regulator / non-regulator target groups (`classes[i]` is item i's class,
/// `subgroups[i]` its split subgroup) to a summary's subgroups, each over its headline items.
fn add_class_groups(
    summary: &mut MetricSummary,
    column: &[f64],
    subgroups: &[tasks::Subgroup],
    classes: &[tasks::Subgroup],
    bootstrap: &BootstrapSettings,
) {
    for class in [tasks::Subgroup::RegulatorTarget, tasks::Subgroup::NonRegulatorTarget] {
        let values: Vec<f64> = column
            .iter()
            .zip(classes)
            .zip(subgroups)
            .filter(|((_, c), g)| **c == class && g.in_headline())
            .map(|((v, _), _)| *v)
            .collect();
        if !values.is_empty() {
            // Each item its own unit: the class groups come from single-perturbation tasks.
            let units: Vec<usize> = (0..values.len()).collect();
            let (b, bounds) = (bootstrap, metrics::Bounds::of_metric(&summary.metric));
            let ci = scorecard_ci(&values, &units, b.resamples, b.level, b.seed, bounds, None);
            summary.by_subgroup.push((class, ci));
        }
    }
}

/// The values of the items in headline subgroups (every value when none is in one).
pub fn headline_values(column: &[f64], subgroups: &[tasks::Subgroup]) -> Vec<f64> {
    let kept: Vec<f64> = column.iter().zip(subgroups).filter(|(_, g)| g.in_headline()).map(|(v, _)| *v).collect();
    if kept.is_empty() { column.to_vec() } else { kept }
}

/// The metric that ranks rows: the spec's first.
pub fn primary_metric(instance: &TaskInstance<'_>) -> Metric {
    instance.spec.spec.metric_list().first().copied().unwrap_or(Metric::PearsonDeltaPert)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use std::collections::BTreeSet;
    use tasks::{Dataset, Direction, GenePanel, Observation, Perturbation, Scale, Subgroup};

    const N_GENES: usize = 12;
    /// Deliberately not in `Metric::ALL` order, to check the alignment of per-perturbation values.
    const METRICS: [&str; 5] = ["centroid_accuracy", "mae", "pearson_delta_pert", "pearson_delta", "mse"];

    fn spec(seed: u64) -> tasks::LoadedSpec {
        tasks::spec::toy_spec(
            "rule = \"combinatorial\"\ntrain_gene_fraction = 0.75\nseen2_train_fraction = 0.75\ncontrol_test_fraction = 0.5",
            seed,
            &METRICS,
            &[],
        )
    }

    fn name(g: usize) -> String {
        format!("G{g:02}")
    }

    /// 12 singles and 20 doubles, two cells each with condition-specific values; 6 control rows.
    fn dataset() -> Dataset {
        let mut conditions: Vec<Vec<usize>> = (0..N_GENES).map(|g| vec![g]).collect();
        conditions.extend((0..11).map(|i| vec![i, i + 1]));
        conditions.extend((0..9).map(|i| vec![i, i + 3]));
        let mut labels = Vec::new();
        let mut rows: Vec<f32> = Vec::new();
        for (k, genes) in conditions.iter().enumerate() {
            let p = Perturbation::from_genes(genes.iter().map(|&g| (name(g), Direction::Knockdown)));
            for cell in 0..2 {
                labels.push(p.clone());
                rows.extend((0..N_GENES).map(|c| (((k * 7 + c * 3 + cell) % 11) as f32) * 0.3 + (k % 5) as f32 * 0.1));
            }
            if k % 5 == 0 {
                labels.push(Perturbation::control());
                rows.extend((0..N_GENES).map(|c| 1.0 + ((c + k) % 3) as f32 * 0.1));
            }
        }
        let x = Array2::from_shape_vec((labels.len(), N_GENES), rows).unwrap();
        let panel = GenePanel::new((0..N_GENES).map(name).collect()).unwrap();
        Dataset::new("toy", "", panel, Scale::LogNormalized, Observation::SingleCell, x, labels).unwrap()
    }

    fn settings() -> BootstrapSettings {
        BootstrapSettings { resamples: 50, level: 0.9, seed: 0 }
    }

    fn row(instance: &TaskInstance<'_>, predictions: &[Vec<f64>], truths: &[Vec<f64>]) -> ScoreRow {
        score_row(
            instance,
            RowInput { name: "m".into(), kind: ModelKind::Baseline, model_sha256: "x".into(), predictions, truths },
            &settings(),
        )
    }

    fn idx(metric: &str) -> usize {
        METRICS.iter().position(|m| *m == metric).unwrap()
    }

    #[test]
    fn a_perfect_prediction_scores_perfectly() {
        let ds = dataset();
        let inst = TaskInstance::build(spec(0), &ds).unwrap();
        let truths = inst.truth_means();
        let r = row(&inst, &truths, &truths);
        assert_eq!(r.metrics.iter().map(|m| m.metric.as_str()).collect::<Vec<_>>(), METRICS);
        assert_eq!(r.per_perturbation.len(), inst.test_conditions().len());
        for (pp, t) in r.per_perturbation.iter().zip(inst.test_conditions()) {
            assert_eq!((pp.perturbation.as_str(), pp.subgroup, pp.n_truth), (t.label.as_str(), t.subgroup, 2));
            let v = |m: &str| pp.values[idx(m)].unwrap_or_else(|| panic!("{m} undefined for {}", pp.perturbation));
            assert!((v("pearson_delta") - 1.0).abs() < 1e-12, "{pp:?}");
            assert!((v("pearson_delta_pert") - 1.0).abs() < 1e-12, "{pp:?}");
            assert_eq!((v("mae"), v("mse"), v("centroid_accuracy")), (0.0, 0.0, 1.0), "{pp:?}");
        }
        let overall = |m: &str| &r.metric(m).unwrap().overall;
        assert!((overall("pearson_delta").mean - 1.0).abs() < 1e-12);
        assert_eq!((overall("mae").mean, overall("centroid_accuracy").mean), (0.0, 1.0));
        assert_eq!(overall("mae").n, inst.test_conditions().len());
        assert!(r.metric("mae").map(|m| m.better == metrics::Better::Lower).unwrap());
        assert!(r.metric("pearson_delta").map(|m| m.better.is_higher()).unwrap());
    }

    #[test]
    fn values_are_none_exactly_where_the_metric_is_undefined() {
        let ds = dataset();
        let inst = TaskInstance::build(spec(0), &ds).unwrap();
        let truths = inst.truth_means();
        assert!(truths.len() >= 3);
        let mut predictions: Vec<Vec<f64>> =
            truths.iter().map(|t| t.iter().enumerate().map(|(g, v)| v + 0.05 * (g % 3) as f64).collect()).collect();
        // Predicting μ_ctrl leaves no delta against the control; predicting μ_pert none against it.
        predictions[0] = inst.control_mean.to_vec();
        predictions[1] = inst.perturbed_mean.to_vec();
        let r = row(&inst, &predictions, &truths);
        let refs = ProfileReferences {
            control: inst.control_mean.as_slice().unwrap(),
            perturbed_mean: inst.perturbed_mean.as_slice().unwrap(),
        };
        let direct = score_profiles(&predictions, &truths, &refs, &inst.perturbed_gene_indices());
        for (i, pp) in r.per_perturbation.iter().enumerate() {
            assert_eq!(pp.values.len(), METRICS.len());
            for (k, m) in METRICS.iter().enumerate() {
                let expected = direct.column(Metric::from_name(m).unwrap())[i];
                match pp.values[k] {
                    None => assert!(expected.is_nan(), "{m} of {i} is None but defined ({expected})"),
                    Some(v) => assert_eq!(v, expected, "{m} of {i}"),
                }
            }
        }
        let pp = &r.per_perturbation;
        // A prediction without specific change scores 0, not undefined.
        assert_eq!(pp[0].values[idx("pearson_delta")], Some(0.0));
        assert!(pp[0].values[idx("pearson_delta_pert")].is_some());
        assert_eq!(pp[1].values[idx("pearson_delta_pert")], Some(0.0));
        assert!(pp[1].values[idx("pearson_delta")].is_some());
        for p in &pp[2..] {
            assert!(p.values.iter().all(Option::is_some), "{p:?}");
        }
        // A truth without change leaves the correlation undefined: excluded from the summary, counted.
        let mut flat_truths = truths.clone();
        flat_truths[2] = inst.control_mean.to_vec();
        let r = row(&inst, &predictions, &flat_truths);
        assert_eq!(r.per_perturbation[2].values[idx("pearson_delta")], None);
        let s = &r.metric("pearson_delta").unwrap().overall;
        assert_eq!((s.n, s.n_undefined), (truths.len() - 1, 1));
    }

    #[test]
    fn centroid_accuracy_is_none_with_a_single_test_perturbation() {
        let ds = dataset();
        let mut inst = TaskInstance::build(spec(0), &ds).unwrap();
        inst.split.test.truncate(1);
        inst.test_rows.truncate(1);
        let truths = inst.truth_means();
        let predictions = vec![truths[0].iter().map(|v| v * 1.1 + 0.01).collect::<Vec<f64>>()];
        let r = row(&inst, &predictions, &truths);
        assert_eq!(r.per_perturbation.len(), 1);
        let v = &r.per_perturbation[0].values;
        assert_eq!(v[idx("centroid_accuracy")], None);
        assert!(v[idx("mae")].is_some() && v[idx("pearson_delta")].is_some());
    }

    #[test]
    fn by_subgroup_has_one_entry_per_subgroup_present() {
        let ds = dataset();
        let mut checked_multi = false;
        for seed in 0..4 {
            let inst = TaskInstance::build(spec(seed), &ds).unwrap();
            let truths = inst.truth_means();
            let predictions: Vec<Vec<f64>> = truths.iter().map(|t| t.iter().map(|v| v * 0.9 + 0.1).collect()).collect();
            let r = row(&inst, &predictions, &truths);
            let present: BTreeSet<Subgroup> = inst.test_conditions().iter().map(|t| t.subgroup).collect();
            checked_multi |= present.len() >= 3;
            for m in &r.metrics {
                let groups: Vec<Subgroup> = m.by_subgroup.iter().map(|(g, _)| *g).collect();
                assert_eq!(groups, present.iter().copied().collect::<Vec<_>>(), "seed {seed} {}", m.metric);
                for (g, interval) in &m.by_subgroup {
                    let members: Vec<f64> = r
                        .per_perturbation
                        .iter()
                        .filter(|p| p.subgroup == *g)
                        .map(|p| p.values[idx(&m.metric)].unwrap_or(f64::NAN))
                        .collect();
                    assert_eq!(interval.n + interval.n_undefined, members.len(), "seed {seed} {g:?}");
                    let finite: Vec<f64> = members.iter().copied().filter(|v| v.is_finite()).collect();
                    if !finite.is_empty() {
                        let mean = finite.iter().sum::<f64>() / finite.len() as f64;
                        assert!((interval.mean - mean).abs() < 1e-9, "seed {seed} {g:?} {}", m.metric);
                    }
                }
                assert_eq!(m.overall.n + m.overall.n_undefined, inst.test_conditions().len());
            }
        }
        assert!(checked_multi, "no seed produced three subgroups");
    }

    #[test]
    fn primary_metric_is_the_specs_first() {
        let ds = dataset();
        let inst = TaskInstance::build(spec(0), &ds).unwrap();
        assert_eq!(primary_metric(&inst), Metric::CentroidAccuracy);
    }
}
