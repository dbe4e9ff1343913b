//! The dose family end to end: the simulator's drug mode under `sim-dose` (unseen doses),
//! `sim-dose-unseen-compound` and `sim-dose-unseen-context`, scored with the baselines, the audit's probes and the ceiling; the
//! reference model refusing compounds with a clear message; and the public sci-Plex 3 task files
//! run on a fixture in the scPerturb file's layout, placed where `arena fetch sciplex3` puts it.

mod common;

use std::collections::BTreeSet;

use arena_data::{Column, Frame, Matrix, Registry};
use arena_eval::{EvalOptions, evaluate};
use arena_sim::load::{LoadOptions, load_dataset};
use common::*;
use tasks::scorecard::{BootstrapSettings, Scorecard};
use tasks::{Dataset, Subgroup, TaskInstance, find_spec};

fn load(key: &str) -> Dataset {
    let registry = Registry::embedded().unwrap();
    let options = LoadOptions { data_dir: Some(data_dir()), ..LoadOptions::default() };
    load_dataset(key, &registry, &options).unwrap_or_else(|e| panic!("loading {key}: {e}")).dataset
}

fn options() -> EvalOptions {
    EvalOptions { bootstrap: BootstrapSettings { resamples: 100, level: 0.95, seed: 0 }, ..EvalOptions::default() }
}

fn mean_of(card: &Scorecard, row: &str, metric: &str) -> f64 {
    let r = card.rows.iter().find(|r| r.name == row).unwrap_or_else(|| panic!("no row {row}"));
    r.metric(metric).unwrap_or_else(|| panic!("{row}: no {metric}")).overall.mean
}

#[test]
fn sim_dose_holds_out_the_middle_doses_and_dose_aware_baselines_beat_dose_blind_ones() {
    let ds = load("simulator-drugs");
    assert_eq!(ds.id, "simulator-drugs");
    assert!(ds.context.as_ref().is_some_and(|c| c.name == "B"), "context B is attached");
    let instance = TaskInstance::build(find_spec("sim-dose", None).unwrap(), &ds).unwrap();
    // 16 compounds at 7 doses: 10, 100 and 1000 nM of each are held out, the 4 others train.
    let doses = |ids: &mut dyn Iterator<Item = tasks::ConditionId>| -> BTreeSet<String> {
        ids.map(|c| ds.condition(c).single_compound().unwrap().1.label()).collect()
    };
    let tested = doses(&mut instance.split.test.iter().map(|t| t.condition));
    let trained = doses(&mut instance.split.train.iter().copied());
    assert_eq!(tested, ["10nM", "100nM", "1000nM"].map(String::from).into_iter().collect());
    assert_eq!(trained, ["3nM", "30nM", "300nM", "3000nM"].map(String::from).into_iter().collect());
    assert_eq!((instance.split.test.len(), instance.split.train.len()), (48, 64));
    assert!(instance.split.test.iter().all(|t| t.subgroup == Subgroup::UnseenDose));

    let card = evaluate(&instance, None, "test", &options()).unwrap();
    assert_eq!(card.primary_metric, "pearson_delta_per_dose");
    for row in &card.rows {
        for m in ["pearson_delta_per_dose", "dose_monotonicity", "pearson_delta"] {
            assert!(row.metric(m).is_some(), "{}: no {m}", row.name);
        }
    }
    // The ceiling row is there and above the dose-blind baselines.
    let ceiling = mean_of(&card, "noise-ceiling", "pearson_delta_per_dose");
    let blind = mean_of(&card, "perturbed-mean", "pearson_delta_per_dose");
    let additive = mean_of(&card, "additive", "pearson_delta_per_dose");
    let ridge = mean_of(&card, "ridge", "pearson_delta_per_dose");
    assert!(
        ceiling > blind && additive > blind && ridge > blind,
        "ceiling {ceiling}, additive {additive}, ridge {ridge}, perturbed-mean {blind}"
    );
    // A dose-blind prediction ties every dose pair: monotonicity exactly 0.5; interpolating between
    // the training doses orders the held-out doses mostly right.
    assert_eq!(mean_of(&card, "control-mean", "dose_monotonicity"), 0.5);
    assert_eq!(mean_of(&card, "perturbed-mean", "dose_monotonicity"), 0.5);
    assert!(mean_of(&card, "additive", "dose_monotonicity") > 0.7);
    // The audit ran its probes, the dose family's own among them.
    let audit = card.audit.as_ref().expect("an audit section");
    let probes: Vec<&str> = audit.probes.iter().map(|p| p.probe.as_str()).collect();
    assert!(probes.contains(&"probe: nearest seen dose"), "{probes:?}");
}

