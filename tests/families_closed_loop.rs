//! The closed-loop family end to end, on small settings: the oracle screen finds every hit it can,
//! random screening lands at its hypergeometric expectation, the loop hands every measured pick
//! back to the model before the next round, and `arena eval` runs the task (baselines, probes,
//! the ceiling) deterministically; the Norman replay runs on the real doubles.

mod common;

use std::sync::Mutex;

use arena_data::Registry;
use arena_eval::families::{self, closed_loop};
use arena_sim::load::{LoadOptions, load_dataset};
use ndarray::Array2;
use tasks::scorecard::BootstrapSettings;
use tasks::spec::parse_spec;
use tasks::{AdaptationSet, Dataset, Model, ModelKind, QueryBatch, TaskError, TaskInstance, find_spec};

fn load(key: &str) -> Dataset {
    let registry = Registry::embedded().unwrap();
    let options = LoadOptions { data_dir: Some(common::data_dir()), ..LoadOptions::default() };
    load_dataset(key, &registry, &options).unwrap_or_else(|e| panic!("loading {key}: {e}")).dataset
}

/// The sim-closed-loop spec with test-sized settings: 3 rounds of 8, 16 cells behind each truth,
/// 4 measured cells per pick, 8 start cells.
const SMALL: &str = "\
id = \"sim-closed-loop-small\"\ntask = \"closed-loop\"\nversion = 1\ndataset = \"simulator\"\nseed = 0\n\
title = \"t\"\ndescription = \"t\"\n\
metrics = [\"discovery_auc\", \"enrichment_vs_random\", \"enrichment_vs_baseline\", \"recall_r1\", \"recall_r2\", \"recall_r3\"]\n\
baselines = [\"additive\", \"perturbed-mean\"]\nmax_start_cells = 8\n\n[split]\nrule = \"closed-loop\"\n\
train_gene_fraction = 0.5\ncontrol_test_fraction = 0.5\nrounds = 3\nbatch = 8\nhit_fraction = 0.05\n\
guide_baseline = \"additive\"\ntruth_cells = 16\nmeasured_cells = 4\n";

fn options() -> arena_eval::EvalOptions {
    arena_eval::EvalOptions {
        bootstrap: BootstrapSettings { resamples: 100, level: 0.95, seed: 0 },
        ..Default::default()
    }
}

fn mean(row: &tasks::scorecard::ScoreRow, m: &str) -> f64 {
    row.metric(m).unwrap_or_else(|| panic!("no {m}")).overall.mean
}

#[test]
fn the_oracle_finds_every_hit_and_random_screening_lands_at_its_expectation() {
    let ds = load("simulator");
    let instance = TaskInstance::build(parse_spec("small.toml", SMALL).unwrap(), &ds).unwrap();
    let lib = closed_loop::library(&instance).unwrap();
    let (n, h, d) = (lib.candidates.len(), lib.hits.len(), lib.design);
    // 40 genes: 40 singles and 780 doubles, less the training conditions (20 singles, and the
    // dataset's doubles among the training genes).
    assert!(n > 750 && n < 800, "{n} candidates");
    assert_eq!(h, (n as f64 * 0.05).round() as usize);
    assert!(lib.hits.contains(&lib.goal), "the goal candidate is a hit");
    let trained: Vec<&tasks::Perturbation> = instance.split.train.iter().map(|&c| ds.condition(c)).collect();
    assert!(lib.candidates.iter().all(|c| !trained.contains(&c)), "no training condition is screened");

    // The ceiling: the oracle screen finds min(H, B·R) hits, as early as possible.
    let ceiling = closed_loop::ceiling(&instance, &options().bootstrap).unwrap();
    let best = h.min(d.batch * d.rounds) as f64 / h as f64;
    assert_eq!(mean(&ceiling, "recall_r3"), best);
    assert_eq!(mean(&ceiling, "recall_r1"), (d.batch.min(h) as f64) / h as f64);
    assert_eq!(mean(&ceiling, "discovery_auc"), 1.0);
    assert_eq!(ceiling.per_perturbation.len(), h);

    // With B·R ≥ H (the embedded task: 5 rounds of 10 for 5% of ~800) it finds every hit.
    let full = TaskInstance::build(find_spec("sim-closed-loop", None).unwrap(), &ds).unwrap();
    let full_lib = closed_loop::library(&full).unwrap();
    assert!(full_lib.hits.len() <= 50, "{} hits", full_lib.hits.len());
    let full_ceiling = closed_loop::ceiling(&full, &options().bootstrap).unwrap();
    assert_eq!(mean(&full_ceiling, "recall_r5"), 1.0, "the oracle finds every hit");
    let lib = closed_loop::library(&instance).unwrap();

    // Random screening over 400 seeds: hits after the last round average P·H/N (hypergeometric),
    // within 3 standard errors of the hypergeometric variance.
    let picks = (d.batch * d.rounds) as f64;
    let (nf, hf) = (n as f64, h as f64);
    let expected = picks * hf / nf;
    let variance = picks * hf / nf * (1.0 - hf / nf) * (nf - picks) / (nf - 1.0);
    let seeds = 400;
    let hits: Vec<f64> = (0..seeds)
        .map(|seed| {
            let screen = closed_loop::screen::fixed_screen(&lib, &closed_loop::screen::random_order(&lib, seed));
            screen.found(&lib).iter().filter(|f| f.is_some()).count() as f64
        })
        .collect();
    let observed = hits.iter().sum::<f64>() / seeds as f64;
    let se = (variance / seeds as f64).sqrt();
    assert!((observed - expected).abs() < 3.0 * se, "random: {observed} hits, expected {expected} (se {se})");
    // ... so its enrichment over random averages 1.
    assert!((observed / expected - 1.0).abs() < 3.0 * se / expected);
}

