//! Fixtures produced by running cell-eval 0.8.2 itself (`PerturbationAnndataPair` + the
//! functions of `cell_eval/metrics/_anndata.py`) on seeded random AnnData objects
//! (numpy default_rng(42), values rounded to 2 decimals so the literals below are exact; the
//! generating script builds 5 perturbations PA..PE × 6 genes ["g0","PB","g2","g3","PD","g5"] plus
//! 6 control cells, real and pred, pred with its own shifted controls). Expected numbers are
//! pasted from its output; the tests never call Python.

use ndarray::Array2;

use super::*;

pub(crate) const REAL_PA: &[&[f64]] = &[
    &[1.36, -0.2, 1.74, 1.51, -0.51, 0.09],
    &[1.33, 0.52, 1.98, 1.51, -0.77, -0.78],
    &[1.74, -0.06, 1.66, 1.6, -0.34, -0.38],
];
pub(crate) const REAL_PB: &[&[f64]] = &[
    &[1.64, 0.45, 1.27, 0.96, 1.72, 1.99],
    &[0.51, 0.23, 1.12, 1.7, 1.78, 1.7],
    &[0.24, 0.77, 1.59, 1.48, 1.85, 1.54],
    &[0.91, 0.68, 1.67, 1.69, 0.68, 1.27],
];
pub(crate) const REAL_PC: &[&[f64]] = &[
    &[-0.31, 0.19, 0.8, 2.78, 0.49, 2.37],
    &[0.36, 0.13, 1.15, 2.39, -0.51, 1.4],
    &[0.07, 0.61, 0.79, 2.84, -0.08, 2.05],
    &[0.84, 0.21, 0.95, 2.16, -0.05, 1.78],
    &[-0.07, 0.6, 0.49, 2.5, 0.37, 2.19],
];
pub(crate) const REAL_PD: &[&[f64]] = &[
    &[1.01, 0.4, 0.78, 0.47, -0.88, 0.2],
    &[1.49, 1.27, 0.11, 0.82, -1.17, -0.62],
    &[2.09, 0.04, 0.8, 1.04, -0.99, -1.17],
];
pub(crate) const REAL_PE: &[&[f64]] = &[
    &[0.56, 0.56, 1.34, 1.7, 3.02, 0.94],
    &[1.8, -0.12, 0.91, 0.56, 2.41, 0.07],
    &[1.39, 0.36, 0.49, 0.51, 2.76, 1.18],
    &[2.07, 1.93, 1.44, 0.53, 1.53, 0.89],
];
pub(crate) const REAL_CTRL: &[&[f64]] = &[
    &[0.59, 0.79, 0.69, 0.93, 1.53, 1.08],
    &[0.92, 0.48, 0.16, 0.76, 0.97, 1.88],
    &[1.07, 1.49, 0.75, 0.41, 0.52, 0.64],
    &[2.06, 0.59, 1.42, 0.55, 1.47, 1.19],
    &[0.92, 0.98, 0.67, 1.22, 0.77, 0.39],
    &[0.36, 1.09, 1.79, 1.08, 0.94, 1.14],
];
pub(crate) const PRED_PA: &[&[f64]] = &[
    &[2.14, 0.56, -0.01, 2.71, 2.21, 2.14],
    &[1.86, 1.91, 0.12, 1.44, 1.67, 2.03],
    &[2.05, 1.09, 0.84, 2.59, 1.39, 2.55],
];
pub(crate) const PRED_PB: &[&[f64]] = &[
    &[-0.18, 0.3, 0.34, -0.22, 0.13, 1.24],
    &[-0.37, 1.63, 0.25, -0.32, 0.18, 0.86],
    &[-0.55, 0.42, 0.37, 0.14, 1.55, 1.67],
    &[-1.07, 0.82, -0.4, -0.27, 0.45, 1.34],
];
pub(crate) const PRED_PC: &[&[f64]] = &[
    &[-0.02, 0.43, -1.6, 0.14, 1.22, -0.07],
    &[-0.13, 1.4, 0.73, 0.29, -0.03, 0.75],
    &[1.28, -0.01, -0.84, 1.26, 0.37, 0.39],
    &[0.35, -0.21, -0.84, 0.74, 0.27, 0.3],
    &[0.65, 0.99, -0.64, 1.05, 0.18, 0.58],
];
pub(crate) const PRED_PD: &[&[f64]] =
    &[&[0.04, 0.7, 1.52, 2.8, 2.5, 0.44], &[0.89, 1.48, 0.36, 2.44, 2.39, 1.34], &[0.28, 1.2, 0.79, 2.75, 2.99, 0.03]];
