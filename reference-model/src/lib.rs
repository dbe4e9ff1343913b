//! Reference world model placeholder; see the reference-model issue.
