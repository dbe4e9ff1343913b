//! `arena train-reference`: fits the reference world model on a task's training view with early
//! stopping on a validation split of the training conditions, then writes
//! `weights.safetensors` + `config.json` (command, seed, task spec, split and dataset hashes) to
//! `--out` (default `arena-results/reference/<task>/`). Replacing the bundled weights of the
//! checkout takes `--overwrite-bundled`.

use std::path::PathBuf;
use std::time::Instant;

use arena_eval::session::{Session, TaskChoice};
use arena_models::reference::{bundled_dir, features, training};
use indicatif::{ProgressBar, ProgressStyle};
use reference_model::{EpochReport, TrainConfig, train_with_early_stopping};

#[derive(Debug, clap::Args)]
pub struct TrainReferenceArgs {
    /// Task id (see `arena tasks`), e.g. sim-unseen-single or norman2019-combinatorial.
    #[arg(long, required_unless_present = "task_file", default_value = "")]
    task: String,
    /// A task file (TOML) instead of an embedded task (see `arena eval --help`).
    #[arg(long, value_name = "FILE")]
    task_file: Option<PathBuf>,
    /// Maximum epochs of the early-stopping search [default: 400].
    #[arg(long)]
    epochs: Option<usize>,
    /// Seed of initialisation, minibatches and the validation split.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Split seed of the task [default: the spec's own, the split of the bundled weights]; score
    /// the result with `arena eval --seed N --reference --weights DIR/weights.safetensors`.
    #[arg(long, value_name = "N")]
    split_seed: Option<u64>,
    /// Output directory [default: arena-results/reference/<task>/].
    #[arg(long, conflicts_with = "overwrite_bundled")]
    out: Option<PathBuf>,
    /// Write into reference-model/weights/<task>/ of this checkout, replacing the bundled weights
    /// that `arena eval --reference` scores and the README's tables cite.
    #[arg(long, conflicts_with = "split_seed")]
    overwrite_bundled: bool,
    #[command(flatten)]
    data: super::dataset_args::DatasetArgs,
    #[command(flatten)]
    registry: super::dataset_args::RegistryArgs,
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
    let choice = TaskChoice {
        task: &args.task,
        task_file: args.task_file.as_deref(),
        dataset: &args.data.dataset,
        split_seed: args.split_seed,
    };
    let session = Session::open(&choice, &registry, &args.data.read.load_options(args.registry.data_dir.clone()))?;
    let (instance, loaded) = (session.instance()?, &session.loaded);
    arena_models::reference::check_supported(&instance)?;
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
    let task = &instance.spec.spec.id;
    if args.overwrite_bundled && args.task_file.is_some() {
        anyhow::bail!(
            "--overwrite-bundled replaces the weights of an embedded task; a task file's weights go to --out DIR"
        );
    }
    let out = match (&args.out, args.overwrite_bundled) {
        (Some(dir), _) => dir.clone(),
        (None, true) => bundled_dir(task),
        (None, false) => PathBuf::from("arena-results/reference").join(task),
    };
    let files = outcome.model.files()?;
    let staged = files
        .iter()
        .map(|(name, bytes)| arena_data::output::stage_bytes(&out.join(name), bytes))
        .collect::<Result<Vec<_>, _>>()?;
    let [weights, config_path]: [PathBuf; 2] = arena_data::output::commit(staged)?
        .try_into()
        .map_err(|_| anyhow::anyhow!("the reference model wrote other than two files"))?;
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
    registry: &arena_data::Registry,
    args: &super::dataset_args::RegistryArgs,
) -> anyhow::Result<Option<features::Edges>> {
    let path = arena_data::registry::shared_data_dir(args.data_dir.as_deref())
        .ok()
        .and_then(|dir| registry.get("collectri").ok().map(|e| (e, dir)))
        .and_then(|(entry, dir)| arena_data::registry::verify_local(entry, &dir).ok()?.into_result().ok());
    match path {
        Some(p) => Ok(Some(arena_data::collectri::read_signed_edges(&p)?)),
        None => {
            eprintln!(
                "note: the CollecTRI network (`collectri` in datasets.toml) is not available; training without graph features"
            );
            Ok(None)
        }
    }
}
