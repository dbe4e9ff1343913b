//! End-to-end tests of the reference world model: the bundled weights (one set per task of the
//! default suite) score through `arena eval --reference` and `--suite default --reference`, the
//! cross-modal weights predict proteins, `arena train-reference` is deterministic and records its
//! provenance, and weights for another gene panel are refused with a message saying what to do.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// Every task of the default suite (the embedded specs).
fn default_tasks() -> Vec<String> {
    tasks::embedded_specs().unwrap().into_iter().map(|s| s.spec.id).collect()
}

fn bundled(task: &str) -> PathBuf {
    workspace_root().join("reference-model/weights").join(task)
}

fn bundled_config(task: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(bundled(task).join("config.json")).unwrap()).unwrap()
}

fn ci(row: &Value, metric: &str) -> (f64, f64, f64) {
    let m = row["metrics"].as_array().expect("metrics").iter().find(|m| m["metric"] == metric).expect("metric");
    let o = &m["overall"];
    (o["mean"].as_f64().unwrap(), o["lower"].as_f64().unwrap(), o["upper"].as_f64().unwrap())
}

fn eval_reference(out: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["eval", "--reference", "--bootstrap", "200", "--out"];
    let out = out.display().to_string();
    args.push(&out);
    let data = data_dir().display().to_string();
    args.extend(["--data-dir", &data]);
    args.extend(extra);
    run(&args)
}

#[test]
fn bundled_weights_beat_the_baselines_on_sim_unseen_single() {
    let dir = tempfile::tempdir().unwrap();
    eval_reference(dir.path(), &["--task", "sim-unseen-single"]).ok();
    let card = read_scorecard(dir.path());
    let reference = row(&card, "reference");
    assert_eq!(reference["kind"], "reference");
    assert!(is_sha256(reference["model_sha256"].as_str().unwrap_or_default()), "{reference}");
    let (mean, lower, _) = ci(reference, "pearson_delta_pert");
    for baseline in ["control-mean", "perturbed-mean", "additive", "linear"] {
        let (b_mean, _, b_upper) = ci(row(&card, baseline), "pearson_delta_pert");
        assert!(mean > b_mean, "reference {mean} vs {baseline} {b_mean}");
        assert!(lower > b_upper, "reference CI lower {lower} vs {baseline} CI upper {b_upper}");
    }
}

#[test]
fn bundled_weights_exist_for_the_default_tasks_are_small_and_record_their_command() {
    // Tasks with the same training view train to the same bytes, which git stores once.
    let mut distinct = std::collections::BTreeMap::new();
    let tasks = default_tasks();
    assert_eq!(tasks.len(), 13);
    for task in &tasks {
        let task = task.as_str();
        let weights = bundled(task).join("weights.safetensors");
        let bytes = std::fs::read(&weights).unwrap_or_else(|e| panic!("{}: {e}", weights.display()));
        distinct.insert(bytes, task);
        let config: Value = bundled_config(task);
        assert_eq!(config["format"], "arena-reference-v1");
        let command = config["provenance"]["command"].as_str().unwrap();
        assert!(command.starts_with("arena train-reference --task ") && command.contains(task), "{command}");
        assert_eq!(config["provenance"]["task"], task);
        assert!(is_sha256(config["provenance"]["split_sha256"].as_str().unwrap()));
        assert!(is_sha256(config["provenance"]["task_spec_sha256"].as_str().unwrap()));
        assert!(config["provenance"]["epochs"].as_u64().unwrap() >= 1);
    }
    let total: usize = distinct.keys().map(Vec::len).sum();
    assert!(total < 12 * 1024 * 1024, "bundled weights take {total} bytes");
}

#[test]
fn arena_tasks_ids_lists_exactly_the_default_suite() {
    let listed: Vec<String> = run(["tasks", "--ids"]).ok().stdout.lines().map(str::to_string).collect();
    assert_eq!(listed, default_tasks());
}

