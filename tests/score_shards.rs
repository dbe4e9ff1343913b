//! `arena score --shard K/N` and `arena merge`: the merged outputs equal the unsharded run's, byte
//! for byte, for every profile that spans perturbations and both control modes, and so do runs
//! in batches (`--batch-cells`); the merge refuses
//! partials that do not belong together (another input file, profile or shard count), a shard
//! given twice and a missing shard, and then writes nothing. The Slurm path runs for real: a
//! private one-node cluster (deploy/slurm/test-local.sh) runs the shards as a job array and the
//! merge as a dependent job.
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{TestRng, arena_bin, assert_no_output, run, run_external, sparse_anndata, workspace_root, write_h5ad};

const GENES: usize = 40;
const PERTS: usize = 14;

/// log1p-like cells: 300 controls, and perturbation k (named after gene k, so PDS drops it) with
/// 30 + 9k cells that raise gene k and lower gene k + 20. Group sizes differ so that the energy
/// distances batch their cells differently in a shard and in the whole run. `extra` predicted
/// cells are added to the first perturbation (the cap must act the same in every shard).
fn write(path: &Path, seed: u64, ctrl_shift: f64, extra: usize) {
    write_ordered(path, seed, ctrl_shift, extra, false);
}

/// [`write`], with the cells in label order or, `scattered`, spread through the file (cell i of
/// the file is cell 7919·i mod n of the grouped order).
fn write_ordered(path: &Path, seed: u64, ctrl_shift: f64, extra: usize, scattered: bool) {
    let genes: Vec<String> = (0..GENES).map(|g| format!("G{g}")).collect();
    let mut rng = TestRng(seed);
    let (mut rows, mut labels) = (Vec::new(), Vec::new());
    let mut groups: Vec<(String, usize, Option<usize>)> = vec![("ctrl".into(), 300, None)];
    groups.extend((0..PERTS).map(|k| (format!("G{k}"), 30 + 9 * k + if k == 0 { extra } else { 0 }, Some(k))));
    for (label, n, k) in groups {
        for _ in 0..n {
            let row: Vec<f32> = (0..GENES)
                .map(|g| {
                    let mut v = 1.0 + 0.4 * rng.normal() + if k.is_none() { ctrl_shift } else { 0.0 };
                    if Some(g) == k {
                        v += 1.2;
                    }
                    if k.is_some_and(|k| g == k + 20) {
                        v -= 0.7;
                    }
                    if rng.uniform() < 0.25 { 0.0 } else { v.max(0.0) as f32 }
                })
                .collect();
            rows.push(row);
            labels.push(label.clone());
        }
    }
    if scattered {
        let n = rows.len();
        let order: Vec<usize> = (0..n).map(|i| i * 7919 % n).collect();
        rows = order.iter().map(|&i| rows[i].clone()).collect();
        labels = order.iter().map(|&i| labels[i].clone()).collect();
    }
    write_h5ad(path, &sparse_anndata(&rows, "target", &labels, &genes));
}

fn files(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let (real, pred, other) = (dir.join("real.h5ad"), dir.join("pred.h5ad"), dir.join("other.h5ad"));
    write(&real, 1, 0.0, 0);
    write(&pred, 2, 0.3, 25);
    write(&other, 3, 0.3, 25);
    (real, pred, other)
}

fn score(real: &Path, pred: &Path, out: &Path, extra: &[&str]) -> common::Run {
    let mut args = vec!["score", "--real", real.to_str().unwrap(), "--pred", pred.to_str().unwrap()];
    args.extend(["--control-pert", "ctrl", "--outdir", out.to_str().unwrap()]);
    args.extend(extra);
    run(args)
}

fn merge(out: &Path, partials: &[PathBuf]) -> common::Run {
    let mut args = vec!["merge".to_string(), "--outdir".into(), out.display().to_string()];
    args.extend(partials.iter().map(|p| p.display().to_string()));
    run(args)
}

/// The output files of a run folder, name → bytes.
fn outputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect();
    files.sort();
    files
}

