//! The score-side audit of `arena score` on real single cells (Papalexi 2021 THP-1, normalised
//! and log1p'd): each group's cells are split in two halves, half A is the "real" file and half B
//! the honest prediction (the best a model could do: other real cells of the same perturbation).
//! The known exploits of cell-level scoring are built from half B: variance-inflated cells,
//! duplicated cells, more cells than real ones, and a constant mean prediction. Each must be
//! flagged (printed and in audit.csv / audit.json), the honest prediction must not be, and the
//! cell-count cap must take away what extra cells buy in DE significance.
mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{Csv, TestRng, run, sparse_anndata, write_h5ad};

/// Perturbations kept (with the control label); cells per perturbation and controls (both halves).
const PERTS: [&str; 6] = ["IRF1", "SMAD4", "STAT1", "IFNGR1", "JAK2", "CUL3"];
const CONTROL: &str = "non-targeting";
const MAX_CELLS: usize = 160;
const MAX_CONTROLS: usize = 400;

/// Half A (real) and half B (prediction) of every group, as rows of log1p expression.
struct Halves {
    genes: Vec<String>,
    a: BTreeMap<String, Vec<Vec<f32>>>,
    b: BTreeMap<String, Vec<Vec<f32>>>,
}

fn halves() -> Halves {
    let (adata, labels) = common::papalexi();
    let x = arena_data::normalize_total_log1p(&adata.x, 1e4);
    let mut rng = TestRng(5);
    let mut order: Vec<usize> = (0..labels.len()).collect();
    rng.shuffle(&mut order);
    type Groups = BTreeMap<String, Vec<Vec<f32>>>;
    let (mut a, mut b): (Groups, Groups) = Default::default();
    let mut taken: BTreeMap<&str, usize> = BTreeMap::new();
    for i in order {
        let label = labels[i].as_str();
        if label != CONTROL && !PERTS.contains(&label) {
            continue;
        }
        let cap = if label == CONTROL { MAX_CONTROLS } else { MAX_CELLS };
        let n = taken.entry(label).or_default();
        *n += 1;
        if *n > cap {
            continue;
        }
        let half = if (*n).is_multiple_of(2) { &mut a } else { &mut b };
        half.entry(label.to_string()).or_default().push(x.row(i).to_vec());
    }
    for p in PERTS {
        assert!(a[p].len() >= 40, "{p}: only {} cells in half A", a[p].len());
    }
    Halves { genes: adata.var.index.clone(), a, b }
}

fn write_groups(path: &Path, groups: &BTreeMap<String, Vec<Vec<f32>>>, genes: &[String]) {
    let (mut rows, mut labels) = (Vec::new(), Vec::new());
    for (label, cells) in groups {
        for c in cells {
            rows.push(c.clone());
            labels.push(label.clone());
        }
    }
    write_h5ad(path, &sparse_anndata(&rows, "target", &labels, genes));
}

/// Applies `f` to the cells of every perturbation group (controls kept as they are).
fn map_perts(
    groups: &BTreeMap<String, Vec<Vec<f32>>>,
    f: impl Fn(&[Vec<f32>]) -> Vec<Vec<f32>>,
) -> BTreeMap<String, Vec<Vec<f32>>> {
    groups.iter().map(|(k, v)| (k.clone(), if k == CONTROL { v.clone() } else { f(v) })).collect()
}

fn mean(cells: &[Vec<f32>]) -> Vec<f32> {
    let mut m = vec![0.0f64; cells[0].len()];
    for c in cells {
        m.iter_mut().zip(c).for_each(|(s, v)| *s += f64::from(*v));
    }
    m.iter().map(|s| (*s / cells.len() as f64) as f32).collect()
}

struct Scored {
    stdout: String,
    audit: Csv,
    json: serde_json::Value,
    results: Csv,
}

impl Scored {
    /// The flags column of each perturbation (controls excluded).
    fn pert_flags(&self) -> Vec<(String, String)> {
        let f = self.audit.col("flags").expect("flags column");
        self.audit.rows.iter().filter(|r| r[0] != CONTROL).map(|r| (r[0].clone(), r[f].clone())).collect()
    }
    fn column(&self, name: &str) -> Vec<f64> {
        let c = self.audit.col(name).unwrap_or_else(|| panic!("audit.csv lacks {name}: {:?}", self.audit.header));
        self.audit.rows.iter().filter(|r| r[0] != CONTROL).map(|r| r[c].parse().expect("number")).collect()
    }
    fn mean_result(&self, metric: &str) -> f64 {
        let c = self.results.col(metric).unwrap_or_else(|| panic!("results.csv lacks {metric}"));
        let v: Vec<f64> = self.results.rows.iter().map(|r| r[c].parse().expect("number")).collect();
        v.iter().sum::<f64>() / v.len() as f64
    }
}

fn score(dir: &Path, name: &str, pred: &BTreeMap<String, Vec<Vec<f32>>>, genes: &[String], extra: &[&str]) -> Scored {
    let pred_path = dir.join(format!("{name}.h5ad"));
    write_groups(&pred_path, pred, genes);
    let out = dir.join(format!("out-{name}"));
    let mut args: Vec<String> = ["score", "--real"].iter().map(|s| s.to_string()).collect();
    args.push(dir.join("real.h5ad").display().to_string());
    args.extend(["--pred".to_string(), pred_path.display().to_string(), "--outdir".into(), out.display().to_string()]);
    args.extend(["--control-pert", CONTROL, "--pert-col", "target", "--profile", "minimal"].map(String::from));
    args.extend(extra.iter().map(|s| s.to_string()));
    let r = run(args).ok();
    eprintln!("{name}:\n{}", r.stdout);
    let json_text = std::fs::read_to_string(out.join("audit.json")).expect("audit.json");
    Scored {
        stdout: r.stdout,
        audit: Csv::read(&out.join("audit.csv")),
        json: serde_json::from_str(&json_text).expect("audit.json parses"),
        results: Csv::read(&out.join("results.csv")),
    }
}

