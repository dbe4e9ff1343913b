//! The models the arena scores, each a `tasks::Model`: the baselines (`baselines`), a submitted
//! ONNX model or a predictions file (`runners`), and the reference world model with its bundled
//! weights (`reference`). [`ModelSource`] opens any of them for a task instance.

pub mod baselines;
pub mod reference;
pub mod runners;
pub mod source;

pub use source::{ModelError, ModelSource};