#[test]
fn merged_shards_equal_the_single_run_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (real, pred, _) = files(dir.path());
    for (name, extra) in [
        ("full-real", vec!["--profile", "full"]),
        ("full-own", vec!["--profile", "full", "--controls", "own"]),
        ("systema", vec!["--profile", "systema"]),
        ("stamp", vec!["--profile", "stamp", "--keep-all-cells"]),
    ] {
        let single = dir.path().join(format!("{name}-single"));
        score(&real, &pred, &single, &extra).ok();
        let want = outputs(&single);
        assert!(want.iter().any(|(f, _)| f == "results.csv") && want.len() >= 6, "{name}: {:?}", want.len());
        // Batches of at most 150 or 400 cells (both files, controls not counted): 2 to 9 batches.
        for batch in ["150", "400"] {
            let batched = dir.path().join(format!("{name}-batch{batch}"));
            let mut args = extra.clone();
            args.extend(["--batch-cells", batch]);
            score(&real, &pred, &batched, &args).ok();
            assert!(outputs(&batched) == want, "{name}: --batch-cells {batch} changed an output");
        }
        for n in [1usize, 3, 5] {
            let partials: Vec<PathBuf> = (1..=n).map(|k| dir.path().join(format!("{name}-{n}-part{k}"))).collect();
            // Shards in reverse order: the merge orders them itself.
            for (k, p) in partials.iter().enumerate().rev() {
                let shard = format!("{}/{n}", k + 1);
                let mut args = extra.clone();
                args.extend(["--shard", &shard]);
                if k == 0 {
                    args.extend(["--batch-cells", "200"]);
                }
                let r = score(&real, &pred, p, &args).ok();
                assert!(r.stdout.contains(&format!("Scored shard {shard}")), "{}", r.stdout);
                assert!(p.join("partial.json").is_file() && !p.join("results.csv").exists());
            }
            let merged = dir.path().join(format!("{name}-{n}-merged"));
            let r = merge(&merged, &partials).ok();
            assert!(r.stdout.contains(&format!("Merged {n} partial(s)")), "{}", r.stdout);
            let got = outputs(&merged);
            assert_eq!(
                got.iter().map(|f| &f.0).collect::<Vec<_>>(),
                want.iter().map(|f| &f.0).collect::<Vec<_>>(),
                "{name}, {n} shards: the same files"
            );
            for ((file, a), (_, b)) in got.iter().zip(&want) {
                assert!(a == b, "{name}, {n} shards: {file} differs from the single run");
            }
        }
    }
}

#[test]
fn scattered_cells_are_grouped_once_into_a_store_that_later_batches_and_shards_reuse() {
    let dir = tempfile::tempdir().unwrap();
    let (real, pred) = (dir.path().join("real.h5ad"), dir.path().join("pred.h5ad"));
    write_ordered(&real, 1, 0.0, 0, true);
    write_ordered(&pred, 2, 0.3, 25, true);
    let cache = dir.path().join("cache");
    let score_cached = |out: &Path, extra: &[&str]| {
        let mut cmd = common::arena();
        cmd.env("ARENA_CACHE_DIR", &cache).args(["score", "--real", real.to_str().unwrap()]);
        cmd.args(["--pred", pred.to_str().unwrap(), "--control-pert", "ctrl", "--profile", "full"]);
        cmd.args(["--outdir", out.to_str().unwrap()]).args(extra);
        run_external(&mut cmd).ok()
    };
    let single = dir.path().join("single");
    score_cached(&single, &[]);
    let want = outputs(&single);
    let stores = || -> Vec<(PathBuf, std::time::SystemTime)> {
        let Ok(entries) = std::fs::read_dir(cache.join("grouped")) else { return Vec::new() };
        let mut found: Vec<_> = entries
            .flatten()
            .map(|e| (e.path(), std::fs::metadata(e.path().join("cells.parquet")).unwrap().modified().unwrap()))
            .collect();
        found.sort();
        found
    };
    assert!(stores().is_empty(), "one read of every cell needs no store");
    let batched = dir.path().join("batched");
    score_cached(&batched, &["--batch-cells", "150"]);
    assert!(outputs(&batched) == want, "batches read through the store changed an output");
    let built = stores();
    assert_eq!(built.len(), 2, "a store for each file: {built:?}");
    for (store, _) in &built {
        let manifest: serde_json::Value = common::read_json(store, "manifest.json");
        assert_eq!(manifest["groups"].as_array().unwrap().len(), PERTS + 1, "{manifest}");
        assert_eq!(manifest["column"], "target");
    }
    // Later runs reuse the stores: other batches, and shards merged.
    let again = dir.path().join("again");
    score_cached(&again, &["--batch-cells", "400"]);
    assert!(outputs(&again) == want);
    let partials: Vec<PathBuf> = (1..=3).map(|k| dir.path().join(format!("part{k}"))).collect();
    for (k, p) in partials.iter().enumerate() {
        score_cached(p, &["--shard", &format!("{}/3", k + 1)]);
    }
    let merged = dir.path().join("merged");
    merge(&merged, &partials).ok();
    assert!(outputs(&merged) == want, "shards read through the store changed an output");
    assert_eq!(stores(), built, "the stores were rebuilt instead of reused");
}

