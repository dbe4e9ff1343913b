//! End-to-end tests of `arena eval`: the simulator default run, determinism, Norman 2019
//! combinatorial, Papalexi 2021, scoring a predictions file, and a sparse count file scoring
//! exactly as its dense copy.

mod common;

use std::fs::File;
use std::path::Path;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use common::*;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

const BASELINES: [&str; 4] = ["control-mean", "perturbed-mean", "additive", "linear"];

fn eval(out: &Path, extra: &[&str]) -> Run {
    let mut args: Vec<String> = vec!["eval".into(), "--out".into(), out.display().to_string()];
    args.push("--data-dir".into());
    args.push(data_dir().display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    run(&args)
}

fn str_field<'a>(v: &'a Value, pointer: &str) -> &'a str {
    let s = v.pointer(pointer).and_then(Value::as_str).unwrap_or_else(|| panic!("scorecard has no string {pointer}"));
    assert!(!s.trim().is_empty(), "scorecard {pointer} is empty");
    s
}

/// Reads a per_perturbation.parquet: (row count, column names, (row, perturbation, subgroup) triples).
fn read_parquet(path: &Path) -> (usize, Vec<String>, Vec<(String, String, String)>) {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).expect("parquet metadata");
    let columns: Vec<String> = builder.schema().fields().iter().map(|f| f.name().clone()).collect();
    let reader = builder.build().expect("parquet reader");
    let (mut n, mut keys) = (0, Vec::new());
    for batch in reader {
        let batch = batch.expect("record batch");
        n += batch.num_rows();
        let col = |name: &str| {
            batch.column_by_name(name).unwrap_or_else(|| panic!("no column {name}")).as_string::<i32>().clone()
        };
        let (r, p, s) = (col("row"), col("perturbation"), col("subgroup"));
        for i in 0..batch.num_rows() {
            assert!(!p.is_null(i));
            keys.push((r.value(i).to_string(), p.value(i).to_string(), s.value(i).to_string()));
        }
    }
    (n, columns, keys)
}

fn metric_names(card: &Value) -> Vec<String> {
    card["rows"][0]["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .map(|m| m["metric"].as_str().expect("metric name").to_string())
        .collect()
}

#[test]
fn eval_default_simulator_writes_a_complete_scorecard() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let r = run(["eval", "--out", out.to_str().unwrap(), "--data-dir", data_dir().to_str().unwrap()]).ok();

    // The table: one line per baseline and the noise ceiling.
    for b in BASELINES {
        assert!(
            r.stdout.lines().any(|l| l.starts_with('|') && l.contains(&format!("baseline: {b} "))),
            "no table row for baseline {b}:\n{}",
            r.stdout
        );
    }
    assert!(
        r.stdout.lines().any(|l| l.starts_with('|') && l.contains("noise ceiling")),
        "no noise ceiling row:\n{}",
        r.stdout
    );
    assert!(out.join("scorecard.json").is_file());
    assert!(out.join("per_perturbation.parquet").is_file());

    let card = read_scorecard(&out);
    str_field(&card, "/format");
    str_field(&card, "/suite_version");
    assert_eq!(str_field(&card, "/task/id"), "sim-unseen-single");
    assert!(is_sha256(str_field(&card, "/task/spec_sha256")), "task.spec_sha256 is not a sha256");
    assert!(is_sha256(str_field(&card, "/task/split_sha256")), "task.split_sha256 is not a sha256");
    assert!(is_sha256(str_field(&card, "/dataset/sha256")), "dataset.sha256 is not a sha256");
    assert_eq!(str_field(&card, "/dataset/id"), "simulator");
    assert!(card.pointer("/task/seed").and_then(Value::as_u64).is_some(), "task.seed missing");
    str_field(&card, "/hardware/cpu");
    assert!(card["run"].is_object(), "no run section");

    let names = row_names(&card);
    for b in BASELINES {
        let row = row(&card, b);
        assert_eq!(row["kind"], "baseline", "{b}");
        let sha = row["model_sha256"].as_str().unwrap_or("");
        assert!(is_sha256(sha), "baseline {b} has model_sha256 {sha:?}");
    }
    let ceiling = card["rows"].as_array().unwrap().iter().find(|r| r["kind"] == "ceiling");
    let ceiling = ceiling.unwrap_or_else(|| panic!("no ceiling row among {names:?}"));

    // Scientific sanity: on the simulator the split-halves ceiling beats every baseline.
    let primary = str_field(&card, "/primary_metric");
    let top = metric_mean(ceiling, primary);
    for b in BASELINES {
        let v = metric_mean(row(&card, b), primary);
        assert!(top > v, "noise ceiling {primary} = {top} is not above baseline {b} = {v}");
    }

    // The parquet table agrees with the JSON.
    let expected: usize =
        card["rows"].as_array().unwrap().iter().map(|r| r["per_perturbation"].as_array().unwrap().len()).sum();
    let (n, columns, _) = read_parquet(&out.join("per_perturbation.parquet"));
    assert_eq!(n, expected);
    for m in metric_names(&card) {
        assert!(columns.contains(&m), "parquet lacks metric column {m}: {columns:?}");
    }
}

