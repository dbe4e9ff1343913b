//! What `arena serve` adds to the leaderboard crate: the worlds a task is scored on (public,
//! hidden from an organiser secret, or private), their preparation at start (`prepare`), the
//! sandboxed process each upload is scored in (`isolation`, `job`), the scorer the leaderboard
//! calls (`scorer`) and the demo's seeding (`demo`).

pub mod database;
pub mod demo;
pub mod error;
pub mod isolation;
pub mod prepare;
pub mod scorer;
pub mod worlds;
