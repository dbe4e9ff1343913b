//! The closed-loop laboratory: the candidate library, each candidate's truth, the hidden goal
//! state and the hits, and the measurement of picks ([`Library::measure`]).
//!
//! - On an embedded simulator dataset ([`oracle::config_of`], when the dataset holds exactly the
//!   conditions that configuration designs) the library is every single and
//!   double of the singles' genes ([`tasks::splits::closed_loop::library_genes`]) that is not a
//!   training condition; a candidate's truth is the mean of `truth_cells` fresh simulated cells
//!   ([`oracle::expected_profiles`]) and a pick is measured as `measured_cells` other fresh cells
//!   ([`oracle::lab_cells`], keyed by the candidate's library index and the task seed).
//! - On any other dataset (a replay; a simulator world of another seed too) the library is the split's held-out conditions; a
//!   candidate's truth is the mean of its real cells, and its measurement those cells.
//!
//! Profiles are compared over the genes no candidate perturbs ([`without_genes_of`]). The goal is
//! the truth of one candidate drawn from the seed among the quarter with the largest true effect
//! (distance to the training control mean); the hits are the `hit_fraction` of the library (at
//! least one) closest to it, ties by library order. The goal candidate is a hit.
//!
//! A library is built once per task instance and kept ([`library`]): every row of a scorecard
//! (model, baselines, ceiling, probes) screens the same one.

use std::sync::{Arc, Mutex};

use metrics::discovery::ScreenDesign;
use metrics::inverse::euclidean;
use ndarray::Array2;
use tasks::{AdaptationExample, Direction, Perturbation, SplitRule, TaskError, TaskInstance};

use super::super::inverse_design::without_genes_of;
use arena_sim::{SimConfig, oracle};

/// The screen settings of a closed-loop spec.
#[derive(Debug, Clone)]
pub struct Settings {
    pub design_rounds: usize,
    pub batch: usize,
    pub hit_fraction: f64,
    pub guide: String,
    pub truth_cells: usize,
    pub measured_cells: usize,
}

pub fn settings(instance: &TaskInstance<'_>) -> Result<Settings, TaskError> {
    match &instance.spec.spec.split {
        SplitRule::ClosedLoop { rounds, batch, hit_fraction, guide_baseline, truth_cells, measured_cells, .. } => {
            Ok(Settings {
                design_rounds: *rounds,
                batch: *batch,
                hit_fraction: *hit_fraction,
                guide: guide_baseline.clone(),
                truth_cells: *truth_cells,
                measured_cells: *measured_cells,
            })
        }
        _ => Err(impossible(instance, "not a closed-loop task".into())),
    }
}

fn impossible(instance: &TaskInstance<'_>, reason: String) -> TaskError {
    TaskError::SplitImpossible { task: instance.spec.spec.id.clone(), dataset: instance.dataset.id.clone(), reason }
}

enum Lab {
    Simulator {
        config: Box<SimConfig>,
        cells: usize,
        seed: u64,
    },
    /// Each candidate's real rows (in `cells`).
    Replay {
        cells: Vec<Array2<f32>>,
    },
}

pub struct Library {
    pub candidates: Vec<Perturbation>,
    /// Each candidate's truth over the scored genes.
    pub truths: Vec<Vec<f64>>,
    /// The training control mean over the scored genes.
    pub control: Vec<f64>,
    /// Index of the goal candidate; its truth is the goal state.
    pub goal: usize,
    /// The hits' library indices, closest to the goal first.
    pub hits: Vec<usize>,
    pub design: ScreenDesign,
    /// Cells behind each truth.
    pub truth_cells: usize,
    lab: Lab,
    /// The baseline-guided screen's round per hit, once run.
    pub(super) guide: Mutex<Option<Vec<Option<usize>>>>,
}

impl Library {
    pub fn goal_state(&self) -> &[f64] {
        &self.truths[self.goal]
    }

    /// Runs the experiments: the measured cells of each pick (library indices).
    pub fn measure(&self, picks: &[usize]) -> Result<Vec<AdaptationExample>, TaskError> {
        let cells: Vec<Array2<f32>> = match &self.lab {
            Lab::Simulator { config, cells, seed } => {
                let items: Vec<(u64, Vec<Perturbation>)> =
                    picks.iter().map(|&k| (k as u64, vec![self.candidates[k].clone()])).collect();
                oracle::lab_cells(config, &items, *cells, *seed)
                    .map_err(|e| TaskError::Model { model: "simulator laboratory".into(), reason: e.to_string() })?
            }
            Lab::Replay { cells } => picks.iter().map(|&k| cells[k].clone()).collect(),
        };
        Ok(picks
            .iter()
            .zip(cells)
            .map(|(&k, cells)| AdaptationExample { perturbation: self.candidates[k].clone(), cells })
            .collect())
    }
}

/// The library of `instance`, built on first use and kept for the same instance (spec, dataset,
/// split).
pub fn library(instance: &TaskInstance<'_>) -> Result<Arc<Library>, TaskError> {
    static LAST: Mutex<Option<(String, Arc<Library>)>> = Mutex::new(None);
    let key = format!(
        "{}/{}/{}/{}/{}",
        instance.spec.sha256,
        instance.dataset.id,
        instance.dataset.sha256,
        instance.dataset.n_rows(),
        instance.split_sha256()
    );
    let mut last = LAST.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((k, lib)) = last.as_ref()
        && *k == key
    {
        return Ok(lib.clone());
    }
    let lib = Arc::new(build(instance)?);
    *last = Some((key, lib.clone()));
    Ok(lib)
}

