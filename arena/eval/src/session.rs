//! One run's inputs, resolved in one place for the commands that score or train (eval, verify,
//! audit, train-reference): the task spec — embedded, a user task file (`--task-file`), or a task
//! file in `$ARENA_TASKS_DIR` — the dataset it runs on (its own, or `--dataset`), and the split
//! seed (the spec's, or `--seed`). [`Session::instance`] builds the task split on the dataset.

use std::path::{Path, PathBuf};

use tasks::{LoadedSpec, TaskError, TaskInstance, find_spec, parse_task_file};

use arena_data::{DataError, Registry};
use arena_sim::export::SIMULATOR_ID;
use arena_sim::load::{LoadOptions, Loaded, load_task_data};

/// Directory of user task files searched when `--task` names no embedded task.
pub const TASKS_DIR_ENV: &str = "ARENA_TASKS_DIR";

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Task(#[from] TaskError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("task file {path}: {reason}")]
    TaskFile { path: PathBuf, reason: String },
}

/// What the command line chose.
#[derive(Debug, Clone, Copy)]
pub struct TaskChoice<'a> {
    /// `--task`: a task id or a family.
    pub task: &'a str,
    /// `--task-file FILE.toml`.
    pub task_file: Option<&'a Path>,
    /// `--dataset`; [`SIMULATOR_ID`] (its default) means the spec's own dataset.
    pub dataset: &'a str,
    /// `--seed`: a split seed replacing the spec's.
    pub split_seed: Option<u64>,
}

/// A resolved task on its loaded dataset.
pub struct Session {
    pub spec: LoadedSpec,
    pub loaded: Loaded,
}

impl Session {
    /// Resolves the spec and loads its dataset.
    pub fn open(choice: &TaskChoice<'_>, registry: &Registry, options: &LoadOptions) -> Result<Self, SessionError> {
        let (spec, key) = resolve(choice, registry)?;
        Self::load(spec, &key, registry, options)
    }

    /// Loads the dataset `key` for a resolved spec, with the side tables the spec scores against
    /// (`arena_sim::load::load_task_data`).
    pub fn load(spec: LoadedSpec, key: &str, registry: &Registry, options: &LoadOptions) -> Result<Self, SessionError> {
        let loaded = load_task_data(key, &spec.spec, registry, options)?;
        Ok(Self { spec, loaded })
    }

    /// The task split on the dataset.
    pub fn instance(&self) -> Result<TaskInstance<'_>, TaskError> {
        TaskInstance::build(self.spec.clone(), &self.loaded.dataset)
    }
}

/// The spec `choice` names and the key of the dataset to load.
pub fn resolve(choice: &TaskChoice<'_>, registry: &Registry) -> Result<(LoadedSpec, String), SessionError> {
    let file = match choice.task_file {
        Some(path) => Some(path.to_path_buf()),
        None if find_spec(choice.task, None).is_err() => task_file_in_dir(choice.task)?,
        None => None,
    };
    let (mut spec, key) = match file {
        Some(path) => {
            let spec = read_task_file(&path)?;
            let dataset = if choice.dataset == SIMULATOR_ID {
                relative_to(&spec.spec.dataset, path.parent().unwrap_or(Path::new(".")))
            } else {
                choice.dataset.to_string()
            };
            (spec, resolve_dataset_key(&dataset, registry))
        }
        None => {
            let DatasetChoice { key, spec_dataset } = choose_dataset(choice.task, choice.dataset, registry);
            let spec = find_spec(choice.task, Some(&spec_dataset));
            if spec.is_err() && !is_file_key(&key) && !SIMULATIONS.contains(&key.as_str()) {
                // An unknown dataset is the first thing to fix: its error lists the known ids.
                registry.get(&key)?;
            }
            (spec?, key)
        }
    };
    if let Some(seed) = choice.split_seed {
        spec.spec.seed = seed;
    }
    Ok((spec, key))
}

