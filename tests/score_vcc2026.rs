//! `arena score --profile vcc2026` end to end on small raw-count files (no Python): the outputs
//! and their shapes, bit-for-bit determinism, `--batch-cells` (byte for byte the unbatched
//! outputs; refused with `--anchor`), the anchor (a repeat of the reference scores above
//! the baseline on every member), the `--standard` rules, and the raw-count refusals (negative,
//! non-integer, a cell above 10⁶ counts, other genes, other labels), each naming the file and
//! the field and writing nothing.
mod common;

use std::path::Path;

use common::{Csv, TestRng, csv_number, sparse_anndata, write_h5ad};

/// Raw counts: 8 perturbations named after genes GENE0..7 (a knockdown of their own gene and
/// shifts of 14 others) with 40 cells each, 120 controls, 60 genes, ~3,000 counts per cell.
fn dataset(seed: u64) -> (Vec<Vec<f32>>, Vec<String>, Vec<String>) {
    let n_genes = 60;
    let genes: Vec<String> = (0..n_genes).map(|g| format!("GENE{g}")).collect();
    let base: Vec<f64> = (0..n_genes).map(|g| 10.0 + 90.0 * ((g * 37 % 11) as f64 / 10.0)).collect();
    let mut rng = TestRng(seed);
    let (mut rows, mut labels) = (Vec::new(), Vec::new());
    let mut emit = |label: &str, mu: &[f64], n: usize, rows: &mut Vec<Vec<f32>>, labels: &mut Vec<String>| {
        for _ in 0..n {
            // Poisson-ish counts: the mean plus a scaled normal, rounded, clipped at 0
            let row: Vec<f32> = mu.iter().map(|&m| (m + m.sqrt() * rng.normal()).round().max(0.0) as f32).collect();
            rows.push(row);
            labels.push(label.to_string());
        }
    };
    emit("non-targeting", &base, 120, &mut rows, &mut labels);
    for p in 0..8 {
        let mut mu = base.clone();
        mu[p] *= 0.1;
        for k in 0..14 {
            mu[8 + (p * 3 + k * 4) % 52] *= if k % 2 == 0 { 2.5 } else { 0.4 };
        }
        emit(&format!("GENE{p}"), &mu, 40, &mut rows, &mut labels);
    }
    (rows, labels, genes)
}

fn write(path: &Path, rows: &[Vec<f32>], labels: &[String], genes: &[String]) {
    write_h5ad(path, &sparse_anndata(rows, "target", labels, genes));
}

fn score(real: &Path, pred: &Path, out: &Path, extra: &[&str]) -> common::Run {
    let mut args: Vec<std::ffi::OsString> = vec![
        "score".into(),
        "--profile".into(),
        "vcc2026".into(),
        "--real".into(),
        real.into(),
        "--pred".into(),
        pred.into(),
        "--outdir".into(),
        out.into(),
    ];
    args.extend(extra.iter().map(|s| s.into()));
    common::run(args)
}

#[test]
fn writes_long_results_and_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let (rows, labels, genes) = dataset(1);
    let real = dir.path().join("real.h5ad");
    write(&real, &rows, &labels, &genes);
    let (prow, plab, _) = dataset(2);
    let pred = dir.path().join("pred.h5ad");
    write(&pred, &prow, &plab, &genes);
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    score(&real, &pred, &a, &[]).ok();
    score(&real, &pred, &b, &["--standard", "v2"]).ok();
    for f in ["results.csv", "agg_results.csv", "real_de.csv", "pred_de.csv"] {
        let (x, y) = (std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap());
        assert_eq!(x, y, "{f} differs between two identical runs");
    }
    let results = Csv::read(&a.join("results.csv"));
    assert_eq!(results.header, ["perturbation", "metric", "value"]);
    let metrics: std::collections::BTreeSet<&str> = results.rows.iter().map(|r| r[1].as_str()).collect();
    for m in [
        "pds_cosine",
        "de_wilcoxon_direction_fidelity_yield_raw",
        "de_wilcoxon_direction_reach_raw",
        "de_wilcoxon_sig_jaccard",
        "de_wilcoxon_lfc_nmae",
        "expr_mse_unbiased",
        "expr_mse_unbiased_capped",
        "expr_distance_unbiased",
        "expr_real_mass_ratio",
    ] {
        let n = results.rows.iter().filter(|r| r[1] == m).count();
        assert_eq!(n, 8, "{m}: one row per perturbation");
    }
    assert_eq!(metrics.len(), 9, "no other per-perturbation member: {metrics:?}");
    // a second sample of the same biology: discrimination well above chance
    let agg = Csv::read(&a.join("agg_results.csv"));
    let mean = agg.rows.iter().find(|r| r[0] == "mean").unwrap();
    let get = |m: &str| csv_number(&mean[agg.col(m).unwrap()]).unwrap();
    assert!(get("pds_cosine") > 0.9, "pds_cosine {}", get("pds_cosine"));
    assert!(get("expr_mse_unbiased_capped_norm") < 0.5, "norm {}", get("expr_mse_unbiased_capped_norm"));
    assert!((get("expr_real_mass_ratio") - 1.0).abs() < 1e-12);
}

