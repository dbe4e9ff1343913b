//! The score-side audit of `arena score`: checks the predicted cells of every group (each
//! perturbation, and the prediction's own control cells) for the known exploits of cell-level
//! scoring (the Virtual Cell Challenge 2025), which inflate Mann–Whitney significance and with it
//! the DE metrics:
//! - **variance-inflated** cells: the summed per-gene variance of the predicted cells is more
//!   than [`VARIANCE_RATIO_MAX`] times that of the real cells of the same group;
//! - **duplicated** cells: the fraction of predicted cells that repeat another predicted cell of
//!   the group exceeds the real cells' own duplicate fraction by more than [`DUPLICATE_EXCESS_MAX`];
//! - **cell-count inflation**: more predicted cells than real ones. Such a group is **capped** to
//!   the real count before scoring ([`cap_to_real`]: evenly spaced cells of the group, in file
//!   order), so extra cells cannot buy significance;
//! - **constant** cells: the predicted cells carry no spread (variance ratio below
//!   [`CONSTANT_RATIO_MAX`], e.g. a pseudobulk copied into every cell);
//! - **same prediction for every perturbation**: all predicted perturbation means are equal (a
//!   mean prediction such as the control or perturbed mean, whatever was asked).
//!
//! The statistics describe the submitted file (all its cells, before any cap). Pure arithmetic on
//! the loaded CSR matrices; the caller prints and writes the result.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use rayon::prelude::*;
use serde::Serialize;

use super::input::{ScoreInput, Side};
use metrics::de::CsrMatrix;

/// A group is flagged as variance-inflated above this predicted/real variance ratio.
pub const VARIANCE_RATIO_MAX: f64 = 2.0;
/// A group's cells are flagged as constant below this predicted/real variance ratio.
pub const CONSTANT_RATIO_MAX: f64 = 0.01;
/// A group is flagged as duplicated when its predicted duplicate fraction exceeds the real one by more.
pub const DUPLICATE_EXCESS_MAX: f64 = 0.05;
/// Predicted means closer than this (max |difference| relative to 1 + max |mean|) count as equal.
const SAME_MEAN_TOLERANCE: f64 = 1e-6;

/// One exploit the audit can flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    VarianceInflated,
    DuplicatedCells,
    CellCountInflated,
    ConstantCells,
}

impl Flag {
    pub fn name(self) -> &'static str {
        match self {
            Flag::VarianceInflated => "variance_inflated",
            Flag::DuplicatedCells => "duplicated_cells",
            Flag::CellCountInflated => "cell_count_inflated",
            Flag::ConstantCells => "constant_cells",
        }
    }

    fn explain(self) -> String {
        match self {
            Flag::VarianceInflated => {
                format!("variance-inflated cells (predicted/real summed gene variance > {VARIANCE_RATIO_MAX})")
            }
            Flag::DuplicatedCells => format!(
                "duplicated cells (duplicate fraction above the real cells' by more than {DUPLICATE_EXCESS_MAX})"
            ),
            Flag::CellCountInflated => "more predicted cells than real ones".to_string(),
            Flag::ConstantCells => {
                format!("constant cells (predicted/real variance < {CONSTANT_RATIO_MAX}: every cell the same profile)")
            }
        }
    }
}

/// The audit of one group of cells (a perturbation, or the control label).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupAudit {
    pub group: String,
    pub n_real: usize,
    pub n_pred: usize,
    /// Predicted cells that were scored (after the cap).
    pub n_scored: usize,
    /// Predicted cells that repeat an earlier predicted cell of the group exactly.
    pub duplicated_pred: usize,
    /// The same count among the real cells (the data's own baseline).
    pub duplicated_real: usize,
    /// Summed per-gene variance of the predicted cells over that of the real cells (NaN when
    /// either group has fewer than 2 cells or the real cells do not vary).
    pub variance_ratio: f64,
    pub flags: Vec<Flag>,
}

/// The whole audit of one `arena score` run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreAudit {
    /// Perturbations first (in the results' order), the control group last.
    pub groups: Vec<GroupAudit>,
    /// Every perturbation has the same predicted mean (a mean/constant prediction).
    pub same_prediction_for_every_perturbation: bool,
    /// Whether groups with more predicted than real cells were capped to the real count.
    pub capped: bool,
}

