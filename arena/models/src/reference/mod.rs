//! Arena side of the reference world model: builds its plain training inputs from a task's
//! training view (start states, target means, training sequences of multi-step tasks, the
//! validation split carved from the training conditions) and the per-gene prior features
//! (`features`), and locates the bundled weights.

pub mod features;
pub mod training;

use std::path::{Path, PathBuf};

use reference_model::{ReferenceError, WEIGHTS_FILE};

/// Why [`load_for`] refused or failed to load weights for a task.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(
        "no bundled reference weights for task '{task}' ({} is missing); point ARENA_WEIGHTS_DIR at a folder \
         of bundled weights (the repository's reference-model/weights, or <prefix>/share/arena/weights beside an \
         installed binary), or train them with `arena train-reference --task {task} --out DIR` and pass --weights \
         DIR/{WEIGHTS_FILE}",
        path.display()
    )]
    NoBundledWeights { task: String, path: PathBuf },
    #[error(
        "{} was trained on another split of task '{task}' (split sha256 {trained_on}, this one {this}; seed \
         {seed}): its test perturbations may be among the weights' training conditions. Score weights trained \
         on this split (`arena train-reference --task {task} --split-seed {seed} --out DIR`, then --weights \
         DIR/{WEIGHTS_FILE})",
        path.display()
    )]
    OtherSplit { path: PathBuf, task: String, trained_on: String, this: String, seed: u64 },
    #[error(
        "{} was trained on {trained} proteins ({first}...), task '{task}' measures {measured} others; use weights \
         trained for this task (`arena train-reference --task {task} --out DIR`, then --weights DIR/{WEIGHTS_FILE})",
        path.display()
    )]
    OtherProteins { path: PathBuf, task: String, trained: usize, first: String, measured: usize },
    #[error(
        "the reference model reads gene actions only (its per-gene features); task '{task}' acts with compounds at \
         doses, which it does not model yet. Score the task's baselines (`arena eval --task {task}`) or your own \
         model (ONNX compounds: `arena contract`)"
    )]
    Unsupported { task: String },
    #[error(transparent)]
    Model(#[from] ReferenceError),
}

/// Whether the reference model can be trained and scored on a task: every family whose actions
/// are genes; not the dose families (compounds at doses).
pub fn supports(rule: &tasks::SplitRule) -> bool {
    !rule.is_dose()
}

/// [`supports`] as an error naming the task.
pub fn check_supported(instance: &tasks::TaskInstance<'_>) -> Result<(), LoadError> {
    match supports(&instance.spec.spec.split) {
        true => Ok(()),
        false => Err(LoadError::Unsupported { task: instance.spec.spec.id.clone() }),
    }
}

/// The environment variable naming the folder of bundled weights (one sub-folder per task).
pub const WEIGHTS_DIR_ENV: &str = "ARENA_WEIGHTS_DIR";

/// The folder of bundled weights, one sub-folder per task: `$ARENA_WEIGHTS_DIR`, else
/// `<prefix>/share/arena/weights` beside an installed `<prefix>/bin/arena`, else the first
/// `reference-model/weights` of a source checkout in the current directory, the executable's
/// directory or their ancestors. When none exists, the checkout's relative path (for messages).
pub fn weights_root() -> PathBuf {
    if let Some(dir) = std::env::var_os(WEIGHTS_DIR_ENV).filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    let installed = arena_data::locate::installed_share_dir().map(|d| d.join("weights")).filter(|d| d.is_dir());
    let checkout = Path::new("reference-model").join("weights");
    installed.or_else(|| arena_data::locate::find_dir(&checkout)).unwrap_or(checkout)
}

/// Directory of the bundled weights of a task: [`weights_root`]`/<task-id>/`.
pub fn bundled_dir(task: &str) -> PathBuf {
    weights_root().join(task)
}

/// The bundled weights file of a task (it may be missing: see [`load_for`]).
pub fn bundled_weights(task: &str) -> PathBuf {
    bundled_dir(task).join(reference_model::WEIGHTS_FILE)
}

/// Loads the reference model for a task instance: `weights`, or the bundled weights of the task;
/// refuses weights trained on another gene panel.
pub fn load_for(
    instance: &tasks::TaskInstance<'_>,
    weights: Option<&std::path::Path>,
) -> Result<reference_model::ReferenceModel, LoadError> {
    check_supported(instance)?;
    let task = &instance.spec.spec.id;
    let path = match weights {
        Some(p) => p.to_path_buf(),
        None => {
            let path = bundled_weights(task);
            if !path.is_file() {
                return Err(LoadError::NoBundledWeights { task: task.clone(), path });
            }
            path
        }
    };
    let model = reference_model::ReferenceModel::load(&path)?;
    model.check_genes(&path, task, instance.dataset.genes.names())?;
    let trained_on = &model.config.provenance.split_sha256;
    if !trained_on.is_empty() && *trained_on != instance.split_sha256() {
        return Err(LoadError::OtherSplit {
            path,
            task: task.clone(),
            trained_on: trained_on[..trained_on.len().min(12)].to_string(),
            this: instance.split_sha256()[..12].to_string(),
            seed: instance.spec.spec.seed,
        });
    }
    let proteins = &model.config.proteins;
    if let Some(panel) = instance.dataset.protein.as_ref().filter(|p| !proteins.is_empty() && &p.names != proteins) {
        return Err(LoadError::OtherProteins {
            path,
            task: task.clone(),
            trained: proteins.len(),
            first: proteins.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
            measured: panel.names.len(),
        });
    }
    Ok(model)
}
