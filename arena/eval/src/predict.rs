//! Runs a model on a task's test queries: each item's actions are applied in turn to the same
//! start states (the model's output fed back as the next start state), and the final states are
//! averaged into one profile per item. Reports throughput. [`predict_means_of`] predicts a
//! contiguous run of the items only (a shard of `arena eval --shard K/N`): each item's mean is
//! the same, bit for bit, as in a run over all items, whenever the model answers each query row
//! on its own (the calls group whole items, and a mean sums its item's rows in order).

use std::ops::Range;
use std::time::Instant;

use ndarray::{Array1, Array2, ArrayView2, Axis, Zip, s};
use tasks::{Model, QueryBatch, TaskError, TaskInstance};

/// Predicted mean profile per scored item (order of `instance.eval_items()`), the query rows
/// the model answered, and rows predicted per second.
pub struct Predicted {
    pub means: Vec<Vec<f64>>,
    pub rows: usize,
    pub rows_per_second: f64,
}

/// Values (rows x genes) per model call: items are stacked until a call holds about this many
/// (at least one item). Large enough for full ONNX batches (1,024 rows of 2,000 genes, the
/// runner's default batch), small enough that memory stays bounded on wide gene panels and a
/// call's output (8 MB) stays in cache for the means and is reused by the allocator for the next
/// call instead of being faulted in again (4,096-row calls spent about twice as long outside
/// ONNX Runtime on the bench/onnx_throughput.sh model).
const VALUES_PER_CALL: usize = 2_000_000;

pub fn predict_means(instance: &TaskInstance<'_>, model: &dyn Model) -> Result<Predicted, TaskError> {
    predict_means_in_calls_of(instance, model, None, VALUES_PER_CALL)
}

/// [`predict_means`] of the items `range` of `instance.eval_items()` only (their means, in order).
pub fn predict_means_of(
    instance: &TaskInstance<'_>,
    model: &dyn Model,
    range: Range<usize>,
) -> Result<Predicted, TaskError> {
    predict_means_in_calls_of(instance, model, Some(range), VALUES_PER_CALL)
}

/// [`predict_means`] of the items `range` (all when `None`) with calls of about `values_per_call`
/// values.
fn predict_means_in_calls_of(
    instance: &TaskInstance<'_>,
    model: &dyn Model,
    range: Option<Range<usize>>,
    values_per_call: usize,
) -> Result<Predicted, TaskError> {
    let start = instance.start_states();
    let per_item = start.nrows();
    let mut items = instance.eval_items();
    if let Some(range) = range {
        if range.end > items.len() || range.start > range.end {
            return Err(TaskError::Model {
                model: model.name().to_string(),
                reason: format!("items {range:?} asked of a task with {} test items", items.len()),
            });
        }
        items.truncate(range.end);
        items.drain(..range.start);
    }
    let items_per_call = (values_per_call / (per_item * start.ncols()).max(1)).clamp(1, items.len().max(1));
    // The start states stacked once per item of a call, built once: every call starts from a
    // prefix of it, and a step's output replaces it (it is never written to).
    let stacked = ndarray::concatenate(Axis(0), &vec![start.view(); items_per_call]).map_err(|e| TaskError::Model {
        model: model.name().to_string(),
        reason: format!("cannot stack start states: {e}"),
    })?;
    let started = Instant::now();
    let mut rows = 0usize;
    let mut means = Vec::with_capacity(items.len());
    let mut perturbations = Vec::new();
    for chunk in items.chunks(items_per_call) {
        // One block of `per_item` rows per item; `None` while still the start states.
        let mut state: Option<Array2<f32>> = None;
        let initial = stacked.slice(s![..chunk.len() * per_item, ..]);
        let longest = chunk.iter().map(|item| item.actions.len()).max().unwrap_or(0);
        for step in 0..longest {
            // Items still acting at this step advance together; finished items keep their state.
            let active: Vec<usize> = (0..chunk.len()).filter(|&k| chunk[k].actions.len() > step).collect();
            perturbations.clear();
            perturbations
                .extend(active.iter().flat_map(|&k| std::iter::repeat_n(chunk[k].actions[step].clone(), per_item)));
            // The last step's finiteness is checked on the means below (one pass fewer).
            let check = step + 1 < longest;
            let current = state.as_ref().map_or(initial, |s| s.view());
            if active.len() == chunk.len() {
                let out = step_batch(
                    instance,
                    model,
                    QueryBatch::new(&instance.dataset.genes, current, &perturbations),
                    check,
                )?;
                rows += out.nrows();
                state = Some(out);
            } else {
                let active_rows: Vec<usize> = active.iter().flat_map(|&k| k * per_item..(k + 1) * per_item).collect();
                let selected = current.select(Axis(0), &active_rows);
                let query = QueryBatch::new(&instance.dataset.genes, selected.view(), &perturbations);
                let out = step_batch(instance, model, query, check)?;
                rows += out.nrows();
                let state = state.get_or_insert_with(|| initial.to_owned());
                for (local, &row) in active_rows.iter().enumerate() {
                    state.row_mut(row).assign(&out.row(local));
                }
            }
        }
        let finals = state.as_ref().map_or(initial, |s| s.view());
        for (k, item) in chunk.iter().enumerate() {
            let block = finals.slice(s![k * per_item..(k + 1) * per_item, ..]);
            let mean = column_means(block);
            if mean.iter().any(|v| !v.is_finite()) {
                // A sum of finite f32 values is finite in f64: some prediction is not.
                let last = item.actions.last().cloned().unwrap_or_else(tasks::Perturbation::control);
                check_finite(instance, model, block, &vec![last; per_item])?;
            }
            means.push(mean);
        }
    }
    let seconds = started.elapsed().as_secs_f64().max(1e-9);
    Ok(Predicted { means, rows, rows_per_second: rows as f64 / seconds })
}

