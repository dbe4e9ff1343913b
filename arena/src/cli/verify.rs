//! `arena verify`: recompute a scorecard from its provenance (task spec and version, dataset
//! sha256, split sha256, model sha256, bootstrap settings) and compare every number with the file.

use std::path::PathBuf;

use anyhow::{Context, bail};
use tasks::scorecard::Scorecard;
use tasks::{ModelKind, TaskInstance, find_spec};

use crate::baselines;
use crate::data::load::load_dataset;
use crate::eval::compare::compare;
use crate::eval::{EvalOptions, evaluate};
use crate::runners::onnx::{OnnxModel, OnnxOptions};
use crate::runners::predictions::Predictions;
use crate::session::{TASKS_DIR_ENV, TaskChoice};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Without --dataset the scorecard's own dataset is loaded (a registered or simulated one; a scorecard \
of an .h5ad file needs that file). The task spec, dataset, split and model must have the sha256 the scorecard records; \
then every number is recomputed with its bootstrap settings and compared (the run and hardware blocks are not). \
Exits with status 1 on any difference, listing where."
)]
pub struct VerifyArgs {
    /// The scorecard.json to reproduce (written by `arena eval`, e.g. from a paper's supplement).
    #[arg(value_name = "SCORECARD")]
    scorecard: PathBuf,
    /// The ONNX model the scorecard scored (a scorecard of an `onnx` model); its sha256 must match.
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// The predictions .h5ad the scorecard scored (a scorecard of `predictions`); its sha256 must match.
    #[arg(long, value_name = "FILE", conflicts_with = "model")]
    predictions: Option<PathBuf>,
    /// Reference-model weights (a scorecard of the `reference` model) [default: the task's bundled weights].
    #[arg(long, value_name = "FILE", conflicts_with_all = ["model", "predictions"])]
    weights: Option<PathBuf>,
    /// Accept numbers that differ by at most this fraction of max(1, |a|, |b|) (another CPU may
    /// change the last bits); 0 demands bit-identical numbers.
    #[arg(long, default_value_t = 1e-9)]
    tolerance: f64,
    /// Differences to list when the check fails.
    #[arg(long, default_value_t = 20)]
    show: usize,
    /// The task file of a scorecard of a user task (`arena eval --task-file`); its sha256 must match.
    #[arg(long, value_name = "FILE")]
    task_file: Option<PathBuf>,
    /// The dataset [default: the scorecard's dataset id; a scorecard of an .h5ad file needs its path here].
    #[command(flatten)]
    data: super::dataset_args::DatasetArgs,
    #[command(flatten)]
    registry: super::RegistryArgs,
}

