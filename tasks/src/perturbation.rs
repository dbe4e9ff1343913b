//! Typed perturbations: a set of genes, each knocked down or activated, parsed from the labels
//! the field uses (`A+B`, `ctrl+A`, `A+ctrl`, `non-targeting`, `ctrl`).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::TaskError;

/// What an action does to one gene. Encoded as −1 / +1 in the ONNX multi-hot input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// CRISPRi / knockout / knockdown.
    Knockdown,
    /// CRISPRa / overexpression / knock-in.
    Activation,
}

impl Direction {
    /// The spellings of the registry, the CLI and scorecards, in declaration order.
    pub const NAMES: [&'static str; 2] = ["knockdown", "activation"];

    /// The spelling of the registry, the CLI and scorecards.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Knockdown => "knockdown",
            Direction::Activation => "activation",
        }
    }

    /// Parses [`Direction::as_str`]'s spelling.
    pub fn parse(s: &str) -> Option<Direction> {
        [Direction::Knockdown, Direction::Activation].into_iter().find(|d| d.as_str() == s)
    }

    pub fn sign(self) -> f32 {
        match self {
            Direction::Knockdown => -1.0,
            Direction::Activation => 1.0,
        }
    }
}

/// A perturbation: the set of genes it targets, each with its direction. The empty set is the
/// control condition, so "control with genes" cannot be represented.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct Perturbation {
    targets: BTreeMap<String, Direction>,
}

/// The labels that mean "no perturbation", case-insensitive.
pub const DEFAULT_CONTROL_LABELS: &[&str] = &["ctrl", "control", "non-targeting", "nt", "nontargeting"];

impl Perturbation {
    pub fn control() -> Self {
        Self::default()
    }

    pub fn single(gene: impl Into<String>, direction: Direction) -> Self {
        Self::from_genes([(gene.into(), direction)])
    }

    pub fn from_genes(genes: impl IntoIterator<Item = (String, Direction)>) -> Self {
        Self { targets: genes.into_iter().collect() }
    }

    /// Parses a label of the field. `+` joins genes of a combination; any part equal to one of
    /// `control_labels` (case-insensitive) is dropped, so `ctrl+A` is the single `A` and `ctrl`
    /// is the control. Every gene gets `direction` (a dataset is CRISPRa or CRISPRi as a whole).
    pub fn parse(label: &str, control_labels: &[String], direction: Direction) -> Result<Self, TaskError> {
        let trimmed = label.trim();
        if trimmed.is_empty() {
            return Err(TaskError::BadLabel { label: label.to_string(), reason: "the label is empty".into() });
        }
        let is_control = |part: &str| control_labels.iter().any(|c| c.eq_ignore_ascii_case(part));
        if is_control(trimmed) {
            return Ok(Self::control());
        }
        let mut targets = BTreeMap::new();
        for part in trimmed.split('+').map(str::trim) {
            if part.is_empty() {
                return Err(TaskError::BadLabel {
                    label: label.to_string(),
                    reason: "it has an empty gene between '+' signs (expected e.g. 'A+B')".into(),
                });
            }
            if is_control(part) {
                continue;
            }
            if targets.insert(part.to_string(), direction).is_some() {
                return Err(TaskError::BadLabel {
                    label: label.to_string(),
                    reason: format!("gene '{part}' appears twice"),
                });
            }
        }
        Ok(Self { targets })
    }

    pub fn is_control(&self) -> bool {
        self.targets.is_empty()
    }

    /// Number of genes targeted: 0 control, 1 single, 2 double, ...
    pub fn order(&self) -> usize {
        self.targets.len()
    }

    pub fn genes(&self) -> impl Iterator<Item = &str> {
        self.targets.keys().map(String::as_str)
    }

    pub fn targets(&self) -> impl Iterator<Item = (&str, Direction)> {
        self.targets.iter().map(|(g, d)| (g.as_str(), *d))
    }

    /// The singles this combination is made of (itself when it is a single).
    pub fn components(&self) -> Vec<Perturbation> {
        self.targets.iter().map(|(g, d)| Perturbation::single(g.clone(), *d)).collect()
    }

    /// The canonical label: genes sorted and joined by `+`, `ctrl` for the control.
    pub fn label(&self) -> String {
        if self.is_control() { "ctrl".to_string() } else { self.targets.keys().cloned().collect::<Vec<_>>().join("+") }
    }
}

impl fmt::Display for Perturbation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn controls() -> Vec<String> {
        DEFAULT_CONTROL_LABELS.iter().map(|s| s.to_string()).collect()
    }

    /// The spelling round-trips and matches serde's (scorecards and the registry share it).
    #[test]
    fn direction_spellings_round_trip() {
        for name in Direction::NAMES {
            let d = Direction::parse(name).unwrap();
            assert_eq!(d.as_str(), name);
            assert_eq!(serde_json::to_string(&d).unwrap(), format!("\"{name}\""));
        }
        assert_eq!(Direction::parse("drug"), None);
    }

    #[test]
    fn parses_the_labels_of_the_field() {
        let c = controls();
        let act = Direction::Activation;
        assert!(Perturbation::parse("non-targeting", &c, act).unwrap().is_control());
        assert!(Perturbation::parse("CTRL", &c, act).unwrap().is_control());
        let single = Perturbation::parse("ctrl+KLF1", &c, act).unwrap();
        assert_eq!(single, Perturbation::single("KLF1", act));
        assert_eq!(Perturbation::parse("KLF1+ctrl", &c, act).unwrap(), single);
        let double = Perturbation::parse("FOXL2+HOXB9", &c, act).unwrap();
        assert_eq!(double.order(), 2);
        assert_eq!(double, Perturbation::parse("HOXB9+FOXL2", &c, act).unwrap());
        assert_eq!(double.label(), "FOXL2+HOXB9");
        assert_eq!(double.components().len(), 2);
    }

    #[test]
    fn refuses_malformed_labels() {
        let c = controls();
        let d = Direction::Knockdown;
        assert!(Perturbation::parse("", &c, d).is_err());
        assert!(Perturbation::parse("A++B", &c, d).unwrap_err().to_string().contains("empty gene"));
        assert!(Perturbation::parse("A+A", &c, d).unwrap_err().to_string().contains("twice"));
    }
}
