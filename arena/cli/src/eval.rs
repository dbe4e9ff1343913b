//! `arena eval`: load a dataset, build the task split, run the model under test (if any) and the
//! baselines, print the scorecard table and write scorecard.json + per_perturbation.parquet; with
//! `--shard K/N`, run the model on a share of the test items into a partial (`eval_partial`).

use std::path::PathBuf;

use anyhow::Context;
use arena_eval::session::{Session, TaskChoice};
use arena_eval::{EvalOptions, eval_partial, evaluate, report, split_seeds, suite, write};
use arena_models::ModelSource;
use arena_models::baselines;
use arena_models::runners::onnx::{Device, OnnxModel, OnnxOptions};
use arena_sim::load::LoadOptions;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("under_test").args(["model", "baseline", "predictions", "reference"]).multiple(true)))]
pub struct EvalArgs {
    /// An ONNX model to score (the arena-onnx-v1 contract: `arena contract`).
    #[arg(value_name = "MODEL", conflicts_with_all = ["baseline", "predictions"])]
    model: Option<PathBuf>,
    /// Where the ONNX model runs: cpu, or cuda (needs the `cuda` feature and the onnxruntime-gpu
    /// library; falls back to the CPU with a warning).
    #[arg(long, value_enum, default_value = "cpu", requires = "model")]
    device: DeviceArg,
    /// Rows per ONNX Runtime call [default: 1024, or the model's fixed batch size].
    #[arg(long, value_name = "ROWS", requires = "model")]
    batch_size: Option<usize>,
    /// Give up on the ONNX model after SECONDS of inference in total (an error, never a hang).
    #[arg(long, value_name = "SECONDS", requires = "model")]
    timeout: Option<f64>,
    /// Score this baseline as the model under test (the list: `arena tasks show ID`; e.g. ridge,
    /// control-mean, additive).
    #[arg(long, value_name = "NAME")]
    baseline: Option<String>,
    /// Score precomputed predictions: an .h5ad with the task's genes and one group of predicted
    /// cells (or one profile) per test perturbation, labelled in the same obs column as the data.
    #[arg(long, value_name = "FILE", conflicts_with = "baseline")]
    predictions: Option<PathBuf>,
    /// Score the reference world model: the weights bundled for the task, or --weights (with
    /// --suite: each task's bundled weights).
    #[arg(long, conflicts_with_all = ["model", "baseline", "predictions"])]
    reference: bool,
    /// Reference-model weights (weights.safetensors with its config.json beside it).
    #[arg(long, value_name = "FILE", requires = "reference", conflicts_with = "suite")]
    weights: Option<PathBuf>,
    /// Run every task of a suite (`default`: all tasks of `arena tasks`) with the baselines (and
    /// the model under test: --reference or --baseline NAME) and print one summary table;
    /// scorecards go to OUT/<task>/.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["model", "predictions", "task", "dataset"])]
    suite: Option<String>,
    /// Task id or family (see `arena tasks`), or the id of a task file in $ARENA_TASKS_DIR.
    #[arg(long, default_value = "unseen-single")]
    task: String,
    /// A task file (TOML): your own task. `id`, `family` and `dataset` (a registry id, or a path
    /// relative to the file) are enough; the rest comes from the family's embedded spec
    /// (`arena tasks new` writes a complete one). Results carry the file's id.
    #[arg(long, value_name = "FILE", conflicts_with = "suite")]
    task_file: Option<std::path::PathBuf>,
    /// Split seed [default: the task spec's own seed, which every published scorecard uses]. The
    /// scorecard records it and `arena verify` re-splits with it. Bundled reference weights were
    /// trained on the spec's split, so --reference with another seed needs --weights trained on
    /// that split.
    #[arg(long, visible_alias = "split-seed", value_name = "N", conflicts_with = "suite")]
    seed: Option<u64>,
    #[command(flatten)]
    data: super::dataset_args::DatasetArgs,
    /// Directory for scorecard.json and per_perturbation.parquet.
    #[arg(long, default_value = "arena-results")]
    out: PathBuf,
    /// Bootstrap resamples for the confidence intervals.
    #[arg(long, default_value_t = 1000)]
    bootstrap: usize,
    /// Also re-split the task with N split seeds (the spec's seed and the N − 1 after it), refit
    /// the baselines (and a --baseline under test) on each, and print every row's mean ± sd across
    /// the splits beside the within-split CI (written to OUT/split_seeds.json). Not for trained
    /// models or predictions: they have seen other splits' test perturbations.
    #[arg(long, value_name = "N", conflicts_with_all = ["model", "predictions", "reference", "suite"])]
    split_seeds: Option<usize>,
    #[command(flatten)]
    registry: super::dataset_args::RegistryArgs,
    /// Run the model under test on shard K of N of the test items only (cut in order into N runs of
    /// near-equal size) and write its predicted means into --out as eval-partial.json, no scorecard;
    /// `arena merge` scores the N partials (baselines, ceiling, audit) as one `arena eval` would.
    #[arg(long, value_name = "K/N", requires = "under_test", conflicts_with_all = ["suite", "split_seeds"])]
    shard: Option<arena_eval::Shard>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum DeviceArg {
    Cpu,
    Cuda,
}

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    if let Some(t) = args.timeout
        && !(t.is_finite() && t > 0.0)
    {
        anyhow::bail!("--timeout {t}: expected a positive number of seconds");
    }
    // Load and check the ONNX model before the (slower) dataset, so a broken model fails fast.
    let onnx = match &args.model {
        Some(path) => Some(OnnxModel::load(
            path,
            &OnnxOptions {
                device: match args.device {
                    DeviceArg::Cpu => Device::Cpu,
                    DeviceArg::Cuda => Device::Cuda,
                },
                batch_size: args.batch_size,
                timeout: args.timeout.map(std::time::Duration::from_secs_f64),
                progress: true,
                untrusted: false,
            },
        )?),
        None => None,
    };
    if let Some(name) = &args.baseline
        && !baselines::is_baseline(name)
    {
        let list: Vec<String> = baselines::BASELINES
            .iter()
            .chain(baselines::PRIOR_BASELINES)
            .map(|b| format!("  {b}: {}", baselines::describe(b)))
            .collect();
        anyhow::bail!("unknown baseline '{name}'; choose one of:\n{}", list.join("\n"));
    }
    let registry = args.registry.load()?;
    let mut options = EvalOptions::default();
    options.bootstrap.resamples = args.bootstrap;
    if let Some(name) = &args.suite {
        let load = LoadOptions { data_dir: args.registry.data_dir.clone(), ..LoadOptions::default() };
        let started = std::time::Instant::now();
        let under_test = match (&args.baseline, args.reference) {
            (Some(b), _) => suite::SuiteModel::Baseline(b),
            (None, true) => suite::SuiteModel::Reference,
            (None, false) => suite::SuiteModel::None,
        };
        let cards = suite::run_suite(name, under_test, &registry, &load, &options, &args.out)?;
        out!("{}", suite::render_summary(&cards).trim_end());
        let (n, seconds) = (cards.len(), started.elapsed().as_secs_f64());
        out!("\n{n} tasks in {seconds:.1}s; scorecards in {}/<task>/", args.out.display());
        return Ok(());
    }
    let choice = TaskChoice {
        task: &args.task,
        task_file: args.task_file.as_deref(),
        dataset: &args.data.dataset,
        split_seed: args.seed,
    };
    let load = args.data.read.load_options(args.registry.data_dir.clone());
    let session = Session::open(&choice, &registry, &load)?;
    let (instance, loaded) = (session.instance()?, &session.loaded);
    if args.data.read.low_memory && !matches!(loaded.dataset.expression(), tasks::Expression::Stored(_)) {
        eprintln!("note: --low-memory reads .h5ad files group by group; {} is held in memory", loaded.source);
    }
    let (device, batch_size) = (onnx.as_ref().map(|m| m.device().to_string()), onnx.as_ref().map(|m| m.batch_size()));
    let source = match (onnx, &args.baseline, &args.predictions) {
        (Some(model), _, _) => Some(ModelSource::Onnx(Box::new(model))),
        _ if args.reference => Some(ModelSource::Reference { weights: args.weights.as_deref() }),
        (None, Some(name), _) => Some(ModelSource::Baseline { name, data_dir: args.registry.data_dir.as_deref() }),
        (None, None, Some(path)) => Some(ModelSource::Predictions {
            path,
            column: args.data.read.perturbation_column.as_deref(),
            control_labels: &args.data.read.control_labels,
        }),
        (None, None, None) => None,
    };
    let model = source.map(|s| s.open(&instance)).transpose()?;
    if let (Some(shard), Some(model)) = (args.shard, &model) {
        let reload = eval_partial::Reload::new(&choice, args.registry.registry.as_deref(), &load);
        let run = eval_partial::ShardRun { shard, options: &options, reload, device, batch_size };
        out!("{}", eval_partial::predict_shard_into(&instance, model.as_ref(), run, &args.out)?);
        return Ok(());
    }
    let mut card = evaluate(&instance, model.as_deref(), &loaded.source, &options)?;
    card.run.device = device;
    out!("{}", report::render(&card).trim_end());
    let (json, parquet) =
        write::write_scorecard(&card, &instance.split_record(), &args.out).with_context(|| "writing the scorecard")?;
    if let Some(n) = args.split_seeds {
        anyhow::ensure!(n >= 2, "--split-seeds {n}: give at least 2 seeds (the spec's own split is one of them)");
        let across =
            split_seeds::across_splits(&instance.spec, &loaded.dataset, args.baseline.as_deref(), n, &options)?;
        out!("{}", split_seeds::render(&across, &card).trim_end());
        let path = args.out.join("split_seeds.json");
        arena_data::output::write_atomic(&path, serde_json::to_string_pretty(&across)?.as_bytes())?;
        out!("\nwrote {}", path.display());
    }
    out!("\nwrote {} and {} ({:.1}s)", json.display(), parquet.display(), card.run.wall_seconds);
    Ok(())
}
