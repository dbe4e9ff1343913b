//! The full true model of a cell: mRNA dynamics plus the protein panel. [`World::advance`] is the
//! ground truth of one model step x' = M(x, a) when called with `steps_per_action` steps.

use serde::{Deserialize, Serialize};
use tasks::Perturbation;

use rand_distr::{Distribution, StandardNormal};

use super::config::SimConfig;
use super::dynamics::{CellParams, Dynamics};
use super::grn::Grn;
use super::protein::{ProteinModel, ProteinState};
use super::rng::{Domain, stream};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct World {
    pub dynamics: Dynamics,
    pub proteins: ProteinModel,
    pub steps_to_steady: usize,
    pub steps_per_action: usize,
}

/// A cell's full state: mRNA levels and proteins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellState {
    pub mrna: Vec<f64>,
    pub protein: ProteinState,
}

impl World {
    /// The true model of `dynamics`, with the protein panel and step counts of `config`.
    pub fn new(dynamics: Dynamics, config: &SimConfig) -> Self {
        let proteins = ProteinModel::new(&dynamics, config);
        Self { dynamics, proteins, steps_to_steady: config.steps_to_steady, steps_per_action: config.steps_per_action }
    }

    pub fn nominal_cell(&self) -> CellParams {
        self.dynamics.nominal_cell(self.proteins.len())
    }

    /// The common start (nominal control steady state of mRNA and proteins) run for
    /// `steps_to_steady` control steps with this cell's kinetics.
    pub fn steady_state(&self, cell: &CellParams) -> CellState {
        let x0 = self.dynamics.initial_state();
        let nominal = self.nominal_cell();
        let mut state = CellState { protein: self.proteins.steady_state(&x0, &nominal), mrna: x0 };
        self.advance(&mut state, &Perturbation::control(), self.steps_to_steady, cell);
        state
    }

    /// Applies `action` for `steps` steps (mRNA and proteins from the same time-t state).
    pub fn advance(&self, state: &mut CellState, action: &Perturbation, steps: usize, cell: &CellParams) {
        let m = self.dynamics.multipliers(action);
        for _ in 0..steps {
            self.proteins.step(&mut state.protein, &state.mrna, cell);
            state.mrna = self.dynamics.step_with(&state.mrna, &m, cell);
        }
    }

    /// The true model of the second context (few-shot tasks): `grn` rewired
    /// (`context_rewire_fraction`), each gene's basal production times a log-normal factor
    /// (`context_basal_log_sd`, stream (`seed`, `Kinetics`, 2)), decay rates and the protein panel
    /// as in this world.
    pub fn second_context(&self, grn: &Grn, config: &SimConfig) -> (Grn, World) {
        let rewired = grn.rewired(config.context_rewire_fraction, config.seed);
        let mut rng = stream(config.seed, Domain::Kinetics, 2);
        let basal = self
            .dynamics
            .basal
            .iter()
            .map(|b| {
                let z: f64 = StandardNormal.sample(&mut rng);
                b * (config.context_basal_log_sd * z).exp()
            })
            .collect();
        let d = &self.dynamics;
        let dynamics = Dynamics::from_parts(
            &rewired,
            basal,
            d.decay.clone(),
            d.knockdown_factor,
            d.activation_factor,
            d.kinetic_log_sd,
        );
        let dynamics = dynamics.with_cooperativity(d.cooperativity);
        (rewired, World::new(dynamics, config))
    }

    /// Applies `action` for `steps_per_action` steps: one step of the world model.
    pub fn act(&self, state: &mut CellState, action: &Perturbation, cell: &CellParams) {
        self.advance(state, action, self.steps_per_action, cell);
    }
}
