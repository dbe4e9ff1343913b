//! `arena score`: the cell-eval workflow on precomputed predictions. Reads a real and a predicted
//! `.h5ad` (log1p-normalised, X kept sparse), computes the DE tables (pdex-exact, `metrics::de`)
//! and the metrics of a profile (`metrics::pair`, `metrics::de::compare_de`, Systema), and
//! writes `results.csv`, `agg_results.csv`, `real_de.csv`, `pred_de.csv` with cell-eval's column
//! names, plus Parquet twins. No metric math lives here: this module loads, groups, densifies
//! one perturbation at a time, calls the metric functions and writes tables.
//!
//! Control modes ([`metrics::ControlMode`]): `RealControls` (arena default) takes every Δ, and the
//! prediction's DE, against the REAL control cells; `OwnControls` (cell-eval 0.8.2 compatible)
//! takes the prediction's Δ and DE against the control cells in the prediction file, and rounds
//! the pseudobulk means to float32 as cell-eval's polars pseudobulk does.
//!
//! Before scoring, [`audit`] checks the predicted cells for the exploits of cell-level scoring
//! (variance inflation, duplicated cells, more cells than real ones, constant and mean
//! predictions) and, unless `keep_all_cells`, caps every predicted group to its real cell count.
//!
//! A run has two halves ([`parts`]): what each perturbation's cells give (DE tables, means,
//! energy distances, audit), then the metrics over all perturbations. `--shard K/N` ([`crate::shard`])
//! computes the first half for a slice of the perturbations and writes it as a partial
//! ([`partial`]); `arena merge` checks the partials and finishes the run with the same bits.

pub mod audit;
pub mod de;
pub mod de_metrics;
pub mod error;
pub mod input;
pub mod options;
pub mod pair;
pub mod partial;
pub mod parts;
pub mod profile;
pub mod progress;
pub mod stamp;
pub mod systema;
pub mod table;
pub mod vcc2026;
pub mod vcc2026_input;
pub mod write;

pub use crate::shard::Shard;
pub use error::ScoreError;
pub use metrics::ControlMode;
pub use options::{ScoreOptions, ScoreOutput};
pub use parts::ScoreParts;
pub use profile::Profile;
pub use table::Table;

/// Loads both files and computes every metric of the profile.
pub fn score(opts: &ScoreOptions) -> Result<ScoreOutput, ScoreError> {
    refuse_vcc2026(opts)?;
    let progress = progress::Progress::new(1, opts.timings);
    let (_, parts) = parts::compute(opts, None, &progress)?;
    parts::finish(parts, opts, &progress)
}

/// Every perturbation of the run and the parts of shard `shard`'s (written as a partial;
/// `arena merge` finishes them).
pub fn score_shard(opts: &ScoreOptions, shard: Shard) -> Result<(Vec<String>, ScoreParts), ScoreError> {
    refuse_vcc2026(opts)?;
    let progress = progress::Progress::new(1, opts.timings);
    let computed = parts::compute(opts, Some(shard), &progress)?;
    progress.finish();
    Ok(computed)
}

fn refuse_vcc2026(opts: &ScoreOptions) -> Result<(), ScoreError> {
    match opts.profile {
        Profile::Vcc2026 => {
            Err(ScoreError::Invalid("the vcc2026 profile scores raw counts through scoring::vcc2026".into()))
        }
        _ => Ok(()),
    }
}
