//! Oracle cross-check of `arena score --profile vcc2026` against cell-eval2 0.20.0 (`--preset
//! vcc2026`, CPU backend pdex) from `.venv` (requirements-ci.txt), through
//! scripts/oracle/cell_eval2_vcc2026.py. Five checks, on h5ad files written in a temporary
//! directory:
//!
//! - Papalexi 2021 THP-1 raw UMIs (../shared/data): ten perturbations (seven name a measured
//!   gene, so their target is excluded; three do not), at most 100 cells each and 400 controls,
//!   all 299 genes; the prediction is an imperfect count matrix (two perturbations swapped, cells
//!   binomially thinned, sparse noise, fewer cells than the reference);
//! - simulated counts (singles and doubles, `arena_sim`) with a prediction built the same way;
//! - the v1 preset: the Papalexi case normalised (normalize_total 1e4 + log1p), cell-eval2
//!   `--preset v1` against `arena score --profile full --controls own` (the arena's v1, cell-eval
//!   0.8.2). cell-eval2's v1 reproduces cell-eval 0.6.6 / pdex 0.1.27 (its
//!   docs/parity/v1-parity-divergences.md): global FDR and fold-change clipping change its DE
//!   metrics, so only the pseudobulk metrics (`PAIR_SHARED`) are compared, within 1e-6; the DE
//!   members differ by design (README);
//! - the anchor's baseline b: the arena's baseline prediction (`--anchor-baseline-out`) is
//!   cell-eval2's construction (every emitted cell a real control cell times cell-eval2's own
//!   per-gene scale, in float32; the draws themselves use different generators), and cell-eval2
//!   scoring those cells gives the arena's b within 1e-6;
//! - the replicate anchor's estimator on one FIXED split of the simulated reference: arena's
//!   `--anchor --anchor-split-col` against cell-eval2's `compute_replicate_anchor` with its
//!   splitter replaced by the same split (the seeded splits themselves use different generators).
//!
//! Every per-perturbation value of every member in results.csv agrees within 1e-6 (the same
//! rows, NaN where cell-eval2 has NaN), every aggregate of agg_results.csv within 1e-6, the DE tables
//! have the same (target, feature) rows with p_value and p_adj within 1e-9 relative and
//! log2_fold_change within 1e-6, and the anchor's replicate values within 1e-6.
mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use arena_data::{AnnData, Column};
use common::{Csv, TestRng, csv_number, run_external, sparse_anndata, write_h5ad};

fn venv_python() -> PathBuf {
    let python = common::workspace_root().join(".venv/bin/python");
    assert!(
        python.is_file() && common::workspace_root().join(".venv/bin/cell-eval2").is_file(),
        "{} or .venv/bin/cell-eval2 is missing: the vcc2026 oracle needs cell-eval2 0.20.0. Run `bash \
         scripts/python-env.sh` to install requirements-ci.txt",
        python.display()
    );
    python
}

/// numpy's names for its AVX-512 dispatch targets (numpy 2.4: X86_V4 and the AVX512_* groups).
const NUMPY_AVX512: &str = "X86_V4 AVX512_ICL AVX512_SPR AVX512F AVX512_SKX";

fn oracle(args: &[&std::ffi::OsStr]) {
    let script = common::workspace_root().join("scripts/oracle/cell_eval2_vcc2026.py");
    // numpy's AVX-512 log1p (SVML) rounds differently from libm's, and log1p(CPM) of cells whose
    // CPMs are mathematically equal then ties or not depending on the CPU, which moves
    // Mann–Whitney p-values by up to ~1e-3 relative (measured: STAT2/STAT1 0.0379137 with it,
    // 0.0378779 without, on Papalexi). The oracle runs numpy's libm path, as the arena's `ln_1p` does.
    let r =
        run_external(Command::new(venv_python()).env("NPY_DISABLE_CPU_FEATURES", NUMPY_AVX512).arg(script).args(args));
    assert!(r.success(), "cell-eval2 oracle {args:?} failed:\n{}\n{}", r.stdout, r.stderr);
}

