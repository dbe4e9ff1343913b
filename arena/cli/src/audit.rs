//! `arena audit`: score the probe panel beside a submission on a task (every family but inverse
//! design), flag the metrics a probe games, report the dataset's systematic variation, write
//! audit.json.

use std::path::PathBuf;

use arena_eval::EvalOptions;
use arena_eval::audit::{audit, render, supports, write};
use arena_eval::session::{Session, TaskChoice};
use arena_models::ModelSource;
use arena_models::baselines;
use arena_sim::load::LoadOptions;

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Task id or family (every family but inverse design).
    #[arg(long, default_value = "unseen-single")]
    task: String,
    /// Dataset: `simulator`, a registry id or its prefix (`norman2019`, `papalexi2021`), or an .h5ad path.
    #[arg(long, default_value = "simulator")]
    dataset: String,
    /// The submission is this baseline [default: additive].
    #[arg(long, value_name = "NAME")]
    baseline: Option<String>,
    /// The submission is this predictions .h5ad (as `arena eval --predictions`).
    #[arg(long, value_name = "FILE", conflicts_with = "baseline")]
    predictions: Option<PathBuf>,
    /// obs column with perturbation labels (predictions file, .h5ad dataset).
    #[arg(long, value_name = "COLUMN")]
    perturbation_column: Option<String>,
    /// Label of control cells (repeatable) [default: ctrl, control, non-targeting, NT].
    #[arg(long = "control-label", value_name = "LABEL")]
    control_labels: Vec<String>,
    /// Directory for audit.json.
    #[arg(long, default_value = "arena-audit")]
    out: PathBuf,
    /// Bootstrap resamples for the confidence intervals.
    #[arg(long, default_value_t = 1000)]
    bootstrap: usize,
    /// Seed of the shuffled probe's derangement.
    #[arg(long, default_value_t = 0)]
    shuffle_seed: u64,
    #[command(flatten)]
    registry: super::dataset_args::RegistryArgs,
}

pub fn run(args: AuditArgs) -> anyhow::Result<()> {
    let baseline = args.baseline.clone().unwrap_or_else(|| "additive".to_string());
    if args.predictions.is_none() && !baselines::BASELINES.contains(&baseline.as_str()) {
        anyhow::bail!("unknown baseline '{baseline}'; choose one of: {}", baselines::BASELINES.join(", "));
    }
    let registry = args.registry.load()?;
    let choice = TaskChoice { task: &args.task, task_file: None, dataset: &args.dataset, split_seed: None };
    let (spec, key) = arena_eval::session::resolve(&choice, &registry)?;
    if !supports(&spec.spec.split) {
        anyhow::bail!(
            "`arena audit` supports every family but inverse design; task '{}' is a '{}' task, which ranks candidates \
             instead of predicting cells: its `arena eval` scorecard notes the training-exclusion probe",
            spec.spec.id,
            spec.spec.task
        );
    }
    let options = LoadOptions {
        data_dir: args.registry.data_dir.clone(),
        perturbation_column: args.perturbation_column.clone(),
        control_labels: args.control_labels.clone(),
        direction: None,
        ..Default::default()
    };
    let session = Session::load(spec, &key, &registry, &options)?;
    let instance = session.instance()?;
    let source = match &args.predictions {
        Some(path) => ModelSource::Predictions {
            path,
            column: args.perturbation_column.as_deref(),
            control_labels: &args.control_labels,
        },
        None => ModelSource::Baseline { name: &baseline, data_dir: args.registry.data_dir.as_deref() },
    };
    let submission = source.open(&instance)?;
    let mut audit_options = EvalOptions { shuffle_seed: args.shuffle_seed, ..EvalOptions::default() };
    audit_options.bootstrap.resamples = args.bootstrap;
    let report = audit(&instance, submission.as_ref(), &audit_options)?;
    out!("{}", render(&report).trim_end());
    let path = write(&report, &args.out)?;
    out!("\nwrote {}", path.display());
    Ok(())
}
