//! Validation of the noise ceiling and of the CIs on the simulator, where the truth is known
//! (run by `bench/ceiling_oracle.sh` and `bench/ci_coverage.sh`; prints a Markdown table).
//!
//! `ceiling SEEDS CELLS`: for every simulator profile task and simulator seeds 0..SEEDS, the
//! expected profile of each test item (the mean of CELLS fresh cells of the same world after the
//! item's actions, `arena_sim::oracle`) is scored against the test cells like a model, beside the
//! ceiling's estimate and the old split-half value; the table gives their means and sds over seeds
//! and the mean difference estimate − oracle with its standard error.
//!
//! `coverage REPLICATES TRUTH_SEEDS`: for every simulator profile task (and
//! `sim-unseen-single@design`, a pool with the task's own regulator share), REPLICATES datasets
//! (simulator seeds 1000..) are scored with the task's baselines; each baseline's overall CI per
//! metric (studentized over units with the controls redrawn, as scorecards report it, and the
//! plain percentile interval over perturbations) is checked against the true value: the mean
//! per-item value over TRUTH_SEEDS further datasets (seeds 5000..), a test set that many times
//! larger.
//!
//! `summary TABLE.md...`: those tables pooled and tested against the 0.93 target (`summary.rs`).
//!
//! `pdiag` and `cdiag`: the diagnostics behind the readings of those tables (pearson_delta's
//! parts in the coverage worlds; the ceiling per test item of one seed).

#[path = "validity_sim/summary.rs"]
mod summary;

use std::collections::BTreeMap;
use std::path::PathBuf;

use arena_eval::ceiling;
use arena_eval::families::profile;
use arena_eval::score::{RowInput, score_row};
use arena_sim::{SimConfig, export::snapshot_dataset, oracle::expected_profile_parts, simulate};
use rayon::prelude::*;
use tasks::scorecard::BootstrapSettings;
use tasks::{ModelKind, TaskInstance, find_spec};

const TASKS: [&str; 4] = ["sim-unseen-single", "sim-unseen-single@design", "sim-combinatorial", "sim-multi-step"];

/// The task spec behind a bench task name: `sim-unseen-single@design` is sim-unseen-single's
/// coverage pool that keeps the task's design ([`pool_config`]).
fn spec_id(task: &str) -> &str {
    task.split('@').next().unwrap_or(task)
}

/// Share of the singles held out in the `@design` pool: 30 of the design's 40, so that subsets
/// up to 20 can be drawn from a pool with the design's regulator share.
const DESIGN_POOL_TEST_FRACTION: f64 = 0.75;

/// The tasks named in `$TASKS` (comma-separated), or all of [`TASKS`].
fn tasks() -> Vec<&'static str> {
    match std::env::var("TASKS") {
        Ok(list) => TASKS.iter().copied().filter(|t| list.split(',').any(|x| x.trim() == *t)).collect(),
        Err(_) => TASKS.to_vec(),
    }
}

fn config(task: &str, seed: u64) -> SimConfig {
    let base = match spec_id(task) {
        "sim-combinatorial" => arena_sim::interactions::interactions_config(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/data/collectri_tf_targets.csv"
        ))),
        "sim-multi-step" => arena_sim::many_sequences::many_sequences_config(),
        _ => SimConfig::default(),
    };
    SimConfig { seed, ..base }
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let f: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    let n = f.len() as f64;
    let m = f.iter().sum::<f64>() / n;
    (m, (f.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt())
}

fn finite_mean(v: &[f64]) -> f64 {
    mean_sd(v).0
}

/// (metric, oracle mean, oracle corrected to infinite cells, estimate mean, split-half mean) of
/// one seed. The oracle is the mean of `cells` fresh cells per item, made of two independent
/// halves; its finite-cell noise adds about c/cells to each metric, so the mean of the two
/// half-oracles' scores (c/(cells/2)) extrapolates it away: corrected = 2·m(all) − m(halves)
/// (Richardson; exact in expectation for mse).
type CeilingRow = (String, f64, f64, f64, f64);

