//! `arena score`: scores precomputed predictions against real cells, the cell-eval workflow
//! (results.csv, agg_results.csv, real_de.csv, pred_de.csv + Parquet twins), with the score-side
//! audit of the predicted cells printed and written beside them (audit.csv, audit.json); and,
//! with `--profile vcc2026`, cell-eval2's VCC 2026 standard on raw counts (`scoring::vcc2026`).

use std::path::PathBuf;

use anyhow::Context;

use arena_eval::scoring::{self, ControlMode, Profile, ScoreOptions};

/// The long `--help` of `arena score` (also set on the subcommand in `cli/mod.rs`, whose doc
/// comment would otherwise replace it).
pub const LONG_ABOUT: &str = "Score precomputed predictions against real cells, as `cell-eval run` does: differential \
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
correlation of a constant vector). clustering_agreement (Leiden clustering) is not computed.\n\n\
--profile vcc2026 (the VCC 2026 standard, cell-eval2 0.20.0 `--preset vcc2026`, standard v2): both files hold RAW \
COUNTS (non-negative integers, no cell above 1e6 counts; refused otherwise, naming the file and field), the \
prediction with the reference's genes in the same order and exactly its labels, control included. Scores \
pds_cosine, expr_mse_unbiased_capped_norm, de_wilcoxon_direction_fidelity_yield_raw, de_wilcoxon_direction_reach_raw \
(P0 = 0.9), de_wilcoxon_sig_jaccard and de_wilcoxon_lfc_nmae (gate >= 10 genes), plus the diagnostics \
expr_mse_unbiased, expr_mse_unbiased_capped, expr_distance_unbiased, expr_real_mass_ratio: real controls, \
Wilcoxon DE of log1p(CPM) with the 5-CPM control-only gene gate and per-perturbation BH, bulks log1p(5e4 x \
summed counts / total), each perturbation's own target gene left out. Writes results.csv (long: perturbation, \
metric, value), agg_results.csv (count, null_count, mean, std, min, max, median; the ratio of sums in the mean row \
of expr_mse_unbiased_capped_norm), real_de.csv and pred_de.csv. --anchor adds anchor.csv: the mean-response \
baseline b, the replicate r (5 disjoint splits of the reference, each half with its own controls) and the scaled \
score s = (u - b)/(r - b) per member (clamped only where cell-eval2 declares it: the capped norm to [0, 1], \
lfc_nmae at -6) and avg_score, their mean.";

