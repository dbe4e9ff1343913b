//! The genetic-interaction simulator datasets of the combinatorial tasks, each frozen under its
//! own id (a change makes a new id, so every scorecard's dataset stays reproducible):
//! - `simulator-interactions` ([`INTERACTIONS_ID`], the dataset of `sim-combinatorial` v2): the
//!   network seeded from CollecTRI (real TF names and signs: `collectri` in datasets.toml),
//!   pairwise cooperativity [`COOPERATIVITY`] between each gene's regulators, and [`N_DOUBLES`]
//!   doubles. Its true network IS the CollecTRI table a model may read.
//! - `simulator-interactions-fair-v1` ([`FAIR_INTERACTIONS_ID`], the dataset of
//!   `sim-combinatorial` v3): the same, except that the true network only partly matches
//!   CollecTRI: [`FAIR_FIDELITY`] of its edges are true with their sign (20% dropped, 12.5% of the
//!   rest sign-flipped, as many added as dropped; `prior_mismatch.rs` says where the rates come
//!   from). A model that reads CollecTRI gets a useful but imperfect prior, as on real data.
//!
//! Why not the default simulation: its regulators add up in log space, so a double is the sum of
//! its singles up to noise (the additive baseline sits at the split-half noise ceiling on
//! combo_seen2, 0.932 vs 0.922) and the task could not tell a model that predicts interactions
//! from one that adds. Cooperativity gives the doubles real interactions (synergy where two
//! same-signed regulators of a gene change together, buffering where opposite ones do), and the
//! CollecTRI network makes the prior knowledge every model may use (the same CollecTRI table)
//! describe the true wiring, so the interactions are learnable from it. The additive baseline
//! stays the strong baseline it is on real data (combo_seen2 0.77, ceiling 0.82–0.9).

use std::path::PathBuf;

use super::{GrnSource, PriorMismatch, SimConfig};

/// Registry-style id of the dataset.
pub const INTERACTIONS_ID: &str = "simulator-interactions";

/// Pairwise cooperativity c of the regulators (see `SimConfig::cooperativity`).
pub const COOPERATIVITY: f64 = 4.0;

/// Doubles simulated (the default is 30): 22 seen2 doubles are scored (seed 0).
pub const N_DOUBLES: usize = 150;

/// The default configuration with the CollecTRI network at `collectri`, [`COOPERATIVITY`] and
/// [`N_DOUBLES`].
pub fn interactions_config(collectri: PathBuf) -> SimConfig {
    SimConfig {
        grn: GrnSource::Collectri(collectri),
        cooperativity: COOPERATIVITY,
        n_doubles: N_DOUBLES,
        ..SimConfig::default()
    }
}

/// Registry-style id of the fair dataset (the true network only partly matches CollecTRI).
pub const FAIR_INTERACTIONS_ID: &str = "simulator-interactions-fair-v1";

/// Fraction of CollecTRI's edges (among the simulated genes) that are true with their sign in
/// the fair dataset.
pub const FAIR_FIDELITY: f64 = 0.7;

/// [`interactions_config`] with the true network departing from CollecTRI at [`FAIR_FIDELITY`].
pub fn fair_interactions_config(collectri: PathBuf) -> SimConfig {
    SimConfig {
        prior_mismatch: PriorMismatch::for_fidelity(FAIR_FIDELITY).unwrap_or_default(),
        ..interactions_config(collectri)
    }
}
