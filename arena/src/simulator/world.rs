//! The full true model of a cell: mRNA dynamics plus the protein panel. [`World::advance`] is the
//! ground truth of one model step x' = M(x, a) when called with `steps_per_action` steps.

use serde::{Deserialize, Serialize};
use tasks::Perturbation;

use super::dynamics::{CellParams, Dynamics};
use super::protein::{ProteinModel, ProteinState};

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

    /// Applies `action` for `steps_per_action` steps: one step of the world model.
    pub fn act(&self, state: &mut CellState, action: &Perturbation, cell: &CellParams) {
        self.advance(state, action, self.steps_per_action, cell);
    }
}
