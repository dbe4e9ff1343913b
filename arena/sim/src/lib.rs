//! Mechanistic single-cell perturbation simulator with known ground truth (`arena simulate`, and
//! the embedded default dataset of `arena eval`): a sparse signed GRN (`grn.rs`), discrete-time
//! mRNA dynamics under knockdown/activation (`dynamics.rs`), lagged proteins (`protein.rs`), both
//! combined in `world.rs`, negative-binomial counts (`noise.rs`), deterministic random streams
//! (`rng.rs`) and the settings (`config.rs`). This file owns [`simulate`], the experimental design
//! (which conditions, how many cells) and the [`Simulation`] output.
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
pub mod dynamics;
pub mod export;
pub mod grn;
pub mod interactions;
pub mod load;
pub mod many_sequences;
pub mod noise;
pub mod oracle;
pub mod prior_mismatch;
pub mod protein;
pub mod rng;
pub mod world;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use ndarray::{Array1, Array2};
use rand::RngExt;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use tasks::{Direction, Perturbation};

pub use config::{GrnSource, SimConfig};
pub use dynamics::{CellParams, Dynamics};
pub use grn::{Edge, Grn};
pub use prior_mismatch::PriorMismatch;
pub use protein::{ProteinModel, ProteinState};
pub use world::{CellState, World};