#[test]
fn eval_is_deterministic() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    eval(&a, &[]).ok();
    eval(&b, &[]).ok();
    let (mut ja, mut jb) = (read_scorecard(&a), read_scorecard(&b));
    assert!(ja.as_object_mut().unwrap().remove("run").is_some(), "scorecard has no run key");
    jb.as_object_mut().unwrap().remove("run");
    assert_eq!(ja, jb, "two runs of `arena eval` give different scorecards (run key aside)");
    let pa = std::fs::read(a.join("per_perturbation.parquet")).unwrap();
    let pb = std::fs::read(b.join("per_perturbation.parquet")).unwrap();
    assert!(pa == pb, "per_perturbation.parquet differs between two identical runs");
}

#[test]
fn eval_norman_combinatorial_additive() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let r = eval(&out, &["--baseline", "additive", "--dataset", "norman2019", "--task", "combinatorial"]).ok();
    assert!(r.stdout.contains("model: additive"), "{}", r.stdout);
    let card = read_scorecard(&out);
    assert_eq!(card["model"]["name"].as_str().or(card["model"].as_str()), Some("additive"), "model: {}", card["model"]);
    assert_eq!(str_field(&card, "/dataset/id"), "norman2019-pseudobulk");
    assert_eq!(str_field(&card, "/task/id"), "norman2019-combinatorial");
    assert_eq!(str_field(&card, "/dataset/sha256"), "8979d2ff3ea4e110f0e48f6342d0766c90036fe9876b9de53c93a8a401ec6f12");
    let model_row = row(&card, "additive");
    for m in model_row["metrics"].as_array().unwrap() {
        let groups: Vec<&str> = m["by_subgroup"].as_array().unwrap().iter().map(|g| g[0].as_str().unwrap()).collect();
        for want in ["combo_seen0", "combo_seen1", "combo_seen2", "unseen_single"] {
            assert!(groups.contains(&want), "metric {} lacks subgroup {want}: {groups:?}", m["metric"]);
        }
    }
    assert!(
        !card["rows"].as_array().unwrap().iter().any(|r| r["kind"] == "ceiling"),
        "pseudobulk data cannot have a noise ceiling row"
    );
    let notes = card["notes"].to_string().to_lowercase();
    assert!(notes.contains("no noise ceiling"), "notes do not explain the missing ceiling: {notes}");

    let expected: usize =
        card["rows"].as_array().unwrap().iter().map(|r| r["per_perturbation"].as_array().unwrap().len()).sum();
    let n_test = card["task"]["n_test_conditions"].as_u64().unwrap() as usize;
    let n_rows = card["rows"].as_array().unwrap().len();
    assert_eq!(expected, n_test * n_rows, "every row should score every test perturbation");
    let (n, columns, keys) = read_parquet(&out.join("per_perturbation.parquet"));
    assert_eq!(n, expected, "parquet rows != sum of per_perturbation lengths");
    for c in ["row", "perturbation", "subgroup"] {
        assert!(columns.iter().any(|x| x == c), "parquet lacks {c}: {columns:?}");
    }
    for m in metric_names(&card) {
        assert!(columns.contains(&m), "parquet lacks metric column {m}: {columns:?}");
    }
    // The parquet rows are the JSON's per-perturbation entries, in order.
    let json_keys: Vec<(String, String, String)> = card["rows"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            r["per_perturbation"].as_array().unwrap().iter().map(move |p| {
                (
                    r["name"].as_str().unwrap().to_string(),
                    p["perturbation"].as_str().unwrap().to_string(),
                    p["subgroup"].as_str().unwrap().to_string(),
                )
            })
        })
        .collect();
    assert_eq!(keys, json_keys);
    for sg in ["combo_seen0", "combo_seen1", "combo_seen2", "unseen_single"] {
        assert!(keys.iter().any(|k| k.2 == sg), "no parquet row in subgroup {sg}");
    }
}

