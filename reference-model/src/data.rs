//! Plain training inputs: gene names, start states, target means and the per-gene feature table.
//! The arena builds them from a task's training view; nothing here reads files.

use std::collections::HashMap;

use ndarray::{Array1, Array2};
use tasks::Perturbation;

use crate::error::ReferenceError;

/// Per-gene features of every gene that can be perturbed. `prior` comes from knowledge that exists
/// for any gene (co-expression in training controls, the CollecTRI graph, how the gene responds
/// across training perturbations); `observed` summarises the gene's own training single effect and
/// is zero for a gene never perturbed in training. `effects` holds the observed training single
/// effects themselves (mean − centre over the expression genes) of the genes `effect_genes`: the
/// model's additive path, gated by the action embedding.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureTable {
    pub genes: Vec<String>,
    pub prior: Array2<f32>,
    pub observed: Array2<f32>,
    pub effect_genes: Vec<String>,
    pub effects: Array2<f32>,
}

impl FeatureTable {
    pub fn validate(&self) -> Result<(), ReferenceError> {
        let t = self.genes.len();
        if self.prior.nrows() != t || self.observed.nrows() != t {
            return Err(ReferenceError::InvalidData(format!(
                "the feature table has {t} genes but {} prior and {} observed rows",
                self.prior.nrows(),
                self.observed.nrows()
            )));
        }
        if self.effects.nrows() != self.effect_genes.len() {
            return Err(ReferenceError::InvalidData("one observed effect row per effect gene is needed".into()));
        }
        if self.prior.iter().chain(self.observed.iter()).chain(self.effects.iter()).any(|v| !v.is_finite()) {
            return Err(ReferenceError::InvalidData("the feature table has non-finite values".into()));
        }
        Ok(())
    }

    pub fn index(&self) -> HashMap<&str, usize> {
        self.genes.iter().enumerate().map(|(i, g)| (g.as_str(), i)).collect()
    }
}

/// Mean state observed after each action of a sequence applied from the start states.
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceTarget {
    pub actions: Vec<Perturbation>,
    /// `means[k]`: mean of the cells observed after actions `0..=k`.
    pub means: Vec<Array1<f32>>,
}

/// What the model is fitted on. A cell's state is its expression genes followed by its proteins
/// (when the task measures them): every matrix below has `genes.len() + proteins.len()` columns.
#[derive(Debug, Clone)]
pub struct TrainingSet {
    /// Expression genes, in the order of the first state columns.
    pub genes: Vec<String>,
    /// Proteins, in the order of the last state columns; empty for an RNA-only model.
    pub proteins: Vec<String>,
    pub features: FeatureTable,
    /// Start states (training control cells; one zero row for log-fold-change data).
    pub starts: Array2<f32>,
    /// One-step targets: the mean state after the perturbation.
    pub conditions: Vec<(Perturbation, Array1<f32>)>,
    /// Multi-step targets (rolled out from the start states).
    pub sequences: Vec<SequenceTarget>,
}

impl TrainingSet {
    /// Columns of a state: genes, then proteins.
    pub fn n_state(&self) -> usize {
        self.genes.len() + self.proteins.len()
    }

    pub fn validate(&self) -> Result<(), ReferenceError> {
        let n = self.n_state();
        let bad = |m: String| Err(ReferenceError::InvalidData(m));
        self.features.validate()?;
        if self.starts.nrows() == 0 || self.starts.ncols() != n {
            return bad(format!(
                "start states are {:?}; expected at least one row of {n} columns (genes, then proteins)",
                self.starts.dim()
            ));
        }
        if self.conditions.is_empty() && self.sequences.is_empty() {
            return bad("no training conditions".into());
        }
        let wrong = self
            .conditions
            .iter()
            .map(|(_, m)| m.len())
            .chain(self.sequences.iter().flat_map(|s| s.means.iter().map(Array1::len)));
        if wrong.clone().any(|len| len != n) {
            return bad(format!("a target mean does not have {n} columns (genes, then proteins)"));
        }
        if self.sequences.iter().any(|s| s.actions.len() != s.means.len() || s.actions.is_empty()) {
            return bad("a sequence needs one target mean per action".into());
        }
        if self.features.effects.ncols() != n {
            return bad(format!("the observed effects have {} columns, the state {n}", self.features.effects.ncols()));
        }
        Ok(())
    }

    /// Mean of the start states: the centre of the model's normalised space.
    pub fn centre(&self) -> Array1<f32> {
        self.starts.mean_axis(ndarray::Axis(0)).unwrap_or_else(|| Array1::zeros(self.n_state()))
    }

    /// Root mean square of the training effects (target − centre) over the expression genes:
    /// the model's unit of change.
    pub fn effect_scale(&self) -> f32 {
        let rms = self.effect_rms(0..self.genes.len()) as f32;
        if rms.is_finite() && rms > 1e-6 { rms } else { 1.0 }
    }

    /// What the protein columns are multiplied by (before the common scale), so that their
    /// training effects have the expression genes' root mean square and weigh alike in the loss;
    /// 1 without proteins or without protein effects.
    pub fn protein_factor(&self) -> f32 {
        let rna = self.effect_rms(0..self.genes.len());
        let protein = self.effect_rms(self.genes.len()..self.n_state());
        let f = (rna / protein) as f32;
        if self.proteins.is_empty() || !f.is_finite() || protein < 1e-9 { 1.0 } else { f }
    }

    /// Root mean square of target − centre over the state columns `cols` of every target.
    fn effect_rms(&self, cols: std::ops::Range<usize>) -> f64 {
        let c = self.centre();
        let targets = self.conditions.iter().map(|(_, m)| m).chain(self.sequences.iter().flat_map(|s| &s.means));
        let (mut sum, mut count) = (0.0f64, 0usize);
        for m in targets {
            sum += cols.clone().map(|j| f64::from(m[j] - c[j]).powi(2)).sum::<f64>();
            count += cols.len();
        }
        (sum / count.max(1) as f64).sqrt()
    }
}
