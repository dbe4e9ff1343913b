//! The workspace's shape, checked on every run: no file-level import cycles in any crate
//! (`scripts/import_cycles.py`, which must also find a planted one), a thin binary crate, and no
//! library code that finds files through the source checkout's compile-time path.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Every crate's `src` folder.
fn crate_sources() -> Vec<PathBuf> {
    let root = common::workspace_root();
    let mut dirs: Vec<PathBuf> =
        ["tasks", "metrics", "reference-model", "leaderboard"].iter().map(|c| root.join(c).join("src")).collect();
    for e in std::fs::read_dir(root.join("arena")).unwrap().flatten() {
        if e.path().join("src").is_dir() {
            dirs.push(e.path().join("src"));
        }
    }
    dirs.sort();
    dirs
}

fn python() -> PathBuf {
    let venv = common::workspace_root().join(".venv/bin/python");
    if venv.is_file() { venv } else { PathBuf::from("python3") }
}

fn import_cycles(dirs: &[PathBuf]) -> (bool, String) {
    let out = Command::new(python())
        .arg(common::workspace_root().join("scripts/import_cycles.py"))
        .args(dirs)
        .output()
        .expect("running scripts/import_cycles.py");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn no_crate_has_a_file_level_import_cycle() {
    let dirs = crate_sources();
    assert!(dirs.len() >= 10, "expected the pipeline crates under arena/ and the four others: {dirs:?}");
    let (ok, report) = import_cycles(&dirs);
    assert!(ok, "file-level import cycles:\n{report}");
}

#[test]
fn the_cycle_check_finds_a_planted_cycle() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(src.join("families")).unwrap();
    std::fs::write(src.join("lib.rs"), "pub mod families;\npub mod options;\n").unwrap();
    std::fs::write(src.join("options.rs"), "pub struct Options;\n").unwrap();
    // families/mod.rs uses its child, which uses a type defined in families/mod.rs: a cycle.
    std::fs::write(
        src.join("families/mod.rs"),
        "pub mod few_shot;\nuse crate::options::Options;\npub struct Scored;\npub fn run(_: Options) { few_shot::go(); }\n",
    )
    .unwrap();
    std::fs::write(src.join("families/few_shot.rs"), "use super::Scored;\npub fn go() -> Option<Scored> { None }\n")
        .unwrap();
    let (ok, report) = import_cycles(std::slice::from_ref(&src));
    assert!(!ok && report.contains("families/few_shot -> families"), "{report}");
    // Moving the shared type into its own file (re-exported by the parent) breaks the cycle.
    std::fs::write(
        src.join("families/mod.rs"),
        "pub mod few_shot;\nmod scored;\npub use scored::Scored;\nuse crate::options::Options;\npub fn run(_: Options) { few_shot::go(); }\n",
    )
    .unwrap();
    std::fs::write(src.join("families/scored.rs"), "pub struct Scored;\n").unwrap();
    let (ok, report) = import_cycles(&[src]);
    assert!(ok, "{report}");
}

#[test]
fn the_binary_crate_only_parses_calls_and_prints() {
    let mut files = Vec::new();
    rust_files(&common::workspace_root().join("arena/cli/src"), &mut files);
    let lines: usize = files.iter().map(|f| std::fs::read_to_string(f).unwrap().lines().count()).sum();
    assert!(lines < 2000, "the binary crate arena/cli has {lines} lines; move work into the pipeline crates");
}

#[test]
fn library_code_does_not_find_files_through_the_checkout() {
    let mut offenders = Vec::new();
    for dir in crate_sources() {
        let mut files = Vec::new();
        rust_files(&dir, &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            if f.file_name().is_some_and(|n| n != "tests.rs") && code.contains("CARGO_MANIFEST_DIR") {
                offenders.push(f.display().to_string());
            }
        }
    }
    assert!(offenders.is_empty(), "CARGO_MANIFEST_DIR outside tests: {offenders:?}");
}
