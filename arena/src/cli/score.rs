//! `arena score`: scores precomputed predictions against real cells, the cell-eval workflow
//! (results.csv, agg_results.csv, real_de.csv, pred_de.csv + Parquet twins).

use std::path::PathBuf;

use anyhow::Context;

use crate::scoring::{self, ControlMode, Profile, ScoreOptions};

#[derive(Debug, clap::Args)]
#[command(
    long_about = "Score precomputed predictions against real cells, as `cell-eval run` does: differential \
expression of every perturbation against the control cells (pdex-exact Mann-Whitney U, BH FDR, log2FC), the \
metrics of --profile per perturbation, and their describe() aggregate.\n\nBoth files must be log1p-normalised \
AnnData (.h5ad) with the same genes in the same order, a perturbation column (--pert-col) with the control label \
(--control-pert), and cells for every perturbation of the real data.\n\nControl modes (--controls):\n  real (default, \
arena): every delta (pearson_delta, *_delta, discrimination scores, pearson_edistance) and the prediction's DE are \
taken against the REAL control cells. The control cells in the prediction file are ignored, so a submitter cannot \
move the reference.\n  own (cell-eval 0.8.2 compatible): the prediction's deltas and DE use the prediction file's \
own control cells, and pseudobulk means are rounded to float32, exactly as cell-eval computes them. Use it to \
reproduce cell-eval numbers; note that a submitter can then shift every delta by editing its control cells.\n\n\
Outputs in --outdir: results.csv (one row per perturbation, one column per metric, cell-eval's names), \
agg_results.csv (count, null_count, mean, std, min, 25%, 50%, 75%, max per metric), real_de.csv and pred_de.csv \
(pdex's columns), and a .parquet twin of each. An empty CSV cell means cell-eval has no value there (e.g. \
de_direction_match of a perturbation without significant real DE genes); NaN means undefined (e.g. a Pearson \
correlation of a constant vector). clustering_agreement (Leiden clustering) is not computed.",
    after_help = "Examples:\n  arena score --real real.h5ad --pred pred.h5ad\n  \
arena score --real real.h5ad --pred pred.h5ad --profile vcc --controls own --outdir cell-eval-outdir"
)]
pub struct ScoreArgs {
    /// Real cells (.h5ad, log1p-normalised).
    #[arg(long, value_name = "FILE")]
    real: PathBuf,
    /// Predicted cells (.h5ad, log1p-normalised, same genes in the same order).
    #[arg(long, value_name = "FILE")]
    pred: PathBuf,
    /// Label of the control cells in --pert-col.
    #[arg(long, default_value = "non-targeting")]
    control_pert: String,
    /// obs column with the perturbation labels.
    #[arg(long, default_value = "target")]
    pert_col: String,
    /// Metric profile (cell-eval's full, vcc, minimal, de, anndata, pds; or the arena's systema).
    #[arg(long, value_enum, default_value = "full")]
    profile: Profile,
    /// Which control cells the prediction's deltas use: real (arena) or own (cell-eval compatible).
    #[arg(long, value_enum, default_value = "real")]
    controls: ControlsArg,
    /// Output directory.
    #[arg(long, short = 'o', default_value = "arena-score")]
    outdir: PathBuf,
    /// Print the wall time of each phase to stderr.
    #[arg(long)]
    timings: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ControlsArg {
    /// Every delta against the real control cells (arena default).
    Real,
    /// The prediction's deltas against its own control cells (cell-eval 0.8.2).
    Own,
}

pub fn run(args: ScoreArgs) -> anyhow::Result<()> {
    let opts = ScoreOptions {
        real: args.real,
        pred: args.pred,
        control: args.control_pert,
        pert_col: args.pert_col,
        profile: args.profile,
        mode: match args.controls {
            ControlsArg::Real => ControlMode::RealControls,
            ControlsArg::Own => ControlMode::OwnControls,
        },
        timings: args.timings,
    };
    let out = scoring::score(&opts)?;
    let written = scoring::write::write_outputs(&out, &args.outdir)
        .with_context(|| format!("writing the results into {}", args.outdir.display()))?;
    let means: Vec<String> = out
        .agg
        .columns
        .iter()
        .map(|(name, v)| format!("{name} = {}", v[2].map_or("null".to_string(), |m| format!("{m:.4}"))))
        .collect();
    out!(
        "Scored {} perturbations x {} genes (profile {}, {} controls); mean over perturbations:",
        out.perts.len(),
        out.genes.len(),
        opts.profile.name(),
        match opts.mode {
            ControlMode::RealControls => "real",
            ControlMode::OwnControls => "own (cell-eval)",
        }
    );
    for m in means {
        out!("  {m}");
    }
    let names: Vec<String> =
        written.iter().filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned())).collect();
    out!("wrote {} into {}", names.join(", "), args.outdir.display());
    Ok(())
}
