//! The Virtual Cell Arena web leaderboard: server-rendered pages (axum + askama, no JavaScript)
//! with a JSON twin of every page under `/api/...`, SQLite or Postgres storage (`db`) with
//! migrations, organiser tokens, per-token rate limits and a persistent scoring queue.
//!
//! The web handlers never compute metrics: they show stored boards. Scoring an upload is injected
//! through [`Scorer`] (the `arena` binary implements it with `evaluate`, the same code as
//! `arena eval`), so this crate depends only on `tasks` and `metrics`; at write time (after a job,
//! a publish, a new reference) [`board`] summarises the scorecards per view with `metrics`
//! (bootstrap CIs, paired-bootstrap ranks and tie groups).
//!
//! What is hidden: the held-out (test) cells and their expression profiles live only in the
//! scorer's datasets and never reach this crate; uploads are stored under generated names and
//! never served. The test perturbations are split into a public and a private view
//! ([`split`]): until the organisers flip a task's reveal switch, only public-view scores (means,
//! CIs, ranks and per-perturbation values of the public perturbations) leave the server.
//! What is public: task specs and the public view of every scored row. Each task page says
//! whether the task's test data themselves are public (published data, or the simulator at its
//! public seed) or hidden (a simulator world drawn from an organiser secret, or a private dataset
//! file), and hidden tasks offer their training download ([`test_data`]).

pub mod auth;
pub mod board;
pub mod cache;
pub mod card;
pub mod config;
pub mod db;
pub mod housekeeping;
pub mod listen;
pub mod plots;
pub mod queue;
pub mod scorer;
pub mod split;
pub mod state;
pub mod store;
pub mod test_data;
pub mod views;
pub mod web;

use std::sync::Arc;

pub use config::{Config, RateLimit, Timeouts};
pub use db::{Db, LbError};
pub use scorer::{ScoreError, Scorer, UploadKind};
pub use state::{AppState, remove_stale_parts};
pub use store::{import_scorecard, publish_scorecard, store_reference, sync_tasks};
pub use web::{ROUTES, Route, router};

/// Serves `state` on `listener` until the future is dropped, with the scoring workers and the
/// housekeeping (retention) running.
pub async fn serve(listener: tokio::net::TcpListener, state: Arc<AppState>) -> std::io::Result<()> {
    board::backfill(&state.db).map_err(std::io::Error::other)?;
    queue::start(state.clone())?;
    housekeeping::start(state.clone());
    listen::serve(listener, router(state.clone()), state.config.timeouts.clone()).await
}
