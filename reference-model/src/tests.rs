//! Unit tests on a toy training set with a planted effect: determinism, save/load, action
//! embeddings of unseen genes, learning, the gene-panel check and the protein head.

use ndarray::{Array1, Array2};
use tasks::{Direction, Perturbation};

use crate::{FeatureTable, ReferenceModel, SequenceTarget, TrainConfig, TrainingSet, fit, train_with_early_stopping};

const N: usize = 12;

fn gene(i: usize) -> String {
    format!("g{i}")
}

fn kd(genes: &[usize]) -> Perturbation {
    Perturbation::from_genes(genes.iter().map(|&g| (gene(g), Direction::Knockdown)))
}

/// Knocking down gene j lowers j by 1 and shifts gene (j + 1) % N by the sign of a feature.
fn effect(j: usize) -> Array1<f32> {
    let mut e = Array1::zeros(N);
    e[j] = -1.0;
    e[(j + 1) % N] += if j.is_multiple_of(2) { 0.5 } else { -0.5 };
    e
}

fn set(train: &[usize]) -> TrainingSet {
    let starts = Array2::from_shape_fn((20, N), |(r, g)| 2.0 + 0.1 * ((r * 7 + g * 3) % 5) as f32);
    let centre = starts.mean_axis(ndarray::Axis(0)).unwrap();
    // Prior: the parity that decides the sign of the downstream effect, and the ring position.
    let genes: Vec<String> = (0..N).map(gene).collect();
    let angle = |g: usize| std::f32::consts::TAU * g as f32 / N as f32;
    let prior = Array2::from_shape_fn((N, 3), |(g, k)| match k {
        0 => (g % 2) as f32,
        1 => angle(g).cos(),
        _ => angle(g).sin(),
    });
    let mut observed = Array2::zeros((N, 2));
    for &j in train {
        observed[[j, 0]] = effect(j)[j];
        observed[[j, 1]] = 1.0;
    }
    TrainingSet {
        genes: genes.clone(),
        proteins: Vec::new(),
        features: FeatureTable {
            genes,
            prior,
            observed,
            effect_genes: train.iter().map(|&j| gene(j)).collect(),
            effects: Array2::from_shape_fn((train.len(), N), |(i, g)| effect(train[i])[g]),
        },
        starts,
        conditions: train.iter().map(|&j| (kd(&[j]), &centre + &effect(j))).collect(),
        sequences: vec![SequenceTarget {
            actions: vec![kd(&[train[0]]), kd(&[train[1]])],
            means: vec![&centre + &effect(train[0]), &centre + &effect(train[0]) + effect(train[1])],
        }],
    }
}

fn config(seed: u64) -> TrainConfig {
    TrainConfig {
        hidden: 16,
        latent: 8,
        max_epochs: 30,
        patience: 10,
        cells_per_condition: 4,
        seed,
        ..TrainConfig::default()
    }
}

fn train(seed: u64, epochs: usize) -> ReferenceModel {
    fit(&set(&[0, 1, 2, 3, 4, 5, 6, 7]), None, &config(seed), epochs, &mut |_| {}).unwrap().model
}

fn predict(model: &ReferenceModel, p: &Perturbation) -> Vec<f32> {
    let s = set(&[0, 1]).starts;
    let perts = vec![p.clone(); s.nrows()];
    model.predict_states(s.view(), &perts).unwrap().mean_axis(ndarray::Axis(0)).unwrap().to_vec()
}

#[test]
fn same_seed_gives_identical_weights_and_another_seed_does_not() {
    let a = train(7, 5).to_safetensors().unwrap();
    assert_eq!(a, train(7, 5).to_safetensors().unwrap());
    assert_ne!(a, train(8, 5).to_safetensors().unwrap());
}

/// Writes the model's files into `dir`; returns the weights' and the config's paths.
fn save(model: &ReferenceModel, dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let [(w, wb), (c, cb)] = model.files().unwrap();
    std::fs::write(dir.join(w), wb).unwrap();
    std::fs::write(dir.join(c), cb).unwrap();
    (dir.join(w), dir.join(c))
}