/// Reads and parses a user task file.
pub fn read_task_file(path: &Path) -> Result<LoadedSpec, SessionError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| SessionError::TaskFile { path: path.to_path_buf(), reason: format!("cannot read it: {e}") })?;
    Ok(parse_task_file(&path.display().to_string(), &text)?)
}

/// A dataset named in a task file: a path relative to the file's directory, or a registry id.
fn relative_to(dataset: &str, dir: &Path) -> String {
    let looks_like_path = dataset.contains('/') || dataset.ends_with(".h5ad") || dataset.ends_with(".npz");
    if looks_like_path && Path::new(dataset).is_relative() {
        dir.join(dataset).display().to_string()
    } else {
        dataset.to_string()
    }
}

/// The task file in `$ARENA_TASKS_DIR` whose `id` is `task`, if the directory is set.
fn task_file_in_dir(task: &str) -> Result<Option<PathBuf>, SessionError> {
    let Some(dir) = std::env::var_os(TASKS_DIR_ENV).map(PathBuf::from) else { return Ok(None) };
    let entries = std::fs::read_dir(&dir).map_err(|e| SessionError::TaskFile {
        path: dir.clone(),
        reason: format!("cannot list ${TASKS_DIR_ENV}: {e}"),
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    for path in files {
        if read_task_file(&path)?.spec.id == task {
            return Ok(Some(path));
        }
    }
    Ok(None)
}

/// The dataset keys of the embedded simulations.
const SIMULATIONS: [&str; 5] = {
    use arena_sim::{contexts, export, interactions, many_sequences};
    [
        export::SIMULATOR_ID,
        many_sequences::MANY_SEQUENCES_ID,
        interactions::INTERACTIONS_ID,
        interactions::FAIR_INTERACTIONS_ID,
        contexts::TWO_CONTEXT_ID,
    ]
};

/// What `--task` and `--dataset` load: the dataset key, and the dataset whose task spec scores it
/// (a user-supplied file is scored under the spec the task names: a task id's own, or the
/// family's spec on the simulator). With `--dataset` left at its default, a task id (or a family
/// with no spec on the default simulator) loads the dataset of the spec it names.
pub(crate) struct DatasetChoice {
    pub key: String,
    pub spec_dataset: String,
}

pub(crate) fn choose_dataset(task: &str, dataset: &str, registry: &Registry) -> DatasetChoice {
    let named = find_spec(task, None).map(|s| s.spec.dataset);
    let dataset = match &named {
        Ok(d) if dataset == SIMULATOR_ID => d.clone(),
        _ => dataset.to_string(),
    };
    let key = resolve_dataset_key(&dataset, registry);
    let is_path = is_file_key(&dataset);
    let spec_dataset = match named {
        Ok(d) if is_path => d,
        _ if is_path => SIMULATOR_ID.to_string(),
        _ => key.clone(),
    };
    DatasetChoice { key, spec_dataset }
}

/// A dataset key that names a file rather than a registry id or simulation.
fn is_file_key(dataset: &str) -> bool {
    dataset.ends_with(".h5ad") || dataset.ends_with(".npz") || Path::new(dataset).is_file()
}

/// `norman2019` -> `norman2019-pseudobulk`: a dataset key that is not a registry id stands for the
/// unique dataset of the task specs whose id starts with `key-`.
pub(crate) fn resolve_dataset_key(key: &str, registry: &Registry) -> String {
    // A simulator id names that frozen simulation, never a later one whose id extends it.
    if SIMULATIONS.contains(&key) || registry.get(key).is_ok() {
        return key.to_string();
    }
    let prefix = format!("{key}-");
    let mut candidates: Vec<String> = tasks::embedded_specs()
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.spec.dataset)
        // `ID@COLUMN=VALUE` keys (a context split of ID) are not aliases of ID.
        .filter(|d| d.starts_with(&prefix) && !d.contains('@'))
        .collect();
    candidates.sort();
    candidates.dedup();
    match candidates.as_slice() {
        [one] => one.clone(),
        _ => key.to_string(),
    }
}
