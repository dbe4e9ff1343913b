//! Differential expression exactly as cell-eval 0.8.2 computes it (pdex 0.3.0, numba-mwu 0.2.0,
//! scipy 1.17.1, sklearn 1.9.1, polars 1.x semantics), and cell-eval's DE-based metrics.
//!
//! - `matrix`: dense / CSR cell-by-gene matrices and the [`Cells`] view of a group of cells;
//! - `mann_whitney` (+ `erfc`): the two-sided asymptotic Mann–Whitney U test;
//! - `fdr`: Benjamini–Hochberg;
//! - `table`: [`differential_expression`], pdex's per-group DE table;
//! - `compare`: [`compare_de`], cell-eval's DE metrics of a prediction against the real DE.

pub mod compare;
pub mod error;
pub mod matrix;
pub mod table;

pub use crate::parity::fdr::benjamini_hochberg;
pub use crate::parity::mann_whitney::{MwuResult, mann_whitney_u, mwu_from_rank_sum};
pub use compare::{DeComparison, DePerturbationScores, FIXED_K, compare_de};
pub use error::DeError;
pub use matrix::{Cells, CsrMatrix, DenseMatrix, GeneColumns};
pub use table::{DeOptions, GroupDe, MeanPrecision, differential_expression};
