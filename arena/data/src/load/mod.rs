//! File loaders: turn a registry id, an `ID@COLUMN=VALUE` context key, or a path to an `.h5ad` or
//! `.npz` into a validated `tasks::Dataset`. Registered files are sha256-verified before they are
//! read. The simulator's datasets are loaded by `arena_sim::load`, which falls back to these.

mod anndata_dataset;
mod drug_labels;
mod expression;
mod pseudobulk_npz;
mod stored;

use std::path::{Path, PathBuf};

use tasks::{Dataset, Direction};

pub use anndata_dataset::{AnnDataSpec, GuideRule, dataset_from_h5ad};
pub use drug_labels::{DOSE_COLUMN, DOSE_UNIT_COLUMN, DrugColumns, subset_key};
pub use expression::expression_of;
pub use pseudobulk_npz::load_pseudobulk_npz;
pub use stored::StoredGroups;

use super::registry::{self, Format, Registry};
use super::{DataError, read_head, sha256_file, shared_data_dir, verify_local};

/// How to read a dataset.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--data-dir`: where registered local files live (default ../shared/data).
    pub data_dir: Option<PathBuf>,
    /// For an `.h5ad` path: the obs column holding perturbation labels.
    pub perturbation_column: Option<String>,
    /// For an `.h5ad` path: labels meaning "control" (default: ctrl, control, non-targeting, ...).
    pub control_labels: Vec<String>,
    /// For an `.h5ad` path: knockdown (CRISPRi/KO, default) or activation (CRISPRa).
    pub direction: Option<Direction>,
    /// For `.h5ad` data: how cells with guides for several genes are labelled (high-MOI screens).
    pub guides: GuideRule,
    /// For `.h5ad` data: read the cells a perturbation group at a time from the file's grouped
    /// store under this cache folder (built there once) instead of holding them all.
    pub grouped_cache: Option<PathBuf>,
}

/// Dataset keys `ID@COLUMN=VALUE` load `ID` with the cells whose obs `COLUMN` is `VALUE` moved into
/// a second context (few-shot tasks on real replicates, e.g. `papalexi2021-thp1-rna@bio_rep=rep_3`).
fn context_key(key: &str) -> Option<(&str, &str, &str)> {
    let (base, rest) = key.split_once('@')?;
    let (column, value) = rest.split_once('=')?;
    Some((base, column, value))
}

/// A loaded dataset and a one-line description of where it came from (for provenance).
pub struct Loaded {
    pub dataset: Dataset,
    pub source: String,
}

/// A few-shot context key `ID@COLUMN=VALUE` (see [`context_key`]) loaded from its registered
/// `.h5ad`, with the cells whose obs `COLUMN` is `VALUE` as the new context; `None` for any other key.
pub fn load_context_dataset(
    key: &str,
    registry: &Registry,
    options: &LoadOptions,
) -> Option<Result<Loaded, DataError>> {
    let (base, column, value) = context_key(key)?;
    Some(load_context(base, column, value, registry, options))
}

/// Registered dataset `base` with the cells whose obs `column` is `value` as the new context.
fn load_context(
    base: &str,
    column: &str,
    value: &str,
    registry: &Registry,
    options: &LoadOptions,
) -> Result<Loaded, DataError> {
    let loaded = load_file_dataset(base, registry, options)?;
    let head = read_head(&registered_path(base, registry, options)?)?;
    let labels = anndata_dataset::dataset_row_labels(&head.obs, column).map_err(DataError::Other)?;
    let dataset = loaded.dataset.split_context(&labels, value).map_err(|e| DataError::Other(e.to_string()))?;
    Ok(Loaded { dataset, source: format!("{}; obs {column} = {value} as the new context", loaded.source) })
}

/// The verified local path of a registered `.h5ad` (or the path itself).
pub fn registered_path(name: &str, registry: &Registry, options: &LoadOptions) -> Result<PathBuf, DataError> {
    if name.ends_with(".h5ad") || Path::new(name).is_file() {
        return Ok(PathBuf::from(name));
    }
    let data_dir = shared_data_dir(options.data_dir.as_deref())?;
    verify_local(registry.get(name)?, &data_dir)?.into_result()
}

