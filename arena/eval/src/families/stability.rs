//! The stability family (multi-step 3c): every item's action (a held-out single, or the no-op) is
//! applied [`ROLLOUT_LENGTH`] times to the start cells, each prediction fed back. After each t in
//! [`STABILITY_STEPS`] the predicted CELLS (not their mean) are scored two-sided, against the real
//! held-out cells of the same item (see [`metrics::manifold`]):
//!
//! - `stability_gap_t{t}` = |ratio − ratio_real| + |dispersion / dispersion_real − 1|, where ratio
//!   is the median over the cells of their kNN distance to the real reference cells divided by
//!   the real-vs-real scale, and dispersion the cells' RMS distance to their own centroid. Real
//!   cells score 0; a rollout collapsed onto the control mean pays its missing dispersion (≥ 1)
//!   although it sits closer to the manifold than real cells do; a drifting rollout pays its
//!   excess distance.
//! - `trajectory_rmse_t{t}` and `trajectory_energy_t{t}` (embedded simulator datasets only,
//!   [`oracle::config_of`]): the RMSE over genes of the predicted mean after t actions against the
//!   simulator's expected profile after t actions, and the energy distance between the predicted
//!   cells and [`TRAJECTORY_CELLS`] fresh true cells after t actions
//!   ([`oracle::expected_trajectory`]). The energy distance is what the task ranks by: a collapsed
//!   rollout (no spread), doing nothing (the wrong place) and a drifting rollout all pay. Real data
//!   have no true trajectory: n/a there.
//!
//! Reference and held-out real cells come from [`tasks::splits::stability::manifold_rows`] (start
//! cells are in neither). The reference row (never ranked) is the split-half agreement of real
//! cells: half of each item's held-out cells scored against the other half's values, the sampling
//! floor of the gap; the real cells' own values (the target) are reported in the notes.

use std::time::Instant;

use metrics::MetricInfo;
use metrics::distributional::{energy_distance_with_sigma_y, mean_pairwise_distance};
use metrics::manifold::{
    STABILITY_METRICS, STABILITY_STEPS, dispersion, manifold_ratio, real_scale, rmse, stability_gap,
};
use ndarray::{Array2, Axis};
use tasks::scorecard::{BootstrapSettings, PerturbationScore, ScoreRow};
use tasks::splits::stability::{ROLLOUT_LENGTH, manifold_rows};
use tasks::{Model, ModelKind, Perturbation, SplitRule, TaskError, TaskInstance};

use super::ScoredModel;
use crate::predict;
use arena_sim::oracle;

/// Fresh simulated cells behind each point of a true trajectory.
pub const TRAJECTORY_CELLS: usize = 256;

/// The real cells every row is measured against.
pub struct Manifold {
    pub reference: Array2<f32>,
    /// Real held-out cells of each item (order of `instance.eval_items()`).
    pub held_out: Vec<Array2<f32>>,
    pub neighbours: usize,
    /// Median kNN distance of all held-out real cells to the reference.
    pub scale: f64,
}

/// The real cells' values of one item: the target of the two-sided gap.
#[derive(Debug, Clone, Copy)]
pub struct RealValues {
    pub ratio: f64,
    pub dispersion: f64,
}

impl Manifold {
    pub fn new(instance: &TaskInstance<'_>) -> Self {
        let (neighbours, max_reference) = match instance.spec.spec.split {
            SplitRule::Stability { neighbours, max_reference_cells, .. } => (neighbours, max_reference_cells),
            _ => (5, 2000),
        };
        let items = instance.eval_items();
        let item_rows: Vec<&[usize]> = items.iter().map(|i| i.rows).collect();
        let rows = manifold_rows(
            instance.dataset.n_rows(),
            &item_rows,
            &instance.start_rows,
            max_reference,
            instance.spec.spec.seed,
        );
        let reference = instance.dataset.select_rows(&rows.reference);
        let held_out: Vec<Array2<f32>> = rows.held_out.iter().map(|r| instance.dataset.select_rows(r)).collect();
        let all_held = instance.dataset.select_rows(&rows.held_out.concat());
        let scale = real_scale(all_held.view(), reference.view(), neighbours);
        Self { reference, held_out, neighbours, scale }
    }

    pub fn ratio(&self, cells: &Array2<f32>) -> f64 {
        manifold_ratio(cells.view(), self.reference.view(), self.neighbours, self.scale)
    }

    /// The real held-out cells' values of every item.
    pub fn real_values(&self) -> Vec<RealValues> {
        self.held_out.iter().map(|c| RealValues { ratio: self.ratio(c), dispersion: dispersion(c.view()) }).collect()
    }

    /// The gap of `cells` from `real`.
    pub fn gap(&self, cells: &Array2<f32>, real: RealValues) -> f64 {
        stability_gap(self.ratio(cells), dispersion(cells.view()), real.ratio, real.dispersion)
    }
}

