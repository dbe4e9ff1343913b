//! Loading any dataset by key: the simulator's datasets (the default `simulator` and its variants,
//! each generated from its config's seed, or from a world seed that replaces it), else the file
//! loaders of `arena_data::load` (registry ids, context keys, `.h5ad` and `.npz` paths), whose
//! options and output types are re-exported here so that callers need one module; and a task's
//! data ([`load_task_data`]): the dataset with the side tables its spec scores against.

pub use arena_data::load::*;

use arena_data::{DataError, Registry};
use tasks::{SplitRule, TaskSpec};

use crate::{SimConfig, contexts, drugs, export, interactions, many_sequences, simulate};

/// Loads any dataset by key: `simulator` (the embedded default, generated from seed 0) or one of
/// its variants (`simulator-two-contexts`, `simulator-drugs`, `simulator-many-sequences`, `simulator-interactions`
/// and `simulator-interactions-fair-v1`: those read the registered CollecTRI table), a registry
/// id, or a path
/// to an `.h5ad`.
pub fn load_dataset(key: &str, registry: &Registry, options: &LoadOptions) -> Result<Loaded, DataError> {
    load_dataset_seeded(key, registry, options, None)
}

/// [`load_dataset`] with the side tables `spec` scores against attached (see
/// [`attach_task_tables`]): what every command that scores a task loads.
pub fn load_task_data(
    key: &str,
    spec: &TaskSpec,
    registry: &Registry,
    options: &LoadOptions,
) -> Result<Loaded, DataError> {
    let mut loaded = load_dataset(key, registry, options)?;
    attach_task_tables(&mut loaded, spec, registry, options)?;
    Ok(loaded)
}

/// Reads the side tables `spec` names into the loaded dataset, so that scoring reads no files:
/// the genetic-interaction fits of a genetic-interactions task (`gi_fits`, a registry id, read
/// from `options.data_dir` with its sha256 verified). A table already attached is kept.
pub fn attach_task_tables(
    loaded: &mut Loaded,
    spec: &TaskSpec,
    registry: &Registry,
    options: &LoadOptions,
) -> Result<(), DataError> {
    if let SplitRule::GeneticInteractions { gi_fits, .. } = &spec.split
        && loaded.dataset.interactions.as_ref().is_none_or(|t| &t.id != gi_fits)
    {
        let table = arena_data::gi_fits::load_gi_fits(gi_fits, registry, options.data_dir.as_deref())?;
        loaded.dataset.interactions = Some(table);
    }
    Ok(())
}

/// Whether `key` names one of the simulator's datasets (whose whole world a seed determines).
pub fn is_simulator_key(key: &str) -> bool {
    [
        export::SIMULATOR_ID,
        contexts::TWO_CONTEXT_ID,
        drugs::DRUGS_ID,
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
    if key == drugs::DRUGS_ID {
        let config = reseed(SimConfig::default());
        let design = drugs::DrugDesign::default();
        let sim = drugs::simulate_drugs(&config, &design).map_err(|e| DataError::Other(format!("simulator: {e}")))?;
        let dataset = drugs::drug_dataset(&sim).map_err(|e| DataError::Other(format!("simulator: {e}")))?;
        let source = format!(
            "arena simulator, drug mode: {} compounds at {} doses ({}–{} nM) in contexts A and B, default network, {}",
            design.n_compounds,
            design.doses_nm.len(),
            design.doses_nm[0],
            design.doses_nm[design.doses_nm.len() - 1],
            seed_text(config.seed)
        );
        return Ok(Loaded { dataset, source });
    }
    if let Some(loaded) = load_context_dataset(key, registry, options) {
        return loaded;
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