#[test]
fn eval_papalexi() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let r = eval(&out, &["--dataset", "papalexi2021"]).ok();
    assert!(r.stdout.contains("noise ceiling"), "{}", r.stdout);
    let card = read_scorecard(&out);
    assert_eq!(str_field(&card, "/dataset/id"), "papalexi2021-thp1-rna");
    assert_eq!(str_field(&card, "/dataset/sha256"), "ab68b5114ec8f91fc003f616ea1c9095d6c73d3d5de90e59a5127761c04ade35");
    assert_eq!(card["task"]["n_test_conditions"], 10);
    assert!(card["rows"].as_array().unwrap().iter().any(|r| r["kind"] == "ceiling"), "no ceiling row");
    for r in card["rows"].as_array().unwrap() {
        assert_eq!(r["per_perturbation"].as_array().unwrap().len(), 10, "row {}", r["name"]);
    }
    // Neither the control label nor the control cells may be scored as a perturbation.
    let perts: Vec<&str> = card["rows"][0]["per_perturbation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["perturbation"].as_str().unwrap())
        .collect();
    assert!(!perts.iter().any(|p| p.contains("non-targeting") || *p == "ctrl"), "{perts:?}");
}

/// Writes a predictions file with the true test means, plus control rows holding `control_value`.
fn write_truth_predictions(path: &Path, task: &SimTask, control_value: f32) {
    let mut x: Vec<Vec<f32>> = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    for (label, mean) in task.test_labels.iter().zip(&task.truth) {
        labels.push(label.clone());
        x.push(mean.iter().map(|&v| v as f32).collect());
    }
    for k in 0..5 {
        labels.push("ctrl".into());
        x.push((0..task.genes.len()).map(|g| control_value + (g * (k + 1)) as f32 * 0.37).collect());
    }
    let adata = anndata(x, "perturbation", &labels, &task.genes);
    write_h5ad(path, &adata);
}

#[test]
fn eval_predictions_of_the_truth_score_perfectly_and_ignore_controls() {
    let task = sim_task();
    assert!(!task.test_labels.is_empty());
    let tmp = tempfile::tempdir().unwrap();
    let mut model_rows = Vec::new();
    for (k, control_value) in [(0, 5000.5f32), (1, -731.25f32)] {
        let dir = tmp.path().join(format!("v{k}"));
        std::fs::create_dir_all(&dir).unwrap();
        let pred = dir.join("pred.h5ad");
        write_truth_predictions(&pred, &task, control_value);
        let out = dir.join("out");
        let r = eval(&out, &["--predictions", pred.to_str().unwrap(), "--perturbation-column", "perturbation"]).ok();
        assert!(r.stdout.contains("model: pred.h5ad"), "{}", r.stdout);
        let card = read_scorecard(&out);
        let rows = card["rows"].as_array().unwrap();
        let model = rows
            .iter()
            .find(|r| r["kind"] == "predictions")
            .unwrap_or_else(|| panic!("no predictions row: {:?}", row_names(&card)))
            .clone();
        let mae = metric_mean(&model, "mae");
        let pd = metric_mean(&model, "pearson_delta");
        assert!(mae.abs() < 1e-5, "predicting the true means gives mae {mae}");
        assert!((pd - 1.0).abs() < 1e-5, "predicting the true means gives pearson_delta {pd}");
        // Each test perturbation is scored on all its test cells.
        for (p, n) in model["per_perturbation"].as_array().unwrap().iter().zip(&task.n_truth) {
            assert_eq!(p["n_truth"].as_u64(), Some(*n as u64));
        }
        let mut model = model;
        let sha = model.as_object_mut().unwrap().remove("model_sha256").unwrap();
        assert!(is_sha256(sha.as_str().unwrap()), "model_sha256 of predictions: {sha}");
        model_rows.push(model);
    }
    assert_eq!(
        model_rows[0], model_rows[1],
        "changing only the control rows of a predictions file changed the model's scores"
    );
}