/// `--batch-cells N` reads each file's control cells once and the perturbations in batches of at
/// most N cells: the four outputs equal the unbatched run's byte for byte, with one batch per
/// perturbation (N below any perturbation's 80 cells), batches of two perturbations, and one
/// batch; the prediction's cells are shuffled so that every batch reads scattered rows. With
/// `--anchor` it is refused, naming both flags, and nothing is written.
#[test]
fn batches_give_the_unbatched_outputs_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (rows, labels, genes) = dataset(11);
    let real = dir.path().join("real.h5ad");
    write(&real, &rows, &labels, &genes);
    let (prow, plab, _) = dataset(12);
    let n = prow.len();
    let order: Vec<usize> = {
        let mut o: Vec<usize> = (0..n).collect();
        o.sort_by_key(|&i| (i * 7919) % n);
        o
    };
    let shuffled: Vec<Vec<f32>> = order.iter().map(|&i| prow[i].clone()).collect();
    let shuffled_labels: Vec<String> = order.iter().map(|&i| plab[i].clone()).collect();
    let pred = dir.path().join("pred.h5ad");
    write(&pred, &shuffled, &shuffled_labels, &genes);
    let all = dir.path().join("all");
    score(&real, &pred, &all, &[]).ok();
    for cells in ["1", "160", "1000000"] {
        let out = dir.path().join(format!("batch{cells}"));
        score(&real, &pred, &out, &["--batch-cells", cells]).ok();
        for f in ["results.csv", "agg_results.csv", "real_de.csv", "pred_de.csv"] {
            let (x, y) = (std::fs::read(all.join(f)).unwrap(), std::fs::read(out.join(f)).unwrap());
            assert!(x == y, "{f} differs with --batch-cells {cells}");
        }
    }
    let refused = dir.path().join("refused");
    let r = score(&real, &pred, &refused, &["--batch-cells", "100", "--anchor"]).failed();
    assert!(r.stderr.contains("--anchor") && r.stderr.contains("--batch-cells"), "{}", r.stderr);
    common::assert_no_output(&refused);
}

#[test]
fn anchor_scales_a_repeat_of_the_experiment_above_the_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let (rows, labels, genes) = dataset(3);
    let real = dir.path().join("real.h5ad");
    write(&real, &rows, &labels, &genes);
    let (prow, plab, _) = dataset(4);
    let pred = dir.path().join("pred.h5ad");
    write(&pred, &prow, &plab, &genes);
    let out = dir.path().join("out");
    let r = score(&real, &pred, &out, &["--anchor", "--anchor-seed", "7"]).ok();
    assert!(r.stdout.contains("avg_score"), "{}", r.stdout);
    let a = Csv::read(&out.join("anchor.csv"));
    assert_eq!(a.rows.len(), 7, "six members and avg_score");
    let col = |row: &Vec<String>, name: &str| csv_number(&row[a.col(name).unwrap()]);
    for row in a.rows.iter().take(6) {
        let (u, b, r, s) = (col(row, "user"), col(row, "baseline"), col(row, "replicate"), col(row, "scaled"));
        let (u, b, r, s) = (u.unwrap(), b.unwrap(), r.unwrap(), s.unwrap());
        assert!(r != b, "{}: replicate equals baseline", row[0]);
        // an independent sample of the same cells sits well above the mean-response baseline
        assert!(s > 0.5, "{}: scaled {s} (u {u}, b {b}, r {r})", row[0]);
        let splits: Vec<f64> = (0..5).filter_map(|i| col(row, &format!("replicate_split_{i}"))).collect();
        assert_eq!(splits.len(), 5);
        assert!((splits.iter().sum::<f64>() / 5.0 - r).abs() < 1e-12);
    }
    // seeded: the same seed repeats bit for bit, another seed moves the replicate
    let again = dir.path().join("again");
    score(&real, &pred, &again, &["--anchor", "--anchor-seed", "7"]).ok();
    assert_eq!(std::fs::read(out.join("anchor.csv")).unwrap(), std::fs::read(again.join("anchor.csv")).unwrap());
    let other = dir.path().join("other");
    score(&real, &pred, &other, &["--anchor", "--anchor-seed", "8"]).ok();
    assert_ne!(std::fs::read(out.join("anchor.csv")).unwrap(), std::fs::read(other.join("anchor.csv")).unwrap());
}

