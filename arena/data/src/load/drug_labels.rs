//! Drug screens in scPerturb's harmonised obs layout: the perturbation column names the compound
//! (a control label for vehicle cells), `dose_value` its dose and `dose_unit` the unit (`nM`,
//! `uM`, ...), so each treated cell is `tasks::Perturbation::compound(name, dose)`. Also the
//! subset keys `ID[COLUMN=VALUE]` (e.g. `sciplex3[cell_line=A549]`): only the cells whose obs
//! `COLUMN` is `VALUE` are read.

use tasks::{Dose, DoseUnit, Perturbation};

use crate::{Column, Frame};

/// The obs column of a cell's dose (scPerturb).
pub const DOSE_COLUMN: &str = "dose_value";
/// The obs column of its unit (scPerturb).
pub const DOSE_UNIT_COLUMN: &str = "dose_unit";

/// Where a drug screen's doses are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrugColumns {
    pub dose: String,
    pub unit: String,
}

impl Default for DrugColumns {
    /// scPerturb's names.
    fn default() -> Self {
        Self { dose: DOSE_COLUMN.into(), unit: DOSE_UNIT_COLUMN.into() }
    }
}

/// `ID[COLUMN=VALUE]` as (ID, COLUMN, VALUE); `None` for any other key.
pub fn subset_key(key: &str) -> Option<(&str, &str, &str)> {
    let (base, rest) = key.strip_suffix(']')?.split_once('[')?;
    let (column, value) = rest.split_once('=')?;
    (!base.is_empty() && !column.is_empty()).then_some((base, column, value))
}

/// An obs column as text per row (numbers printed; missing values empty), or why not.
pub fn column_text(obs: &Frame, column: &str) -> Result<Vec<String>, String> {
    match obs.column(column) {
        Some(Column::Int(v)) => Ok(v.iter().map(i64::to_string).collect()),
        Some(Column::Float(v)) => Ok(v.iter().map(f64::to_string).collect()),
        Some(c) => c
            .as_labels()
            .map(|v| v.into_iter().map(Option::unwrap_or_default).collect())
            .ok_or_else(|| format!("obs/{column} is neither text nor numbers")),
        None => Err(format!("no obs column '{column}'; obs has [{}]", obs.column_names().join(", "))),
    }
}

/// The dose of every cell (`None` where missing or unreadable), from a numeric or text column.
fn dose_values(obs: &Frame, column: &str) -> Result<Vec<Option<f64>>, String> {
    match obs.column(column) {
        Some(Column::Float(v)) => Ok(v.iter().map(|x| Some(*x).filter(|x| x.is_finite())).collect()),
        Some(Column::Int(v)) => Ok(v.iter().map(|x| Some(*x as f64)).collect()),
        Some(_) => Ok(column_text(obs, column)?.iter().map(|s| s.trim().parse().ok()).collect()),
        None => Err(format!(
            "a drug screen needs the dose in obs '{column}' (and its unit in obs '{DOSE_UNIT_COLUMN}'); obs has [{}]",
            obs.column_names().join(", ")
        )),
    }
}

/// The perturbation of each of `rows`: the control for a control label, else the compound named
/// by its label at the row's dose. Refuses a treated cell without a valid dose or unit, naming it.
pub fn drug_perturbations(
    obs: &Frame,
    labels: &[Option<String>],
    rows: &[usize],
    control_labels: &[String],
    columns: &DrugColumns,
) -> Result<Vec<Perturbation>, String> {
    let doses = dose_values(obs, &columns.dose)?;
    let units = column_text(obs, &columns.unit)?;
    rows.iter()
        .map(|&r| {
            let label = labels[r].as_deref().map(str::trim).unwrap_or_default();
            if label.is_empty() {
                return Err(format!("row {r} has no compound label"));
            }
            if control_labels.iter().any(|c| c.eq_ignore_ascii_case(label)) {
                return Ok(Perturbation::control());
            }
            let unit = DoseUnit::parse(&units[r]).ok_or_else(|| {
                format!(
                    "row {r} ('{label}'): obs/{} is '{}', not a concentration unit (nM, uM, ...)",
                    columns.unit, units[r]
                )
            })?;
            let dose = doses[r].and_then(|v| Dose::new(v, unit).ok()).ok_or_else(|| {
                format!("row {r} ('{label}'): obs/{} has no dose > 0 for a treated cell", columns.dose)
            })?;
            Ok(Perturbation::compound(label, dose))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subset_keys_name_a_column_and_value() {
        assert_eq!(subset_key("sciplex3[cell_line=A549]"), Some(("sciplex3", "cell_line", "A549")));
        assert_eq!(subset_key("sciplex3"), None);
        assert_eq!(subset_key("x[=A]"), None);
        assert_eq!(subset_key("papalexi@bio_rep=rep_3"), None);
    }
}