#[test]
fn sim_dose_unseen_compound_holds_out_whole_compounds() {
    let ds = load("simulator-drugs");
    let instance = TaskInstance::build(find_spec("sim-dose-unseen-compound", None).unwrap(), &ds).unwrap();
    let compounds = |ids: Vec<tasks::ConditionId>| -> BTreeSet<String> {
        ids.into_iter().map(|c| ds.condition(c).single_compound().unwrap().0.to_string()).collect()
    };
    let tested = compounds(instance.split.test.iter().map(|t| t.condition).collect());
    let trained = compounds(instance.split.train.clone());
    assert_eq!(tested.len(), 4, "a quarter of 16 compounds");
    assert!(tested.is_disjoint(&trained) && trained.len() == 12);
    assert_eq!(instance.split.test.len(), 4 * 7, "every dose of a held-out compound");
    let card = evaluate(&instance, None, "test", &options()).unwrap();
    // An unseen compound's dose series: additive falls back to the perturbed mean at every dose
    // (dose-blind, 0.5); ridge's intercept is dose-blind too.
    assert_eq!(mean_of(&card, "additive", "dose_monotonicity"), 0.5);
    assert!(mean_of(&card, "noise-ceiling", "dose_monotonicity") > 0.5);
}

#[test]
fn sim_dose_unseen_context_scores_context_b_zero_shot_against_its_own_references() {
    let ds = load("simulator-drugs");
    let instance = TaskInstance::build(find_spec("sim-dose-unseen-context", None).unwrap(), &ds).unwrap();
    // Every compound at every dose trains in A and is held out in B.
    assert_eq!((instance.split.test.len(), instance.split.train.len()), (16 * 7, 16 * 7));
    assert!(instance.split.test.iter().all(|t| t.subgroup == Subgroup::NewContext));
    let ctx = ds.context.as_ref().unwrap();
    let cs = instance.split.context.as_ref().unwrap();
    assert!(cs.shot_order.is_empty(), "zero-shot: no example of B");
    assert!(cs.control_adapt_rows.iter().all(|r| !cs.control_test_rows.contains(r)));
    // μ_ctrl is B's reference controls' mean; the start cells are B's other controls; the truth is
    // B's cells of each condition.
    let b_mean = ctx.expression.mean_of_rows(&cs.control_adapt_rows);
    assert!(instance.control_mean.iter().zip(b_mean.iter()).all(|(a, b)| (a - b).abs() < 1e-12));
    assert!(instance.start_rows.iter().all(|r| cs.control_test_rows.contains(r)));
    for (t, rows) in instance.split.test.iter().zip(&instance.test_rows) {
        assert_eq!(rows.len(), 30, "{}", t.label);
        assert!(rows.iter().all(|&r| ctx.perturbations[r] == *ds.condition(t.condition)), "{}", t.label);
    }
    let card = evaluate(&instance, None, "test", &options()).unwrap();
    let blind = mean_of(&card, "perturbed-mean", "pearson_delta_per_dose");
    let additive = mean_of(&card, "additive", "pearson_delta_per_dose");
    let ceiling = mean_of(&card, "noise-ceiling", "pearson_delta_per_dose");
    assert!(blind < additive && additive < ceiling, "perturbed-mean {blind}, additive {additive}, ceiling {ceiling}");
}

