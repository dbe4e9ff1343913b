//! The `arena` library behind the `arena` binary: data layer (h5ad/npz, registry, fetch, loaders),
//! the mechanistic simulator, baselines, evaluation and scorecards, the isolated scoring jobs of
//! the leaderboard and the worlds (public, hidden, private) its tasks are scored on.

pub mod audit;
pub mod baselines;
pub mod cli;
pub mod data;
pub mod eval;
pub mod isolation;
pub mod reference;
pub mod runners;
pub mod scoring;
pub mod session;
pub mod simulator;
pub mod worlds;
