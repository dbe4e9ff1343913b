//! Few-shot / new context (sim-few-shot): the split never lets a scored
//! perturbation or a new-context cell into training or into the shots, the shot sets are nested
//! and seeded, a model's `adapt` hook receives exactly the k shots, and the curve over k moves
//! only for a model that uses them.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use arena_data::Registry;
use arena_eval::{EvalOptions, evaluate};
use arena_sim::load::{LoadOptions, load_dataset};
use ndarray::Array2;
use tasks::scorecard::{BootstrapSettings, ScoreRow};
use tasks::splits::few_shot::{SHOTS, adaptation_set, adapted_instance};
use tasks::{AdaptationSet, Dataset, Model, ModelKind, QueryBatch, TaskError, TaskInstance, find_spec};

fn options() -> EvalOptions {
    EvalOptions { bootstrap: BootstrapSettings { resamples: 100, level: 0.95, seed: 0 }, ..EvalOptions::default() }
}

fn two_contexts() -> Dataset {
    let options = LoadOptions { data_dir: Some(common::data_dir()), ..LoadOptions::default() };
    load_dataset("simulator-two-contexts", &Registry::embedded().unwrap(), &options).unwrap().dataset
}

fn spec(seed: u64) -> tasks::LoadedSpec {
    let mut s = find_spec("sim-few-shot", None).unwrap();
    s.spec.seed = seed;
    s
}

fn mean(row: &ScoreRow, metric: &str) -> f64 {
    row.metric(metric).unwrap_or_else(|| panic!("{}: no {metric}", row.name)).overall.mean
}

#[test]
fn shots_are_nested_seeded_and_never_test_items_and_new_context_cells_never_train() {
    let dataset = two_contexts();
    let ctx = dataset.context.as_ref().unwrap();
    let mut pools = BTreeSet::new();
    for seed in 0..3 {
        let instance = TaskInstance::build(spec(seed), &dataset).unwrap();
        let split = instance.split.context.as_ref().unwrap();
        let test: BTreeSet<String> = instance.test_conditions().iter().map(|t| t.label.clone()).collect();
        assert_eq!(test.len(), 20, "half of B's 40 singles are scored");
        let mut previous: Vec<String> = Vec::new();
        for k in SHOTS {
            let set = adaptation_set(&instance, k).unwrap();
            let shots: Vec<String> = set.examples.iter().map(|e| e.perturbation.label()).collect();
            assert_eq!(shots.len(), k);
            assert!(shots.iter().all(|s| !test.contains(s)), "seed {seed}: a shot is a test item");
            assert_eq!(&shots[..previous.len()], previous.as_slice(), "seed {seed}: shot sets must be nested");
            for e in &set.examples {
                let n = ctx.perturbations.iter().filter(|p| **p == e.perturbation).count();
                assert_eq!(e.cells.nrows(), n, "all of the shot's new-context cells");
            }
            assert_eq!(set.controls.nrows(), split.control_adapt_rows.len());
            previous = shots;
        }
        pools.insert(previous);
        // Scored cells and start cells are the new context's; adaptation and start controls disjoint.
        let start: BTreeSet<usize> = instance.start_rows.iter().copied().collect();
        assert!(start.iter().all(|r| split.control_test_rows.contains(r)));
        assert!(split.control_adapt_rows.iter().all(|r| !start.contains(r)));
        for (t, rows) in instance.test_conditions().iter().zip(&instance.test_rows) {
            assert!(!rows.is_empty() && rows.iter().all(|&r| ctx.perturbations[r].label() == t.label));
        }
        assert_eq!(
            serde_json::to_vec(&TaskInstance::build(spec(seed), &dataset).unwrap().split_record()).unwrap(),
            serde_json::to_vec(&instance.split_record()).unwrap()
        );
        // The pooled view the baselines refit on: A's effects, then exactly the k shots' B means.
        for k in SHOTS {
            let pooled = adapted_instance(&instance, k).unwrap();
            let added: Vec<String> =
                pooled.train_means[instance.train_means.len()..].iter().map(|(p, _)| p.label()).collect();
            let shots: Vec<String> =
                adaptation_set(&instance, k).unwrap().examples.iter().map(|e| e.perturbation.label()).collect();
            assert_eq!(added, shots, "seed {seed} k {k}");
        }
    }
    assert!(pools.len() > 1, "the seed must choose the shots");
}