/// Predicts the control mean for everything and records each adaptation set it is handed.
struct Spy {
    control: Vec<f32>,
    sets: Mutex<Vec<Vec<(String, usize)>>>,
}

impl Model for Spy {
    fn name(&self) -> &str {
        "spy"
    }
    fn kind(&self) -> ModelKind {
        ModelKind::Reference
    }
    fn fingerprint(&self) -> String {
        "spy".into()
    }
    fn predict(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError> {
        let row = ndarray::ArrayView1::from(self.control.as_slice());
        Ok(Array2::from_shape_fn(batch.start.dim(), |(_, g)| row[g]))
    }
    fn adapt(&self, set: &AdaptationSet<'_>) -> Result<Option<Box<dyn Model>>, TaskError> {
        assert_eq!(set.context, closed_loop::screen::CONTEXT);
        let seen = set.examples.iter().map(|e| (e.perturbation.label(), e.cells.nrows())).collect();
        self.sets.lock().unwrap().push(seen);
        Ok(None)
    }
}

#[test]
fn every_round_hands_the_measured_picks_back_to_the_model() {
    let ds = load("simulator");
    let instance = TaskInstance::build(parse_spec("small.toml", SMALL).unwrap(), &ds).unwrap();
    let lib = closed_loop::library(&instance).unwrap();
    let spy = Spy { control: instance.control_mean.iter().map(|&v| v as f32).collect(), sets: Mutex::new(Vec::new()) };
    let screen = closed_loop::screen::model_screen(&instance, &lib, &spy, closed_loop::screen::Rank::Goal).unwrap();
    let sets = spy.sets.lock().unwrap().clone();
    // Rounds 1 and 2 are handed back (round 3 is the last): all picks so far, 4 cells each.
    assert_eq!(sets.len(), 2);
    for (r, set) in sets.iter().enumerate() {
        let picked: Vec<(String, usize)> =
            screen.picks[..=r].iter().flatten().map(|&k| (lib.candidates[k].label(), 4)).collect();
        assert_eq!(set, &picked, "round {}", r + 1);
    }
    let all: std::collections::BTreeSet<usize> = screen.picks.iter().flatten().copied().collect();
    assert_eq!(all.len(), 24, "no candidate is picked twice");
    // The laboratory measures a candidate the same way whatever it is measured beside.
    let alone = lib.measure(&[screen.picks[0][1]]).unwrap();
    let together = lib.measure(&screen.picks[0]).unwrap();
    assert_eq!(alone[0].cells, together[1].cells);
    // Measured cells are fresh draws of the candidate's world: their mean tracks its truth.
    let profile = |cells: &Array2<f32>| cells.mean_axis(ndarray::Axis(0)).unwrap().mapv(f64::from).to_vec();
    let many = lib.measure(&[lib.goal]).unwrap();
    let measured =
        families::inverse_design::without_genes_of(&instance, lib.candidates.iter(), &[profile(&many[0].cells)]);
    let r = metrics::pearson(&measured[0], lib.goal_state());
    assert!(r > 0.9, "measured vs expected profile of the goal: r = {r}");
}

#[test]
fn a_model_guided_screen_beats_random_and_the_eval_rows_are_deterministic() {
    let ds = load("simulator");
    let instance = TaskInstance::build(parse_spec("small.toml", SMALL).unwrap(), &ds).unwrap();
    let lib = closed_loop::library(&instance).unwrap();
    let a = arena_eval::evaluate(&instance, None, "simulator", &options()).unwrap();
    let b = arena_eval::evaluate(&instance, None, "simulator", &options()).unwrap();
    assert_eq!(serde_json::to_string(&a.rows).unwrap(), serde_json::to_string(&b.rows).unwrap());
    assert_eq!(a.audit, b.audit);
    let names: Vec<&str> = a.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["additive", "perturbed-mean", "oracle-screen"]);
    let additive = &a.rows[0];
    // The guided screen is its own baseline.
    assert_eq!(mean(additive, "enrichment_vs_baseline"), 1.0);
    // Additive predictions find hits far above random screening's expectation.
    assert!(mean(additive, "enrichment_vs_random") > 3.0, "{}", mean(additive, "enrichment_vs_random"));
    let audit = a.audit.as_ref().unwrap();
    let probes: Vec<&str> = audit.probes.iter().map(|p| p.probe.as_str()).collect();
    assert_eq!(probes, ["probe: random-screen", "probe: strongest-effects"]);
    let notes = a.notes.join("\n");
    assert!(notes.contains(&format!("{} hits", lib.hits.len())) && notes.contains("hypergeometric"), "{notes}");
    assert!(a.resampling.as_deref().unwrap_or("").contains("over the"), "{:?}", a.resampling);
}