/// scorecard.json without what names the file or times the run (`run`, the dataset's path and
/// sha256, the split's sha256, which covers the dataset's, and the predictions file's sha256), as
/// one line per leaf (`/rows/0/name = "control-mean"`).
fn comparable(card: &Path) -> Vec<String> {
    fn leaves(v: &Value, at: String, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => m.iter().for_each(|(k, v)| leaves(v, format!("{at}/{k}"), out)),
            Value::Array(a) => a.iter().enumerate().for_each(|(i, v)| leaves(v, format!("{at}/{i}"), out)),
            leaf => out.push(format!("{at} = {leaf}")),
        }
    }
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(card).unwrap()).unwrap();
    let obj = v.as_object_mut().unwrap();
    obj.remove("run");
    let dataset = obj["dataset"].as_object_mut().unwrap();
    dataset.remove("sha256");
    dataset.remove("source");
    obj["task"].as_object_mut().unwrap().remove("split_sha256");
    let mut out = Vec::new();
    leaves(&v, String::new(), &mut out);
    out.retain(|leaf| !leaf.starts_with("/rows/0/model_sha256") && !leaf.starts_with("/model/sha256"));
    out
}

/// 30 genes, 12 knockdowns of 40 cells and 200 controls (the last group); raw counts, about 20%
/// stored. Returns (cells, labels, genes).
fn count_screen() -> (Vec<Vec<f32>>, Vec<String>, Vec<String>) {
    let genes: Vec<String> = (0..30).map(|g| format!("G{g}")).collect();
    let mut rng = TestRng(7);
    let (mut rows, mut labels) = (Vec::new(), Vec::new());
    for k in 0..13usize {
        let (label, n) = if k == 12 { ("ctrl".to_string(), 200) } else { (format!("G{k}"), 40) };
        for _ in 0..n {
            let row: Vec<f32> = (0..30)
                .map(|g| match (g == k, rng.uniform() < 0.2) {
                    (false, true) => {
                        (1.0 + 6.0 * rng.uniform()).floor() as f32 * if g == (k + 15) % 30 { 3.0 } else { 1.0 }
                    }
                    _ => 0.0,
                })
                .collect();
            rows.push(row);
            labels.push(label.clone());
        }
    }
    (rows, labels, genes)
}