#[test]
fn the_default_suite_scores_the_reference_on_every_task_with_its_own_weights() {
    let dir = tempfile::tempdir().unwrap();
    eval_reference(dir.path(), &["--suite", "default"]).ok();
    for task in default_tasks() {
        let card = read_scorecard(&dir.path().join(&task));
        let reference = row(&card, "reference");
        let config: Value = bundled_config(&task);
        // The weights were trained on this very split.
        assert_eq!(config["provenance"]["split_sha256"], card["task"]["split_sha256"], "{task}");
        let primary = card["primary_metric"].as_str().unwrap();
        assert!(ci(reference, primary).0.is_finite(), "{task}: {primary} of the reference is not finite");
    }
}

#[test]
fn the_cross_modal_weights_predict_proteins_from_the_shared_latent() {
    let config: Value = bundled_config("sim-cross-modal");
    assert_eq!(config["proteins"].as_array().map(Vec::len), Some(20), "the simulator measures 20 proteins");
    // RNA-only tasks keep RNA-only weights.
    let rna_only: Value = bundled_config("sim-unseen-single");
    assert!(rna_only.get("proteins").is_none());
    let dir = tempfile::tempdir().unwrap();
    eval_reference(dir.path(), &["--task", "sim-cross-modal"]).ok();
    let card = read_scorecard(dir.path());
    let reference = row(&card, "reference");
    for metric in ["coherence", "protein_pearson_delta", "protein_mse"] {
        let (mean, lower, upper) = ci(reference, metric);
        assert!(mean.is_finite() && lower <= mean && mean <= upper, "{metric}: {mean} [{lower}, {upper}]");
    }
    // The predicted protein change follows the observed one (a model that ignored the action
    // would score about the control-mean baseline's 0.345 or less).
    assert!(ci(reference, "protein_pearson_delta").0 > 0.3);
}

#[test]
fn training_is_deterministic_and_records_the_split_of_the_scorecard() {
    let dir = tempfile::tempdir().unwrap();
    let train = |name: &str| -> PathBuf {
        let out = dir.path().join(name);
        let data = data_dir().display().to_string();
        let out_s = out.display().to_string();
        let args = [
            "train-reference",
            "--task",
            "sim-unseen-single",
            "--epochs",
            "3",
            "--seed",
            "5",
            "--out",
            &out_s,
            "--data-dir",
            &data,
        ];
        run(args).ok();
        out
    };
    let (a, b) = (train("a"), train("b"));
    let bytes = |d: &Path| std::fs::read(d.join("weights.safetensors")).unwrap();
    assert_eq!(bytes(&a), bytes(&b), "same seed must give identical weights");
    let config: Value = serde_json::from_str(&std::fs::read_to_string(a.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["train"]["seed"], 5);
    assert_eq!(config["train"]["max_epochs"], 3);
    assert!(!config["provenance"]["validation_conditions"].as_array().unwrap().is_empty());
    // The weights score through --weights, and their split is the scorecard's split.
    let eval_dir = dir.path().join("eval");
    let weights = a.join("weights.safetensors").display().to_string();
    eval_reference(&eval_dir, &["--task", "sim-unseen-single", "--weights", &weights]).ok();
    let card = read_scorecard(&eval_dir);
    assert_eq!(config["provenance"]["split_sha256"], card["task"]["split_sha256"]);
    assert_eq!(config["provenance"]["task_spec_sha256"], card["task"]["spec_sha256"]);
    row(&card, "reference");
}

#[test]
fn weights_for_another_gene_panel_are_refused_naming_the_file_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let weights = bundled("sim-unseen-single").join("weights.safetensors");
    let w = weights.display().to_string();
    let run =
        eval_reference(dir.path(), &["--dataset", "norman2019", "--task", "combinatorial", "--weights", &w]).failed();
    assert!(run.stderr.contains(&w), "{}", run.stderr);
    assert!(run.stderr.contains("arena train-reference --task norman2019-combinatorial"), "{}", run.stderr);
    assert!(run.stderr.contains("genes"), "{}", run.stderr);
    assert_no_output(dir.path());
}