#[test]
fn the_norman_replay_screens_the_held_out_conditions() {
    let ds = load("norman2019-pseudobulk");
    let instance = TaskInstance::build(find_spec("norman2019-closed-loop", None).unwrap(), &ds).unwrap();
    let lib = closed_loop::library(&instance).unwrap();
    assert_eq!(lib.candidates.len(), instance.test_conditions().len());
    let (h, d) = (lib.hits.len(), lib.design);
    assert!(h >= 3, "{h} hits among {}", lib.candidates.len());
    let ceiling = closed_loop::ceiling(&instance, &options().bootstrap).unwrap();
    assert_eq!(mean(&ceiling, "recall_r4"), h.min(d.batch * d.rounds) as f64 / h as f64);
    // The measured profile handed back is the condition's real profile.
    let measured = lib.measure(&[lib.goal]).unwrap();
    assert_eq!(measured[0].cells.nrows(), 1);
    let additive = arena_models::baselines::fit("additive", &instance).unwrap();
    let row = families::score_model(&instance, additive.as_ref(), &options()).unwrap().row;
    assert!(mean(&row, "discovery_auc").is_finite());
}

/// A simulator world of another seed (a leaderboard's hidden world keeps the id `simulator`) is
/// not the world the default configuration simulates: its held-out conditions are replayed.
#[test]
fn a_world_of_another_seed_is_replayed_not_simulated_from_the_default_world() {
    let registry = Registry::embedded().unwrap();
    let hidden =
        arena_sim::load::load_dataset_seeded("simulator", &registry, &LoadOptions::default(), Some(7)).unwrap().dataset;
    assert_eq!(hidden.id, "simulator");
    let instance = TaskInstance::build(parse_spec("small.toml", SMALL).unwrap(), &hidden).unwrap();
    let lib = closed_loop::library(&instance).unwrap();
    let held_out: Vec<String> = instance.test_conditions().iter().map(|t| t.label.clone()).collect();
    assert_eq!(lib.candidates.iter().map(|c| c.label()).collect::<Vec<_>>(), held_out);
    assert_eq!(lib.measure(&[0]).unwrap()[0].cells.nrows(), instance.test_rows[0].len(), "the real cells");
}

#[test]
fn cli_lists_and_runs_sim_closed_loop() {
    let ids = common::run(["tasks", "--ids"]).ok();
    assert!(ids.stdout.lines().any(|l| l == "sim-closed-loop"), "{}", ids.stdout);
    assert!(ids.stdout.lines().any(|l| l == "norman2019-closed-loop"), "{}", ids.stdout);
    let tmp = tempfile::tempdir().unwrap();
    let task = tmp.path().join("small.toml");
    std::fs::write(&task, SMALL).unwrap();
    let out = tmp.path().join("out");
    let args = ["eval", "--task-file", task.to_str().unwrap(), "--bootstrap", "50", "--out", out.to_str().unwrap()];
    let run = common::run(args).ok();
    assert!(run.stdout.contains("discovery_auc"), "{}", run.stdout);
    let card = common::read_scorecard(&out);
    assert_eq!(card["primary_metric"], "discovery_auc");
    let ceiling = common::row(&card, "oracle-screen");
    assert_eq!(common::metric_mean(ceiling, "discovery_auc"), 1.0);
    assert!(card["audit"]["probes"].as_array().unwrap().len() == 2, "{}", card["audit"]);
}
