//! The true mRNA dynamics x_{t+1} = f(x_t, a_t) of one cell (noise-free, discrete time):
//!
//! x_g' = (1 − γ_g) x_g + γ_g · P_g · m_g(a) · h(u_g),   u_g = Σ_j w_gj · ln(x_j / ref_j)
//!
//! with γ_g the cell's decay rate, P_g its basal production, w the GRN weights, ref_j the gene's
//! nominal control level (= its nominal basal production, so the nominal control cell sits exactly
//! at x = basal), and h a saturating response, h(u) = H / (1 + (H − 1) e^(−u)) with
//! H = [`HILL_MAX`]: h(0) = 1, h → 0 under full repression, h → H under full activation. The
//! saturation makes combined perturbations close to, but not exactly, additive in log space.
//! m_g(a) is `knockdown_factor` or `activation_factor` when the action targets g, 1 otherwise.
//! With `cooperativity` c > 0, u_g also has the pairwise term c · Σ_{j<k} w_gj w_gk l_j l_k
//! (l_j = ln(x_j / ref_j)), computed as c/2 · ((Σ w l)² − Σ (w l)²): genetic interactions that
//! the log-space sum of two singles misses.
//! Per-cell kinetic variation lives in [`CellParams`]. States are strictly positive.

use std::collections::HashMap;

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use tasks::{Direction, Perturbation};

use super::SimError;
use super::config::SimConfig;
use super::grn::Grn;
use super::rng::{Domain, stream};

/// Maximum fold up-regulation a gene's inputs can cause (h's upper asymptote).
pub const HILL_MAX: f64 = 3.0;
/// Per-cell decay rates are clamped below this so the update stays a convex combination.
const MAX_DECAY: f64 = 0.9;

/// The saturating response h(u) (h(0) = 1).
pub fn hill(u: f64) -> f64 {
    HILL_MAX / (1.0 + (HILL_MAX - 1.0) * (-u).exp())
}

/// One cell's kinetic rates (the gene's nominal rates times log-normal cell-to-cell factors).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellParams {
    /// Basal production P_g.
    pub production: Vec<f64>,
    /// mRNA decay γ_g per step.
    pub decay: Vec<f64>,
    /// Translation multiplier of each panel protein (1 in the nominal cell).
    pub translation: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dynamics {
    pub genes: Vec<String>,
    /// Nominal basal production per gene; also the reference level ref_g.
    pub basal: Vec<f64>,
    /// Nominal decay per gene.
    pub decay: Vec<f64>,
    /// Incoming edges of each gene: (regulator index, weight).
    pub inputs: Vec<Vec<(usize, f64)>>,
    pub knockdown_factor: f64,
    pub activation_factor: f64,
    /// Log-normal sd of per-cell kinetic factors.
    pub kinetic_log_sd: f64,
    /// Pairwise cooperativity c of a gene's regulators (0: none).
    #[serde(default)]
    pub cooperativity: f64,
    #[serde(skip)]
    index: HashMap<String, usize>,
}

impl Dynamics {
    /// Draws the nominal kinetics of every gene from `config.seed` (domain `Kinetics`).
    pub fn new(grn: &Grn, config: &SimConfig) -> Self {
        let mut rng = stream(config.seed, Domain::Kinetics, 0);
        let n = grn.n_genes();
        let (lo, hi) = config.decay_range;
        let mut basal = Vec::with_capacity(n);
        let mut decay = Vec::with_capacity(n);
        for _ in 0..n {
            let z: f64 = StandardNormal.sample(&mut rng);
            basal.push((config.basal_log_sd * z).exp());
            let u: f64 = rand::RngExt::random(&mut rng);
            decay.push(lo + (hi - lo) * u);
        }
        let dynamics = Self::from_parts(
            grn,
            basal,
            decay,
            config.knockdown_factor,
            config.activation_factor,
            config.kinetic_log_sd,
        );
        dynamics.with_cooperativity(config.cooperativity)
    }

    /// These dynamics with the pairwise cooperativity `c` of the regulators (0: none).
    pub fn with_cooperativity(self, c: f64) -> Self {
        Self { cooperativity: c, ..self }
    }

    pub fn from_parts(
        grn: &Grn,
        basal: Vec<f64>,
        decay: Vec<f64>,
        knockdown_factor: f64,
        activation_factor: f64,
        kinetic_log_sd: f64,
    ) -> Self {
        let index = grn.genes.iter().enumerate().map(|(i, g)| (g.clone(), i)).collect();
        Self {
            genes: grn.genes.clone(),
            basal,
            decay,
            inputs: grn.input_lists(),
            knockdown_factor,
            activation_factor,
            kinetic_log_sd,
            cooperativity: 0.0,
            index,
        }
    }

    pub fn n_genes(&self) -> usize {
        self.genes.len()
    }

    pub fn index_of(&self, gene: &str) -> Option<usize> {
        if self.index.is_empty() && !self.genes.is_empty() {
            // deserialized without the index
            return self.genes.iter().position(|g| g == gene);
        }
        self.index.get(gene).copied()
    }

