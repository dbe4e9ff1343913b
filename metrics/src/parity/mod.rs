//! The parity kernels: code written by hand because it must match a reference implementation bit
//! for bit, each with the oracle it matches and the tests that pin it.
//!
//! | kernel | oracle | pinned by |
//! |---|---|---|
//! | [`erfc`] | glibc 2.28–2.40 `erfc` (fdlibm `s_erf.c`), which numba-mwu calls | its CPython `math.erfc` unit test; `tests/oracle_cell_eval.rs` |
//! | [`mann_whitney`] | numba-mwu 0.2.0 as pdex 0.3.0 calls it (tie and continuity correction) | `tests/oracle_cell_eval.rs`, `tests/oracle_cell_eval2.rs` (p-values within 1e-9 relative) |
//! | [`fdr`] | scipy 1.17.1 `false_discovery_control(method="bh")`, per perturbation as pdex applies it | its unit tests; the oracle tests' FDR columns |
//! | [`float_format`] | polars' CSV writer, as cell-eval writes its tables | `floats_print_like_polars`; the oracle tests compare the CSV files |

pub mod erfc;
pub mod fdr;
pub mod float_format;
pub mod mann_whitney;
