//! `arena eval --shard K/N` and `arena merge` of its partials: the merged scorecard equals the
//! single run's except for the timing fields of its `run` block, and per_perturbation.parquet and
//! split.json are the same bytes, for a baseline under test (1 and 3 shards) and an ONNX model
//! (2 shards), and `arena verify` reproduces it; a partial holds each item's predicted mean bit
//! for bit; the merge refuses partials that do not belong together (a shard given twice, a missing
//! shard, another seed, other options, another shard count, another dataset, a folder without a
//! partial) and then writes nothing.
mod common;

use std::path::{Path, PathBuf};

use common::{assert_no_output, run, workspace_root};
use serde_json::Value;

/// Few resamples: the scoring path is the same at any count.
const BOOTSTRAP: &str = "50";

fn eval(out: &Path, model: &[&str], extra: &[&str]) -> common::Run {
    let mut args = vec!["eval".to_string()];
    args.extend(model.iter().map(|s| s.to_string()));
    args.extend(["--bootstrap".into(), BOOTSTRAP.into(), "--out".into(), out.display().to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    run(&args)
}

fn merge(out: &Path, partials: &[PathBuf]) -> common::Run {
    let mut args = vec!["merge".to_string(), "--outdir".into(), out.display().to_string()];
    args.extend(partials.iter().map(|p| p.display().to_string()));
    run(args)
}

/// Runs the N shards of `model` (in reverse order) into `dir/<name>-<k>`; returns the folders.
fn shards(dir: &Path, name: &str, model: &[&str], n: usize, extra: &[&str]) -> Vec<PathBuf> {
    let partials: Vec<PathBuf> = (1..=n).map(|k| dir.join(format!("{name}-{k}of{n}"))).collect();
    for (k, p) in partials.iter().enumerate().rev() {
        let shard = format!("{}/{n}", k + 1);
        let mut args = extra.to_vec();
        args.extend(["--shard", &shard]);
        let r = eval(p, model, &args).ok();
        assert!(r.stdout.contains(&format!("Predicted shard {shard}")), "{}", r.stdout);
        let files: Vec<_> = std::fs::read_dir(p).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(files, ["eval-partial.json"], "a shard writes its partial only");
    }
    partials
}

/// The scorecard without what differs between two runs of the same inputs: the `run` block's
/// `started_utc` (the clock), `wall_seconds` (this process's time; a merge times only its own
/// scoring) and the rates of `rows_per_second` (a shard's inference timing; the merge joins the
/// shards' rows and seconds). The names in `rows_per_second` and `run.device` are kept.
fn without_timing(dir: &Path) -> Value {
    let mut card = common::read_scorecard(dir);
    let run = card["run"].as_object_mut().expect("run block");
    assert!(run.remove("started_utc").is_some() && run.remove("wall_seconds").is_some(), "{run:?}");
    let rates = run.get_mut("rows_per_second").and_then(Value::as_array_mut).expect("rows_per_second");
    assert!(!rates.is_empty());
    for rate in rates.iter_mut() {
        let pair = rate.as_array_mut().expect("[name, rate]");
        assert!(pair[1].as_f64().is_some_and(|r| r > 0.0), "{pair:?}");
        pair.truncate(1);
    }
    card
}

fn assert_same_run(single: &Path, merged: &Path, what: &str) {
    assert!(
        without_timing(single) == without_timing(merged),
        "{what}: scorecard.json differs beyond the timing fields"
    );
    for file in ["per_perturbation.parquet", "split.json"] {
        let (a, b) = (std::fs::read(single.join(file)).unwrap(), std::fs::read(merged.join(file)).unwrap());
        assert!(a == b, "{what}: {file} differs from the single run");
    }
}

#[test]
fn merged_shards_of_a_baseline_equal_the_single_run() {
    let dir = tempfile::tempdir().unwrap();
    let model = ["--baseline", "ridge"];
    let single = dir.path().join("single");
    eval(&single, &model, &[]).ok();
    for n in [1usize, 3] {
        let partials = shards(dir.path(), "ridge", &model, n, &[]);
        let merged = dir.path().join(format!("merged-{n}"));
        let r = merge(&merged, &[partials[n - 1..].to_vec(), partials[..n - 1].to_vec()].concat()).ok();
        assert!(r.stdout.contains(&format!("Merged {n} eval partial(s)")), "{}", r.stdout);
        assert!(r.stdout.contains("| baseline: control-mean"), "the merge prints the scorecard table:\n{}", r.stdout);
        assert_same_run(&single, &merged, &format!("ridge, {n} shard(s)"));
    }
    // `arena verify` reproduces the merged scorecard from its provenance.
    let r = run(["verify", &dir.path().join("merged-3/scorecard.json").display().to_string()]).ok();
    assert!(r.stdout.contains("bit-identical"), "{}", r.stdout);
    // The audit ran at the merge, with the derived probes the shards predicted.
    let card = common::read_scorecard(&single);
    let probes: Vec<&str> =
        card["audit"]["probes"].as_array().unwrap().iter().map(|p| p["probe"].as_str().unwrap()).collect();
    assert!(probes.contains(&"probe: log1p") && probes.contains(&"probe: effect ×2"), "{probes:?}");

    // Each partial holds its items' means bit for bit: those of the same model run in-process.
    use arena_sim::{SimConfig, export::snapshot_dataset, simulate};
    let dataset = snapshot_dataset(&simulate(&SimConfig::default()).unwrap()).unwrap();
    let spec = tasks::find_spec("unseen-single", Some("simulator")).unwrap();
    let instance = tasks::TaskInstance::build(spec, &dataset).unwrap();
    let ridge = arena_models::baselines::fit("ridge", &instance).unwrap();
    let want = arena_eval::predict::predict_means(&instance, ridge.as_ref()).unwrap().means;
    let mut got = Vec::new();
    for k in 1..=3 {
        let partial = arena_eval::eval_partial::read(&dir.path().join(format!("ridge-{k}of3"))).unwrap();
        got.extend(partial.items.into_iter().map(|i| i.mean.0));
    }
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!(g.iter().zip(w).all(|(a, b)| a.to_bits() == b.to_bits()) && g.len() == w.len());
    }
}

#[test]
fn merged_shards_of_an_onnx_model_equal_the_single_run() {
    let dir = tempfile::tempdir().unwrap();
    let model = workspace_root().join("examples/linear.onnx").display().to_string();
    let single = dir.path().join("single");
    eval(&single, &[&model], &[]).ok();
    let partials = shards(dir.path(), "linear", &[&model], 2, &[]);
    let partial = arena_eval::eval_partial::read(&partials[0]).unwrap();
    assert!(partial.inference.device.as_deref().is_some_and(|d| d.starts_with("cpu")), "{:?}", partial.inference);
    let merged = dir.path().join("merged");
    merge(&merged, &partials).ok();
    assert_same_run(&single, &merged, "linear.onnx, 2 shards");
}

#[test]
fn merge_refuses_eval_partials_that_do_not_belong_together() {
    let dir = tempfile::tempdir().unwrap();
    let model = ["--baseline", "ridge"];
    let p = shards(dir.path(), "ridge", &model, 3, &[]);
    let out = dir.path().join("merged");
    let refused = |partials: &[PathBuf], why: &str| {
        let r = merge(&out, partials).failed();
        assert!(r.stderr.contains(why), "expected '{why}' in:\n{}", r.stderr);
        assert_no_output(&out);
    };
    refused(&[p[0].clone(), p[2].clone()], "missing shard(s) 2/3");
    refused(&[p[0].clone(), p[1].clone(), p[1].clone(), p[2].clone()], "shard 2/3 is given twice");
    let other_seed = shards(dir.path(), "seed1", &model, 3, &["--seed", "1"]);
    refused(&[p[0].clone(), p[1].clone(), other_seed[2].clone()], "task.seed is 0 in");
    let other_bootstrap = dir.path().join("bootstrap");
    run([
        "eval",
        "--baseline",
        "ridge",
        "--bootstrap",
        "60",
        "--shard",
        "3/3",
        "--out",
        other_bootstrap.to_str().unwrap(),
    ])
    .ok();
    refused(&[p[0].clone(), p[1].clone(), other_bootstrap], "options.bootstrap");
    let four = shards(dir.path(), "four", &model, 4, &[]);
    refused(&[p[0].clone(), p[1].clone(), four[3].clone()], "shard count N");
    refused(&[p[0].clone(), dir.path().join("nothing-here")], "not a partial of `arena eval --shard K/N`");
    // Partials whose dataset is not the one the merge loads again (the sha256 edited in all three).
    let edited: Vec<PathBuf> = p
        .iter()
        .enumerate()
        .map(|(k, src)| {
            let dst = dir.path().join(format!("edited-{k}"));
            std::fs::create_dir_all(&dst).unwrap();
            let mut json: Value = common::read_json(src, "eval-partial.json");
            json["dataset"]["sha256"] = "0".repeat(64).into();
            std::fs::write(dst.join("eval-partial.json"), serde_json::to_string(&json).unwrap()).unwrap();
            dst
        })
        .collect();
    refused(&edited, "dataset.sha256");
    merge(&out, &[p[2].clone(), p[0].clone(), p[1].clone()]).ok();

    // `arena eval --shard` itself refuses a run without a model under test, more shards than test
    // items and a family scored otherwise, and writes nothing.
    let none = dir.path().join("none");
    let r = run(["eval", "--shard", "1/2", "--out", none.to_str().unwrap()]).failed();
    assert!(r.stderr.contains("--baseline"), "{}", r.stderr);
    let r = eval(&none, &model, &["--shard", "13/13"]).failed();
    assert!(r.stderr.contains("only 12 test item(s)"), "{}", r.stderr);
    let r = eval(&none, &["--baseline", "additive"], &["--task", "inverse-design", "--shard", "1/2"]).failed();
    assert!(r.stderr.contains("run this one whole"), "{}", r.stderr);
    assert_no_output(&none);
}
