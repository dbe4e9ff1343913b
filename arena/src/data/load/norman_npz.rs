//! Loader of the Norman 2019 K562 CRISPRa pseudobulk bundle (`.npz`): singles (`lfc_s`,
//! `sing_labels`) and doubles (`lfc_d`, `doub_labels`) as log fold changes over `genes_hvg`.

use std::path::Path;

use ndarray::{Axis, concatenate};
use tasks::{Dataset, Direction, GenePanel, Observation, Perturbation, Scale};

use crate::data::{DataError, read_npz};

pub fn load_norman_pseudobulk(path: &Path, id: &str, sha256: &str, direction: Direction) -> Result<Dataset, DataError> {
    let npz = read_npz(path)?;
    let singles = npz.f32_matrix("lfc_s")?;
    let doubles = npz.f32_matrix("lfc_d")?;
    let single_labels = npz.strings("sing_labels")?;
    let double_labels = npz.strings("doub_labels")?;
    let genes = npz.strings("genes_hvg")?;
    let field =
        |field: &str, reason: String| DataError::Field { path: path.to_path_buf(), field: field.into(), reason };
    if singles.nrows() != single_labels.len() {
        return Err(field(
            "sing_labels",
            format!("{} labels for {} rows of lfc_s", single_labels.len(), singles.nrows()),
        ));
    }
    if doubles.nrows() != double_labels.len() {
        return Err(field(
            "doub_labels",
            format!("{} labels for {} rows of lfc_d", double_labels.len(), doubles.nrows()),
        ));
    }
    let expression = concatenate(Axis(0), &[singles.view(), doubles.view()])
        .map_err(|e| field("lfc_d", format!("lfc_s and lfc_d have different gene counts: {e}")))?;
    let no_controls: Vec<String> = Vec::new();
    let labels = single_labels
        .iter()
        .chain(&double_labels)
        .map(|l| {
            Perturbation::parse(l, &no_controls, direction).map_err(|e| field("sing_labels/doub_labels", e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let panel = GenePanel::new(genes).map_err(|e| field("genes_hvg", e.to_string()))?;
    Dataset::new(id, sha256, panel, Scale::LogFoldChange, Observation::Pseudobulk, expression, labels)
        .map_err(|e| DataError::Other(format!("{}: {e}", path.display())))
}
