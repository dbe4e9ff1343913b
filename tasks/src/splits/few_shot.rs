//! The few-shot / new-context split. Training is the dataset's own rows (the training context):
//! every perturbed condition trains, its controls are split as usual. The dataset's second
//! context (`dataset.context`) is never in training: its perturbations that the training context
//! also has are shuffled from the seed; the first `test_fraction` are the scored test items, the
//! rest are the adaptation pool in draw order, so the k-shot set is the first k of the pool
//! (nested: the 5 include the 1) and never holds a test perturbation. The new context's control
//! cells are split into adaptation controls (in every adaptation set, k = 0 too) and the test
//! start states. [`adapted_instance`] is the pooled training view baselines are refitted on.

use std::collections::BTreeSet;

use ndarray::Array1;

use crate::dataset::{ConditionId, Dataset};
use crate::error::TaskError;
use crate::instance::TaskInstance;
use crate::model::{AdaptationExample, AdaptationSet};
use crate::perturbation::Perturbation;
use crate::split::{ContextSplit, Split, Subgroup, TestCondition, split_controls};

/// The shot counts every few-shot task reports.
pub const SHOTS: [usize; 4] = [0, 1, 5, 20];

pub fn build(dataset: &Dataset, test_fraction: f64, control_test_fraction: f64, seed: u64) -> Result<Split, TaskError> {
    let impossible =
        |reason: String| TaskError::SplitImpossible { task: "few-shot".into(), dataset: dataset.id.clone(), reason };
    let Some(ctx) = &dataset.context else {
        return Err(impossible(
            "it has no second context (use `simulator-two-contexts` or a dataset with a context column)".into(),
        ));
    };
    let mut train: Vec<ConditionId> = (0..dataset.conditions().len())
        .map(|i| ConditionId(i as u32))
        .filter(|&c| !dataset.condition(c).is_control())
        .collect();
    train.sort_by_key(|&c| dataset.condition(c).label());
    let train_genes: Vec<String> = train
        .iter()
        .flat_map(|&c| dataset.condition(c).genes().map(str::to_string).collect::<Vec<_>>())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // The new context's perturbations the training context also has, sorted by label.
    let mut shared: Vec<(String, ConditionId)> = ctx
        .perturbations
        .iter()
        .filter(|p| !p.is_control())
        .collect::<BTreeSet<&Perturbation>>()
        .into_iter()
        .filter_map(|p| dataset.condition_id(p).map(|c| (p.label(), c)))
        .collect();
    shared.sort();
    let max_shots = SHOTS[SHOTS.len() - 1];
    if shared.len() < max_shots + 2 {
        return Err(impossible(format!(
            "context '{}' has {} perturbations shared with the training context; {} shots plus at least 2 test items are needed",
            ctx.name,
            shared.len(),
            max_shots
        )));
    }
    metrics::rng::shuffle(&mut shared, &mut metrics::rng::seeded(seed ^ 0xF3_5407));
    let n_test = ((shared.len() as f64 * test_fraction).round() as usize).clamp(2, shared.len() - max_shots);
    let mut test: Vec<TestCondition> = shared[..n_test]
        .iter()
        .map(|(label, c)| TestCondition { condition: *c, label: label.clone(), subgroup: Subgroup::NewContext })
        .collect();
    test.sort_by(|a, b| a.label.cmp(&b.label));
    let shot_order: Vec<ConditionId> = shared[n_test..].iter().map(|(_, c)| *c).collect();
    let mut controls = ctx.control_rows();
    if controls.len() < 2 {
        return Err(impossible(format!("context '{}' needs at least 2 control cells", ctx.name)));
    }
    metrics::rng::shuffle(&mut controls, &mut metrics::rng::seeded(seed ^ 0xC0_47_02));
    let n_start = ((controls.len() as f64 * control_test_fraction).round() as usize).clamp(1, controls.len() - 1);
    let mut control_test_rows = controls.split_off(controls.len() - n_start);
    controls.sort_unstable();
    control_test_rows.sort_unstable();
    let (control_train_rows, training_control_test_rows) = split_controls(dataset, control_test_fraction, seed);
    Ok(Split {
        train,
        test,
        control_train_rows,
        control_test_rows: training_control_test_rows,
        train_genes,
        test_sequences: Vec::new(),
        context: Some(ContextSplit { shot_order, control_adapt_rows: controls, control_test_rows }),
    })
}