fn ceiling_seed(task: &str, seed: u64, cells: usize) -> Vec<CeilingRow> {
    let config = config(task, seed);
    let dataset = snapshot_dataset(&simulate(&config).expect("simulate")).expect("dataset");
    let instance = TaskInstance::build(find_spec(task, None).expect("spec"), &dataset).expect("instance");
    let actions: Vec<Vec<tasks::Perturbation>> = instance.eval_items().iter().map(|i| i.actions.clone()).collect();
    let halves = expected_profile_parts(&config, &actions, cells / 2, 2).expect("oracle");
    let full: Vec<Vec<f64>> =
        halves[0].iter().zip(&halves[1]).map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x + y) / 2.0).collect()).collect();
    let truths = instance.truth_means();
    let none = BootstrapSettings { resamples: 0, level: 0.95, seed: 0 };
    let input = |predictions, truths| RowInput {
        name: "x".into(),
        kind: ModelKind::Predictions,
        model_sha256: String::new(),
        predictions,
        truths,
    };
    let oracle = score_row(&instance, input(&full, &truths), &none);
    let half_scores = [
        score_row(&instance, input(&halves[0], &truths), &none),
        score_row(&instance, input(&halves[1], &truths), &none),
    ];
    let (half_a, half_b) = ceiling::split_halves(&instance, 0).expect("halves");
    let split_half = score_row(&instance, input(&half_a, &half_b), &none);
    // The ceiling row as scorecards report it: its overall mean covers the headline items, as
    // the oracle's does (on sim-multi-step, the steps after the first).
    let estimate = profile::ceiling(&instance, &none, 0).expect("ceiling");
    estimate
        .metrics
        .iter()
        .filter_map(|e| {
            let name = e.metric.clone();
            let o = oracle.metric(&name)?.overall.mean;
            let h = half_scores.iter().map(|r| r.metric(&name).map(|x| x.overall.mean)).sum::<Option<f64>>()? / 2.0;
            let s = split_half.metric(&name)?.overall.mean;
            Some((name, o, 2.0 * o - h, e.overall.mean, s))
        })
        .collect()
}

fn ceiling_table(seeds: u64, cells: usize) {
    println!(
        "| task | metric | oracle ({cells} cells) | oracle, ∞ cells (extrapolated) | ceiling estimate | estimate − oracle ∞ (± se) | within 2 se | old split-half |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    // The `@design` pool is a coverage world; the ceiling is validated on the tasks themselves.
    for task in tasks().into_iter().filter(|t| !t.contains('@')) {
        let per_seed: Vec<Vec<CeilingRow>> = (0..seeds).into_par_iter().map(|s| ceiling_seed(task, s, cells)).collect();
        let metrics: Vec<String> = per_seed[0].iter().map(|r| r.0.clone()).collect();
        for (k, metric) in metrics.iter().enumerate() {
            let col = |f: fn(&CeilingRow) -> f64| per_seed.iter().map(|r| f(&r[k])).collect::<Vec<f64>>();
            let (o, oc, e, s) = (col(|r| r.1), col(|r| r.2), col(|r| r.3), col(|r| r.4));
            let d: Vec<f64> = oc.iter().zip(&e).map(|(o, e)| e - o).collect();
            let ((om, osd), (cm, csd), (em, esd), (dm, dsd), (sm, ssd)) =
                (mean_sd(&o), mean_sd(&oc), mean_sd(&e), mean_sd(&d), mean_sd(&s));
            let se = dsd / (seeds as f64).sqrt();
            println!(
                "| {task} | {metric} | {om:.4} ± {osd:.4} | {cm:.4} ± {csd:.4} | {em:.4} ± {esd:.4} | {dm:+.4} ± {se:.4} | {} | {sm:.4} ± {ssd:.4} |",
                if dm.abs() <= 2.0 * se { "yes" } else { "no" }
            );
        }
    }
    println!(
        "\n{seeds} simulator seeds (0..{seeds}) per task, split seed 0, ceiling seed 0; oracle = mean of {cells} fresh cells per \
         item (two independent halves of {}); its finite-cell noise is extrapolated away as 2·score({cells} cells) − \
         mean score of the halves; values are means over seeds ± sd across seeds; se = sd of the per-seed difference / √{seeds}.",
        cells / 2
    );
}

/// One task's fixed world with a large pool of test perturbations: the task's simulator profile
/// at seed [`WORLD_SEED`] (network, kinetics) with more conditions ([`pool_config`]), split by the
/// task's spec; every baseline fitted once on the world's own dataset (cells of the master seed)
/// and its predicted means held fixed; μ_ctrl of the population (the mean of the training
/// controls of [`POPULATION_CONTROL_DRAWS`] fresh-cell datasets).
struct PoolWorld {
    config: SimConfig,
    predictions: Vec<(String, Vec<Vec<f64>>)>,
    population_control: ndarray::Array1<f64>,
    /// μ_pert of the world's own dataset, the training data the predictions were fitted on:
    /// scorecards hold μ_pert fixed (their intervals are conditional on it), so every replicate
    /// and truth run scores pearson_delta_pert against this one.
    perturbed_mean: ndarray::Array1<f64>,
    pool_units: usize,
}

/// The world of the coverage bench (fixed before any coverage was looked at).
const WORLD_SEED: u64 = 0;
const POPULATION_CONTROL_DRAWS: u64 = 20;

/// The task's simulator profile with a larger design, so that its test split is a pool to draw
/// test perturbations from (the network and kinetics do not depend on the design).
fn pool_config(task: &str) -> SimConfig {
    let base = config(task, WORLD_SEED);
    match task {
        "sim-combinatorial" => SimConfig { n_doubles: 240, ..base },
        "sim-multi-step" => SimConfig { n_sequences: 240, ..base },
        // The task's own design (every regulator and as many other genes: half the singles
        // regulate), with a larger share held out ([`instance_of`]).
        "sim-unseen-single@design" => base,
        _ => SimConfig { n_single_targets: base.n_genes, ..base },
    }
}

fn instance_of<'d>(task: &str, dataset: &'d tasks::Dataset) -> TaskInstance<'d> {
    let mut spec = find_spec(spec_id(task), None).expect("spec");
    if let (true, tasks::SplitRule::UnseenSingle { test_fraction, .. }) =
        (task.ends_with("@design"), &mut spec.spec.split)
    {
        *test_fraction = DESIGN_POOL_TEST_FRACTION;
    }
    TaskInstance::build(spec, dataset).expect("instance")
}

