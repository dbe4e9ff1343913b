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

pub mod audit;
pub mod de;
pub mod de_metrics;
pub mod error;
pub mod input;
pub mod pair;
pub mod profile;
pub mod progress;
pub mod stamp;
pub mod systema;
pub mod table;
pub mod vcc2026;
pub mod vcc2026_input;
pub mod write;

use std::path::PathBuf;

pub use error::ScoreError;
pub use metrics::ControlMode;
pub use profile::Profile;
pub use table::Table;

/// Everything `arena score` needs to know.
#[derive(Debug, Clone)]
pub struct ScoreOptions {
    pub real: PathBuf,
    pub pred: PathBuf,
    pub control: String,
    pub pert_col: String,
    pub profile: Profile,
    pub mode: ControlMode,
    /// Print per-phase wall times to stderr.
    pub timings: bool,
    /// Score every predicted cell, even where a group has more predicted than real cells
    /// (cell-eval's behaviour); by default such groups are capped to the real count.
    pub keep_all_cells: bool,
}

/// The computed outputs (written by [`write::write_outputs`]).
pub struct ScoreOutput {
    pub results: Table,
    pub agg: Table,
    pub real_de: Option<de::DeTable>,
    pub pred_de: Option<de::DeTable>,
    pub perts: Vec<String>,
    pub genes: Vec<String>,
    /// The score-side audit of the predicted cells (written as audit.csv and audit.json).
    pub audit: audit::ScoreAudit,
}

/// Loads both files and computes every metric of the profile.
pub fn score(opts: &ScoreOptions) -> Result<ScoreOutput, ScoreError> {
    let profile = opts.profile;
    if profile == Profile::Vcc2026 {
        return Err(ScoreError::Invalid("the vcc2026 profile scores raw counts through scoring::vcc2026".into()));
    }
    let mode = opts.mode;
    let progress = progress::Progress::new(1, opts.timings);
    progress.phase("read");
    let mut input = input::load(&opts.real, &opts.pred, &opts.pert_col, &opts.control)?;
    progress.phase("audit");
    let audit = audit::audit(&input, !opts.keep_all_cells);
    if !opts.keep_all_cells {
        audit::cap_to_real(&mut input);
    }
    let n = input.perts.len() as u64;
    let columns = profile.columns();
    let edistance = columns.contains(&"pearson_edistance");
    // pearson_edistance steps once per perturbation and side
    let steps = n * (u64::from(profile.runs_de()) + u64::from(profile.runs_pred_de()) + 2 * u64::from(edistance));
    progress.set_total(steps.max(1));

    progress.phase("real DE");
    let real_de = if profile.runs_de() { Some(de::run_de(&input.real, &input.real, &progress)?) } else { None };
    progress.phase("predicted DE");
    let pred_de = if profile.runs_pred_de() {
        let reference = match mode {
            ControlMode::OwnControls => &input.pred,
            ControlMode::RealControls => &input.real,
        };
        Some(de::run_de(&input.pred, reference, &progress)?)
    } else {
        None
    };

    progress.phase("pseudobulk");
    let bulk = pair::Bulk::compute(&input, mode == ControlMode::OwnControls);
    let mut computed: Vec<(String, Vec<Option<f64>>)> = Vec::new();
    let some = |v: Vec<f64>| v.into_iter().map(Some).collect::<Vec<_>>();

    progress.phase("DE metrics");
    if let (Some(r), Some(p)) = (&real_de, &pred_de) {
        computed.extend(de_metrics::de_metrics(&input, r, p, &columns));
    }
    progress.phase("profile metrics");
    for (name, v) in pair::bulk_metrics(&input, &bulk, mode, &columns) {
        computed.push((name, some(v)));
    }
    if profile == Profile::Systema {
        let r = real_de.as_ref().ok_or_else(|| ScoreError::Invalid("systema needs the real DE table".into()))?;
        let top: Vec<Vec<usize>> =
            r.groups.iter().map(|g| systema::top_de_genes(&g.p_value, &g.log2_fold_change, systema::TOP_DE)).collect();
        for (name, v) in systema::systema_metrics(&bulk, &top) {
            computed.push((name, some(v)));
        }
    }
    if profile == Profile::Stamp {
        let (r, p) = real_de
            .as_ref()
            .zip(pred_de.as_ref())
            .ok_or_else(|| ScoreError::Invalid("stamp needs both DE tables".into()))?;
        for (name, v) in stamp::stamp_metrics(r, p) {
            computed.push((name, vec![Some(v); input.perts.len()]));
        }
    }
    if edistance {
        progress.phase("pearson_edistance");
        let r = pair::pearson_edistance(&input, mode, &progress);
        computed.push(("pearson_edistance".into(), vec![Some(r); input.perts.len()]));
    }
    progress.finish();

    let mut results = Table::new("perturbation", input.perts.clone());
    for name in &columns {
        if let Some((_, v)) = computed.iter().find(|(n, _)| n == name) {
            results.push(name, v.clone());
        }
    }
    let agg = results.describe();
    Ok(ScoreOutput { results, agg, real_de, pred_de, perts: input.perts.clone(), genes: input.genes.clone(), audit })
}
