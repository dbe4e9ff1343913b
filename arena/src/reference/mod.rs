//! Arena side of the reference world model: builds its plain training inputs from a task's
//! training view (start states, target means, training sequences of multi-step tasks, the
//! validation split carved from the training conditions) and the per-gene prior features
//! (`features`), and locates the bundled weights.

pub mod features;
pub mod training;

use std::path::PathBuf;

/// Directory of the bundled weights of a task: `reference-model/weights/<task-id>/`.
pub fn bundled_dir(task: &str) -> PathBuf {
    let arena = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    arena.parent().unwrap_or(arena).join("reference-model/weights").join(task)
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
) -> anyhow::Result<reference_model::ReferenceModel> {
    let task = &instance.spec.spec.id;
    let path = match weights {
        Some(p) => p.to_path_buf(),
        None => {
            let p = bundled_weights(task);
            if !p.is_file() {
                anyhow::bail!(
                    "no bundled reference weights for task '{task}' ({} is missing); train them with \
                     `arena train-reference --task {task}` or pass --weights FILE",
                    p.display()
                );
            }
            p
        }
    };
    let model = reference_model::ReferenceModel::load(&path)?;
    model.check_genes(&path, task, instance.dataset.genes.names())?;
    let proteins = &model.config.proteins;
    if let Some(panel) = instance.dataset.protein.as_ref().filter(|p| !proteins.is_empty() && &p.names != proteins) {
        anyhow::bail!(
            "{} was trained on {} proteins ({}...), task '{task}' measures {} others; use weights trained for this task \
             (`arena train-reference --task {task}`)",
            path.display(),
            proteins.len(),
            proteins.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
            panel.names.len()
        );
    }
    Ok(model)
}