/// True cells of an item after some number of actions.
pub struct TruePoint {
    /// Cells × genes.
    pub cells: Array2<f64>,
    pub mean: Vec<f64>,
    /// Their mean pairwise distance (σ_y of the energy distance).
    pub spread: f64,
}

/// `trajectories[item][s]`: the true cells of an item after `STABILITY_STEPS[s]` actions.
type Trajectories = std::sync::Arc<Vec<Vec<TruePoint>>>;

/// The true expected profile of every item after every t of [`STABILITY_STEPS`], when the dataset
/// is an embedded simulation (`None` otherwise). Deterministic, so computed once per dataset and
/// set of items and kept for the process (every row of a scorecard, and the audit's probes,
/// reuse it).
pub fn true_trajectories(instance: &TaskInstance<'_>) -> Result<Option<Trajectories>, TaskError> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    /// Keyed by the dataset's sha256 and the items' action labels.
    type Cache = Mutex<HashMap<(String, Vec<String>), Trajectories>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let Some(config) = oracle::config_of(&instance.dataset.id) else { return Ok(None) };
    let actions: Vec<Perturbation> = instance.eval_items().iter().map(|i| i.actions[0].clone()).collect();
    let key = (instance.dataset.sha256.clone(), actions.iter().map(Perturbation::label).collect::<Vec<_>>());
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(hit) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(Some(hit.clone()));
    }
    let computed =
        oracle::expected_trajectory(&config, &[Perturbation::control()], &actions, &STABILITY_STEPS, TRAJECTORY_CELLS)
            .map_err(|e| TaskError::InvalidDataset {
                dataset: instance.dataset.id.clone(),
                reason: format!("the simulator's true trajectories: {e}"),
            })?;
    let computed: Trajectories = std::sync::Arc::new(
        computed
            .into_iter()
            .map(|steps| {
                steps
                    .into_iter()
                    .map(|cells| {
                        let cells = cells.mapv(f64::from);
                        let mean = cells.mean_axis(Axis(0)).map(|m| m.to_vec()).unwrap_or_default();
                        let spread = mean_pairwise_distance(cells.view());
                        TruePoint { cells, mean, spread }
                    })
                    .collect()
            })
            .collect(),
    );
    cache.lock().unwrap_or_else(|e| e.into_inner()).insert(key, computed.clone());
    Ok(Some(computed))
}

pub fn score_model(
    instance: &TaskInstance<'_>,
    model: &dyn Model,
    bootstrap: &BootstrapSettings,
) -> Result<ScoredModel, TaskError> {
    let manifold = Manifold::new(instance);
    let real = manifold.real_values();
    let truth = true_trajectories(instance)?;
    let items = instance.eval_items();
    let start = instance.start_states();
    let started = Instant::now();
    let mut predicted_rows = 0usize;
    let n_steps = STABILITY_STEPS.len();
    // Only the steps some metric of the spec reads are measured.
    let wanted = |s: usize| {
        let t = STABILITY_STEPS[s];
        instance.spec.spec.metrics.iter().any(|m| m.rsplit_once("_t").is_some_and(|(_, k)| k == t.to_string()))
    };
    let mut values = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let mut state = start.clone();
        let mut row = vec![f64::NAN; 3 * n_steps];
        for (t, action) in item.actions.iter().enumerate().take(ROLLOUT_LENGTH) {
            state = predict::step(instance, model, &state, action)?;
            predicted_rows += state.nrows();
            if let Some(s) = STABILITY_STEPS.iter().position(|&k| k == t + 1).filter(|&s| wanted(s)) {
                row[s] = manifold.gap(&state, real[i]);
                if let Some(truth) = &truth {
                    let point = &truth[i][s];
                    let cells = state.mapv(f64::from);
                    let mean = cells.mean_axis(Axis(0)).map(|m| m.to_vec()).unwrap_or_default();
                    row[n_steps + s] = rmse(&mean, &point.mean);
                    row[2 * n_steps + s] = energy_distance_with_sigma_y(cells.view(), point.cells.view(), point.spread);
                }
            }
        }
        values.push(row);
    }
    let rows_per_second = predicted_rows as f64 / started.elapsed().as_secs_f64().max(1e-9);
    let row = build_row(instance, model.name().to_string(), model.kind(), model.fingerprint(), &values, bootstrap);
    Ok(ScoredModel { row, rows_per_second })
}

