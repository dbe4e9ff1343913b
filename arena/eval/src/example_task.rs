//! What scripts/make_examples.py needs to build the example ONNX models (`arena contract
//! --task-json TASK`): a simulator task's genes, perturbation targets and fitted `perturbed-mean`
//! shift δ, and the training view of `sim-few-shot` that examples/in_context.onnx carries as
//! weights (the training context's single effects, each training mean − the training control mean).

use std::collections::BTreeMap;

use serde::Serialize;
use tasks::{TaskError, TaskInstance, find_spec};

use arena_sim::{SimConfig, contexts, export, simulate};

/// The few-shot task whose training view the in-context example carries.
pub const FEW_SHOT_TASK: &str = "sim-few-shot";

#[derive(Debug, Serialize)]
pub struct ExampleTask {
    pub contract: String,
    pub task: String,
    pub dataset: String,
    pub dataset_sha256: String,
    pub genes: Vec<String>,
    pub perturbation_targets: Vec<String>,
    /// x' = x + δ with δ = μ_pert − μ_ctrl (arena/models/src/baselines/perturbed_mean.rs).
    pub perturbed_mean_delta: Vec<f64>,
    pub few_shot: FewShotTraining,
}

/// `sim-few-shot`'s training context: every single's mean effect (training mean − training control
/// mean) over the genes of `ExampleTask::genes` (context A is the default simulator), by target.
#[derive(Debug, Serialize)]
pub struct FewShotTraining {
    pub task: String,
    pub dataset_sha256: String,
    pub single_effects: BTreeMap<String, SingleEffect>,
}

#[derive(Debug, Serialize)]
pub struct SingleEffect {
    /// The perturbation input's entry for it: −1 knockdown, +1 activation.
    pub sign: f32,
    pub effect: Vec<f64>,
}

fn sim_error(dataset: &str, e: impl std::fmt::Display) -> TaskError {
    TaskError::InvalidDataset { dataset: dataset.into(), reason: format!("simulating it failed: {e}") }
}

/// The example-model inputs of simulator task `task` (on the default simulator dataset).
pub fn example_task(task: &str, contract: &str) -> Result<ExampleTask, TaskError> {
    let sim = simulate(&SimConfig::default()).map_err(|e| sim_error(export::SIMULATOR_ID, e))?;
    let dataset = export::snapshot_dataset(&sim)?;
    let instance = TaskInstance::build(find_spec(task, Some(export::SIMULATOR_ID))?, &dataset)?;
    let delta: Vec<f64> = (&instance.perturbed_mean - &instance.control_mean).to_vec();
    let mut targets: Vec<String> =
        dataset.conditions().iter().flat_map(|p| p.genes().map(str::to_string).collect::<Vec<_>>()).collect();
    targets.sort();
    targets.dedup();
    Ok(ExampleTask {
        contract: contract.into(),
        task: instance.spec.spec.id.clone(),
        dataset: dataset.id.clone(),
        dataset_sha256: dataset.sha256.clone(),
        genes: dataset.genes.names().to_vec(),
        perturbation_targets: targets,
        perturbed_mean_delta: delta,
        few_shot: few_shot_training()?,
    })
}

fn few_shot_training() -> Result<FewShotTraining, TaskError> {
    let sim = simulate(&contexts::two_context_config()).map_err(|e| sim_error(contexts::TWO_CONTEXT_ID, e))?;
    let dataset = contexts::two_context_dataset(&sim)?;
    let instance = TaskInstance::build(find_spec(FEW_SHOT_TASK, None)?, &dataset)?;
    let single_effects = instance
        .train_means
        .iter()
        .filter_map(|(p, m)| {
            let mut targets = p.targets();
            match (targets.next(), targets.next()) {
                (Some((gene, direction)), None) => Some((
                    gene.to_string(),
                    SingleEffect { sign: direction.sign(), effect: (m - &instance.control_mean).to_vec() },
                )),
                _ => None,
            }
        })
        .collect();
    Ok(FewShotTraining { task: FEW_SHOT_TASK.into(), dataset_sha256: dataset.sha256.clone(), single_effects })
}
