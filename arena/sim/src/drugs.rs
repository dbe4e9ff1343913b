//! The simulator's drug mode (`simulator-drugs`): compounds at doses as actions, in two cell
//! contexts.
//!
//! Each compound has 1–3 weighted targets among the network's regulators (weights w_g signed,
//! |w_g| in [0.5, 1]), an EC50 (log-uniform in 30–1000 nM) and a Hill coefficient n (uniform in
//! 0.8–2.5), all drawn from the seed (stream `Drug`, index 0). At dose d its effect on target g is
//! e_g(d) = w_g · H(d; EC50, n) (`metrics::dose::hill`), applied as the production multiplier
//! `activation_factor`^e for e > 0 and `knockdown_factor`^(−e) for e < 0: at saturation a target
//! with w = −1 is knocked down as a CRISPRi knockdown is, at the EC50 half as far in log space.
//! The network propagates the targets' change to the genes they regulate.
//!
//! Context A is the default world (the `simulator` network and kinetics), context B its rewired
//! second context (`World::second_context`, half the edges moved), both treated with the same
//! compounds at the same doses. Every cell (controls and treated) starts at the steady state with
//! its own kinetic variation, runs `steps_per_action` steps under its treatment and is observed
//! with negative-binomial noise. Cell i of context c draws only from stream (cell seed, `Drug`,
//! 1 + c·2³² + i), so the output is deterministic whatever the thread count.

use ndarray::Array2;
use rand::RngExt;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use tasks::{ContextObservations, Dataset, Dose, GenePanel, Observation, Perturbation, Scale, TaskError};

use super::rng::{Domain, stream};
use super::{CONTEXT_NAMES, SimConfig, SimError, World, build_world, noise};
use crate::dynamics::Dynamics;
use crate::grn::Grn;
use arena_data::{Matrix, normalize_total_log1p};

/// Registry-style id of the drug dataset.
pub const DRUGS_ID: &str = "simulator-drugs";

/// The dose levels of every compound, nanomolar (half-log steps).
pub const DOSES_NM: [f64; 7] = [3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0];

/// One compound: its weighted targets (gene index, w), EC50 (nM) and Hill coefficient.
#[derive(Debug, Clone, PartialEq)]
pub struct Compound {
    pub name: String,
    pub targets: Vec<(usize, f64)>,
    pub ec50_nm: f64,
    pub hill_n: f64,
}

impl Compound {
    /// e_g(d) = w_g · H(d; EC50, n) of every target at `dose`.
    pub fn effects(&self, dose: Dose) -> Vec<(usize, f64)> {
        let h = metrics::dose::hill(dose.as_nanomolar(), self.ec50_nm, self.hill_n);
        self.targets.iter().map(|&(g, w)| (g, w * h)).collect()
    }

    /// The production multipliers of every gene at `dose` (1 for genes it does not target).
    pub fn multipliers(&self, dynamics: &Dynamics, dose: Dose) -> Vec<f64> {
        let mut m = vec![1.0; dynamics.n_genes()];
        for (g, e) in self.effects(dose) {
            m[g] *= if e >= 0.0 { dynamics.activation_factor.powf(e) } else { dynamics.knockdown_factor.powf(-e) };
        }
        m
    }
}

/// The drug experiment: how many compounds, at which doses, how many cells.
#[derive(Debug, Clone, PartialEq)]
pub struct DrugDesign {
    pub n_compounds: usize,
    pub doses_nm: Vec<f64>,
    pub n_control_cells: usize,
    pub cells_per_condition: usize,
}

impl Default for DrugDesign {
    fn default() -> Self {
        Self { n_compounds: 16, doses_nm: DOSES_NM.to_vec(), n_control_cells: 400, cells_per_condition: 30 }
    }
}

/// The seeded compounds of `grn` (targets among its regulators).
pub fn compounds(grn: &Grn, n_compounds: usize, seed: u64) -> Vec<Compound> {
    let mut rng = stream(seed, Domain::Drug, 0);
    let pool = grn.n_regulators.max(1).min(grn.n_genes());
    (0..n_compounds)
        .map(|c| {
            let n_targets = rng.random_range(1..=3usize).min(pool);
            let mut targets: Vec<(usize, f64)> = Vec::with_capacity(n_targets);
            while targets.len() < n_targets {
                let g = rng.random_range(0..pool);
                let sign = if rng.random_range(0.0..1.0) < 0.6 { -1.0 } else { 1.0 };
                let w = sign * rng.random_range(0.5..1.0);
                if !targets.iter().any(|(t, _)| *t == g) {
                    targets.push((g, w));
                }
            }
            let ec50_nm = 10f64.powf(rng.random_range(30f64.log10()..1000f64.log10()));
            let hill_n = rng.random_range(0.8..2.5);
            Compound { name: format!("cmpd{c:02}"), targets, ec50_nm, hill_n }
        })
        .collect()
}

