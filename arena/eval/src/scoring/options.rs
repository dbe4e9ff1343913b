//! What an `arena score` run is asked ([`ScoreOptions`]) and what it computes ([`ScoreOutput`],
//! written by [`write::write_outputs`](super::write::write_outputs)).

use std::path::PathBuf;

use metrics::ControlMode;

use super::audit::ScoreAudit;
use super::de::DeTable;
use super::profile::Profile;
use super::table::Table;

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
    /// Read and score the perturbations in batches of at most this many cells (both files, the
    /// controls not counted); `None`: all at once. The outputs do not depend on it.
    pub batch_cells: Option<usize>,
}

/// The computed outputs.
pub struct ScoreOutput {
    pub results: Table,
    pub agg: Table,
    pub real_de: Option<DeTable>,
    pub pred_de: Option<DeTable>,
    pub perts: Vec<String>,
    pub genes: Vec<String>,
    /// The score-side audit of the predicted cells (written as audit.csv and audit.json).
    pub audit: ScoreAudit,
}
