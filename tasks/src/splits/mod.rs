//! Deterministic split builders, one file per rule.

pub mod combinatorial;
pub mod unseen_single;