use rng::{Domain, stream};

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("invalid simulator configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Network(#[from] arena_data::DataError),
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

/// Chooses the single, double and sequence conditions (stream `Design`).
fn design(config: &SimConfig, grn: &Grn) -> (Vec<Perturbation>, Vec<Perturbation>, Vec<Vec<Perturbation>>) {
    let mut rng = stream(config.seed, Domain::Design, 0);
    let r = grn.n_regulators;
    let mut regs: Vec<usize> = (0..r).collect();
    regs.shuffle(&mut rng);
    let mut others: Vec<usize> = (r..grn.n_genes()).collect();
    others.shuffle(&mut rng);
    let n_reg = config.n_single_targets.min(r);
    let targets: Vec<usize> = regs[..n_reg].iter().chain(&others[..config.n_single_targets - n_reg]).copied().collect();
    let single = |i: usize| Perturbation::single(grn.genes[i].clone(), config.direction);
    let singles: Vec<Perturbation> = targets.iter().map(|&i| single(i)).collect();

    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for a in 0..targets.len() {
        for b in a + 1..targets.len() {
            if a < n_reg {
                pairs.push((a, b));
            }
        }
    }
    pairs.shuffle(&mut rng);
    let doubles = pairs[..config.n_doubles]
        .iter()
        .map(|&(a, b)| {
            Perturbation::from_genes([
                (grn.genes[targets[a]].clone(), config.direction),
                (grn.genes[targets[b]].clone(), config.direction),
            ])
        })
        .collect();

    let mut ordered: Vec<(usize, usize)> = Vec::new();
    for a in 0..n_reg {
        for b in 0..targets.len() {
            if a != b {
                ordered.push((a, b));
            }
        }
    }
    ordered.shuffle(&mut rng);
    // Sequence i has 2 + i mod (max − 1) actions: a distinct ordered pair, then further targets,
    // each different from the action before it.
    let lengths = config.max_sequence_length - 1;
    let sequences = ordered[..config.n_sequences]
        .iter()
        .enumerate()
        .map(|(i, &(a, b))| {
            let mut actions = vec![a, b];
            while actions.len() < 2 + i % lengths {
                let last = actions[actions.len() - 1];
                let next = (last + 1 + rng.random_range(0..targets.len() - 1)) % targets.len();
                actions.push(next);
            }
            actions.into_iter().map(|k| singles[k].clone()).collect()
        })
        .collect();
    (singles, doubles, sequences)
}

/// One lineage to simulate: its actions, observed after each (controls: one control action, step 0).
struct Lineage {
    actions: Vec<Perturbation>,
    control: bool,
    context: u32,
}

struct Observation {
    counts: Vec<f32>,
    protein_counts: Vec<f32>,
    mrna: Vec<f64>,
    protein: Vec<f64>,
    perturbation: Perturbation,
    sequence: String,
    step: u32,
    trajectory: u32,
}

fn run_lineage(world: &World, config: &SimConfig, lineage: &Lineage, id: usize) -> Vec<Observation> {
    let mut rng = stream(config.cell_stream_seed(), Domain::Cell, id as u64);
    let cell = world.dynamics.sample_cell(&mut rng, world.proteins.len());
    let mut state = world.steady_state(&cell);
    let mut out = Vec::with_capacity(lineage.actions.len());
    for (k, action) in lineage.actions.iter().enumerate() {
        world.act(&mut state, action, &cell);
        let library = noise::library_size(&mut rng, config.mean_library_size, config.library_size_log_sd);
        let counts = noise::rna_counts(&mut rng, &state.mrna, library, config.nb_dispersion);
        let size_factor = library / config.mean_library_size;
        let protein_counts =
            noise::protein_counts(&mut rng, &state.protein.level, size_factor, config.protein_dispersion);
        let (sequence, step) = if lineage.control {
            ("ctrl".to_string(), 0)
        } else {
            (sequence_label(&lineage.actions[..=k]), k as u32 + 1)
        };
        out.push(Observation {
            counts,
            protein_counts,
            mrna: state.mrna.clone(),
            protein: state.protein.level.clone(),
            perturbation: action.clone(),
            sequence,
            step,
            trajectory: id as u32,
        });
    }
    out
}

/// Simulates the dataset of `config` (deterministic in `config`, whatever the thread count).
pub fn simulate(config: &SimConfig) -> Result<Simulation, SimError> {
    let (grn, world) = build_world(config)?;
    let (singles, doubles, sequences) = design(config, &grn);
    let cpc = config.cells_per_condition;
    let mut lineages: Vec<Lineage> = Vec::new();
    let control = |context| Lineage { actions: vec![Perturbation::control()], control: true, context };
    lineages.extend((0..config.n_control_cells).map(|_| control(0)));
    for p in singles.iter().chain(&doubles) {
        lineages.extend((0..cpc).map(|_| Lineage { actions: vec![p.clone()], control: false, context: 0 }));
    }
    for actions in &sequences {
        lineages.extend((0..cpc).map(|_| Lineage { actions: actions.clone(), control: false, context: 0 }));
    }
    // Context B's lineages come last, so context A's cells do not depend on whether B exists.
    let context_world = (config.context_rewire_fraction > 0.0).then(|| world.second_context(&grn, config));
    if context_world.is_some() {
        lineages.extend((0..config.n_control_cells).map(|_| control(1)));
        for p in &singles {
            lineages.extend((0..cpc).map(|_| Lineage { actions: vec![p.clone()], control: false, context: 1 }));
        }
    }
    let observations: Vec<Observation> = lineages
        .par_iter()
        .enumerate()
        .flat_map_iter(|(id, lineage)| {
            let w = match (&context_world, lineage.context) {
                (Some((_, b)), 1) => b,
                _ => &world,
            };
            run_lineage(w, config, lineage, id)
        })
        .collect();
    let context: Vec<u32> = lineages.iter().flat_map(|l| std::iter::repeat_n(l.context, l.actions.len())).collect();

    let (n, g, p) = (observations.len(), grn.n_genes(), world.proteins.len());
    let mut counts = Array2::<f32>::zeros((n, g));
    let mut protein_counts = Array2::<f32>::zeros((n, p));
    let mut true_expression = Array2::<f32>::zeros((n, g));
    let mut true_protein = Array2::<f32>::zeros((n, p));
    let mut perturbation = Vec::with_capacity(n);
    let mut sequence = Vec::with_capacity(n);
    let mut step = Vec::with_capacity(n);
    let mut trajectory = Vec::with_capacity(n);
    for (i, o) in observations.into_iter().enumerate() {
        counts.row_mut(i).assign(&Array1::from(o.counts));
        protein_counts.row_mut(i).assign(&Array1::from(o.protein_counts));
        true_expression.row_mut(i).iter_mut().zip(&o.mrna).for_each(|(d, s)| *d = *s as f32);
        true_protein.row_mut(i).iter_mut().zip(&o.protein).for_each(|(d, s)| *d = *s as f32);
        perturbation.push(o.perturbation);
        sequence.push(o.sequence);
        step.push(o.step);
        trajectory.push(o.trajectory);
    }
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
