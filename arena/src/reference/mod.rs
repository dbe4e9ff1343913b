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
                     `arena train-reference --task {task} --out DIR` and pass --weights DIR/{}",
                    p.display(),
                    reference_model::WEIGHTS_FILE
                );
            }
            p
        }
    };
    let model = reference_model::ReferenceModel::load(&path)?;
    model.check_genes(&path, task, instance.dataset.genes.names())?;
    let trained_on = &model.config.provenance.split_sha256;
    if !trained_on.is_empty() && *trained_on != instance.split_sha256() {
        anyhow::bail!(
            "{} was trained on another split of task '{task}' (split sha256 {}, this one {}; seed {}): its test \
             perturbations may be among the weights' training conditions. Score weights trained on this split \
             (`arena train-reference --task {task} --split-seed {} --out DIR`, then --weights DIR/{})",
            path.display(),
            &trained_on[..trained_on.len().min(12)],
            &instance.split_sha256()[..12],
            instance.spec.spec.seed,
            instance.spec.spec.seed,
            reference_model::WEIGHTS_FILE
        );
    }
    let proteins = &model.config.proteins;
    if let Some(panel) = instance.dataset.protein.as_ref().filter(|p| !proteins.is_empty() && &p.names != proteins) {
        anyhow::bail!(
            "{} was trained on {} proteins ({}...), task '{task}' measures {} others; use weights trained for this task \
             (`arena train-reference --task {task} --out DIR`, then --weights DIR/weights.safetensors)",
            path.display(),
            proteins.len(),
            proteins.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
            panel.names.len()
        );
    }
    Ok(model)
}