fn fresh(world_config: &SimConfig, cell_seed: u64) -> tasks::Dataset {
    let config = SimConfig { cell_seed: Some(cell_seed), ..world_config.clone() };
    snapshot_dataset(&simulate(&config).expect("simulate")).expect("dataset")
}

fn pool_world(task: &str) -> PoolWorld {
    let config = pool_config(task);
    let dataset = snapshot_dataset(&simulate(&config).expect("simulate")).expect("dataset");
    let instance = instance_of(task, &dataset);
    let predictions = instance
        .spec
        .spec
        .baselines
        .iter()
        .map(|name| {
            let model = arena_models::baselines::fit(name, &instance).expect("baseline");
            (name.clone(), arena_eval::predict::predict_means(&instance, model.as_ref()).expect("predict").means)
        })
        .collect();
    let (_, units) = headline_units(&instance);
    let controls: Vec<ndarray::Array1<f64>> = (0..POPULATION_CONTROL_DRAWS)
        .into_par_iter()
        .map(|k| instance_of(task, &fresh(&config, CONTROL_CELL_SEEDS + k)).control_mean.clone())
        .collect();
    let population_control =
        controls.iter().fold(ndarray::Array1::zeros(controls[0].len()), |a, c| a + c) / controls.len() as f64;
    let perturbed_mean = instance.perturbed_mean.clone();
    PoolWorld { config, predictions, population_control, perturbed_mean, pool_units: units.len() }
}

/// The headline items and their resampling units (items of each unit, units in order).
fn headline_units(instance: &TaskInstance<'_>) -> (Vec<usize>, Vec<Vec<usize>>) {
    let items = instance.eval_items();
    let headline: Vec<usize> = (0..items.len()).filter(|&i| items[i].subgroup.in_headline()).collect();
    let headline = if headline.is_empty() { (0..items.len()).collect() } else { headline };
    let all_units = tasks::resampling_units(items.iter().map(|i| i.subgroup));
    let units = metrics::bootstrap::unit_members(&headline.iter().map(|&i| all_units[i]).collect::<Vec<_>>());
    let units = units.into_iter().map(|u| u.into_iter().map(|j| headline[j]).collect()).collect();
    (headline, units)
}