#[test]
fn merge_refuses_partials_that_do_not_belong_together() {
    let dir = tempfile::tempdir().unwrap();
    let (real, pred, other) = files(dir.path());
    let part = |k: usize, n: usize, pred: &Path, extra: &[&str]| -> PathBuf {
        let p =
            dir.path().join(format!("p{k}of{n}-{}-{}", pred.file_stem().unwrap().to_string_lossy(), extra.join("")));
        let shard = format!("{k}/{n}");
        let mut args = extra.to_vec();
        args.extend(["--shard", &shard]);
        score(&real, pred, &p, &args).ok();
        p
    };
    let (a, b, c) = (part(1, 3, &pred, &[]), part(2, 3, &pred, &[]), part(3, 3, &pred, &[]));
    let out = dir.path().join("merged");
    let refused = |partials: &[PathBuf], why: &str| {
        let r = merge(&out, partials).failed();
        assert!(r.stderr.contains(why), "expected '{why}' in:\n{}", r.stderr);
        assert_no_output(&out);
    };
    refused(&[a.clone(), c.clone()], "missing shard(s) 2/3");
    refused(&[a.clone(), b.clone(), b.clone(), c.clone()], "shard 2/3 is given twice");
    refused(&[a.clone(), b.clone(), part(3, 3, &other, &[])], "pred.sha256");
    refused(&[a.clone(), b.clone(), part(3, 3, &pred, &["--profile", "vcc"])], "profile");
    refused(&[a.clone(), b.clone(), part(3, 3, &pred, &["--controls", "own"])], "controls");
    refused(&[a.clone(), b.clone(), part(3, 4, &pred, &[])], "shard count N");
    refused(&[a.clone(), dir.path().join("nothing-here")], "not a partial");
    merge(&out, &[c, a, b]).ok();

    // More shards than perturbations, and vcc2026, are refused by `arena score` itself.
    let p = dir.path().join("too-many");
    let r = score(&real, &pred, &p, &["--shard", &format!("1/{}", PERTS + 1)]).failed();
    assert!(r.stderr.contains(&format!("only {PERTS} perturbation(s)")), "{}", r.stderr);
    assert_no_output(&p);
    let r = score(&real, &pred, &p, &["--shard", "0/2"]).failed();
    assert!(r.stderr.contains("K must be in 1..=2"), "{}", r.stderr);
}

/// deploy/slurm/submit.sh on a real Slurm (slurmctld, slurmd, munged from Debian's slurm-wlm and
/// munge, which scripts/setup.sh installs): 4 array tasks, then the merge job, whose outputs the
/// script compares with the unsharded run byte for byte. The daemons run as root (through
/// `sudo -n` for another user).
#[test]
fn a_slurm_job_array_and_its_merge_equal_the_single_run() {
    let dir = tempfile::tempdir().unwrap();
    let (real, pred, _) = files(dir.path());
    let root = run_external(Command::new("id").arg("-u")).stdout.trim() == "0";
    let mut cmd = if root { Command::new("bash") } else { Command::new("sudo") };
    if !root {
        cmd.args(["-n", "--preserve-env=ARENA,PATH", "bash"]);
    }
    cmd.arg(workspace_root().join("deploy/slurm/test-local.sh"))
        .args([&real, &pred])
        .args(["--control-pert", "ctrl"])
        .env("ARENA", arena_bin())
        .env("PATH", format!("/usr/sbin:/sbin:{}", std::env::var("PATH").unwrap_or_default()));
    let r = run_external(&mut cmd);
    assert!(
        r.success() && r.stderr.contains("PASS: 4 shards through Slurm"),
        "the Slurm test failed (exit {:?}):\n{}\n{}",
        r.code,
        r.stdout,
        r.stderr
    );
}