#[test]
fn arena_eval_runs_sim_dose_end_to_end_and_the_reference_refuses_it_with_the_reason() {
    let ids = run(["tasks", "--ids"]).ok().stdout;
    assert!(ids.lines().any(|l| l == "sim-dose") && ids.lines().any(|l| l == "sim-dose-unseen-compound"), "{ids}");
    let show = run(["tasks", "show", "sim-dose"]).ok().stdout;
    assert!(show.contains("unseen doses (interpolation)"), "{show}");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("dose");
    let r = run([
        "eval",
        "--task",
        "sim-dose",
        "--baseline",
        "additive",
        "--bootstrap",
        "50",
        "--out",
        out.to_str().unwrap(),
    ])
    .ok();
    assert!(r.stdout.contains("pearson_delta_per_dose"), "{}", r.stdout);
    let card = read_scorecard(&out);
    assert_eq!(card["task"]["id"], "sim-dose");
    let names = row_names(&card);
    for name in ["additive", "control-mean", "ridge", "noise-ceiling"] {
        assert!(names.iter().any(|n| n == name), "no {name} row: {names:?}");
    }
    assert!(metric_mean(row(&card, "additive"), "pearson_delta_per_dose").is_finite());
    let probes: Vec<&str> =
        card["audit"]["probes"].as_array().unwrap().iter().map(|p| p["probe"].as_str().unwrap()).collect();
    assert!(probes.contains(&"probe: nearest seen dose") && probes.contains(&"probe: shuffled"), "{probes:?}");
    // The reference model reads gene actions only: it refuses, saying why and what to run instead.
    let r =
        run(["eval", "--reference", "--task", "sim-dose", "--out", tmp.path().join("ref").to_str().unwrap()]).failed();
    assert!(r.stderr.contains("does not model") && r.stderr.contains("compounds"), "{}", r.stderr);
}

/// sci-Plex 3 in scPerturb's layout: categorical obs `perturbation` (`control` and compounds),
/// float `dose_value` (0 for controls), categorical `dose_unit` (`nM`) and `cell_line` (A549, K562,
/// MCF7); raw counts in a dense float32 X. Each compound moves gene (k + 3) % n_genes by its dose.
fn sciplex3_fixture(compounds: &[&str], cells_per: usize) -> arena_data::AnnData {
    let n_genes = 30;
    let genes: Vec<String> = (0..n_genes).map(|g| format!("SYM{g}")).collect();
    let lines = ["A549", "K562", "MCF7"];
    let doses = [10.0, 100.0, 1000.0, 10000.0];
    let mut categories = vec!["control".to_string()];
    categories.extend(compounds.iter().map(|c| c.to_string()));
    let (mut codes, mut dose, mut line_codes, mut x) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut rng = TestRng(11);
    for (l, _) in lines.iter().enumerate() {
        let mut conditions: Vec<(usize, f64)> = vec![(0, 0.0); 40];
        for k in 1..categories.len() {
            conditions.extend(doses.iter().flat_map(|&d| std::iter::repeat_n((k, d), cells_per)));
        }
        for (k, d) in conditions {
            codes.push(k as i32);
            dose.push(d);
            line_codes.push(l as i32);
            x.extend((0..n_genes).map(|g| {
                let hit = k > 0 && g == (k + 3) % n_genes;
                let rate = 8.0 + (g % 4) as f64 + if hit { d.log10() * 3.0 } else { 0.0 } + l as f64;
                (rate * (0.6 + 0.8 * rng.uniform())).floor() as f32
            }));
        }
    }
    let n_cells = codes.len();
    let unit_codes = vec![0; n_cells];
    arena_data::AnnData {
        x: Matrix::Dense(ndarray::Array2::from_shape_vec((n_cells, n_genes), x).unwrap()),
        obs: Frame {
            index_name: "_index".into(),
            index: (0..n_cells).map(|i| format!("cell{i}")).collect(),
            columns: vec![
                ("perturbation".into(), Column::Categorical { codes, categories }),
                ("dose_value".into(), Column::Float(dose)),
                ("dose_unit".into(), Column::Categorical { codes: unit_codes, categories: vec!["nM".into()] }),
                (
                    "cell_line".into(),
                    Column::Categorical { codes: line_codes, categories: lines.map(String::from).to_vec() },
                ),
            ],
        },
        var: Frame { index_name: "_index".into(), index: genes, columns: vec![] },
        layers: vec![],
        obsm: vec![],
        uns_strings: vec![],
    }
}