impl ScoreAudit {
    /// Groups carrying `flag`.
    pub fn flagged(&self, flag: Flag) -> Vec<&GroupAudit> {
        self.groups.iter().filter(|g| g.flags.contains(&flag)).collect()
    }

    /// One line per raised flag (empty when nothing is flagged), for the terminal.
    pub fn flag_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for flag in [Flag::VarianceInflated, Flag::DuplicatedCells, Flag::CellCountInflated, Flag::ConstantCells] {
            let groups = self.flagged(flag);
            if groups.is_empty() {
                continue;
            }
            let names: Vec<&str> = groups.iter().take(8).map(|g| g.group.as_str()).collect();
            let more = if groups.len() > 8 { format!(", … ({} more)", groups.len() - 8) } else { String::new() };
            let detail = match flag {
                Flag::VarianceInflated | Flag::ConstantCells => {
                    format!("; variance ratio median {:.3}", median(groups.iter().map(|g| g.variance_ratio)))
                }
                Flag::DuplicatedCells => format!(
                    "; {} of {} predicted cells duplicated",
                    groups.iter().map(|g| g.duplicated_pred).sum::<usize>(),
                    groups.iter().map(|g| g.n_pred).sum::<usize>()
                ),
                Flag::CellCountInflated => {
                    if self.capped {
                        "; capped to the real count before scoring".to_string()
                    } else {
                        "; NOT capped (--keep-all-cells)".to_string()
                    }
                }
            };
            lines.push(format!(
                "⚠ {}: {} of {} groups ({}{more}){detail}",
                flag.explain(),
                groups.len(),
                self.groups.len(),
                names.join(", ")
            ));
        }
        if self.same_prediction_for_every_perturbation {
            lines.push(
                "⚠ the same predicted mean for every perturbation (a mean/constant prediction: nothing specific to the perturbation)"
                    .to_string(),
            );
        }
        lines
    }

    /// `audit.csv`: one row per group.
    pub fn to_csv(&self) -> String {
        let mut s = String::from("group,n_real,n_pred,n_scored,duplicated_pred,duplicated_real,variance_ratio,flags\n");
        for g in &self.groups {
            let flags: Vec<&str> = g.flags.iter().map(|f| f.name()).collect();
            let group = if g.group.contains([',', '"', '\n']) {
                format!("\"{}\"", g.group.replace('"', "\"\""))
            } else {
                g.group.clone()
            };
            s.push_str(&format!(
                "{group},{},{},{},{},{},{},{}\n",
                g.n_real,
                g.n_pred,
                g.n_scored,
                g.duplicated_pred,
                g.duplicated_real,
                if g.variance_ratio.is_finite() { format!("{:.6}", g.variance_ratio) } else { "NaN".into() },
                flags.join(";")
            ));
        }
        s
    }

    /// `audit.json`: the thresholds, the flags and every group.
    pub fn to_json(&self) -> String {
        let value = serde_json::json!({
            "thresholds": {
                "variance_ratio_max": VARIANCE_RATIO_MAX,
                "constant_ratio_max": CONSTANT_RATIO_MAX,
                "duplicate_excess_max": DUPLICATE_EXCESS_MAX,
            },
            "cell_count_policy": if self.capped {
                "groups with more predicted than real cells are capped to the real count (evenly spaced cells in file order)"
            } else {
                "not capped (--keep-all-cells): every predicted cell is scored"
            },
            "flags": self.flag_lines(),
            "same_prediction_for_every_perturbation": self.same_prediction_for_every_perturbation,
            "groups": self.groups,
        });
        serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
    }
}

impl GroupAudit {
    /// A group's audit from its counts and variance ratio; the flags follow from them.
    pub fn new(
        group: String,
        (n_real, n_pred): (usize, usize),
        capped: bool,
        (duplicated_pred, duplicated_real): (usize, usize),
        variance_ratio: f64,
    ) -> GroupAudit {
        let frac = |d: usize, n: usize| if n == 0 { 0.0 } else { d as f64 / n as f64 };
        let mut flags = Vec::new();
        if variance_ratio > VARIANCE_RATIO_MAX {
            flags.push(Flag::VarianceInflated);
        }
        if frac(duplicated_pred, n_pred) > frac(duplicated_real, n_real) + DUPLICATE_EXCESS_MAX {
            flags.push(Flag::DuplicatedCells);
        }
        if n_pred > n_real {
            flags.push(Flag::CellCountInflated);
        }
        if variance_ratio < CONSTANT_RATIO_MAX {
            flags.push(Flag::ConstantCells);
        }
        GroupAudit {
            group,
            n_real,
            n_pred,
            n_scored: if capped { n_pred.min(n_real) } else { n_pred },
            duplicated_pred,
            duplicated_real,
            variance_ratio,
            flags,
        }
    }
}

