//! The profile ("anndata pair") metrics of `arena score`: pseudobulk means of every perturbation
//! and of the controls on both sides, then the metric functions of `metrics::pair`
//! (pearson_delta, mse, mae, their Δ forms, PDS l1/l2/cosine) and cell-eval's pearson_edistance,
//! whose energy distances are computed on the sparse cells: the cross distances to the controls
//! for batches of perturbations at once, the within-group distances per perturbation.

use rayon::prelude::*;

use metrics::correlation::pearson;
use metrics::pair::{self, BulkPair, ControlMode, PdsDistance, TieBreak};
use metrics::sparse_distance::{GeneSplit, SparseCells, cross_distance_row_sums, mean_pairwise_distance};

use super::input::{ScoreInput, Side};
use super::progress::Progress;

/// Mean profiles of both sides.
pub struct Bulk {
    pub real: Vec<Vec<f64>>,
    pub pred: Vec<Vec<f64>>,
    pub real_control: Vec<f64>,
    pub pred_control: Vec<f64>,
}

impl Bulk {
    /// Pseudobulk means of every perturbation and the controls. In cell-eval compatibility mode the
    /// means are rounded to float32, as cell-eval's polars pseudobulk of a float32 X is.
    pub fn compute(input: &ScoreInput, f32_means: bool) -> Bulk {
        let round = |v: Vec<f64>| if f32_means { v.into_iter().map(|x| f64::from(x as f32)).collect() } else { v };
        let means = |side: &Side| -> Vec<Vec<f64>> { side.pert_rows.par_iter().map(|r| round(side.mean(r))).collect() };
        Bulk {
            real: means(&input.real),
            pred: means(&input.pred),
            real_control: round(input.real.mean(&input.real.control_rows)),
            pred_control: round(input.pred.mean(&input.pred.control_rows)),
        }
    }

    pub fn pair(&self) -> BulkPair<'_> {
        BulkPair {
            real: &self.real,
            pred: &self.pred,
            real_control: &self.real_control,
            pred_control: &self.pred_control,
        }
    }
}

/// The bulk pair metrics named in `wanted`, as (name, per-perturbation values); `perts` and
/// `genes` name the bulk's rows and columns (a perturbation's own gene is left out of PDS).
pub fn bulk_metrics(
    (perts, genes): (&[String], &[String]),
    bulk: &Bulk,
    mode: ControlMode,
    wanted: &[&str],
) -> Vec<(String, Vec<f64>)> {
    let p = bulk.pair();
    let genes: Vec<&str> = genes.iter().map(String::as_str).collect();
    let perts: Vec<&str> = perts.iter().map(String::as_str).collect();
    let exclude = pair::target_gene_indices(&perts, &genes);
    let mut out = Vec::new();
    for &name in wanted {
        let values = match name {
            "pearson_delta" => pair::pearson_delta(&p, mode),
            "mse" => pair::mse(&p),
            "mae" => pair::mae(&p),
            "mse_delta" => pair::mse_delta(&p, mode),
            "mae_delta" => pair::mae_delta(&p, mode),
            "discrimination_score_l1" => {
                pair::discrimination_score(&p, mode, PdsDistance::L1, &exclude, TieBreak::Stable)
            }
            "discrimination_score_l2" => {
                pair::discrimination_score(&p, mode, PdsDistance::L2, &exclude, TieBreak::Stable)
            }
            "discrimination_score_cosine" => {
                pair::discrimination_score(&p, mode, PdsDistance::Cosine, &exclude, TieBreak::Stable)
            }
            _ => continue,
        };
        out.push((name.to_string(), values));
    }
    out
}

/// Cells per batch of perturbations in the cross distances (see [`mean_cross_by_perturbation`]).
const BATCH_CELLS: usize = 1024;