/// Predicts the true held-out means of the new context once it has seen at least 5 shots, and no
/// change before: its curve must jump between k = 1 and k = 5.
struct LearnsFromShots {
    shots: usize,
    truth: BTreeMap<String, Vec<f64>>,
    control: Vec<f64>,
}

impl Model for LearnsFromShots {
    fn name(&self) -> &str {
        "learns-from-shots"
    }
    fn kind(&self) -> ModelKind {
        ModelKind::Reference
    }
    fn fingerprint(&self) -> String {
        format!("learns-from-shots/{}", self.shots)
    }
    fn predict(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError> {
        let mut out = batch.start.to_owned();
        if self.shots >= 5 {
            for (mut row, p) in out.rows_mut().into_iter().zip(batch.perturbations) {
                let target = &self.truth[&p.label()];
                row.iter_mut().zip(target.iter().zip(&self.control)).for_each(|(x, (t, c))| *x += (t - c) as f32);
            }
        }
        Ok(out)
    }
    fn adapt(&self, set: &AdaptationSet<'_>) -> Result<Option<Box<dyn Model>>, TaskError> {
        assert_eq!(set.context, "B");
        let n = set.controls.nrows() as f64;
        let control =
            (0..set.controls.ncols()).map(|g| set.controls.column(g).iter().map(|&v| f64::from(v)).sum::<f64>() / n);
        Ok(Some(Box::new(LearnsFromShots {
            shots: set.examples.len(),
            truth: self.truth.clone(),
            control: control.collect(),
        })))
    }
}

#[test]
fn the_curve_over_k_moves_only_for_a_model_that_adapts_and_baselines_run() {
    let dataset = two_contexts();
    let instance = TaskInstance::build(spec(0), &dataset).unwrap();
    let truth: BTreeMap<String, Vec<f64>> =
        instance.eval_items().iter().map(|i| i.label.clone()).zip(instance.truth_means()).collect();
    let model = LearnsFromShots { shots: 0, truth, control: Vec::new() };
    let card = evaluate(&instance, Some(&model), "test", &options()).unwrap();
    let names: Vec<&str> = card.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "learns-from-shots",
            "control-mean",
            "perturbed-mean",
            "additive",
            "linear",
            "ridge",
            "control-mean+target",
            "perturbed-mean+target",
            "additive+target",
            "noise-ceiling"
        ]
    );
    for r in &card.rows {
        let v: Vec<String> = r.metrics.iter().map(|m| format!("{} {:.3}", m.metric, m.overall.mean)).collect();
        eprintln!("{}: {}", r.name, v.join(", "));
        for m in &r.metrics {
            assert!(m.overall.mean.is_finite(), "{} {}", r.name, m.metric);
        }
    }
    let learner = &card.rows[0];
    assert!(mean(learner, "pearson_delta_pert_k5") > 0.9);
    assert!(mean(learner, "pearson_delta_pert_k20") > 0.9);
    assert!(mean(learner, "pearson_delta_pert_k1") < 0.5);
    assert!(mean(learner, "mse_k5") < mean(learner, "mse_k1") / 10.0);
    // control-mean ignores the shots: a flat curve.
    let flat = &card.rows[1];
    assert_eq!(mean(flat, "pearson_delta_pert_k0"), mean(flat, "pearson_delta_pert_k20"));
    assert_eq!(mean(flat, "mse_k0"), mean(flat, "mse_k5"));
    // The ceiling is the same at every k.
    let ceiling = card.rows.last().unwrap();
    assert_eq!(mean(ceiling, "pearson_delta_pert_k0"), mean(ceiling, "pearson_delta_pert_k20"));
    // Baselines are refitted with the shots: the linear baseline's curve is not flat.
    let linear = &card.rows[4];
    assert_ne!(mean(linear, "mse_k0"), mean(linear, "mse_k20"));
}

