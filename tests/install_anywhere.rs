//! An installed `arena` works away from the source checkout: `cargo install --path arena/cli`
//! into a temporary prefix, then runs from `/` with no checkout, data folder or `.venv` in
//! reach. The embedded registry and simulator serve `arena eval` and `arena datasets`; the
//! bundled reference weights are found in `<prefix>/share/arena/weights` (or `$ARENA_WEIGHTS_DIR`);
//! a missing data folder or weights folder is an error that says where it looked and what to set.

mod common;

use std::path::Path;
use std::process::{Command, Output};

/// `cargo install --debug --path arena/cli --root PREFIX`: the workspace's dev build, copied.
fn install(prefix: &Path) -> std::path::PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(common::workspace_root())
        .args(["install", "--debug", "--locked", "--offline", "--path", "arena/cli", "--root"])
        .arg(prefix)
        .output()
        .expect("running cargo install");
    assert!(out.status.success(), "cargo install failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let bin = prefix.join("bin").join(format!("arena{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.is_file(), "{} was not installed", bin.display());
    bin
}

/// The installed binary run from `/` with an environment that points nowhere near the checkout.
fn run_from_root(bin: &Path, args: &[&str], envs: &[(&str, &Path)]) -> Output {
    let mut c = Command::new(bin);
    c.current_dir("/").env_clear().env("PATH", "/usr/bin:/bin").args(args);
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().expect("running the installed arena")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn an_installed_binary_scores_from_the_root_directory() {
    let prefix = tempfile::tempdir().unwrap();
    let bin = install(prefix.path());
    let out_dir = prefix.path().join("results");
    let out = out_dir.to_str().unwrap();

    // The main job on the embedded default data: no files from the checkout.
    let eval = run_from_root(&bin, &["eval", "--bootstrap", "50", "--out", out], &[]);
    assert!(eval.status.success(), "{}", text(&eval));
    let card: serde_json::Value = common::read_scorecard(&out_dir);
    assert_eq!(card["task"]["id"], "sim-unseen-single");
    assert!(card["rows"].as_array().is_some_and(|r| r.len() > 3), "{card}");

    // The registry is embedded; with no data folder in reach, local files are listed as such.
    let datasets = run_from_root(&bin, &["datasets"], &[]);
    assert!(datasets.status.success(), "{}", text(&datasets));
    assert!(text(&datasets).contains("norman2019"), "{}", text(&datasets));

    // A registered local dataset without a data folder: the error names the fix.
    let real = run_from_root(&bin, &["eval", "--dataset", "papalexi2021", "--out", out], &[]);
    assert!(!real.status.success());
    assert!(text(&real).contains("--data-dir") && text(&real).contains("ARENA_DATA_DIR"), "{}", text(&real));

    // The reference model: no weights in reach is an error naming ARENA_WEIGHTS_DIR ...
    let none = run_from_root(&bin, &["eval", "--reference", "--bootstrap", "50", "--out", out], &[]);
    assert!(!none.status.success());
    assert!(text(&none).contains("ARENA_WEIGHTS_DIR"), "{}", text(&none));

    // ... and the installed layout <prefix>/share/arena/weights/<task>/ serves them.
    let task = "sim-unseen-single";
    let bundled = common::workspace_root().join("reference-model/weights").join(task);
    let installed = prefix.path().join("share/arena/weights").join(task);
    std::fs::create_dir_all(&installed).unwrap();
    for f in ["weights.safetensors", "config.json"] {
        std::fs::copy(bundled.join(f), installed.join(f)).unwrap();
    }
    let reference = run_from_root(&bin, &["eval", "--reference", "--bootstrap", "50", "--out", out], &[]);
    assert!(reference.status.success(), "{}", text(&reference));
    let card: serde_json::Value = common::read_scorecard(&out_dir);
    assert_eq!(card["model"], "reference");

    // A real dataset through ARENA_DATA_DIR, from the root directory.
    let data = common::data_dir();
    let papalexi = run_from_root(
        &bin,
        &["eval", "--dataset", "papalexi2021", "--bootstrap", "50", "--out", out],
        &[("ARENA_DATA_DIR", data.as_path())],
    );
    assert!(papalexi.status.success(), "{}", text(&papalexi));
}