/// The elementwise range of the predicted perturbation means and the first one: all that the
/// "same prediction for every perturbation" flag needs, and it combines over shards exactly
/// (|x − first| is largest at the gene's minimum or maximum, in floating point too).
#[derive(Debug, Clone, PartialEq)]
pub struct MeanRange {
    pub groups: usize,
    pub first: Vec<f64>,
    pub min: Vec<f64>,
    pub max: Vec<f64>,
}

impl MeanRange {
    /// The range of the means of `groups` of `side` (all cells, before any cap).
    pub fn of(side: &Side, groups: &[Vec<usize>]) -> MeanRange {
        let means: Vec<Vec<f64>> = groups.par_iter().map(|rows| side.mean(rows)).collect();
        let mut range = MeanRange { groups: 0, first: Vec::new(), min: Vec::new(), max: Vec::new() };
        for m in means {
            range = range.then(MeanRange { groups: 1, min: m.clone(), max: m.clone(), first: m });
        }
        range
    }

    /// This range followed by `later` (groups in that order).
    pub fn then(self, later: MeanRange) -> MeanRange {
        if self.groups == 0 {
            return later;
        }
        if later.groups == 0 {
            return self;
        }
        let fold =
            |a: Vec<f64>, b: &[f64], pick: fn(f64, f64) -> f64| a.iter().zip(b).map(|(&x, &y)| pick(x, y)).collect();
        MeanRange {
            groups: self.groups + later.groups,
            min: fold(self.min, &later.min, f64::min),
            max: fold(self.max, &later.max, f64::max),
            first: self.first,
        }
    }

    /// Every group's mean equals the first one's within [`SAME_MEAN_TOLERANCE`] (at least two
    /// groups).
    pub fn all_same(&self) -> bool {
        if self.groups < 2 {
            return false;
        }
        let scale = 1.0 + self.first.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let close = |a: f64, b: f64| (a - b).abs() <= SAME_MEAN_TOLERANCE * scale;
        self.first.iter().zip(self.min.iter().zip(&self.max)).all(|(&f, (&lo, &hi))| close(lo, f) && close(hi, f))
    }
}

/// The audit of every perturbation group of `input` (in order) and of the control group (all
/// predicted cells, before any cap); `capped` records the policy that [`cap_to_real`] applies
/// afterwards.
pub fn audit_groups(input: &ScoreInput, capped: bool) -> (Vec<GroupAudit>, GroupAudit) {
    let one = |name: &str, real_rows: &[usize], pred_rows: &[usize]| {
        let real_var = total_variance(&input.real.x, real_rows);
        let pred_var = total_variance(&input.pred.x, pred_rows);
        let variance_ratio = if real_var > 0.0 && pred_rows.len() >= 2 { pred_var / real_var } else { f64::NAN };
        let duplicated = (duplicates(&input.pred.x, pred_rows), duplicates(&input.real.x, real_rows));
        GroupAudit::new(name.to_string(), (real_rows.len(), pred_rows.len()), capped, duplicated, variance_ratio)
    };
    let perts = (0..input.perts.len())
        .into_par_iter()
        .map(|i| one(&input.perts[i], &input.real.pert_rows[i], &input.pred.pert_rows[i]))
        .collect();
    (perts, one(&input.control, &input.real.control_rows, &input.pred.control_rows))
}

/// Keeps at most the real number of predicted cells in every group (the control group too):
/// cells `floor(i · n_pred / n_real)` for i < n_real, so the kept cells spread evenly over the
/// group in file order.
pub fn cap_to_real(input: &mut ScoreInput) {
    let cap = |pred: &mut Vec<usize>, n_real: usize| {
        if pred.len() > n_real {
            let n = pred.len();
            *pred = (0..n_real).map(|i| pred[i * n / n_real]).collect();
        }
    };
    for (pred, real) in input.pred.pert_rows.iter_mut().zip(&input.real.pert_rows) {
        cap(pred, real.len());
    }
    cap(&mut input.pred.control_rows, input.real.control_rows.len());
}

