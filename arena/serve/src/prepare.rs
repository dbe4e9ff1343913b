//! The leaderboard's hidden and private tasks, made once at start: for each task scored on a world
//! other than its public dataset ([`TaskWorld`]) the server builds that world, writes the world
//! file its scoring jobs read (derived seeds or the private file's path, never the organiser
//! secret), writes the training download (training conditions and training controls only) and
//! scores the baselines and the noise ceiling on it as the task's reference rows.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use leaderboard::Db;
use leaderboard::test_data::TestData;
use tasks::{TaskInstance, embedded_specs};

use crate::error::{ServeError, absolute};
use crate::worlds::{Secret, TaskWorld, WorldFile, write_training_h5ad};
use arena_data::Registry;
use arena_eval::{EvalOptions, evaluate};
use arena_sim::load::LoadOptions;

/// The `source` of a hidden or private task's reference rows on the board.
pub const HIDDEN_REFERENCE_SOURCE: &str = "baselines on this server's hidden test data";

/// Which tasks are hidden or private, and where their files are.
#[derive(Debug, Default)]
pub struct PreparedWorlds {
    /// Per task, what the board says about its test data (hidden and private tasks only).
    pub test_data: BTreeMap<String, TestData>,
    /// Per task, the world file its scoring jobs read.
    pub world_files: BTreeMap<String, PathBuf>,
}

/// What the organiser configured.
pub struct WorldSettings<'a> {
    pub secret: Option<&'a Secret>,
    /// `--hidden-task`: the simulator tasks the secret applies to (empty: every simulator task).
    pub hidden_tasks: &'a [String],
    /// `--private-dataset TASK=PATH`.
    pub private: &'a BTreeMap<String, PathBuf>,
}

impl WorldSettings<'_> {
    fn world(&self, task: &str, dataset: &str) -> TaskWorld {
        let secret =
            self.secret.filter(|_| self.hidden_tasks.is_empty() || self.hidden_tasks.iter().any(|t| t == task));
        TaskWorld::choose(task, dataset, secret, self.private.get(task).map(PathBuf::as_path))
    }

    /// Refuses settings that name unknown tasks, or hidden tasks that are not simulator tasks.
    pub fn validate(&self) -> Result<(), ServeError> {
        let specs = embedded_specs()?;
        let known = |t: &str| specs.iter().find(|s| s.spec.id == t);
        for task in self.private.keys().chain(self.hidden_tasks) {
            if known(task).is_none() {
                return Err(ServeError::Setup(format!("unknown task '{task}' (see `arena tasks`)")));
            }
        }
        if !self.hidden_tasks.is_empty() && self.secret.is_none() {
            return Err(ServeError::Setup(
                "--hidden-task needs --secret-file (the organiser secret the hidden worlds are drawn from)".into(),
            ));
        }
        for task in self.hidden_tasks {
            let dataset = known(task).map(|s| s.spec.dataset.clone()).unwrap_or_default();
            if !arena_sim::load::is_simulator_key(&dataset) {
                return Err(ServeError::Setup(format!(
                    "--hidden-task {task}: its dataset '{dataset}' is not simulated, so a secret cannot hide it; attach \
                     a private file with --private-dataset {task}=PATH instead"
                )));
            }
        }
        for (task, path) in self.private {
            if !path.is_file() {
                return Err(ServeError::Setup(format!("--private-dataset {task}={}: no such file", path.display())));
            }
        }
        Ok(())
    }
}

/// Builds every hidden or private task's world under `dir` (`worlds/`, `training/`) and stores
/// its reference rows (baselines and ceiling on that world) in `db`. Progress lines name tasks
/// and counts, never seeds.
pub fn prepare(
    db: &Db,
    dir: &Path,
    settings: &WorldSettings<'_>,
    registry: &Registry,
    load: &LoadOptions,
    options: &EvalOptions,
) -> Result<PreparedWorlds, ServeError> {
    let mut prepared = PreparedWorlds::default();
    for spec in embedded_specs()? {
        let id = spec.spec.id.clone();
        let world = settings.world(&id, &spec.spec.dataset);
        if world.is_public() {
            continue;
        }
        let (worlds_dir, training_dir) = (dir.join("worlds"), dir.join("training"));
        for d in [&worlds_dir, &training_dir] {
            std::fs::create_dir_all(d).map_err(|e| ServeError::io(d, e))?;
        }
        let (loaded, spec) =
            world.load(&spec, registry, load).map_err(|e| ServeError::Setup(format!("task {id}: {e}")))?;
        let instance = TaskInstance::build(spec, &loaded.dataset)
            .map_err(|e| ServeError::Setup(format!("task {id}: {}", world.scrub(&e.to_string()))))?;
        let training = absolute(&training_dir.join(format!("{id}.h5ad")))?;
        let summary =
            write_training_h5ad(&instance, &training).map_err(|e| ServeError::Setup(world.scrub(&e.to_string())))?;
        let world_file = absolute(&worlds_dir.join(format!("{id}.json")))?;
        WorldFile { task: id.clone(), world: world.clone() }
            .write(&world_file)
            .map_err(|e| ServeError::Setup(e.to_string()))?;
        let mut card = evaluate(&instance, None, &loaded.source, options).map_err(|e| {
            ServeError::Setup(format!("task {id}: scoring the baselines: {}", world.scrub(&e.to_string())))
        })?;
        world.scrub_card(&mut card);
        leaderboard::store_reference(db, &card, HIDDEN_REFERENCE_SOURCE)?;
        let (kind, data) = match world {
            TaskWorld::PrivateDataset { .. } => ("private dataset", TestData::PrivateDataset { training }),
            _ => ("hidden simulator world", TestData::HiddenWorld { training }),
        };
        eprintln!(
            "leaderboard: {id}: {kind}; training download of {} cells ({} training conditions, {} control cells), {} test conditions",
            summary.n_cells,
            summary.train_conditions.len(),
            summary.n_control_cells,
            summary.test_conditions.len()
        );
        prepared.test_data.insert(id.clone(), data);
        prepared.world_files.insert(id, world_file);
    }
    Ok(prepared)
}