fn build(instance: &TaskInstance<'_>) -> Result<Library, TaskError> {
    let settings = settings(instance)?;
    let ds = instance.dataset;
    let (candidates, truths, lab, truth_cells) = match oracle::config_of(&ds.id).filter(|c| same_design(c, ds)) {
        Some(config) => {
            let candidates = simulator_candidates(instance);
            let items: Vec<Vec<Perturbation>> = candidates.iter().map(|p| vec![p.clone()]).collect();
            let truths = oracle::expected_profiles(&config, &items, settings.truth_cells)
                .map_err(|e| impossible(instance, format!("the simulator laboratory: {e}")))?;
            let lab = Lab::Simulator {
                config: Box::new(config),
                cells: settings.measured_cells,
                seed: instance.spec.spec.seed,
            };
            (candidates, truths, lab, settings.truth_cells)
        }
        None => {
            let items = instance.eval_items();
            let candidates: Vec<Perturbation> =
                instance.test_conditions().iter().map(|t| ds.condition(t.condition).clone()).collect();
            let cells: Vec<Array2<f32>> = items.iter().map(|i| i.truth.select(i.rows)).collect();
            let n = items.iter().map(|i| i.rows.len()).min().unwrap_or(0);
            (candidates, instance.truth_means(), Lab::Replay { cells }, n)
        }
    };
    let n = candidates.len();
    if n < 2 {
        return Err(impossible(instance, format!("the library has {n} candidate(s); at least 2 are needed")));
    }
    let truths = without_genes_of(instance, candidates.iter(), &truths);
    let control = without_genes_of(instance, candidates.iter(), &[instance.control_mean.to_vec()]).swap_remove(0);
    let goal = draw_goal(&truths, &control, instance.spec.spec.seed);
    let distance: Vec<f64> = truths.iter().map(|t| euclidean(t, &truths[goal])).collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| distance[a].total_cmp(&distance[b]).then(a.cmp(&b)));
    let n_hits = ((n as f64 * settings.hit_fraction).round() as usize).clamp(1, n);
    order.truncate(n_hits);
    let design = ScreenDesign { n_candidates: n, batch: settings.batch, rounds: settings.design_rounds };
    Ok(Library { candidates, truths, control, goal, hits: order, design, truth_cells, lab, guide: Mutex::new(None) })
}

/// Whether `dataset` holds exactly the singles and doubles `config` designs: a world of another
/// seed (a leaderboard's hidden world keeps the dataset id) designs others, and is replayed
/// rather than simulated from the wrong world.
fn same_design(config: &SimConfig, dataset: &tasks::Dataset) -> bool {
    let Ok(plan) = arena_sim::Plan::new(config) else { return false };
    let mut designed: Vec<String> = plan.singles.iter().chain(&plan.doubles).map(Perturbation::label).collect();
    let mut held: Vec<String> =
        dataset.conditions().iter().filter(|p| !p.is_control()).map(Perturbation::label).collect();
    designed.sort();
    held.sort();
    held.dedup();
    designed == held
}

/// Every single and double of the singles' genes (each in the direction of its single in the
/// dataset) that is not a training condition: singles in gene order, then pairs.
fn simulator_candidates(instance: &TaskInstance<'_>) -> Vec<Perturbation> {
    let ds = instance.dataset;
    let genes = tasks::splits::closed_loop::library_genes(ds);
    let direction = |gene: &str| -> Direction {
        ds.conditions()
            .iter()
            .filter(|p| p.order() == 1)
            .find_map(|p| p.targets().find(|(g, _)| *g == gene).map(|(_, d)| d))
            .unwrap_or(Direction::Knockdown)
    };
    let trained: std::collections::BTreeSet<&Perturbation> =
        instance.split.train.iter().map(|&c| ds.condition(c)).collect();
    let singles = genes.iter().map(|g| vec![g]);
    let pairs = genes.iter().enumerate().flat_map(|(i, a)| genes[i + 1..].iter().map(move |b| vec![a, b]));
    singles
        .chain(pairs)
        .map(|gs| Perturbation::from_genes(gs.into_iter().map(|g| (g.clone(), direction(g)))))
        .filter(|p| !trained.contains(p))
        .collect()
}

/// The goal candidate: drawn from `seed` among the quarter (at least one) of the candidates with
/// the largest true effect, ‖truth − control‖ (ties by library order).
fn draw_goal(truths: &[Vec<f64>], control: &[f64], seed: u64) -> usize {
    let effect: Vec<f64> = truths.iter().map(|t| euclidean(t, control)).collect();
    let mut order: Vec<usize> = (0..truths.len()).collect();
    order.sort_by(|&a, &b| effect[b].total_cmp(&effect[a]).then(a.cmp(&b)));
    let top = truths.len().div_ceil(4).max(1);
    order[metrics::rng::index(&mut metrics::rng::seeded(seed ^ 0x60A1), top)]
}
