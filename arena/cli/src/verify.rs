//! `arena verify`: read a scorecard, recompute it from its provenance (`arena_eval::verify`) and
//! compare every number with the file.

use std::path::PathBuf;

use anyhow::{Context, bail};
use tasks::scorecard::Scorecard;

use arena_eval::compare::compare;
use arena_eval::verify::{Inputs, Recomputed, recompute};

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
    registry: super::dataset_args::RegistryArgs,
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
    let load = args.data.read.load_options(args.registry.data_dir.clone());
    let inputs = Inputs {
        dataset: &args.data.dataset,
        task_file: args.task_file.as_deref(),
        load: &load,
        model: args.model.as_deref(),
        predictions: args.predictions.as_deref(),
        weights: args.weights.as_deref(),
    };
    let Recomputed { card: again, json: got } = recompute(&card, &inputs, &registry)?;
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
