//! End-to-end tests of `arena score`: the outputs of each profile, the two control modes, and the
//! refusals (gene mismatch, missing control label, missing perturbation, NaN, raw counts), each
//! naming the file and the field and leaving no output behind.
mod common;

use std::path::Path;

use common::{Csv, TestRng, run, sparse_anndata, write_h5ad};

const GENES: usize = 30;

/// A small log1p-like dataset: 40 controls and 12 cells of each of 4 perturbations; perturbation
/// k raises gene k (its own name is `GENE{k}` so PDS drops it) and lowers gene k + 10.
fn dataset(seed: u64, ctrl_shift: f32) -> (Vec<Vec<f32>>, Vec<String>, Vec<String>) {
    let genes: Vec<String> = (0..GENES).map(|g| format!("GENE{g}")).collect();
    let mut rng = TestRng(seed);
    let (mut rows, mut labels) = (Vec::new(), Vec::new());
    for (label, n, k) in [
        ("non-targeting", 40, None),
        ("GENE0", 12, Some(0)),
        ("GENE1", 12, Some(1)),
        ("GENE2", 12, Some(2)),
        ("GENE3", 12, Some(3)),
    ] {
        for _ in 0..n {
            let row: Vec<f32> = (0..GENES)
                .map(|g| {
                    let mut v = 1.0 + 0.3 * rng.normal() + if k.is_none() { f64::from(ctrl_shift) } else { 0.0 };
                    if Some(g) == k {
                        v += 1.5;
                    }
                    if k.is_some_and(|k| g == k + 10) {
                        v -= 0.8;
                    }
                    if rng.uniform() < 0.2 { 0.0 } else { v.max(0.0) as f32 }
                })
                .collect();
            rows.push(row);
            labels.push(label.to_string());
        }
    }
    (rows, labels, genes)
}

fn write(path: &Path, seed: u64, ctrl_shift: f32) {
    let (rows, labels, genes) = dataset(seed, ctrl_shift);
    write_h5ad(path, &sparse_anndata(&rows, "target", &labels, &genes));
}

fn score(dir: &Path, real: &Path, pred: &Path, extra: &[&str]) -> common::Run {
    let out = dir.join("out");
    let mut args: Vec<String> = vec![
        "score".into(),
        "--real".into(),
        real.display().to_string(),
        "--pred".into(),
        pred.display().to_string(),
        "--outdir".into(),
        out.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    run(args)
}

#[test]
fn full_profile_writes_every_table_and_modes_differ() {
    let dir = tempfile::tempdir().unwrap();
    let (real, pred) = (dir.path().join("real.h5ad"), dir.path().join("pred.h5ad"));
    write(&real, 1, 0.0);
    write(&pred, 2, 0.5); // the prediction's own controls are shifted
    let r = score(dir.path(), &real, &pred, &["--controls", "own"]).ok();
    assert!(r.stdout.contains("Scored 4 perturbations x 30 genes"), "{}", r.stdout);
    let out = dir.path().join("out");
    for f in ["results", "agg_results", "real_de", "pred_de"] {
        assert!(out.join(format!("{f}.csv")).is_file(), "{f}.csv");
        assert!(out.join(format!("{f}.parquet")).is_file(), "{f}.parquet");
    }
    let own = Csv::read(&out.join("results.csv"));
    assert_eq!(own.header[0], "perturbation");
    assert_eq!(own.rows.len(), 4);
    for col in [
        "overlap_at_N",
        "de_nsig_counts_real",
        "pr_auc",
        "pearson_delta",
        "discrimination_score_cosine",
        "pearson_edistance",
    ] {
        assert!(own.col(col).is_some(), "results.csv lacks {col}: {:?}", own.header);
    }
    let de = Csv::read(&out.join("real_de.csv"));
    assert_eq!(
        de.header.join(","),
        "target,feature,target_mean,ref_mean,target_membership,ref_membership,log2_fold_change,percent_change,p_value,statistic,fdr"
    );
    assert_eq!(de.rows.len(), 4 * GENES);
    let agg = Csv::read(&out.join("agg_results.csv"));
    let stats: Vec<&str> = agg.rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(stats, ["count", "null_count", "mean", "std", "min", "25%", "50%", "75%", "max"]);

    // Arena mode: the shifted prediction controls no longer move the deltas.
    let r2 = score(dir.path(), &real, &pred, &["--controls", "real"]).ok();
    assert!(r2.stdout.contains("real controls") || r2.stdout.contains("real)"), "{}", r2.stdout);
    let arena = Csv::read(&out.join("results.csv"));
    let c = own.col("mse_delta").unwrap();
    assert_ne!(own.rows[0][c], arena.rows[0][c], "own and real control modes should differ");
    // Deterministic: the same run again gives byte-identical tables.
    let first = std::fs::read(out.join("results.csv")).unwrap();
    score(dir.path(), &real, &pred, &["--controls", "real"]).ok();
    assert_eq!(first, std::fs::read(out.join("results.csv")).unwrap());
}

#[test]
fn systema_and_vcc_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let (real, pred) = (dir.path().join("real.h5ad"), dir.path().join("pred.h5ad"));
    write(&real, 1, 0.0);
    write(&pred, 3, 0.0);
    score(dir.path(), &real, &pred, &["--profile", "systema"]).ok();
    let s = Csv::read(&dir.path().join("out/results.csv"));
    assert_eq!(s.header, ["perturbation", "pearson_delta_pert", "pearson_delta_pert_de20", "centroid_accuracy"]);
    score(dir.path(), &real, &pred, &["--profile", "vcc"]).ok();
    let v = Csv::read(&dir.path().join("out/results.csv"));
    assert_eq!(v.header, ["perturbation", "overlap_at_N", "mae", "discrimination_score_l1"]);
    score(dir.path(), &real, &pred, &["--profile", "pds"]).ok();
}