/// Raw counts: dense rows, labels, genes, the control label.
struct Case {
    genes: Vec<String>,
    labels: Vec<String>,
    rows: Vec<Vec<f32>>,
    control: String,
}

/// Binomial(n, p) by Bernoulli trials (small counts).
fn thin(rng: &mut TestRng, n: f32, p: f64) -> f32 {
    (0..n as u32).filter(|_| rng.uniform() < p).count() as f32
}

impl Case {
    fn by_label(&self) -> BTreeMap<String, Vec<usize>> {
        let mut m: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, l) in self.labels.iter().enumerate() {
            m.entry(l.clone()).or_default().push(i);
        }
        m
    }

    /// An imperfect count prediction: per label, 80% of the real cell count drawn from its cells
    /// (two perturbations swapped), each count thinned to 70% and a sparse +1 added to 2% of the
    /// zeros; the control cells thinned the same way.
    fn prediction(&self, seed: u64) -> (Vec<Vec<f32>>, Vec<String>) {
        let mut rng = TestRng(seed);
        let groups = self.by_label();
        let perts: Vec<&String> = groups.keys().filter(|l| **l != self.control).collect();
        let (swap_a, swap_b) = (perts[0].clone(), perts[perts.len() / 2].clone());
        let (mut rows, mut labels) = (Vec::new(), Vec::new());
        for (label, own) in &groups {
            let src = if *label == swap_a {
                &groups[&swap_b]
            } else if *label == swap_b {
                &groups[&swap_a]
            } else {
                own
            };
            let n = ((own.len() as f64) * 0.8).ceil().max(2.0) as usize;
            for k in 0..n {
                let r = &self.rows[src[k % src.len()]];
                let row: Vec<f32> = r
                    .iter()
                    .map(|&v| {
                        if v > 0.0 {
                            thin(&mut rng, v, 0.7)
                        } else if rng.uniform() < 0.02 {
                            1.0
                        } else {
                            0.0
                        }
                    })
                    .collect();
                rows.push(row);
                labels.push(label.clone());
            }
        }
        (rows, labels)
    }
}

fn papalexi_counts_case() -> Case {
    let (adata, labels) = common::papalexi();
    let keep_labels = [
        "non-targeting",
        "IFNGR1",
        "IFNGR2",
        "JAK2",
        "STAT1",
        "IRF1",
        "CMTM6",
        "NFKBIA",
        "STAT2",
        "TNFRSF14",
        "UBE2L6",
    ];
    let csr = adata.x.into_csr();
    let mut rng = TestRng(5);
    let mut order: Vec<usize> = (0..labels.len()).collect();
    rng.shuffle(&mut order);
    let mut taken: HashMap<&str, usize> = HashMap::new();
    let mut keep: Vec<usize> = order
        .into_iter()
        .filter(|&i| {
            if !keep_labels.contains(&labels[i].as_str()) {
                return false;
            }
            let cap = if labels[i] == "non-targeting" { 400 } else { 100 };
            let n = taken.entry(labels[i].as_str()).or_default();
            *n += 1;
            *n <= cap
        })
        .collect();
    keep.sort_unstable();
    let g = csr.shape.1;
    let rows = keep
        .iter()
        .map(|&i| {
            let mut row = vec![0f32; g];
            for k in csr.indptr[i] as usize..csr.indptr[i + 1] as usize {
                row[csr.indices[k] as usize] = csr.data[k];
            }
            row
        })
        .collect();
    Case {
        genes: adata.var.index.clone(),
        labels: keep.iter().map(|&i| labels[i].clone()).collect(),
        rows,
        control: "non-targeting".into(),
    }
}

