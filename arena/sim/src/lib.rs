//! Mechanistic single-cell perturbation simulator with known ground truth (`arena simulate`, and
//! the embedded default dataset of `arena eval`): a sparse signed GRN (`grn.rs`), discrete-time
//! mRNA dynamics under knockdown/activation (`dynamics.rs`), lagged proteins (`protein.rs`), both
//! combined in `world.rs`, negative-binomial counts (`noise.rs`), deterministic random streams
//! (`rng.rs`), the settings (`config.rs`) and the experimental design (`plan.rs`: which
//! conditions, how many cells); `drugs.rs` is the drug mode (compounds at doses, Hill
//! responses). This file owns [`simulate`] and the [`Simulation`] output (the whole dataset in
//! memory); `stream.rs` writes the same dataset to an `.h5ad` a block at a time.
//!
//! Every observed cell is its own lineage with its own kinetic variation and library size: it
//! starts at the common nominal steady state, runs `steps_to_steady` control steps, then its
//! action for `steps_per_action` steps, and is observed (`step` 1; controls run the control
//! action and are `step` 0). A sequence lineage `a1>a2` is observed after a1 (`step` 1, sequence
//! label `a1`) and again after a further `steps_per_action` steps of a2 alone (`step` 2, sequence
//! label `a1>a2`); both observations share the lineage's `trajectory` id. Doubles apply both
//! genes at once. Output rows are in lineage order: controls, singles, doubles, sequences.
//!
//! Determinism: lineage i draws only from `rng::stream(cell seed, Cell, i)` (the cell seed is
//! `SimConfig::cell_stream_seed`: the master seed unless `cell_seed` is set), so the output is
//! bit-identical for any number of threads.

pub mod config;
pub mod contexts;
pub mod drugs;
pub mod dynamics;
pub mod export;
pub mod grn;
pub mod interactions;
pub mod load;
pub mod many_sequences;
pub mod noise;
pub mod oracle;
pub mod plan;
pub mod prior_mismatch;
pub mod protein;
pub mod rng;
pub mod stream;
pub mod world;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use ndarray::{Array1, Array2};
use tasks::{Direction, Perturbation};

pub use config::{GrnSource, SimConfig};
pub use dynamics::{CellParams, Dynamics};
pub use grn::{Edge, Grn};
pub use plan::{Observation, Plan, RowLabel};
pub use prior_mismatch::PriorMismatch;
pub use protein::{ProteinModel, ProteinState};
pub use world::{CellState, World};

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("invalid simulator configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Network(#[from] arena_data::DataError),
    /// Writing the output file failed (the error names it).
    #[error(transparent)]
    Output(arena_data::DataError),
    #[error("perturbation '{label}' targets genes not in the network: {}", genes.join(", "))]
    UnknownGenes { label: String, genes: Vec<String> },
}

/// The simulated dataset plus its ground truth.
#[derive(Debug, Clone)]
pub struct Simulation {
    pub config: SimConfig,
    pub grn: Grn,
    /// The true model (dynamics + proteins): what a world model must learn.
    pub world: World,
    pub genes: Vec<String>,
    pub proteins: Vec<String>,
    /// Raw UMI counts, cells x genes (non-negative integers stored as f32).
    pub counts: Array2<f32>,
    /// Raw ADT counts, cells x proteins.
    pub protein_counts: Array2<f32>,
    /// Noise-free mRNA state of each observed cell (cells x genes).
    pub true_expression: Array2<f32>,
    /// Noise-free protein level of each observed cell (cells x proteins).
    pub true_protein: Array2<f32>,
    /// The action applied just before each observation (control for controls).
    pub perturbation: Vec<Perturbation>,
    /// Action history of each observation: `ctrl`, `A`, `A+B`, `A>B`.
    pub sequence: Vec<String>,
    /// Number of actions applied: 0 control, 1 after one action, k after a sequence's k-th.
    pub step: Vec<u32>,
    /// Lineage id; the observations of a sequence lineage share it.
    pub trajectory: Vec<u32>,
    /// The design: single, double and sequence conditions.
    pub singles: Vec<Perturbation>,
    pub doubles: Vec<Perturbation>,
    /// Ordered action sequences (2..=max_sequence_length actions each).
    pub sequences: Vec<Vec<Perturbation>>,
    /// Context of each observation: 0 (`A`, the default world), 1 (`B`, [`Simulation::context_world`]).
    pub context: Vec<u32>,
    /// The second context's network and true model, when `context_rewire_fraction` > 0.
    pub context_world: Option<(Grn, World)>,
}

/// Names of the simulator's contexts (index = [`Simulation::context`] value).
pub const CONTEXT_NAMES: [&str; 2] = ["A", "B"];

/// The label of a sequence of actions, `A>B`.
pub fn sequence_label(actions: &[Perturbation]) -> String {
    if actions.is_empty() {
        return "ctrl".into();
    }
    actions.iter().map(Perturbation::label).collect::<Vec<_>>().join(">")
}