pub(crate) const PRED_PE: &[&[f64]] = &[
    &[1.67, 0.38, 1.67, 0.54, -0.44, 0.74],
    &[0.64, 1.79, 1.53, 1.57, 0.18, 1.48],
    &[1.68, 1.36, 1.65, 0.56, -0.37, 0.92],
    &[1.3, 0.55, 1.63, 0.61, 0.18, 1.64],
];
pub(crate) const PRED_CTRL: &[&[f64]] = &[
    &[2.21, 1.67, 0.51, 1.27, 0.71, 1.04],
    &[2.06, 1.62, 0.95, 0.79, 1.32, 0.69],
    &[0.96, 1.46, 1.88, 1.6, 0.15, 1.45],
    &[1.34, 1.51, 2.11, 0.27, 1.0, 1.6],
    &[0.51, 2.04, 1.48, 1.72, 1.01, 1.71],
    &[1.83, 1.42, 1.42, 1.44, 0.87, 1.23],
];

pub(crate) fn array(rows: &[&[f64]]) -> Array2<f64> {
    let g = rows[0].len();
    Array2::from_shape_vec((rows.len(), g), rows.iter().flat_map(|r| r.iter().copied()).collect()).unwrap()
}

fn mean(rows: &[&[f64]]) -> Vec<f64> {
    let g = rows[0].len();
    (0..g).map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / rows.len() as f64).collect()
}

const REAL: [&[&[f64]]; 5] = [REAL_PA, REAL_PB, REAL_PC, REAL_PD, REAL_PE];
const PRED: [&[&[f64]]; 5] = [PRED_PA, PRED_PB, PRED_PC, PRED_PD, PRED_PE];

struct Means {
    real: Vec<Vec<f64>>,
    pred: Vec<Vec<f64>>,
    real_control: Vec<f64>,
    pred_control: Vec<f64>,
}

fn means() -> Means {
    Means {
        real: REAL.iter().map(|c| mean(c)).collect(),
        pred: PRED.iter().map(|c| mean(c)).collect(),
        real_control: mean(REAL_CTRL),
        pred_control: mean(PRED_CTRL),
    }
}

impl Means {
    fn pair(&self) -> BulkPair<'_> {
        BulkPair {
            real: &self.real,
            pred: &self.pred,
            real_control: &self.real_control,
            pred_control: &self.pred_control,
        }
    }
}

fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= tol, "got {got:?}\nwant {want:?}");
    }
}

#[test]
fn bulk_metrics_match_cell_eval_with_own_controls() {
    let m = means();
    let p = m.pair();
    let own = ControlMode::OwnControls;
    assert_close(
        &pearson_delta(&p, own),
        &[-0.36712088721239283, 0.37429702899260503, 0.19631293633239272, -0.42877554668678003, -0.5708414971945626],
        1e-12,
    );
    assert_close(
        &mse(&p),
        &[2.699812962962963, 1.1971989583333333, 1.3714659999999999, 3.2965870370370376, 1.1845072916666666],
        1e-12,
    );
    assert_close(&mae(&p), &[1.4527777777777777, 0.9670833333333334, 0.943, 1.445, 0.6695833333333333], 1e-12);
    assert_close(
        &mse_delta(&p, own),
        &[2.643676851851852, 1.9278776620370364, 2.088766925925926, 3.418171296296297, 1.0421429398148148],
        1e-12,
    );
    assert_close(
        &mae_delta(&p, own),
        &[1.2633333333333334, 1.2293055555555554, 1.2152222222222222, 1.3661111111111113, 0.6687500000000001],
        1e-12,
    );
}

#[test]
fn real_controls_mode_cancels_the_control_in_error_deltas() {
    let m = means();
    let p = m.pair();
    assert_close(&mse_delta(&p, ControlMode::RealControls), &mse(&p), 1e-12);
    assert_close(&mae_delta(&p, ControlMode::RealControls), &mae(&p), 1e-12);
    // A prediction equal to the real control has a zero (constant) delta: undefined correlation.
    let flat = vec![m.real_control.clone(); 5];
    let q = BulkPair { pred: &flat, ..p };
    assert!(pearson_delta(&q, ControlMode::RealControls).iter().all(|v| v.is_nan()));
}

#[test]
fn discrimination_matches_cell_eval() {
    let m = means();
    let p = m.pair();
    let perts = ["PA", "PB", "PC", "PD", "PE"];
    let genes = ["g0", "PB", "g2", "g3", "PD", "g5"];
    let excl = target_gene_indices(&perts, &genes);
    assert_eq!(excl, vec![vec![], vec![1], vec![], vec![4], vec![]]);
    let own = ControlMode::OwnControls;
    let cases: [(PdsDistance, [f64; 5], [f64; 5]); 3] = [
        (PdsDistance::L1, [0.2, 1.0, 0.8, 0.4, 0.8], [0.2, 0.8, 0.8, 0.2, 0.8]),
        (PdsDistance::L2, [0.4, 1.0, 0.4, 0.2, 0.2], [0.4, 1.0, 0.4, 0.2, 0.2]),
        (PdsDistance::Cosine, [0.4, 0.2, 0.8, 0.4, 0.2], [0.4, 0.4, 0.8, 0.2, 0.2]),
    ];
    for (d, with_excl, without) in cases {
        assert_close(&discrimination_score(&p, own, d, &excl, TieBreak::Stable), &with_excl, 1e-12);
        assert_close(&discrimination_score(&p, own, d, &[], TieBreak::Stable), &without, 1e-12);
    }
}

