//! Which world a leaderboard task is scored on, and what of it a participant may download.
//!
//! - [`TaskWorld::Public`]: the task's registered dataset (a published dataset, or the simulator
//!   at the public seed of the task spec): anyone can recompute its test cells.
//! - [`TaskWorld::HiddenSimulator`]: a simulator task drawn from seeds derived from an organiser
//!   secret ([`Secret`]): the seed of the whole simulated world (network, kinetics, design,
//!   cells) and the split seed come from sha256(secret, task), so the public binary cannot
//!   regenerate the test set. The secret stays in the server process; scoring jobs receive only
//!   the two derived seeds, in a [`WorldFile`] the server writes once at start.
//! - [`TaskWorld::PrivateDataset`]: an `.h5ad` the organisers registered on the server.
//!
//! For a hidden or private world the server writes the training download
//! ([`write_training_h5ad`]): the cells of the training conditions and the training controls only,
//! never a test cell. Seeds never appear in messages or scorecards ([`TaskWorld::scrub`],
//! [`TaskWorld::scrub_card`]).

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::ServeError;
use sha2::{Digest, Sha256};
use tasks::scorecard::Scorecard;
use tasks::{LoadedSpec, TaskInstance};

use arena_data::registry::{self, Registry};
use arena_data::{AnnData, Column, Frame, Matrix, write_h5ad};
use arena_sim::load::{
    LoadOptions, Loaded, attach_task_tables, is_simulator_key, load_dataset, load_dataset_seeded, load_file_dataset,
};

/// Shortest accepted organiser secret, in characters (after trimming).
pub const SECRET_MIN_CHARS: usize = 16;
/// What replaces a hidden seed in any text that leaves a job.
pub const HIDDEN: &str = "<hidden>";

/// The organiser secret of a leaderboard. Its `Debug` never shows it.
pub struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<hidden>)")
    }
}

impl Secret {
    /// A secret from its text (surrounding whitespace trimmed); at least [`SECRET_MIN_CHARS`].
    pub fn new(text: &str) -> Result<Self, ServeError> {
        let text = text.trim();
        if text.chars().count() < SECRET_MIN_CHARS {
            return Err(ServeError::Setup(format!(
                "the organiser secret has {} characters; use at least {SECRET_MIN_CHARS} random ones (e.g. `openssl rand -hex 32 > secret.txt`)",
                text.chars().count()
            )));
        }
        Ok(Secret(text.to_string()))
    }

    /// Reads a secret file. Errors name the file, never its content.
    pub fn read(path: &Path) -> Result<Self, ServeError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ServeError::Setup(format!(
                "reading the secret file {}: {e}; pass --secret-file PATH of a text file",
                path.display()
            ))
        })?;
        Secret::new(&text).map_err(|e| ServeError::Setup(format!("{}: {e}", path.display())))
    }

    /// The hidden world of `task`: its simulator seed and split seed, each the first 8 bytes of
    /// sha256 over a domain tag, the purpose, the task id and the secret.
    pub fn world(&self, task: &str) -> TaskWorld {
        TaskWorld::HiddenSimulator { world_seed: self.derive("world", task), split_seed: self.derive("split", task) }
    }

    fn derive(&self, purpose: &str, task: &str) -> u64 {
        let mut h = Sha256::new();
        for part in ["virtual-cell-arena hidden world v1", purpose, task, &self.0] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        let digest = h.finalize();
        u64::from_le_bytes(digest[..8].try_into().unwrap_or([0; 8]))
    }
}

/// Where a task's test cells come from on a leaderboard.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum TaskWorld {
    Public,
    HiddenSimulator { world_seed: u64, split_seed: u64 },
    PrivateDataset { path: PathBuf },
}

impl fmt::Debug for TaskWorld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskWorld::Public => f.write_str("Public"),
            TaskWorld::HiddenSimulator { .. } => f.write_str("HiddenSimulator(<hidden seeds>)"),
            TaskWorld::PrivateDataset { .. } => f.write_str("PrivateDataset(<organiser file>)"),
        }
    }
}

impl TaskWorld {
    /// The world of a task whose spec reads `dataset`: the organisers' private file when one is
    /// attached, else the hidden simulator world when a secret is set and the dataset is a
    /// simulator dataset, else public.
    pub fn choose(task: &str, dataset: &str, secret: Option<&Secret>, private: Option<&Path>) -> TaskWorld {
        match (private, secret) {
            (Some(path), _) => TaskWorld::PrivateDataset { path: path.to_path_buf() },
            (None, Some(s)) if is_simulator_key(dataset) => s.world(task),
            _ => TaskWorld::Public,
        }
    }

