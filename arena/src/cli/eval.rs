//! `arena eval`: load a dataset, build the task split, run the model under test (if any) and the
//! baselines, print the scorecard table and write scorecard.json + per_perturbation.parquet.

use std::path::PathBuf;

use anyhow::Context;
use tasks::{Direction, TaskInstance, find_spec};

use crate::baselines;
use crate::data::load::{LoadOptions, Loaded, load_file_dataset};
use crate::eval::{EvalOptions, evaluate, report, write};
use crate::runners::predictions::Predictions;
use crate::simulator::{SimConfig, export, simulate};

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Score this baseline as the model under test: control-mean, perturbed-mean, additive, linear.
    #[arg(long, value_name = "NAME")]
    baseline: Option<String>,
    /// Score precomputed predictions: an .h5ad with the task's genes and one group of predicted
    /// cells (or one profile) per test perturbation, labelled in the same obs column as the data.
    #[arg(long, value_name = "FILE", conflicts_with = "baseline")]
    predictions: Option<PathBuf>,
    /// Task id or family (see `arena tasks`).
    #[arg(long, default_value = "unseen-single")]
    task: String,
    /// Dataset: `simulator` (embedded default), a registry id or its prefix (`norman2019`,
    /// `papalexi2021`; see `arena datasets`), or a path to an .h5ad.
    #[arg(long, default_value = "simulator")]
    dataset: String,
    /// Directory for scorecard.json and per_perturbation.parquet.
    #[arg(long, default_value = "arena-results")]
    out: PathBuf,
    /// For an .h5ad path: obs column with perturbation labels [default: first of perturbation, condition, target, gene].
    #[arg(long, value_name = "COLUMN")]
    perturbation_column: Option<String>,
    /// For an .h5ad path: label of control cells (repeatable) [default: ctrl, control, non-targeting, NT].
    #[arg(long = "control-label", value_name = "LABEL")]
    control_labels: Vec<String>,
    /// For an .h5ad path: the perturbation direction of the screen.
    #[arg(long, value_enum, default_value = "knockdown")]
    direction: DirectionArg,
    /// Bootstrap resamples for the confidence intervals.
    #[arg(long, default_value_t = 1000)]
    bootstrap: usize,
    #[command(flatten)]
    registry: super::RegistryArgs,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum DirectionArg {
    Knockdown,
    Activation,
}

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    if let Some(name) = &args.baseline {
        if !baselines::BASELINES.contains(&name.as_str()) {
            let list: Vec<String> =
                baselines::BASELINES.iter().map(|b| format!("  {b}: {}", baselines::describe(b))).collect();
            anyhow::bail!("unknown baseline '{name}'; choose one of:\n{}", list.join("\n"));
        }
    }
    let registry = args.registry.load()?;
    let dataset_key = resolve_dataset_key(&args.dataset, &registry);
    let is_path = args.dataset.ends_with(".h5ad") || std::path::Path::new(&args.dataset).is_file();
    let loaded = if dataset_key == export::SIMULATOR_ID {
        let config = SimConfig::default();
        let sim = simulate(&config)?;
        Loaded {
            dataset: export::snapshot_dataset(&sim)?,
            source: format!("arena simulator, default config, seed {}", config.seed),
        }
    } else {
        let options = LoadOptions {
            data_dir: args.registry.data_dir.clone(),
            perturbation_column: args.perturbation_column.clone(),
            control_labels: args.control_labels.clone(),
            direction: Some(match args.direction {
                DirectionArg::Knockdown => Direction::Knockdown,
                DirectionArg::Activation => Direction::Activation,
            }),
        };
        load_file_dataset(&dataset_key, &registry, &options)?
    };
    // A user-supplied file is scored under the task family's rules of the simulator spec.
    let spec_dataset = if is_path { export::SIMULATOR_ID.to_string() } else { dataset_key.clone() };
    let spec = find_spec(&args.task, Some(&spec_dataset))?;
    let instance = TaskInstance::build(spec, &loaded.dataset)?;
    let model: Option<Box<dyn tasks::Model>> = match (&args.baseline, &args.predictions) {
        (Some(name), _) => Some(baselines::fit(name, &instance)?),
        (None, Some(path)) => {
            let column = args.perturbation_column.clone().unwrap_or_else(|| "perturbation".to_string());
            let controls = if args.control_labels.is_empty() {
                tasks::DEFAULT_CONTROL_LABELS.iter().map(|s| s.to_string()).collect()
            } else {
                args.control_labels.clone()
            };
            let direction = instance
                .dataset
                .conditions()
                .iter()
                .flat_map(|p| p.targets().map(|(_, d)| d))
                .next()
                .unwrap_or(Direction::Knockdown);
            Some(Box::new(Predictions::load(path, &instance.dataset.genes, &column, &controls, direction)?))
        }
        (None, None) => None,
    };
    let mut options = EvalOptions::default();
    options.bootstrap.resamples = args.bootstrap;
    let card = evaluate(&instance, model.as_deref(), &loaded.source, &options)?;
    out!("{}", report::render(&card).trim_end());
    let (json, parquet) = write::write_scorecard(&card, &args.out).with_context(|| "writing the scorecard")?;
    out!("\nwrote {} and {} ({:.1}s)", json.display(), parquet.display(), card.run.wall_seconds);
    Ok(())
}

/// `norman2019` -> `norman2019-pseudobulk`: a key that is not a registry id stands for the unique
/// dataset of the task specs whose id starts with `key-`.
fn resolve_dataset_key(key: &str, registry: &crate::data::Registry) -> String {
    if key == export::SIMULATOR_ID || registry.get(key).is_ok() {
        return key.to_string();
    }
    let prefix = format!("{key}-");
    let mut candidates: Vec<String> = tasks::embedded_specs()
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.spec.dataset)
        .filter(|d| d.starts_with(&prefix))
        .collect();
    candidates.sort();
    candidates.dedup();
    match candidates.as_slice() {
        [one] => one.clone(),
        _ => key.to_string(),
    }
}
