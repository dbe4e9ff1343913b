//! The settings of an evaluation that change its numbers ([`EvalOptions`]), each recorded in
//! the scorecard. The defaults: `BootstrapSettings::default()` and seed 0 for the ceiling's half
//! splits and the shuffled probe.

use tasks::scorecard::BootstrapSettings;

/// Settings that change numbers, all recorded in the scorecard.
#[derive(Debug, Clone, Default)]
pub struct EvalOptions {
    pub bootstrap: BootstrapSettings,
    /// Seed of the noise ceiling's random half splits.
    pub ceiling_seed: u64,
    /// Seed of the audit's shuffled-perturbation probe (its derangement).
    pub shuffle_seed: u64,
}