/// Builds the network and the true model of `config` (no cells).
pub fn build_world(config: &SimConfig) -> Result<(Grn, World), SimError> {
    config.validate()?;
    let grn = match &config.grn {
        GrnSource::Random => Grn::random(
            config.n_genes,
            config.n_regulators,
            config.regulators_per_gene,
            config.repressing_fraction,
            config.seed,
        )?,
        GrnSource::Collectri(path) => Grn::from_collectri_mismatched(
            path,
            config.n_genes,
            config.n_regulators,
            &config.prior_mismatch,
            config.seed,
        )?,
    };
    let world = World::new(Dynamics::new(&grn, config), config);
    Ok((grn, world))
}

/// Rows simulated at a time by [`simulate`] (bounds the per-cell f64 states held at once).
const BLOCK_CELLS: usize = 4096;

/// Simulates the dataset of `config` (deterministic in `config`, whatever the thread count).
pub fn simulate(config: &SimConfig) -> Result<Simulation, SimError> {
    let plan = Plan::new(config)?;
    let (n, g, p) = (plan.n_cells(), plan.grn.n_genes(), plan.world.proteins.len());
    let mut counts = Array2::<f32>::zeros((n, g));
    let mut protein_counts = Array2::<f32>::zeros((n, p));
    let mut true_expression = Array2::<f32>::zeros((n, g));
    let mut true_protein = Array2::<f32>::zeros((n, p));
    let mut perturbation = Vec::with_capacity(n);
    let mut sequence = Vec::with_capacity(n);
    let mut step = Vec::with_capacity(n);
    let mut trajectory = Vec::with_capacity(n);
    let mut context = Vec::with_capacity(n);
    let mut i = 0;
    for block in plan.blocks(BLOCK_CELLS) {
        for o in plan.observe(block, |o| o) {
            counts.row_mut(i).assign(&Array1::from(o.counts));
            protein_counts.row_mut(i).assign(&Array1::from(o.protein_counts));
            true_expression.row_mut(i).iter_mut().zip(&o.mrna).for_each(|(d, s)| *d = *s as f32);
            true_protein.row_mut(i).iter_mut().zip(&o.protein).for_each(|(d, s)| *d = *s as f32);
            perturbation.push(o.label.perturbation);
            sequence.push(o.label.sequence);
            step.push(o.label.step);
            trajectory.push(o.label.trajectory);
            context.push(o.label.context);
            i += 1;
        }
    }
    let Plan { grn, world, singles, doubles, sequences, context_world, .. } = plan;
    Ok(Simulation {
        config: config.clone(),
        genes: grn.genes.clone(),
        proteins: world.proteins.names.clone(),
        grn,
        world,
        counts,
        protein_counts,
        true_expression,
        true_protein,
        perturbation,
        sequence,
        step,
        trajectory,
        singles,
        doubles,
        sequences,
        context,
        context_world,
    })
}

impl Simulation {
    pub fn n_cells(&self) -> usize {
        self.counts.nrows()
    }

    /// The observations of one context (rows in order), as a one-context simulation of that
    /// context's true model; the design lists are kept.
    pub fn select_context(&self, context: u32) -> Simulation {
        let rows: Vec<usize> = (0..self.n_cells()).filter(|&r| self.context[r] == context).collect();
        let pick = |m: &Array2<f32>| m.select(ndarray::Axis(0), &rows);
        let (grn, world) = match (&self.context_world, context) {
            (Some(b), 1) => b.clone(),
            _ => (self.grn.clone(), self.world.clone()),
        };
        Simulation {
            config: self.config.clone(),
            grn,
            world,
            genes: self.genes.clone(),
            proteins: self.proteins.clone(),
            counts: pick(&self.counts),
            protein_counts: pick(&self.protein_counts),
            true_expression: pick(&self.true_expression),
            true_protein: pick(&self.true_protein),
            perturbation: rows.iter().map(|&r| self.perturbation[r].clone()).collect(),
            sequence: rows.iter().map(|&r| self.sequence[r].clone()).collect(),
            step: rows.iter().map(|&r| self.step[r]).collect(),
            trajectory: rows.iter().map(|&r| self.trajectory[r]).collect(),
            singles: self.singles.clone(),
            doubles: self.doubles.clone(),
            sequences: if context == 0 { self.sequences.clone() } else { Vec::new() },
            context: vec![context; rows.len()],
            context_world: None,
        }
    }

    /// Rows of each sequence label (`ctrl`, `A`, `A+B`, `A>B`), sorted by label. Step-1 cells of
    /// sequence lineages share their label with the single of the same action (same distribution).
    pub fn rows_by_sequence(&self) -> BTreeMap<String, Vec<usize>> {
        let mut map: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, s) in self.sequence.iter().enumerate() {
            map.entry(s.clone()).or_default().push(i);
        }
        map
    }

    /// Ground truth per condition: the mean noise-free mRNA state of its cells (keyed as
    /// [`Simulation::rows_by_sequence`]).
    pub fn true_condition_means(&self) -> BTreeMap<String, Array1<f64>> {
        self.rows_by_sequence()
            .into_iter()
            .map(|(label, rows)| {
                let mut mean = Array1::<f64>::zeros(self.genes.len());
                for &r in &rows {
                    mean.iter_mut().zip(self.true_expression.row(r)).for_each(|(m, v)| *m += *v as f64);
                }
                mean /= rows.len() as f64;
                (label, mean)
            })
            .collect()
    }

    /// Direction of the dataset's actions.
    pub fn direction(&self) -> Direction {
        self.config.direction
    }
}