/// A baseline's scores on `instance` without intervals.
fn baseline_row(
    instance: &TaskInstance<'_>,
    name: &str,
    predictions: &[Vec<f64>],
    truths: &[Vec<f64>],
) -> tasks::scorecard::ScoreRow {
    let input = RowInput {
        name: name.to_string(),
        kind: ModelKind::Baseline,
        model_sha256: String::new(),
        predictions,
        truths,
    };
    score_row(instance, input, &BootstrapSettings { resamples: 0, level: 0.95, seed: 0 })
}

/// Per (baseline, metric, n units) of one replicate: the mean over the drawn items and its CIs by
/// method (`METHODS` order).
type Scored = BTreeMap<(String, String, usize), (f64, Vec<(f64, f64)>)>;

const METHODS: [&str; 5] = [
    "Student t, metric's scale",
    "bootstrap-t, metric's scale",
    "bootstrap-t, raw scale (previous)",
    "BCa",
    "percentile",
];

/// Test units drawn per replicate.
const SUBSETS: [usize; 4] = [5, 8, 12, 20];

/// Replicate `r` of `world`: a dataset with every cell fresh (cell seed `cell_seed`: new test
/// cells, new training controls behind μ_ctrl); for every n of [`SUBSETS`], n test units drawn at
/// random (seeded, without replacement) from the pool and the fixed predictions' CIs over them,
/// by every method. With `resamples` = 0 (a truth run) it instead gives every metric's mean over
/// the whole pool, pearson_delta taken against the population μ_ctrl.
fn score_replicate(task: &str, world: &PoolWorld, cell_seed: u64, resamples: usize) -> Scored {
    let dataset = fresh(&world.config, cell_seed);
    let mut instance = instance_of(task, &dataset);
    instance.perturbed_mean = world.perturbed_mean.clone();
    let truth_run = resamples == 0;
    if truth_run {
        instance.control_mean = world.population_control.clone();
    }
    let bootstrap = BootstrapSettings { resamples, level: 0.95, seed: cell_seed };
    let truths = instance.truth_means();
    let perturbed = instance.perturbed_gene_indices();
    let controls = arena_eval::score::ControlReplicates::new(&instance, &bootstrap);
    let (headline, pool) = headline_units(&instance);
    let mut rng = metrics::rng::seeded(cell_seed ^ 0x5EED);
    let mut order: Vec<usize> = (0..pool.len()).collect();
    metrics::rng::shuffle(&mut order, &mut rng);
    let mut out = Scored::new();
    for (name, predictions) in &world.predictions {
        let row = baseline_row(&instance, name, predictions, &truths);
        let redraws = controls.as_ref().map(|c| c.pearson_delta(predictions, &truths, &perturbed));
        let shared = controls.as_ref().map(|c| c.corrected_pearson_delta(predictions, &truths, &perturbed));
        for (k, m) in row.metrics.iter().enumerate() {
            let column: Vec<f64> = row.per_perturbation.iter().map(|p| p.values[k].unwrap_or(f64::NAN)).collect();
            if truth_run {
                out.insert(
                    (name.clone(), m.metric.clone(), 0),
                    (finite_mean(&headline.iter().map(|&i| column[i]).collect::<Vec<_>>()), vec![]),
                );
                continue;
            }
            let bounds = metrics::Bounds::of_metric(&m.metric);
            for n in SUBSETS.iter().copied().filter(|&n| n < pool.len()) {
                let (chosen, units): (Vec<usize>, Vec<usize>) =
                    order[..n].iter().enumerate().flat_map(|(u, &p)| pool[p].iter().map(move |&i| (i, u))).unzip();
                let values: Vec<f64> = chosen.iter().map(|&i| column[i]).collect();
                let replicate = |b: usize| -> Vec<f64> {
                    let r = redraws.as_ref().map(|r| &r[b % r.len()]);
                    chosen.iter().map(|&i| r.map_or(column[i], |r| r[i])).collect()
                };
                let replicate: Option<metrics::bootstrap::ReplicateValues<'_>> =
                    (m.metric == "pearson_delta" && redraws.is_some()).then_some(&replicate as _);
                let (b, seed) = (resamples, bootstrap.seed);
                let t = metrics::studentized_ci_with(&values, &units, b, 0.95, seed, bounds, replicate);
                let raw =
                    metrics::studentized_ci_with(&values, &units, b, 0.95, seed, metrics::Bounds::Unbounded, replicate);
                let bca = metrics::bca_ci_with(&values, &units, b, 0.95, seed, replicate);
                let pct = metrics::percentile_ci_with(&values, &units, b, 0.95, seed, replicate);
                // What scorecards report: for pearson_delta the shared-reference interval.
                let st = match (&shared, m.metric == "pearson_delta") {
                    (Some(shared), true) => {
                        let corrected: Vec<f64> = chosen.iter().map(|&i| shared.corrected[i]).collect();
                        let redraw_means: Vec<f64> = shared
                            .redraws
                            .iter()
                            .map(|r| finite_mean(&chosen.iter().map(|&i| r[i]).collect::<Vec<_>>()))
                            .collect();
                        metrics::t_interval_shared_reference(&values, &corrected, &units, 0.95, bounds, &redraw_means)
                    }
                    _ => metrics::scorecard_ci(&values, &units, b, 0.95, seed, bounds, None),
                };
                let cis = vec![
                    (st.lower, st.upper),
                    (t.lower, t.upper),
                    (raw.lower, raw.upper),
                    (bca.lower, bca.upper),
                    (pct.lower, pct.upper),
                ];
                out.insert((name.clone(), m.metric.clone(), n), (t.mean, cis));
            }
        }
    }
    out
}

