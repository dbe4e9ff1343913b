//! The model's hyperparameters and provenance, written as `config.json` beside the weights.

use serde::{Deserialize, Serialize};

/// Format tag of `config.json`; a file with another tag is refused.
pub const WEIGHTS_FORMAT: &str = "arena-reference-v1";

/// Architecture and training settings (everything that changes the weights).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Width of the hidden layers of E, A (action encoder), F and D.
    pub hidden: usize,
    /// Latent dimension of z.
    pub latent: usize,
    /// Maximum training epochs (early stopping may end sooner).
    pub max_epochs: usize,
    /// Epochs without a better validation loss before stopping.
    pub patience: usize,
    pub learning_rate: f64,
    pub weight_decay: f64,
    /// Conditions per minibatch.
    pub conditions_per_batch: usize,
    /// Start cells sampled per condition (their predicted mean is compared with the target mean).
    pub cells_per_condition: usize,
    /// Probability that an observed-effect feature of a gene is hidden from a training example,
    /// so the model also learns to predict from prior knowledge alone (as for an unseen gene).
    pub observed_dropout: f64,
    /// Seed of initialisation, minibatch order, cell sampling and dropout.
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            hidden: 128,
            latent: 32,
            max_epochs: 400,
            patience: 40,
            learning_rate: 3e-3,
            weight_decay: 1e-4,
            conditions_per_batch: 8,
            cells_per_condition: 32,
            observed_dropout: 0.5,
            seed: 0,
        }
    }
}

/// Where a set of weights came from, so a retrain reproduces it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The command line that trained it.
    pub command: String,
    pub task: String,
    pub task_spec_sha256: String,
    pub split_sha256: String,
    pub dataset_sha256: String,
    /// Epochs of the final fit (the early-stopping epoch found on the validation split).
    pub epochs: usize,
    pub best_validation_loss: f64,
    pub validation_conditions: Vec<String>,
    pub train_seconds: f64,
}

/// Everything `config.json` holds: the format tag, gene lists, dimensions, training settings and
/// provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    pub format: String,
    /// Expression genes, in the order of the model's input and output.
    pub genes: Vec<String>,
    /// Proteins, after the genes in the model's state (cross-modal tasks); empty for RNA only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proteins: Vec<String>,
    /// Protein columns are multiplied by this before the common scale ([`crate::TrainingSet::protein_factor`]).
    #[serde(default = "unit", skip_serializing_if = "is_unit")]
    pub protein_factor: f32,
    /// Genes with prior features (rows of the feature table): any gene that can be perturbed.
    pub feature_genes: Vec<String>,
    pub n_prior_features: usize,
    /// Genes whose observed training single effect is stored (the additive path).
    pub effect_genes: Vec<String>,
    pub n_observed_features: usize,
    pub train: TrainConfig,
    pub provenance: Provenance,
}

fn unit() -> f32 {
    1.0
}

fn is_unit(v: &f32) -> bool {
    *v == 1.0
}
