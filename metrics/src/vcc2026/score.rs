//! One VCC 2026 scoring pass: the bulks and DE tables of both sides, then the ten members
//! (six scored, four diagnostics) per perturbation and their panel aggregates; all cells at once
//! ([`score`]) or the perturbations in batches against control cells prepared once ([`Batched`]).

use super::bulk::bulk_and_jackknife;
use super::de_metrics;
use super::expression::{self, Bulks};
use super::wilcoxon::{DeTable, GroupTable, Reference, wilcoxon_de};
use super::{BULK_TARGET_SUM, ControlSource, CountsSide, DIAGNOSTICS, SCORED};
use crate::de::CsrMatrix;

/// Per-perturbation values of every member (`None` = no row, as cell-eval2 omits it; NaN =
/// undefined) and the DE tables they were computed from.
#[derive(Debug, Clone)]
pub struct Vcc2026Scores {
    /// (metric, one value per perturbation), in [`SCORED`] then [`DIAGNOSTICS`] order;
    /// `expr_mse_unbiased_capped_norm` has no per-perturbation value and is absent here.
    pub per_pert: Vec<(&'static str, Vec<Option<f64>>)>,
    /// Panel aggregate of every member: the mean over defined values, the ratio of sums for
    /// `expr_mse_unbiased_capped_norm` (NaN when its denominator sum is not positive).
    pub aggregate: Vec<(&'static str, f64)>,
    pub real_de: DeTable,
    pub pred_de: DeTable,
}

/// Why a panel cannot be scored.
#[derive(Debug, Clone, PartialEq)]
pub enum Vcc2026Error {
    /// No perturbation label names a measured gene (cell-eval2's zero-resolve gate).
    NoTargetResolved { where_: &'static str },
}

impl std::fmt::Display for Vcc2026Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Vcc2026Error::NoTargetResolved { where_ } => write!(
                f,
                "no perturbation label names a gene {where_}: the vcc2026 members exclude each perturbation's own \
target gene, found by exact name, and cell-eval2 refuses a panel where none resolves; name perturbations by \
their target gene symbols"
            ),
        }
    }
}

impl std::error::Error for Vcc2026Error {}

/// The bulks and jackknife corrections of every group of `x` (rows `groups`), in order.
pub fn group_bulks(x: &CsrMatrix, groups: &[Vec<usize>]) -> (Vec<Vec<f64>>, Vec<f64>) {
    use rayon::prelude::*;
    let per: Vec<(Vec<f64>, f64)> =
        groups.par_iter().map(|rows| bulk_and_jackknife(x, rows, BULK_TARGET_SUM)).collect();
    per.into_iter().unzip()
}

/// The bulks of one side: every perturbation, and the control group.
pub fn side_bulks(side: &CountsSide) -> Bulks {
    let (perts, correction) = group_bulks(side.x, side.groups);
    let (control, control_correction) = bulk_and_jackknife(side.x, side.control, BULK_TARGET_SUM);
    Bulks { perts, correction, control, control_correction }
}

/// Refuses a panel where no perturbation names a measured gene (before any cell is read).
pub fn check_targets(targets: &[Option<usize>]) -> Result<(), Vcc2026Error> {
    if targets.iter().all(Option::is_none) {
        return Err(Vcc2026Error::NoTargetResolved { where_: "of the panel" });
    }
    Ok(())
}

/// [`score`] with the prediction against the real controls ([`ControlSource::Real`]), the
/// perturbations given in batches: [`Batched::new`] prepares the control cells of both sides
/// once (the DE gene gate and control ranks, the control bulks), [`Batched::add`] keeps what
/// each batch's cells give per perturbation (bulks, jackknife corrections, DE rows), and
/// [`Batched::finish`] computes the members, several of which compare perturbations with each
/// other, from those. Every per-perturbation value is computed from that perturbation's cells
/// and the controls alone, in the same order as [`score`], so the result is the same bit for
/// bit whatever the batches.
pub struct Batched {
    reference: Reference,
    real: Bulks,
    pred: Bulks,
    real_de: Vec<GroupTable>,
    pred_de: Vec<GroupTable>,
}

impl Batched {
    /// The control cells `real_control` of `real_x` (the reference of both DE tables and of
    /// every effect) and `pred_control` of `pred_x`.
    pub fn new(real_x: &CsrMatrix, real_control: &[usize], pred_x: &CsrMatrix, pred_control: &[usize]) -> Batched {
        let empty =
            |(control, control_correction)| Bulks { perts: vec![], correction: vec![], control, control_correction };
        let ((reference, real), pred) = rayon::join(
            || {
                rayon::join(
                    || Reference::of(real_x, real_control),
                    || bulk_and_jackknife(real_x, real_control, BULK_TARGET_SUM),
                )
            },
            || bulk_and_jackknife(pred_x, pred_control, BULK_TARGET_SUM),
        );
        Batched { reference, real: empty(real), pred: empty(pred), real_de: vec![], pred_de: vec![] }
    }

