//! The honest baselines shown beside every model, all behind `tasks::Model`, fitted only on a
//! task's training view (training conditions and training controls):
//! `control-mean` (no change), `perturbed-mean` (Systema's average training perturbation),
//! `additive` (sum of the training single effects), `linear` (Ahlmann-Eltze et al. 2025),
//! `ridge` (training effects regressed on the perturbation indicator, off-panel targets included)
//! and the target-aware `control-mean+target`, `perturbed-mean+target`, `additive+target`, which
//! also move each perturbed gene itself by its own (or the typical) training change.
//! `grn-ridge` (ridge plus the propagation of each target's signed CollecTRI edges, the prior the
//! reference model reads) is run on request (`--baseline grn-ridge`, [`PRIOR_BASELINES`]).
//! On cross-modal tasks each also predicts proteins (`protein_head.rs`); on few-shot tasks the
//! family refits them at every k on the pooled training view.

mod additive;
mod control_mean;
mod fingerprint;
mod grn_ridge;
pub(crate) mod linalg;
mod linear;
mod perturbed_mean;
mod protein_head;
mod ridge;
mod shift;
mod target_aware;

use tasks::{Model, TaskError, TaskInstance};

pub use additive::Additive;
pub use control_mean::ControlMean;
pub use fingerprint::fingerprint;
pub use grn_ridge::GrnRidge;
pub use linear::Linear;
pub use perturbed_mean::PerturbedMean;
pub use ridge::Ridge;
pub use target_aware::TargetAware;

/// Names accepted by `--baseline`, in display order.
pub const BASELINES: &[&str] = &[
    "control-mean",
    "perturbed-mean",
    "additive",
    "linear",
    "ridge",
    "control-mean+target",
    "perturbed-mean+target",
    "additive+target",
];

/// Baselines that read a prior network (the registered CollecTRI table, as the reference model
/// does): accepted by `--baseline`, not listed in the task specs.
pub const PRIOR_BASELINES: &[&str] = &["grn-ridge"];

/// Whether `name` is a baseline `--baseline` accepts.
pub fn is_baseline(name: &str) -> bool {
    BASELINES.contains(&name) || PRIOR_BASELINES.contains(&name)
}

/// Suffix of the target-aware variant of a mean baseline.
const TARGET_SUFFIX: &str = "+target";

/// One line per baseline for `--help` and error messages.
pub fn describe(name: &str) -> &'static str {
    match name {
        "control-mean" => "predicts no change: x' = x",
        "perturbed-mean" => "adds the mean training perturbation effect, whatever the perturbation",
        "additive" => {
            "adds the training single effects of each gene (perturbed mean for unseen genes); a compound adds its training effect at the dose, interpolated in log10(1 + dose/nM) between its training doses"
        }
        "linear" => "Ahlmann-Eltze linear model on PCA gene embeddings of the training effects",
        "ridge" => {
            "ridge regression of the training effects on the perturbation indicator (off-panel targets included, combinations as sums, compounds valued log10(1 + dose/nM), λ by leave-one-out)"
        }
        "control-mean+target" => {
            "no change, except each perturbed gene moves by its own (or the typical) training change"
        }
        "perturbed-mean+target" => {
            "the perturbed mean, with each perturbed gene moved by its own (or the typical) training change"
        }
        "additive+target" => "additive, with each perturbed gene moved by its own (or the typical) training change",
        "grn-ridge" => {
            "ridge plus each target's signed CollecTRI edges (one and two steps, per-gene gains fitted on training): the prior the reference model reads"
        }
        _ => "unknown",
    }
}

/// Fits the named baseline on the task's training view; on cross-modal tasks with the protein
/// head of [`protein_head`] (start protein plus the coupling of the predicted RNA change).
pub fn fit(name: &str, instance: &TaskInstance<'_>) -> Result<Box<dyn Model>, TaskError> {
    fit_with_data(name, instance, None)
}

/// [`fit`], reading a prior baseline's network from `data_dir` (`--data-dir`; `None`: the
/// default data folder).
pub fn fit_with_data(
    name: &str,
    instance: &TaskInstance<'_>,
    data_dir: Option<&std::path::Path>,
) -> Result<Box<dyn Model>, TaskError> {
    let model = if name == "grn-ridge" {
        Box::new(GrnRidge::fit(instance, &prior_edges(data_dir)?)) as Box<dyn Model>
    } else {
        fit_rna(name, instance)?
    };
    if matches!(instance.spec.spec.split, tasks::SplitRule::CrossModal { .. }) {
        let coupling = tasks::splits::cross_modal::Coupling::fit(instance)?;
        return Ok(Box::new(protein_head::WithProteinHead::new(model, coupling)));
    }
    Ok(model)
}

fn fit_rna(name: &str, instance: &TaskInstance<'_>) -> Result<Box<dyn Model>, TaskError> {
    if let Some(base) = name.strip_suffix(TARGET_SUFFIX).filter(|b| BASELINES.contains(&name) && !b.is_empty()) {
        return Ok(Box::new(TargetAware::fit(fit_rna(base, instance)?, instance)));
    }
    Ok(match name {
        "control-mean" => Box::new(ControlMean),
        "perturbed-mean" => Box::new(PerturbedMean::fit(instance)),
        "additive" => Box::new(Additive::fit(instance)),
        "linear" => Box::new(Linear::fit(instance, linear::DEFAULT_RANK, linear::DEFAULT_RIDGE)),
        "ridge" => Box::new(Ridge::fit(instance)),
        other => {
            return Err(TaskError::Model {
                model: other.to_string(),
                reason: format!("no such baseline; choose one of: {}", BASELINES.join(", ")),
            });
        }
    })
}

/// The registered CollecTRI table (sha256-verified), as `arena train-reference` reads it.
fn prior_edges(data_dir: Option<&std::path::Path>) -> Result<crate::reference::features::Edges, TaskError> {
    let fail = |reason: String| TaskError::Model { model: "grn-ridge".into(), reason };
    let registry = arena_data::Registry::embedded().map_err(|e| fail(e.to_string()))?;
    let dir = arena_data::shared_data_dir(data_dir).map_err(|e| fail(e.to_string()))?;
    let entry = registry.get("collectri").map_err(|e| fail(e.to_string()))?;
    let path = arena_data::verify_local(entry, &dir)
        .map_err(|e| fail(e.to_string()))?
        .into_result()
        .map_err(|e| fail(format!("{e}; grn-ridge reads the CollecTRI table (pass --data-dir)")))?;
    arena_data::collectri::read_signed_edges(&path).map_err(|e| fail(e.to_string()))
}