fn context_parts<'a>(
    instance: &'a TaskInstance<'_>,
) -> Result<(&'a crate::ContextObservations, &'a ContextSplit), TaskError> {
    match (&instance.dataset.context, &instance.split.context) {
        (Some(ctx), Some(split)) => Ok((ctx, split)),
        _ => Err(TaskError::SplitImpossible {
            task: instance.spec.spec.id.clone(),
            dataset: instance.dataset.id.clone(),
            reason: "not a few-shot split (no second context)".into(),
        }),
    }
}

/// Rows of the new context observed under `perturbation`.
fn context_rows(ctx: &crate::ContextObservations, perturbation: &Perturbation) -> Vec<usize> {
    (0..ctx.perturbations.len()).filter(|&r| &ctx.perturbations[r] == perturbation).collect()
}

/// The first `k` shots of the pool (all their new-context cells) and the adaptation controls.
pub fn adaptation_set<'a>(instance: &'a TaskInstance<'_>, k: usize) -> Result<AdaptationSet<'a>, TaskError> {
    let (ctx, split) = context_parts(instance)?;
    let examples = split.shot_order[..k.min(split.shot_order.len())]
        .iter()
        .map(|&c| {
            let perturbation = instance.dataset.condition(c).clone();
            let rows = context_rows(ctx, &perturbation);
            AdaptationExample { cells: ctx.expression.select(&rows), perturbation }
        })
        .collect();
    Ok(AdaptationSet {
        genes: &instance.dataset.genes,
        context: &ctx.name,
        controls: ctx.expression.select(&split.control_adapt_rows),
        examples,
    })
}

/// The new context's references the few-shot metrics take deltas against: μ_ctrl = mean of the
/// adaptation controls, μ_pert = unweighted mean of the whole adaptation pool's centroids (fixed
/// for every k; scoring only — a model sees at most its k shots).
pub fn context_references(instance: &TaskInstance<'_>) -> Result<(Array1<f64>, Array1<f64>), TaskError> {
    let (ctx, split) = context_parts(instance)?;
    let control = ctx.expression.mean_of_rows(&split.control_adapt_rows);
    let mut perturbed = Array1::<f64>::zeros(control.len());
    for &c in &split.shot_order {
        perturbed += &ctx.expression.mean_of_rows(&context_rows(ctx, instance.dataset.condition(c)));
    }
    perturbed /= split.shot_order.len().max(1) as f64;
    Ok((control, perturbed))
}

/// The pooled training view after `k` shots, for refitting baselines: the training context's
/// condition means shifted into the new context (mean − μ_ctrl(training) + μ_ctrl(new)), then the
/// k shots' new-context means; μ_ctrl is the new context's adaptation-control mean and μ_pert
/// their unweighted mean. With k = 0 every effect (mean − μ_ctrl) equals the training context's.
pub fn adapted_instance<'d>(instance: &TaskInstance<'d>, k: usize) -> Result<TaskInstance<'d>, TaskError> {
    let (ctx, split) = context_parts(instance)?;
    let control = ctx.expression.mean_of_rows(&split.control_adapt_rows);
    let shift = &control - &instance.control_mean;
    let mut train_means: Vec<(Perturbation, Array1<f64>)> =
        instance.train_means.iter().map(|(p, m)| (p.clone(), m + &shift)).collect();
    for &c in &split.shot_order[..k.min(split.shot_order.len())] {
        let p = instance.dataset.condition(c).clone();
        let mean = ctx.expression.mean_of_rows(&context_rows(ctx, &p));
        train_means.push((p, mean));
    }
    let mut perturbed_mean = Array1::<f64>::zeros(control.len());
    for (_, m) in &train_means {
        perturbed_mean += m;
    }
    perturbed_mean /= train_means.len() as f64;
    Ok(TaskInstance {
        spec: instance.spec.clone(),
        dataset: instance.dataset,
        split: instance.split.clone(),
        control_mean: control,
        train_means,
        perturbed_mean,
        test_rows: instance.test_rows.clone(),
        start_rows: instance.start_rows.clone(),
    })
}
