//! Typed perturbations: a set of named actions, parsed from the labels the field uses (`A+B`,
//! `ctrl+A`, `A+ctrl`, `non-targeting`, `ctrl`). An action is a gene knocked down or activated
//! (its strength is the sign of its [`Direction`], ±1) or a compound at a [`Dose`] (label
//! `name@100nM`); a gene cannot carry a dose, nor a compound a direction.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::dose::Dose;
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

/// A perturbation: the genes it targets, each with its direction, and the compounds it applies,
/// each at its dose. No action at all is the control condition, so "control with genes" cannot be
/// represented.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct Perturbation {
    targets: BTreeMap<String, Direction>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    compounds: BTreeMap<String, Dose>,
}

/// What separates a compound from its dose in a label (`dexamethasone@100nM`).
pub const DOSE_SEPARATOR: char = '@';

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
        Self { targets: genes.into_iter().collect(), compounds: BTreeMap::new() }
    }

    /// One compound at one dose.
    pub fn compound(name: impl Into<String>, dose: Dose) -> Self {
        Self { targets: BTreeMap::new(), compounds: [(name.into(), dose)].into_iter().collect() }
    }

    /// Parses a label of the field. `+` joins genes of a combination; any part equal to one of
    /// `control_labels` (case-insensitive) is dropped, so `ctrl+A` is the single `A` and `ctrl`
    /// is the control. Every gene gets `direction` (a dataset is CRISPRa or CRISPRi as a whole); a
    /// part `NAME@DOSE` (e.g. `dexamethasone@100nM`, see [`Dose::parse`]) is a compound.
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
        let mut compounds = BTreeMap::new();
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
            if let Some((name, dose)) = part.rsplit_once(DOSE_SEPARATOR) {
                let bad = |reason: String| TaskError::BadLabel { label: label.to_string(), reason };
                let name = name.trim();
                let dose = Dose::parse(dose).ok_or_else(|| {
                    bad(format!("'{part}' has no valid dose after '@' (expected e.g. 'drug@100nM', a dose > 0)"))
                })?;
                if name.is_empty() || targets.contains_key(name) || compounds.insert(name.to_string(), dose).is_some() {
                    return Err(bad(format!("compound '{name}' is empty or appears twice")));
                }
                continue;
            }
            if compounds.contains_key(part) || targets.insert(part.to_string(), direction).is_some() {
                return Err(TaskError::BadLabel {
                    label: label.to_string(),
                    reason: format!("gene '{part}' appears twice"),
                });
            }
        }
        Ok(Self { targets, compounds })
    }

    pub fn is_control(&self) -> bool {
        self.targets.is_empty() && self.compounds.is_empty()
    }

    /// Number of actions (genes targeted and compounds applied): 0 control, 1 single, 2 double, ...
    pub fn order(&self) -> usize {
        self.targets.len() + self.compounds.len()
    }

    /// The compounds applied, each with its dose, by name.
    pub fn compounds(&self) -> impl Iterator<Item = (&str, Dose)> {
        self.compounds.iter().map(|(c, d)| (c.as_str(), *d))
    }

    /// The compound and its dose when this is exactly one compound (no gene).
    pub fn single_compound(&self) -> Option<(&str, Dose)> {
        match (self.targets.len(), self.compounds.len()) {
            (0, 1) => self.compounds().next(),
            _ => None,
        }
    }

    /// Whether any action is a compound.
    pub fn has_compounds(&self) -> bool {
        !self.compounds.is_empty()
    }

    pub fn genes(&self) -> impl Iterator<Item = &str> {
        self.targets.keys().map(String::as_str)
    }

    pub fn targets(&self) -> impl Iterator<Item = (&str, Direction)> {
        self.targets.iter().map(|(g, d)| (g.as_str(), *d))
    }

    /// The singles this combination is made of (itself when it is a single).
    pub fn components(&self) -> Vec<Perturbation> {
        let genes = self.targets.iter().map(|(g, d)| Perturbation::single(g.clone(), *d));
        genes.chain(self.compounds.iter().map(|(c, d)| Perturbation::compound(c.clone(), *d))).collect()
    }

    /// The canonical label: genes sorted and joined by `+` (then the compounds as `name@dose`),
    /// `ctrl` for the control.
    pub fn label(&self) -> String {
        if self.is_control() {
            return "ctrl".to_string();
        }
        let genes = self.targets.keys().cloned();
        genes.chain(self.compounds.iter().map(|(c, d)| format!("{c}{DOSE_SEPARATOR}{d}"))).collect::<Vec<_>>().join("+")
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
        for bad in ["dex@", "dex@0nM", "dex@-1nM", "dex@10", "@10nM", "dex@1nM+dex@2nM", "A+A@1nM"] {
            assert!(Perturbation::parse(bad, &c, d).is_err(), "{bad}");
        }
    }

    /// A compound carries a dose and no direction; its label round-trips; genes are unchanged.
    #[test]
    fn compounds_carry_doses_and_their_labels_round_trip() {
        let c = controls();
        let kd = Direction::Knockdown;
        let dose = |nm: f64| Dose::nanomolar(nm).unwrap();
        let p = Perturbation::parse("dexamethasone@0.1uM", &c, kd).unwrap();
        assert_eq!(p, Perturbation::compound("dexamethasone", dose(100.0)));
        assert_eq!(p.label(), "dexamethasone@100nM");
        assert_eq!(Perturbation::parse(&p.label(), &c, kd).unwrap(), p);
        assert_eq!((p.order(), p.genes().count(), p.is_control()), (1, 0, false));
        assert_eq!(p.single_compound(), Some(("dexamethasone", dose(100.0))));
        assert_ne!(p, Perturbation::compound("dexamethasone", dose(1000.0)));
        let mixed = Perturbation::parse("ctrl+KLF1+dex@10nM", &c, kd).unwrap();
        assert_eq!((mixed.order(), mixed.label().as_str()), (2, "KLF1+dex@10nM"));
        assert_eq!(mixed.components().len(), 2);
        assert_eq!(mixed.single_compound(), None);
        // A gene-only perturbation serialises as before (no `compounds` key).
        let gene = Perturbation::single("KLF1", kd);
        assert_eq!(serde_json::to_string(&gene).unwrap(), r#"{"targets":{"KLF1":"knockdown"}}"#);
        let back: Perturbation = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }
}
