//! End-to-end tests of bad inputs: every one exits non-zero, names the file or field, says what
//! was expected, and leaves no output behind; plus `arena datasets` verification.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;

/// Runs `arena eval --out OUT --data-dir DATA ARGS` and checks the failure contract.
fn eval_fails(tmp: &Path, data: &Path, extra: &[&str]) -> Run {
    let out = tmp.join("out");
    let mut args: Vec<String> =
        vec!["eval".into(), "--out".into(), out.display().to_string(), "--data-dir".into(), data.display().to_string()];
    args.push("--bootstrap".into());
    args.push("50".into());
    args.extend(extra.iter().map(|s| s.to_string()));
    let r = run(&args).failed();
    assert_no_output(&out);
    assert!(!r.stderr.trim().is_empty(), "no error message on stderr");
    r
}

fn assert_mentions(r: &Run, needles: &[&str]) {
    for n in needles {
        assert!(r.stderr.contains(n), "stderr does not mention {n:?}:\n{}", r.stderr);
    }
}

fn write(path: &Path, adata: &arena_data::AnnData) -> PathBuf {
    write_h5ad(path, adata);
    path.to_path_buf()
}

#[test]
fn missing_dataset_file() {
    let tmp = tempfile::tempdir().unwrap();
    let r = eval_fails(tmp.path(), &data_dir(), &["--dataset", "/nonexistent.h5ad"]);
    assert_mentions(&r, &["/nonexistent.h5ad", "not found"]);
}

#[test]
fn corrupted_registered_file_fails_its_sha256() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let name = "papalexi2021_thp1_eccite_rna.h5ad";
    let mut bytes = std::fs::read(data_dir().join(name)).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xFF;
    std::fs::write(data.join(name), &bytes).unwrap();
    let r = eval_fails(tmp.path(), &data, &["--dataset", "papalexi2021"]);
    assert_mentions(&r, &[name, "sha256", "ab68b5114ec8f91fc003f616ea1c9095d6c73d3d5de90e59a5127761c04ade35"]);
}

#[test]
fn h5ad_without_the_named_perturbation_column() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(
        &tmp.path().join("small.h5ad"),
        &small_counts_anndata("perturbation", "ctrl", &["GENE1", "GENE2", "GENE3", "GENE4"], 6, 8),
    );
    let r =
        eval_fails(tmp.path(), &data_dir(), &["--dataset", file.to_str().unwrap(), "--perturbation-column", "nope"]);
    assert_mentions(&r, &["small.h5ad", "obs/nope", "perturbation", "--perturbation-column"]);
}

#[test]
fn h5ad_without_a_control_label() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(
        &tmp.path().join("nocontrol.h5ad"),
        &small_counts_anndata("perturbation", "baseline_cells", &["GENE1", "GENE2", "GENE3", "GENE4"], 6, 8),
    );
    let r = eval_fails(tmp.path(), &data_dir(), &["--dataset", file.to_str().unwrap()]);
    assert_mentions(&r, &["nocontrol.h5ad", "obs/perturbation", "control label", "--control-label", "baseline_cells"]);
}

#[test]
fn dataset_with_nan_in_x() {
    let tmp = tempfile::tempdir().unwrap();
    let mut adata = small_counts_anndata("perturbation", "ctrl", &["GENE1", "GENE2", "GENE3", "GENE4"], 6, 8);
    let arena_data::Matrix::Csr(m) = &mut adata.x else { panic!("expected CSR") };
    // Row 3, gene 5 (all values are stored, 8 per row).
    m.data[3 * 8 + 5] = f32::NAN;
    let file = write(&tmp.path().join("nan.h5ad"), &adata);
    let r = eval_fails(tmp.path(), &data_dir(), &["--dataset", file.to_str().unwrap()]);
    assert_mentions(&r, &["nan.h5ad", "X[3, 5]", "GENE5", "NaN", "finite"]);
}

/// A predictions file for the default simulator task: one constant profile per listed label.
fn predictions(task: &SimTask, labels: &[String], genes: &[String]) -> arena_data::AnnData {
    let x = labels
        .iter()
        .enumerate()
        .map(|(i, _)| (0..genes.len()).map(|g| 0.5 + 0.01 * (g + i) as f32).collect())
        .collect();
    let _ = task;
    anndata(x, "perturbation", labels, genes)
}

#[test]
fn predictions_with_a_renamed_gene() {
    let task = sim_task();
    let tmp = tempfile::tempdir().unwrap();
    let mut genes = task.genes.clone();
    let renamed = genes[3].clone();
    genes[3] = "NOT_A_GENE".into();
    let file = write(&tmp.path().join("pred.h5ad"), &predictions(&task, &task.test_labels, &genes));
    let r = eval_fails(tmp.path(), &data_dir(), &["--predictions", file.to_str().unwrap()]);
    assert_mentions(&r, &["pred.h5ad", "var/_index", &renamed, "NOT_A_GENE", "missing", "extra"]);
}

#[test]
fn predictions_lacking_a_test_perturbation() {
    let task = sim_task();
    let tmp = tempfile::tempdir().unwrap();
    let dropped = task.test_labels[0].clone();
    let labels: Vec<String> = task.test_labels[1..].to_vec();
    let file = write(&tmp.path().join("pred.h5ad"), &predictions(&task, &labels, &task.genes));
    let r = eval_fails(tmp.path(), &data_dir(), &["--predictions", file.to_str().unwrap()]);
    assert_mentions(&r, &["pred.h5ad", &format!("'{dropped}'"), "no cells"]);
}