/// The raw counts and labels of one context.
pub struct ContextCells {
    pub counts: Array2<f32>,
    pub perturbations: Vec<Perturbation>,
}

/// The drug simulation: the compounds, both worlds, and each context's cells.
pub struct DrugSimulation {
    pub genes: Vec<String>,
    pub compounds: Vec<Compound>,
    /// Context A's and context B's true models.
    pub worlds: [World; 2],
    pub contexts: [ContextCells; 2],
}

/// Simulates `design` on the world of `config` (context B rewired by half its edges).
pub fn simulate_drugs(config: &SimConfig, design: &DrugDesign) -> Result<DrugSimulation, SimError> {
    if design.n_compounds == 0 || design.doses_nm.is_empty() || design.cells_per_condition == 0 {
        return Err(SimError::Config("the drug design needs compounds, doses and cells per condition".into()));
    }
    if design.n_control_cells < 2 {
        return Err(SimError::Config("the drug design needs at least 2 control cells".into()));
    }
    let doses = design
        .doses_nm
        .iter()
        .map(|&d| Dose::nanomolar(d).map_err(|e| SimError::Config(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let (grn, world_a) = build_world(config)?;
    let rewire = SimConfig { context_rewire_fraction: crate::contexts::DEFAULT_REWIRE_FRACTION, ..config.clone() };
    let (_, world_b) = world_a.second_context(&grn, &rewire);
    let compounds = compounds(&grn, design.n_compounds, config.seed);
    let mut conditions: Vec<Option<(usize, Dose)>> = vec![None; design.n_control_cells];
    for c in 0..compounds.len() {
        for &d in &doses {
            conditions.extend(std::iter::repeat_n(Some((c, d)), design.cells_per_condition));
        }
    }
    let run = |world: &World, context: u64| -> ContextCells {
        let rows: Vec<Vec<f32>> = conditions
            .par_iter()
            .enumerate()
            .map(|(i, cond)| {
                let m = match cond {
                    Some((c, d)) => compounds[*c].multipliers(&world.dynamics, *d),
                    None => vec![1.0; world.dynamics.n_genes()],
                };
                observe_cell(world, config, &m, 1 + (context << 32) + i as u64)
            })
            .collect();
        let n_genes = grn.n_genes();
        let counts = Array2::from_shape_vec((rows.len(), n_genes), rows.concat()).expect("one row per cell");
        let perturbations = conditions
            .iter()
            .map(|cond| match cond {
                Some((c, d)) => Perturbation::compound(compounds[*c].name.clone(), *d),
                None => Perturbation::control(),
            })
            .collect();
        ContextCells { counts, perturbations }
    };
    let contexts = [run(&world_a, 0), run(&world_b, 1)];
    Ok(DrugSimulation { genes: grn.genes.clone(), compounds, worlds: [world_a, world_b], contexts })
}

/// One cell: its own kinetics, the steady state, `steps_per_action` steps under multipliers `m`,
/// then its UMI counts.
fn observe_cell(world: &World, config: &SimConfig, m: &[f64], index: u64) -> Vec<f32> {
    let mut rng = stream(config.cell_stream_seed(), Domain::Drug, index);
    let cell = world.dynamics.sample_cell(&mut rng, world.proteins.len());
    let mut x = world.dynamics.steady_state(&cell, world.steps_to_steady);
    for _ in 0..world.steps_per_action {
        x = world.dynamics.step_with(&x, m, &cell);
    }
    let library = noise::library_size(&mut rng, config.mean_library_size, config.library_size_log_sd);
    noise::rna_counts(&mut rng, &x, library, config.nb_dispersion)
}

/// Context A as the dataset's rows, context B attached as its second context (log1p-normalised
/// counts); the sha256 covers both contexts' counts and labels.
pub fn drug_dataset(sim: &DrugSimulation) -> Result<Dataset, TaskError> {
    let mut hasher = Sha256::new();
    for ctx in &sim.contexts {
        for p in &ctx.perturbations {
            hasher.update(p.label().as_bytes());
            hasher.update([0]);
        }
        for v in ctx.counts.iter() {
            hasher.update(v.to_le_bytes());
        }
    }
    let sha256 = hex::encode(hasher.finalize());
    let expression = |ctx: &ContextCells| normalize_total_log1p(&Matrix::Dense(ctx.counts.clone()), 1e4);
    let [a, b] = &sim.contexts;
    let dataset = Dataset::new(
        DRUGS_ID,
        sha256,
        GenePanel::new(sim.genes.clone())?,
        Scale::LogNormalized,
        Observation::SingleCell,
        expression(a),
        a.perturbations.clone(),
    )?;
    dataset.with_context(ContextObservations {
        training_context: CONTEXT_NAMES[0].into(),
        name: CONTEXT_NAMES[1].into(),
        expression: expression(b).into(),
        perturbations: b.perturbations.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> (SimConfig, DrugDesign) {
        let design = DrugDesign {
            n_compounds: 4,
            doses_nm: vec![10.0, 100.0, 1000.0],
            n_control_cells: 20,
            cells_per_condition: 5,
        };
        (SimConfig::default(), design)
    }

    /// The effect on each target rises with the dose (Hill) and reaches w at saturation.
    #[test]
    fn effects_follow_the_hill_curve_and_reach_the_weight() {
        let (config, _) = small();
        let (grn, world) = build_world(&config).unwrap();
        let cs = compounds(&grn, 8, config.seed);
        assert_eq!(cs, compounds(&grn, 8, config.seed), "seeded");
        assert_ne!(cs, compounds(&grn, 8, config.seed + 1));
        for c in &cs {
            assert!((1..=3).contains(&c.targets.len()));
            assert!(c.targets.iter().all(|(g, w)| *g < grn.n_regulators && (0.5..1.0).contains(&w.abs())));
            let at = |nm: f64| c.effects(Dose::nanomolar(nm).unwrap());
            let doses = [1.0, 10.0, 100.0, 1000.0, 1e4, 1e5];
            for (k, &(g, w)) in c.targets.iter().enumerate() {
                let e: Vec<f64> = doses.iter().map(|&d| at(d)[k].1).collect();
                assert!(e.windows(2).all(|p| p[0].abs() < p[1].abs() && p[0] * w >= 0.0), "{e:?}");
                assert!((at(1e12)[k].1 - w).abs() < 1e-6, "saturation reaches w = {w} on gene {g}");
                assert!((at(c.ec50_nm)[k].1 - w / 2.0).abs() < 1e-12, "half at the EC50");
            }
            // Multipliers: 1 off target; a full knockdown factor at w = −1 saturation.
            let m = c.multipliers(&world.dynamics, Dose::nanomolar(1e12).unwrap());
            for (g, &mg) in m.iter().enumerate() {
                match c.targets.iter().find(|(t, _)| *t == g) {
                    None => assert_eq!(mg, 1.0),
                    Some(&(_, w)) if w < 0.0 => assert!((mg - 0.15f64.powf(-w)).abs() < 1e-6),
                    Some(&(_, w)) => assert!((mg - 4f64.powf(w)).abs() < 1e-6),
                }
            }
        }
    }

    #[test]
    fn the_dataset_has_every_compound_at_every_dose_in_two_contexts_deterministically() {
        let (config, design) = small();
        let sim = simulate_drugs(&config, &design).unwrap();
        let ds = drug_dataset(&sim).unwrap();
        assert_eq!(ds.n_rows(), 20 + 4 * 3 * 5);
        assert_eq!(ds.conditions().len(), 1 + 4 * 3);
        let doses = tasks::splits::dose::compound_doses(&ds);
        assert_eq!(doses.len(), 4);
        assert!(
            doses.values().all(|d| d.iter().map(|x| x.as_nanomolar()).collect::<Vec<_>>() == vec![10.0, 100.0, 1000.0])
        );
        let ctx = ds.context.as_ref().unwrap();
        assert_eq!((ctx.name.as_str(), ctx.expression.nrows()), ("B", ds.n_rows()));
        assert_eq!(drug_dataset(&simulate_drugs(&config, &design).unwrap()).unwrap().sha256, ds.sha256);
        // The contexts respond differently to the same compound at the same dose.
        assert_ne!(sim.contexts[0].counts, sim.contexts[1].counts);
        // A higher dose moves a compound's true response further (nominal cell, target genes).
        let world = &sim.worlds[0];
        let cell = world.nominal_cell();
        let response = |c: &Compound, nm: f64| {
            let m = c.multipliers(&world.dynamics, Dose::nanomolar(nm).unwrap());
            let mut x = world.dynamics.steady_state(&cell, world.steps_to_steady);
            let x0 = x.clone();
            for _ in 0..world.steps_per_action {
                x = world.dynamics.step_with(&x, &m, &cell);
            }
            c.targets.iter().map(|&(g, _)| (x[g] / x0[g]).ln().abs()).sum::<f64>()
        };
        for c in &sim.compounds {
            assert!(response(c, 10.0) < response(c, 100.0) && response(c, 100.0) < response(c, 1000.0), "{}", c.name);
        }
    }
}