    pub fn is_public(&self) -> bool {
        matches!(self, TaskWorld::Public)
    }

    /// The dataset and the spec a task is scored with in this world (a hidden world replaces the
    /// spec's split seed; the spec's hash is unchanged, it names the task's design).
    pub fn load(
        &self,
        spec: &LoadedSpec,
        registry: &Registry,
        load: &LoadOptions,
    ) -> Result<(Loaded, LoadedSpec), ServeError> {
        let mut spec = spec.clone();
        let key = spec.spec.dataset.clone();
        let mut loaded = match self {
            TaskWorld::Public => load_dataset(&key, registry, load).map_err(|e| ServeError::Setup(e.to_string()))?,
            TaskWorld::HiddenSimulator { world_seed, split_seed } => {
                spec.spec.seed = *split_seed;
                load_dataset_seeded(&key, registry, load, Some(*world_seed))
                    .map_err(|e| ServeError::Setup(self.scrub(&e.to_string())))?
            }
            TaskWorld::PrivateDataset { path } => {
                let mut options = load.clone();
                // A private file of a registered dataset is read with that entry's layout.
                if let Ok(entry) = registry.get(&key) {
                    options.perturbation_column = entry.perturbation_column.clone();
                    options.control_labels = entry.control_labels.clone();
                    options.direction = entry.direction.and_then(registry::Perturbagen::genetic);
                }
                let path_text = path.display().to_string();
                let mut loaded = load_file_dataset(&path_text, registry, &options)
                    .map_err(|e| ServeError::Setup(self.scrub(&e.to_string())))?;
                loaded.dataset.id = key.clone();
                loaded.source = "a private dataset held by the organisers".into();
                loaded
            }
        };
        attach_task_tables(&mut loaded, &spec.spec, registry, load)
            .map_err(|e| ServeError::Setup(self.scrub(&e.to_string())))?;
        Ok((loaded, spec))
    }

    /// `text` with this world's seeds and private path replaced by [`HIDDEN`].
    pub fn scrub(&self, text: &str) -> String {
        match self {
            TaskWorld::Public => text.to_string(),
            TaskWorld::HiddenSimulator { world_seed, split_seed } => {
                text.replace(&world_seed.to_string(), HIDDEN).replace(&split_seed.to_string(), HIDDEN)
            }
            TaskWorld::PrivateDataset { path } => text.replace(&path.display().to_string(), "the private dataset"),
        }
    }

    /// A scorecard of this world without its seeds: the split seed reads 0, a note says why, and
    /// every text field is scrubbed.
    pub fn scrub_card(&self, card: &mut Scorecard) {
        if self.is_public() {
            return;
        }
        card.task.seed = 0;
        card.dataset.source = self.scrub(&card.dataset.source);
        for note in card.notes.iter_mut() {
            *note = self.scrub(note);
        }
        card.notes.push(match self {
            TaskWorld::HiddenSimulator { .. } => {
                "hidden world: the simulator and split seeds of this task derive from the \
                organiser secret of the leaderboard and are not disclosed (task.seed reads 0)"
                    .into()
            }
            _ => "private dataset: the test cells come from a file held by the organisers".into(),
        });
    }
}

/// What a scoring job reads to know its task's world (written by the server at start, readable
/// by the job's sandbox; it holds derived seeds, never the organiser secret).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorldFile {
    pub task: String,
    pub world: TaskWorld,
}

impl WorldFile {
    pub fn write(&self, path: &Path) -> Result<(), ServeError> {
        let json = serde_json::to_vec(self).map_err(|e| ServeError::Setup(e.to_string()))?;
        write_private(path, &json)
            .map_err(|e| ServeError::Setup(format!("writing the world file {}: {e}", path.display())))
    }

    pub fn read(path: &Path) -> Result<Self, ServeError> {
        let bytes = std::fs::read(path)
            .map_err(|e| ServeError::Setup(format!("reading the world file {}: {e}", path.display())))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| ServeError::Setup(format!("the world file {} is not valid: {e}", path.display())))
    }
}

/// Writes `bytes` to `path` with owner-only permissions (Unix).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

/// What the training download of a task holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainingSummary {
    pub n_cells: usize,
    pub n_control_cells: usize,
    pub train_conditions: Vec<String>,
    pub test_conditions: Vec<String>,
}

