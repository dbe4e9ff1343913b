//! What scoring one model on a family yields: its score row and its throughput.

use tasks::scorecard::ScoreRow;

/// A scored row and the model's throughput (query rows per second).
pub struct ScoredModel {
    pub row: ScoreRow,
    pub rows_per_second: f64,
}
