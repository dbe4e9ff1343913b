//! `arena train-reference`: fits the reference world model on a task's training view with early
//! stopping on a validation split of the training conditions, then writes
//! `weights.safetensors` + `config.json` (command, seed, task spec, split and dataset hashes).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use reference_model::{EpochReport, TrainConfig, train_with_early_stopping};
use tasks::{TaskInstance, find_spec};

use crate::data::load::load_dataset;
use crate::reference::{bundled_dir, features, training};

#[derive(Debug, clap::Args)]
pub struct TrainReferenceArgs {
    /// Task id (see `arena tasks`), e.g. sim-unseen-single or norman2019-combinatorial.
    #[arg(long)]
    task: String,
    /// Maximum epochs of the early-stopping search [default: 400].
    #[arg(long)]
    epochs: Option<usize>,
    /// Seed of initialisation, minibatches and the validation split.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Build the task's split from seed S instead of the spec's own (a new partition, e.g. a
    /// held-out split for a robustness check; the scorecard records the seed used).
    #[arg(long, value_name = "S")]
    split_seed: Option<u64>,
    /// Output directory [default: reference-model/weights/<task> of this checkout].
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    data: super::dataset_args::DatasetArgs,
    #[command(flatten)]
    registry: super::RegistryArgs,
}

/// Settings per task: real pseudobulk panels are wide (2,000 genes), so a smaller hidden layer
/// keeps the bundled weights small.
pub fn train_config(n_genes: usize, seed: u64, max_epochs: Option<usize>) -> TrainConfig {
    let defaults = TrainConfig::default();
    TrainConfig {
        hidden: if n_genes > 500 { 64 } else { defaults.hidden },
        max_epochs: max_epochs.unwrap_or(defaults.max_epochs),
        seed,
        ..defaults
    }
}

pub fn run(args: TrainReferenceArgs) -> anyhow::Result<()> {
    let registry = args.registry.load()?;
    let choice = super::choose_dataset(&args.task, &args.data.dataset, &registry);
    let mut spec = find_spec(&args.task, Some(&choice.spec_dataset))?;
    if let Some(seed) = args.split_seed {
        spec.spec.seed = seed;
    }
    let loaded = load_dataset(&choice.key, &registry, &args.data.load_options(args.registry.data_dir.clone()))?;
    let instance = TaskInstance::build(spec, &loaded.dataset)?;
    let edges = collectri_edges(&registry, &args.registry)?;
    let started = Instant::now();
    let prepared = training::prepare(&instance, edges.as_ref(), args.seed);
    let config = train_config(loaded.dataset.genes.len(), args.seed, args.epochs);
    let bar = ProgressBar::new(config.max_epochs as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} epochs {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix("search");
    let mut final_phase = false;
    let mut on_epoch = |r: &EpochReport| {
        if r.validation_loss.is_none() && !final_phase {
            final_phase = true;
            bar.set_prefix("final ");
            bar.set_position(0);
        }
        bar.set_position(r.epoch as u64);
        bar.set_message(match r.validation_loss {
            Some(v) => format!("train {:.4} validation {v:.4}", r.train_loss),
            None => format!("train {:.4}", r.train_loss),
        });
    };
    let mut outcome =
        train_with_early_stopping(&prepared.search, &prepared.validation, &prepared.full, &config, &mut on_epoch)?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let provenance = &mut outcome.model.config.provenance;
    provenance.command =
        std::iter::once("arena".to_string()).chain(std::env::args().skip(1)).collect::<Vec<_>>().join(" ");
    provenance.task = instance.spec.spec.id.clone();
    provenance.task_spec_sha256 = instance.spec.sha256.clone();
    provenance.split_sha256 = instance.split_sha256();
    provenance.dataset_sha256 = loaded.dataset.sha256.clone();
    provenance.validation_conditions = prepared.validation_labels.clone();
    provenance.train_seconds = (seconds * 10.0).round() / 10.0;
    let out = args.out.clone().unwrap_or_else(|| bundled_dir(&instance.spec.spec.id));
    let (weights, config_path) =
        outcome.model.save(&out).with_context(|| format!("writing the weights to {}", out.display()))?;
    out!(
        "trained the reference model on {} ({} training conditions, {} sequences; {} held out for validation): \
best validation loss {:.4} at epoch {}, final fit {} epochs, {seconds:.1}s\nwrote {} and {}",
        instance.spec.spec.id,
        prepared.full.conditions.len(),
        prepared.full.sequences.len(),
        prepared.validation_labels.len(),
        outcome.best_validation_loss,
        outcome.best_epoch,
        outcome.best_epoch,
        weights.display(),
        config_path.display()
    );
    Ok(())
}

/// The CollecTRI edges when the registered file is available and verified; `None` (with a note)
/// otherwise — the model then uses co-expression and training-effect features only.
pub fn collectri_edges(
    registry: &crate::data::Registry,
    args: &super::RegistryArgs,
) -> anyhow::Result<Option<features::Edges>> {
    let path = crate::data::registry::shared_data_dir(args.data_dir.as_deref())
        .ok()
        .and_then(|dir| registry.get("collectri").ok().map(|e| (e, dir)))
        .and_then(|(entry, dir)| crate::data::registry::verify_local(entry, &dir).ok()?.into_result().ok());
    match path {
        Some(p) => Ok(Some(features::read_edges(&p)?)),
        None => {
            eprintln!(
                "note: the CollecTRI network (`collectri` in datasets.toml) is not available; training without graph features"
            );
            Ok(None)
        }
    }
}