#[test]
fn save_and_load_round_trip_gives_identical_predictions() {
    let model = train(1, 5);
    let dir = tempfile::tempdir().unwrap();
    let (weights, config) = save(&model, dir.path());
    assert!(config.is_file());
    let loaded = ReferenceModel::load(&weights).unwrap();
    assert_eq!(loaded.config, model.config);
    assert_eq!(tasks::Model::fingerprint(&loaded), tasks::Model::fingerprint(&model));
    for p in [kd(&[0]), kd(&[9]), kd(&[2, 10])] {
        assert_eq!(predict(&loaded, &p), predict(&model, &p));
    }
}

#[test]
fn unseen_genes_get_a_nonzero_action_and_the_control_a_zero_one() {
    let model = train(2, 5);
    let unseen = model.action_embedding(&kd(&[10])).unwrap();
    assert!(unseen.iter().any(|v| v.abs() > 1e-4), "{unseen:?}");
    assert_ne!(unseen, model.action_embedding(&kd(&[11])).unwrap());
    assert!(model.action_embedding(&Perturbation::control()).unwrap().iter().all(|v| *v == 0.0));
    // A combination sums its genes' features, so it differs from either single.
    let combo = model.action_embedding(&kd(&[10, 11])).unwrap();
    assert_ne!(combo, unseen);
}

#[test]
fn training_learns_the_planted_effect_of_seen_and_unseen_genes() {
    let untrained = train(3, 0);
    let trained = train(3, 200);
    let centre = set(&[0, 1]).centre();
    let err = |m: &ReferenceModel, j: usize| -> f32 {
        let truth = &centre + &effect(j);
        predict(m, &kd(&[j])).iter().zip(&truth).map(|(a, b)| (a - b).powi(2)).sum()
    };
    // Seen genes are fitted closely (their observed effect feeds the additive path); an unseen
    // gene's effect is learned from its prior features.
    for j in [0usize, 5] {
        let no_change: f32 = effect(j).iter().map(|v| v * v).sum();
        assert!(err(&trained, j) < 0.1 * no_change, "gene {j}: {} vs {no_change}", err(&trained, j));
    }
    for j in [9usize, 10] {
        assert!(
            err(&trained, j) < 0.75 * err(&untrained, j),
            "gene {j}: {} vs {}",
            err(&trained, j),
            err(&untrained, j)
        );
    }
    // The held-out genes' own level drops (the direct head learned it from the prior features).
    let p = predict(&trained, &kd(&[10]));
    assert!(p[10] < centre[10] - 0.3, "{} vs {}", p[10], centre[10]);
}

#[test]
fn early_stopping_reports_a_best_epoch_and_refits_for_it() {
    let search = set(&[0, 1, 2, 3, 4, 5]);
    let mut validation = set(&[6, 7]);
    validation.features = search.features.clone();
    let full = set(&[0, 1, 2, 3, 4, 5, 6, 7]);
    let mut epochs = Vec::new();
    let out =
        train_with_early_stopping(&search, &validation, &full, &config(4), &mut |r| epochs.push(r.clone())).unwrap();
    assert!(out.best_epoch >= 1 && out.best_epoch <= 30);
    let searched = epochs.iter().filter(|r| r.validation_loss.is_some()).count();
    assert!(searched >= out.best_epoch && searched <= out.best_epoch + 10, "{searched} {}", out.best_epoch);
    assert_eq!(epochs.iter().filter(|r| r.validation_loss.is_none()).count(), out.best_epoch);
    assert_eq!(out.model.config.provenance.epochs, out.best_epoch);
}

#[test]
fn weights_for_another_panel_are_refused_naming_the_file() {
    let model = train(5, 1);
    let other: Vec<String> = (0..N).map(|i| format!("x{i}")).collect();
    let path = std::path::Path::new("/tmp/some/weights.safetensors");
    let err = model.check_genes(path, "sim-unseen-single", &other).unwrap_err().to_string();
    assert!(
        err.contains("/tmp/some/weights.safetensors") && err.contains("arena train-reference --task sim-unseen-single"),
        "{err}"
    );
    assert!(model.check_genes(path, "t", model.genes()).is_ok());
    let batch_genes = tasks::GenePanel::new(other).unwrap();
    let start = Array2::<f32>::zeros((1, N));
    let perts = vec![kd(&[0])];
    let q = tasks::QueryBatch::new(&batch_genes, start.view(), &perts);
    assert!(tasks::Model::predict(&model, &q).is_err());
}

