//! The experimental design of a simulation before any cell is drawn ([`Plan`]): the true
//! model(s), which conditions (singles, doubles, sequences, the second context), and the lineages
//! in output row order. It owns running lineages: [`Plan::observe`] simulates any range of
//! lineages (in parallel) into [`Observation`]s, so the whole dataset ([`crate::simulate`]) and a
//! file written a block at a time ([`crate::stream`]) draw the same cells.

use std::ops::Range;

use rand::RngExt;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use tasks::Perturbation;

use super::config::SimConfig;
use super::grn::Grn;
use super::rng::{Domain, stream};
use super::world::World;
use super::{SimError, build_world, noise, sequence_label};

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

/// What an output row is, known before it is simulated.
#[derive(Debug, Clone, PartialEq)]
pub struct RowLabel {
    /// The action applied just before the observation (control for controls).
    pub perturbation: Perturbation,
    /// Action history: `ctrl`, `A`, `A+B`, `A>B`.
    pub sequence: String,
    /// Actions applied: 0 control, k after the k-th action.
    pub step: u32,
    /// Lineage id.
    pub trajectory: u32,
    /// 0 (context A) or 1 (B).
    pub context: u32,
}

impl Lineage {
    /// The label of observation `k` (after action k) of lineage `id`.
    fn label(&self, id: usize, k: usize) -> RowLabel {
        let (sequence, step) =
            if self.control { ("ctrl".to_string(), 0) } else { (sequence_label(&self.actions[..=k]), k as u32 + 1) };
        RowLabel { perturbation: self.actions[k].clone(), sequence, step, trajectory: id as u32, context: self.context }
    }
}

/// One observed cell.
pub struct Observation {
    /// Raw UMI counts per gene.
    pub counts: Vec<f32>,
    /// Raw ADT counts per protein.
    pub protein_counts: Vec<f32>,
    /// Noise-free mRNA state.
    pub mrna: Vec<f64>,
    /// Noise-free protein levels.
    pub protein: Vec<f64>,
    pub label: RowLabel,
}

/// The design of `config` and its lineages in row order (see the module documentation).
pub struct Plan {
    pub config: SimConfig,
    pub grn: Grn,
    pub world: World,
    pub singles: Vec<Perturbation>,
    pub doubles: Vec<Perturbation>,
    pub sequences: Vec<Vec<Perturbation>>,
    /// The second context's network and true model, when `context_rewire_fraction` > 0.
    pub context_world: Option<(Grn, World)>,
    lineages: Vec<Lineage>,
}

impl Plan {
    /// Builds the world(s) and the design of `config` (deterministic in `config`).
    pub fn new(config: &SimConfig) -> Result<Plan, SimError> {
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
        Ok(Plan { config: config.clone(), grn, world, singles, doubles, sequences, context_world, lineages })
    }

    /// Output rows (a sequence lineage has one per action).
    pub fn n_cells(&self) -> usize {
        self.lineages.iter().map(|l| l.actions.len()).sum()
    }

    pub fn n_lineages(&self) -> usize {
        self.lineages.len()
    }

    /// The label of every output row, in row order (no cell is simulated).
    pub fn labels(&self) -> Vec<RowLabel> {
        self.lineages.iter().enumerate().flat_map(|(id, l)| (0..l.actions.len()).map(move |k| l.label(id, k))).collect()
    }

    /// Consecutive ranges of lineages covering them all, each of at most `max_cells` rows (or one
    /// lineage, when a lineage alone has more).
    pub fn blocks(&self, max_cells: usize) -> Vec<Range<usize>> {
        let mut blocks = Vec::new();
        let (mut start, mut cells) = (0, 0);
        for (id, l) in self.lineages.iter().enumerate() {
            if cells > 0 && cells + l.actions.len() > max_cells {
                blocks.push(start..id);
                (start, cells) = (id, 0);
            }
            cells += l.actions.len();
        }
        if cells > 0 {
            blocks.push(start..self.lineages.len());
        }
        blocks
    }

    /// Simulates the lineages `range` in parallel and returns `map` of each observation, in row
    /// order. Lineage i draws only from its own stream, so any split into ranges gives the same
    /// observations.
    pub fn observe<T: Send>(&self, range: Range<usize>, map: impl Fn(Observation) -> T + Sync + Send) -> Vec<T> {
        self.lineages[range.clone()]
            .par_iter()
            .zip(range)
            .flat_map_iter(|(lineage, id)| {
                let world = match (&self.context_world, lineage.context) {
                    (Some((_, b)), 1) => b,
                    _ => &self.world,
                };
                run_lineage(world, &self.config, lineage, id).into_iter().map(&map)
            })
            .collect()
    }
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
        out.push(Observation {
            counts,
            protein_counts,
            mrna: state.mrna.clone(),
            protein: state.protein.level.clone(),
            label: lineage.label(id, k),
        });
    }
    out
}