fn simulator_counts_case(cells: usize) -> Case {
    use arena_sim::{SimConfig, simulate};
    let config = SimConfig {
        seed: 3,
        n_genes: 150,
        n_control_cells: 2 * cells,
        cells_per_condition: cells,
        n_single_targets: 12,
        n_doubles: 4,
        n_sequences: 0,
        ..SimConfig::default()
    };
    let sim = simulate(&config).expect("simulate");
    Case {
        genes: sim.genes.clone(),
        labels: sim.perturbation.iter().map(|p| p.label()).collect(),
        rows: (0..sim.counts.nrows()).map(|i| sim.counts.row(i).to_vec()).collect(),
        control: "ctrl".into(),
    }
}

fn arena_vcc2026(real: &Path, pred: &Path, control: &str, out: &Path, extra: &[&str]) -> common::Run {
    let mut args: Vec<std::ffi::OsString> = vec![
        "score".into(),
        "--profile".into(),
        "vcc2026".into(),
        "--real".into(),
        real.into(),
        "--pred".into(),
        pred.into(),
        "--control-pert".into(),
        control.into(),
        "--pert-col".into(),
        "target".into(),
        "--outdir".into(),
        out.into(),
    ];
    args.extend(extra.iter().map(|s| s.into()));
    common::run(args).ok()
}

fn same(a: Option<f64>, b: Option<f64>, abs: f64, rel: f64) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) if x.is_nan() || y.is_nan() => x.is_nan() && y.is_nan(),
        (Some(x), Some(y)) if x.is_infinite() || y.is_infinite() => x == y,
        (Some(x), Some(y)) => (x - y).abs() <= abs.max(rel * x.abs().max(y.abs())),
        _ => false,
    }
}

/// Long results keyed by (perturbation, metric): the same rows, values within 1e-6. Returns the
/// largest absolute difference per metric.
fn compare_results(reference: &Path, ours: &Path, problems: &mut Vec<String>) -> BTreeMap<String, f64> {
    let read = |p: &Path| -> BTreeMap<(String, String), Option<f64>> {
        let c = Csv::read(p);
        let (pi, mi, vi) = (c.col("perturbation").unwrap(), c.col("metric").unwrap(), c.col("value").unwrap());
        c.rows.iter().map(|r| ((r[pi].clone(), r[mi].clone()), csv_number(&r[vi]))).collect()
    };
    let (r, o) = (read(reference), read(ours));
    let mut worst: BTreeMap<String, f64> = BTreeMap::new();
    for (k, a) in &r {
        match o.get(k) {
            None => problems.push(format!("results: arena has no row {k:?} (cell-eval2 {a:?})")),
            Some(b) => {
                if !same(*a, *b, 1e-6, 0.0) {
                    problems.push(format!("results {k:?}: cell-eval2 {a:?} arena {b:?}"));
                }
                if let (Some(x), Some(y)) = (a, b)
                    && x.is_finite()
                    && y.is_finite()
                {
                    let w = worst.entry(k.1.clone()).or_default();
                    *w = w.max((x - y).abs());
                }
            }
        }
    }
    for k in o.keys().filter(|k| !r.contains_key(*k)) {
        problems.push(format!("results: arena has row {k:?} that cell-eval2 omits"));
    }
    assert!(r.len() > 20, "too few rows compared in {}", reference.display());
    worst
}

/// Every statistic row of the two agg_results within 1e-6 (the ratio of sums included).
fn compare_agg(reference: &Path, ours: &Path, problems: &mut Vec<String>) {
    let (r, o) = (Csv::read(reference), Csv::read(ours));
    assert_eq!(r.rows.len(), o.rows.len(), "agg_results: statistic rows differ");
    for rrow in &r.rows {
        let Some(orow) = o.rows.iter().find(|x| x[0] == rrow[0]) else {
            problems.push(format!("agg_results: arena has no row {}", rrow[0]));
            continue;
        };
        for (ci, col) in r.header.iter().enumerate().skip(1) {
            let Some(oc) = o.col(col) else {
                problems.push(format!("agg_results: arena has no column {col}"));
                continue;
            };
            let (a, b) = (csv_number(&rrow[ci]), csv_number(&orow[oc]));
            if !same(a, b, 1e-6, 0.0) {
                problems.push(format!("agg_results {} {col}: cell-eval2 {a:?} arena {b:?}", rrow[0]));
            }
        }
    }
}