fn coverage_table(replicates: u64, truth_replicates: u64, resamples: usize, first: u64) {
    print!("| task | n units (pool) | baseline | metric | true value |");
    for m in METHODS {
        print!(" coverage, {m} |");
    }
    println!(" mean width, Student t | out of range, raw scale | {COVERED_COLUMN} |");
    println!("|---|---|---|---|---|{}---|---|---|", "---|".repeat(METHODS.len()));
    for task in tasks() {
        let world = pool_world(task);
        let truth_runs: Vec<Scored> = (0..truth_replicates)
            .into_par_iter()
            .map(|r| score_replicate(task, &world, TRUTH_CELL_SEEDS + r, 0))
            .collect();
        let reps: Vec<Scored> = (first..first + replicates)
            .into_par_iter()
            .map(|r| score_replicate(task, &world, REPLICATE_CELL_SEEDS + r, resamples))
            .collect();
        for key in reps[0].keys() {
            let truth_key = (key.0.clone(), key.1.clone(), 0);
            let truth = finite_mean(&truth_runs.iter().map(|r| r[&truth_key].0).collect::<Vec<_>>());
            let (lo, hi) = metrics::Bounds::of_metric(&key.1).range();
            let mut covered = vec![(0.0, 0.0); METHODS.len()];
            let (mut width, mut outside) = ((0.0, 0.0), 0);
            for r in &reps {
                let cis = &r[key].1;
                for (c, ci) in covered.iter_mut().zip(cis) {
                    if ci.0.is_finite() && ci.1.is_finite() {
                        *c = (c.0 + f64::from(u8::from(ci.0 <= truth && truth <= ci.1)), c.1 + 1.0);
                    }
                }
                if cis[0].0.is_finite() && cis[0].1.is_finite() {
                    width = (width.0 + cis[0].1 - cis[0].0, width.1 + 1.0);
                }
                outside += usize::from(cis[2].0 < lo || cis[2].1 > hi);
            }
            print!("| {task} | {} ({}) | {} | {} | {truth:.4} |", key.2, world.pool_units, key.0, key.1);
            for &(c, k) in &covered {
                match k > 0.0 {
                    true => print!(" {:.3} |", c / k),
                    false => print!(" – |"),
                }
            }
            println!(" {:.4} | {outside} | {}/{} |", width.0 / width.1, covered[0].0, covered[0].1);
        }
    }
    println!(
        "\n{replicates} replicates per task (cell seeds {REPLICATE_CELL_SEEDS} + {first}..) in one fixed world per task (simulator seed {WORLD_SEED}: network and kinetics of the \
         task's profile, with a larger design so that the test split is a pool of units; n_single_targets = n_genes, \
         n_doubles = 240, n_sequences = 240; sim-unseen-single@design keeps the task's design, 40 singles of which half \
         regulate, and holds out {:.0}% of them). Baselines fitted once on the world's own dataset, predictions and μ_pert (the world's, as scorecards hold it fixed) \
         held fixed. \
         Replicate r: every cell drawn fresh (cell seed {REPLICATE_CELL_SEEDS} + r), n test units drawn at random without \
         replacement from the pool, {resamples} bootstrap resamples, nominal 95% (the control redraws for pearson_delta as \
         in scorecards). True value: the pool's mean over {truth_replicates} further fresh-cell datasets (cell seeds \
         {TRUTH_CELL_SEEDS}..), pearson_delta against the population μ_ctrl (training controls of {POPULATION_CONTROL_DRAWS} \
         fresh datasets), i.e. the expected score of these predictions on a test perturbation drawn from the pool. \
         Drawing n of N without replacement narrows the sampling spread by √((N − n)/(N − 1)), so coverage at n close to \
         N reads high. A coverage's Monte Carlo se is ≈ {:.3} at 0.95. \"out of range, raw scale\": replicates whose \
         previous (raw-scale) interval left the metric's range; \"{COVERED_COLUMN}\": the replicates whose Student t \
         interval covers the true value, out of those with a finite interval (`validity_sim summary` pools these counts).",
        100.0 * DESIGN_POOL_TEST_FRACTION,
        (0.95f64 * 0.05 / replicates as f64).sqrt()
    );
}

