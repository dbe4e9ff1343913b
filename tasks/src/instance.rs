//! A task instance: a spec applied to a dataset — the split, the references every metric uses
//! (μ_ctrl from training controls, μ_pert from training perturbation centroids), the training
//! view models are fitted on, and the test queries with their truth.

use ndarray::{Array1, Array2};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::dataset::{Dataset, Scale};
use crate::error::TaskError;
use crate::expression::Expression;
use crate::perturbation::Perturbation;
use crate::spec::{LoadedSpec, SplitRule};
use crate::split::{Split, Subgroup, TestCondition};
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

/// One scored item: actions applied in turn to the start states, and the real cells (rows of
/// `truth`) observed after the last of them.
pub struct EvalItem<'a> {
    pub label: String,
    pub subgroup: Subgroup,
    pub actions: Vec<Perturbation>,
    pub truth: &'a Expression,
    pub rows: &'a [usize],
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
            SplitRule::MultiStep { test_fraction, control_test_fraction } => {
                splits::multi_step::build(dataset, test_fraction, control_test_fraction, seed)?
            }
            SplitRule::InverseDesign { target_fraction, control_test_fraction, ref target_orders } => {
                splits::inverse_design::build(dataset, target_fraction, control_test_fraction, target_orders, seed)?
            }
            SplitRule::GeneticInteractions {
                train_gene_fraction, seen2_train_fraction, control_test_fraction, ..
            } => splits::combinatorial::build(
                dataset,
                train_gene_fraction,
                seen2_train_fraction,
                control_test_fraction,
                seed,
            )?,
            SplitRule::OrderConsistency { train_gene_fraction, seen2_train_fraction, control_test_fraction } => {
                splits::order_consistency::build(
                    dataset,
                    train_gene_fraction,
                    seen2_train_fraction,
                    control_test_fraction,
                    seed,
                )?
            }
            SplitRule::Stability { test_fraction, control_test_fraction, .. } => {
                splits::stability::build(dataset, test_fraction, control_test_fraction, seed)?
            }
            SplitRule::CrossModal { test_fraction, control_test_fraction } => {
                splits::cross_modal::build(dataset, test_fraction, control_test_fraction, seed)?
            }
            SplitRule::FewShot { test_fraction, control_test_fraction } => {
                splits::few_shot::build(dataset, test_fraction, control_test_fraction, seed)?
            }
            SplitRule::ClosedLoop { train_gene_fraction, control_test_fraction, .. } => {
                splits::closed_loop::build(dataset, train_gene_fraction, control_test_fraction, seed)?
            }
            SplitRule::UnseenDose { control_test_fraction } => {
                splits::dose::build(dataset, splits::dose::HoldOut::Doses, control_test_fraction, seed)?
            }
            SplitRule::UnseenContext { control_test_fraction } => {
                splits::dose::build_unseen_context(dataset, control_test_fraction, seed)?
            }
            SplitRule::UnseenCompound { test_fraction, control_test_fraction } => splits::dose::build(
                dataset,
                splits::dose::HoldOut::Compounds { test_fraction },
                control_test_fraction,
                seed,
            )?,
        };
        let impossible = |reason: String| TaskError::SplitImpossible {
            task: spec.spec.id.clone(),
            dataset: dataset.id.clone(),
            reason,
        };
        if (split.test.is_empty() && split.test_sequences.is_empty()) || split.train.is_empty() {
            return Err(impossible(format!(
                "the split has {} training and {} test conditions; both must be non-empty",
                split.train.len(),
                split.test.len() + split.test_sequences.len()
            )));
        }
        let by_condition = dataset.rows_by_condition();
        let control_mean = match dataset.scale {
            Scale::LogFoldChange => Array1::zeros(dataset.genes.len()),
            Scale::LogNormalized => {
                if split.control_train_rows.is_empty() || split.control_test_rows.is_empty() {
                    let n = split.control_train_rows.len() + split.control_test_rows.len();
                    return Err(impossible(format!(
                        "it needs control cells for both training and test start states and found {n} control row(s); {}",
                        if n == 0 {
                            "check the control label (e.g. --control-label non-targeting)"
                        } else {
                            "single-cell data need at least 2 control cells (a pseudobulk file has exactly one row per \
                             condition, its one control row included)"
                        }
                    )));
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
        // Few-shot test items are scored on the new context's cells, from its control cells.
        let (test_rows, mut start_rows) = match (&split.context, &dataset.context) {
            (Some(cs), Some(ctx)) => {
                let by_label = ctx.rows_by_label();
                let rows = split.test.iter().map(|t| by_label.get(&t.label).cloned().unwrap_or_default()).collect();
                (rows, cs.control_test_rows.clone())
            }
            _ => (
                split.test.iter().map(|t| by_condition[t.condition.get()].clone()).collect(),
                split.control_test_rows.clone(),
            ),
        };
        metrics::rng::shuffle(&mut start_rows, &mut metrics::rng::seeded(seed ^ 0x57A27));
        start_rows.truncate(spec.spec.max_start_cells);
        start_rows.sort_unstable();
        let zero_shot = matches!(spec.spec.split, SplitRule::UnseenContext { .. });
        let instance = Self { spec, dataset, split, control_mean, train_means, perturbed_mean, test_rows, start_rows };
        // An unseen context is scored against its own references: the training effects shifted to
        // its control mean (the few-shot view after 0 shots).
        if zero_shot {
            return splits::few_shot::adapted_instance(&instance, 0);
        }
        Ok(instance)
    }

    pub fn test_conditions(&self) -> &[TestCondition] {
        &self.split.test
    }

    /// Start states for every query: test control cells, or the zero profile for
    /// log-fold-change data (where the control state is the origin).
    pub fn start_states(&self) -> Array2<f32> {
        match self.dataset.scale {
            Scale::LogFoldChange => Array2::zeros((1, self.dataset.genes.len())),
            Scale::LogNormalized => self.scored_expression().select(&self.start_rows),
        }
    }

    /// The matrix test items and start states index: the new context's cells on few-shot tasks,
    /// the dataset's rows otherwise.
    fn scored_expression(&self) -> &Expression {
        match (&self.split.context, &self.dataset.context) {
            (Some(_), Some(ctx)) => &ctx.expression,
            _ => self.dataset.expression(),
        }
    }

    /// The start cells' protein levels (rows of `start_states`), when the dataset has proteins
    /// for them.
    pub fn start_protein(&self) -> Option<Array2<f32>> {
        if self.split.context.is_some() || self.dataset.scale != Scale::LogNormalized {
            return None;
        }
        self.dataset.protein.as_ref().map(|p| p.values.select(ndarray::Axis(0), &self.start_rows))
    }

    /// Every scored item: the one-step test conditions (in `split.test` order), then each held-out
    /// sequence after each of its actions (subgroup `step_k`).
    pub fn eval_items(&self) -> Vec<EvalItem<'_>> {
        match self.spec.spec.split {
            SplitRule::OrderConsistency { .. } => return splits::order_consistency::eval_items(self),
            SplitRule::Stability { .. } => return splits::stability::eval_items(self),
            _ => {}
        }
        let mut items: Vec<EvalItem<'_>> = self
            .split
            .test
            .iter()
            .zip(&self.test_rows)
            .map(|(t, rows)| EvalItem {
                label: t.label.clone(),
                subgroup: t.subgroup,
                actions: vec![self.dataset.condition(t.condition).clone()],
                truth: self.scored_expression(),
                rows,
            })
            .collect();
        if let Some(seq) = &self.dataset.sequences {
            for &i in &self.split.test_sequences {
                for (k, rows) in seq.rows[i].iter().enumerate() {
                    items.push(EvalItem {
                        label: seq.label(i, k + 1),
                        subgroup: Subgroup::Step(k as u32 + 1),
                        actions: seq.sequences[i][..=k].to_vec(),
                        truth: &seq.expression,
                        rows,
                    });
                }
            }
        }
        items
    }

    /// The panel indices of the genes each scored item perturbs (every action of the item, in
    /// the order of [`Self::eval_items`]; genes outside the panel are absent). The headline
    /// profile metrics leave these genes out.
    pub fn perturbed_gene_indices(&self) -> Vec<Vec<usize>> {
        self.eval_items()
            .iter()
            .map(|item| {
                let mut genes: Vec<usize> = item
                    .actions
                    .iter()
                    .flat_map(|a| a.genes())
                    .filter_map(|g| self.dataset.genes.index_of(g).map(|i| i.get()))
                    .collect();
                genes.sort_unstable();
                genes.dedup();
                genes
            })
            .collect()
    }

    /// Each scored item's target class, when the dataset knows its regulators:
    /// [`Subgroup::RegulatorTarget`] if any perturbed gene regulates others, else
    /// [`Subgroup::NonRegulatorTarget`] (order of [`Self::eval_items`]).
    pub fn target_classes(&self) -> Option<Vec<Subgroup>> {
        let regulators = self.dataset.regulators.as_ref()?;
        Some(
            self.eval_items()
                .iter()
                .map(|item| {
                    if item.actions.iter().flat_map(|a| a.genes()).any(|g| regulators.contains(g)) {
                        Subgroup::RegulatorTarget
                    } else {
                        Subgroup::NonRegulatorTarget
                    }
                })
                .collect(),
        )
    }

    /// True mean profile of every scored item (order of [`Self::eval_items`]).
    pub fn truth_means(&self) -> Vec<Vec<f64>> {
        self.eval_items().iter().map(|item| item.truth.mean_of_rows(item.rows).to_vec()).collect()
    }

    /// Rows of the training conditions and training controls: everything a model may fit on.
    pub fn training_rows(&self) -> Vec<usize> {
        let by_condition = self.dataset.rows_by_condition();
        let mut rows: Vec<usize> = self.split.train.iter().flat_map(|c| by_condition[c.get()].clone()).collect();
        rows.extend(&self.split.control_train_rows);
        rows.sort_unstable();
        rows
    }

    /// The split as written to `split.json` beside a scorecard: enough to cite and reload exactly
    /// which conditions and cells trained and were held out. Labels, not condition ids, so it does
    /// not depend on the dataset's row order.
    pub fn split_record(&self) -> SplitRecord {
        SplitRecord {
            task: self.spec.spec.id.clone(),
            dataset: self.dataset.id.clone(),
            dataset_sha256: self.dataset.sha256.clone(),
            seed: self.spec.spec.seed,
            train: self.split.train_labels(self.dataset),
            test: self
                .eval_items()
                .into_iter()
                .map(|i| SplitItem { label: i.label, subgroup: i.subgroup.name(), n_cells: i.rows.len() })
                .collect(),
            control_train_rows: self.split.control_train_rows.clone(),
            control_test_rows: self.split.control_test_rows.clone(),
            context: self.split.context.as_ref().map(|c| ContextRecord {
                shot_order: c.shot_order.iter().map(|&id| self.dataset.condition(id).label()).collect(),
                control_adapt_rows: c.control_adapt_rows.clone(),
                control_test_rows: c.control_test_rows.clone(),
            }),
        }
    }

    /// sha256 of the split record's JSON, recorded in every scorecard.
    pub fn split_sha256(&self) -> String {
        let json = serde_json::to_vec(&self.split_record()).unwrap_or_default();
        hex::encode(Sha256::digest(&json))
    }
}

