//! What an `arena score` run is asked ([`ScoreOptions`]) and what it computes ([`ScoreOutput`],
//! written by [`write::write_outputs`](super::write::write_outputs), summed up for the terminal by
//! [`ScoreOutput::summary`]).

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

impl ScoreOutput {
    /// What a run prints: its size and settings, each metric's mean over perturbations, and the
    /// audit's flags.
    pub fn summary(&self, opts: &ScoreOptions) -> Vec<String> {
        let controls = match opts.mode {
            ControlMode::RealControls => "real",
            ControlMode::OwnControls => "own (cell-eval)",
        };
        let mut lines = vec![format!(
            "Scored {} perturbations x {} genes (profile {}, {controls} controls); mean over perturbations:",
            self.perts.len(),
            self.genes.len(),
            opts.profile.name(),
        )];
        for (name, v) in &self.agg.columns {
            lines.push(format!("  {name} = {}", v[2].map_or("null".to_string(), |m| format!("{m:.4}"))));
        }
        let flags = self.audit.flag_lines();
        if flags.is_empty() {
            lines.push(
                "Audit of the predicted cells: no flags (variance, duplicates, cell counts, constant or mean predictions)"
                    .into(),
            );
        } else {
            lines.push(format!("Audit of the predicted cells ({} flag(s); per group in audit.csv):", flags.len()));
            lines.extend(flags.into_iter().map(|line| format!("  {line}")));
        }
        lines
    }
}