/// The last column of the coverage table: the Student t interval's covering replicates out of
/// those with a finite interval, the counts `summary` pools.
const COVERED_COLUMN: &str = "covered, Student t";

const CONTROL_CELL_SEEDS: u64 = 500_000;
const REPLICATE_CELL_SEEDS: u64 = 1_000;
const TRUTH_CELL_SEEDS: u64 = 100_000;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    match args.get(1).map(String::as_str) {
        Some("ceiling") => ceiling_table(arg(2, 20), arg(3, 2000) as usize),
        Some("coverage") => coverage_table(arg(2, 200), arg(3, 200), arg(4, 1000) as usize, arg(5, 0)),
        Some("summary") => summary::summary(&args[2..]),
        Some("pdiag") => pdiag(arg(2, 20)),
        Some("udiag") => udiag(
            args.get(2).map_or("sim-unseen-single", String::as_str),
            args.get(3).map_or("mse", String::as_str),
            arg(4, 20),
        ),
        Some("cdiag") => {
            cdiag(args.get(2).map_or("sim-unseen-single", String::as_str), arg(3, 0), arg(4, 2000) as usize)
        }
        _ => eprintln!(
            "usage: validity_sim ceiling [SEEDS] [CELLS] | coverage [REPLICATES] [TRUTH_REPLICATES] [RESAMPLES] [FIRST] | summary COVERAGE_TABLE.md... | pdiag \
             [REPLICATES] | cdiag [TASK] [SEED] [CELLS] | udiag [TASK] [METRIC] [REPLICATES]"
        ),
    }
}

/// One baseline's pearson_delta parts in one replicate: (scored, population-μ_ctrl value, the
/// same over the whole pool, mean shift over redraws, sd over redraws, standard error over units).
type Parts = (f64, f64, f64, f64, f64, f64);