#[test]
fn papalexi_replicate_3_is_the_new_context_and_never_trains() {
    let options = LoadOptions { data_dir: Some(common::data_dir()), ..LoadOptions::default() };
    let spec = find_spec("papalexi2021-few-shot", None).unwrap();
    let dataset = load_dataset(&spec.spec.dataset, &Registry::embedded().unwrap(), &options).unwrap().dataset;
    let whole = load_dataset("papalexi2021-thp1-rna", &Registry::embedded().unwrap(), &options).unwrap().dataset;
    let ctx = dataset.context.as_ref().unwrap();
    assert_eq!((ctx.name.as_str(), ctx.training_context.as_str()), ("rep_3", "rep_1+rep_2"));
    assert_eq!(dataset.n_rows() + ctx.expression.nrows(), whole.n_rows());
    let instance = TaskInstance::build(spec, &dataset).unwrap();
    assert!(instance.test_conditions().len() >= 2);
    let card = evaluate(&instance, None, "test", &options_fast()).unwrap();
    for r in &card.rows {
        let v: Vec<String> = r.metrics.iter().map(|m| format!("{} {:.3}", m.metric, m.overall.mean)).collect();
        eprintln!("{}: {}", r.name, v.join(", "));
        assert!(mean(r, "mse_k20").is_finite(), "{}", r.name);
    }
    let err = load_dataset("papalexi2021-thp1-rna@bio_rep=rep_9", &Registry::embedded().unwrap(), &options)
        .err()
        .expect("an absent replicate is refused")
        .to_string();
    assert!(err.contains("rep_9"), "{err}");
}

fn options_fast() -> EvalOptions {
    EvalOptions { bootstrap: BootstrapSettings { resamples: 50, level: 0.95, seed: 0 }, ..EvalOptions::default() }
}

#[test]
fn cli_runs_the_new_families_by_spec_id_and_explains_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fs");
    let r =
        common::run(["eval", "--baseline", "additive", "--task", "sim-few-shot", "--out", out.to_str().unwrap()]).ok();
    assert!(r.stdout.contains("pearson_delta_pert_k20") && r.stdout.contains("simulator-two-contexts"), "{}", r.stdout);
    let card = common::read_scorecard(&out);
    assert_eq!(
        (card["task"]["id"].as_str(), card["dataset"]["id"].as_str()),
        (Some("sim-few-shot"), Some("simulator-two-contexts"))
    );
    assert!(common::metric_mean(common::row(&card, "additive"), "pearson_delta_pert_k0") > 0.3);
    let split: serde_json::Value = common::read_json(&out, "split.json");
    assert_eq!(split["context"]["shot_order"].as_array().map(Vec::len), Some(20));

    let out = dir.path().join("cm");
    let r =
        common::run(["eval", "--baseline", "linear", "--task", "sim-cross-modal", "--out", out.to_str().unwrap()]).ok();
    assert!(r.stdout.contains("coherence_gap ↓") && r.stdout.contains("protein_pearson_delta"), "{}", r.stdout);

    let r = common::run(["tasks", "show", "sim-few-shot"]).ok();
    assert!(r.stdout.contains("new context 'B'") && r.stdout.contains("k = [0, 1, 5, 20]"), "{}", r.stdout);
    let r = common::run(["tasks", "show", "sim-cross-modal"]).ok();
    assert!(r.stdout.contains("coupling") && r.stdout.contains("two-sided"), "{}", r.stdout);
    // `--dataset papalexi2021` still names the whole dataset, not its replicate split.
    let out = dir.path().join("pap");
    common::run(["eval", "--dataset", "papalexi2021", "--baseline", "additive", "--out", out.to_str().unwrap()]).ok();
    assert_eq!(common::read_scorecard(&out)["task"]["id"], "papalexi2021-unseen-single");
}
