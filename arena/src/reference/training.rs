//! The reference model's training inputs from a task instance: only the training view (training
//! conditions, training controls, and for multi-step tasks the sequences not held out). A
//! validation split for early stopping is carved from the training conditions (seeded), and the
//! features of the search fit are built without the validation conditions' effects.

use ndarray::{Array1, Array2};
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
    let starts = match ds.scale {
        Scale::LogNormalized => ds.select_rows(&instance.split.control_train_rows),
        Scale::LogFoldChange => Array2::zeros((1, panel.len())),
    };
    let conditions: Vec<(Perturbation, Array1<f64>)> = instance.train_means.clone();
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
            chosen.iter().map(|(p, m)| (p.clone(), m - &instance.control_mean)).collect();
        TrainingSet {
            genes: panel.clone(),
            features: features::build(&genes, &panel, &starts, &effects, edges),
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
            means: seq.rows[i].iter().map(|rows| mean_rows(&seq.expression, rows).mapv(|v| v as f32)).collect(),
        })
        .collect()
}