pub fn run(args: VerifyArgs) -> anyhow::Result<()> {
    if !(args.tolerance.is_finite() && args.tolerance >= 0.0) {
        bail!("--tolerance {}: expected a number ≥ 0 (0: bit for bit)", args.tolerance);
    }
    let path = &args.scorecard;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {}; pass the scorecard.json written by `arena eval`", path.display()))?;
    let expected: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON; pass the scorecard.json written by `arena eval`", path.display()))?;
    let card: Scorecard = serde_json::from_value(expected.clone()).with_context(|| {
        format!("{} is not an arena scorecard (format arena-scorecard-v1) or is damaged", path.display())
    })?;
    let registry = args.registry.load()?;

    // The task as this arena defines it must be the one the scorecard used.
    if args.task_file.is_none() && find_spec(&card.task.id, None).is_err() && std::env::var_os(TASKS_DIR_ENV).is_none()
    {
        bail!(
            "the scorecard's task '{}' is not a task of this arena; pass its task file with --task-file FILE \
             (its sha256 must be {})",
            card.task.id,
            short(&card.task.spec_sha256)
        );
    }
    let dataset_key = if args.data.dataset == crate::simulator::export::SIMULATOR_ID && args.task_file.is_some() {
        // The task file's own dataset (a registry id, or a path relative to the file).
        args.data.dataset.clone()
    } else if args.data.dataset == crate::simulator::export::SIMULATOR_ID {
        let id = &card.dataset.id;
        if !id.starts_with(crate::simulator::export::SIMULATOR_ID) && registry.get(id).is_err() {
            bail!(
                "the scorecard was computed on the file '{id}' (sha256 {}), not on a registered or simulated dataset; \
                 pass that file with --dataset PATH (and --perturbation-column/--control-label if `arena eval` needed them)",
                card.dataset.sha256
            );
        }
        id.clone()
    } else {
        args.data.dataset.clone()
    };
    let choice = TaskChoice {
        task: &card.task.id,
        task_file: args.task_file.as_deref(),
        dataset: &dataset_key,
        // `arena eval --seed` may have split with another seed than the spec's; the scorecard records it.
        split_seed: Some(card.task.seed),
    };
    let (spec, key) = crate::session::resolve(&choice, &registry)?;
    if spec.sha256 != card.task.spec_sha256 || spec.spec.version != card.task.version {
        bail!(
            "task {} is version {} here (spec sha256 {}), the scorecard used version {} (spec sha256 {}); \
             verify it with the arena that wrote it (suite version {}; this is {})",
            card.task.id,
            spec.spec.version,
            short(&spec.sha256),
            card.task.version,
            short(&card.task.spec_sha256),
            card.suite_version,
            env!("CARGO_PKG_VERSION")
        );
    }
    let loaded =
        load_dataset(&key, &registry, &args.data.load_options(args.registry.data_dir.clone())).with_context(|| {
            format!(
                "loading the scorecard's dataset '{}' (a scorecard of an .h5ad file needs it: --dataset PATH)",
                card.dataset.id
            )
        })?;
    if loaded.dataset.sha256 != card.dataset.sha256 {
        bail!(
            "the dataset differs: the scorecard was computed on '{}' with sha256 {}, this one ({}) has {}; \
             pass the file that was scored with --dataset PATH",
            card.dataset.id,
            card.dataset.sha256,
            key,
            loaded.dataset.sha256
        );
    }
    let instance = TaskInstance::build(spec, &loaded.dataset)?;
    if instance.split_sha256() != card.task.split_sha256 {
        bail!(
            "the split differs from the scorecard's (sha256 {} here, {} in the file) although task and dataset match; \
             this arena builds splits differently from the one that wrote it",
            short(&instance.split_sha256()),
            short(&card.task.split_sha256)
        );
    }

    let model = under_test(&args, &card, &instance)?;
    let options = EvalOptions {
        bootstrap: card.bootstrap.clone(),
        data_dir: args.registry.data_dir.clone(),
        ..EvalOptions::default()
    };
    let again = evaluate(&instance, model.as_deref(), &loaded.source, &options)?;
    // Through the same text and parser as the file, so that "bit-identical" compares what was written.
    let got: serde_json::Value = serde_json::from_slice(&serde_json::to_vec_pretty(&again)?)?;
    let result = compare(&expected, &got, args.tolerance);
    let what = format!(
        "{} v{} on {} ({})",
        card.task.id,
        card.task.version,
        card.dataset.id,
        card.model.as_deref().unwrap_or("baselines only")
    );
    if !result.passed() {
        let mut lines: Vec<String> = result
            .differences
            .iter()
            .take(args.show)
            .map(|d| format!("  {}: scorecard {}, recomputed {}", d.path, d.expected, d.got))
            .collect();
        if result.differences.len() > args.show {
            lines.push(format!("  … and {} more (--show N lists more)", result.differences.len() - args.show));
        }
        bail!(
            "{} does NOT reproduce: {} of {} numbers or fields differ beyond the tolerance {:e}:\n{}\n\
             (scored on {} with {} cores; verified on {} with {} cores: another CPU may change the last bits, \
             see --tolerance; anything larger means the scorecard was edited or made by other code)",
            path.display(),
            result.differences.len(),
            result.numbers,
            args.tolerance,
            lines.join("\n"),
            card.hardware.cpu,
            card.hardware.cores,
            again.hardware.cpu,
            again.hardware.cores
        );
    }
    if result.not_identical == 0 {
        out!("verified {}: {what}; all {} numbers bit-identical", path.display(), result.numbers);
    } else {
        out!(
            "verified {}: {what}; {} numbers, {} not bit-identical (largest relative difference {:.1e}, tolerance {:e})",
            path.display(),
            result.numbers,
            result.not_identical,
            result.max_relative,
            args.tolerance
        );
    }
    Ok(())
}

/// The model the scorecard scored, rebuilt from the arguments; its fingerprint must match.
fn under_test(
    args: &VerifyArgs,
    card: &Scorecard,
    instance: &TaskInstance<'_>,
) -> anyhow::Result<Option<Box<dyn tasks::Model>>> {
    let Some(name) = &card.model else { return Ok(None) };
    let Some(row) = card.rows.iter().find(|r| &r.name == name) else {
        bail!("the scorecard names its model '{name}' but has no row of that name: the file is damaged");
    };
    let model: Box<dyn tasks::Model> = match row.kind {
        ModelKind::Baseline => baselines::fit(name, instance)?,
        ModelKind::Reference => Box::new(crate::reference::load_for(instance, args.weights.as_deref())?),
        ModelKind::Onnx => {
            let Some(file) = &args.model else {
                bail!(
                    "the scorecard scored the ONNX model '{name}' (sha256 {}); pass it with --model FILE",
                    row.model_sha256
                )
            };
            let mut m = OnnxModel::load(file, &OnnxOptions::default())?;
            m.bind(instance)?;
            Box::new(m)
        }
        ModelKind::Predictions => {
            let Some(file) = &args.predictions else {
                bail!(
                    "the scorecard scored the predictions '{name}' (sha256 {}); pass the file with --predictions FILE",
                    row.model_sha256
                )
            };
            Box::new(Predictions::for_task(
                file,
                instance,
                args.data.read.perturbation_column.as_deref(),
                &args.data.read.control_labels,
            )?)
        }
        ModelKind::Ceiling => bail!("the scorecard's model row '{name}' is the noise ceiling: the file is damaged"),
    };
    if model.fingerprint() != row.model_sha256 {
        bail!(
            "the model differs: the scorecard scored '{name}' with sha256 {}, the one given has {}; pass the file that was scored",
            row.model_sha256,
            model.fingerprint()
        );
    }
    Ok(Some(model))
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}