    /// The common starting state of every cell: the nominal control steady state (= basal).
    pub fn initial_state(&self) -> Vec<f64> {
        self.basal.clone()
    }

    /// The nominal cell (no cell-to-cell variation); `n_proteins` translation factors of 1.
    pub fn nominal_cell(&self, n_proteins: usize) -> CellParams {
        CellParams { production: self.basal.clone(), decay: self.decay.clone(), translation: vec![1.0; n_proteins] }
    }

    /// A cell with log-normal variation (sd `kinetic_log_sd`) on every rate.
    pub fn sample_cell<R: Rng + ?Sized>(&self, rng: &mut R, n_proteins: usize) -> CellParams {
        let sd = self.kinetic_log_sd;
        let mut factor = || {
            let z: f64 = StandardNormal.sample(rng);
            (sd * z).exp()
        };
        let production = self.basal.iter().map(|b| b * factor()).collect();
        let decay = self.decay.iter().map(|d| (d * factor()).min(MAX_DECAY)).collect();
        let translation = (0..n_proteins).map(|_| factor()).collect();
        CellParams { production, decay, translation }
    }

    /// Genes of `action` that are not in the network.
    pub fn unknown_genes(&self, action: &Perturbation) -> Vec<String> {
        action.genes().filter(|g| self.index_of(g).is_none()).map(str::to_string).collect()
    }

    /// The production multipliers m(a). Genes absent from the network have no effect (the
    /// simulated cell does not have them); use [`Dynamics::checked_multipliers`] to refuse them.
    pub fn multipliers(&self, action: &Perturbation) -> Vec<f64> {
        let mut m = vec![1.0; self.n_genes()];
        for (gene, direction) in action.targets() {
            if let Some(i) = self.index_of(gene) {
                m[i] = match direction {
                    Direction::Knockdown => self.knockdown_factor,
                    Direction::Activation => self.activation_factor,
                };
            }
        }
        m
    }

    pub fn checked_multipliers(&self, action: &Perturbation) -> Result<Vec<f64>, SimError> {
        let unknown = self.unknown_genes(action);
        if !unknown.is_empty() {
            return Err(SimError::UnknownGenes { label: action.label(), genes: unknown });
        }
        Ok(self.multipliers(action))
    }

    /// One step of the true dynamics under `action`.
    pub fn step(&self, x: &[f64], action: &Perturbation, cell: &CellParams) -> Vec<f64> {
        self.step_with(x, &self.multipliers(action), cell)
    }

    /// One step with precomputed multipliers (see [`Dynamics::multipliers`]).
    pub fn step_with(&self, x: &[f64], multipliers: &[f64], cell: &CellParams) -> Vec<f64> {
        assert_eq!(x.len(), self.n_genes(), "state has {} genes, the network {}", x.len(), self.n_genes());
        // Only regulators' log ratios are read (a few hundred of ~18k genes at VCC scale, and the
        // logarithm was most of a step's time): each is computed once, when first needed.
        let mut log_ratio = vec![f64::NAN; x.len()];
        for inputs in &self.inputs {
            for &(j, _) in inputs {
                if log_ratio[j].is_nan() {
                    log_ratio[j] = (x[j].max(1e-300) / self.basal[j]).ln();
                }
            }
        }
        (0..self.n_genes())
            .map(|g| {
                let u = self.input(g, &log_ratio);
                let target = cell.production[g] * multipliers[g] * hill(u);
                let gamma = cell.decay[g];
                (1.0 - gamma) * x[g] + gamma * target
            })
            .collect()
    }

    /// u_g: the weighted sum of the regulators' log ratios, plus the pairwise cooperativity term.
    fn input(&self, g: usize, log_ratio: &[f64]) -> f64 {
        let first: f64 = self.inputs[g].iter().map(|&(j, w)| w * log_ratio[j]).sum();
        if self.cooperativity == 0.0 {
            return first;
        }
        let squares: f64 = self.inputs[g].iter().map(|&(j, w)| (w * log_ratio[j]).powi(2)).sum();
        first + 0.5 * self.cooperativity * (first * first - squares)
    }

    /// `steps` steps under a constant action; returns the `steps + 1` states, `x0` first.
    pub fn rollout(&self, x0: &[f64], action: &Perturbation, steps: usize, cell: &CellParams) -> Vec<Vec<f64>> {
        let m = self.multipliers(action);
        let mut states = Vec::with_capacity(steps + 1);
        states.push(x0.to_vec());
        for t in 0..steps {
            let next = self.step_with(&states[t], &m, cell);
            states.push(next);
        }
        states
    }

    /// The state after `steps` control steps from [`Dynamics::initial_state`].
    pub fn steady_state(&self, cell: &CellParams, steps: usize) -> Vec<f64> {
        let m = vec![1.0; self.n_genes()];
        let mut x = self.initial_state();
        for _ in 0..steps {
            x = self.step_with(&x, &m, cell);
        }
        x
    }
}
