//! `arena merge`: checks the partials of `arena score --shard K/N` and writes the outputs of the
//! whole run, the same files as the unsharded `arena score` (`scoring::partial`); or, for folders
//! holding eval-partial.json, those of `arena eval --shard K/N` and writes the scorecard of the
//! whole run (`eval_partial`).

use std::path::PathBuf;

use arena_eval::eval_partial;
use arena_eval::scoring::partial;

pub const LONG_ABOUT: &str = "Combine the partials of `arena score --shard K/N` into the outputs of the whole run: \
results.csv, agg_results.csv, real_de.csv, pred_de.csv, their Parquet twins, audit.csv and audit.json, the same \
files, bit for bit, as the unsharded `arena score` writes.\n\nEach partial folder holds partial.json (format, arena \
version, the sha256 of both input files, the options that change numbers, the shard, the run's perturbations and \
genes) and two Parquet files. The merge refuses, before writing anything: partials of different input files, \
profiles, control modes, control labels, obs columns, cell caps, shard counts, arena versions or formats; a shard \
given twice; and a missing shard. The input files are not read again.\n\nFolders holding eval-partial.json (from \
`arena eval --shard K/N`: the model's predicted means of a share of the test items) are merged as such: the merge \
refuses partials of other tasks, datasets, seeds, splits, models, options, shard counts, arena versions or formats, \
a shard given twice and a missing shard, loads the dataset again (checking its sha256), and scores the joined \
means with the baselines, the ceiling and the audit, as a single `arena eval` does: scorecard.json, \
per_perturbation.parquet and split.json into --outdir (default arena-results).";

#[derive(Debug, clap::Args)]
#[command(
    long_about = LONG_ABOUT,
    after_help = "Examples (one shard per Slurm array task, say; see deploy/slurm):\n  \
for k in 1 2 3 4; do arena score --real real.h5ad --pred pred.h5ad --shard $k/4 --outdir parts/$k; done\n  \
arena merge --outdir results parts/1 parts/2 parts/3 parts/4\n  \
for k in 1 2 3; do arena eval model.onnx --task combinatorial --shard $k/3 --out eval-parts/$k; done\n  \
arena merge --outdir arena-results eval-parts/1 eval-parts/2 eval-parts/3"
)]
pub struct MergeArgs {
    /// The partial folders (one per shard, any order).
    #[arg(required = true, value_name = "PARTIAL")]
    partials: Vec<PathBuf>,
    /// Output directory [default: arena-score; arena-results for eval partials].
    #[arg(long, short = 'o')]
    outdir: Option<PathBuf>,
}

pub fn run(args: MergeArgs) -> anyhow::Result<()> {
    if args.partials.iter().any(|p| eval_partial::is_eval_partial(p)) {
        let outdir = args.outdir.unwrap_or_else(|| "arena-results".into());
        out!("{}", eval_partial::merge_into(&args.partials, &outdir)?);
        return Ok(());
    }
    let (opts, out) = partial::merge(&args.partials)?;
    out!("Merged {} partial(s) of {} vs {}", args.partials.len(), opts.real.display(), opts.pred.display());
    crate::score::report(&out, &opts, &args.outdir.unwrap_or_else(|| "arena-score".into()))
}