    /// The next perturbations of the panel: their groups of the real and the predicted cells.
    pub fn add(&mut self, real: (&CsrMatrix, &[Vec<usize>]), pred: (&CsrMatrix, &[Vec<usize>])) {
        let reference = &self.reference;
        let ((real_de, pred_de), ((rb, rc), (pb, pc))) = rayon::join(
            || rayon::join(|| reference.test(real.0, real.1), || reference.test(pred.0, pred.1)),
            || rayon::join(|| group_bulks(real.0, real.1), || group_bulks(pred.0, pred.1)),
        );
        self.real_de.extend(real_de);
        self.pred_de.extend(pred_de);
        self.real.perts.extend(rb);
        self.real.correction.extend(rc);
        self.pred.perts.extend(pb);
        self.pred.correction.extend(pc);
    }

    /// The members of every perturbation added, in the order added (`targets` and `genes` as
    /// for [`score`]).
    pub fn finish(self, targets: &[Option<usize>], genes: &[String]) -> Result<Vcc2026Scores, Vcc2026Error> {
        check_targets(targets)?;
        let (real_de, pred_de) = (self.reference.table(self.real_de), self.reference.table(self.pred_de));
        Ok(score_from_parts(&self.real, &self.pred, real_de, pred_de, targets, genes, ControlSource::Real))
    }
}

fn mean_defined(v: &[Option<f64>]) -> f64 {
    let d: Vec<f64> = v.iter().flatten().copied().filter(|x| !x.is_nan()).collect();
    if d.is_empty() { f64::NAN } else { d.iter().sum::<f64>() / d.len() as f64 }
}

/// Scores `pred` against `real` (same genes, same perturbation order). `targets` is each
/// perturbation's target gene column ([`super::resolve_targets`]). With `ControlSource::Real`
/// the prediction's effects and DE are taken against the real control cells (pred.control is
/// not read); with `Own`, against its own.
pub fn score(
    real: &CountsSide,
    pred: &CountsSide,
    targets: &[Option<usize>],
    genes: &[String],
    source: ControlSource,
) -> Result<Vcc2026Scores, Vcc2026Error> {
    check_targets(targets)?;
    let (real_de, pred_de) = rayon::join(
        || wilcoxon_de(real.x, real.groups, real.x, real.control),
        || match source {
            ControlSource::Real => wilcoxon_de(pred.x, pred.groups, real.x, real.control),
            ControlSource::Own => wilcoxon_de(pred.x, pred.groups, pred.x, pred.control),
        },
    );
    let (real_b, pred_b) = rayon::join(|| side_bulks(real), || side_bulks(pred));
    Ok(score_from_parts(&real_b, &pred_b, real_de, pred_de, targets, genes, source))
}

/// The DE members' target genes: a target counts only if the reference table tested its gene.
pub fn de_targets(real_de: &DeTable, targets: &[Option<usize>]) -> Vec<Option<usize>> {
    targets.iter().map(|t| t.filter(|g| real_de.position(*g).is_some())).collect()
}