#[test]
fn discrimination_hand_worked_and_degenerate() {
    // Real deltas (control 0): [0,0], [1,0], [3,0]. Perfect predictions rank first -> 1.0.
    let real = vec![vec![0.0, 0.0], vec![1.0, 0.0], vec![3.0, 0.0]];
    let zero = vec![0.0, 0.0];
    let p = BulkPair { real: &real, pred: &real, real_control: &zero, pred_control: &zero };
    let s = discrimination_score(&p, ControlMode::RealControls, PdsDistance::L1, &[], TieBreak::Stable);
    assert_eq!(s, vec![1.0, 1.0, 1.0]);
    // Predicting [2,0] for everything: distances to reals 2,1,1 -> ranks: p0 = 2, p1 = 0, p2 = 1
    // (stable: p2 ties with p1, which comes first) -> 1 - r/3.
    let flat = vec![vec![2.0, 0.0]; 3];
    let q = BulkPair { pred: &flat, ..p };
    let s = discrimination_score(&q, ControlMode::RealControls, PdsDistance::L1, &[], TieBreak::Stable);
    assert_close(&s, &[1.0 / 3.0, 1.0, 2.0 / 3.0], 1e-15);
    let s = discrimination_score(&q, ControlMode::RealControls, PdsDistance::L1, &[], TieBreak::Average);
    assert_close(&s, &[1.0 / 3.0, 1.0 - 0.5 / 3.0, 1.0 - 0.5 / 3.0], 1e-15);
    // Cosine with a zero vector: distance 1 (sklearn), no NaN.
    assert_eq!(PdsDistance::Cosine.distance(&[0.0, 0.0], &[1.0, 2.0]), 1.0);
    assert_eq!(PdsDistance::Cosine.distance(&[1.0, 0.0], &[-1.0, 0.0]), 2.0);
    // One perturbation: always 1. None: empty.
    let one = vec![vec![5.0, 1.0]];
    let p1 = BulkPair { real: &one, pred: &one, real_control: &zero, pred_control: &zero };
    assert_eq!(discrimination_score(&p1, ControlMode::OwnControls, PdsDistance::L2, &[], TieBreak::Stable), vec![1.0]);
    let none: Vec<Vec<f64>> = vec![];
    let p0 = BulkPair { real: &none, pred: &none, real_control: &zero, pred_control: &zero };
    assert!(discrimination_score(&p0, ControlMode::OwnControls, PdsDistance::L2, &[], TieBreak::Stable).is_empty());
    // Everything tied (all zero): stable gives 1 - p/N.
    let zeros = vec![vec![0.0, 0.0]; 4];
    let pz = BulkPair { real: &zeros, pred: &zeros, real_control: &zero, pred_control: &zero };
    let s = discrimination_score(&pz, ControlMode::RealControls, PdsDistance::Cosine, &[], TieBreak::Stable);
    assert_close(&s, &[1.0, 0.75, 0.5, 0.25], 1e-15);
    let s = discrimination_score(&pz, ControlMode::RealControls, PdsDistance::Cosine, &[], TieBreak::Average);
    assert_close(&s, &[0.625; 4], 1e-15);
}

fn cell_pair<'a>(
    real: &'a [Array2<f64>],
    pred: &'a [Array2<f64>],
    rc: &'a Array2<f64>,
    pc: &'a Array2<f64>,
) -> CellPair<'a> {
    CellPair {
        real_pert: real.iter().map(|a| a.view()).collect(),
        pred_pert: pred.iter().map(|a| a.view()).collect(),
        real_control: rc.view(),
        pred_control: pc.view(),
    }
}

#[test]
fn pearson_edistance_matches_cell_eval() {
    let real: Vec<Array2<f64>> = REAL.iter().map(|c| array(c)).collect();
    let pred: Vec<Array2<f64>> = PRED.iter().map(|c| array(c)).collect();
    let (rc, pc) = (array(REAL_CTRL), array(PRED_CTRL));
    let cells = cell_pair(&real, &pred, &rc, &pc);
    let own = pearson_edistance(&cells, ControlMode::OwnControls);
    assert!((own.pearson - 0.18991342461555583).abs() < 1e-12, "{own:?}");
    // sklearn: E(real PA, real ctrl) = 3.6601778081134144 (see distributional tests).
    assert!((own.real[0] - 3.6601778081134144).abs() < 1e-12);
    let arena = pearson_edistance(&cells, ControlMode::RealControls);
    assert_eq!(arena.real, own.real);
    assert!(arena.pearson.is_finite());
    // Degenerate: every predicted perturbation is the same single cell -> d_pred constant -> NaN.
    let same: Vec<Array2<f64>> = (0..5).map(|_| array(&[&[1.0; 6]])).collect();
    let cells = cell_pair(&real, &same, &rc, &pc);
    assert!(pearson_edistance(&cells, ControlMode::RealControls).pearson.is_nan());
    // One perturbation: NaN, no panic.
    let cells = cell_pair(&real[..1], &pred[..1], &rc, &pc);
    assert!(pearson_edistance(&cells, ControlMode::OwnControls).pearson.is_nan());
}
