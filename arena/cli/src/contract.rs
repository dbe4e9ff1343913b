//! `arena contract`: prints the `arena-onnx-v1` model contract (Markdown, with a PyTorch export
//! example). The hidden `--task-json TASK` prints what scripts/make_examples.py needs to build the
//! example models for a simulator task: its genes, the perturbation targets and the fitted
//! `perturbed-mean` shift δ.

use anyhow::Context;
use tasks::{TaskInstance, find_spec};

use arena_models::runners::onnx::{CONTRACT, CONTRACT_MD};
use arena_sim::{SimConfig, export, simulate};

#[derive(Debug, clap::Args)]
pub struct ContractArgs {
    /// Print JSON for the example-model builder (scripts/make_examples.py): the genes, perturbation
    /// targets and perturbed-mean shift of TASK on the default simulator dataset.
    #[arg(long, value_name = "TASK", hide = true)]
    task_json: Option<String>,
}

pub fn run(args: ContractArgs) -> anyhow::Result<()> {
    match args.task_json {
        None => out!("{}", CONTRACT_MD.trim_end()),
        Some(task) => out!("{}", task_json(&task)?),
    }
    Ok(())
}

fn task_json(task: &str) -> anyhow::Result<String> {
    let config = SimConfig::default();
    let sim = simulate(&config)?;
    let dataset = export::snapshot_dataset(&sim)?;
    let spec = find_spec(task, Some(export::SIMULATOR_ID))?;
    let instance = TaskInstance::build(spec, &dataset)?;
    let delta: Vec<f64> = (&instance.perturbed_mean - &instance.control_mean).to_vec();
    let mut targets: Vec<String> =
        dataset.conditions().iter().flat_map(|p| p.genes().map(str::to_string).collect::<Vec<_>>()).collect();
    targets.sort();
    targets.dedup();
    let json = serde_json::json!({
        "contract": CONTRACT,
        "task": instance.spec.spec.id,
        "dataset": dataset.id,
        "dataset_sha256": dataset.sha256,
        "genes": dataset.genes.names(),
        "perturbation_targets": targets,
        // x' = x + δ with δ = μ_pert − μ_ctrl (arena/models/src/baselines/perturbed_mean.rs).
        "perturbed_mean_delta": delta,
    });
    serde_json::to_string_pretty(&json).context("serialising the task JSON")
}
