//! The partial of `arena eval --shard K/N`: the model under test run on shard K's test items only
//! (the items of `TaskInstance::eval_items`, cut by [`Shard`]), written as one JSON file,
//! `eval-partial.json` ([`EvalPartial`]). It holds the identity of the run (format, arena
//! version, task, dataset and split hashes, model, the options that change numbers, the shard),
//! what the merge needs to load the dataset again ([`Reload`]), and each item's predicted mean
//! profile, losslessly, with those of the audit's probes derived from the model's outputs
//! (`audit::derived_probes`), which only the shard has. The baselines, the ceiling and the audit
//! run at the merge (`merge.rs`), on the joined means, through the code of a single `arena eval`.
//!
//! Only the profile families (unseen-single, combinatorial, multi-step) shard: their items are
//! scored from one predicted mean each.

mod merge;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tasks::scorecard::BootstrapSettings;
use tasks::{Direction, Model, SplitRule, TaskError, TaskInstance};

use crate::session::{SessionError, TaskChoice};
use crate::shard::Shard;
use crate::submission::Recorded;
use crate::{EvalOptions, audit, predict};
use arena_data::{DataError, output};
use arena_sim::load::{GuideRule, LoadOptions};

pub use merge::{Merged, is_eval_partial, merge_into};

/// The partial format this build writes and reads.
pub const FORMAT: &str = "arena-eval-partial/1";
/// The partial's file name in its folder.
pub const FILE: &str = "eval-partial.json";

#[derive(Debug, thiserror::Error)]
pub enum EvalPartialError {
    #[error(transparent)]
    Task(#[from] TaskError),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("{path}: field '{field}': {reason}")]
    Field { path: PathBuf, field: String, reason: String },
    #[error("{0}")]
    Invalid(String),
}

impl EvalPartialError {
    fn field(path: &Path, field: impl Into<String>, reason: impl Into<String>) -> Self {
        EvalPartialError::Field { path: path.to_path_buf(), field: field.into(), reason: reason.into() }
    }
}

/// `eval-partial.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalPartial {
    pub format: String,
    pub arena_version: String,
    pub task: TaskRecord,
    pub dataset: DatasetRecord,
    /// How the merge loads the dataset again.
    pub reload: Reload,
    pub options: OptionsRecord,
    pub model: Recorded,
    pub shard: Shard,
    /// The run's test items (this shard's are `shard.range(n_items)`).
    pub n_items: usize,
    pub inference: Inference,
    /// This shard's items, in order, with the model's predicted mean of each.
    pub items: Vec<Item>,
    /// The probes derived from the model's outputs, each with its mean of every item of `items`.
    pub derived: Vec<DerivedMeans>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    pub id: String,
    pub version: u32,
    pub spec_sha256: String,
    pub seed: u64,
    pub split_sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetRecord {
    pub id: String,
    pub sha256: String,
}

/// The options of `arena eval` that change numbers ([`EvalOptions`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionsRecord {
    pub bootstrap: BootstrapSettings,
    pub ceiling_seed: u64,
    pub shuffle_seed: u64,
}

impl OptionsRecord {
    fn of(options: &EvalOptions) -> Self {
        Self {
            bootstrap: options.bootstrap.clone(),
            ceiling_seed: options.ceiling_seed,
            shuffle_seed: options.shuffle_seed,
        }
    }

    fn options(&self) -> EvalOptions {
        EvalOptions {
            bootstrap: self.bootstrap.clone(),
            ceiling_seed: self.ceiling_seed,
            shuffle_seed: self.shuffle_seed,
        }
    }
}

/// Where the model ran and how fast: `device` and `batch_size` are the ONNX runner's (they may
/// change the last bits, so every shard must agree); rows and rows/s are this shard's inference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inference {
    pub device: Option<String>,
    pub batch_size: Option<usize>,
    /// Query rows the model answered.
    pub rows: usize,
    /// Those rows per second of inference (the time spent recording outputs left out).
    pub rows_per_second: f64,
}

/// The `arena eval` arguments that chose the task and the dataset, as given (paths are resolved
/// from the merge's working directory), and the registry options; the merge loads the dataset
/// with them and checks its sha256.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reload {
    pub task: String,
    pub task_file: Option<PathBuf>,
    pub dataset: String,
    pub seed: Option<u64>,
    pub registry: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub perturbation_column: Option<String>,
    pub control_labels: Vec<String>,
    pub direction: Option<Direction>,
    pub guide_separator: Option<String>,
    pub max_targets: Option<usize>,
    /// The shards read the cells group by group (`--low-memory`); the merge reloads them so.
    #[serde(default)]
    pub low_memory: bool,
}