#[derive(Debug, clap::Args)]
#[command(
    long_about = LONG_ABOUT,
    after_help = "Examples:\n  arena score --real real.h5ad --pred pred.h5ad\n  \
arena score --real real.h5ad --pred pred.h5ad --profile vcc --controls own --outdir cell-eval-outdir\n  \
arena score --real real_counts.h5ad --pred pred_counts.h5ad --profile vcc2026 --anchor --outdir vcc2026"
)]
pub struct ScoreArgs {
    /// Real cells (.h5ad, log1p-normalised; raw counts for --profile vcc2026).
    #[arg(long, value_name = "FILE")]
    real: PathBuf,
    /// Predicted cells (.h5ad, log1p-normalised, same genes in the same order; raw counts for
    /// --profile vcc2026).
    #[arg(long, value_name = "FILE")]
    pred: PathBuf,
    /// Label of the control cells in --pert-col.
    #[arg(long, default_value = "non-targeting")]
    control_pert: String,
    /// obs column with the perturbation labels.
    #[arg(long, default_value = "target")]
    pert_col: String,
    /// Metric profile (cell-eval's full, vcc, minimal, de, anndata, pds; the arena's systema;
    /// STAMP's stamp; or cell-eval2's vcc2026, which reads RAW COUNTS, see below).
    #[arg(long, value_enum, default_value = "full")]
    profile: Profile,
    /// Scoring standard: v1 = cell-eval 0.8.2 (every profile but vcc2026), v2 = cell-eval2's v2
    /// conventions (the vcc2026 profile; see the README for what v2 covers).
    #[arg(long, value_enum)]
    standard: Option<StandardArg>,
    /// vcc2026: also compute the baseline b, the 5-split replicate anchor r and the scaled score
    /// s = (u - b)/(r - b) (written to anchor.csv). Needs every cell at once: not with --batch-cells.
    #[arg(long)]
    anchor: bool,
    /// vcc2026 --anchor: seed of the replicate splits and of the baseline's emitted cells.
    #[arg(long, default_value_t = 0, value_name = "SEED")]
    anchor_seed: u64,
    /// vcc2026 --anchor: use the fixed split in this obs column of --real (cells 'a' and 'b';
    /// others unused) instead of the 5 seeded splits.
    #[arg(long, value_name = "COL")]
    anchor_split_col: Option<String>,
    /// vcc2026 --anchor: also write the mean-response baseline prediction (the cells b scores)
    /// to this .h5ad.
    #[arg(long, value_name = "FILE")]
    anchor_baseline_out: Option<PathBuf>,
    /// Which control cells the prediction's deltas use: real (arena) or own (cell-eval compatible).
    #[arg(long, value_enum, default_value = "real")]
    controls: ControlsArg,
    /// Output directory.
    #[arg(long, short = 'o', default_value = "arena-score")]
    outdir: PathBuf,
    /// Print the wall time of each phase to stderr.
    #[arg(long)]
    timings: bool,
    /// Score only shard K of N (e.g. 2/4): the perturbations, sorted, are cut into N contiguous
    /// runs of near-equal size, and every shard reads all the control cells. --outdir then receives
    /// a partial (partial.json + Parquet), not results: combine the N partials with `arena merge`,
    /// which gives the same files, bit for bit, as the unsharded run. Not for --profile vcc2026.
    #[arg(long, value_name = "K/N")]
    shard: Option<scoring::Shard>,
    /// Read and score the perturbations in batches of at most N cells (both files together, the
    /// controls not counted): memory then holds the control cells, one batch and the
    /// per-perturbation results (DE tables, means) instead of every cell. The outputs are the same,
    /// byte for byte; a file whose cells are grouped by perturbation is read once, one in another
    /// order is grouped once into a store in $ARENA_CACHE_DIR/grouped that later runs reuse. Default:
    /// every cell at once. --profile vcc2026 too (controls read once), but not with --anchor.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    batch_cells: Option<u64>,
    /// Score every predicted cell (cell-eval's behaviour) instead of capping a group with more
    /// predicted than real cells to the real count; the audit still flags it.
    #[arg(long)]
    keep_all_cells: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum StandardArg {
    /// cell-eval 0.8.2 (the arena's behaviour for the log1p profiles).
    V1,
    /// cell-eval2 0.20.0's v2 conventions (raw counts; the vcc2026 profile).
    V2,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ControlsArg {
    /// Every delta against the real control cells (arena default).
    Real,
    /// The prediction's deltas against its own control cells (cell-eval 0.8.2).
    Own,
}

pub fn run(args: ScoreArgs) -> anyhow::Result<()> {
    let standard =
        args.standard.unwrap_or(if args.profile == Profile::Vcc2026 { StandardArg::V2 } else { StandardArg::V1 });
    if args.profile == Profile::Vcc2026 {
        anyhow::ensure!(
            standard == StandardArg::V2,
            "--profile vcc2026 is defined by the v2 standard (cell-eval2); drop --standard v1 or choose another profile"
        );
        anyhow::ensure!(
            args.shard.is_none(),
            "--shard is not available for --profile vcc2026 yet (its anchor and pds_cosine need every perturbation \
at once); score it in one run"
        );
        return run_vcc2026(&args);
    }
    anyhow::ensure!(
        standard == StandardArg::V1,
        "--standard v2 is implemented for --profile vcc2026 only (raw counts); the log1p profiles ({}) follow \
cell-eval 0.8.2 (v1). See the README, section `arena score`, for what v2 covers",
        args.profile.name()
    );
    anyhow::ensure!(
        !args.anchor && args.anchor_split_col.is_none() && args.anchor_baseline_out.is_none(),
        "--anchor, --anchor-split-col and --anchor-baseline-out belong to --profile vcc2026"
    );
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
        batch_cells: args.batch_cells.map(|n| n as usize),
    };
    if let Some(shard) = args.shard {
        let (manifest, _) = scoring::partial::score_shard_into(&opts, shard, &args.outdir)?;
        out!("{}", scoring::partial::shard_summary(&manifest, &args.outdir));
        return Ok(());
    }
    let out = scoring::score(&opts)?;
    report(&out, &opts, &args.outdir)
}

/// Writes the outputs of a finished run into `outdir` and prints the means and the audit.
pub fn report(out: &scoring::ScoreOutput, opts: &ScoreOptions, outdir: &std::path::Path) -> anyhow::Result<()> {
    let written = scoring::write::write_outputs(out, outdir)
        .with_context(|| format!("writing the results into {}", outdir.display()))?;
    for line in out.summary(opts) {
        out!("{line}");
    }
    let names: Vec<String> =
        written.iter().filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned())).collect();
    out!("wrote {} into {}", names.join(", "), outdir.display());
    Ok(())
}

fn run_vcc2026(args: &ScoreArgs) -> anyhow::Result<()> {
    use arena_eval::scoring::vcc2026::{Vcc2026Options, score_vcc2026, write_vcc2026};
    let opts = Vcc2026Options {
        real: args.real.clone(),
        pred: args.pred.clone(),
        control: args.control_pert.clone(),
        pert_col: args.pert_col.clone(),
        anchor: args.anchor,
        anchor_seed: args.anchor_seed,
        anchor_split_col: args.anchor_split_col.clone(),
        baseline_out: args.anchor_baseline_out.clone(),
        batch_cells: args.batch_cells.map(|n| n as usize),
    };
    let out = score_vcc2026(&opts)?;
    let written = write_vcc2026(&out, &args.outdir)
        .with_context(|| format!("writing the results into {}", args.outdir.display()))?;
    out!(
        "Scored {} perturbations x {} genes (profile vcc2026, standard v2, raw counts, real controls); panel values:",
        out.perts.len(),
        out.genes.len()
    );
    for (name, v) in &out.scores.aggregate {
        out!("  {name} = {}", if v.is_nan() { "NaN".to_string() } else { format!("{v:.4}") });
    }
    if let Some(rows) = &out.anchor {
        out!("Scaled scores s = (u - b)/(r - b) (b = mean-response baseline, r = replicate anchor):");
        for r in rows {
            out!("  {} = {:.4} (u {:.4}, b {:.4}, r {:.4})", r.metric, r.scaled, r.user, r.baseline, r.replicate);
        }
        if let Some(avg) = out.avg_score() {
            out!("  avg_score = {avg:.4}");
        }
    }
    let names: Vec<String> =
        written.iter().filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned())).collect();
    out!("wrote {} into {}", names.join(", "), args.outdir.display());
    Ok(())
}