#[test]
fn score_audit_flags_exploits_on_real_cells_and_not_honest_predictions() {
    let h = halves();
    let dir = tempfile::tempdir().unwrap();
    write_groups(&dir.path().join("real.h5ad"), &h.a, &h.genes);

    // Honest: other real cells of the same perturbation.
    let honest = score(dir.path(), "honest", &h.b, &h.genes, &[]);
    assert!(honest.stdout.contains("Audit of the predicted cells: no flags"), "{}", honest.stdout);
    assert!(honest.pert_flags().iter().all(|(_, f)| f.is_empty()), "{:?}", honest.pert_flags());
    assert_eq!(honest.audit.rows.len(), PERTS.len() + 1, "one row per perturbation and the control group");
    for r in honest.column("variance_ratio") {
        assert!((0.5..1.6).contains(&r), "honest variance ratio {r}");
    }
    assert_eq!(honest.json["flags"].as_array().map(Vec::len), Some(0));

    // Variance-inflated: each cell's deviation from its group mean tripled (clipped at 0).
    let inflated = map_perts(&h.b, |cells| {
        let m = mean(cells);
        cells.iter().map(|c| c.iter().zip(&m).map(|(v, mu)| (mu + 3.0 * (v - mu)).max(0.0)).collect()).collect()
    });
    let s = score(dir.path(), "inflated", &inflated, &h.genes, &[]);
    assert!(s.pert_flags().iter().all(|(_, f)| f.split(';').any(|x| x == "variance_inflated")), "{:?}", s.pert_flags());
    assert!(s.column("variance_ratio").iter().all(|&r| r > 2.0));
    assert!(s.stdout.contains("⚠ variance-inflated cells"), "{}", s.stdout);
    // It buys DE significance that the honest cells do not have.
    assert!(s.mean_result("de_nsig_counts_pred") > honest.mean_result("de_nsig_counts_pred"));

    // Duplicated: the group's first 5 cells repeated to the group's size.
    let duplicated = map_perts(&h.b, |cells| (0..cells.len()).map(|i| cells[i % 5].clone()).collect());
    let s = score(dir.path(), "duplicated", &duplicated, &h.genes, &[]);
    assert!(s.pert_flags().iter().all(|(_, f)| f.contains("duplicated_cells")), "{:?}", s.pert_flags());
    assert!(!s.pert_flags().iter().any(|(_, f)| f.contains("variance_inflated")));
    assert!(s.stdout.contains("⚠ duplicated cells"), "{}", s.stdout);

    // More cells than real: both halves as the prediction (twice the real count, no duplicates).
    let both: BTreeMap<String, Vec<Vec<f32>>> = map_perts(&h.b, |cells| cells.to_vec())
        .into_iter()
        .map(|(k, mut v)| {
            if k != CONTROL {
                v.extend(h.a[&k].iter().cloned());
            }
            (k, v)
        })
        .collect();
    let capped = score(dir.path(), "more", &both, &h.genes, &[]);
    let flags = capped.pert_flags();
    assert!(flags.iter().all(|(_, f)| f == "cell_count_inflated"), "{flags:?}");
    let (n_real, n_pred, n_scored) = (capped.column("n_real"), capped.column("n_pred"), capped.column("n_scored"));
    for i in 0..n_real.len() {
        assert!(n_pred[i] > n_real[i]);
        assert_eq!(n_scored[i], n_real[i], "capped to the real count");
    }
    assert!(capped.json["cell_count_policy"].as_str().unwrap_or("").contains("capped"));
    let all = score(dir.path(), "more-all", &both, &h.genes, &["--keep-all-cells"]);
    assert_eq!(all.column("n_scored"), n_pred, "--keep-all-cells scores every predicted cell");
    assert!(all.stdout.contains("NOT capped"), "{}", all.stdout);
    // The extra cells buy significance; the cap takes it away.
    assert!(
        all.mean_result("de_nsig_counts_pred") > capped.mean_result("de_nsig_counts_pred"),
        "keep-all {} vs capped {}",
        all.mean_result("de_nsig_counts_pred"),
        capped.mean_result("de_nsig_counts_pred")
    );

    // Mean prediction: every perturbed cell is the mean of all predicted perturbed cells.
    let pooled: Vec<Vec<f32>> = h.b.iter().filter(|(k, _)| *k != CONTROL).flat_map(|(_, v)| v.clone()).collect();
    let mu = mean(&pooled);
    let constant = map_perts(&h.b, |cells| vec![mu.clone(); cells.len()]);
    let s = score(dir.path(), "constant", &constant, &h.genes, &[]);
    assert!(s.pert_flags().iter().all(|(_, f)| f.contains("constant_cells")), "{:?}", s.pert_flags());
    assert_eq!(s.json["same_prediction_for_every_perturbation"], true);
    assert!(s.stdout.contains("the same predicted mean for every perturbation"), "{}", s.stdout);
    assert_eq!(honest.json["same_prediction_for_every_perturbation"], false);
}
