//! Bring your own data and task: a user's pseudobulk `.npz` (the Norman array layout, or other
//! array names declared in a registry entry) scored under a minimal task file (`id`, `family`,
//! `dataset`), with results under the file's own id, and `arena verify` reproducing them.

mod common;

use std::io::Write;
use std::path::Path;

use common::*;

/// One `.npy` (format 1.0, C order) of little-endian f32 values.
fn npy_f32(rows: usize, cols: usize, values: &[f32]) -> Vec<u8> {
    npy(
        &format!("'<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), "),
        values.iter().flat_map(|v| v.to_le_bytes()),
    )
}

/// One `.npy` of fixed-width unicode strings (`<U{n}`, UTF-32LE).
fn npy_strings(values: &[String]) -> Vec<u8> {
    let width = values.iter().map(|s| s.chars().count()).max().unwrap_or(1).max(1);
    let data = values.iter().flat_map(|s| {
        let mut chars: Vec<u32> = s.chars().map(u32::from).collect();
        chars.resize(width, 0);
        chars.into_iter().flat_map(u32::to_le_bytes)
    });
    npy(&format!("'<U{width}', 'fortran_order': False, 'shape': ({},), ", values.len()), data)
}

fn npy(fields: &str, data: impl Iterator<Item = u8>) -> Vec<u8> {
    let mut header = format!("{{'descr': {fields}}}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

fn write_npz(path: &Path, arrays: &[(&str, Vec<u8>)]) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, bytes) in arrays {
        zip.start_file(format!("{name}.npy"), zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

/// A small combinatorial screen (not Norman's): 16 targets, their singles and 48 doubles as log
/// fold changes over 40 genes (the first 16 genes are the targets), doubles ≈ the sum of their
/// singles plus an interaction. Returns (single rows, single labels, double rows, double labels,
/// genes).
#[allow(clippy::type_complexity)]
fn screen() -> (Vec<f32>, Vec<String>, Vec<f32>, Vec<String>, Vec<String>) {
    let (n_genes, n_targets) = (40, 16);
    let genes: Vec<String> = (0..n_genes).map(|g| format!("GENE{g}")).collect();
    let mut rng = TestRng(7);
    let effects: Vec<Vec<f32>> = (0..n_targets)
        .map(|t| {
            (0..n_genes)
                .map(|g| if g == t { 1.5 } else { (rng.normal() * if g % 3 == t % 3 { 0.6 } else { 0.1 }) as f32 })
                .collect()
        })
        .collect();
    let singles: Vec<f32> = effects.iter().flatten().copied().collect();
    let single_labels: Vec<String> = (0..n_targets).map(|t| genes[t].clone()).collect();
    let mut doubles = Vec::new();
    let mut double_labels = Vec::new();
    for a in 0..n_targets {
        for b in a + 1..n_targets {
            if (a * 7 + b * 3) % 5 == 0 || double_labels.len() == 48 {
                continue;
            }
            double_labels.push(format!("{}+{}", genes[a], genes[b]));
            doubles.extend((0..n_genes).map(|g| effects[a][g] + effects[b][g] + (rng.normal() * 0.2) as f32));
        }
    }
    (singles, single_labels, doubles, double_labels, genes)
}

fn eval(dir: &Path, args: &[&str]) -> Run {
    let (out, data) = (dir.join("out").display().to_string(), data_dir().display().to_string());
    let mut all = vec!["eval", "--bootstrap", "100", "--out", &out, "--data-dir", &data];
    all.extend(args);
    run(&all)
}

#[test]
fn a_pseudobulk_npz_of_another_screen_runs_under_a_minimal_task_file_with_its_own_id() {
    let dir = tempfile::tempdir().unwrap();
    let (singles, single_labels, doubles, double_labels, genes) = screen();
    let npz = dir.path().join("my_screen.npz");
    write_npz(
        &npz,
        &[
            ("lfc_s", npy_f32(single_labels.len(), genes.len(), &singles)),
            ("sing_labels", npy_strings(&single_labels)),
            ("lfc_d", npy_f32(double_labels.len(), genes.len(), &doubles)),
            ("doub_labels", npy_strings(&double_labels)),
            ("genes_hvg", npy_strings(&genes)),
        ],
    );
    let task = dir.path().join("task.toml");
    std::fs::write(
        &task,
        "id = \"my-screen-combinatorial\"\nfamily = \"combinatorial\"\ndataset = \"my_screen.npz\"\n",
    )
    .unwrap();
    let (task_s, npz_s) = (task.display().to_string(), npz.display().to_string());
    let r = eval(dir.path(), &["--task-file", &task_s, "--dataset", &npz_s]).ok();
    assert!(r.stdout.contains("my-screen-combinatorial"), "{}", r.stdout);
    assert!(!r.stdout.contains("sim-combinatorial"), "{}", r.stdout);
    let card = read_scorecard(&dir.path().join("out"));
    assert_eq!(card["task"]["id"], "my-screen-combinatorial");
    assert_eq!(card["task"]["family"], "combinatorial");
    assert_eq!(card["dataset"]["id"], "my_screen");
    assert_eq!(card["dataset"]["n_genes"], 40);
    for name in ["ridge", "additive", "control-mean"] {
        assert!(metric_mean(row(&card, name), "pearson_delta_pert").is_finite(), "{name}");
    }
    // The file's dataset path is relative to the task file: --dataset is not needed.
    let again = tempfile::tempdir().unwrap();
    eval(again.path(), &["--task-file", &task_s]).ok();
    let card_again = read_scorecard(&again.path().join("out"));
    assert_eq!(card_again["rows"], card["rows"]);
    // verify needs the task file, and reproduces the scorecard with it.
    let (scorecard, data) =
        (dir.path().join("out/scorecard.json").display().to_string(), data_dir().display().to_string());
    let r = run(["verify", &scorecard, "--data-dir", &data]).failed();
    assert!(r.stderr.contains("--task-file"), "{}", r.stderr);
    let r = run(["verify", &scorecard, "--data-dir", &data, "--task-file", &task_s, "--dataset", &npz_s]).ok();
    assert!(r.stdout.contains("bit-identical"), "{}", r.stdout);
}

#[test]
fn an_npz_with_other_array_names_loads_through_its_registry_entry() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let (singles, single_labels, doubles, double_labels, genes) = screen();
    let npz = data.join("other.npz");
    write_npz(
        &npz,
        &[
            ("single_effects", npy_f32(single_labels.len(), genes.len(), &singles)),
            ("single_targets", npy_strings(&single_labels)),
            ("pair_effects", npy_f32(double_labels.len(), genes.len(), &doubles)),
            ("pairs", npy_strings(&double_labels)),
            ("gene_symbols", npy_strings(&genes)),
        ],
    );
    let sha = tasks::spec::sha256_hex(&std::fs::read(&npz).unwrap());
    let entry = |arrays: &str| {
        format!(
            "[[dataset]]\nid = \"other-screen\"\nversion = \"1\"\ntitle = \"another screen\"\nmodality = \"lfc\"\n\
             format = \"npz\"\nobservation = \"pseudobulk\"\nperturbation_column = \"single_targets\"\n\
             direction = \"knockdown\"\nlicence = \"CC0\"\ncitation = \"test\"\nlocal = \"other.npz\"\nsha256 = \"{sha}\"\n{arrays}"
        )
    };
    let registry = dir.path().join("datasets.toml");
    let task = dir.path().join("task.toml");
    std::fs::write(&task, "id = \"other-combinatorial\"\nfamily = \"combinatorial\"\ndataset = \"other-screen\"\n")
        .unwrap();
    let (registry_s, task_s, data_s) =
        (registry.display().to_string(), task.display().to_string(), data.display().to_string());
    let args = ["eval", "--task-file", &task_s, "--registry", &registry_s, "--data-dir", &data_s, "--bootstrap", "50"];
    // Without the array names the error names the file and the array it looked for.
    std::fs::write(&registry, entry("")).unwrap();
    let out = dir.path().join("a").display().to_string();
    let r = run(args.iter().copied().chain(["--out", &out])).failed();
    assert!(r.stderr.contains("other.npz") && r.stderr.contains("lfc_s"), "{}", r.stderr);
    std::fs::write(
        &registry,
        entry(
            "\n[dataset.arrays]\nsingles = \"single_effects\"\ndoubles = \"pair_effects\"\ndouble_labels = \"pairs\"\n\
             genes = \"gene_symbols\"\n",
        ),
    )
    .unwrap();
    let out = dir.path().join("b");
    let out_s = out.display().to_string();
    run(args.iter().copied().chain(["--out", &out_s])).ok();
    let card = read_scorecard(&out);
    assert_eq!(card["task"]["id"], "other-combinatorial");
    assert_eq!(card["dataset"]["id"], "other-screen");
    assert_eq!(card["dataset"]["sha256"], sha.as_str());
    assert_eq!(card["dataset"]["n_rows"], 64);
    // The registry extends the embedded one: its datasets stay available.
    // (The embedded local files are not in this data dir, so the listing reports them missing.)
    let r = run(["datasets", "--registry", &registry_s, "--data-dir", &data_s]);
    assert!(r.stdout.contains("other-screen") && r.stdout.contains("norman2019-pseudobulk"), "{}", r.stdout);
    // --check loads the file through its layout, not only its checksum.
    let r = run(["datasets", "--registry", &registry_s, "--data-dir", &data_s, "--check", "other-screen"]).ok();
    assert!(r.stdout.contains("64 rows x 40 genes") && r.stdout.contains("64 perturbations"), "{}", r.stdout);
}

#[test]
fn tasks_new_writes_a_complete_file_that_runs() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.toml");
    let file_s = file.display().to_string();
    let r =
        run(["tasks", "new", "--family", "unseen-single", "--dataset", "simulator", "--id", "mine", "--out", &file_s])
            .ok();
    assert!(r.stdout.contains("arena eval --task-file"), "{}", r.stdout);
    let text = std::fs::read_to_string(&file).unwrap();
    for field in ["id = \"mine\"", "task = \"unseen-single\"", "metrics = ", "baselines = ", "[split]"] {
        assert!(text.contains(field), "{field} missing:\n{text}");
    }
    // It never overwrites a file.
    let r = run(["tasks", "new", "--family", "unseen-single", "--dataset", "simulator", "--out", &file_s]).failed();
    assert!(r.stderr.contains("mine.toml"), "{}", r.stderr);
    let r = eval(dir.path(), &["--task-file", &file_s]).ok();
    assert!(r.stdout.contains("mine"), "{}", r.stdout);
    assert_eq!(read_scorecard(&dir.path().join("out"))["task"]["id"], "mine");
}

#[test]
fn a_pseudobulk_h5ad_with_one_control_row_runs_and_a_single_cell_file_with_one_control_cell_is_told_why() {
    // 20 perturbed genes and one control row, log1p-scale means (one row per condition).
    let dir = tempfile::tempdir().unwrap();
    let n_genes = 30;
    let genes: Vec<String> = (0..n_genes).map(|g| format!("GENE{g}")).collect();
    let mut rng = TestRng(11);
    let base: Vec<f32> = (0..n_genes).map(|_| (1.0 + rng.uniform()) as f32).collect();
    let mut x = vec![base.clone()];
    let mut labels = vec!["non-targeting".to_string()];
    for (t, gene) in genes.iter().enumerate().take(20) {
        x.push(
            base.iter()
                .enumerate()
                .map(|(g, b)| if g == t { b * 0.3 } else { b + (rng.normal() * 0.1) as f32 })
                .collect(),
        );
        labels.push(gene.clone());
    }
    let file = dir.path().join("pseudobulk.h5ad");
    write_h5ad(&file, &anndata(x.clone(), "target", &labels, &genes));
    let file_s = file.display().to_string();
    let r = eval(dir.path(), &["--dataset", &file_s, "--control-label", "non-targeting"]).ok();
    assert!(r.stdout.contains("ridge"), "{}", r.stdout);
    let card = read_scorecard(&dir.path().join("out"));
    assert_eq!(card["dataset"]["observation"], "pseudobulk");
    assert!(metric_mean(row(&card, "ridge"), "pearson_delta_pert").is_finite());
    // Two cells of one perturbation make it single-cell data, where one control cell is too few.
    x.push(x[1].clone());
    let mut labels2 = labels.clone();
    labels2.push(genes[0].clone());
    let file2 = dir.path().join("cells.h5ad");
    write_h5ad(&file2, &anndata(x, "target", &labels2, &genes));
    let other = tempfile::tempdir().unwrap();
    let r =
        eval(other.path(), &["--dataset", &file2.display().to_string(), "--control-label", "non-targeting"]).failed();
    assert!(r.stderr.contains("found 1 control row") && r.stderr.contains("at least 2 control cells"), "{}", r.stderr);
}

#[test]
fn a_high_moi_screen_reads_multi_guide_cells_as_combinations_or_leaves_them_out_by_a_stated_rule() {
    // Cells labelled with their guide targets joined by ';' (several guides per cell, as in
    // high-MOI screens): controls, singles, doubles, a repeated guide and a triple.
    let dir = tempfile::tempdir().unwrap();
    let n_genes = 12;
    let genes: Vec<String> = (0..n_genes).map(|g| format!("GENE{g}")).collect();
    let mut rng = TestRng(5);
    let mut labels = Vec::new();
    for _ in 0..30 {
        labels.push("non-targeting".to_string());
    }
    for t in 0..8 {
        for _ in 0..6 {
            labels.push(format!("GENE{t}"));
        }
        for _ in 0..2 {
            labels.push(format!("GENE{t};GENE{t}")); // two guides, one gene
            labels.push(format!("non-targeting;GENE{t}"));
        }
    }
    for (a, b) in [(0, 1), (2, 3), (4, 5)] {
        for _ in 0..4 {
            labels.push(format!("GENE{a};GENE{b}"));
        }
    }
    for _ in 0..3 {
        labels.push("GENE0;GENE2;GENE4".to_string());
    }
    let x: Vec<Vec<f32>> =
        labels.iter().map(|_| (0..n_genes).map(|_| (rng.uniform() * 20.0).floor() as f32).collect()).collect();
    let file = dir.path().join("high_moi.h5ad");
    write_h5ad(&file, &anndata(x, "guide_targets", &labels, &genes));
    let file_s = file.display().to_string();
    let check = |extra: &[&str]| {
        let mut args = vec![
            "datasets",
            "--check",
            &file_s,
            "--perturbation-column",
            "guide_targets",
            "--control-label",
            "non-targeting",
        ];
        args.extend(extra);
        run(&args)
    };
    // Without the separator a ';' label is one unknown gene name: 8 singles, 8 "GENEk;GENEk", ...
    let plain = check(&[]).ok();
    assert!(plain.stdout.contains(&format!("{} rows", labels.len())), "{}", plain.stdout);
    // With it: 8 singles (repeated guides and non-targeting parts collapse), 3 doubles, 1 triple.
    let combos = check(&["--guide-separator", ";"]).ok();
    assert!(combos.stdout.contains(&format!("{} rows", labels.len())), "{}", combos.stdout);
    assert!(
        combos.stdout.contains("12 perturbations") && combos.stdout.contains("30 control rows"),
        "{}",
        combos.stdout
    );
    // The stated rule: at most 2 targets; the 3 triple-guide cells are left out and counted.
    let capped = check(&["--guide-separator", ";", "--max-targets", "2"]).ok();
    assert!(capped.stdout.contains(&format!("{} rows", labels.len() - 3)), "{}", capped.stdout);
    assert!(capped.stdout.contains("11 perturbations"), "{}", capped.stdout);
    assert!(capped.stdout.contains("3 cells with more than 2 distinct targets left out"), "{}", capped.stdout);
}

#[test]
fn the_public_scperturb_single_knockdown_task_files_run_on_a_fixture_in_the_file_layout_from_the_fetch_cache() {
    let singles: Vec<String> = (0..20).map(|g| format!("SYM{g}")).collect();
    for (id, file_name) in [
        ("replogle2022-k562-essential", "ReplogleWeissman2022_K562_essential.h5ad"),
        ("replogle2022-rpe1", "ReplogleWeissman2022_rpe1.h5ad"),
        ("adamson2016-upr", "AdamsonWeissman2016_GSM2406681_10X010.h5ad"),
    ] {
        let card = public_task_on_fixture(id, file_name, &format!("{id}-unseen-single"), &singles, Layout::ScPerturb);
        assert!(metric_mean(row(&card, "ridge"), "pearson_delta_pert").is_finite());
    }
}

/// The VCC 2025 training file's layout: obs `target_gene` (with `non-targeting`), `guide_id` and
/// `batch`, all categorical; var gene symbols with an Ensembl `gene_id` column; raw counts in a
/// CSR float32 X. Its task file reads it through the registry entry's column and control label.
#[test]
fn the_public_vcc2025_task_file_runs_on_a_fixture_in_the_training_file_layout() {
    let singles: Vec<String> = (0..20).map(|g| format!("SYM{g}")).collect();
    let card = public_task_on_fixture(
        "vcc2025-h1-training",
        "adata_Training.h5ad",
        "vcc2025-h1-unseen-single",
        &singles,
        Layout::Vcc2025,
    );
    assert_eq!(
        card["task"]["n_train_conditions"].as_u64().unwrap() + card["task"]["n_test_conditions"].as_u64().unwrap(),
        20
    );
    assert!(metric_mean(row(&card, "ridge"), "pearson_delta_pert").is_finite());
}

#[test]
fn the_public_norman_single_cell_task_file_reads_scperturb_doubles_and_runs_the_gears_split() {
    // scPerturb's Norman file joins the two genes of a double with '_'; the registry entry's
    // guide_separator makes `SYM0_SYM1` the double SYM0+SYM1, so every subgroup of the GEARS split
    // is filled.
    let mut labels: Vec<String> = (0..10).map(|g| format!("SYM{g}")).collect();
    for a in 0..10 {
        for b in (a + 1)..10 {
            labels.push(format!("SYM{a}_SYM{b}"));
        }
    }
    let id = "norman2019-scperturb";
    let card = public_task_on_fixture(
        id,
        "NormanWeissman2019_filtered.h5ad",
        "norman2019-scperturb-combinatorial",
        &labels,
        Layout::ScPerturb,
    );
    assert_eq!(card["task"]["family"], "combinatorial", "{}", card["task"]);
    let additive = row(&card, "additive");
    assert!(metric_mean(additive, "pearson_delta_pert").is_finite());
    let text = card.to_string();
    for subgroup in ["combo_seen0", "combo_seen1", "combo_seen2"] {
        assert!(text.contains(subgroup), "no {subgroup} in the scorecard: {text:.2000}");
    }
    assert!(!text.contains("SYM0_SYM"), "a '_' double was read as one gene: {text:.2000}");
}

/// The file layout of a public dataset.
#[derive(Clone, Copy)]
enum Layout {
    /// scPerturb: obs `perturbation`, categorical (`labels` and `control`), and `nperts`, int;
    /// gene symbols in var; raw counts in a dense float32 X.
    ScPerturb,
    /// VCC 2025: obs `target_gene` (`labels` and `non-targeting`), `guide_id` (two guides per
    /// target) and `batch`, all categorical; gene symbols in var with `gene_id`; CSR float32 counts.
    Vcc2025,
}

/// Runs the public task file `tasks/public/{task}.toml` on a fixture in `layout`. The fixture
/// stands in the cache where `arena fetch {id}` puts the real file, registered by a user registry
/// that copies the embedded entry but pins the fixture's checksum instead of the real file's.
/// Returns the scorecard; also checks that without the download the error says what to run.
fn public_task_on_fixture(
    id: &str,
    file_name: &str,
    task: &str,
    labels: &[String],
    layout: Layout,
) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let entry_dir = dir.path().join("cache").join(id);
    std::fs::create_dir_all(&entry_dir).unwrap();
    let n_genes = 40;
    let genes: Vec<String> = (0..n_genes).map(|g| format!("SYM{g}")).collect();
    let control = match layout {
        Layout::ScPerturb => "control",
        Layout::Vcc2025 => "non-targeting",
    };
    let mut categories = vec![control.to_string()];
    categories.extend(labels.iter().cloned());
    let mut codes = Vec::new();
    let mut rng = TestRng(3);
    let mut x = Vec::new();
    for (k, label) in categories.iter().enumerate() {
        let targets: Vec<usize> = if k == 0 {
            Vec::new()
        } else {
            label.split('_').map(|t| genes.iter().position(|g| g == t).unwrap()).collect()
        };
        for _ in 0..if k == 0 { 60 } else { 12 } {
            codes.push(k as i32);
            x.push(
                (0..n_genes)
                    .map(|g| {
                        let shift = targets.iter().map(|&t| {
                            if g == t {
                                -5.0
                            } else if g == (t + 7) % n_genes {
                                3.0
                            } else {
                                0.0
                            }
                        });
                        let rate = 6.0 + (g % 5) as f64 + shift.sum::<f64>();
                        (rate.max(0.5) * (0.5 + rng.uniform())).floor() as f32
                    })
                    .collect::<Vec<f32>>(),
            );
        }
    }
    let n_cells = codes.len();
    let mut adata = anndata(x.clone(), "perturbation", &vec![String::new(); n_cells], &genes);
    match layout {
        Layout::ScPerturb => {
            let nperts: Vec<i64> = codes
                .iter()
                .map(|&c| if c == 0 { 0 } else { categories[c as usize].split('_').count() as i64 })
                .collect();
            adata.obs.columns = vec![
                ("perturbation".into(), arena_data::Column::Categorical { codes, categories }),
                ("nperts".into(), arena_data::Column::Int(nperts)),
            ];
            let flat: Vec<f32> = x.into_iter().flatten().collect();
            adata.x = arena_data::Matrix::Dense(ndarray::Array2::from_shape_vec((n_cells, n_genes), flat).unwrap());
        }
        Layout::Vcc2025 => {
            let guides: Vec<String> =
                categories.iter().flat_map(|c| [format!("{c}_guide1"), format!("{c}_guide2")]).collect();
            let guide_codes = codes.iter().enumerate().map(|(i, &c)| 2 * c + (i % 2) as i32).collect();
            let batches: Vec<String> = (0..4).map(|b| format!("Flex_{}_{:02}", 1 + b / 2, 1 + b % 2)).collect();
            let batch_codes = (0..n_cells).map(|i| (i % 4) as i32).collect();
            // The index is "cell barcode-batch".
            adata.obs.index = (0..n_cells).map(|i| format!("BC{i:08}-{}", batches[i % 4])).collect();
            adata.obs.columns = vec![
                ("target_gene".into(), arena_data::Column::Categorical { codes, categories }),
                ("guide_id".into(), arena_data::Column::Categorical { codes: guide_codes, categories: guides }),
                ("batch".into(), arena_data::Column::Categorical { codes: batch_codes, categories: batches }),
            ];
            let gene_ids = (0..n_genes).map(|g| format!("ENSG{:011}", 1000 + g)).collect();
            adata.var.columns = vec![("gene_id".into(), arena_data::Column::Strings(gene_ids))];
        }
    }
    let file = entry_dir.join(file_name);
    write_h5ad(&file, &adata);
    let registry = dir.path().join("fixture.toml");
    let sha = pinned_registry(&registry, id, &file);
    let task_file = workspace_root().join(format!("tasks/public/{task}.toml"));
    let out = dir.path().join("out");
    let mut cmd = arena();
    cmd.env("ARENA_CACHE_DIR", dir.path().join("cache")).args([
        "eval",
        "--task-file",
        &task_file.display().to_string(),
        "--registry",
        &registry.display().to_string(),
        "--bootstrap",
        "50",
        "--out",
        &out.display().to_string(),
    ]);
    let r = run_external(&mut cmd).ok();
    assert!(r.stdout.contains(task), "{}", r.stdout);
    let card = read_scorecard(&out);
    assert_eq!(card["dataset"]["id"], id);
    assert_eq!(card["dataset"]["sha256"], sha.as_str());
    assert_eq!(card["dataset"]["n_genes"], 40);
    // Without the download the error says what to run.
    let mut cmd = arena();
    cmd.env("ARENA_CACHE_DIR", dir.path().join("empty")).args([
        "eval",
        "--task-file",
        &task_file.display().to_string(),
        "--out",
        &dir.path().join("none").display().to_string(),
    ]);
    let r = run_external(&mut cmd).failed();
    assert!(r.stderr.contains(&format!("arena fetch {id}")), "{}", r.stderr);
    card
}
