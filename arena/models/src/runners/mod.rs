//! Model runners: ways to get predictions from outside the arena behind `tasks::Model`
//! (precomputed predictions files now; the ONNX runner joins here).

pub mod onnx;
pub mod predictions;
