//! `arena contract`: prints the `arena-onnx-v1` model contract (Markdown, with a PyTorch export
//! example). The hidden `--task-json TASK` prints what scripts/make_examples.py needs to build the
//! example models for a simulator task (`arena_eval::example_task`).

use anyhow::Context;

use arena_models::runners::onnx::{CONTRACT, CONTRACT_MD};

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
    let json = arena_eval::example_task::example_task(task, CONTRACT)?;
    serde_json::to_string_pretty(&json).context("serialising the task JSON")
}
