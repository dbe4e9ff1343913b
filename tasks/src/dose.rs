//! Doses of compound actions: a concentration in stated units, held canonically in nanomolar (a
//! finite value > 0; the vehicle is the control, never a dose of 0), and the one transform every
//! model is fed, [`Dose::transformed`] = log10(1 + dose / 1 nM) (the ONNX contract's compound
//! encoding; 0 for an absent compound, 1 at 9 nM, 4 at ≈ 10 µM).

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

use crate::error::TaskError;

/// A concentration unit, as datasets state it (`dose_unit` in scPerturb's obs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoseUnit {
    Picomolar,
    Nanomolar,
    Micromolar,
    Millimolar,
    Molar,
}

impl DoseUnit {
    /// Every spelling accepted, with its unit (`uM`, `µM` and `μM` are all micromolar).
    const SPELLINGS: [(&'static str, DoseUnit); 7] = [
        ("pM", DoseUnit::Picomolar),
        ("nM", DoseUnit::Nanomolar),
        ("uM", DoseUnit::Micromolar),
        ("µM", DoseUnit::Micromolar),
        ("μM", DoseUnit::Micromolar),
        ("mM", DoseUnit::Millimolar),
        ("M", DoseUnit::Molar),
    ];

    /// Parses a unit's spelling (case-sensitive: `mM` is not `MM`).
    pub fn parse(s: &str) -> Option<DoseUnit> {
        Self::SPELLINGS.iter().find(|(name, _)| *name == s.trim()).map(|(_, u)| *u)
    }

    /// Nanomolar per one of this unit.
    pub fn nanomolar_per_unit(self) -> f64 {
        match self {
            DoseUnit::Picomolar => 1e-3,
            DoseUnit::Nanomolar => 1.0,
            DoseUnit::Micromolar => 1e3,
            DoseUnit::Millimolar => 1e6,
            DoseUnit::Molar => 1e9,
        }
    }
}

/// A dose of a compound in nanomolar: finite and > 0 by construction.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Dose {
    nanomolar: f64,
}

impl Dose {
    /// `value` in `unit`; refuses a value that is not finite and > 0.
    pub fn new(value: f64, unit: DoseUnit) -> Result<Dose, TaskError> {
        Self::nanomolar(value * unit.nanomolar_per_unit()).map_err(|_| TaskError::BadLabel {
            label: format!("{value} {unit:?}"),
            reason: "a dose must be a finite concentration > 0 (the vehicle is the control, not a dose of 0)".into(),
        })
    }

    /// A dose given in nanomolar.
    pub fn nanomolar(nanomolar: f64) -> Result<Dose, TaskError> {
        if nanomolar.is_finite() && nanomolar > 0.0 {
            Ok(Dose { nanomolar })
        } else {
            Err(TaskError::BadLabel {
                label: format!("{nanomolar}nM"),
                reason: "a dose must be a finite concentration > 0 (the vehicle is the control, not a dose of 0)"
                    .into(),
            })
        }
    }

    pub fn as_nanomolar(self) -> f64 {
        self.nanomolar
    }

    /// log10(1 + dose / 1 nM): what models are fed for a compound (and what dose-aware baselines
    /// interpolate in).
    pub fn transformed(self) -> f64 {
        self.nanomolar.ln_1p() / std::f64::consts::LN_10
    }

    /// The canonical spelling, `100nM` (nanomolar, shortest round-trip decimal).
    pub fn label(self) -> String {
        format!("{}nM", self.nanomolar)
    }

    /// Parses a dose spelled as a number followed by a unit (`100nM`, `0.1uM`, `1e4 nM`).
    pub fn parse(s: &str) -> Option<Dose> {
        let s = s.trim();
        let split = s.find(|c: char| c.is_alphabetic() || c == 'µ' || c == 'μ')?;
        let (value, unit) = s.split_at(split);
        let value: f64 = value.trim().parse().ok()?;
        Dose::new(value, DoseUnit::parse(unit)?).ok()
    }
}

impl TryFrom<f64> for Dose {
    type Error = TaskError;
    fn try_from(nanomolar: f64) -> Result<Self, Self::Error> {
        Dose::nanomolar(nanomolar)
    }
}

impl From<Dose> for f64 {
    fn from(d: Dose) -> f64 {
        d.nanomolar
    }
}

// Doses are finite, so the total order of f64 is the numeric order and equality is bitwise.
impl PartialEq for Dose {
    fn eq(&self, other: &Self) -> bool {
        self.nanomolar.to_bits() == other.nanomolar.to_bits()
    }
}
impl Eq for Dose {}
impl Hash for Dose {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.nanomolar.to_bits().hash(state);
    }
}
impl PartialOrd for Dose {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Dose {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanomolar.total_cmp(&other.nanomolar)
    }
}

impl fmt::Display for Dose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_convert_to_nanomolar_and_labels_round_trip() {
        assert_eq!(Dose::new(0.1, DoseUnit::Micromolar).unwrap().as_nanomolar(), 100.0);
        assert_eq!(Dose::parse("10000nM").unwrap().as_nanomolar(), 10_000.0);
        assert_eq!(Dose::parse("10 µM").unwrap(), Dose::parse("10000nM").unwrap());
        assert_eq!(Dose::parse("2.5uM").unwrap().label(), "2500nM");
        for nm in [0.5, 1.0, 30.0, 1234.5678, 1e7] {
            let d = Dose::nanomolar(nm).unwrap();
            assert_eq!(Dose::parse(&d.label()), Some(d), "{nm}");
        }
        assert!(Dose::parse("10").is_none() && Dose::parse("nM").is_none() && Dose::parse("10 MM").is_none());
    }

    #[test]
    fn doses_are_positive_and_finite() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(Dose::nanomolar(bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<Dose>("0.0").is_err());
        assert_eq!(serde_json::from_str::<Dose>("100.0").unwrap(), Dose::nanomolar(100.0).unwrap());
    }

    #[test]
    fn the_transform_is_log10_of_one_plus_the_nanomolar_dose() {
        assert!((Dose::nanomolar(9.0).unwrap().transformed() - 1.0).abs() < 1e-12);
        assert!((Dose::nanomolar(99.0).unwrap().transformed() - 2.0).abs() < 1e-12);
        let a = Dose::nanomolar(10.0).unwrap();
        let b = Dose::nanomolar(100.0).unwrap();
        assert!(a < b && a.transformed() < b.transformed());
    }
}
