//! The `Model` trait: one step of a world model, x' = M(x, a). Baselines, the ONNX runner and the
//! reference model all implement it; task runners only ever talk to this trait.

use ndarray::{Array1, Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::TaskError;
use crate::gene::GenePanel;
use crate::perturbation::Perturbation;

/// Where a scorecard row's predictions came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    Baseline,
    Onnx,
    Reference,
    Predictions,
    /// The split-half noise ceiling: real held-out cells, not a model.
    Ceiling,
}

impl ModelKind {
    /// The scorecard spelling (`baseline`, `onnx`, `reference`, `predictions`, `ceiling`).
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::Baseline => "baseline",
            ModelKind::Onnx => "onnx",
            ModelKind::Reference => "reference",
            ModelKind::Predictions => "predictions",
            ModelKind::Ceiling => "ceiling",
        }
    }
}

/// Start states and the perturbation applied to each (row i of `start` gets `perturbations[i]`).
#[derive(Debug, Clone, Copy)]
pub struct QueryBatch<'a> {
    pub genes: &'a GenePanel,
    pub start: ArrayView2<'a, f32>,
    pub perturbations: &'a [Perturbation],
    /// The start cells' protein levels (cross-modal tasks: same rows as `start`, proteins in the
    /// task's protein order); `None` where the task has no proteins.
    pub start_protein: Option<ArrayView2<'a, f32>>,
}

impl<'a> QueryBatch<'a> {
    /// An RNA-only query.
    pub fn new(genes: &'a GenePanel, start: ArrayView2<'a, f32>, perturbations: &'a [Perturbation]) -> Self {
        Self { genes, start, perturbations, start_protein: None }
    }
}

/// One adaptation example of a few-shot task: a perturbation observed in the new context, with
/// its cells (rows, genes in the task's order).
#[derive(Debug, Clone)]
pub struct AdaptationExample {
    pub perturbation: Perturbation,
    pub cells: Array2<f32>,
}

/// What a model may adapt on in a context it never saw in training (few-shot tasks): the new
/// context's control cells and k perturbed examples (k = `examples.len()`, possibly 0). The
/// scored test perturbations are never among the examples.
#[derive(Debug, Clone)]
pub struct AdaptationSet<'a> {
    pub genes: &'a GenePanel,
    /// Name of the new context (e.g. `B`, `rep_3`).
    pub context: &'a str,
    pub controls: Array2<f32>,
    pub examples: Vec<AdaptationExample>,
}

/// One shot as a one-step transition x → x' under a perturbation: what a model that reads its
/// shots as data sees (the ONNX context inputs, the reference model's fine-tuning targets).
#[derive(Debug, Clone)]
pub struct Shot<'s> {
    /// The state the shot was measured from: the mean of the new context's adaptation controls.
    pub start: Array1<f32>,
    pub perturbation: &'s Perturbation,
    /// The measured perturbed state: the mean of the shot's cells.
    pub next: Array1<f32>,
}

impl AdaptationSet<'_> {
    /// Mean of the adaptation control cells (f64 accumulation), genes in the task's order.
    pub fn control_mean(&self) -> Array1<f32> {
        let rows: Vec<usize> = (0..self.controls.nrows()).collect();
        crate::dataset::mean_rows(&self.controls, &rows).mapv(|v| v as f32)
    }

    /// The k shots as one-step transitions, in shot order (empty for k = 0): start = the
    /// adaptation controls' mean, next = the mean of the shot's cells.
    pub fn shots(&self) -> Vec<Shot<'_>> {
        let start = self.control_mean();
        self.examples
            .iter()
            .map(|e| {
                let rows: Vec<usize> = (0..e.cells.nrows()).collect();
                let next = crate::dataset::mean_rows(&e.cells, &rows).mapv(|v| v as f32);
                Shot { start: start.clone(), perturbation: &e.perturbation, next }
            })
            .collect()
    }
}

pub trait Model: Send + Sync {
    /// Display name (e.g. `additive`, `my_model.onnx`).
    fn name(&self) -> &str;
    fn kind(&self) -> ModelKind;
    /// sha256 identifying exactly this model: the file's hash, or the hash of a baseline's
    /// name and fitted parameters.
    fn fingerprint(&self) -> String;
    /// Predicted next states, one row per query row, genes in `batch.genes` order.
    fn predict(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError>;

    /// Predicted next protein levels (cross-modal tasks), one row per query row, proteins in the
    /// task's protein order; `None` for models without a protein head.
    fn predict_protein(&self, _batch: &QueryBatch<'_>) -> Result<Option<Array2<f32>>, TaskError> {
        Ok(None)
    }

    /// A copy of this model adapted to a new context (few-shot tasks); `None` (the default) when
    /// the model does not adapt, and the unadapted model answers for every k.
    fn adapt(&self, _set: &AdaptationSet<'_>) -> Result<Option<Box<dyn Model>>, TaskError> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::ModelKind;

    /// A shot is (adaptation-control mean, its perturbation, the mean of its cells), in shot order.
    #[test]
    fn shots_are_one_step_transitions_from_the_control_mean() {
        use super::{AdaptationExample, AdaptationSet};
        use crate::{Direction, GenePanel, Perturbation};
        use ndarray::array;
        let genes = GenePanel::new(vec!["a".into(), "b".into()]).unwrap();
        let kd = |g: &str| Perturbation::from_genes([(g.to_string(), Direction::Knockdown)]);
        let set = AdaptationSet {
            genes: &genes,
            context: "B",
            controls: array![[1.0, 2.0], [3.0, 4.0]],
            examples: vec![
                AdaptationExample { perturbation: kd("b"), cells: array![[2.0, 0.0], [2.0, 1.0], [2.0, 2.0]] },
                AdaptationExample { perturbation: kd("a"), cells: array![[0.5, 3.0]] },
            ],
        };
        let shots = set.shots();
        assert_eq!(shots.len(), 2);
        assert!(shots.iter().all(|s| s.start == array![2.0, 3.0]));
        assert_eq!((shots[0].perturbation, &shots[0].next), (&kd("b"), &array![2.0, 1.0]));
        assert_eq!((shots[1].perturbation, &shots[1].next), (&kd("a"), &array![0.5, 3.0]));
        assert!(AdaptationSet { examples: Vec::new(), ..set }.shots().is_empty());
    }

    /// `as_str` is the spelling the scorecard's JSON uses (serde's kebab-case), for every kind.
    #[test]
    fn model_kind_names_match_the_scorecard_spelling() {
        use ModelKind::*;
        for kind in [Baseline, Onnx, Reference, Predictions, Ceiling] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str(), "{kind:?}");
        }
    }
}