/// Writes the training download of `instance` to `path` (`.h5ad`): X = the dataset's expression
/// (the scale the task scores on) of the training conditions' cells and the training controls,
/// obs `perturbation` (labels; `ctrl` for controls), var = the gene panel, obsm `protein` (and
/// uns `protein_names`) when the dataset has proteins, and uns `train_conditions`,
/// `test_conditions` (the labels to predict; no test cell), `task`. Test cells and held-out
/// controls are never written.
pub fn write_training_h5ad(instance: &TaskInstance<'_>, path: &Path) -> Result<TrainingSummary, ServeError> {
    let dataset = instance.dataset;
    let rows = instance.training_rows();
    let labels: Vec<String> = rows.iter().map(|&r| dataset.condition(dataset.row_conditions()[r]).label()).collect();
    let test_conditions: Vec<String> = instance.eval_items().into_iter().map(|i| i.label).collect();
    let test_set: BTreeSet<&str> = test_conditions.iter().map(String::as_str).collect();
    if let Some(leak) = labels.iter().find(|l| *l != "ctrl" && test_set.contains(l.as_str())) {
        return Err(ServeError::Setup(format!(
            "the training rows of {} hold test condition '{leak}'",
            instance.spec.spec.id
        )));
    }
    let categories: Vec<String> = labels.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect();
    let codes = labels.iter().map(|l| categories.binary_search(l).map_or(-1, |i| i as i32)).collect();
    let train_conditions = instance.split.train_labels(dataset);
    let mut uns_strings = vec![
        ("task".to_string(), vec![instance.spec.spec.id.clone()]),
        ("train_conditions".to_string(), train_conditions.clone()),
        ("test_conditions".to_string(), test_conditions.clone()),
    ];
    let mut obsm = Vec::new();
    if let Some(protein) = &dataset.protein {
        obsm.push(("protein".to_string(), Matrix::Dense(protein.values.select(ndarray::Axis(0), &rows))));
        uns_strings.push(("protein_names".to_string(), protein.names.clone()));
    }
    let adata = AnnData {
        x: Matrix::Dense(dataset.select_rows(&rows)),
        obs: Frame {
            index_name: "_index".into(),
            index: (0..rows.len()).map(|i| format!("cell{i:06}")).collect(),
            columns: vec![("perturbation".into(), Column::Categorical { codes, categories })],
        },
        var: Frame { index_name: "_index".into(), index: dataset.genes.names().to_vec(), columns: Vec::new() },
        layers: Vec::new(),
        obsm,
        uns_strings,
    };
    write_h5ad(path, &adata)
        .map_err(|e| ServeError::Setup(format!("writing the training download {}: {e}", path.display())))?;
    Ok(TrainingSummary {
        n_cells: rows.len(),
        n_control_cells: instance.split.control_train_rows.len(),
        train_conditions,
        test_conditions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_depend_on_secret_and_task_and_never_show_in_debug() {
        let a = Secret::new("0123456789abcdef-one").unwrap();
        let b = Secret::new("0123456789abcdef-two").unwrap();
        assert_ne!(a.world("sim-unseen-single"), b.world("sim-unseen-single"));
        assert_ne!(a.world("sim-unseen-single"), a.world("sim-few-shot"));
        assert_eq!(
            a.world("sim-unseen-single"),
            Secret::new("  0123456789abcdef-one\n").unwrap().world("sim-unseen-single")
        );
        let TaskWorld::HiddenSimulator { world_seed, split_seed } = a.world("sim-unseen-single") else { panic!() };
        assert_ne!(world_seed, split_seed);
        let shown = format!("{a:?} {:?}", a.world("sim-unseen-single"));
        assert!(!shown.contains("0123456789abcdef") && !shown.contains(&world_seed.to_string()), "{shown}");
        assert!(Secret::new("short").unwrap_err().to_string().contains("at least 16"));
    }

    #[test]
    fn scrub_removes_the_seeds_and_choose_hides_only_simulator_tasks() {
        let s = Secret::new("a-long-enough-organiser-secret").unwrap();
        let w = s.world("sim-unseen-single");
        let TaskWorld::HiddenSimulator { world_seed, split_seed } = w else { panic!() };
        let text = w.scrub(&format!("seed {world_seed}, split {split_seed}"));
        assert_eq!(text, format!("seed {HIDDEN}, split {HIDDEN}"));
        assert_eq!(TaskWorld::choose("t", "papalexi2021-thp1-rna", Some(&s), None), TaskWorld::Public);
        assert!(matches!(TaskWorld::choose("t", "simulator", Some(&s), None), TaskWorld::HiddenSimulator { .. }));
        assert_eq!(TaskWorld::choose("t", "simulator", None, None), TaskWorld::Public);
        let private = TaskWorld::choose("t", "simulator", Some(&s), Some(Path::new("/x/p.h5ad")));
        assert!(matches!(private, TaskWorld::PrivateDataset { .. }));
    }
}
