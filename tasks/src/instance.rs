//! A task instance: a spec applied to a dataset — the split, the references every metric uses
//! (μ_ctrl from training controls, μ_pert from training perturbation centroids), the training
//! view models are fitted on, and the test queries with their truth.

use ndarray::{Array1, Array2};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::dataset::{Dataset, Scale};
use crate::error::TaskError;
use crate::perturbation::Perturbation;
use crate::spec::{LoadedSpec, SplitRule};
use crate::split::{Split, TestCondition};
use crate::splits;

pub struct TaskInstance<'d> {
    pub spec: LoadedSpec,
    pub dataset: &'d Dataset,
    pub split: Split,
    /// μ_ctrl: mean of the training control rows (zero for log-fold-change data).
    pub control_mean: Array1<f64>,
    /// Training perturbation centroids, in the order of `split.train`.
    pub train_means: Vec<(Perturbation, Array1<f64>)>,
    /// μ_pert: unweighted mean of `train_means`.
    pub perturbed_mean: Array1<f64>,
    /// Rows of each test condition, in the order of `split.test`.
    pub test_rows: Vec<Vec<usize>>,
    /// Test control rows used as start states (at most `max_start_cells`, seeded choice).
    pub start_rows: Vec<usize>,
}

impl<'d> TaskInstance<'d> {
    pub fn build(spec: LoadedSpec, dataset: &'d Dataset) -> Result<Self, TaskError> {
        let seed = spec.spec.seed;
        let split = match spec.spec.split {
            SplitRule::UnseenSingle { test_fraction, control_test_fraction } => {
                splits::unseen_single::build(dataset, test_fraction, control_test_fraction, seed)?
            }
            SplitRule::Combinatorial { train_gene_fraction, seen2_train_fraction, control_test_fraction } => {
                splits::combinatorial::build(
                    dataset,
                    train_gene_fraction,
                    seen2_train_fraction,
                    control_test_fraction,
                    seed,
                )?
            }
        };
        let impossible = |reason: String| TaskError::SplitImpossible {
            task: spec.spec.id.clone(),
            dataset: dataset.id.clone(),
            reason,
        };
        if split.test.is_empty() || split.train.is_empty() {
            return Err(impossible(format!(
                "the split has {} training and {} test conditions; both must be non-empty",
                split.train.len(),
                split.test.len()
            )));
        }
        let by_condition = dataset.rows_by_condition();
        let control_mean = match dataset.scale {
            Scale::LogFoldChange => Array1::zeros(dataset.genes.len()),
            Scale::LogNormalized => {
                if split.control_train_rows.is_empty() || split.control_test_rows.is_empty() {
                    return Err(impossible(
                        "it needs control cells for both training and test start states; check the control label (e.g. --control-label non-targeting)".into(),
                    ));
                }
                dataset.mean_of_rows(&split.control_train_rows)
            }
        };
        let train_means: Vec<(Perturbation, Array1<f64>)> = split
            .train
            .iter()
            .map(|&c| (dataset.condition(c).clone(), dataset.mean_of_rows(&by_condition[c.get()])))
            .collect();
        let mut perturbed_mean = Array1::<f64>::zeros(dataset.genes.len());
        for (_, m) in &train_means {
            perturbed_mean += m;
        }
        perturbed_mean /= train_means.len() as f64;
        let test_rows = split.test.iter().map(|t| by_condition[t.condition.get()].clone()).collect();
        let mut start_rows = split.control_test_rows.clone();
        metrics::rng::shuffle(&mut start_rows, &mut metrics::rng::seeded(seed ^ 0x57A27));
        start_rows.truncate(spec.spec.max_start_cells);
        start_rows.sort_unstable();
        Ok(Self { spec, dataset, split, control_mean, train_means, perturbed_mean, test_rows, start_rows })
    }

    pub fn test_conditions(&self) -> &[TestCondition] {
        &self.split.test
    }

    /// Start states for every query: test control cells, or the zero profile for
    /// log-fold-change data (where the control state is the origin).
    pub fn start_states(&self) -> Array2<f32> {
        match self.dataset.scale {
            Scale::LogFoldChange => Array2::zeros((1, self.dataset.genes.len())),
            Scale::LogNormalized => self.dataset.select_rows(&self.start_rows),
        }
    }

    /// True mean profile of every test condition.
    pub fn truth_means(&self) -> Vec<Vec<f64>> {
        self.test_rows.iter().map(|rows| self.dataset.mean_of_rows(rows).to_vec()).collect()
    }

    /// Rows of the training conditions and training controls: everything a model may fit on.
    pub fn training_rows(&self) -> Vec<usize> {
        let by_condition = self.dataset.rows_by_condition();
        let mut rows: Vec<usize> = self.split.train.iter().flat_map(|c| by_condition[c.get()].clone()).collect();
        rows.extend(&self.split.control_train_rows);
        rows.sort_unstable();
        rows
    }

    /// sha256 of the split's canonical JSON, so a paper can cite exactly which conditions and
    /// cells were held out.
    pub fn split_sha256(&self) -> String {
        #[derive(Serialize)]
        struct Canonical<'a> {
            train: Vec<String>,
            test: &'a [TestCondition],
            control_train_rows: &'a [usize],
            control_test_rows: &'a [usize],
        }
        let canonical = Canonical {
            train: self.split.train_labels(self.dataset),
            test: &self.split.test,
            control_train_rows: &self.split.control_train_rows,
            control_test_rows: &self.split.control_test_rows,
        };
        let json = serde_json::to_vec(&canonical).unwrap_or_default();
        Sha256::digest(&json).iter().map(|b| format!("{b:02x}")).collect()
    }
}
