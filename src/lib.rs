//! Root package of the Virtual Cell Arena workspace: it owns the end-to-end tests in `tests/`.
