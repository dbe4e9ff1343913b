//! The honest baselines shown beside every model, all behind `tasks::Model`, fitted only on a
//! task's training view (training conditions and training controls):
//! `control-mean` (no change), `perturbed-mean` (Systema's average training perturbation),
//! `additive` (sum of the training single effects), `linear` (Ahlmann-Eltze et al. 2025),
//! `ridge` (training effects regressed on the perturbation indicator, off-panel targets included)
//! and the target-aware `control-mean+target`, `perturbed-mean+target`, `additive+target`, which
//! also move each perturbed gene itself by its own (or the typical) training change.
//! On cross-modal tasks each also predicts proteins (`protein_head.rs`); on few-shot tasks the
//! family refits them at every k on the pooled training view.

mod additive;
mod control_mean;
pub(crate) mod linalg;
mod linear;
mod perturbed_mean;
mod protein_head;
mod ridge;
mod shift;
mod target_aware;

use sha2::{Digest, Sha256};
use tasks::{Model, TaskError, TaskInstance};

pub use additive::Additive;
pub use control_mean::ControlMean;
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

/// Suffix of the target-aware variant of a mean baseline.
const TARGET_SUFFIX: &str = "+target";

/// One line per baseline for `--help` and error messages.
pub fn describe(name: &str) -> &'static str {
    match name {
        "control-mean" => "predicts no change: x' = x",
        "perturbed-mean" => "adds the mean training perturbation effect, whatever the perturbation",
        "additive" => "adds the training single effects of each gene (perturbed mean for unseen genes)",
        "linear" => "Ahlmann-Eltze linear model on PCA gene embeddings of the training effects",
        "ridge" => {
            "ridge regression of the training effects on the perturbation indicator (off-panel targets included, combinations as sums, λ by leave-one-out)"
        }
        "control-mean+target" => {
            "no change, except each perturbed gene moves by its own (or the typical) training change"
        }
        "perturbed-mean+target" => {
            "the perturbed mean, with each perturbed gene moved by its own (or the typical) training change"
        }
        "additive+target" => "additive, with each perturbed gene moved by its own (or the typical) training change",
        _ => "unknown",
    }
}

/// Fits the named baseline on the task's training view; on cross-modal tasks with the protein
/// head of [`protein_head`] (start protein plus the coupling of the predicted RNA change).
pub fn fit(name: &str, instance: &TaskInstance<'_>) -> Result<Box<dyn Model>, TaskError> {
    let model = fit_rna(name, instance)?;
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

/// sha256 of a baseline's name and fitted parameters (f64 bytes), its model fingerprint.
pub(crate) fn fingerprint(name: &str, params: &[&[f64]]) -> String {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    for p in params {
        for v in *p {
            h.update(v.to_le_bytes());
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
