//! Reproducing a scorecard from its provenance (`arena verify`): the task spec and version, the
//! dataset's sha256, the split's sha256 and the model's fingerprint must match the file; then
//! every number is recomputed with the scorecard's bootstrap settings, for the caller to compare
//! ([`crate::compare`]).

use std::path::Path;

use tasks::scorecard::Scorecard;
use tasks::{ModelKind, TaskInstance, find_spec};

use arena_data::Registry;
use arena_models::runners::onnx::{OnnxModel, OnnxOptions};
use arena_models::{ModelError, ModelSource};
use arena_sim::load::LoadOptions;

use crate::session::{Session, SessionError, TASKS_DIR_ENV, TaskChoice};
use crate::{EvalOptions, evaluate};

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The scorecard's provenance does not match what was given; the message says what to pass.
    #[error("{0}")]
    Provenance(String),
    #[error(transparent)]
    Session(#[from] crate::session::SessionError),
    #[error(transparent)]
    Task(#[from] tasks::TaskError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("the recomputed scorecard: {0}")]
    Json(#[from] serde_json::Error),
}

/// What the verifier was given beside the scorecard.
pub struct Inputs<'a> {
    /// `--dataset`: the simulator id (its default) means the scorecard's own dataset.
    pub dataset: &'a str,
    pub task_file: Option<&'a Path>,
    /// How to read the dataset (and a predictions file's labels).
    pub load: &'a LoadOptions,
    /// The ONNX model, predictions file or reference weights the scorecard scored.
    pub model: Option<&'a Path>,
    pub predictions: Option<&'a Path>,
    pub weights: Option<&'a Path>,
}

/// The scorecard recomputed: as a value, and as the JSON the file was written as.
pub struct Recomputed {
    pub card: Scorecard,
    pub json: serde_json::Value,
}

/// Checks `card`'s provenance against `inputs` and recomputes it.
pub fn recompute(card: &Scorecard, inputs: &Inputs<'_>, registry: &Registry) -> Result<Recomputed, VerifyError> {
    // The task as this arena defines it must be the one the scorecard used.
    if inputs.task_file.is_none()
        && find_spec(&card.task.id, None).is_err()
        && std::env::var_os(TASKS_DIR_ENV).is_none()
    {
        return Err(VerifyError::Provenance(format!(
            "the scorecard's task '{}' is not a task of this arena; pass its task file with --task-file FILE \
             (its sha256 must be {})",
            card.task.id,
            short(&card.task.spec_sha256)
        )));
    }
    let dataset_key = if inputs.dataset == arena_sim::export::SIMULATOR_ID && inputs.task_file.is_some() {
        // The task file's own dataset (a registry id, or a path relative to the file).
        inputs.dataset.to_string()
    } else if inputs.dataset == arena_sim::export::SIMULATOR_ID {
        let id = &card.dataset.id;
        if !id.starts_with(arena_sim::export::SIMULATOR_ID) && registry.get(id).is_err() {
            return Err(VerifyError::Provenance(format!(
                "the scorecard was computed on the file '{id}' (sha256 {}), not on a registered or simulated dataset; \
                 pass that file with --dataset PATH (and --perturbation-column/--control-label if `arena eval` needed them)",
                card.dataset.sha256
            )));
        }
        id.clone()
    } else {
        inputs.dataset.to_string()
    };
    let choice = TaskChoice {
        task: &card.task.id,
        task_file: inputs.task_file,
        dataset: &dataset_key,
        // `arena eval --seed` may have split with another seed than the spec's; the scorecard records it.
        split_seed: Some(card.task.seed),
    };
    let (spec, key) = crate::session::resolve(&choice, registry)?;
    if spec.sha256 != card.task.spec_sha256 || spec.spec.version != card.task.version {
        return Err(VerifyError::Provenance(format!(
            "task {} is version {} here (spec sha256 {}), the scorecard used version {} (spec sha256 {}); \
             verify it with the arena that wrote it (suite version {}; this is {})",
            card.task.id,
            spec.spec.version,
            short(&spec.sha256),
            card.task.version,
            short(&card.task.spec_sha256),
            card.suite_version,
            crate::provenance::SUITE_VERSION
        )));
    }
    let session = Session::load(spec, &key, registry, inputs.load).map_err(|e| match e {
        SessionError::Data(e) => VerifyError::Provenance(format!(
            "loading the scorecard's dataset '{}' (a scorecard of an .h5ad file needs it: --dataset PATH): {e}",
            card.dataset.id
        )),
        other => other.into(),
    })?;
    let loaded = &session.loaded;
    if loaded.dataset.sha256 != card.dataset.sha256 {
        return Err(VerifyError::Provenance(format!(
            "the dataset differs: the scorecard was computed on '{}' with sha256 {}, this one ({}) has {}; \
             pass the file that was scored with --dataset PATH",
            card.dataset.id, card.dataset.sha256, key, loaded.dataset.sha256
        )));
    }
    let instance = session.instance()?;
    if instance.split_sha256() != card.task.split_sha256 {
        return Err(VerifyError::Provenance(format!(
            "the split differs from the scorecard's (sha256 {} here, {} in the file) although task and dataset match; \
             this arena builds splits differently from the one that wrote it",
            short(&instance.split_sha256()),
            short(&card.task.split_sha256)
        )));
    }

    let model = under_test(inputs, card, &instance)?;
    let options = EvalOptions { bootstrap: card.bootstrap.clone(), ..EvalOptions::default() };
    let again = evaluate(&instance, model.as_deref(), &loaded.source, &options)?;
    // Through the same text and parser as the file, so that "bit-identical" compares what was written.
    let got: serde_json::Value = serde_json::from_slice(&serde_json::to_vec_pretty(&again)?)?;
    Ok(Recomputed { card: again, json: got })
}

/// The model the scorecard scored, rebuilt from the arguments; its fingerprint must match.
fn under_test(
    inputs: &Inputs<'_>,
    card: &Scorecard,
    instance: &TaskInstance<'_>,
) -> Result<Option<Box<dyn tasks::Model>>, VerifyError> {
    let Some(name) = &card.model else { return Ok(None) };
    let Some(row) = card.rows.iter().find(|r| &r.name == name) else {
        return Err(VerifyError::Provenance(format!(
            "the scorecard names its model '{name}' but has no row of that name: the file is damaged"
        )));
    };
    let source = match row.kind {
        ModelKind::Baseline => ModelSource::Baseline { name, data_dir: inputs.load.data_dir.as_deref() },
        ModelKind::Reference => ModelSource::Reference { weights: inputs.weights },
        ModelKind::Onnx => {
            let Some(file) = inputs.model else {
                return Err(VerifyError::Provenance(format!(
                    "the scorecard scored the ONNX model '{name}' (sha256 {}); pass it with --model FILE",
                    row.model_sha256
                )));
            };
            ModelSource::Onnx(Box::new(OnnxModel::load(file, &OnnxOptions::default()).map_err(ModelError::from)?))
        }
        ModelKind::Predictions => {
            let Some(path) = inputs.predictions else {
                return Err(VerifyError::Provenance(format!(
                    "the scorecard scored the predictions '{name}' (sha256 {}); pass the file with --predictions FILE",
                    row.model_sha256
                )));
            };
            ModelSource::Predictions {
                path,
                column: inputs.load.perturbation_column.as_deref(),
                control_labels: &inputs.load.control_labels,
            }
        }
        ModelKind::Ceiling => {
            return Err(VerifyError::Provenance(format!(
                "the scorecard's model row '{name}' is the noise ceiling: the file is damaged"
            )));
        }
    };
    let model = source.open(instance)?;
    if model.fingerprint() != row.model_sha256 {
        return Err(VerifyError::Provenance(format!(
            "the model differs: the scorecard scored '{name}' with sha256 {}, the one given has {}; pass the file that \
             was scored",
            row.model_sha256,
            model.fingerprint()
        )));
    }
    Ok(Some(model))
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}
