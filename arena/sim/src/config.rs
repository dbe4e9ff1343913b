//! `SimConfig`: every knob of the simulator, with `Default` being the embedded default dataset of
//! `arena eval`. Serializable (TOML/JSON) with `#[serde(default)]`, so a file only needs the
//! fields it changes. `validate` refuses inconsistent settings with a message naming the field.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tasks::Direction;

use super::SimError;
use super::prior_mismatch::PriorMismatch;

/// Where the regulatory network comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum GrnSource {
    /// A random sparse signed network with synthetic names (`TF00`.., `G000`..).
    #[default]
    Random,
    /// Seeded from a CollecTRI TF -> target table (`"source","target","weight"`), real names.
    Collectri(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Master seed; every random choice derives from it (see `rng::stream`), the cells' through
    /// `cell_seed` when that is set.
    pub seed: u64,
    /// Seed of the cells' random streams (each cell's kinetics and its counts); unset (the
    /// default), the master seed. Another value redraws every cell of the same world (network,
    /// kinetics, design): fresh replicate datasets of one world, as `bench/ci_coverage.sh` uses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell_seed: Option<u64>,
    pub n_genes: usize,
    /// Transcription factors; they are genes `0..n_regulators` and the only sources of edges.
    pub n_regulators: usize,
    /// Incoming edges per gene (random network only; CollecTRI keeps the file's edges).
    pub regulators_per_gene: usize,
    /// Fraction of edges that repress (random network only; CollecTRI signs come from the file).
    pub repressing_fraction: f64,
    /// Proteins measured: those of genes `0..n_proteins` (the regulators first), like a CITE-seq panel.
    pub n_proteins: usize,
    pub n_control_cells: usize,
    /// Cells per single / double condition, and lineages per sequence (each lineage emits 2 cells).
    pub cells_per_condition: usize,
    /// Genes perturbed one at a time: all regulators first (in random order), then other genes.
    pub n_single_targets: usize,
    /// Pairs applied at once, among the single targets (the first gene of a pair is a regulator).
    pub n_doubles: usize,
    /// Ordered sequences `a1>a2>...` among the single targets (lengths cycle 2..=max_sequence_length).
    pub n_sequences: usize,
    /// Longest sequence of actions (at least 2).
    pub max_sequence_length: usize,
    /// Simulation steps from the common start to the (control) steady state.
    pub steps_to_steady: usize,
    /// Simulation steps an action is applied before the cell is observed.
    pub steps_per_action: usize,
    /// Direction of every action of the dataset.
    pub direction: Direction,
    /// Production of a knocked-down gene is multiplied by this.
    pub knockdown_factor: f64,
    /// Production of an activated gene is multiplied by this.
    pub activation_factor: f64,
    /// mRNA degradation rates per gene are drawn uniformly in this range (per step).
    pub decay_range: (f64, f64),
    /// Log-normal sd (natural log) of basal production across genes.
    pub basal_log_sd: f64,
    /// Negative-binomial dispersion θ of UMI counts (variance = μ + μ²/θ).
    pub nb_dispersion: f64,
    /// Mean library size (UMIs per cell).
    pub mean_library_size: f64,
    /// Log-normal sd of the library size from cell to cell.
    pub library_size_log_sd: f64,
    /// Log-normal sd of each cell's kinetic rates (basal production, decay) around the gene's.
    pub kinetic_log_sd: f64,
    /// Protein translation reads the mRNA of `protein_lag` steps earlier.
    pub protein_lag: usize,
    /// Protein decay per step (slower than mRNA decay, so proteins lag and smooth mRNA).
    pub protein_decay: f64,
    /// Mean ADT counts of a protein at steady state (per cell of mean library size).
    pub mean_protein_counts: f64,
    /// Negative-binomial dispersion θ of protein (ADT) counts.
    pub protein_dispersion: f64,
    pub grn: GrnSource,
    /// Second context (few-shot tasks): when > 0, a context `B` is simulated beside the default
    /// context `A`: this fraction of the network's edges moved to another regulator with a new
    /// sign, and basal production shifted per gene (`context_basal_log_sd`). B has control cells
    /// and the singles (no doubles or sequences). 0 (the default): one context.
    pub context_rewire_fraction: f64,
    /// Log-normal sd of the per-gene basal production shift of context B.
    pub context_basal_log_sd: f64,
    /// Pairwise cooperativity c of each gene's regulators (genetic interactions):
    /// u_g += c · Σ_{j<k} w_gj w_gk l_j l_k over the gene's pairs of regulators (l: log ratio to
    /// the control level). 0 (the default): regulators add up in log space, so a double is close
    /// to the sum of its singles; c > 0 makes changes of two same-signed regulators reinforce
    /// each other and opposite ones cancel (synergy and buffering, as Norman 2019 found).
    pub cooperativity: f64,
    /// CollecTRI networks only: how the true network departs from the CollecTRI table (the prior
    /// any model may read): fractions of its edges dropped, sign-flipped and added
    /// (`prior_mismatch.rs`). All 0 (the default): the network is the table's.
    pub prior_mismatch: PriorMismatch,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            cell_seed: None,
            n_genes: 100,
            n_regulators: 20,
            regulators_per_gene: 3,
            repressing_fraction: 0.3,
            n_proteins: 20,
            n_control_cells: 600,
            cells_per_condition: 60,
            n_single_targets: 40,
            n_doubles: 30,
            n_sequences: 20,
            max_sequence_length: 4,
            steps_to_steady: 40,
            steps_per_action: 12,
            direction: Direction::Knockdown,
            knockdown_factor: 0.15,
            activation_factor: 4.0,
            decay_range: (0.12, 0.4),
            basal_log_sd: 1.0,
            nb_dispersion: 5.0,
            mean_library_size: 5000.0,
            library_size_log_sd: 0.3,
            kinetic_log_sd: 0.15,
            protein_lag: 2,
            protein_decay: 0.06,
            mean_protein_counts: 200.0,
            protein_dispersion: 10.0,
            grn: GrnSource::Random,
            context_rewire_fraction: 0.0,
            context_basal_log_sd: 0.3,
            cooperativity: 0.0,
            prior_mismatch: PriorMismatch::default(),
        }
    }
}

