//! Proteins of the panel genes, translated from mRNA with a lag and decaying slowly:
//!
//! p_{t+1} = (1 − δ) p_t + β_k · c_k · x_{g_k, t − lag}
//!
//! for panel protein k of gene g_k, δ the protein decay, β_k = δ · s_k / basal_{g_k} (so the
//! nominal control cell has protein level s_k, drawn around `mean_protein_counts`), and c_k the
//! cell's translation factor. [`ProteinState`] keeps the mRNA of the last `lag + 1` steps.

use std::collections::VecDeque;

use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::config::SimConfig;
use super::dynamics::{CellParams, Dynamics};
use super::rng::{Domain, stream};

/// Log-normal sd of the nominal protein abundance across the panel.
const ABUNDANCE_LOG_SD: f64 = 0.5;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProteinModel {
    /// Protein names (the gene names of the panel).
    pub names: Vec<String>,
    /// Gene index of each protein.
    pub genes: Vec<usize>,
    pub decay: f64,
    pub lag: usize,
    /// Translation rate β per protein.
    pub beta: Vec<f64>,
}

/// Protein levels and the recent mRNA of the panel genes (oldest first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProteinState {
    pub level: Vec<f64>,
    history: VecDeque<Vec<f64>>,
}

impl ProteinModel {
    /// The panel is genes `0..config.n_proteins`; abundances drawn from the seed (`Kinetics` stream 1).
    pub fn new(dynamics: &Dynamics, config: &SimConfig) -> Self {
        let mut rng = stream(config.seed, Domain::Kinetics, 1);
        let genes: Vec<usize> = (0..config.n_proteins).collect();
        let beta = genes
            .iter()
            .map(|&g| {
                let z: f64 = StandardNormal.sample(&mut rng);
                let abundance = config.mean_protein_counts * (ABUNDANCE_LOG_SD * z).exp();
                config.protein_decay * abundance / dynamics.basal[g]
            })
            .collect();
        Self {
            names: genes.iter().map(|&g| dynamics.genes[g].clone()).collect(),
            genes,
            decay: config.protein_decay,
            lag: config.protein_lag,
            beta,
        }
    }

    pub fn len(&self) -> usize {
        self.genes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.genes.is_empty()
    }

    fn panel(&self, x: &[f64]) -> Vec<f64> {
        self.genes.iter().map(|&g| x[g]).collect()
    }

    /// The protein steady state of a cell whose mRNA has been `x` for ever.
    pub fn steady_state(&self, x: &[f64], cell: &CellParams) -> ProteinState {
        let panel = self.panel(x);
        let level =
            panel.iter().enumerate().map(|(k, xk)| self.beta[k] * cell.translation[k] * xk / self.decay).collect();
        ProteinState { level, history: std::iter::repeat_n(panel, self.lag + 1).collect() }
    }

    /// Advances proteins by one step, `x` being the mRNA at the current time t.
    pub fn step(&self, state: &mut ProteinState, x: &[f64], cell: &CellParams) {
        state.history.push_back(self.panel(x));
        while state.history.len() > self.lag + 1 {
            state.history.pop_front();
        }
        let lagged = state.history.front().expect("history is never empty");
        for (k, level) in state.level.iter_mut().enumerate() {
            *level = (1.0 - self.decay) * *level + self.beta[k] * cell.translation[k] * lagged[k];
        }
    }
}