#[test]
fn a_sparse_count_file_scores_exactly_as_its_dense_copy() {
    let (rows, labels, genes) = count_screen();
    let dir = tempfile::tempdir().unwrap();
    let mut cards = Vec::new();
    for form in ["sparse", "dense"] {
        std::fs::create_dir_all(dir.path().join(form)).unwrap();
        let file = dir.path().join(form).join("screen.h5ad");
        let mut adata = sparse_anndata(&rows, "perturbation", &labels, &genes);
        if form == "dense" {
            adata.x = arena_data::Matrix::Dense(adata.x.to_dense());
        }
        write_h5ad(&file, &adata);
        for (run, extra) in [("baselines", vec![]), ("predictions", vec!["--predictions", file.to_str().unwrap()])] {
            let out = dir.path().join(format!("{form}-{run}"));
            let mut args = vec!["--dataset", file.to_str().unwrap(), "--bootstrap", "50"];
            args.extend(extra);
            eval(&out, &args).ok();
            cards.push((format!("{form} {run}"), out));
        }
    }
    for i in 0..2 {
        let ((a_name, a), (b_name, b)) = (&cards[i], &cards[i + 2]);
        let (x, y) = (comparable(&a.join("scorecard.json")), comparable(&b.join("scorecard.json")));
        let differ: Vec<_> = x.iter().zip(&y).filter(|(p, q)| p != q).take(5).collect();
        assert!(x.len() == y.len() && differ.is_empty(), "{a_name} vs {b_name}: {differ:?}");
        let bytes = |d: &Path| std::fs::read(d.join("per_perturbation.parquet")).unwrap();
        assert!(bytes(a) == bytes(b), "{a_name} vs {b_name}: per_perturbation.parquet differs");
    }
}

#[test]
fn a_screen_read_group_by_group_scores_exactly_as_one_held_whole_and_holds_no_more_than_its_largest_groups() {
    // The count screen with its cells shuffled, so that every group is scattered through the file.
    let (rows, labels, genes) = count_screen();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    let mut rng = TestRng(11);
    for i in (1..order.len()).rev() {
        order.swap(i, (rng.uniform() * (i + 1) as f64) as usize % (i + 1));
    }
    let rows: Vec<Vec<f32>> = order.iter().map(|&i| rows[i].clone()).collect();
    let labels: Vec<String> = order.iter().map(|&i| labels[i].clone()).collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("screen.h5ad");
    write_h5ad(&file, &sparse_anndata(&rows, "perturbation", &labels, &genes));
    let cache = dir.path().join("cache");
    let file_arg = file.to_str().unwrap();
    let whole = dir.path().join("whole");
    eval(&whole, &["--dataset", file_arg, "--bootstrap", "50"]).ok();
    // Twice: the first run groups the file into a store, the second reuses it.
    for run in ["building", "reusing"] {
        let out = dir.path().join(run);
        let mut cmd = arena();
        cmd.env("ARENA_CACHE_DIR", &cache).args(["eval", "--out", out.to_str().unwrap(), "--dataset", file_arg]);
        cmd.args(["--bootstrap", "50", "--low-memory"]);
        run_command(cmd).ok();
        let (x, y) = (comparable(&whole.join("scorecard.json")), comparable(&out.join("scorecard.json")));
        let differ: Vec<_> = x.iter().zip(&y).filter(|(p, q)| p != q).take(5).collect();
        assert!(x.len() == y.len() && differ.is_empty(), "{run}: {differ:?}");
        let bytes = |d: &Path| std::fs::read(d.join("per_perturbation.parquet")).unwrap();
        assert!(bytes(&whole) == bytes(&out), "{run}: per_perturbation.parquet differs");
        assert_eq!(std::fs::read_dir(cache.join("grouped")).unwrap().count(), 1, "{run}: one store in the cache");
    }
    // In the library: scoring every baseline holds at most the controls and two other groups.
    let options = arena_sim::load::LoadOptions { grouped_cache: Some(cache.join("grouped")), ..Default::default() };
    let choice =
        arena_eval::session::TaskChoice { task: "unseen-single", task_file: None, dataset: file_arg, split_seed: None };
    let session =
        arena_eval::session::Session::open(&choice, &arena_data::Registry::embedded().unwrap(), &options).unwrap();
    let instance = session.instance().unwrap();
    let eval_options = arena_eval::EvalOptions {
        bootstrap: tasks::scorecard::BootstrapSettings { resamples: 50, level: 0.95, seed: 0 },
        ..Default::default()
    };
    arena_eval::evaluate(&instance, None, "test", &eval_options).unwrap();
    let tasks::Expression::Stored(stored) = instance.dataset.expression() else { panic!("not read group by group") };
    let peak = stored.0.peak_cells();
    assert!(peak > 0 && peak <= 200 + 2 * 40, "held {peak} of {} cells at once", rows.len());
}