#[test]
fn predictions_with_inf_in_x() {
    let task = sim_task();
    let tmp = tempfile::tempdir().unwrap();
    let mut adata = predictions(&task, &task.test_labels, &task.genes);
    let arena_data::Matrix::Csr(m) = &mut adata.x else { panic!("expected CSR") };
    m.data[task.genes.len() + 7] = f32::INFINITY;
    let file = write(&tmp.path().join("pred.h5ad"), &adata);
    let r = eval_fails(tmp.path(), &data_dir(), &["--predictions", file.to_str().unwrap()]);
    assert_mentions(&r, &["pred.h5ad", "X[1, 7]", &format!("'{}'", task.genes[7]), "finite"]);
}

#[test]
fn unknown_baseline() {
    let tmp = tempfile::tempdir().unwrap();
    let r = eval_fails(tmp.path(), &data_dir(), &["--baseline", "nope"]);
    assert_mentions(&r, &["'nope'", "baseline", "control-mean", "perturbed-mean", "additive", "linear"]);
}

#[test]
fn unknown_task() {
    let tmp = tempfile::tempdir().unwrap();
    let r = eval_fails(tmp.path(), &data_dir(), &["--task", "nope"]);
    assert_mentions(&r, &["nope", "task", "arena tasks"]);
}

#[test]
fn unknown_dataset_id() {
    let tmp = tempfile::tempdir().unwrap();
    let r = eval_fails(tmp.path(), &data_dir(), &["--dataset", "nope"]);
    assert_mentions(&r, &["'nope'", "known ids"]);
    for entry in arena_data::Registry::embedded().unwrap().entries() {
        assert_mentions(&r, &[&entry.id]);
    }
}

/// file name -> sha256 from the sha256 block of ../shared/data/README.md.
fn readme_sha256() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(data_dir().join("README.md")).unwrap();
    let map: BTreeMap<String, String> = text
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let (sha, file) = (parts.next()?, parts.next()?);
            (is_sha256(sha) && parts.next().is_none()).then(|| (file.to_string(), sha.to_string()))
        })
        .collect();
    assert_eq!(map.len(), 5, "expected five sha256 lines in the data README: {map:?}");
    map
}

fn local_entries() -> Vec<(String, String)> {
    arena_data::Registry::embedded()
        .unwrap()
        .entries()
        .iter()
        .filter_map(|e| match &e.source {
            arena_data::registry::Source::Local(name) => Some((e.id.clone(), name.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn datasets_verifies_every_local_file() {
    let shas = readme_sha256();
    let locals = local_entries();
    assert_eq!(locals.len(), shas.len(), "every file of the data README should be registered");
    let r = run(["datasets", "--data-dir", data_dir().to_str().unwrap()]).ok();
    for (id, file) in &locals {
        let sha = shas.get(file).unwrap_or_else(|| panic!("{file} (dataset {id}) is not in the data README"));
        let line = r
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("| {id} |")))
            .unwrap_or_else(|| panic!("no line for {id}:\n{}", r.stdout));
        assert!(line.contains("verified"), "{id} not verified: {line}");
        assert!(line.contains(sha.as_str()), "{id} line lacks the README sha256 {sha}: {line}");
    }
    // Every simulator dataset a task names is listed, with the task.
    for spec in tasks::embedded_specs().unwrap() {
        let d = spec.spec.dataset;
        if d.starts_with("simulator-") {
            assert!(r.stdout.contains(&format!("- {d}: ")), "{d} (task {}) is not listed:\n{}", spec.spec.id, r.stdout);
        }
    }
}

#[test]
fn datasets_reports_a_corrupted_file() {
    let tmp = tempfile::tempdir().unwrap();
    for (_, file) in local_entries() {
        std::fs::copy(data_dir().join(&file), tmp.path().join(&file)).unwrap();
    }
    let name = "norman2019_gi_regression_fits.csv";
    let mut bytes = std::fs::read(tmp.path().join(name)).unwrap();
    bytes[10] ^= 0x01;
    std::fs::write(tmp.path().join(name), &bytes).unwrap();
    let r = run(["datasets", "--data-dir", tmp.path().to_str().unwrap()]).failed();
    let line = r
        .stdout
        .lines()
        .find(|l| l.starts_with("| norman2019-gi-fits |"))
        .unwrap_or_else(|| panic!("no line for norman2019-gi-fits:\n{}", r.stdout));
    assert!(line.contains("SHA256 MISMATCH"), "{line}");
    // The other files stay verified, and the error names the problem.
    assert!(r.stdout.lines().any(|l| l.starts_with("| papalexi2021-thp1-rna |") && l.contains("verified")));
    assert!(r.stderr.contains("corrupt") || r.stderr.contains("missing"), "{}", r.stderr);
}

#[test]
fn genetic_interaction_fits_come_from_the_data_dir() {
    // --data-dir holds the Norman pseudobulk but not the GI fits: the table must be looked up
    // there (and found missing), not silently read from the default data directory.
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let name = "norman2019_k562_crispra_pseudobulk.npz";
    std::fs::copy(data_dir().join(name), data.join(name)).unwrap();
    let r = eval_fails(
        tmp.path(),
        &data,
        &["--baseline", "additive", "--dataset", "norman2019", "--task", "norman2019-genetic-interactions"],
    );
    assert_mentions(&r, &["norman2019_gi_regression_fits.csv", &data.display().to_string()]);
    // With the fits beside it, the same directory scores the GI metrics.
    let fits = "norman2019_gi_regression_fits.csv";
    std::fs::copy(data_dir().join(fits), data.join(fits)).unwrap();
    let out = tmp.path().join("ok");
    let args = [
        "eval",
        "--out",
        out.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--bootstrap",
        "50",
        "--baseline",
        "additive",
        "--dataset",
        "norman2019",
        "--task",
        "norman2019-genetic-interactions",
    ];
    let ok = run(args).ok();
    assert!(ok.stdout.contains("gi_magnitude_spearman"), "{}", ok.stdout);
}
