//! `arena merge`: checks the partials of `arena score --shard K/N` and writes the outputs of the
//! whole run, the same files as the unsharded `arena score` (`scoring::partial`).

use std::path::PathBuf;

use arena_eval::scoring::partial;

pub const LONG_ABOUT: &str = "Combine the partials of `arena score --shard K/N` into the outputs of the whole run: \
results.csv, agg_results.csv, real_de.csv, pred_de.csv, their Parquet twins, audit.csv and audit.json, the same \
files, bit for bit, as the unsharded `arena score` writes.\n\nEach partial folder holds partial.json (format, arena \
version, the sha256 of both input files, the options that change numbers, the shard, the run's perturbations and \
genes) and two Parquet files. The merge refuses, before writing anything: partials of different input files, \
profiles, control modes, control labels, obs columns, cell caps, shard counts, arena versions or formats; a shard \
given twice; and a missing shard. The input files are not read again.";

#[derive(Debug, clap::Args)]
#[command(
    long_about = LONG_ABOUT,
    after_help = "Example (4 shards, e.g. one Slurm array task each; see deploy/slurm):\n  \
for k in 1 2 3 4; do arena score --real real.h5ad --pred pred.h5ad --shard $k/4 --outdir parts/$k; done\n  \
arena merge --outdir results parts/1 parts/2 parts/3 parts/4"
)]
pub struct MergeArgs {
    /// The partial folders (one per shard, any order).
    #[arg(required = true, value_name = "PARTIAL")]
    partials: Vec<PathBuf>,
    /// Output directory.
    #[arg(long, short = 'o', default_value = "arena-score")]
    outdir: PathBuf,
}

pub fn run(args: MergeArgs) -> anyhow::Result<()> {
    let (opts, out) = partial::merge(&args.partials)?;
    out!("Merged {} partial(s) of {} vs {}", args.partials.len(), opts.real.display(), opts.pred.display());
    crate::score::report(&out, &opts, &args.outdir)
}
