//! Loaders: turn a dataset name (registry id, `simulator`, or a path to an `.h5ad`) into a
//! validated `tasks::Dataset`. Registered files are sha256-verified before they are read.

mod anndata_dataset;
mod pseudobulk_npz;

use std::path::{Path, PathBuf};

use tasks::{Dataset, Direction};

pub use anndata_dataset::{AnnDataSpec, GuideRule, dataset_from_anndata};
pub use pseudobulk_npz::load_pseudobulk_npz;

use super::registry::{self, Format, Registry};
use super::{DataError, read_h5ad, sha256_file, shared_data_dir, verify_local};

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

/// Loads any dataset by key: `simulator` (the embedded default, generated from seed 0) or one of
/// its variants (`simulator-two-contexts`, `simulator-many-sequences`, `simulator-interactions`
/// and `simulator-interactions-fair-v1`: those read the registered CollecTRI table), a registry
/// id, or a path
/// to an `.h5ad`.
pub fn load_dataset(key: &str, registry: &Registry, options: &LoadOptions) -> Result<Loaded, DataError> {
    load_dataset_seeded(key, registry, options, None)
}

/// Whether `key` names one of the simulator's datasets (whose whole world a seed determines).
pub fn is_simulator_key(key: &str) -> bool {
    use crate::simulator::{contexts, export, interactions, many_sequences};
    [
        export::SIMULATOR_ID,
        contexts::TWO_CONTEXT_ID,
        many_sequences::MANY_SEQUENCES_ID,
        interactions::INTERACTIONS_ID,
        interactions::FAIR_INTERACTIONS_ID,
    ]
    .contains(&key)
}

/// [`load_dataset`], with `world_seed` (when given) replacing the simulator's seed: a simulator
/// dataset key then yields another world of the same design (network, kinetics, conditions and
/// cells all drawn from that seed); the leaderboard's hidden worlds are made this way. A seed for
/// a key that is not a simulator dataset is an error.
pub fn load_dataset_seeded(
    key: &str,
    registry: &Registry,
    options: &LoadOptions,
    world_seed: Option<u64>,
) -> Result<Loaded, DataError> {
    use crate::simulator::{SimConfig, contexts, export, interactions, many_sequences, simulate};
    if world_seed.is_some() && !is_simulator_key(key) {
        return Err(DataError::Other(format!(
            "dataset '{key}' is not a simulator dataset; only simulator datasets take a world seed"
        )));
    }
    let reseed = |mut config: SimConfig| {
        if let Some(seed) = world_seed {
            config.seed = seed;
        }
        config
    };
    // The source line names the seed only for public worlds.
    let seed_text =
        |seed: u64| if world_seed.is_some() { "an undisclosed seed".to_string() } else { format!("seed {seed}") };
    if key == contexts::TWO_CONTEXT_ID {
        let config = reseed(contexts::two_context_config());
        let sim = simulate(&config).map_err(|e| DataError::Other(format!("simulator: {e}")))?;
        let dataset = contexts::two_context_dataset(&sim).map_err(|e| DataError::Other(format!("simulator: {e}")))?;
        let source = format!(
            "arena simulator, default config with context B (rewired {}), {}",
            config.context_rewire_fraction,
            seed_text(config.seed)
        );
        return Ok(Loaded { dataset, source });
    }
    if let Some((base, column, value)) = context_key(key) {
        let loaded = load_file_dataset(base, registry, options)?;
        let adata = read_h5ad(&registered_path(base, registry, options)?)?;
        let labels = anndata_dataset::dataset_row_labels(&adata, column).map_err(DataError::Other)?;
        let dataset = loaded.dataset.split_context(&labels, value).map_err(|e| DataError::Other(e.to_string()))?;
        return Ok(Loaded { dataset, source: format!("{}; obs {column} = {value} as the new context", loaded.source) });
    }
    let (config, described) = match key {
        export::SIMULATOR_ID => (SimConfig::default(), "default config".to_string()),
        many_sequences::MANY_SEQUENCES_ID => {
            let config = many_sequences::many_sequences_config();
            let described = format!("default config with {} sequences", config.n_sequences);
            (config, described)
        }
        interactions::INTERACTIONS_ID => {
            let config = interactions::interactions_config(registered_path("collectri", registry, options)?);
            let described =
                format!("CollecTRI network, cooperativity {}, {} doubles", config.cooperativity, config.n_doubles);
            (config, described)
        }
        interactions::FAIR_INTERACTIONS_ID => {
            let config = interactions::fair_interactions_config(registered_path("collectri", registry, options)?);
            let m = &config.prior_mismatch;
            let described = format!(
                "CollecTRI network at fidelity {} (dropped {}, flipped {}, added {}), cooperativity {}, {} doubles",
                m.fidelity(),
                m.drop_fraction,
                m.flip_fraction,
                m.add_fraction,
                config.cooperativity,
                config.n_doubles
            );
            (config, described)
        }
        _ => return load_file_dataset(key, registry, options),
    };
    let config = reseed(config);
    let sim = simulate(&config).map_err(|e| DataError::Other(format!("simulator: {e}")))?;
    let mut dataset = export::snapshot_dataset(&sim).map_err(|e| DataError::Other(format!("simulator: {e}")))?;
    dataset.id = key.to_string();
    Ok(Loaded { dataset, source: format!("arena simulator, {described}, {}", seed_text(config.seed)) })
}