/// DE tables: the same (target, feature) rows; p_value and p_adj within 1e-9 relative,
/// log2_fold_change within 1e-6. Returns the largest relative p-value difference.
fn compare_de(reference: &Path, ours: &Path, problems: &mut Vec<String>) -> f64 {
    let (r, o) = (Csv::read(reference), Csv::read(ours));
    assert_eq!(r.rows.len(), o.rows.len(), "{}: row count differs from {}", ours.display(), reference.display());
    let key =
        |c: &Csv, row: &Vec<String>| (row[c.col("target").unwrap()].clone(), row[c.col("feature").unwrap()].clone());
    let ours_rows: HashMap<(String, String), &Vec<String>> = o.rows.iter().map(|row| (key(&o, row), row)).collect();
    let mut worst_rel = 0.0f64;
    for row in &r.rows {
        let k = key(&r, row);
        let Some(orow) = ours_rows.get(&k) else {
            problems.push(format!("{}: no row {k:?}", ours.display()));
            continue;
        };
        for (col, abs, rel) in [("p_value", 0.0, 1e-9), ("p_adj", 0.0, 1e-9), ("log2_fold_change", 1e-6, 0.0)] {
            let (a, b) = (csv_number(&row[r.col(col).unwrap()]), csv_number(&orow[o.col(col).unwrap()]));
            if !same(a, b, abs, rel) {
                problems.push(format!("{} {k:?} {col}: cell-eval2 {a:?} arena {b:?}", ours.display()));
            }
            if col != "log2_fold_change"
                && let (Some(x), Some(y)) = (a, b)
                && x > 0.0
            {
                worst_rel = worst_rel.max((x - y).abs() / x);
            }
        }
    }
    worst_rel
}

fn cross_check(name: &str, case: &Case) {
    let dir = tempfile::tempdir().expect("tempdir");
    let real_path = dir.path().join(format!("{name}_real.h5ad"));
    let pred_path = dir.path().join(format!("{name}_pred.h5ad"));
    write_h5ad(&real_path, &sparse_anndata(&case.rows, "target", &case.labels, &case.genes));
    let (pred_rows, pred_labels) = case.prediction(11);
    write_h5ad(&pred_path, &sparse_anndata(&pred_rows, "target", &pred_labels, &case.genes));

    let ce_out = dir.path().join("cell-eval2");
    let t = std::time::Instant::now();
    oracle(&["run".as_ref(), real_path.as_os_str(), pred_path.as_os_str(), ce_out.as_os_str(), case.control.as_ref()]);
    let ce_secs = t.elapsed().as_secs_f64();
    let ar_out = dir.path().join("arena");
    let t = std::time::Instant::now();
    let ar = arena_vcc2026(&real_path, &pred_path, &case.control, &ar_out, &[]);
    let ar_secs = t.elapsed().as_secs_f64();

    let mut problems = Vec::new();
    let worst = compare_results(&ce_out.join("results.csv"), &ar_out.join("results.csv"), &mut problems);
    compare_agg(&ce_out.join("agg_results.csv"), &ar_out.join("agg_results.csv"), &mut problems);
    let p_real = compare_de(&ce_out.join("de_real.csv"), &ar_out.join("real_de.csv"), &mut problems);
    let p_pred = compare_de(&ce_out.join("de_pred.csv"), &ar_out.join("pred_de.csv"), &mut problems);
    eprintln!(
        "{name}: cell-eval2 {ce_secs:.1} s, arena {ar_secs:.1} s; max |diff| per metric {worst:?}; max relative \
         p-value diff real {p_real:.2e} pred {p_pred:.2e}\n{}",
        ar.stdout
    );
    let shown: Vec<&String> = problems.iter().take(40).collect();
    assert!(problems.is_empty(), "{name}: {} disagreements with cell-eval2:\n{shown:#?}", problems.len());
}

