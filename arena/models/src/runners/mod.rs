//! Model runners: ways to get predictions from outside the arena behind `tasks::Model`: a
//! precomputed predictions file, or an ONNX model run by ONNX Runtime.

pub mod onnx;
pub mod predictions;