impl Reload {
    /// The record of `choice`, read with the user registry file `registry` and `load`.
    pub fn new(choice: &TaskChoice<'_>, registry: Option<&Path>, load: &LoadOptions) -> Self {
        Self {
            task: choice.task.to_string(),
            task_file: choice.task_file.map(Path::to_path_buf),
            dataset: choice.dataset.to_string(),
            seed: choice.split_seed,
            registry: registry.map(Path::to_path_buf),
            data_dir: load.data_dir.clone(),
            perturbation_column: load.perturbation_column.clone(),
            control_labels: load.control_labels.clone(),
            direction: load.direction,
            guide_separator: load.guides.separator.clone(),
            max_targets: load.guides.max_targets,
            low_memory: load.grouped_cache.is_some(),
        }
    }

    fn choice(&self) -> TaskChoice<'_> {
        TaskChoice {
            task: &self.task,
            task_file: self.task_file.as_deref(),
            dataset: &self.dataset,
            split_seed: self.seed,
        }
    }

    fn load_options(&self) -> LoadOptions {
        LoadOptions {
            data_dir: self.data_dir.clone(),
            perturbation_column: self.perturbation_column.clone(),
            control_labels: self.control_labels.clone(),
            direction: self.direction,
            guides: GuideRule { separator: self.guide_separator.clone(), max_targets: self.max_targets },
            grouped_cache: self.low_memory.then(|| arena_data::cache_dir(None).join("grouped")),
        }
    }
}

/// A test item of the shard and the model's predicted mean profile of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub label: String,
    pub mean: Profile,
}

/// A derived probe and its predicted mean of each item of the shard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DerivedMeans {
    pub probe: Recorded,
    pub means: Vec<Profile>,
}

/// A mean profile over the task's genes, stored losslessly: each value a JSON string holding
/// Rust's shortest decimal that reads back as the same f64 (`{:?}`), read with `str::parse`,
/// which rounds correctly. (As JSON numbers the values would go through serde_json's float
/// parser, which may miss the last bit without its `float_roundtrip` feature.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Profile(#[serde(with = "exact")] pub Vec<f64>);

mod exact {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(values: &[f64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(values.iter().map(|v| format!("{v:?}")))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        let text: Vec<String> = Vec::deserialize(d)?;
        text.iter()
            .map(|s| s.parse::<f64>().map_err(|e| D::Error::custom(format!("'{s}' is not a number ({e})"))))
            .collect()
    }
}

/// What one `arena eval --shard K/N` needs beside the task and the model.
pub struct ShardRun<'a> {
    pub shard: Shard,
    pub options: &'a EvalOptions,
    pub reload: Reload,
    /// The ONNX runner's device and batch size (none for other models).
    pub device: Option<String>,
    pub batch_size: Option<usize>,
}

/// A written partial, and where (its `Display` is the line `arena eval --shard` prints).
pub struct Written {
    pub partial: EvalPartial,
    pub path: PathBuf,
}

impl fmt::Display for Written {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.partial;
        let range = p.shard.range(p.n_items);
        write!(
            f,
            "Predicted shard {} of task {} with {}: test items {}..={} of {} ({:.0} rows/s); wrote {}\n\
             Merge the {} partials with `arena merge --outdir DIR PARTIAL...` (baselines, ceiling and audit run there).",
            p.shard,
            p.task.id,
            p.model.name,
            range.start + 1,
            range.end,
            p.n_items,
            p.inference.rows_per_second,
            self.path.display(),
            p.shard.n()
        )
    }
}

/// True for the families whose items are scored from one predicted mean each.
fn shardable(rule: &SplitRule) -> bool {
    matches!(rule, SplitRule::UnseenSingle { .. } | SplitRule::Combinatorial { .. } | SplitRule::MultiStep { .. })
}