/// Σ over genes of the (population) variance of `rows`, zeros included.
fn total_variance(x: &CsrMatrix, rows: &[usize]) -> f64 {
    if rows.len() < 2 {
        return 0.0;
    }
    let mut sum = vec![0.0f64; x.n_cols];
    let mut sq = vec![0.0f64; x.n_cols];
    for &r in rows {
        for k in x.indptr[r] as usize..x.indptr[r + 1] as usize {
            let v = f64::from(x.data[k]);
            sum[x.indices[k] as usize] += v;
            sq[x.indices[k] as usize] += v * v;
        }
    }
    let n = rows.len() as f64;
    sum.iter().zip(&sq).map(|(s, q)| (q / n - (s / n).powi(2)).max(0.0)).sum()
}

/// Cells of `rows` that exactly repeat an earlier cell of `rows` (explicit zeros ignored).
fn duplicates(x: &CsrMatrix, rows: &[usize]) -> usize {
    let mut seen: HashSet<u64> = HashSet::with_capacity(rows.len());
    let mut dup = 0;
    for &r in rows {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for k in x.indptr[r] as usize..x.indptr[r + 1] as usize {
            if x.data[k] != 0.0 {
                x.indices[k].hash(&mut h);
                x.data[k].to_bits().hash(&mut h);
            }
        }
        if !seen.insert(h.finish()) {
            dup += 1;
        }
    }
    dup
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 { v[m] } else { 0.5 * (v[m - 1] + v[m]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csr(rows: &[Vec<f32>]) -> CsrMatrix {
        let mut indptr = vec![0u64];
        let (mut indices, mut data) = (Vec::new(), Vec::new());
        for r in rows {
            for (j, &v) in r.iter().enumerate() {
                if v != 0.0 {
                    indices.push(j as u32);
                    data.push(v);
                }
            }
            indptr.push(indices.len() as u64);
        }
        CsrMatrix { n_rows: rows.len(), n_cols: rows[0].len(), indptr, indices, data }
    }

    #[test]
    fn variance_and_duplicates_count_what_they_say() {
        let x = csr(&[vec![1.0, 0.0], vec![3.0, 2.0], vec![1.0, 0.0], vec![1.0, 0.0]]);
        // gene 0: values 1,3 -> var 1; gene 1: 0,2 -> var 1
        assert!((total_variance(&x, &[0, 1]) - 2.0).abs() < 1e-12);
        assert_eq!(total_variance(&x, &[0, 2, 3]), 0.0);
        assert_eq!(duplicates(&x, &[0, 1, 2, 3]), 2);
        assert_eq!(duplicates(&x, &[0, 1]), 0);
        assert_eq!(median([3.0, 1.0, f64::NAN, 2.0].into_iter()), 2.0);
    }

    #[test]
    fn the_mean_range_joins_over_shards_and_flags_equal_means_only() {
        let side = |rows: &[Vec<f32>]| Side {
            path: "x.h5ad".into(),
            x: csr(rows),
            dense_input: false,
            pert_rows: vec![],
            control_rows: vec![],
        };
        let groups: Vec<Vec<usize>> = vec![vec![0, 1], vec![2], vec![3, 4], vec![5]];
        let varied = side(&[
            vec![1.0, 2.0],
            vec![3.0, 0.0],
            vec![2.0, 1.0],
            vec![5.0, 0.0],
            vec![0.0, 3.0],
            vec![2.0, 1.0 + 1e-9],
        ]);
        let whole = MeanRange::of(&varied, &groups);
        for cut in 0..=groups.len() {
            let joined = MeanRange::of(&varied, &groups[..cut]).then(MeanRange::of(&varied, &groups[cut..]));
            assert_eq!(joined, whole, "cut at {cut}");
        }
        assert_eq!(whole.first, vec![2.0, 1.0]);
        assert_eq!(whole.max, vec![2.5, 1.5]);
        assert!(!whole.all_same());
        // Every group's mean is (2, 1) up to 1e-9: the same prediction, in any shard split.
        assert!(MeanRange::of(&varied, &[vec![0, 1], vec![2], vec![5]]).all_same());
        assert!(MeanRange::of(&varied, &[vec![2]]).then(MeanRange::of(&varied, &[vec![0, 1]])).all_same());
        assert!(!MeanRange::of(&varied, &[vec![2]]).all_same(), "one group is not a flag");
    }
}