/// Metrics whose v1 meaning is the same in cell-eval 0.8.2 (the arena's v1) and cell-eval2's v1.
const PAIR_SHARED: [&str; 8] = [
    "pearson_delta",
    "mse",
    "mae",
    "mse_delta",
    "mae_delta",
    "discrimination_score_l1",
    "discrimination_score_l2",
    "discrimination_score_cosine",
];

#[test]
fn v1_preset_pseudobulk_metrics_agree_with_cell_eval2() {
    let case = papalexi_counts_case();
    let log1p = |rows: &[Vec<f32>]| -> Vec<Vec<f32>> {
        let m = common::csr_from_rows(rows, case.genes.len());
        let x = arena_data::normalize_total_log1p(&m, 1e4);
        (0..x.nrows()).map(|i| x.row(i).to_vec()).collect()
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let real_path = dir.path().join("real.h5ad");
    let pred_path = dir.path().join("pred.h5ad");
    write_h5ad(&real_path, &sparse_anndata(&log1p(&case.rows), "target", &case.labels, &case.genes));
    let (pred_rows, pred_labels) = case.prediction(11);
    write_h5ad(&pred_path, &sparse_anndata(&log1p(&pred_rows), "target", &pred_labels, &case.genes));
    let ce_out = dir.path().join("cell-eval2");
    oracle(&[
        "run-v1".as_ref(),
        real_path.as_os_str(),
        pred_path.as_os_str(),
        ce_out.as_os_str(),
        case.control.as_ref(),
    ]);
    let ar_out = dir.path().join("arena");
    common::run([
        "score".as_ref(),
        "--real".as_ref(),
        real_path.as_os_str(),
        "--pred".as_ref(),
        pred_path.as_os_str(),
        "--profile".as_ref(),
        "full".as_ref(),
        "--controls".as_ref(),
        "own".as_ref(),
        "--outdir".as_ref(),
        ar_out.as_os_str(),
    ] as [&std::ffi::OsStr; 11])
    .ok();
    let (r, o) = (Csv::read(&ce_out.join("results.csv")), Csv::read(&ar_out.join("results.csv")));
    let (pi, mi, vi) = (r.col("perturbation").unwrap(), r.col("metric").unwrap(), r.col("value").unwrap());
    let op = o.col("perturbation").unwrap();
    let mut worst: BTreeMap<&str, f64> = BTreeMap::new();
    let mut problems = Vec::new();
    for row in r.rows.iter().filter(|row| PAIR_SHARED.contains(&row[mi].as_str())) {
        let orow = o.rows.iter().find(|x| x[op] == row[pi]).expect("arena row for every perturbation");
        let (a, b) = (csv_number(&row[vi]), csv_number(&orow[o.col(&row[mi]).expect("arena column")]));
        if !same(a, b, 1e-6, 0.0) {
            problems.push(format!("{} {}: cell-eval2 v1 {a:?} arena {b:?}", row[pi], row[mi]));
        }
        if let (Some(x), Some(y)) = (a, b) {
            let name = PAIR_SHARED.iter().find(|m| **m == row[mi]).unwrap();
            let w = worst.entry(name).or_default();
            *w = w.max((x - y).abs());
        }
    }
    eprintln!("v1 preset: max |diff| per metric {worst:?}");
    assert_eq!(worst.len(), PAIR_SHARED.len(), "every shared metric compared: {worst:?}");
    assert!(problems.is_empty(), "{} disagreements with cell-eval2 --preset v1:\n{problems:#?}", problems.len());
}

#[test]
fn papalexi_raw_counts_agree_with_cell_eval2() {
    cross_check("papalexi", &papalexi_counts_case());
}

#[test]
fn simulated_counts_with_doubles_agree_with_cell_eval2() {
    cross_check("simulator", &simulator_counts_case(40));
}

/// The replicate anchor's estimator equals cell-eval2's on the same (fixed) split.
#[test]
fn anchor_replicate_estimator_matches_cell_eval2_on_a_fixed_split() {
    let case = simulator_counts_case(60);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = TestRng(21);
    let mut half = vec!["none".to_string(); case.labels.len()];
    for rows in case.by_label().values() {
        let mut rows = rows.clone();
        rng.shuffle(&mut rows);
        let h = rows.len() / 2;
        rows[..h].iter().for_each(|&r| half[r] = "a".into());
        rows[h..2 * h].iter().for_each(|&r| half[r] = "b".into());
    }
    let mut real: AnnData = sparse_anndata(&case.rows, "target", &case.labels, &case.genes);
    real.obs.columns.push(("half".into(), Column::Strings(half)));
    let real_path = dir.path().join("real.h5ad");
    write_h5ad(&real_path, &real);
    let ce_out = dir.path().join("cell-eval2");
    oracle(&[
        "split-anchor".as_ref(),
        real_path.as_os_str(),
        "half".as_ref(),
        ce_out.as_os_str(),
        case.control.as_ref(),
    ]);
    let ar_out = dir.path().join("arena");
    // the reference scored against itself: u = r is not the point here, the replicate column is
    arena_vcc2026(&real_path, &real_path, &case.control, &ar_out, &["--anchor", "--anchor-split-col", "half"]);

    let (r, o) = (Csv::read(&ce_out.join("anchor.csv")), Csv::read(&ar_out.join("anchor.csv")));
    let ours: HashMap<&str, Option<f64>> =
        o.rows.iter().map(|row| (row[0].as_str(), csv_number(&row[o.col("replicate").unwrap()]))).collect();
    let mut compared = 0;
    for row in &r.rows {
        let want = csv_number(&row[r.col("replicate").unwrap()]);
        let Some(got) = ours.get(row[0].as_str()) else { continue };
        compared += 1;
        eprintln!("{}: cell-eval2 {want:?} arena {got:?}", row[0]);
        assert!(same(want, *got, 1e-6, 0.0), "{}: replicate cell-eval2 {want:?} arena {got:?}", row[0]);
    }
    assert_eq!(compared, 6, "every scored member has a replicate value on both sides");
}

/// The anchor's baseline: cell-eval2's construction, and cell-eval2's score of it is the arena's b.
#[test]
fn anchor_baseline_is_cell_eval2s_construction_and_score() {
    let case = simulator_counts_case(40);
    let dir = tempfile::tempdir().expect("tempdir");
    let real_path = dir.path().join("real.h5ad");
    write_h5ad(&real_path, &sparse_anndata(&case.rows, "target", &case.labels, &case.genes));
    let base = dir.path().join("baseline.h5ad");
    let ar_out = dir.path().join("arena");
    let base_arg = base.to_string_lossy().into_owned();
    arena_vcc2026(&real_path, &real_path, &case.control, &ar_out, &["--anchor", "--anchor-baseline-out", &base_arg]);
    let ce_out = dir.path().join("cell-eval2");
    oracle(&["baseline".as_ref(), real_path.as_os_str(), base.as_os_str(), ce_out.as_os_str(), case.control.as_ref()]);
    let (r, o) = (Csv::read(&ce_out.join("agg_results.csv")), Csv::read(&ar_out.join("anchor.csv")));
    let mean = r.rows.iter().find(|row| row[0] == "mean").expect("mean row");
    let bcol = o.col("baseline").unwrap();
    let rows: Vec<&Vec<String>> = o.rows.iter().filter(|row| row[0] != "avg_score").collect();
    assert_eq!(rows.len(), 6);
    for row in rows {
        let want = csv_number(&mean[r.col(&row[0]).expect("cell-eval2 column")]);
        let got = csv_number(&row[bcol]);
        eprintln!("baseline {}: cell-eval2 {want:?} arena {got:?}", row[0]);
        assert!(same(want, got, 1e-6, 0.0), "baseline {}: cell-eval2 {want:?} arena {got:?}", row[0]);
    }
}
