//! Deterministic split builders, one file per rule.

pub mod combinatorial;
pub mod multi_step;
pub mod unseen_single;
