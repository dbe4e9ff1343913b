//! The many-sequences simulator dataset of `sim-multi-step` (`simulator-many-sequences`): the
//! default simulation with [`N_SEQUENCES`] ordered action sequences instead of 20, so that the
//! held-out half gives enough scored steps for bootstrap CIs that can separate two models (with
//! 10 held-out sequences no model's CI could clear the additive baseline's).

use super::SimConfig;

/// Registry-style id of the dataset.
pub const MANY_SEQUENCES_ID: &str = "simulator-many-sequences";

/// Sequences simulated (lengths cycle 2, 3, 4).
pub const N_SEQUENCES: usize = 80;

/// The default configuration with [`N_SEQUENCES`] sequences.
pub fn many_sequences_config() -> SimConfig {
    SimConfig { n_sequences: N_SEQUENCES, ..SimConfig::default() }
}
