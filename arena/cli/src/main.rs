//! The `arena` command: argument definitions (clap), dispatch to one file per command, and the
//! binary edge, where library errors become messages. The work is done by the pipeline crates
//! (arena-data → arena-sim → arena-models → arena-eval → arena-serve); this crate parses, calls
//! and prints.

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
mod merge;
mod metrics_cmd;
mod publish;
mod score;
mod score_job;
mod serve;
mod simulate;
mod tasks_cmd;
mod train_reference;
mod verify;

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
    #[command(long_about = score::LONG_ABOUT)]
    Score(score::ScoreArgs),
    /// Combine the partials of `arena score --shard K/N` or `arena eval --shard K/N` into the outputs of a single run.
    #[command(long_about = merge::LONG_ABOUT)]
    Merge(merge::MergeArgs),
    /// Run the mechanistic simulator and write an .h5ad (RNA, protein, perturbations, steps).
    Simulate(simulate::SimulateArgs),
    /// List the tasks, or explain one (`arena tasks show ID`).
    Tasks(tasks_cmd::TasksArgs),
    /// List every metric the arena prints (catalog: name, direction, range, perfect value, reference) as Markdown.
    Metrics(metrics_cmd::MetricsArgs),
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

fn run(cli: Cli) -> anyhow::Result<()> {
    if !matches!(cli.command, Command::Serve(_)) {
        allocator::keep_freed_memory();
    }
    match cli.command {
        Command::Eval(args) => eval::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Datasets(args) => datasets::run(args),
        Command::Fetch(args) => fetch::run(args),
        Command::Score(args) => score::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Tasks(args) => tasks_cmd::run(args),
        Command::Contract(args) => contract::run(args),
        Command::Metrics(args) => metrics_cmd::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Publish(args) => publish::run(args),
        Command::TrainReference(args) => train_reference::run(args),
        Command::Verify(args) => verify::run(args),
        Command::ScoreJob(args) => score_job::run(args),
    }
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