/// Column means in f64, one pass over the rows.
fn column_means(block: ArrayView2<'_, f32>) -> Vec<f64> {
    let mut sum = Array1::<f64>::zeros(block.ncols());
    for row in block.rows() {
        Zip::from(&mut sum).and(&row).for_each(|s, &v| *s += f64::from(v));
    }
    let n = block.nrows().max(1) as f64;
    sum.iter().map(|v| v / n).collect()
}

/// One model step x' = M(x, a) for every row of `state`, checked for shape and finiteness.
pub(crate) fn step(
    instance: &TaskInstance<'_>,
    model: &dyn Model,
    state: &Array2<f32>,
    perturbation: &tasks::Perturbation,
) -> Result<Array2<f32>, TaskError> {
    step_batch(
        instance,
        model,
        QueryBatch::new(&instance.dataset.genes, state.view(), &vec![perturbation.clone(); state.nrows()]),
        true,
    )
}

/// [`step`] for paired cells: the model is also given their proteins (cross-modal tasks), so its
/// expression answer is the one its protein head pairs with.
pub(crate) fn step_paired(
    instance: &TaskInstance<'_>,
    model: &dyn Model,
    batch: &QueryBatch<'_>,
) -> Result<Array2<f32>, TaskError> {
    step_batch(instance, model, *batch, true)
}

/// One model step with a perturbation per row, checked for shape and (with `check_values`)
/// finiteness.
fn step_batch(
    instance: &TaskInstance<'_>,
    model: &dyn Model,
    query: QueryBatch<'_>,
    check_values: bool,
) -> Result<Array2<f32>, TaskError> {
    let (state, perturbations) = (query.start, query.perturbations);
    let out = model.predict(&query)?;
    if out.dim() != state.dim() {
        return Err(TaskError::Model {
            model: model.name().to_string(),
            reason: format!("returned a {:?} matrix for a {:?} query", out.dim(), state.dim()),
        });
    }
    if check_values {
        check_finite(instance, model, out.view(), perturbations)?;
    }
    Ok(out)
}