/// Proteins P0, P1 read genes 0 and 1 at 3x their change: `set` with the two protein columns.
fn set_with_proteins(train: &[usize]) -> TrainingSet {
    let rna = set(train);
    let with = |m: &Array1<f32>, c: &Array1<f32>| -> Array1<f32> {
        let p = [10.0 + 3.0 * (m[0] - c[0]), 20.0 + 3.0 * (m[1] - c[1])];
        ndarray::concatenate![ndarray::Axis(0), m.view(), Array1::from(p.to_vec()).view()]
    };
    let centre = rna.centre();
    let starts = Array2::from_shape_fn((rna.starts.nrows(), N + 2), |(r, j)| match j {
        j if j < N => rna.starts[[r, j]],
        j => with(&rna.starts.row(r).to_owned(), &centre)[j],
    });
    let effects = Array2::from_shape_fn((train.len(), N + 2), |(i, j)| match j {
        j if j < N => effect(train[i])[j],
        j => 3.0 * effect(train[i])[j - N],
    });
    TrainingSet {
        proteins: vec!["P0".into(), "P1".into()],
        starts,
        conditions: rna.conditions.iter().map(|(p, m)| (p.clone(), with(m, &centre))).collect(),
        sequences: Vec::new(),
        features: FeatureTable { effects, ..rna.features.clone() },
        ..rna
    }
}

#[test]
fn the_protein_head_predicts_both_modalities_from_one_latent_and_survives_a_round_trip() {
    let data = set_with_proteins(&[0, 1, 2, 3, 4, 5, 6, 7]);
    let model = fit(&data, None, &config(6), 200, &mut |_| {}).unwrap().model;
    assert_eq!(model.config.proteins, ["P0", "P1"]);
    assert!(model.config.protein_factor > 0.0 && model.config.protein_factor.is_finite());
    let genes = tasks::GenePanel::new(model.genes().to_vec()).unwrap();
    let start = data.starts.slice(ndarray::s![.., ..N]).to_owned();
    let start_protein = data.starts.slice(ndarray::s![.., N..]).to_owned();
    let predict_both = |m: &ReferenceModel, j: usize| {
        let perts = vec![kd(&[j]); start.nrows()];
        let q = tasks::QueryBatch {
            start_protein: Some(start_protein.view()),
            ..tasks::QueryBatch::new(&genes, start.view(), &perts)
        };
        let rna = tasks::Model::predict(m, &q).unwrap();
        let protein = tasks::Model::predict_protein(m, &q).unwrap().expect("a model with proteins answers");
        (rna, protein)
    };
    let (rna, protein) = predict_both(&model, 0);
    assert_eq!(rna.dim(), (start.nrows(), N));
    assert_eq!(protein.dim(), (start.nrows(), 2));
    // Knocking down gene 0 lowers it by 1, so P0 (3x gene 0) falls by about 3; P1 moves by 3x
    // the planted +0.5 on gene 1.
    let mean = |m: &Array2<f32>, k: usize| m.column(k).mean().unwrap();
    let p0 = mean(&protein, 0) - mean(&start_protein, 0);
    let p1 = mean(&protein, 1) - mean(&start_protein, 1);
    assert!((p0 + 3.0).abs() < 0.6, "P0 change {p0}");
    assert!((p1 - 1.5).abs() < 0.6, "P1 change {p1}");
    assert!((mean(&rna, 0) - mean(&start, 0) + 1.0).abs() < 0.2);
    // A query without proteins still gets expression; the protein head then has nothing to say.
    let perts = vec![kd(&[0]); start.nrows()];
    let q = tasks::QueryBatch::new(&genes, start.view(), &perts);
    assert_eq!(tasks::Model::predict(&model, &q).unwrap().dim(), (start.nrows(), N));
    assert_eq!(tasks::Model::predict_protein(&model, &q).unwrap(), None);
    // Saved and loaded: the same predictions of both modalities.
    let dir = tempfile::tempdir().unwrap();
    let (weights, _) = save(&model, dir.path());
    let loaded = ReferenceModel::load(&weights).unwrap();
    assert_eq!(loaded.config, model.config);
    assert_eq!(predict_both(&loaded, 3), predict_both(&model, 3));
}

