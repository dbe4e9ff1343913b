//! Gene identity: the ordered gene panel of a dataset or task and typed indices into it.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::TaskError;

/// Position of a gene in a [`GenePanel`]. Only a panel hands these out, so an index is always
/// valid for the panel it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GeneIndex(u32);

impl GeneIndex {
    pub fn get(self) -> usize {
        self.0 as usize
    }
}

/// An ordered list of unique gene names (the columns of an expression matrix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenePanel {
    names: Vec<String>,
    lookup: HashMap<String, GeneIndex>,
}

impl GenePanel {
    /// Builds a panel, refusing empty names and duplicates (a duplicated gene makes the
    /// multi-hot perturbation encoding ambiguous).
    pub fn new(names: Vec<String>) -> Result<Self, TaskError> {
        let mut lookup = HashMap::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            if name.trim().is_empty() {
                return Err(TaskError::InvalidGenePanel(format!("gene name at position {i} is empty")));
            }
            if lookup.insert(name.clone(), GeneIndex(i as u32)).is_some() {
                return Err(TaskError::InvalidGenePanel(format!(
                    "gene '{name}' appears more than once (second time at position {i}); make var_names unique"
                )));
            }
        }
        Ok(Self { names, lookup })
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn index_of(&self, gene: &str) -> Option<GeneIndex> {
        self.lookup.get(gene).copied()
    }

    pub fn name(&self, index: GeneIndex) -> &str {
        &self.names[index.get()]
    }

    /// Genes of `other` missing here and genes here missing from `other`, for error messages.
    pub fn diff(&self, other: &GenePanel) -> (Vec<String>, Vec<String>) {
        let missing = other.names.iter().filter(|g| !self.lookup.contains_key(*g)).cloned().collect();
        let extra = self.names.iter().filter(|g| !other.lookup.contains_key(*g)).cloned().collect();
        (missing, extra)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panel_refuses_duplicates_and_finds_genes() {
        let panel = GenePanel::new(vec!["A".into(), "B".into()]).unwrap();
        assert_eq!(panel.index_of("B").map(GeneIndex::get), Some(1));
        assert_eq!(panel.index_of("C"), None);
        let err = GenePanel::new(vec!["A".into(), "A".into()]).unwrap_err();
        assert!(err.to_string().contains("'A' appears more than once"), "{err}");
    }

    #[test]
    fn diff_names_missing_and_extra_genes() {
        let a = GenePanel::new(vec!["A".into(), "B".into()]).unwrap();
        let b = GenePanel::new(vec!["B".into(), "C".into()]).unwrap();
        assert_eq!(a.diff(&b), (vec!["C".to_string()], vec!["A".to_string()]));
    }
}