/// Runs `model` on shard `run.shard`'s test items of `instance` (and the derived probes on its
/// recorded outputs) and returns the partial.
pub fn predict_shard(
    instance: &TaskInstance<'_>,
    model: &dyn Model,
    run: ShardRun<'_>,
) -> Result<EvalPartial, EvalPartialError> {
    let spec = &instance.spec.spec;
    if !shardable(&spec.split) {
        return Err(EvalPartialError::Invalid(format!(
            "--shard {}: task '{}' is of the {} family; `arena eval --shard` covers the families scored from one predicted mean per item (unseen-single, combinatorial, multi-step); run this one whole",
            run.shard, spec.id, spec.task
        )));
    }
    let items = instance.eval_items();
    let range = run
        .shard
        .within(items.len(), || format!("task '{}' has only {} test item(s)", spec.id, items.len()))
        .map_err(EvalPartialError::Invalid)?;
    // As in a single run: the outputs are recorded for the derived probes, and the recording's
    // time is left out of the model's rate.
    let tape = audit::probes::Tape::record(model);
    let predicted = predict::predict_means_of(instance, &tape, range.clone())?;
    let rows_per_second = tape.rows_per_second_without_recording(predicted.rows_per_second);
    let outputs = tape.into_outputs();
    let derived = audit::derived_probes(instance, &items[range.clone()], model, outputs.as_deref(), |probe| {
        let means = predict::predict_means_of(instance, probe, range.clone())?.means;
        Ok(DerivedMeans { probe: Recorded::of(probe), means: means.into_iter().map(Profile).collect() })
    })?;
    Ok(EvalPartial {
        format: FORMAT.into(),
        arena_version: crate::provenance::SUITE_VERSION.into(),
        task: TaskRecord {
            id: spec.id.clone(),
            version: spec.version,
            spec_sha256: instance.spec.sha256.clone(),
            seed: spec.seed,
            split_sha256: instance.split_sha256(),
        },
        dataset: DatasetRecord { id: instance.dataset.id.clone(), sha256: instance.dataset.sha256.clone() },
        reload: run.reload,
        options: OptionsRecord::of(run.options),
        model: Recorded::of(model),
        shard: run.shard,
        n_items: items.len(),
        inference: Inference { device: run.device, batch_size: run.batch_size, rows: predicted.rows, rows_per_second },
        items: items[range]
            .iter()
            .zip(predicted.means)
            .map(|(item, mean)| Item { label: item.label.clone(), mean: Profile(mean) })
            .collect(),
        derived,
    })
}

/// [`predict_shard`], then writes the partial into `dir` (temporary file + rename: nothing is
/// written if anything fails).
pub fn predict_shard_into(
    instance: &TaskInstance<'_>,
    model: &dyn Model,
    run: ShardRun<'_>,
    dir: &Path,
) -> Result<Written, EvalPartialError> {
    let partial = predict_shard(instance, model, run)?;
    let path = write(dir, &partial)?;
    Ok(Written { partial, path })
}

/// Writes `partial` as `dir/eval-partial.json`, atomically; returns its path.
pub fn write(dir: &Path, partial: &EvalPartial) -> Result<PathBuf, EvalPartialError> {
    let path = dir.join(FILE);
    let json =
        serde_json::to_string_pretty(partial).map_err(|e| EvalPartialError::field(&path, "partial", e.to_string()))?;
    output::write_atomic(&path, (json + "\n").as_bytes())?;
    Ok(path)
}

/// Reads the partial in `dir`.
pub fn read(dir: &Path) -> Result<EvalPartial, EvalPartialError> {
    let path = dir.join(FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        EvalPartialError::field(
            dir,
            FILE,
            format!("{e}: not a partial of `arena eval --shard K/N` (or that run did not finish; rerun it)"),
        )
    })?;
    // The format first, so that a partial of another format says so rather than failing to parse.
    let format = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("format").and_then(|f| f.as_str()).map(str::to_string));
    if let Some(format) = format.filter(|f| f != FORMAT) {
        return Err(EvalPartialError::field(
            &path,
            "format",
            format!("'{format}', but this arena reads '{FORMAT}'; rerun the shard with this arena"),
        ));
    }
    serde_json::from_str(&text).map_err(|e| EvalPartialError::field(&path, FILE, format!("{e}; rerun the shard")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_read_back_bit_for_bit() {
        let mut values = vec![
            0.1 + 0.2,
            -0.0,
            0.0,
            1.0,
            f64::MIN_POSITIVE,
            f64::MIN_POSITIVE / 3.0,
            f64::MAX,
            -1e-300,
            std::f64::consts::PI,
            9_007_199_254_740_993.0,
        ];
        // A spread of bit patterns (every finite exponent), from a fixed LCG.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        while values.len() < 20_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let v = f64::from_bits(x);
            if v.is_finite() {
                values.push(v);
            }
        }
        let json = serde_json::to_string(&Profile(values.clone())).unwrap();
        let back: Profile = serde_json::from_str(&json).unwrap();
        assert_eq!(back.0.len(), values.len());
        for (a, b) in values.iter().zip(&back.0) {
            assert_eq!(a.to_bits(), b.to_bits(), "{a:?} read back as {b:?}");
        }
        let bad = serde_json::from_str::<Profile>("[\"0.5\", \"half\"]").unwrap_err().to_string();
        assert!(bad.contains("'half' is not a number"), "{bad}");
    }
}
