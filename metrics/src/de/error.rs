//! Why differential expression refused its input, or why two DE tables cannot be compared.

/// Why [`super::differential_expression`] refused its input, or [`super::compare_de`] its tables.
#[derive(Debug, Clone, PartialEq)]
pub enum DeError {
    /// A matrix or row list is malformed (message says what).
    InvalidMatrix(String),
    /// A group has a different number of genes than the reference.
    GeneCountMismatch { group: usize, expected: usize, found: usize },
    /// A group (or the reference) has no cells; pdex never forms such a group.
    EmptyGroup { group: Option<usize> },
    /// Real and predicted DE tables that cannot be compared (message says how they differ).
    TableMismatch(String),
}

impl std::fmt::Display for DeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeError::InvalidMatrix(m) => write!(f, "invalid expression matrix: {m}"),
            DeError::GeneCountMismatch { group, expected, found } => {
                write!(f, "group {group} has {found} genes, the reference has {expected}")
            }
            DeError::EmptyGroup { group: Some(g) } => write!(f, "group {g} has no cells"),
            DeError::EmptyGroup { group: None } => write!(f, "the reference has no cells"),
            DeError::TableMismatch(m) => write!(f, "real and predicted DE tables differ: {m}"),
        }
    }
}

impl std::error::Error for DeError {}