#[test]
fn standard_flags() {
    let dir = tempfile::tempdir().unwrap();
    let (rows, labels, genes) = dataset(5);
    let real = dir.path().join("real.h5ad");
    write(&real, &rows, &labels, &genes);
    let out = dir.path().join("out");
    let r = score(&real, &real, &out, &["--standard", "v1"]).failed();
    assert!(r.stderr.contains("v2"), "{}", r.stderr);
    // v2 is the vcc2026 profile only; the log1p profiles stay v1
    let r = common::run(["score", "--profile", "full", "--standard", "v2", "--real", "x.h5ad", "--pred", "y.h5ad"])
        .failed();
    assert!(r.stderr.contains("vcc2026"), "{}", r.stderr);
    common::assert_no_output(&out);
}

#[test]
fn raw_count_refusals_name_the_file_and_field_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (rows, labels, genes) = dataset(6);
    let real = dir.path().join("real.h5ad");
    write(&real, &rows, &labels, &genes);
    let out = dir.path().join("out");
    let bad = |name: &str, rows: &[Vec<f32>], labels: &[String], genes: &[String]| {
        let p = dir.path().join(format!("{name}.h5ad"));
        write(&p, rows, labels, genes);
        p
    };
    let mut cases: Vec<(&str, std::path::PathBuf, &str)> = Vec::new();
    let mut r = rows.clone();
    r[130][3] = -1.0;
    cases.push(("negative", bad("negative", &r, &labels, &genes), "non-negative integers"));
    let mut r = rows.clone();
    r[130][3] = 2.5;
    cases.push(("fractional", bad("fractional", &r, &labels, &genes), "non-integer value 2.5"));
    let log1p: Vec<Vec<f32>> = rows.iter().map(|r| r.iter().map(|v| v.ln_1p()).collect()).collect();
    cases.push(("log1p", bad("log1p", &log1p, &labels, &genes), "raw counts"));
    let mut r = rows.clone();
    r[130][0] = 2e6;
    cases.push(("deep cell", bad("deep", &r, &labels, &genes), "above the limit"));
    let mut g = genes.clone();
    g.swap(0, 1);
    cases.push(("genes", bad("genes", &rows, &labels, &g), "var/_index"));
    let l: Vec<String> = labels.iter().map(|x| if x == "GENE3" { "GENE99".into() } else { x.clone() }).collect();
    cases.push(("labels", bad("labels", &rows, &l, &genes), "GENE99"));
    let l: Vec<String> = labels.iter().map(|x| if x == "non-targeting" { "ctrl".into() } else { x.clone() }).collect();
    cases.push(("control label", bad("control", &rows, &l, &genes), "non-targeting"));
    for (what, pred, needle) in &cases {
        let r = score(&real, pred, &out, &[]).failed();
        assert!(r.stderr.contains(needle), "{what}: stderr should mention '{needle}':\n{}", r.stderr);
        let name = pred.file_name().unwrap().to_string_lossy().into_owned();
        assert!(r.stderr.contains(&name), "{what}: stderr should name {name}:\n{}", r.stderr);
        common::assert_no_output(&out);
    }
    // the reference is checked too
    let r = score(&cases[0].1, &real, &out, &[]).failed();
    assert!(r.stderr.contains("negative.h5ad") && r.stderr.contains("'X'"), "{}", r.stderr);
    common::assert_no_output(&out);
}
