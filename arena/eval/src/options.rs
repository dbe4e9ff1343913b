//! The settings of an evaluation that change its numbers ([`EvalOptions`]), each recorded in
//! the scorecard, and their defaults.

use tasks::scorecard::BootstrapSettings;

/// Settings that change numbers, all recorded in the scorecard.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    pub bootstrap: BootstrapSettings,
    /// Seed of the noise ceiling's random half splits.
    pub ceiling_seed: u64,
    /// Seed of the audit's shuffled-perturbation probe (its derangement).
    pub shuffle_seed: u64,
    /// Where side tables a family needs (the GI fits) are found (`--data-dir`); `None`: the
    /// default data directory.
    pub data_dir: Option<std::path::PathBuf>,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            bootstrap: BootstrapSettings { resamples: 1000, level: 0.95, seed: 0 },
            ceiling_seed: 0,
            shuffle_seed: 0,
            data_dir: None,
        }
    }
}
