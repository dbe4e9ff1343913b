//! Perturbation-response metrics of the Virtual Cell Arena: pure math over vectors and matrices,
//! no I/O. Every function documents its formula and the reference implementation it follows.
//! Undefined values (a Pearson correlation of a constant vector, a metric over zero items) are
//! `f64::NAN`, never a panic; summaries count and skip them explicitly.

pub mod bootstrap;
pub mod centroid;
pub mod correlation;
pub mod distance;
pub mod profile;
pub mod rng;

pub use bootstrap::{Interval, bootstrap_mean_ci};
pub use centroid::centroid_accuracy;
pub use correlation::pearson;
pub use distance::{mae, mse};
pub use profile::{Metric, ProfileReferences, ProfileScores, score_profiles};