/// The members from precomputed bulks and DE tables.
pub fn score_from_parts(
    real_b: &Bulks,
    pred_b: &Bulks,
    real_de: DeTable,
    pred_de: DeTable,
    targets: &[Option<usize>],
    genes: &[String],
    source: ControlSource,
) -> Vcc2026Scores {
    let origin = match source {
        ControlSource::Real => &real_b.control,
        ControlSource::Own => &pred_b.control,
    };
    let some = |v: Vec<f64>| v.into_iter().map(Some).collect::<Vec<_>>();
    let dt = de_targets(&real_de, targets);
    let capped = expression::mse_unbiased_capped(real_b, pred_b, targets);
    let distance = expression::distance_unbiased(real_b, targets);
    let norm = expression::capped_norm(&capped, &distance).unwrap_or(f64::NAN);
    let per_pert: Vec<(&'static str, Vec<Option<f64>>)> = vec![
        ("pds_cosine", some(expression::pds_cosine(real_b, &pred_b.perts, origin, targets))),
        (
            "de_wilcoxon_direction_fidelity_yield_raw",
            some(de_metrics::direction_fidelity_yield_raw(&real_de, &pred_de, &dt)),
        ),
        ("de_wilcoxon_direction_reach_raw", some(de_metrics::direction_reach_raw(&real_de, &pred_de, &dt, genes))),
        ("de_wilcoxon_sig_jaccard", some(de_metrics::sig_jaccard(&real_de, &pred_de, &dt))),
        ("de_wilcoxon_lfc_nmae", de_metrics::lfc_nmae(&real_de, &pred_de, &dt)),
        ("expr_mse_unbiased", some(expression::mse_unbiased(real_b, pred_b, targets))),
        ("expr_mse_unbiased_capped", some(capped)),
        ("expr_distance_unbiased", some(distance)),
        ("expr_real_mass_ratio", some(expression::real_mass_ratio(real_b, BULK_TARGET_SUM))),
    ];
    let mut aggregate = Vec::new();
    for name in SCORED.iter().chain(&DIAGNOSTICS) {
        let value = if *name == "expr_mse_unbiased_capped_norm" {
            norm
        } else {
            per_pert.iter().find(|(n, _)| n == name).map_or(f64::NAN, |(_, v)| mean_defined(v))
        };
        aggregate.push((*name, value));
    }
    Vcc2026Scores { per_pert, aggregate, real_de, pred_de }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::de::DenseMatrix;

    /// Counts of `n` cells x `g` genes from a small LCG; group k doubles genes 2k, 2k+1.
    fn counts(rows: &[usize], g: usize, seed: u64) -> DenseMatrix {
        let mut s = seed;
        let mut data = Vec::new();
        for &k in rows {
            for j in 0..g {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let mut v = ((s >> 33) % 40) as f32;
                if k != usize::MAX && j / 2 == k {
                    v *= 2.0;
                }
                data.push(if (s >> 20).is_multiple_of(4) { 0.0 } else { v });
            }
        }
        DenseMatrix { n_rows: rows.len(), n_cols: g, data }
    }

    fn csr_of(rows: &[&[f32]], g: usize) -> CsrMatrix {
        CsrMatrix::from_dense(&DenseMatrix { n_rows: rows.len(), n_cols: g, data: rows.concat() })
    }

    /// Batches of any size give the members of one pass over every cell, bit for bit.
    #[test]
    fn batched_equals_one_pass() {
        let (g, n_perts) = (12, 5);
        let genes: Vec<String> = (0..g).map(|j| format!("G{j}")).collect();
        let perts: Vec<String> = (0..n_perts).map(|k| format!("G{}", 2 * k)).collect();
        let targets = super::super::resolve_targets(&perts, &genes);
        // cells: 30 controls, then 7 + k cells of perturbation k, in an interleaved order
        let mut labels: Vec<usize> = vec![usize::MAX; 30];
        for k in 0..n_perts {
            labels.extend(std::iter::repeat_n(k, 7 + k));
        }
        labels.sort_by_key(|l| l.wrapping_mul(7) % 11);
        let side = |seed: u64| {
            let d = counts(&labels, g, seed);
            let rows: Vec<&[f32]> = d.data.chunks(g).collect();
            let groups: Vec<Vec<usize>> =
                (0..n_perts).map(|k| (0..labels.len()).filter(|&i| labels[i] == k).collect()).collect();
            let control: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == usize::MAX).collect();
            (csr_of(&rows, g), rows.iter().map(|r| r.to_vec()).collect::<Vec<_>>(), groups, control)
        };
        let (rx, rrows, rg, rc) = side(1);
        let (px, prows, pg, pc) = side(2);
        let real = CountsSide { x: &rx, groups: &rg, control: &rc };
        let pred = CountsSide { x: &px, groups: &pg, control: &pc };
        let want = score(&real, &pred, &targets, &genes, ControlSource::Real).unwrap();
        let sub =
            |rows: &[Vec<f32>], idx: &[usize]| csr_of(&idx.iter().map(|&i| rows[i].as_slice()).collect::<Vec<_>>(), g);
        for size in [1, 2, 3, n_perts] {
            let mut b = Batched::new(
                &sub(&rrows, &rc),
                &(0..rc.len()).collect::<Vec<_>>(),
                &sub(&prows, &pc),
                &(0..pc.len()).collect::<Vec<_>>(),
            );
            for start in (0..n_perts).step_by(size) {
                let end = (start + size).min(n_perts);
                let part = |rows: &[Vec<f32>], groups: &[Vec<usize>]| {
                    let idx: Vec<usize> = groups[start..end].iter().flatten().copied().collect();
                    let mut at = 0;
                    let renumbered: Vec<Vec<usize>> = groups[start..end]
                        .iter()
                        .map(|grp| {
                            at += grp.len();
                            (at - grp.len()..at).collect()
                        })
                        .collect();
                    (sub(rows, &idx), renumbered)
                };
                let ((bx, bg), (qx, qg)) = (part(&rrows, &rg), part(&prows, &pg));
                b.add((&bx, &bg), (&qx, &qg));
            }
            let got = b.finish(&targets, &genes).unwrap();
            let bits = |s: &Vcc2026Scores| {
                let mut v: Vec<u64> =
                    s.per_pert.iter().flat_map(|(_, x)| x.iter().map(|y| y.map_or(1, f64::to_bits))).collect();
                v.extend(s.aggregate.iter().map(|(_, x)| x.to_bits()));
                v
            };
            assert_eq!(bits(&got), bits(&want), "batches of {size}");
            assert_eq!(got.real_de, want.real_de);
            assert_eq!(got.pred_de, want.pred_de);
        }
    }
}
