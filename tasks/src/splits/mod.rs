//! Deterministic split builders, one file per rule.

pub mod closed_loop;
pub mod combinatorial;
pub mod cross_modal;
pub mod dose;
pub mod few_shot;
pub mod inverse_design;
pub mod multi_step;
pub mod order_consistency;
pub mod stability;
pub mod unseen_single;