/// The verified local path of a registered `.h5ad` (or the path itself).
fn registered_path(name: &str, registry: &Registry, options: &LoadOptions) -> Result<PathBuf, DataError> {
    if name.ends_with(".h5ad") || Path::new(name).is_file() {
        return Ok(PathBuf::from(name));
    }
    let data_dir = shared_data_dir(options.data_dir.as_deref())?;
    verify_local(registry.get(name)?, &data_dir)?.into_result()
}

/// Loads a registered file or an `.h5ad` / `.npz` path (not the simulator: see [`load_dataset`]).
pub fn load_file_dataset(name: &str, registry: &Registry, options: &LoadOptions) -> Result<Loaded, DataError> {
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
    let Some(direction) = entry.direction.and_then(registry::Perturbagen::genetic) else {
        return Err(DataError::Other(format!(
            "dataset '{name}' has direction {:?}; the arena's tasks need a genetic knockdown or activation dataset",
            entry.direction
        )));
    };
    let dataset = match entry.format {
        Format::Npz => load_pseudobulk_npz(&path, &entry.id, &sha256, direction, &entry.npz_arrays())?,
        Format::H5ad => {
            let column = entry
                .perturbation_column
                .clone()
                .ok_or_else(|| DataError::Other(format!("registry entry '{name}' has no perturbation_column")))?;
            let adata = read_h5ad(&path)?;
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
            };
            let (dataset, left_out) = dataset_from_anndata(&path, &adata, &spec)?;
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
    let adata = read_h5ad(path)?;
    let column = match &options.perturbation_column {
        Some(c) => c.clone(),
        None => guess_perturbation_column(path, &adata)?,
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
    };
    let (dataset, left_out) = dataset_from_anndata(path, &adata, &spec)?;
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

fn guess_perturbation_column(path: &Path, adata: &super::AnnData) -> Result<String, DataError> {
    PERTURBATION_COLUMNS.iter().find(|c| adata.obs.column(c).is_some()).map(|c| c.to_string()).ok_or_else(|| {
        DataError::Field {
            path: path.to_path_buf(),
            field: "obs".into(),
            reason: format!(
                "no perturbation column found (tried {}); obs has columns [{}] — pass --perturbation-column NAME",
                PERTURBATION_COLUMNS.join(", "),
                adata.obs.column_names().join(", ")
            ),
        }
    })
}
