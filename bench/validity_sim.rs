//! Validation of the noise ceiling and of the CIs on the simulator, where the truth is known
//! (run by `bench/ceiling_oracle.sh` and `bench/ci_coverage.sh`; prints a Markdown table).
//!
//! `ceiling SEEDS CELLS`: for every simulator profile task and simulator seeds 0..SEEDS, the
//! expected profile of each test item (the mean of CELLS fresh cells of the same world after the
//! item's actions, `arena::simulator::oracle`) is scored against the test cells like a model, beside the
//! ceiling's estimate and the old split-half value; the table gives their means and sds over seeds
//! and the mean difference estimate − oracle with its standard error.
//!
//! `coverage REPLICATES TRUTH_SEEDS`: for every simulator profile task, REPLICATES datasets
//! (simulator seeds 1000..) are scored with the task's baselines; each baseline's overall CI per
//! metric (studentized over units with the controls redrawn, as scorecards report it, and the
//! plain percentile interval over perturbations) is checked against the true value: the mean
//! per-item value over TRUTH_SEEDS further datasets (seeds 5000..), a test set that many times
//! larger.

use std::collections::BTreeMap;
use std::path::PathBuf;

use arena::eval::score::{RowInput, score_row};
use arena::eval::{ceiling, families};
use arena::simulator::{SimConfig, export::snapshot_dataset, oracle::expected_profiles, simulate};
use rayon::prelude::*;
use tasks::scorecard::BootstrapSettings;
use tasks::{ModelKind, TaskInstance, find_spec};

const TASKS: [&str; 3] = ["sim-unseen-single", "sim-combinatorial", "sim-multi-step"];

/// The tasks named in `$TASKS` (comma-separated), or all of [`TASKS`].
fn tasks() -> Vec<&'static str> {
    match std::env::var("TASKS") {
        Ok(list) => TASKS.iter().copied().filter(|t| list.split(',').any(|x| x.trim() == *t)).collect(),
        Err(_) => TASKS.to_vec(),
    }
}

fn config(task: &str, seed: u64) -> SimConfig {
    let base = match task {
        "sim-combinatorial" => arena::simulator::interactions::interactions_config(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/data/collectri_tf_targets.csv"
        ))),
        "sim-multi-step" => arena::simulator::many_sequences::many_sequences_config(),
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

/// (metric, oracle mean, estimate mean, split-half mean) of one seed.
fn ceiling_seed(task: &str, seed: u64, cells: usize) -> Vec<(String, f64, f64, f64)> {
    let config = config(task, seed);
    let dataset = snapshot_dataset(&simulate(&config).expect("simulate")).expect("dataset");
    let instance = TaskInstance::build(find_spec(task, None).expect("spec"), &dataset).expect("instance");
    let actions: Vec<Vec<tasks::Perturbation>> = instance.eval_items().iter().map(|i| i.actions.clone()).collect();
    let predictions = expected_profiles(&config, &actions, cells).expect("oracle");
    let truths = instance.truth_means();
    let none = BootstrapSettings { resamples: 0, level: 0.95, seed: 0 };
    let input = |predictions, truths| RowInput {
        name: "x".into(),
        kind: ModelKind::Predictions,
        model_sha256: String::new(),
        predictions,
        truths,
    };
    let oracle = score_row(&instance, input(&predictions, &truths), &none);
    let (half_a, half_b) = ceiling::split_halves(&instance, 0).expect("halves");
    let split_half = score_row(&instance, input(&half_a, &half_b), &none);
    let wanted = instance.spec.spec.metric_list();
    let estimate = ceiling::profile_ceiling(&instance, &wanted, 0).expect("ceiling");
    estimate
        .into_iter()
        .filter_map(|(m, values)| {
            let values = values.ok()?;
            let name = m.name().to_string();
            let o = oracle.metric(&name)?.overall.mean;
            let s = split_half.metric(&name)?.overall.mean;
            Some((name, o, finite_mean(&values.values), s))
        })
        .collect()
}

fn ceiling_table(seeds: u64, cells: usize) {
    println!(
        "| task | metric | oracle (expected profile) | ceiling estimate | estimate − oracle (± se) | within 2 se | old split-half |"
    );
    println!("|---|---|---|---|---|---|---|");
    for task in tasks() {
        let per_seed: Vec<Vec<(String, f64, f64, f64)>> =
            (0..seeds).into_par_iter().map(|s| ceiling_seed(task, s, cells)).collect();
        let metrics: Vec<String> = per_seed[0].iter().map(|r| r.0.clone()).collect();
        for (k, metric) in metrics.iter().enumerate() {
            let col = |f: fn(&(String, f64, f64, f64)) -> f64| per_seed.iter().map(|r| f(&r[k])).collect::<Vec<f64>>();
            let (o, e, s) = (col(|r| r.1), col(|r| r.2), col(|r| r.3));
            let d: Vec<f64> = o.iter().zip(&e).map(|(o, e)| e - o).collect();
            let ((om, osd), (em, esd), (dm, dsd), (sm, ssd)) = (mean_sd(&o), mean_sd(&e), mean_sd(&d), mean_sd(&s));
            let se = dsd / (seeds as f64).sqrt();
            println!(
                "| {task} | {metric} | {om:.4} ± {osd:.4} | {em:.4} ± {esd:.4} | {dm:+.4} ± {se:.4} | {} | {sm:.4} ± {ssd:.4} |",
                if dm.abs() <= 2.0 * se { "yes" } else { "no" }
            );
        }
    }
    println!(
        "\n{seeds} simulator seeds (0..{seeds}) per task, split seed 0, ceiling seed 0; oracle = mean of {cells} fresh cells per item \
         (its own sampling noise adds about n/{cells} of the test cells' variance to its squared error); \
         values are means over seeds ± sd across seeds."
    );
}