/// STAMP on the truth itself: every real DEG ranks before every other gene, the real up/down
/// split is the sign of the log2 fold change, and the fold changes agree: AUCs 1, r 1, MSE 0. On
/// another draw of the same biology the identification is good but not perfect.
#[test]
fn stamp_profile_scores_the_truth_perfectly() {
    let dir = tempfile::tempdir().unwrap();
    let (real, pred) = (dir.path().join("real.h5ad"), dir.path().join("pred.h5ad"));
    write(&real, 1, 0.0);
    write(&pred, 3, 0.0);
    let columns = [
        "stamp_deg_roc_auc",
        "stamp_deg_pr_auc",
        "stamp_direction_roc_auc",
        "stamp_direction_pr_auc",
        "stamp_magnitude_pearson",
        "stamp_magnitude_mse",
    ];
    score(dir.path(), &real, &real, &["--profile", "stamp"]).ok();
    let t = Csv::read(&dir.path().join("out/results.csv"));
    assert_eq!(t.header[1..], columns);
    let value = |t: &Csv, c: &str| -> f64 { t.rows[0][t.col(c).unwrap()].parse().unwrap() };
    for c in &columns[..5] {
        assert_eq!(value(&t, c), 1.0, "{c}");
    }
    assert!(t.rows.iter().all(|r| r[1..] == t.rows[0][1..]), "one value per run, repeated on every row");
    assert_eq!(value(&t, "stamp_magnitude_mse"), 0.0);
    score(dir.path(), &real, &pred, &["--profile", "stamp"]).ok();
    let t = Csv::read(&dir.path().join("out/results.csv"));
    let roc = value(&t, "stamp_deg_roc_auc");
    assert!(roc > 0.8 && roc < 1.0, "{roc}");
    assert!(value(&t, "stamp_magnitude_mse") > 0.0);
}

#[test]
fn every_profile_prints_only_catalogued_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let (real, pred) = (dir.path().join("real.h5ad"), dir.path().join("pred.h5ad"));
    write(&real, 1, 0.0);
    write(&pred, 3, 0.0);
    for profile in ["full", "vcc", "minimal", "de", "anndata", "pds", "systema", "stamp"] {
        score(dir.path(), &real, &pred, &["--profile", profile]).ok();
        for table in ["results", "agg_results"] {
            let t = Csv::read(&dir.path().join(format!("out/{table}.csv")));
            for name in &t.header[1..] {
                assert!(
                    metrics::catalog::score(name).is_some(),
                    "{profile} {table}: `{name}` is not in metrics::catalog"
                );
            }
        }
    }
}

#[test]
fn refusals_name_the_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.h5ad");
    write(&real, 1, 0.0);
    let (rows, labels, genes) = dataset(2, 0.0);
    let cases: Vec<(&str, common::Run, &str)> = {
        let mut v = Vec::new();
        // genes in another order
        let mut g2 = genes.clone();
        g2.swap(0, 1);
        let p = dir.path().join("genes.h5ad");
        write_h5ad(&p, &sparse_anndata(&rows, "target", &labels, &g2));
        v.push(("genes", score(dir.path(), &real, &p, &[]), "var/_index"));
        // missing control label
        let l2: Vec<String> =
            labels.iter().map(|l| if l == "non-targeting" { "NT".to_string() } else { l.clone() }).collect();
        let p = dir.path().join("ctrl.h5ad");
        write_h5ad(&p, &sparse_anndata(&rows, "target", &l2, &genes));
        v.push(("control", score(dir.path(), &real, &p, &[]), "non-targeting"));
        // a perturbation missing from the prediction
        let keep: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] != "GENE2").collect();
        let p = dir.path().join("missing.h5ad");
        let r3: Vec<Vec<f32>> = keep.iter().map(|&i| rows[i].clone()).collect();
        let l3: Vec<String> = keep.iter().map(|&i| labels[i].clone()).collect();
        write_h5ad(&p, &sparse_anndata(&r3, "target", &l3, &genes));
        v.push(("missing perturbation", score(dir.path(), &real, &p, &[]), "GENE2"));
        // NaN
        let mut r4 = rows.clone();
        r4[3][4] = f32::NAN;
        let p = dir.path().join("nan.h5ad");
        write_h5ad(&p, &sparse_anndata(&r4, "target", &labels, &genes));
        v.push(("nan", score(dir.path(), &real, &p, &[]), "'X'"));
        // raw counts
        let r5: Vec<Vec<f32>> = rows.iter().map(|r| r.iter().map(|v| v.round()).collect()).collect();
        let p = dir.path().join("counts.h5ad");
        write_h5ad(&p, &sparse_anndata(&r5, "target", &labels, &genes));
        v.push(("counts", score(dir.path(), &real, &p, &[]), "log1p"));
        // wrong perturbation column
        v.push(("column", score(dir.path(), &real, &real, &["--pert-col", "gene"]), "obs/gene"));
        v
    };
    for (what, r, needle) in cases {
        let r = r.failed();
        assert!(r.stderr.contains(needle), "{what}: stderr should mention {needle}:\n{}", r.stderr);
        assert!(r.stderr.contains(".h5ad"), "{what}: stderr should name the file:\n{}", r.stderr);
        common::assert_no_output(&dir.path().join("out"));
    }
}