impl SimConfig {
    /// The seed of the cells' random streams: `cell_seed`, else the master seed.
    pub fn cell_stream_seed(&self) -> u64 {
        self.cell_seed.unwrap_or(self.seed)
    }

    /// Checks the settings are consistent; the error names the offending field.
    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |field: &str, why: String| Err(SimError::Config(format!("{field}: {why}")));
        if self.n_regulators == 0 || self.n_regulators > self.n_genes {
            return bad(
                "n_regulators",
                format!("must be in 1..={} (n_genes), got {}", self.n_genes, self.n_regulators),
            );
        }
        if self.n_proteins > self.n_genes {
            return bad("n_proteins", format!("must be at most n_genes = {}, got {}", self.n_genes, self.n_proteins));
        }
        if self.n_single_targets > self.n_genes {
            return bad(
                "n_single_targets",
                format!("must be at most n_genes = {}, got {}", self.n_genes, self.n_single_targets),
            );
        }
        // A regulator cannot regulate itself, so it has at most n_regulators - 1 regulators.
        if matches!(self.grn, GrnSource::Random) && self.regulators_per_gene > self.n_regulators - 1 {
            return bad(
                "regulators_per_gene",
                format!("must be below n_regulators = {}, got {}", self.n_regulators, self.regulators_per_gene),
            );
        }
        let n_reg_targets = self.n_single_targets.min(self.n_regulators);
        let pairs = |n: usize| n * n.saturating_sub(1) / 2;
        // unordered pairs of targets with at least one regulator
        let max_pairs = pairs(self.n_single_targets) - pairs(self.n_single_targets - n_reg_targets);
        if self.n_doubles > max_pairs {
            return bad(
                "n_doubles",
                format!("at most {max_pairs} pairs are possible with these targets, got {}", self.n_doubles),
            );
        }
        let max_seq = n_reg_targets * self.n_single_targets.saturating_sub(1);
        if self.n_sequences > max_seq {
            return bad(
                "n_sequences",
                format!("at most {max_seq} sequences are possible with these targets, got {}", self.n_sequences),
            );
        }
        if !(2..=8).contains(&self.max_sequence_length) {
            return bad("max_sequence_length", format!("must be between 2 and 8, got {}", self.max_sequence_length));
        }
        for (field, v) in [
            ("knockdown_factor", self.knockdown_factor),
            ("activation_factor", self.activation_factor),
            ("nb_dispersion", self.nb_dispersion),
            ("mean_library_size", self.mean_library_size),
            ("mean_protein_counts", self.mean_protein_counts),
            ("protein_dispersion", self.protein_dispersion),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return bad(field, format!("must be a positive number, got {v}"));
            }
        }
        for (field, v) in [
            ("basal_log_sd", self.basal_log_sd),
            ("library_size_log_sd", self.library_size_log_sd),
            ("kinetic_log_sd", self.kinetic_log_sd),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(field, format!("must be a non-negative number, got {v}"));
            }
        }
        if !(0.0..=1.0).contains(&self.context_rewire_fraction) {
            return bad(
                "context_rewire_fraction",
                format!("must be in [0, 1] (0: one context), got {}", self.context_rewire_fraction),
            );
        }
        if !(self.context_basal_log_sd.is_finite() && self.context_basal_log_sd >= 0.0) {
            return bad(
                "context_basal_log_sd",
                format!("must be a non-negative number, got {}", self.context_basal_log_sd),
            );
        }
        if !(self.cooperativity.is_finite() && self.cooperativity >= 0.0) {
            return bad(
                "cooperativity",
                format!("must be a non-negative number (0: none), got {}", self.cooperativity),
            );
        }
        if let Some((field, v)) = self.prior_mismatch.invalid_field() {
            return bad(&format!("prior_mismatch.{field}"), format!("must be in [0, 1], got {v}"));
        }
        if !self.prior_mismatch.is_none() && matches!(self.grn, GrnSource::Random) {
            return bad(
                "prior_mismatch",
                "applies to a CollecTRI network (grn = { collectri = \"FILE\" } or --collectri); the random network is no model's prior".into(),
            );
        }
        if !(0.0..=1.0).contains(&self.repressing_fraction) {
            return bad("repressing_fraction", format!("must be in [0, 1], got {}", self.repressing_fraction));
        }
        let (lo, hi) = self.decay_range;
        if !(lo > 0.0 && lo <= hi && hi <= 0.8) {
            return bad("decay_range", format!("must satisfy 0 < lo <= hi <= 0.8, got ({lo}, {hi})"));
        }
        if !(self.protein_decay > 0.0 && self.protein_decay < 1.0) {
            return bad("protein_decay", format!("must be in (0, 1), got {}", self.protein_decay));
        }
        Ok(())
    }
}