/// A held-out item of a split record.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct SplitItem {
    pub label: String,
    pub subgroup: String,
    pub n_cells: usize,
}

/// See [`TaskInstance::split_record`].
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct SplitRecord {
    pub task: String,
    pub dataset: String,
    pub dataset_sha256: String,
    pub seed: u64,
    pub train: Vec<String>,
    pub test: Vec<SplitItem>,
    pub control_train_rows: Vec<usize>,
    pub control_test_rows: Vec<usize>,
    /// Few-shot tasks: the new context's adaptation pool in draw order (the k-shot set is the
    /// first k) and its control rows (indices into the context's cells).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<ContextRecord>,
}

/// See [`SplitRecord::context`].
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ContextRecord {
    pub shot_order: Vec<String>,
    pub control_adapt_rows: Vec<usize>,
    pub control_test_rows: Vec<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Observation;
    use crate::gene::GenePanel;
    use crate::perturbation::Direction;
    use crate::spec::parse_spec;
    use std::collections::BTreeSet;

    const N_GENES: usize = 6;

    fn spec(seed: u64, max_start_cells: usize) -> LoadedSpec {
        let text = format!(
            r#"
id = "toy-unseen-single"
task = "unseen-single"
version = 1
dataset = "toy"
seed = {seed}
title = "toy"
description = "toy"
metrics = ["pearson_delta_pert", "mae"]
baselines = ["perturbed-mean"]
max_start_cells = {max_start_cells}

[split]
rule = "unseen-single"
test_fraction = 0.3
control_test_fraction = 0.5
"#
        );
        parse_spec("toy.toml", &text).unwrap()
    }

    /// Single of gene i has i + 1 cells whose values differ by gene and cell; 10 control rows with
    /// distinct values, interleaved.
    fn dataset(scale: Scale) -> Dataset {
        let mut labels = Vec::new();
        let mut rows: Vec<Vec<f32>> = Vec::new();
        for i in 0..N_GENES {
            for k in 0..=i {
                labels.push(Perturbation::single(format!("G{i}"), Direction::Knockdown));
                rows.push((0..N_GENES).map(|g| (i * i) as f32 + (k * (g + 1)) as f32 * 0.5 + g as f32).collect());
            }
            for k in 0..2 {
                if labels.iter().filter(|p| p.is_control()).count() < 10 {
                    labels.push(Perturbation::control());
                    rows.push((0..N_GENES).map(|g| ((2 * i + k) * (g + 2)) as f32 * 0.25).collect());
                }
            }
        }
        let x = Array2::from_shape_vec((rows.len(), N_GENES), rows.concat()).unwrap();
        let genes = GenePanel::new((0..N_GENES).map(|i| format!("G{i}")).collect()).unwrap();
        Dataset::new("toy", "", genes, scale, Observation::SingleCell, x, labels).unwrap()
    }

    fn mean(rows: &[Vec<f64>]) -> Vec<f64> {
        (0..rows[0].len()).map(|g| rows.iter().map(|r| r[g]).sum::<f64>() / rows.len() as f64).collect()
    }

    fn rows_of(ds: &Dataset, p: &Perturbation) -> Vec<Vec<f64>> {
        (0..ds.n_rows())
            .filter(|&r| ds.condition(ds.row_conditions()[r]) == p)
            .map(|r| ds.expression().row(r).iter().map(|&v| f64::from(v)).collect())
            .collect()
    }

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
    }

    #[test]
    fn perturbed_mean_is_the_unweighted_mean_of_training_condition_means() {
        let ds = dataset(Scale::LogNormalized);
        let inst = TaskInstance::build(spec(0, 256), &ds).unwrap();
        let train: Vec<Perturbation> = inst.split.train.iter().map(|&c| ds.condition(c).clone()).collect();
        assert!(train.len() >= 2);
        let means: Vec<Vec<f64>> = train.iter().map(|p| mean(&rows_of(&ds, p))).collect();
        let unweighted = mean(&means);
        let all_cells: Vec<Vec<f64>> = train.iter().flat_map(|p| rows_of(&ds, p)).collect();
        let weighted = mean(&all_cells);
        assert!(!close(&unweighted, &weighted), "fixture must tell weighted from unweighted");
        assert!(close(&inst.perturbed_mean.to_vec(), &unweighted), "{:?} vs {unweighted:?}", inst.perturbed_mean);
        // train_means follow split.train.
        assert_eq!(inst.train_means.len(), train.len());
        for ((p, m), (q, expected)) in inst.train_means.iter().zip(train.iter().zip(&means)) {
            assert_eq!(p, q);
            assert!(close(&m.to_vec(), expected));
        }
    }

    #[test]
    fn control_mean_uses_only_training_control_rows() {
        let ds = dataset(Scale::LogNormalized);
        let inst = TaskInstance::build(spec(0, 256), &ds).unwrap();
        let ctrl = rows_of(&ds, &Perturbation::control());
        let train_rows: Vec<Vec<f64>> = inst
            .split
            .control_train_rows
            .iter()
            .map(|&r| {
                assert!(ds.condition(ds.row_conditions()[r]).is_control(), "row {r} is not a control row");
                ds.expression().row(r).iter().map(|&v| f64::from(v)).collect()
            })
            .collect();
        let expected = mean(&train_rows);
        assert!(!close(&expected, &mean(&ctrl)), "fixture must tell train controls from all controls");
        assert!(close(&inst.control_mean.to_vec(), &expected));
    }

    #[test]
    fn start_rows_are_test_controls_capped_by_max_start_cells() {
        let ds = dataset(Scale::LogNormalized);
        let full = TaskInstance::build(spec(0, 256), &ds).unwrap();
        assert_eq!(full.start_rows, full.split.control_test_rows, "all test controls fit");
        assert_eq!(full.start_states().nrows(), full.start_rows.len());
        for max in [1usize, 2, 3] {
            let inst = TaskInstance::build(spec(0, max), &ds).unwrap();
            assert!(inst.split.control_test_rows.len() > max);
            assert_eq!(inst.start_rows.len(), max);
            assert!(inst.start_rows.iter().all(|r| inst.split.control_test_rows.contains(r)));
            assert!(inst.start_rows.iter().all(|r| !inst.split.control_train_rows.contains(r)));
            let states = inst.start_states();
            for (i, &r) in inst.start_rows.iter().enumerate() {
                assert_eq!(states.row(i), ds.expression().row(r));
            }
        }
    }

    #[test]
    fn log_fold_change_has_zero_control_and_a_single_zero_start_state() {
        let ds = dataset(Scale::LogFoldChange);
        let inst = TaskInstance::build(spec(0, 256), &ds).unwrap();
        assert!(inst.control_mean.iter().all(|&v| v == 0.0));
        assert_eq!(inst.control_mean.len(), N_GENES);
        let start = inst.start_states();
        assert_eq!(start.dim(), (1, N_GENES));
        assert!(start.iter().all(|&v| v == 0.0));
        // No control rows at all is fine on this scale.
        let no_ctrl_rows: Vec<usize> =
            (0..ds.n_rows()).filter(|&r| !ds.condition(ds.row_conditions()[r]).is_control()).collect();
        let labels = no_ctrl_rows.iter().map(|&r| ds.condition(ds.row_conditions()[r]).clone()).collect();
        let lfc = Dataset::new(
            "lfc",
            "",
            ds.genes.clone(),
            Scale::LogFoldChange,
            Observation::Pseudobulk,
            ds.select_rows(&no_ctrl_rows),
            labels,
        )
        .unwrap();
        let inst = TaskInstance::build(spec(0, 256), &lfc).unwrap();
        assert_eq!(inst.start_states().dim(), (1, N_GENES));
        assert!(inst.control_mean.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn log_normalized_without_controls_is_refused() {
        let ds = dataset(Scale::LogNormalized);
        let rows: Vec<usize> =
            (0..ds.n_rows()).filter(|&r| !ds.condition(ds.row_conditions()[r]).is_control()).collect();
        let labels = rows.iter().map(|&r| ds.condition(ds.row_conditions()[r]).clone()).collect();
        let no_ctrl = Dataset::new(
            "nc",
            "",
            ds.genes.clone(),
            Scale::LogNormalized,
            Observation::SingleCell,
            ds.select_rows(&rows),
            labels,
        )
        .unwrap();
        let err = TaskInstance::build(spec(0, 256), &no_ctrl).err().expect("must be refused").to_string();
        assert!(err.contains("control"), "{err}");
    }

    #[test]
    fn test_rows_truth_and_training_rows_are_consistent() {
        let ds = dataset(Scale::LogNormalized);
        let inst = TaskInstance::build(spec(0, 256), &ds).unwrap();
        let truths = inst.truth_means();
        for (k, t) in inst.test_conditions().iter().enumerate() {
            let p = ds.condition(t.condition);
            assert_eq!(inst.test_rows[k].len(), rows_of(&ds, p).len());
            assert!(close(&truths[k], &mean(&rows_of(&ds, p))));
        }
        let training: BTreeSet<usize> = inst.training_rows().into_iter().collect();
        for rows in &inst.test_rows {
            assert!(rows.iter().all(|r| !training.contains(r)), "a test row is in the training view");
        }
        assert!(inst.split.control_test_rows.iter().all(|r| !training.contains(r)));
        assert!(inst.split.control_train_rows.iter().all(|r| training.contains(r)));
    }

    #[test]
    fn split_sha256_is_stable_for_a_seed_and_changes_with_it() {
        let ds = dataset(Scale::LogNormalized);
        let a = TaskInstance::build(spec(3, 256), &ds).unwrap().split_sha256();
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(a, TaskInstance::build(spec(3, 256), &ds).unwrap().split_sha256());
        // max_start_cells does not change the split.
        assert_eq!(a, TaskInstance::build(spec(3, 1), &ds).unwrap().split_sha256());
        let hashes: BTreeSet<String> =
            (0..6).map(|s| TaskInstance::build(spec(s, 256), &ds).unwrap().split_sha256()).collect();
        assert!(hashes.len() > 1);
        for s in [0u64, 1, 2, 4] {
            let other = TaskInstance::build(spec(s, 256), &ds).unwrap();
            if other.split != TaskInstance::build(spec(3, 256), &ds).unwrap().split {
                assert_ne!(other.split_sha256(), a, "seed {s}");
            }
        }
    }
}
