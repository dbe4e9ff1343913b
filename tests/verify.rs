//! `arena verify SCORECARD`: a scorecard recomputed from its provenance reproduces bit for bit;
//! an edited number, another spec, another model file or dataset file fail loudly, saying what
//! differs and what to pass.

mod common;

use std::path::Path;

use common::*;

fn eval(out: &Path, extra: &[&str]) {
    let (out, data) = (out.display().to_string(), data_dir().display().to_string());
    let mut args = vec!["eval", "--bootstrap", "200", "--out", &out, "--data-dir", &data];
    args.extend(extra);
    run(&args).ok();
}

fn verify(card: &Path, extra: &[&str]) -> Run {
    let (card, data) = (card.display().to_string(), data_dir().display().to_string());
    let mut args = vec!["verify", &card, "--data-dir", &data];
    args.extend(extra);
    run(&args)
}

/// A copy of the scorecard at `from` with `edit` applied, written to `to`.
fn edited(from: &Path, to: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut card: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(from).unwrap()).unwrap();
    edit(&mut card);
    std::fs::write(to, serde_json::to_string_pretty(&card).unwrap()).unwrap();
}

#[test]
fn a_scorecard_reproduces_bit_for_bit_and_an_edited_one_fails_naming_the_number() {
    let dir = tempfile::tempdir().unwrap();
    eval(dir.path(), &["--task", "sim-unseen-single", "--baseline", "additive"]);
    let card = dir.path().join("scorecard.json");
    let r = verify(&card, &[]).ok();
    assert!(r.stdout.contains("all ") && r.stdout.contains("numbers bit-identical"), "{}", r.stdout);

    // One per-perturbation value of the model row changed.
    let tampered = dir.path().join("tampered.json");
    let mut original = 0.0;
    edited(&card, &tampered, |c| {
        let v = &mut c["rows"][0]["per_perturbation"][2]["values"][0];
        original = v.as_f64().unwrap();
        *v = serde_json::json!(original + 0.01);
    });
    let r = verify(&tampered, &[]).failed();
    assert!(r.stderr.contains("does NOT reproduce"), "{}", r.stderr);
    assert!(r.stderr.contains("rows[0].per_perturbation[2].values[0]"), "{}", r.stderr);
    assert!(r.stderr.contains(&format!("recomputed {original}")), "{}", r.stderr);
    // A tolerance wide enough accepts it, and says the numbers are not bit-identical.
    let r = verify(&tampered, &["--tolerance", "0.1"]).ok();
    assert!(r.stdout.contains("1 not bit-identical"), "{}", r.stdout);

    // The reference model's scorecard (bundled weights) too.
    let reference = dir.path().join("reference");
    eval(&reference, &["--task", "sim-unseen-single", "--reference"]);
    let r = verify(&reference.join("scorecard.json"), &[]).ok();
    assert!(r.stdout.contains("(reference); all "), "{}", r.stdout);

    // A scorecard of another spec version is refused before anything is recomputed.
    let old = dir.path().join("old.json");
    edited(&card, &old, |c| c["task"]["version"] = serde_json::json!(0));
    let r = verify(&old, &[]).failed();
    assert!(r.stderr.contains("the scorecard used version 0"), "{}", r.stderr);
}

#[test]
fn an_onnx_scorecard_needs_the_model_file_that_was_scored() {
    let dir = tempfile::tempdir().unwrap();
    let model = workspace_root().join("examples/linear.onnx").display().to_string();
    eval(dir.path(), &[&model, "--task", "sim-unseen-single"]);
    let card = dir.path().join("scorecard.json");
    let r = verify(&card, &[]).failed();
    assert!(r.stderr.contains("pass it with --model FILE"), "{}", r.stderr);
    let r = verify(&card, &["--model", &model]).ok();
    assert!(r.stdout.contains("bit-identical"), "{}", r.stdout);
    // Another model under the same file name: its sha256 differs.
    let other = dir.path().join("linear.onnx");
    std::fs::copy(workspace_root().join("examples/perturbed_mean.onnx"), &other).unwrap();
    let r = verify(&card, &["--model", &other.display().to_string()]).failed();
    assert!(r.stderr.contains("the model differs"), "{}", r.stderr);
}

#[test]
fn a_scorecard_of_an_h5ad_file_needs_that_file() {
    // A simulation written by `arena simulate`, scored as sim-combinatorial (whose own dataset is
    // another simulation): the file is scored under the task's spec.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sim.toml");
    std::fs::write(&config, "seed = 4\nn_control_cells = 200\ncells_per_condition = 30\n").unwrap();
    let (h5ad, other) = (dir.path().join("a.h5ad"), dir.path().join("b.h5ad"));
    let config_s = config.display().to_string();
    run(["simulate", "--config", &config_s, "--out", &h5ad.display().to_string()]).ok();
    run(["simulate", "--config", &config_s, "--seed", "5", "--out", &other.display().to_string()]).ok();
    let h5ad_s = h5ad.display().to_string();
    eval(dir.path(), &["--task", "sim-combinatorial", "--dataset", &h5ad_s]);
    let card = dir.path().join("scorecard.json");
    let r = verify(&card, &[]).failed();
    assert!(r.stderr.contains("pass that file with --dataset PATH"), "{}", r.stderr);
    let r = verify(&card, &["--dataset", &other.display().to_string()]).failed();
    assert!(r.stderr.contains("the dataset differs"), "{}", r.stderr);
    let r = verify(&card, &["--dataset", &h5ad_s]).ok();
    assert!(r.stdout.contains("sim-combinatorial v4 on a"), "{}", r.stdout);
}

#[test]
fn a_scorecard_split_with_another_seed_records_it_and_verifies_on_that_split() {
    let dir = tempfile::tempdir().unwrap();
    let (own, other) = (dir.path().join("own"), dir.path().join("other"));
    eval(&own, &["--task", "sim-unseen-single", "--baseline", "ridge"]);
    eval(&other, &["--task", "sim-unseen-single", "--baseline", "ridge", "--seed", "3"]);
    let (a, b) = (read_scorecard(&own), read_scorecard(&other));
    assert_eq!(b["task"]["seed"], 3);
    assert_ne!(a["task"]["seed"], 3);
    assert_ne!(a["task"]["split_sha256"], b["task"]["split_sha256"], "seed 3 must give another split");
    let r = verify(&other.join("scorecard.json"), &[]).ok();
    assert!(r.stdout.contains("bit-identical"), "{}", r.stdout);
}

#[test]
fn bundled_reference_weights_are_refused_on_another_split_naming_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let (out, data) = (dir.path().display().to_string(), data_dir().display().to_string());
    let r =
        run(["eval", "--reference", "--task", "sim-unseen-single", "--seed", "3", "--out", &out, "--data-dir", &data])
            .failed();
    assert!(r.stderr.contains("trained on another split"), "{}", r.stderr);
    assert!(r.stderr.contains("--split-seed 3"), "{}", r.stderr);
    assert_no_output(dir.path());
}
