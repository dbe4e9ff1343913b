//! End-to-end tests of `arena audit` (gaming probes, systematic variation) and of the rank
//! confidence in `arena eval` scorecards, on the real data: Papalexi 2021 single cells and Norman
//! 2019 pseudobulk.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

fn audit(out: &Path, extra: &[&str]) -> Value {
    let mut args: Vec<String> = vec!["audit".into(), "--out".into(), out.display().to_string()];
    args.push("--data-dir".into());
    args.push(data_dir().display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    let r = run(&args).ok();
    assert!(r.stdout.contains("| probe: shuffled"), "{}", r.stdout);
    assert!(r.stdout.contains("Systematic variation"), "{}", r.stdout);
    let path = out.join("audit.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn audit_row<'a>(a: &'a Value, name: &str) -> &'a Value {
    a["rows"].as_array().unwrap().iter().find(|r| r["name"] == name).unwrap_or_else(|| {
        panic!("no row {name}: {:?}", a["rows"].as_array().unwrap().iter().map(|r| &r["name"]).collect::<Vec<_>>())
    })
}

fn higher_is_better(row: &Value, metric: &str) -> bool {
    row["metrics"].as_array().unwrap().iter().find(|m| m["metric"] == metric).unwrap()["higher_is_better"]
        .as_bool()
        .unwrap()
}

fn flagged(a: &Value, probe: &str, metric: &str) -> bool {
    a["flags"].as_array().unwrap().iter().any(|f| f["probe"] == probe && f["metric"] == metric)
}

/// The flag rule of an independent probe, recomputed from the audit's own numbers: strictly
/// better than the best baseline, or at least as good as the submission (1e-8 tolerance).
fn expected_flag(a: &Value, probe: &str, metric: &str) -> bool {
    let sub = metric_mean(audit_row(a, a["submission"].as_str().unwrap()), metric);
    let higher = higher_is_better(audit_row(a, probe), metric);
    let v = metric_mean(audit_row(a, probe), metric);
    let baselines: Vec<f64> = a["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["role"] == "baseline")
        .map(|r| metric_mean(r, metric))
        .collect();
    let best = baselines
        .iter()
        .copied()
        .fold(if higher { f64::NEG_INFINITY } else { f64::INFINITY }, |b, x| if higher { b.max(x) } else { b.min(x) });
    let better = |x: f64, y: f64| if higher { x > y + 1e-8 } else { x < y - 1e-8 };
    better(v, best) || !better(sub, v)
}

/// The shuffled probe answers every item with another item's truth: centroid accuracy near chance.
/// With N test items its expectation is (N − 2)/(2(N − 1)) (the predicted item itself is always
/// nearer than the true one); the tolerance around 0.5 is that bias, 1/(2(N − 1)), plus three
/// standard errors of a mean of N near-uniform scores, 3/√(12N) (`metrics::systematic`).
fn check_shuffled_at_chance(a: &Value) {
    let n = a["n_test"].as_u64().unwrap() as usize;
    let ca = metric_mean(audit_row(a, "probe: shuffled"), "centroid_accuracy");
    let tol = metrics::systematic::shuffled_centroid_tolerance(n);
    assert!((ca - 0.5).abs() <= tol, "shuffled centroid_accuracy {ca} is not within {tol} of 0.5 (N = {n})");
    assert_eq!(
        flagged(a, "probe: shuffled", "centroid_accuracy"),
        expected_flag(a, "probe: shuffled", "centroid_accuracy"),
        "flag of the shuffled probe on centroid_accuracy disagrees with the rules: {}",
        a["flags"]
    );
    // The derangement has no fixed point: no item is answered with its own truth.
    let labels: Vec<&str> = audit_row(a, "probe: shuffled")["per_perturbation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["perturbation"].as_str().unwrap())
        .collect();
    let from: Vec<&str> = a["shuffled_from"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(labels.len(), from.len());
    assert!(labels.iter().zip(&from).all(|(l, f)| l != f), "{labels:?} {from:?}");
}

/// Profile metrics are on predicted means and the variance-inflated probe keeps the means, so it
/// ties the unmodified submission on every metric and item (up to f32 rounding of the inflated
/// cells, < 1e-9) and is never flagged.
fn check_variance_inflated_ties(a: &Value) {
    let sub = audit_row(a, a["submission"].as_str().unwrap());
    let inflated = audit_row(a, "probe: variance-inflated");
    let pp = |r: &Value| r["per_perturbation"].as_array().unwrap().clone();
    let (s, v) = (pp(sub), pp(inflated));
    assert_eq!(s.len(), v.len());
    for (x, y) in s.iter().zip(&v) {
        assert_eq!(x["perturbation"], y["perturbation"]);
        for (p, q) in x["values"].as_array().unwrap().iter().zip(y["values"].as_array().unwrap()) {
            match (p.as_f64(), q.as_f64()) {
                (Some(p), Some(q)) => assert!((p - q).abs() < 1e-9, "{}: {p} vs {q}", x["perturbation"]),
                (None, None) => {}
                other => panic!("{}: definedness differs: {other:?}", x["perturbation"]),
            }
        }
    }
    for m in sub["metrics"].as_array().unwrap() {
        let name = m["metric"].as_str().unwrap();
        assert!((metric_mean(sub, name) - metric_mean(inflated, name)).abs() < 1e-9, "{name}");
        assert!(!flagged(a, "probe: variance-inflated", name), "variance inflation flagged on {name}");
    }
}

#[test]
fn audit_papalexi_cells() {
    let tmp = tempfile::tempdir().unwrap();
    let a = audit(&tmp.path().join("out"), &["--dataset", "papalexi2021"]);
    assert_eq!(a["format"], "arena-audit-v1");
    assert_eq!(a["task"], "papalexi2021-unseen-single");
    assert_eq!(a["submission"], "additive");
    assert_eq!(a["n_test"], 10);
    check_shuffled_at_chance(&a);
    check_variance_inflated_ties(&a);
    // Independent probes are flagged exactly by the rules, on every metric.
    for probe in ["probe: perturbed-mean", "probe: control-mean", "probe: shuffled"] {
        for m in ["pearson_delta_pert", "pearson_delta", "mae", "mse", "centroid_accuracy"] {
            assert_eq!(flagged(&a, probe, m), expected_flag(&a, probe, m), "{probe} on {m}: {}", a["flags"]);
        }
    }
    // The split-half ceiling is above every baseline on the primary metric.
    let primary = a["primary_metric"].as_str().unwrap();
    let ceiling = metric_mean(audit_row(&a, "noise ceiling"), primary);
    for r in a["rows"].as_array().unwrap().iter().filter(|r| r["role"] == "baseline") {
        let v = metric_mean(r, primary);
        assert!(ceiling > v, "ceiling {primary} {ceiling} is not above {} = {v}", r["name"]);
    }
    // Systematic variation: one cosine per test item, in [-1, 1], and the constant μ_pert earns
    // nothing on the Systema metric by construction.
    let s = &a["systematic"];
    let cos = s["cosines"].as_array().unwrap();
    assert_eq!(cos.len(), 10);
    assert!(cos.iter().all(|c| c[1].as_f64().is_some_and(|v| (-1.0..=1.0).contains(&v))));
    let earned = s["earned_by_constant"].as_array().unwrap();
    let pdp = earned.iter().find(|e| e["metric"] == "pearson_delta_pert").unwrap();
    assert_eq!(pdp["constant_value"].as_f64(), Some(0.0));
    assert_eq!(pdp["fraction"].as_f64(), Some(0.0));
}

#[test]
fn audit_norman_pseudobulk() {
    let tmp = tempfile::tempdir().unwrap();
    let a = audit(&tmp.path().join("out"), &["--dataset", "norman2019", "--task", "combinatorial"]);
    assert_eq!(a["task"], "norman2019-combinatorial");
    check_shuffled_at_chance(&a);
    check_variance_inflated_ties(&a);
    assert!(a["notes"].to_string().contains("no noise ceiling"), "{}", a["notes"]);
    assert!(!a["rows"].as_array().unwrap().iter().any(|r| r["role"] == "ceiling"));
    assert_eq!(a["systematic"]["cosines"].as_array().unwrap().len(), a["n_test"].as_u64().unwrap() as usize);
}

#[test]
fn audit_refuses_inverse_design() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let r = run([
        "audit",
        "--task",
        "inverse-design",
        "--out",
        out.to_str().unwrap(),
        "--data-dir",
        data_dir().to_str().unwrap(),
    ])
    .failed();
    assert!(r.stderr.contains("every family but inverse design"), "{}", r.stderr);
    assert_no_output(&out);
}

/// Control rows of a predictions file never change any audited score.
#[test]
fn audit_ignores_controls_in_a_predictions_file() {
    // Genes from the data file (read under the HDF5 lock), test labels from a baseline audit.
    let genes: Vec<String> = read_h5ad(&data_dir().join("papalexi2021_thp1_eccite_rna.h5ad")).var.index;
    let tmp0 = tempfile::tempdir().unwrap();
    let first = audit(&tmp0.path().join("out"), &["--dataset", "papalexi2021"]);
    let labels: Vec<String> = audit_row(&first, "additive")["per_perturbation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["perturbation"].as_str().unwrap().to_string())
        .collect();
    let mu = vec![1.0f64; genes.len()];
    let tmp = tempfile::tempdir().unwrap();
    let mut cards = Vec::new();
    for (k, control_value) in [(0, 7.5f32), (1, -2.25f32)] {
        let (mut x, mut obs) = (Vec::new(), Vec::new());
        for (i, label) in labels.iter().enumerate() {
            for c in 0..2 {
                obs.push(label.clone());
                x.push(
                    mu.iter().enumerate().map(|(g, &v)| (v + 0.01 * ((g * (i + 1) + c) % 7) as f64) as f32).collect(),
                );
            }
        }
        for c in 0..4 {
            obs.push("non-targeting".into());
            x.push((0..genes.len()).map(|g| control_value + (g * (c + 1)) as f32 * 0.01).collect::<Vec<f32>>());
        }
        let dir = tmp.path().join(format!("v{k}"));
        std::fs::create_dir_all(&dir).unwrap();
        let pred = dir.join("pred.h5ad");
        write_h5ad(&pred, &anndata(x, "perturbation", &obs, &genes));
        let mut a = audit(&dir.join("out"), &["--dataset", "papalexi2021", "--predictions", pred.to_str().unwrap()]);
        for r in a["rows"].as_array_mut().unwrap() {
            r.as_object_mut().unwrap().remove("model_sha256");
        }
        cards.push(a);
    }
    assert_eq!(cards[0]["rows"], cards[1]["rows"], "control rows of the predictions file changed a score");
    assert_eq!(cards[0]["flags"], cards[1]["flags"]);
}

/// Every `arena eval` scorecard carries rank intervals on the primary metric: seeded
/// (bit-identical across runs), containing the point rank, with the table's `rank` column.
#[test]
fn eval_rank_intervals_are_deterministic_and_contain_the_rank() {
    let tmp = tempfile::tempdir().unwrap();
    let mut confidences = Vec::new();
    for k in 0..2 {
        let out = tmp.path().join(format!("r{k}"));
        let r = run([
            "eval",
            "--dataset",
            "papalexi2021",
            "--out",
            out.to_str().unwrap(),
            "--data-dir",
            data_dir().to_str().unwrap(),
        ])
        .ok();
        assert!(r.stdout.lines().any(|l| l.starts_with("| row") && l.contains("| rank")), "{}", r.stdout);
        assert!(r.stdout.contains(", group A"), "{}", r.stdout);
        let card = read_scorecard(&out);
        let rc = card["rank_confidence"].clone();
        assert_eq!(rc["metric"], card["primary_metric"]);
        let rows = rc["rows"].as_array().unwrap();
        // Every row but the noise ceiling (a reference line) is ranked, in the scorecard's order.
        let ranked: Vec<&Value> = card["rows"].as_array().unwrap().iter().filter(|r| r["kind"] != "ceiling").collect();
        assert_eq!(rows.len(), ranked.len());
        let mut ranks: Vec<u64> = Vec::new();
        for (entry, row) in rows.iter().zip(ranked.iter().copied()) {
            assert_eq!(entry[0], row["name"]);
            let r = &entry[1];
            let (rank, lo, hi) =
                (r["rank"].as_u64().unwrap(), r["lower"].as_u64().unwrap(), r["upper"].as_u64().unwrap());
            assert!(lo <= rank && rank <= hi, "{entry}");
            ranks.push(rank);
            if rank == 1 {
                assert_eq!(r["tie_group"], 0);
            }
        }
        // The point ranks follow the means on the primary metric (competition ranking: equal
        // means share a rank, rank = 1 + rows strictly better).
        let primary = card["primary_metric"].as_str().unwrap();
        let by_mean: Vec<(f64, u64)> = rows
            .iter()
            .zip(ranked.iter().copied())
            .map(|(e, row)| (metric_mean(row, primary), e[1]["rank"].as_u64().unwrap()))
            .collect();
        for &(mean, rank) in &by_mean {
            let better = by_mean.iter().filter(|(other, _)| *other > mean).count() as u64;
            assert_eq!(rank, 1 + better, "{by_mean:?}");
        }
        assert!(ranks.contains(&1));
        confidences.push(rc);
    }
    assert_eq!(confidences[0], confidences[1], "rank intervals differ between two identical runs");
}
