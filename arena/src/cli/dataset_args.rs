//! The dataset options shared by `arena eval` and `arena train-reference`: which dataset a task
//! runs on, and how to read an .h5ad path (perturbation column, control labels, direction).

use tasks::Direction;

use crate::data::load::LoadOptions;

#[derive(Debug, Clone, clap::Args)]
pub struct DatasetArgs {
    /// Dataset: `simulator` (the default: the task's own dataset), a registry id or its prefix
    /// (`norman2019`, `papalexi2021`; see `arena datasets`), or a path to an .h5ad (e.g. one
    /// written by `arena simulate --config`).
    #[arg(long, default_value = "simulator")]
    pub dataset: String,
    /// For an .h5ad path: obs column with perturbation labels [default: first of perturbation, condition, target, gene].
    #[arg(long, value_name = "COLUMN")]
    pub perturbation_column: Option<String>,
    /// For an .h5ad path: label of control cells (repeatable) [default: ctrl, control, non-targeting, NT].
    #[arg(long = "control-label", value_name = "LABEL")]
    pub control_labels: Vec<String>,
    /// For an .h5ad path: the perturbation direction of the screen.
    #[arg(long, value_enum, default_value = "knockdown")]
    direction: DirectionArg,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum DirectionArg {
    Knockdown,
    Activation,
}

impl DatasetArgs {
    /// How to load the dataset, the registered files read from `data_dir`.
    pub fn load_options(&self, data_dir: Option<std::path::PathBuf>) -> LoadOptions {
        LoadOptions {
            data_dir,
            perturbation_column: self.perturbation_column.clone(),
            control_labels: self.control_labels.clone(),
            direction: Some(match self.direction {
                DirectionArg::Knockdown => Direction::Knockdown,
                DirectionArg::Activation => Direction::Activation,
            }),
        }
    }
}