#[test]
fn a_model_without_proteins_writes_no_protein_fields_into_its_config() {
    let dir = tempfile::tempdir().unwrap();
    let (_, config) = save(&train(9, 1), dir.path());
    let text = std::fs::read_to_string(config).unwrap();
    assert!(!text.contains("protein"), "{text}");
}

/// `fine_tune` adapts a copy on the shots: the same shots and seed give the same weights bit for
/// bit, another seed others, the original is untouched, no shots change nothing, and the shots'
/// own predictions move toward their (new-context) targets.
#[test]
fn fine_tuning_on_shots_is_seeded_leaves_the_original_and_fits_the_shots() {
    use crate::AdaptConfig;
    let model = train(4, 30);
    let before = model.to_safetensors().unwrap();
    let (starts, centre) = (set(&[0, 1]).starts, set(&[0, 1]).centre());
    // The new context: every planted effect doubled.
    let target = |j: usize| &centre + &(effect(j) * 2.0);
    let shots: Vec<(Perturbation, Array1<f32>)> = [0usize, 3, 9].iter().map(|&j| (kd(&[j]), target(j))).collect();
    let config = AdaptConfig { steps: 30, learning_rate: 3e-3, seed: 5 };
    let a = model.fine_tune(&starts, &shots, &config).unwrap();
    assert_eq!(
        a.to_safetensors().unwrap(),
        model.fine_tune(&starts, &shots, &config).unwrap().to_safetensors().unwrap()
    );
    let other = model.fine_tune(&starts, &shots, &AdaptConfig { seed: 6, ..config }).unwrap();
    assert_ne!(a.to_safetensors().unwrap(), other.to_safetensors().unwrap());
    assert_eq!(model.to_safetensors().unwrap(), before, "the original must not change");
    assert_eq!(model.fine_tune(&starts, &[], &config).unwrap().to_safetensors().unwrap(), before);
    let err = |m: &ReferenceModel| -> f32 {
        [0usize, 3, 9]
            .iter()
            .map(|&j| predict(m, &kd(&[j])).iter().zip(&target(j)).map(|(p, t)| (p - t).powi(2)).sum::<f32>())
            .sum()
    };
    assert!(err(&a) < 0.8 * err(&model), "adapted {} vs unadapted {}", err(&a), err(&model));
}

/// `Model::adapt` fine-tunes on the set's shots (start cells: its controls; targets: the shots'
/// cell means) and does not adapt without shots.
#[test]
fn adapt_uses_the_shots_of_the_adaptation_set_and_not_k_0() {
    use tasks::{AdaptationExample, AdaptationSet, GenePanel, Model};
    let model = train(4, 30);
    let panel = GenePanel::new((0..N).map(gene).collect()).unwrap();
    let controls = set(&[0, 1]).starts;
    let shifted = |j: usize| controls.mapv(|v| v) + &(effect(j) * 2.0);
    let mut set = AdaptationSet { genes: &panel, context: "B", controls: controls.clone(), examples: Vec::new() };
    assert!(model.adapt(&set).unwrap().is_none(), "k = 0 does not adapt");
    set.examples =
        [0usize, 3, 9].iter().map(|&j| AdaptationExample { perturbation: kd(&[j]), cells: shifted(j) }).collect();
    let adapted = model.adapt(&set).unwrap().expect("adapted with shots");
    assert_eq!(adapted.name(), model.name());
    let again = model.adapt(&set).unwrap().unwrap();
    assert_eq!(adapted.fingerprint(), again.fingerprint(), "adaptation is deterministic");
    assert_ne!(adapted.fingerprint(), model.fingerprint());
    let perts = vec![kd(&[3]); controls.nrows()];
    let batch = tasks::QueryBatch::new(&panel, controls.view(), &perts);
    assert_eq!(adapted.predict(&batch).unwrap(), again.predict(&batch).unwrap());
    assert_ne!(adapted.predict(&batch).unwrap(), model.predict(&batch).unwrap());
}