/// Split-half agreement of real cells: half A of each item's held-out cells (seeded) scored
/// against half B's values (and, on the simulator, half A against the true cells at t = 1, the
/// only step real cells were observed at). The same at every t.
pub fn ceiling(
    instance: &TaskInstance<'_>,
    bootstrap: &BootstrapSettings,
    seed: u64,
) -> Result<ScoreRow, crate::ceiling::NoCeiling> {
    let manifold = Manifold::new(instance);
    let truth = true_trajectories(instance).map_err(|e| e.to_string())?;
    let n_steps = STABILITY_STEPS.len();
    let mut values = Vec::with_capacity(manifold.held_out.len());
    for (k, cells) in manifold.held_out.iter().enumerate() {
        if cells.nrows() < 4 {
            return Err(format!(
                "no real-cell reference: item {k} has {} held-out real cells; at least 4 are needed",
                cells.nrows()
            )
            .into());
        }
        let mut rows: Vec<usize> = (0..cells.nrows()).collect();
        metrics::rng::shuffle(&mut rows, &mut metrics::rng::seeded(seed.wrapping_add(k as u64)));
        let (a, b) = rows.split_at(rows.len() / 2);
        let (a, b) = (cells.select(Axis(0), a), cells.select(Axis(0), b));
        let half_b = RealValues { ratio: manifold.ratio(&b), dispersion: dispersion(b.view()) };
        let gap = manifold.gap(&a, half_b);
        let mut row = vec![gap; n_steps];
        // Real cells were observed after one action only: the trajectory metrics at t = 1.
        let t1 = truth.as_ref().map(|t| {
            let point = &t[k][0];
            let cells = a.mapv(f64::from);
            let mean = cells.mean_axis(Axis(0)).map(|m| m.to_vec()).unwrap_or_default();
            (rmse(&mean, &point.mean), energy_distance_with_sigma_y(cells.view(), point.cells.view(), point.spread))
        });
        let at_t1 = |v: Option<f64>| (0..n_steps).map(move |s| if s == 0 { v.unwrap_or(f64::NAN) } else { f64::NAN });
        row.extend(at_t1(t1.map(|t| t.0)));
        row.extend(at_t1(t1.map(|t| t.1)));
        values.push(row);
    }
    Ok(build_row(instance, "real-cells-split-half".into(), ModelKind::Ceiling, String::new(), &values, bootstrap))
}

/// The real held-out cells' own values (the target of every gap), for the scorecard notes.
pub fn reference_note(instance: &TaskInstance<'_>) -> String {
    let manifold = Manifold::new(instance);
    let real = manifold.real_values();
    let ratios: Vec<f64> = real.iter().map(|r| r.ratio).filter(|v| v.is_finite()).collect();
    let (lo, hi) = ratios.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
    let mean = ratios.iter().sum::<f64>() / ratios.len().max(1) as f64;
    let trajectory = match oracle::config_of(&instance.dataset.id) {
        Some(_) => format!(
            "trajectory_energy_t{{t}} / trajectory_rmse_t{{t}}: energy distance of the predicted cells to / RMSE of their mean against {TRAJECTORY_CELLS} fresh true simulated cells after t actions"
        ),
        None => "trajectory_*_t{t}: n/a (no true trajectory outside the embedded simulator)".into(),
    };
    format!(
        "target (real held-out cells of each item): manifold ratio {mean:.3} on average (items {lo:.3}–{hi:.3}), dispersion ratio 1; \
         stability_gap_t{{t}} = |ratio − ratio_real| + |dispersion/dispersion_real − 1| per item (0 = like real cells, both sides penalised); \
         {trajectory}; the reference row scores half of each item's real cells against the other half"
    )
}

/// A row from `values[item][k]`, item's value of `STABILITY_METRICS[k]`, with the spec's metrics
/// in the spec's order.
fn build_row(
    instance: &TaskInstance<'_>,
    name: String,
    kind: ModelKind,
    model_sha256: String,
    values: &[Vec<f64>],
    bootstrap: &BootstrapSettings,
) -> ScoreRow {
    let items = instance.eval_items();
    let wanted: Vec<(usize, &MetricInfo)> = instance
        .spec
        .spec
        .metrics
        .iter()
        .filter_map(|m| STABILITY_METRICS.iter().position(|s| s.name == m).map(|k| (k, STABILITY_METRICS[k])))
        .collect();
    let subgroups: Vec<tasks::Subgroup> = items.iter().map(|i| i.subgroup).collect();
    let metrics = wanted
        .iter()
        .map(|&(k, metric)| {
            let column: Vec<f64> = values.iter().map(|v| v.get(k).copied().unwrap_or(f64::NAN)).collect();
            crate::score::summarize(metric, &column, &subgroups, bootstrap)
        })
        .collect();
    let per_perturbation = items
        .iter()
        .zip(values)
        .map(|(item, v)| PerturbationScore {
            perturbation: item.label.clone(),
            subgroup: item.subgroup,
            n_truth: item.rows.len(),
            values: wanted.iter().map(|&(k, _)| v.get(k).copied().filter(|x| x.is_finite())).collect(),
        })
        .collect();
    ScoreRow { name, kind, model_sha256, metrics, per_perturbation }
}