/// Loads a registered file or an `.h5ad` / `.npz` path (not the simulator: see
/// `arena_sim::load::load_dataset`).
pub fn load_file_dataset(name: &str, registry: &Registry, options: &LoadOptions) -> Result<Loaded, DataError> {
    load_registered(name, registry, options, None)
}

/// [`load_file_dataset`] of `name`, or of `ID` for a subset key `ID[COLUMN=VALUE]` with only the
/// cells whose obs `COLUMN` is `VALUE` (`.h5ad` data).
fn load_registered(
    name: &str,
    registry: &Registry,
    options: &LoadOptions,
    row_filter: Option<(String, String)>,
) -> Result<Loaded, DataError> {
    if let Some((base, column, value)) = subset_key(name).filter(|_| row_filter.is_none()) {
        let filter = Some((column.to_string(), value.to_string()));
        let mut loaded = load_registered(base, registry, options, filter)?;
        loaded.dataset.id = name.to_string();
        loaded.source = format!("{}; only the cells with obs {column} = {value}", loaded.source);
        return Ok(loaded);
    }
    let as_path = Path::new(name);
    if name.ends_with(".npz") {
        return load_npz_path(as_path, options);
    }
    if name.ends_with(".h5ad") || as_path.is_file() {
        return load_h5ad_path(as_path, options);
    }
    let entry = registry.get(name)?;
    let (path, sha256) = if entry.is_local() {
        let data_dir = shared_data_dir(options.data_dir.as_deref())?;
        (verify_local(entry, &data_dir)?.into_result()?, entry.sha256.clone().unwrap_or_default())
    } else {
        fetched_file(entry)?
    };
    let drug = (entry.direction == Some(registry::Perturbagen::Drug)).then(DrugColumns::default);
    let direction = match entry.direction.and_then(registry::Perturbagen::genetic) {
        Some(d) => d,
        None if drug.is_some() && entry.format == Format::H5ad => Direction::Knockdown,
        None => {
            return Err(DataError::Other(format!(
                "dataset '{name}' has direction {:?}; the arena reads genetic knockdown or activation data, and drug                  screens as .h5ad in scPerturb's layout",
                entry.direction
            )));
        }
    };
    let dataset = match entry.format {
        Format::Npz => load_pseudobulk_npz(&path, &entry.id, &sha256, direction, &entry.npz_arrays())?,
        Format::H5ad => {
            let column = entry
                .perturbation_column
                .clone()
                .ok_or_else(|| DataError::Other(format!("registry entry '{name}' has no perturbation_column")))?;
            let head = read_head(&path)?;
            let mut guides = options.guides.clone();
            if guides.separator.is_none() {
                guides.separator = entry.guide_separator.clone();
            }
            let spec = AnnDataSpec {
                id: entry.id.clone(),
                sha256,
                perturbation_column: column,
                control_labels: entry.control_labels.clone(),
                direction,
                guides,
                grouped_cache: options.grouped_cache.clone(),
                drug,
                row_filter,
            };
            let (dataset, left_out) = dataset_from_h5ad(&path, &head, &spec)?;
            let source = format!("{} ({}){}", path.display(), entry.citation, left_out_note(left_out, &spec.guides));
            return Ok(Loaded { dataset, source });
        }
        Format::Csv => {
            return Err(DataError::Other(format!(
                "dataset '{name}' is a table ({}), not an expression dataset; tasks need h5ad or npz data",
                entry.modality.as_str()
            )));
        }
    };
    Ok(Loaded { dataset, source: format!("{} ({})", path.display(), entry.citation) })
}

