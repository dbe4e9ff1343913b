//! The published genetic-interaction fits of Norman et al. 2019 (Perturbseq_GI
//! `data_sharing/regr_fits_final.csv`, registered as `norman2019-gi-fits`): one row per gene pair
//! `A_B` with the coefficients of `double ≈ c1·A + c2·B` and derived measures. Read through the
//! registry with its sha256 verified; only the columns the arena scores are kept.

use std::path::Path;

pub use tasks::{GiFit, GiTable};

use super::registry::{Format, Modality, Registry};
use super::{DataError, shared_data_dir, verify_local};

/// Names in the fits table (GRCh38 symbols) that the Norman Perturb-seq data label with their
/// older symbols: Norman's own `name_replacer` (GI_model_fits.ipynb), inverted.
pub const GENE_ALIASES: &[(&str, &str)] =
    &[("FOXL2NB", "C3orf72"), ("CBARP", "C19orf26"), ("RP5-862P8.2", "KIAA1804"), ("RHOXF2B", "RHOXF2")];

/// The symbol the Norman data use for a gene named in the fits table.
pub fn data_symbol(gene: &str) -> &str {
    GENE_ALIASES.iter().find(|(new, _)| *new == gene).map(|(_, old)| *old).unwrap_or(gene)
}

/// Loads registry entry `id` (a local CSV of modality `genetic-interactions`) from the shared
/// data directory (`data_dir`, else `$ARENA_DATA_DIR`, else `../shared/data`), sha256 verified.
pub fn load_gi_fits(id: &str, registry: &Registry, data_dir: Option<&Path>) -> Result<GiTable, DataError> {
    let entry = registry.get(id)?;
    if entry.modality != Modality::GeneticInteractions || entry.format != Format::Csv {
        return Err(DataError::Other(format!(
            "registry entry '{id}' is {} / {}; genetic-interaction fits must be a genetic-interactions csv",
            entry.modality, entry.format
        )));
    }
    let dir = shared_data_dir(data_dir)?;
    let path = verify_local(entry, &dir)?.into_result()?;
    let text =
        std::fs::read_to_string(&path).map_err(|e| DataError::Read { path: path.clone(), reason: e.to_string() })?;
    let fits = parse_gi_fits(&text, &path)?;
    Ok(GiTable { id: id.to_string(), sha256: entry.sha256.clone().unwrap_or_default(), fits })
}

/// Parses the CSV text (header with at least `name`, `coef_first`, `coef_second`; optional
/// `coef_norm2`, `corr_fit`). Names must be `A_B`.
pub fn parse_gi_fits(text: &str, path: &Path) -> Result<Vec<GiFit>, DataError> {
    let field =
        |field: &str, reason: String| DataError::Field { path: path.to_path_buf(), field: field.into(), reason };
    let csv_err = |e: csv::Error| DataError::csv(path, e);
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
    let header = reader.headers().map_err(csv_err)?.clone();
    if header.is_empty() {
        return Err(field("header", "the file is empty".into()));
    }
    let col = |name: &str| header.iter().position(|h| h == name);
    let need =
        |name: &str| col(name).ok_or_else(|| field(name, format!("missing column; the header has {}", header.len())));
    let (i_name, i_c1, i_c2) = (need("name")?, need("coef_first")?, need("coef_second")?);
    let (i_norm, i_corr) = (col("coef_norm2"), col("corr_fit"));
    let mut fits = Vec::new();
    for (k, record) in reader.records().enumerate() {
        let cells = record.map_err(csv_err)?;
        let at = |i: usize, name: &str| -> Result<&str, DataError> {
            cells.get(i).ok_or_else(|| field(name, format!("data line {} has {} cells", k + 1, cells.len())))
        };
        let number = |i: usize, name: &str| -> Result<f64, DataError> {
            let raw = at(i, name)?;
            raw.parse::<f64>().map_err(|_| field(name, format!("data line {}: '{raw}' is not a number", k + 1)))
        };
        let name = at(i_name, "name")?.to_string();
        let parts: Vec<&str> = name.split('_').collect();
        let [a, b] = parts[..] else {
            return Err(field("name", format!("data line {}: '{name}' is not a pair 'A_B'", k + 1)));
        };
        let (coef_first, coef_second) = (number(i_c1, "coef_first")?, number(i_c2, "coef_second")?);
        let magnitude = match i_norm {
            Some(i) => number(i, "coef_norm2")?,
            None => metrics::interaction::magnitude(coef_first, coef_second),
        };
        let corr_fit = match i_corr {
            Some(i) => number(i, "corr_fit")?,
            None => f64::NAN,
        };
        fits.push(GiFit {
            name: name.clone(),
            genes: [data_symbol(a).to_string(), data_symbol(b).to_string()],
            coef_first,
            coef_second,
            magnitude,
            corr_fit,
        });
    }
    if fits.is_empty() {
        return Err(field("name", "the table has no pairs".into()));
    }
    Ok(fits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn parses_pairs_applies_aliases_and_computes_missing_magnitude() {
        let text = "name,coef_first,x,coef_second,corr_fit\nAHR_FEV,0.3,9,4.0,0.77\nFOXL2NB_FOXL2,1,0,1,0.5\n";
        let fits = parse_gi_fits(text, Path::new("t.csv")).unwrap();
        assert_eq!(fits.len(), 2);
        assert_eq!(fits[0].genes, ["AHR".to_string(), "FEV".to_string()]);
        assert!((fits[0].magnitude - (0.09f64 + 16.0).sqrt()).abs() < 1e-12);
        assert_eq!(fits[1].genes[0], "C3orf72");
        let table = GiTable { id: "t".into(), sha256: String::new(), fits };
        assert_eq!(table.find(["FEV", "AHR"]).unwrap().name, "AHR_FEV");
        assert!(table.find(["FEV"]).is_none());
    }

    #[test]
    fn errors_name_the_field() {
        let err = parse_gi_fits("name,coef_first\nA_B,1\n", Path::new("t.csv")).unwrap_err().to_string();
        assert!(err.contains("t.csv") && err.contains("coef_second"), "{err}");
        let err = parse_gi_fits("name,coef_first,coef_second\nAB,1,x\n", Path::new("t.csv")).unwrap_err().to_string();
        assert!(err.contains("'AB'"), "{err}");
        let err = parse_gi_fits("name,coef_first,coef_second\nA_B,1,x\n", Path::new("t.csv")).unwrap_err().to_string();
        assert!(err.contains("coef_second") && err.contains("'x'"), "{err}");
    }

    #[test]
    fn the_registered_table_loads_verified() {
        let registry = Registry::embedded().unwrap();
        let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"));
        let table = load_gi_fits("norman2019-gi-fits", &registry, Some(&dir)).unwrap();
        assert_eq!(table.fits.len(), 125);
        let f = table.find(["AHR", "FEV"]).unwrap();
        assert!((f.coef_first - 0.2721199162410912).abs() < 1e-15);
        assert!((f.magnitude - metrics::interaction::magnitude(f.coef_first, f.coef_second)).abs() < 1e-9);
        assert!(load_gi_fits("norman2019-pseudobulk", &registry, Some(&dir)).is_err());
    }
}
