//! Loader of pseudobulk log-fold-change bundles (`.npz`): singles and, optionally, doubles ("A+B"
//! labels) as rows of log fold changes over a gene list, with no control rows. Which array holds
//! what comes from [`NpzArrays`]: a registry entry's `[dataset.arrays]`, or the Norman 2019 bundle's
//! names (`lfc_s`, `sing_labels`, `lfc_d`, `doub_labels`, `genes_hvg`) by default.

use std::path::Path;

use ndarray::{Axis, concatenate};
use tasks::{Dataset, Direction, GenePanel, Observation, Perturbation, Scale};

use crate::registry::NpzArrays;
use crate::{DataError, read_npz};

pub fn load_pseudobulk_npz(
    path: &Path,
    id: &str,
    sha256: &str,
    direction: Direction,
    arrays: &NpzArrays,
) -> Result<Dataset, DataError> {
    let npz = read_npz(path)?;
    let field =
        |field: &str, reason: String| DataError::Field { path: path.to_path_buf(), field: field.into(), reason };
    let singles = npz.f32_matrix(&arrays.singles)?;
    let single_labels = npz.strings(&arrays.single_labels)?;
    if singles.nrows() != single_labels.len() {
        return Err(field(
            &arrays.single_labels,
            format!("{} labels for {} rows of {}", single_labels.len(), singles.nrows(), arrays.singles),
        ));
    }
    let mut expression = singles;
    let mut all_labels = single_labels;
    if let Some((values, labels)) = &arrays.doubles {
        let doubles = npz.f32_matrix(values)?;
        let double_labels = npz.strings(labels)?;
        if doubles.nrows() != double_labels.len() {
            return Err(field(
                labels,
                format!("{} labels for {} rows of {values}", double_labels.len(), doubles.nrows()),
            ));
        }
        expression = concatenate(Axis(0), &[expression.view(), doubles.view()])
            .map_err(|e| field(values, format!("{} and {values} have different gene counts: {e}", arrays.singles)))?;
        all_labels.extend(double_labels);
    }
    let genes = npz.strings(&arrays.genes)?;
    if genes.len() != expression.ncols() {
        return Err(field(
            &arrays.genes,
            format!("{} genes for {} columns of {}", genes.len(), expression.ncols(), arrays.singles),
        ));
    }
    let no_controls: Vec<String> = Vec::new();
    let labels = all_labels
        .iter()
        .map(|l| {
            Perturbation::parse(l, &no_controls, direction).map_err(|e| field(&arrays.single_labels, e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let panel = GenePanel::new(genes).map_err(|e| field(&arrays.genes, e.to_string()))?;
    Dataset::new(id, sha256, panel, Scale::LogFoldChange, Observation::Pseudobulk, expression, labels)
        .map_err(|e| DataError::Other(format!("{}: {e}", path.display())))
}