/// `pdiag REPLICATES`: pearson_delta's parts at n = 20 units of the coverage worlds, raw scale,
/// means over replicates: the truth (against the population μ_ctrl), the scored value's and the
/// population-μ_ctrl value's differences from it, the mean shift of the values against redrawn
/// μ_ctrl, the sd over replicates of (scored − population-μ_ctrl value), the mean sd over
/// redraws, the standard error over units, the sd of the scored value.
fn pdiag(replicates: u64) {
    use metrics::profile::delta_correlation_without;
    println!(
        "| task | baseline | truth | obs − truth | pop − truth | mean shift | sd(obs − pop) | sd over redraws | se items | sd(obs) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for task in tasks() {
        let world = pool_world(task);
        let per_rep: Vec<Vec<Parts>> = (0..replicates)
            .into_par_iter()
            .map(|r| {
                let cell_seed = REPLICATE_CELL_SEEDS + r;
                let dataset = fresh(&world.config, cell_seed);
                let instance = instance_of(task, &dataset);
                let bootstrap = BootstrapSettings { resamples: 200, level: 0.95, seed: cell_seed };
                let truths = instance.truth_means();
                let perturbed = instance.perturbed_gene_indices();
                let controls = arena_eval::score::ControlReplicates::new(&instance, &bootstrap).unwrap();
                let (_, pool) = headline_units(&instance);
                let mut rng = metrics::rng::seeded(cell_seed ^ 0x5EED);
                let mut order: Vec<usize> = (0..pool.len()).collect();
                metrics::rng::shuffle(&mut order, &mut rng);
                let chosen: Vec<usize> = order[..20].iter().flat_map(|&p| pool[p].iter().copied()).collect();
                let all: Vec<usize> = pool.iter().flatten().copied().collect();
                let mu = instance.control_mean.to_vec();
                let pop = world.population_control.to_vec();
                world
                    .predictions
                    .iter()
                    .map(|(_, predictions)| {
                        let pd = |i: usize, m: &[f64]| {
                            delta_correlation_without(&predictions[i], &truths[i], m, &perturbed[i])
                        };
                        let obs: Vec<f64> = chosen.iter().map(|&i| pd(i, &mu)).collect();
                        let popv = finite_mean(&chosen.iter().map(|&i| pd(i, &pop)).collect::<Vec<_>>());
                        let pop_all = finite_mean(&all.iter().map(|&i| pd(i, &pop)).collect::<Vec<_>>());
                        let redraws = controls.pearson_delta(predictions, &truths, &perturbed);
                        let rm: Vec<f64> = redraws
                            .iter()
                            .map(|r| finite_mean(&chosen.iter().map(|&i| r[i]).collect::<Vec<_>>()))
                            .collect();
                        let (o, s) = mean_sd(&obs);
                        let (rmean, rsd) = mean_sd(&rm);
                        (o, popv, pop_all, rmean - o, rsd, s / (obs.len() as f64).sqrt())
                    })
                    .collect()
            })
            .collect();
        for (k, (name, _)) in world.predictions.iter().enumerate() {
            let col = |f: &dyn Fn(&Parts) -> f64| per_rep.iter().map(|r| f(&r[k])).collect::<Vec<_>>();
            let truth = finite_mean(&col(&|x| x.2));
            let obs = mean_sd(&col(&|x| x.0));
            let pop = finite_mean(&col(&|x| x.1));
            let shift = finite_mean(&col(&|x| x.3));
            let d = mean_sd(&col(&|x| x.0 - x.1));
            let rsd = finite_mean(&col(&|x| x.4));
            let se = finite_mean(&col(&|x| x.5));
            println!(
                "| {task} | {name} | {truth:.4} | {:+.4} | {:+.4} | {shift:+.4} | {:.4} | {rsd:.4} | {se:.4} | {:.4} |",
                obs.0 - truth,
                pop - truth,
                d.1,
                obs.1
            );
        }
    }
}

/// `cdiag TASK SEED CELLS`: per test item of one simulator seed, the ceiling's value of every
/// metric that has one beside the expected profile's (CELLS fresh cells) score.
fn cdiag(task: &str, seed: u64, cells: usize) {
    let config = config(task, seed);
    let dataset = snapshot_dataset(&simulate(&config).expect("simulate")).expect("dataset");
    let instance = TaskInstance::build(find_spec(task, None).expect("spec"), &dataset).expect("instance");
    let actions: Vec<Vec<tasks::Perturbation>> = instance.eval_items().iter().map(|i| i.actions.clone()).collect();
    let full = arena_sim::oracle::expected_profiles(&config, &actions, cells).expect("oracle");
    let truths = instance.truth_means();
    let none = BootstrapSettings { resamples: 0, level: 0.95, seed: 0 };
    let input = RowInput {
        name: "x".into(),
        kind: ModelKind::Predictions,
        model_sha256: String::new(),
        predictions: &full,
        truths: &truths,
    };
    let oracle = score_row(&instance, input, &none);
    let wanted = instance.spec.spec.metric_list();
    let estimate = ceiling::profile_ceiling(&instance, &wanted, 0).expect("ceiling");
    for (m, values) in estimate {
        let Ok(values) = values else { continue };
        let k = oracle.metrics.iter().position(|x| x.metric == m.name()).unwrap();
        println!("## {}", m.name());
        let mut headline = Vec::new();
        for (i, item) in instance.eval_items().iter().enumerate() {
            let o = oracle.per_perturbation[i].values[k].unwrap_or(f64::NAN);
            let c = values.values[i];
            println!("{} ({}) n={} ceiling={c:.4} oracle={o:.4}", item.label, item.subgroup.name(), item.rows.len());
            if item.subgroup.in_headline() {
                headline.push(c);
            }
        }
        // Both means over the headline items (all but the first step of a sequence), as scorecards.
        println!("headline mean ceiling={:.4} oracle={:.4}", finite_mean(&headline), oracle.metrics[k].overall.mean);
    }
}

