//! `arena score`: scores precomputed predictions against real cells, the cell-eval workflow
//! (results.csv, agg_results.csv, real_de.csv, pred_de.csv + Parquet twins), with the score-side
//! audit of the predicted cells printed and written beside them (audit.csv, audit.json).

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
(pdex's columns), and a .parquet twin of each, plus the audit: audit.csv (one row per perturbation and \
the control group: real and predicted cell counts, cells scored, duplicated predicted and real cells, the ratio of \
the predicted cells' summed gene variance to the real cells', flags) and audit.json (thresholds, policy, flags).\n\n\
Audit (the exploits of cell-level scoring, which inflate Mann-Whitney significance and the DE metrics): a group is \
flagged variance_inflated when its predicted/real variance ratio exceeds 2, constant_cells below 0.01, \
duplicated_cells when its fraction of exact duplicate cells exceeds the real cells' by more than 0.05, and \
cell_count_inflated when it has more predicted than real cells; the run is flagged when every perturbation has the \
same predicted mean. A group with more predicted than real cells is CAPPED to the real count before scoring \
(evenly spaced cells in file order; --keep-all-cells scores them all, as cell-eval does).\n\nAn empty CSV cell means cell-eval has no value there (e.g. \
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
    /// Metric profile (cell-eval's full, vcc, minimal, de, anndata, pds; the arena's systema; STAMP's stamp).
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
    /// Score every predicted cell (cell-eval's behaviour) instead of capping a group with more
    /// predicted than real cells to the real count; the audit still flags it.
    #[arg(long)]
    keep_all_cells: bool,
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
        keep_all_cells: args.keep_all_cells,
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
    let flags = out.audit.flag_lines();
    if flags.is_empty() {
        out!(
            "Audit of the predicted cells: no flags (variance, duplicates, cell counts, constant or mean predictions)"
        );
    } else {
        out!("Audit of the predicted cells ({} flag(s); per group in audit.csv):", flags.len());
        for line in flags {
            out!("  {line}");
        }
    }
    let names: Vec<String> =
        written.iter().filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned())).collect();
    out!("wrote {} into {}", names.join(", "), args.outdir.display());
    Ok(())
}
