//! The honest baselines shown beside every model, all behind `tasks::Model`, fitted only on a
//! task's training view (training conditions and training controls):
//! `control-mean` (no change), `perturbed-mean` (Systema's average training perturbation),
//! `additive` (sum of the training single effects), `linear` (Ahlmann-Eltze et al. 2025).
//! On cross-modal tasks each also predicts proteins (`protein_head.rs`); on few-shot tasks the
//! family refits them at every k on the pooled training view.

mod additive;
mod control_mean;
pub(crate) mod linalg;
mod linear;
mod perturbed_mean;
mod protein_head;
mod shift;

use sha2::{Digest, Sha256};
use tasks::{Model, TaskError, TaskInstance};

pub use additive::Additive;
pub use control_mean::ControlMean;
pub use linear::Linear;
pub use perturbed_mean::PerturbedMean;

/// Names accepted by `--baseline`, in display order.
pub const BASELINES: &[&str] = &["control-mean", "perturbed-mean", "additive", "linear"];

/// One line per baseline for `--help` and error messages.
pub fn describe(name: &str) -> &'static str {
    match name {
        "control-mean" => "predicts no change: x' = x",
        "perturbed-mean" => "adds the mean training perturbation effect, whatever the perturbation",
        "additive" => "adds the training single effects of each gene (perturbed mean for unseen genes)",
        "linear" => "Ahlmann-Eltze linear model on PCA gene embeddings of the training effects",
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
    Ok(match name {
        "control-mean" => Box::new(ControlMean),
        "perturbed-mean" => Box::new(PerturbedMean::fit(instance)),
        "additive" => Box::new(Additive::fit(instance)),
        "linear" => Box::new(Linear::fit(instance, linear::DEFAULT_RANK, linear::DEFAULT_RIDGE)),
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
