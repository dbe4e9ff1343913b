//! The reference model's training inputs from a task instance: only the training view (training
//! conditions, training controls, and for multi-step tasks the sequences not held out). A
//! validation split for early stopping is carved from the training conditions (seeded), and the
//! features of the search fit are built without the validation conditions' effects.

use ndarray::{Array1, Array2, Axis};
use reference_model::{SequenceTarget, TrainingSet};
use tasks::dataset::{Scale, mean_rows};
use tasks::{Perturbation, TaskInstance};

use super::features::{self, Edges};

/// Fraction of the training conditions (and sequences) held out for early stopping.
pub const VALIDATION_FRACTION: f64 = 0.15;

pub struct Prepared {
    /// Training conditions minus the validation ones (features built from these only).
    pub search: TrainingSet,
    pub validation: TrainingSet,
    /// Every training condition: the final fit.
    pub full: TrainingSet,
    pub validation_labels: Vec<String>,
}

pub fn prepare(instance: &TaskInstance<'_>, edges: Option<&Edges>, seed: u64) -> Prepared {
    let ds = instance.dataset;
    let panel = ds.genes.names().to_vec();
    let genes = features::feature_genes(ds);
    let rna_starts = match ds.scale {
        Scale::LogNormalized => ds.select_rows(&instance.split.control_train_rows),
        Scale::LogFoldChange => Array2::zeros((1, panel.len())),
    };
    let proteins = paired_proteins(instance);
    let (proteins, starts, conditions) = match proteins {
        Some(p) => {
            let rows = ds.rows_by_condition();
            let train_rows: Vec<&[usize]> = instance.split.train.iter().map(|c| rows[c.get()].as_slice()).collect();
            let starts = ndarray::concatenate![
                Axis(1),
                rna_starts.view(),
                p.values.select(Axis(0), &instance.split.control_train_rows).view()
            ];
            let conditions = instance
                .train_means
                .iter()
                .zip(&train_rows)
                .map(|((pert, m), rows)| {
                    (pert.clone(), ndarray::concatenate![Axis(0), m.view(), mean_rows(&p.values, rows).view()])
                })
                .collect();
            (p.names.clone(), starts, conditions)
        }
        None => (Vec::new(), rna_starts.clone(), instance.train_means.clone()),
    };
    let control_centre = state_centre(instance, &starts);
    let sequences = training_sequences(instance);
    let mut rng = metrics::rng::seeded(seed ^ 0x5A11_DA7E);
    let held = |len: usize, rng: &mut _| -> Vec<bool> {
        let k = if len >= 4 { ((len as f64 * VALIDATION_FRACTION).ceil() as usize).max(1) } else { 0 };
        let mut order: Vec<usize> = (0..len).collect();
        metrics::rng::shuffle(&mut order, rng);
        let mut mask = vec![false; len];
        order[..k].iter().for_each(|&i| mask[i] = true);
        mask
    };
    let cond_mask = held(conditions.len(), &mut rng);
    let seq_mask = held(sequences.len(), &mut rng);
    let pick = |mask: &[bool], want: bool| -> Vec<usize> { (0..mask.len()).filter(|&i| mask[i] == want).collect() };
    let make = |cond: &[usize], seqs: &[usize]| -> TrainingSet {
        let chosen: Vec<(Perturbation, Array1<f64>)> = cond.iter().map(|&i| conditions[i].clone()).collect();
        let effects: Vec<(Perturbation, Array1<f64>)> =
            chosen.iter().map(|(p, m)| (p.clone(), m - &control_centre)).collect();
        TrainingSet {
            genes: panel.clone(),
            proteins: proteins.clone(),
            features: state_features(&genes, &panel, &rna_starts, &effects, edges),
            starts: starts.clone(),
            conditions: chosen.into_iter().map(|(p, m)| (p, m.mapv(|v| v as f32))).collect(),
            sequences: seqs.iter().map(|&i| sequences[i].clone()).collect(),
        }
    };
    let all_c: Vec<usize> = (0..conditions.len()).collect();
    let all_s: Vec<usize> = (0..sequences.len()).collect();
    let search = make(&pick(&cond_mask, false), &pick(&seq_mask, false));
    let mut validation = make(&pick(&cond_mask, true), &pick(&seq_mask, true));
    validation.features = search.features.clone();
    let validation_labels = pick(&cond_mask, true)
        .iter()
        .map(|&i| conditions[i].0.label())
        .chain(
            pick(&seq_mask, true)
                .iter()
                .map(|&i| sequences[i].actions.iter().map(Perturbation::label).collect::<Vec<_>>().join(">")),
        )
        .collect();
    Prepared { search, validation, full: make(&all_c, &all_s), validation_labels }
}

/// The paired proteins of a cross-modal task (the only family that scores them); `None` for every
/// other task, whose reference model stays RNA only.
fn paired_proteins<'d>(instance: &TaskInstance<'d>) -> Option<&'d tasks::dataset::ProteinPanel> {
    let scored = matches!(instance.spec.spec.split, tasks::spec::SplitRule::CrossModal { .. });
    instance.dataset.protein.as_ref().filter(|_| scored && instance.start_protein().is_some())
}

/// The feature table (built from the genes alone) with its observed single effects over every
/// state column (genes, then proteins: the additive path moves the proteins too).
fn state_features(
    genes: &[String],
    panel: &[String],
    controls: &Array2<f32>,
    effects: &[(Perturbation, Array1<f64>)],
    edges: Option<&Edges>,
) -> reference_model::FeatureTable {
    let n = panel.len();
    if effects.iter().all(|(_, e)| e.len() == n) {
        return features::build(genes, panel, controls, effects, edges);
    }
    let rna: Vec<(Perturbation, Array1<f64>)> =
        effects.iter().map(|(p, e)| (p.clone(), e.slice(ndarray::s![..n]).to_owned())).collect();
    let mut table = features::build(genes, panel, controls, &rna, edges);
    let by_label: std::collections::HashMap<String, &Array1<f64>> =
        effects.iter().map(|(p, e)| (p.label(), e)).collect();
    let width = effects.first().map_or(n, |(_, e)| e.len());
    table.effects = Array2::from_shape_fn((table.effect_genes.len(), width), |(i, j)| {
        by_label.get(&table.effect_genes[i]).map_or(0.0, |e| e[j] as f32)
    });
    table
}

/// The control centre of the state: the task's control mean of the genes, then (with proteins)
/// the training controls' protein mean.
fn state_centre(instance: &TaskInstance<'_>, starts: &Array2<f32>) -> Array1<f64> {
    let n = instance.control_mean.len();
    if starts.ncols() == n {
        return instance.control_mean.clone();
    }
    let proteins = starts.slice(ndarray::s![.., n..]).mapv(f64::from).mean_axis(Axis(0)).unwrap_or_default();
    ndarray::concatenate![Axis(0), instance.control_mean.view(), proteins.view()]
}

/// Sequences a multi-step task lets a model train on (every one not held out); none for other
/// tasks, whose splits do not cover the sequences.
fn training_sequences(instance: &TaskInstance<'_>) -> Vec<SequenceTarget> {
    let (Some(seq), false) = (&instance.dataset.sequences, instance.split.test_sequences.is_empty()) else {
        return Vec::new();
    };
    (0..seq.sequences.len())
        .filter(|i| !instance.split.test_sequences.contains(i))
        .map(|i| SequenceTarget {
            actions: seq.sequences[i].clone(),
            means: seq.rows[i].iter().map(|rows| seq.expression.mean_of_rows(rows).mapv(|v| v as f32)).collect(),
        })
        .collect()
}