/// The energy distances behind cell-eval's `pearson_edistance`, composed from
/// `metrics::sparse_distance` as `metrics::pair::pearson_edistance` composes the dense functions,
/// on the CSR cells directly: σ of each control set once, then for every perturbation
/// E(real cells, real controls) and E(pred cells, controls chosen by `mode`), in `input.perts`
/// order. Each perturbation's distances depend on its own cells and the controls only.
pub fn energies(input: &ScoreInput, mode: ControlMode, progress: &Progress) -> Energies {
    // Which genes go dense: decided once, from the real controls, for every set.
    let split = GeneSplit::by_density(&input.real.x, &input.real.control_rows);
    let real_control = SparseCells::new(&input.real.x, &input.real.control_rows, &split);
    let sigma_real = mean_pairwise_distance(&real_control);
    let pred_control_own = match mode {
        ControlMode::OwnControls => Some(SparseCells::new(&input.pred.x, &input.pred.control_rows, &split)),
        ControlMode::RealControls => None,
    };
    let (pred_control, sigma_pred) = match &pred_control_own {
        Some(c) => (c, mean_pairwise_distance(c)),
        None => (&real_control, sigma_real),
    };
    let energy = |side: &Side, control: &SparseCells, sigma: f64| -> Vec<f64> {
        let cross = mean_cross_by_perturbation(side, control, &split);
        // Perturbations in parallel (a group of ~100 cells is a single row chunk); each value is
        // computed independently, so the result does not depend on the thread count.
        let within: Vec<f64> = side
            .pert_rows
            .par_iter()
            .map(|rows| {
                let w = mean_pairwise_distance(&SparseCells::new(&side.x, rows, &split));
                progress.inc();
                w
            })
            .collect();
        cross.iter().zip(&within).map(|(c, w)| 2.0 * c - w - sigma).collect()
    };
    Energies {
        real: energy(&input.real, &real_control, sigma_real),
        pred: energy(&input.pred, pred_control, sigma_pred),
    }
}

/// Per perturbation, the energy distance of its real cells and of its predicted cells from the
/// controls.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Energies {
    pub real: Vec<f64>,
    pub pred: Vec<f64>,
}

/// cell-eval's `pearson_edistance` (one value for the whole run): Pearson r over perturbations of
/// the real and predicted energy distances (NaN unless every distance is finite).
pub fn pearson_edistance(e: &Energies) -> f64 {
    if e.real.iter().chain(&e.pred).all(|v| v.is_finite()) { pearson(&e.real, &e.pred) } else { f64::NAN }
}

/// Mean distance between the cells of each perturbation of `side` and `control` (cell-eval's
/// E‖X−Y‖). Consecutive perturbations are stacked into batches of about [`BATCH_CELLS`] cells, so
/// that each GEMM chunk of the distance sums is several groups tall (the control cells are
/// packed once per chunk); each perturbation's mean is its rows' sums added in row order.
fn mean_cross_by_perturbation(side: &Side, control: &SparseCells, split: &GeneSplit) -> Vec<f64> {
    let mut batches = Vec::new();
    let mut first = 0;
    while first < side.pert_rows.len() {
        let (mut end, mut cells) = (first, 0);
        while end < side.pert_rows.len() && (end == first || cells + side.pert_rows[end].len() <= BATCH_CELLS) {
            cells += side.pert_rows[end].len();
            end += 1;
        }
        batches.push(first..end);
        first = end;
    }
    // Batches in parallel too: building a batch's cells is serial work the other thread overlaps.
    let per_batch: Vec<Vec<f64>> = batches
        .into_par_iter()
        .map(|range| {
            let groups = &side.pert_rows[range];
            let rows: Vec<usize> = groups.iter().flatten().copied().collect();
            let sums = cross_distance_row_sums(&SparseCells::new(&side.x, &rows, split), control);
            let mut at = 0;
            groups
                .iter()
                .map(|group| {
                    let (n, m) = (group.len(), control.len());
                    let mean = match sums.get(at..at + n) {
                        Some(s) if n > 0 && m > 0 => s.iter().sum::<f64>() / (n as f64 * m as f64),
                        _ => f64::NAN,
                    };
                    at += n;
                    mean
                })
                .collect()
        })
        .collect();
    per_batch.concat()
}