/// The verified download of a registered remote dataset (`arena fetch ID` put it in the cache)
/// and its sha256.
fn fetched_file(entry: &registry::DatasetEntry) -> Result<(PathBuf, String), DataError> {
    let cache = super::fetch::cache_dir(None);
    let path = super::fetch::cached_path(entry, &cache);
    if !path.is_file() {
        return Err(DataError::Other(format!(
            "dataset '{}' is not downloaded yet ({} is missing); run `arena fetch {}` (cache: --cache-dir, ${})",
            entry.id,
            path.display(),
            entry.id,
            super::fetch::CACHE_DIR_ENV
        )));
    }
    let sha256 = sha256_file(&path)?;
    let mismatch = |kind: &str, expected: &str, actual: &str| {
        DataError::Other(format!(
            "{} does not match the registry's {kind} for '{}' (expected {expected}, found {actual}); delete it and run \
             `arena fetch {}` again",
            path.display(),
            entry.id,
            entry.id
        ))
    };
    if let Some(expected) = &entry.sha256
        && *expected != sha256
    {
        return Err(mismatch("sha256", expected, &sha256));
    }
    if let Some(expected) = entry.md5.as_ref().filter(|_| entry.sha256.is_none()) {
        let md5 = super::registry::md5_file(&path)?;
        if *expected != md5 {
            return Err(mismatch("md5", expected, &md5));
        }
    }
    Ok((path, sha256))
}

/// An unregistered `.npz` path: a pseudobulk log-fold-change bundle in the Norman 2019 array
/// layout (other array names need a registry entry with `[dataset.arrays]`).
fn load_npz_path(path: &Path, options: &LoadOptions) -> Result<Loaded, DataError> {
    if !path.exists() {
        return Err(DataError::NotFound { path: path.to_path_buf() });
    }
    let id = file_id(path);
    let direction = options.direction.unwrap_or(Direction::Knockdown);
    let dataset = load_pseudobulk_npz(path, &id, &sha256_file(path)?, direction, &registry::NpzArrays::default())?;
    Ok(Loaded { dataset, source: path.display().to_string() })
}

/// A dataset id for an unregistered file: its name without the extension.
fn file_id(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "dataset".into())
}

fn load_h5ad_path(path: &Path, options: &LoadOptions) -> Result<Loaded, DataError> {
    if !path.exists() {
        return Err(DataError::NotFound { path: path.to_path_buf() });
    }
    let head = read_head(path)?;
    let column = match &options.perturbation_column {
        Some(c) => c.clone(),
        None => guess_perturbation_column(path, &head.obs)?,
    };
    let control_labels = if options.control_labels.is_empty() {
        tasks::DEFAULT_CONTROL_LABELS.iter().map(|s| s.to_string()).collect()
    } else {
        options.control_labels.clone()
    };
    let spec = AnnDataSpec {
        id: file_id(path),
        sha256: sha256_file(path)?,
        perturbation_column: column,
        control_labels,
        direction: options.direction.unwrap_or(Direction::Knockdown),
        guides: options.guides.clone(),
        grouped_cache: options.grouped_cache.clone(),
        drug: None,
        row_filter: None,
    };
    let (dataset, left_out) = dataset_from_h5ad(path, &head, &spec)?;
    Ok(Loaded { dataset, source: format!("{}{}", path.display(), left_out_note(left_out, &options.guides)) })
}

/// What the high-MOI rule left out, for the provenance line (empty when nothing was).
fn left_out_note(left_out: usize, guides: &GuideRule) -> String {
    match guides.max_targets {
        Some(max) if left_out > 0 => format!("; {left_out} cells with more than {max} distinct targets left out"),
        _ => String::new(),
    }
}

/// The conventional perturbation columns, in the order they are tried.
const PERTURBATION_COLUMNS: &[&str] = &["perturbation", "condition", "target", "target_gene", "gene", "guide_target"];

fn guess_perturbation_column(path: &Path, obs: &super::Frame) -> Result<String, DataError> {
    PERTURBATION_COLUMNS.iter().find(|c| obs.column(c).is_some()).map(|c| c.to_string()).ok_or_else(|| {
        DataError::Field {
            path: path.to_path_buf(),
            field: "obs".into(),
            reason: format!(
                "no perturbation column found (tried {}); obs has columns [{}] — pass --perturbation-column NAME",
                PERTURBATION_COLUMNS.join(", "),
                obs.column_names().join(", ")
            ),
        }
    })
}