/// `udiag TASK METRIC REPLICATES`: per resampling unit of the coverage world's pool, the metric's
/// mean over REPLICATES fresh-cell datasets, largest first, per baseline; then, for each n of
/// [`SUBSETS`], the chance that n units drawn without replacement miss all of the largest t
/// (hypergeometric), for the t whose units stand out. When a few units carry most of the mean, a
/// draw without them has no sign of them, and no interval built from the draw covers the truth.
fn udiag(task: &str, metric: &str, replicates: u64) {
    let world = pool_world(task);
    let per_rep: Vec<BTreeMap<String, Vec<f64>>> = (0..replicates)
        .into_par_iter()
        .map(|r| {
            let dataset = fresh(&world.config, TRUTH_CELL_SEEDS + r);
            let mut instance = instance_of(task, &dataset);
            instance.control_mean = world.population_control.clone();
            instance.perturbed_mean = world.perturbed_mean.clone();
            let truths = instance.truth_means();
            let (_, units) = headline_units(&instance);
            world
                .predictions
                .iter()
                .map(|(name, predictions)| {
                    let row = baseline_row(&instance, name, predictions, &truths);
                    let k = row.metrics.iter().position(|m| m.metric == metric).expect("metric");
                    let per_unit = units
                        .iter()
                        .map(|u| {
                            finite_mean(
                                &u.iter()
                                    .map(|&i| row.per_perturbation[i].values[k].unwrap_or(f64::NAN))
                                    .collect::<Vec<_>>(),
                            )
                        })
                        .collect();
                    (name.clone(), per_unit)
                })
                .collect()
        })
        .collect();
    // Each unit's first item's label, and whether its target regulates other genes.
    let dataset = fresh(&world.config, TRUTH_CELL_SEEDS);
    let instance = instance_of(task, &dataset);
    let (_, units) = headline_units(&instance);
    let regulators = dataset.regulators.clone().unwrap_or_default();
    let label = |u: usize| {
        let item = &instance.eval_items()[units[u][0]];
        let regulator = item.actions.iter().flat_map(|a| a.genes()).any(|g| regulators.contains(g));
        format!("{}{}", item.label, if regulator { " (regulator)" } else { "" })
    };
    for (name, _) in &world.predictions {
        let n_units = per_rep[0][name].len();
        let mut unit_means: Vec<(usize, f64)> =
            (0..n_units).map(|u| (u, finite_mean(&per_rep.iter().map(|r| r[name][u]).collect::<Vec<_>>()))).collect();
        unit_means.sort_by(|a, b| b.1.total_cmp(&a.1));
        let total: f64 = unit_means.iter().map(|u| u.1).sum();
        let mean = total / n_units as f64;
        let values: Vec<String> = unit_means.iter().map(|u| format!("{:.4}", u.1)).collect();
        println!("{task} {name} {metric}: pool mean {mean:.4}; per unit, largest first: {}", values.join(" "));
        let top: Vec<String> = unit_means.iter().take(6).map(|u| label(u.0)).collect();
        println!("  the 6 largest: {}", top.join(", "));
        let all_regulators = (0..n_units).filter(|&u| label(u).ends_with("(regulator)")).count();
        println!("  regulator targets in the pool: {all_regulators} of {n_units}");
        let mut share = 0.0;
        for (t, u) in unit_means.iter().take(6).enumerate() {
            share += u.1 / total;
            let miss: Vec<String> = SUBSETS
                .iter()
                .map(|&n| {
                    // P(a draw of n of N misses t given units) = C(N − t, n) / C(N, n).
                    let p = (0..n)
                        .map(|i| n_units.saturating_sub(t + 1 + i) as f64 / (n_units - i) as f64)
                        .product::<f64>();
                    format!("n={n}: {p:.3}")
                })
                .collect();
            println!(
                "  the largest {} unit(s) hold {:.0}% of the sum; P(a draw misses them all): {}",
                t + 1,
                100.0 * share,
                miss.join(", ")
            );
        }
    }
}