/// Per baseline and metric of one replicate: (mean, studentized CI, percentile CI, per-item values).
type Scored = BTreeMap<(String, String), (f64, (f64, f64), (f64, f64), Vec<f64>)>;

fn score_replicate(task: &str, seed: u64, resamples: usize) -> Scored {
    let config = config(task, seed);
    let dataset = snapshot_dataset(&simulate(&config).expect("simulate")).expect("dataset");
    let instance = TaskInstance::build(find_spec(task, None).expect("spec"), &dataset).expect("instance");
    let options = arena::eval::EvalOptions {
        bootstrap: BootstrapSettings { resamples, level: 0.95, seed },
        ..Default::default()
    };
    let mut out = Scored::new();
    for name in &instance.spec.spec.baselines {
        let model = arena::baselines::fit(name, &instance).expect("baseline");
        let row = families::score_model(&instance, model.as_ref(), &options).expect("score").row;
        for (k, m) in row.metrics.iter().enumerate() {
            let values: Vec<f64> = row.per_perturbation.iter().map(|p| p.values[k].unwrap_or(f64::NAN)).collect();
            let p = metrics::bootstrap_mean_ci(&values, resamples, 0.95, seed);
            out.insert(
                (name.clone(), m.metric.clone()),
                (m.overall.mean, (m.overall.lower, m.overall.upper), (p.lower, p.upper), values),
            );
        }
    }
    out
}

fn coverage_table(replicates: u64, truth_seeds: u64, resamples: usize) {
    println!(
        "| task | n units | baseline | metric | true value | coverage, studentized (scorecards) | coverage, percentile | mean width, studentized |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for task in tasks() {
        let truth_runs: Vec<Scored> =
            (0..truth_seeds).into_par_iter().map(|s| score_replicate(task, 5000 + s, 0)).collect();
        let reps: Vec<Scored> =
            (0..replicates).into_par_iter().map(|s| score_replicate(task, 1000 + s, resamples)).collect();
        let units = {
            let dataset = snapshot_dataset(&simulate(&config(task, 1000)).expect("simulate")).expect("dataset");
            let instance = TaskInstance::build(find_spec(task, None).expect("spec"), &dataset).expect("instance");
            let items = instance.eval_items();
            tasks::resampling_units(items.iter().map(|i| i.subgroup)).into_iter().max().map_or(0, |m| m + 1)
        };
        for key in reps[0].keys() {
            let pooled: Vec<f64> = truth_runs.iter().flat_map(|r| r[key].3.clone()).collect();
            let truth = finite_mean(&pooled);
            let (mut cov_t, mut cov_p, mut width, mut n) = (0.0, 0.0, 0.0, 0.0);
            for r in &reps {
                let (_, t, p, _) = &r[key];
                if !(t.0.is_finite() && t.1.is_finite()) {
                    continue;
                }
                n += 1.0;
                cov_t += f64::from(u8::from(t.0 <= truth && truth <= t.1));
                cov_p += f64::from(u8::from(p.0 <= truth && truth <= p.1));
                width += t.1 - t.0;
            }
            println!(
                "| {task} | {units} | {} | {} | {truth:.4} | {:.3} | {:.3} | {:.4} |",
                key.0,
                key.1,
                cov_t / n,
                cov_p / n,
                width / n
            );
        }
    }
    println!(
        "\n{replicates} replicate datasets per task (simulator seeds 1000..{}), {resamples} bootstrap resamples each, nominal 95%; \
         true value = mean per-item value over {truth_seeds} independent datasets (seeds 5000..{}). A coverage is the fraction \
         of replicates whose CI contains the true value (its Monte Carlo se is about {:.3} at 0.95).",
        1000 + replicates,
        5000 + truth_seeds,
        (0.95f64 * 0.05 / replicates as f64).sqrt()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    match args.get(1).map(String::as_str) {
        Some("ceiling") => ceiling_table(arg(2, 20), arg(3, 2000) as usize),
        Some("coverage") => coverage_table(arg(2, 200), arg(3, 40), arg(4, 1000) as usize),
        _ => eprintln!("usage: validity_sim ceiling [SEEDS] [CELLS] | coverage [REPLICATES] [TRUTH_SEEDS] [RESAMPLES]"),
    }
}
