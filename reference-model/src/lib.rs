//! The reference world model of the Virtual Cell Arena, implemented with candle on the CPU (CUDA
//! behind the `cuda` feature): an encoder E maps a cell state to a latent z, a transition
//! F(z, a) applies an action whose embedding is built from per-gene prior-knowledge features
//! (summed over the genes of a combination, so unseen genes and unseen combinations get an
//! action), and a decoder D maps z back to expression. A prediction is the residual
//! x' = x + D(F(E(x), a)) − D(E(x)) + direct(a, x), where `direct` is the action's effect on the
//! perturbed genes themselves, again a function of their prior features.
//!
//! The crate knows nothing of the arena's data layer: it takes plain inputs ([`TrainingSet`]:
//! gene names, matrices, perturbations) and implements `tasks::Model`.

mod adapt;
mod config;
mod data;
mod error;
mod init;
mod io;
mod model;
mod net;
mod train;

pub use adapt::AdaptConfig;
pub use config::{ModelConfig, Provenance, TrainConfig, WEIGHTS_FORMAT};
pub use data::{FeatureTable, SequenceTarget, TrainingSet};
pub use error::ReferenceError;
pub use io::WEIGHTS_FILE;
pub use model::ReferenceModel;
pub use train::{EpochReport, TrainOutcome, fit, train_with_early_stopping};

#[cfg(test)]
mod tests;