#[test]
fn the_sciplex3_task_file_runs_on_a_fixture_in_the_registered_layout() {
    let dir = tempfile::tempdir().unwrap();
    let entry_dir = dir.path().join("cache").join("sciplex3");
    std::fs::create_dir_all(&entry_dir).unwrap();
    let compounds = ["Dexamethasone", "SAHA", "Nutlin-3a", "BMS-345541"];
    let file = entry_dir.join("SrivatsanTrapnell2020_sciplex3.h5ad");
    write_h5ad(&file, &sciplex3_fixture(&compounds, 6));
    // A user registry: the embedded entry with the fixture's checksum pinned instead of the real md5.
    let registry_file = dir.path().join("fixture.toml");
    let sha = pinned_registry(&registry_file, "sciplex3", &file);
    let eval_task_file = |task_file: &std::path::Path, out: &std::path::Path| {
        let mut cmd = arena();
        cmd.env("ARENA_CACHE_DIR", dir.path().join("cache")).args([
            "eval",
            "--task-file",
            task_file.to_str().unwrap(),
            "--registry",
            registry_file.to_str().unwrap(),
            "--bootstrap",
            "50",
            "--out",
            out.to_str().unwrap(),
        ]);
        run_external(&mut cmd).ok()
    };

    // The loader reads the A549 cells only, each treated cell as its compound at its dose.
    let task_file = workspace_root().join("tasks/public/sciplex3-dose.toml");
    let spec = arena_eval::session::read_task_file(&task_file).unwrap();
    assert_eq!(spec.spec.dataset, "sciplex3[cell_line=A549]");
    assert!(matches!(spec.spec.split, tasks::SplitRule::UnseenDose { .. }));
    let out = dir.path().join("out");
    let r = eval_task_file(&task_file, &out);
    assert!(r.stdout.contains("sciplex3-dose"), "{}", r.stdout);
    let card = read_scorecard(&out);
    assert_eq!(card["dataset"]["id"], "sciplex3[cell_line=A549]");
    assert_eq!(card["dataset"]["sha256"], sha.as_str());
    // 40 controls and 4 compounds x 4 doses x 6 cells of A549 only.
    assert_eq!(card["dataset"]["n_rows"], 40 + 4 * 4 * 6, "{}", card["dataset"]);
    let split: serde_json::Value = common::read_json(&out, "split.json");
    let tested: BTreeSet<&str> =
        split["test"].as_array().unwrap().iter().map(|t| t["label"].as_str().unwrap()).collect();
    let expected: BTreeSet<String> = compounds.iter().map(|c| format!("{c}@100nM")).collect();
    assert_eq!(tested, expected.iter().map(String::as_str).collect());
    let trained: BTreeSet<&str> = split["train"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    assert_eq!(trained.len(), 4 * 3);
    assert!(trained.contains("SAHA@10000nM") && trained.contains("SAHA@10nM") && !trained.contains("SAHA@100nM"));
    // The interpolating baseline beats the dose-blind one on the fixture's dose-dependent effect.
    let additive = metric_mean(row(&card, "additive"), "pearson_delta_per_dose");
    let blind = metric_mean(row(&card, "perturbed-mean"), "pearson_delta_per_dose");
    assert!(additive > blind, "additive {additive} vs perturbed-mean {blind}");
    // The unseen-compound file on the same download: one of the 4 compounds, at all 4 doses.
    let compound_file = workspace_root().join("tasks/public/sciplex3-unseen-compound.toml");
    let out = dir.path().join("compound");
    eval_task_file(&compound_file, &out);
    let split: serde_json::Value = common::read_json(&out, "split.json");
    let tested: Vec<&str> = split["test"].as_array().unwrap().iter().map(|t| t["label"].as_str().unwrap()).collect();
    assert_eq!(tested.len(), 4, "{tested:?}");
    let held_out = tested[0].split('@').next().unwrap();
    assert!(
        compounds.contains(&held_out) && tested.iter().all(|t| t.starts_with(&format!("{held_out}@"))),
        "{tested:?}"
    );
    let card = read_scorecard(&out);
    assert!(metric_mean(row(&card, "noise-ceiling"), "dose_monotonicity").is_finite());
    // Without the download the error says what to run.
    let mut cmd = arena();
    cmd.env("ARENA_CACHE_DIR", dir.path().join("empty")).args([
        "eval",
        "--task-file",
        task_file.to_str().unwrap(),
        "--out",
        dir.path().join("none").to_str().unwrap(),
    ]);
    let r = run_external(&mut cmd).failed();
    assert!(r.stderr.contains("arena fetch sciplex3"), "{}", r.stderr);
}

/// A predictions file labels compounds as `name@dose` (the label every scorecard and split file
/// writes): the true means of the held-out items, submitted that way, score a perfect 1 on both
/// dose metrics.
#[test]
fn a_predictions_file_with_compound_labels_scores_the_truth_perfectly() {
    let ds = load("simulator-drugs");
    let instance = TaskInstance::build(find_spec("sim-dose", None).unwrap(), &ds).unwrap();
    let labels: Vec<String> = instance.eval_items().iter().map(|i| i.label.clone()).collect();
    assert!(labels.iter().all(|l| l.contains('@') && l.ends_with("nM")), "{labels:?}");
    let x: Vec<Vec<f32>> = instance.truth_means().iter().map(|m| m.iter().map(|&v| v as f32).collect()).collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("preds.h5ad");
    write_h5ad(&file, &anndata(x, "perturbation", &labels, ds.genes.names()));
    let out = dir.path().join("out");
    run([
        "eval",
        "--task",
        "sim-dose",
        "--predictions",
        file.to_str().unwrap(),
        "--bootstrap",
        "50",
        "--out",
        out.to_str().unwrap(),
    ])
    .ok();
    let card = read_scorecard(&out);
    let submitted =
        card["rows"].as_array().unwrap().iter().find(|r| r["kind"] == "predictions").expect("predictions row");
    for m in ["pearson_delta_per_dose", "dose_monotonicity"] {
        let v = metric_mean(submitted, m);
        assert!((v - 1.0).abs() < 1e-6, "{m} = {v}");
    }
}

/// `arena serve --hidden-task sim-dose`: the secret's world is another drug world (other targets
/// and doses' responses, same design), and its training download holds the training doses'
/// cells only, labelled `name@dose` so that they parse back to compounds at doses.
#[test]
fn a_hidden_drug_world_differs_from_the_public_one_and_its_download_holds_no_test_dose() {
    use arena_serve::worlds::{Secret, write_training_h5ad};
    let registry = Registry::embedded().unwrap();
    let options = LoadOptions { data_dir: Some(data_dir()), ..LoadOptions::default() };
    let spec = find_spec("sim-dose", None).unwrap();
    let public = load("simulator-drugs");
    let world = Secret::new("organiser-secret-7c1e9a4b2d6f80e3").unwrap().world("sim-dose");
    let (loaded, hidden_spec) = world.load(&spec, &registry, &options).unwrap();
    assert_ne!(loaded.dataset.sha256, public.sha256, "the hidden world is another simulation");
    let hidden = TaskInstance::build(hidden_spec, &loaded.dataset).unwrap();
    let public_instance = TaskInstance::build(spec, &public).unwrap();
    let differs = hidden
        .truth_means()
        .iter()
        .zip(public_instance.truth_means())
        .any(|(h, p)| h.iter().zip(&p).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max) > 1e-3);
    assert!(differs, "the hidden truths equal the public ones");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("training.h5ad");
    write_training_h5ad(&hidden, &path).unwrap();
    let adata = read_h5ad(&path);
    let obs: Vec<String> =
        adata.obs.column("perturbation").and_then(|c| c.as_labels()).unwrap().into_iter().map(Option::unwrap).collect();
    let tested: BTreeSet<String> = hidden.eval_items().into_iter().map(|i| i.label).collect();
    assert!(obs.iter().all(|l| !tested.contains(l)), "a held-out dose's cell is in the download");
    let controls: Vec<String> = tasks::DEFAULT_CONTROL_LABELS.iter().map(|s| s.to_string()).collect();
    for label in obs.iter().filter(|l| *l != "ctrl") {
        let p = tasks::Perturbation::parse(label, &controls, tasks::Direction::Knockdown).unwrap();
        let (_, dose) = p.single_compound().unwrap_or_else(|| panic!("{label} is not a compound at a dose"));
        assert!([3.0, 30.0, 300.0, 3000.0].contains(&dose.as_nanomolar()), "{label}");
    }
}
