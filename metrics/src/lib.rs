//! Perturbation-response metrics of the Virtual Cell Arena: pure math over vectors and matrices,
//! no I/O. Every function documents its formula and the reference implementation it follows.
//! Undefined values (a Pearson correlation of a constant vector, a metric over zero items) are
//! `f64::NAN`, never a panic; summaries count and skip them explicitly.
//!
//! - `profile`, `centroid`: the arena's profile-level headline metrics (Systema, cell-eval);
//! - `de`: differential expression exactly as cell-eval 0.8.2 / pdex 0.3.0, and the DE metrics;
//! - `parity`: the kernels that must match a reference bit for bit (erfc, Mann–Whitney, BH, float
//!   formatting), each with its oracle;
//! - `pair`: cell-eval's pseudobulk and cell-level "anndata pair" metrics;
//! - `gears`, `distributional`, `sparse_distance`: GEARS' Δ correlations and the energy distance;
//! - `stamp`: STAMP's DEG identification, direction and magnitude scores of a group;
//! - `dose`: Hill dose responses, per-dose PearsonΔ and dose-response monotonicity;
//! - `inverse`, `discovery`: screen ranking (inverse design) and closed-loop discovery curves;
//! - `bootstrap`, `ranking`: CIs and paired-bootstrap tie groups;
//! - `catalog`: every metric the arena prints, with its direction ([`Better`]), range and reference;
//! - `toward_ceiling`: a score as the fraction of the way from the best baseline to the ceiling;
//! - `reference_noise`: the reference's own noise behind the ceiling and the pearson_delta interval;
//! - `vcc2026`: cell-eval2's VCC 2026 standard on raw counts (v2 DE, the six scored members, the anchor scale).

pub mod bootstrap;
pub mod bounds;
pub mod catalog;
pub mod centroid;
pub mod correlation;
pub mod de;
pub mod discovery;
pub mod distance;
pub mod distributional;
pub mod dose;
pub mod gears;
pub mod interaction;
pub mod inverse;
pub mod manifold;
pub mod order;
pub mod pair;
pub mod parity;
pub mod profile;
pub mod rank_confidence;
pub mod ranking;
pub mod reference_noise;
pub mod rng;
pub mod sparse_distance;
pub mod stamp;
pub mod systematic;
pub mod toward_ceiling;
pub mod vcc2026;

pub use bootstrap::{
    Interval, bca_ci_with, bootstrap_mean_ci, percentile_ci_with, scorecard_ci, studentized_ci_with,
    studentized_mean_ci, t_interval_shared_reference, t_interval_with, wilson,
};
pub use bounds::Bounds;
pub use catalog::{Better, MetricInfo, Scorer};
pub use centroid::centroid_accuracy;
pub use correlation::pearson;
pub use de::{Cells, CsrMatrix, DeOptions, DenseMatrix, GroupDe, compare_de, differential_expression};
pub use distance::{mae, mse};
pub use pair::{BulkPair, ControlMode};
pub use profile::{Metric, ProfileReferences, ProfileScores, score_profiles};
pub use ranking::{PairedComparison, TieGroups, paired_bootstrap, tie_groups};
