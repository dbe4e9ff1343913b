//! Isolated scoring of untrusted uploads (the leaderboard's jobs): [`worker`] starts one
//! `arena score-job` process per upload under [`limits`], and that process enters the
//! [`sandbox`] before it opens the upload. Together with the file checks done before any upload
//! is read (HDF5 external storage and links in `data::h5ad::safety`, ONNX external data in
//! `runners::onnx::external_data`, declared shapes against the memory limit), an upload can read
//! no file but its own and the task's data, reach no network, and take down only its own job.

pub mod job;
pub mod limits;
pub mod sandbox;
pub mod worker;

pub use limits::JobLimits;
pub use sandbox::{Enforced, Policy};
pub use worker::{JobFailure, JobRunner};