/// Refuses a non-finite prediction, naming the gene and the perturbation it came from.
fn check_finite(
    instance: &TaskInstance<'_>,
    model: &dyn Model,
    out: ArrayView2<'_, f32>,
    perturbations: &[tasks::Perturbation],
) -> Result<(), TaskError> {
    // Fast scan first; locate the offending value only when there is one.
    if out.iter().all(|v| v.is_finite()) {
        return Ok(());
    }
    match out.indexed_iter().find(|(_, v)| !v.is_finite()) {
        Some(((r, c), v)) => Err(TaskError::Model {
            model: model.name().to_string(),
            reason: format!(
                "predicted {v} for gene '{}' (row {r}) under perturbation '{}'; predictions must be finite",
                instance.dataset.genes.names()[c],
                perturbations[r]
            ),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tasks::{Dataset, Direction, GenePanel, ModelKind, Observation, Perturbation, Scale};

    const GENES: [&str; 5] = ["A", "B", "C", "D", "E"];

    /// Every single twice, controls in between; values exact in f32.
    fn instance_data() -> Dataset {
        let mut labels = Vec::new();
        let mut rows: Vec<f32> = Vec::new();
        for (g, name) in GENES.iter().enumerate() {
            for _ in 0..2 {
                labels.push(Perturbation::single(*name, Direction::Knockdown));
                rows.extend((0..GENES.len()).map(|k| (g + k) as f32));
            }
            for c in 0..3 {
                labels.push(Perturbation::control());
                rows.extend((0..GENES.len()).map(|k| 1.0 + 0.25 * (k + c + g) as f32));
            }
        }
        let x = Array2::from_shape_vec((labels.len(), GENES.len()), rows).unwrap();
        let panel = GenePanel::new(GENES.iter().map(|s| s.to_string()).collect()).unwrap();
        Dataset::new("toy", "", panel, Scale::LogNormalized, Observation::SingleCell, x, labels).unwrap()
    }

    fn spec() -> tasks::LoadedSpec {
        tasks::spec::toy_spec(
            "rule = \"unseen-single\"\ntest_fraction = 0.6\ncontrol_test_fraction = 0.5",
            0,
            &["mae"],
            &[],
        )
    }

    /// x' = x + (index of the perturbed gene + 1); NaN in gene `nan_gene` under `nan_target`.
    struct Shift {
        nan: Option<(&'static str, usize)>,
    }

    fn target(p: &Perturbation) -> &str {
        p.genes().next().unwrap_or("")
    }

    fn shift_of(p: &Perturbation) -> f32 {
        GENES.iter().position(|g| *g == target(p)).map_or(0.0, |i| i as f32 + 1.0)
    }

    impl Model for Shift {
        fn name(&self) -> &str {
            "shift"
        }
        fn kind(&self) -> ModelKind {
            ModelKind::Baseline
        }
        fn fingerprint(&self) -> String {
            String::new()
        }
        fn predict(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError> {
            let mut out = batch.start.to_owned();
            for (mut row, p) in out.rows_mut().into_iter().zip(batch.perturbations) {
                row += shift_of(p);
                if let Some((gene, column)) = self.nan
                    && target(p) == gene
                {
                    row[column] = f32::NAN;
                }
            }
            Ok(out)
        }
    }

    #[test]
    fn means_are_the_start_means_moved_by_the_model_whatever_the_call_size() {
        let ds = instance_data();
        let inst = TaskInstance::build(spec(), &ds).unwrap();
        let items = inst.eval_items();
        assert!(items.len() >= 2, "the toy task must have several items");
        let start = inst.start_states();
        let start_mean: Vec<f64> =
            start.columns().into_iter().map(|c| c.iter().map(|&v| f64::from(v)).sum::<f64>() / 8.0).collect();
        assert_eq!(start.nrows(), 8);
        for values_per_call in [1, start.len() * 2, usize::MAX / 2] {
            let predicted = predict_means_in_calls_of(&inst, &Shift { nan: None }, None, values_per_call).unwrap();
            assert_eq!(predicted.means.len(), items.len());
            for (item, mean) in items.iter().zip(&predicted.means) {
                let shift = f64::from(shift_of(&item.actions[0]));
                assert!(shift > 0.0, "{}", item.label);
                let expected: Vec<f64> = start_mean.iter().map(|m| m + shift).collect();
                assert_eq!(mean, &expected, "{} with {values_per_call} values per call", item.label);
            }
            assert!(predicted.rows_per_second > 0.0);
        }
    }

    #[test]
    fn runs_of_items_give_the_means_of_the_whole_run_bit_for_bit() {
        let ds = instance_data();
        let inst = TaskInstance::build(spec(), &ds).unwrap();
        let n = inst.eval_items().len();
        let whole = predict_means(&inst, &Shift { nan: None }).unwrap();
        for values_per_call in [1, 80, usize::MAX / 2] {
            let mut joined = Vec::new();
            for range in [0..1, 1..n - 1, n - 1..n] {
                let part = predict_means_in_calls_of(&inst, &Shift { nan: None }, Some(range.clone()), values_per_call);
                let part = part.unwrap();
                assert_eq!(part.rows, range.len() * inst.start_states().nrows());
                joined.extend(part.means);
            }
            assert_eq!(joined, whole.means, "{values_per_call} values per call");
        }
        let err = predict_means_of(&inst, &Shift { nan: None }, n..n + 1).err().expect("out of range").to_string();
        assert!(err.contains(&format!("{n} test items")), "{err}");
    }

    #[test]
    fn a_non_finite_prediction_names_the_gene_and_the_perturbation() {
        let ds = instance_data();
        let inst = TaskInstance::build(spec(), &ds).unwrap();
        let items = inst.eval_items();
        let name = *GENES.iter().find(|g| **g == target(&items[1].actions[0])).unwrap();
        let err = predict_means(&inst, &Shift { nan: Some((name, 3)) }).err().expect("NaN must be refused").to_string();
        assert!(err.contains("NaN") && err.contains("gene 'D'") && err.contains(&format!("'{name}")), "{err}");
    }
}
