//! Command-line interface: argument definitions (clap) and dispatch to one file per command.

/// `println!` for command output: a closed stdout (`arena eval | head`) ends the program quietly
/// instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

mod allocator;
mod audit;
mod contract;
mod dataset_args;
mod datasets;
mod eval;
mod fetch;
mod publish;
mod score;
mod score_job;
pub mod serve;
pub mod serve_worlds;
mod simulate;
mod suite;
mod tasks_cmd;
mod train_reference;
mod verify;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "arena",
    version,
    about = "Virtual Cell Arena: score models that predict how cells respond to genetic perturbations",
    long_about = "Virtual Cell Arena: score virtual-cell models on unseen and combinatorial perturbations with \
perturbation-specific metrics (Systema, cell-eval), honest baselines and a noise ceiling, and write \
reproducible scorecards.\n\nStart with `arena eval` (no arguments): it scores the baselines on the \
embedded simulator dataset in seconds.",
    after_help = "Examples:\n  arena eval\n  arena eval --baseline additive --dataset norman2019 --task combinatorial\n  \
arena eval --dataset papalexi2021\n  arena datasets\n  arena simulate --out sim.h5ad --seed 7"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Score a model (or just the baselines) on a task and write scorecard.json + per_perturbation.parquet.
    Eval(eval::EvalArgs),
    /// Score gaming probes (constants, shuffled labels, variance inflation, log1p) beside a submission and flag gamed metrics.
    Audit(audit::AuditArgs),
    /// List the registered datasets and verify the sha256 of those available offline.
    Datasets(datasets::DatasetsArgs),
    /// Download a registered dataset into the cache, verifying its checksum.
    Fetch(fetch::FetchArgs),
    /// Score precomputed predictions against real cells (the cell-eval workflow).
    Score(score::ScoreArgs),
    /// Run the mechanistic simulator and write an .h5ad (RNA, protein, perturbations, steps).
    Simulate(simulate::SimulateArgs),
    /// List the tasks, or explain one (`arena tasks show ID`).
    Tasks(tasks_cmd::TasksArgs),
    /// Print the ONNX model contract (arena-onnx-v1) with a PyTorch export example.
    Contract(contract::ContractArgs),
    /// Serve the web leaderboard (submissions, hidden test splits, CIs); `--demo` seeds the baselines.
    Serve(serve::ServeArgs),
    /// Train the reference world model (candle) on a task's training view; writes safetensors + config.json.
    TrainReference(train_reference::TrainReferenceArgs),
    /// Import local scorecards into a leaderboard database, marked self-reported.
    Publish(publish::PublishArgs),
    /// Recompute a scorecard from its provenance and check every number (papers: reproducibility).
    Verify(verify::VerifyArgs),
    /// One sandboxed leaderboard job (started by `arena serve` for each upload; not for direct use).
    #[command(hide = true)]
    ScoreJob(score_job::ScoreJobArgs),
}

/// Options shared by commands that read the registry.
#[derive(Debug, Clone, clap::Args)]
pub struct RegistryArgs {
    /// A datasets.toml to use instead of the embedded registry.
    #[arg(long, value_name = "FILE")]
    pub registry: Option<PathBuf>,
    /// Directory of the registered local files [default: $ARENA_DATA_DIR, else ../shared/data].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

impl RegistryArgs {
    pub fn load(&self) -> anyhow::Result<crate::data::Registry> {
        Ok(match &self.registry {
            Some(path) => crate::data::Registry::from_path(path)?,
            None => crate::data::Registry::embedded()?,
        })
    }
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    if !matches!(cli.command, Command::Serve(_)) {
        allocator::keep_freed_memory();
    }
    match cli.command {
        Command::Eval(args) => eval::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Datasets(args) => datasets::run(args),
        Command::Fetch(args) => fetch::run(args),
        Command::Score(args) => score::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Tasks(args) => tasks_cmd::run(args),
        Command::Contract(args) => contract::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Publish(args) => publish::run(args),
        Command::TrainReference(args) => train_reference::run(args),
        Command::Verify(args) => verify::run(args),
        Command::ScoreJob(args) => score_job::run(args),
    }
}

/// What `--task` and `--dataset` load: the dataset key, and the dataset whose task spec scores it
/// (a user-supplied file is scored under the spec the task names: a task id's own, or the
/// family's spec on the simulator). With `--dataset` left at its default, a task id (or a family
/// with no spec on the default simulator) loads the dataset of the spec it names.
pub(crate) struct DatasetChoice {
    pub key: String,
    pub spec_dataset: String,
}

pub(crate) fn choose_dataset(task: &str, dataset: &str, registry: &crate::data::Registry) -> DatasetChoice {
    use crate::simulator::export::SIMULATOR_ID;
    let named = tasks::find_spec(task, None).map(|s| s.spec.dataset);
    let dataset = match &named {
        Ok(d) if dataset == SIMULATOR_ID => d.clone(),
        _ => dataset.to_string(),
    };
    let key = resolve_dataset_key(&dataset, registry);
    let is_path = dataset.ends_with(".h5ad") || std::path::Path::new(&dataset).is_file();
    let spec_dataset = match named {
        Ok(d) if is_path => d,
        _ if is_path => SIMULATOR_ID.to_string(),
        _ => key.clone(),
    };
    DatasetChoice { key, spec_dataset }
}

/// `norman2019` -> `norman2019-pseudobulk`: a dataset key that is not a registry id stands for the
/// unique dataset of the task specs whose id starts with `key-`.
pub(crate) fn resolve_dataset_key(key: &str, registry: &crate::data::Registry) -> String {
    use crate::simulator::{contexts, export, interactions, many_sequences};
    let simulators = [
        export::SIMULATOR_ID,
        many_sequences::MANY_SEQUENCES_ID,
        interactions::INTERACTIONS_ID,
        interactions::FAIR_INTERACTIONS_ID,
        contexts::TWO_CONTEXT_ID,
    ];
    // A simulator id names that frozen simulation, never a later one whose id extends it.
    if simulators.contains(&key) || registry.get(key).is_ok() {
        return key.to_string();
    }
    let prefix = format!("{key}-");
    let mut candidates: Vec<String> = tasks::embedded_specs()
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.spec.dataset)
        // `ID@COLUMN=VALUE` keys (a context split of ID) are not aliases of ID.
        .filter(|d| d.starts_with(&prefix) && !d.contains('@'))
        .collect();
    candidates.sort();
    candidates.dedup();
    match candidates.as_slice() {
        [one] => one.clone(),
        _ => key.to_string(),
    }
}
