//! One VCC 2026 scoring pass: the bulks and DE tables of both sides, then the ten members
//! (six scored, four diagnostics) per perturbation and their panel aggregates.

use super::bulk::bulk_and_jackknife;
use super::de_metrics;
use super::expression::{self, Bulks};
use super::wilcoxon::{DeTable, wilcoxon_de};
use super::{BULK_TARGET_SUM, ControlSource, CountsSide, DIAGNOSTICS, SCORED};

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

/// The bulks of one side: every perturbation, and the control group.
pub fn side_bulks(side: &CountsSide) -> Bulks {
    use rayon::prelude::*;
    let per: Vec<(Vec<f64>, f64)> =
        side.groups.par_iter().map(|rows| bulk_and_jackknife(side.x, rows, BULK_TARGET_SUM)).collect();
    let (control, control_correction) = bulk_and_jackknife(side.x, side.control, BULK_TARGET_SUM);
    let (perts, correction) = per.into_iter().unzip();
    Bulks { perts, correction, control, control_correction }
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
    if targets.iter().all(Option::is_none) {
        return Err(Vcc2026Error::NoTargetResolved { where_: "of the panel" });
    }
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
