//! The dataset options shared by `arena eval`, `arena train-reference` and `arena verify`: which
//! dataset a task runs on (`DatasetArgs`), and how to read a single-cell .h5ad (`ReadArgs`:
//! perturbation column, control labels, direction, multi-guide cells; also `arena datasets --check`),
//! and the registry options every command that reads datasets takes (`RegistryArgs`).

use std::path::PathBuf;

use arena_sim::load::LoadOptions;

#[derive(Debug, Clone, clap::Args)]
pub struct DatasetArgs {
    /// Dataset: `simulator` (the default: the task's own dataset), a registry id or its prefix
    /// (`norman2019`, `papalexi2021`; see `arena datasets`), or a path to an .h5ad (e.g. one
    /// written by `arena simulate --config`) or a pseudobulk .npz.
    #[arg(long, default_value = "simulator")]
    pub dataset: String,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// How to read a single-cell .h5ad: labels, controls, direction, multi-guide cells.
#[derive(Debug, Clone, clap::Args)]
pub struct ReadArgs {
    /// For an .h5ad path: obs column with perturbation labels [default: first of perturbation, condition, target, gene].
    #[arg(long, value_name = "COLUMN")]
    pub perturbation_column: Option<String>,
    /// For an .h5ad path: label of control cells (repeatable) [default: ctrl, control, non-targeting, NT].
    #[arg(long = "control-label", value_name = "LABEL")]
    pub control_labels: Vec<String>,
    /// For an .h5ad path: the perturbation direction of the screen.
    #[arg(long, default_value = "knockdown", value_parser = direction_parser())]
    direction: tasks::Direction,
    /// High-MOI screens: the separator between the guide targets of a cell in its label (e.g. ';'
    /// for "GATA1;TAL1" or '_'); such a cell is the combination of its distinct non-control
    /// targets. Without it only '+' joins genes.
    #[arg(long, value_name = "SEP")]
    pub guide_separator: Option<String>,
    /// Leave out cells with more than N distinct targets (e.g. 1: single-guide cells and controls
    /// only; 2: up to doubles); the count left out is printed with the dataset's source.
    #[arg(long, value_name = "N")]
    pub max_targets: Option<usize>,
    /// Screens larger than memory: read the cells one perturbation at a time from a store grouped once in
    /// $ARENA_CACHE_DIR/grouped (memory: the largest groups and the controls); same results, bit for bit.
    #[arg(long)]
    pub low_memory: bool,
}

/// `--direction`: one of [`tasks::Direction::NAMES`], listed in `--help`.
fn direction_parser() -> impl clap::builder::TypedValueParser<Value = tasks::Direction> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(tasks::Direction::NAMES)
        .try_map(|s| tasks::Direction::parse(&s).ok_or_else(|| format!("unknown direction '{s}'")))
}

impl ReadArgs {
    /// How to load a dataset, the registered files read from `data_dir`.
    pub fn load_options(&self, data_dir: Option<std::path::PathBuf>) -> LoadOptions {
        LoadOptions {
            data_dir,
            perturbation_column: self.perturbation_column.clone(),
            control_labels: self.control_labels.clone(),
            direction: Some(self.direction),
            guides: arena_sim::load::GuideRule {
                separator: self.guide_separator.clone(),
                max_targets: self.max_targets,
            },
            grouped_cache: self.low_memory.then(|| arena_data::cache_dir(None).join("grouped")),
        }
    }
}

/// Options shared by commands that read the registry.
#[derive(Debug, Clone, clap::Args)]
pub struct RegistryArgs {
    /// A datasets.toml whose entries extend the embedded registry (an entry with an embedded id
    /// replaces it): your own datasets, in the format of the repository's datasets.toml.
    #[arg(long, value_name = "FILE")]
    pub registry: Option<PathBuf>,
    /// Directory of the registered local files [default: $ARENA_DATA_DIR, else ../shared/data].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

impl RegistryArgs {
    pub fn load(&self) -> anyhow::Result<arena_data::Registry> {
        Ok(arena_data::Registry::with_user_file(self.registry.as_deref())?)
    }
}
