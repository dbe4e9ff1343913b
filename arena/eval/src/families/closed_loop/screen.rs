//! The screens of the closed loop, each a list of picks per round over the library:
//!
//! - [`model_screen`]: the arena's model-based selection. Each round the model predicts every
//!   candidate (mean over the task's start states, scored genes), the B untested candidates
//!   whose predictions rank first are picked (ties by library order) and measured; all measured
//!   picks so far go back to the model through [`Model::adapt`] before the next round (always
//!   the model as given, adapted on the whole set). A model that does not adapt (`None`) keeps
//!   its predictions, which is what re-predicting would give. [`Rank::Goal`] ranks by predicted
//!   distance to the goal state; [`Rank::StrongestEffect`] by predicted effect size, largest first
//!   (the probe that chases large effects and ignores the goal).
//! - [`random_order`]: random screening, a seeded permutation of the library.
//! - [`oracle_order`]: the ceiling, every hit first (closest to the goal first), then the rest.

use std::time::Instant;

use metrics::inverse::euclidean;
use tasks::{AdaptationSet, Model, TaskError, TaskInstance};

use super::library::Library;
use crate::families::inverse_design::{predict_perturbations, without_genes_of};

/// What a model-guided screen ranks candidates by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rank {
    Goal,
    StrongestEffect,
}

/// The name of the adaptation context the closed loop hands its measurements in.
pub const CONTEXT: &str = "closed-loop";

/// A screen: the library indices picked in each round, and query rows predicted per second.
pub struct Screen {
    pub picks: Vec<Vec<usize>>,
    pub rows_per_second: f64,
}

impl Screen {
    /// The round (1-based) each hit was picked in, `None` if never (order of `library.hits`).
    pub fn found(&self, library: &Library) -> Vec<Option<usize>> {
        library.hits.iter().map(|h| self.picks.iter().position(|round| round.contains(h)).map(|r| r + 1)).collect()
    }
}

/// A screen that picks in a fixed `order`, B per round.
pub fn fixed_screen(library: &Library, order: &[usize]) -> Screen {
    let d = library.design;
    let picks = order.chunks(d.batch.max(1)).take(d.rounds).map(<[usize]>::to_vec).collect();
    Screen { picks, rows_per_second: f64::NAN }
}

/// Random screening: the library in a seeded random order.
pub fn random_order(library: &Library, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..library.candidates.len()).collect();
    metrics::rng::shuffle(&mut order, &mut metrics::rng::seeded(seed));
    order
}

/// The oracle: the hits first, then every other candidate in library order.
pub fn oracle_order(library: &Library) -> Vec<usize> {
    let mut order = library.hits.clone();
    order.extend((0..library.candidates.len()).filter(|k| !library.hits.contains(k)));
    order
}

fn predict(
    instance: &TaskInstance<'_>,
    library: &Library,
    model: &dyn Model,
) -> Result<(Vec<Vec<f64>>, f64), TaskError> {
    let candidates: Vec<&tasks::Perturbation> = library.candidates.iter().collect();
    let (means, rate) = predict_perturbations(instance, model, &candidates)?;
    Ok((without_genes_of(instance, library.candidates.iter(), &means), rate))
}

/// The closed loop of `model` (see the module documentation).
pub fn model_screen(
    instance: &TaskInstance<'_>,
    library: &Library,
    model: &dyn Model,
    rank: Rank,
) -> Result<Screen, TaskError> {
    let started = Instant::now();
    let n = library.candidates.len();
    let start_rows = instance.start_states().nrows();
    let (mut predicted, _) = predict(instance, library, model)?;
    let mut rows = n * start_rows;
    let mut tested = vec![false; n];
    let mut picks = Vec::with_capacity(library.design.rounds);
    let mut examples = Vec::new();
    for round in 0..library.design.rounds {
        let score = |k: usize| match rank {
            Rank::Goal => euclidean(&predicted[k], library.goal_state()),
            Rank::StrongestEffect => -euclidean(&predicted[k], &library.control),
        };
        let scores: Vec<f64> = (0..n).map(|k| if tested[k] { f64::NAN } else { score(k) }).collect();
        let mut order: Vec<usize> = (0..n).filter(|&k| !tested[k]).collect();
        order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(a.cmp(&b)));
        order.truncate(library.design.batch);
        for &k in &order {
            tested[k] = true;
        }
        picks.push(order.clone());
        if round + 1 == library.design.rounds || order.is_empty() {
            continue;
        }
        examples.extend(library.measure(&order)?);
        let set = AdaptationSet {
            genes: &instance.dataset.genes,
            context: CONTEXT,
            controls: instance.start_states(),
            examples: examples.clone(),
        };
        if let Some(adapted) = model.adapt(&set)? {
            predicted = predict(instance, library, adapted.as_ref())?.0;
            rows += n * start_rows;
        }
    }
    Ok(Screen { picks, rows_per_second: rows as f64 / started.elapsed().as_secs_f64().max(1e-9) })
}
