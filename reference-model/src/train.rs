//! Training: minibatches of training conditions (their start cells' predicted mean against the
//! observed mean), multi-step rollouts of training sequences (the model's output fed back, a loss
//! after every action), AdamW, and early stopping on a validation split of the training
//! conditions. Every random choice (initialisation, order, start cells, feature dropout) comes
//! from the config's seed, so a CPU run is reproducible bit for bit.

use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use ndarray::{Array1, Array2};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tasks::Perturbation;

use crate::config::{ModelConfig, Provenance, TrainConfig, WEIGHTS_FORMAT};
use crate::data::{FeatureTable, SequenceTarget, TrainingSet};
use crate::error::ReferenceError;
use crate::model::{Encoded, ReferenceModel};
use crate::net::Net;

#[derive(Debug, Clone, PartialEq)]
pub struct EpochReport {
    pub epoch: usize,
    pub train_loss: f64,
    pub validation_loss: Option<f64>,
}

pub struct TrainOutcome {
    pub model: ReferenceModel,
    /// Epoch with the lowest validation loss (the last epoch without validation).
    pub best_epoch: usize,
    pub best_validation_loss: f64,
    pub history: Vec<EpochReport>,
}

/// Early stopping on `validation` while fitting `search` (training conditions minus the
/// validation ones), then a final fit on `full` for the best number of epochs.
pub fn train_with_early_stopping(
    search: &TrainingSet,
    validation: &TrainingSet,
    full: &TrainingSet,
    config: &TrainConfig,
    on_epoch: &mut dyn FnMut(&EpochReport),
) -> Result<TrainOutcome, ReferenceError> {
    let searched = fit(search, Some(validation), config, config.max_epochs, on_epoch)?;
    let mut last = fit(full, None, config, searched.best_epoch, on_epoch)?;
    last.best_epoch = searched.best_epoch;
    last.best_validation_loss = searched.best_validation_loss;
    last.model.config.provenance.epochs = searched.best_epoch;
    last.model.config.provenance.best_validation_loss = searched.best_validation_loss;
    last.history = searched.history.into_iter().chain(last.history).collect();
    Ok(last)
}

/// Fits a fresh model on `set` for at most `epochs` epochs; with `validation`, stops after
/// `patience` epochs without improvement and reports the best epoch.
pub fn fit(
    set: &TrainingSet,
    validation: Option<&TrainingSet>,
    config: &TrainConfig,
    epochs: usize,
    on_epoch: &mut dyn FnMut(&EpochReport),
) -> Result<TrainOutcome, ReferenceError> {
    set.validate()?;
    if let Some(v) = validation {
        v.validate()?;
    }
    let device = Device::Cpu;
    let features = standardise(&set.features);
    let (fp, fo) = (features.prior.ncols(), features.observed.ncols());
    let net = Net::init(set.n_state(), fp + fo, fp, config.hidden, config.latent, config.seed, &device)?;
    let model_config = ModelConfig {
        format: WEIGHTS_FORMAT.into(),
        genes: set.genes.clone(),
        proteins: set.proteins.clone(),
        protein_factor: set.protein_factor(),
        feature_genes: features.genes.clone(),
        n_prior_features: fp,
        effect_genes: features.effect_genes.clone(),
        n_observed_features: fo,
        train: config.clone(),
        provenance: Provenance::default(),
    };
    let mut model = ReferenceModel::assemble(model_config, net, set.centre(), set.effect_scale(), features, device)?;
    let vars = model.net.named_vars().into_iter().map(|(_, v)| v.clone()).collect();
    let params = ParamsAdamW { lr: config.learning_rate, weight_decay: config.weight_decay, ..ParamsAdamW::default() };
    let mut opt = AdamW::new(vars, params)?;
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x7EA1_1A11);
    let mut history = Vec::new();
    let (mut best_epoch, mut best_loss) = (epochs, f64::INFINITY);
    for epoch in 1..=epochs {
        let mut losses = Vec::new();
        let mut order: Vec<usize> = (0..set.conditions.len()).collect();
        shuffle(&mut order, &mut rng);
        for chunk in order.chunks(config.conditions_per_batch.max(1)) {
            let conditions: Vec<&(Perturbation, Array1<f32>)> = chunk.iter().map(|&i| &set.conditions[i]).collect();
            let loss = condition_loss(&model, &set.starts, &conditions, config, Some(&mut rng))?;
            opt.backward_step(&loss)?;
            losses.push(f64::from(loss.to_scalar::<f32>()?));
        }
        let mut order: Vec<usize> = (0..set.sequences.len()).collect();
        shuffle(&mut order, &mut rng);
        for chunk in order.chunks(config.conditions_per_batch.max(1)) {
            let sequences: Vec<&SequenceTarget> = chunk.iter().map(|&i| &set.sequences[i]).collect();
            let loss = rollout_loss(&model, &set.starts, &sequences, config, Some(&mut rng))?;
            opt.backward_step(&loss)?;
            losses.push(f64::from(loss.to_scalar::<f32>()?));
        }
        let validation_loss = validation.map(|v| validation_loss(&model, v, config)).transpose()?;
        let report =
            EpochReport { epoch, train_loss: losses.iter().sum::<f64>() / losses.len().max(1) as f64, validation_loss };
        on_epoch(&report);
        history.push(report);
        if let Some(v) = validation_loss {
            if v < best_loss {
                (best_loss, best_epoch) = (v, epoch);
            } else if epoch - best_epoch >= config.patience {
                break;
            }
        }
    }
    model.refresh()?;
    Ok(TrainOutcome { model, best_epoch, best_validation_loss: best_loss, history })
}

/// Validation loss: every condition and sequence of `set`, fixed start cells, no dropout.
fn validation_loss(model: &ReferenceModel, set: &TrainingSet, config: &TrainConfig) -> Result<f64, ReferenceError> {
    let (mut total, mut weight) = (0.0, 0.0);
    let conditions: Vec<_> = set.conditions.iter().collect();
    for chunk in conditions.chunks(64) {
        total += f64::from(condition_loss(model, &set.starts, chunk, config, None)?.to_scalar::<f32>()?)
            * chunk.len() as f64;
        weight += chunk.len() as f64;
    }
    let sequences: Vec<_> = set.sequences.iter().collect();
    for chunk in sequences.chunks(64) {
        total +=
            f64::from(rollout_loss(model, &set.starts, chunk, config, None)?.to_scalar::<f32>()?) * chunk.len() as f64;
        weight += chunk.len() as f64;
    }
    Ok(total / weight.max(1.0))
}

/// Start cells of one example: `cells_per_condition` random rows, or the first rows without an rng.
fn sample_starts(starts: &Array2<f32>, config: &TrainConfig, rng: &mut Option<&mut ChaCha8Rng>) -> Vec<usize> {
    let b = config.cells_per_condition.clamp(1, starts.nrows());
    match rng {
        Some(r) => (0..b).map(|_| r.random_range(0..starts.nrows())).collect(),
        None => (0..b).collect(),
    }
}

/// Encodes each action once (observed features dropped at random when training) and repeats it
/// for its `b` start cells.
fn encode_repeated(
    model: &ReferenceModel,
    actions: &[&Perturbation],
    b: usize,
    config: &TrainConfig,
    rng: &mut Option<&mut ChaCha8Rng>,
) -> Encoded {
    let mut keep = |_: usize, _: usize| match rng {
        Some(r) => r.random::<f64>() >= config.observed_dropout,
        None => true,
    };
    let enc = model.encode(actions, &mut keep);
    let rows = actions.len().max(1);
    let repeat = |v: &[f32]| -> Vec<f32> {
        v.chunks_exact((v.len() / rows).max(1)).flat_map(|row| std::iter::repeat_n(row, b).flatten().copied()).collect()
    };
    Encoded { u: repeat(&enc.u), p: repeat(&enc.p), s: repeat(&enc.s), action_row: None }
}

/// Mean squared error (normalised space) between each example's predicted mean and its target.
fn mean_error(pred: &Tensor, targets: &Tensor, b: usize) -> candle_core::Result<Tensor> {
    let (rows, n) = pred.dims2()?;
    pred.reshape((rows / b, b, n))?.mean(1)?.sub(targets)?.sqr()?.mean_all()
}

pub(crate) fn condition_loss(
    model: &ReferenceModel,
    starts: &Array2<f32>,
    conditions: &[&(Perturbation, Array1<f32>)],
    config: &TrainConfig,
    mut rng: Option<&mut ChaCha8Rng>,
) -> candle_core::Result<Tensor> {
    let mut x = Vec::new();
    let mut b = 0;
    for _ in conditions {
        let rows = sample_starts(starts, config, &mut rng);
        b = rows.len();
        x.extend(rows.iter().flat_map(|&r| starts.row(r).to_vec()));
    }
    let actions: Vec<&Perturbation> = conditions.iter().map(|(p, _)| p).collect();
    let enc = encode_repeated(model, &actions, b, config, &mut rng);
    let pred = model.forward_train(&model.batch(model.normalise_states(x)?, enc)?)?;
    let targets: Vec<&Array1<f32>> = conditions.iter().map(|(_, m)| m).collect();
    mean_error(&pred, &model.normalise(&targets)?, b)
}

/// Rolls every sequence out from its start cells, feeding predictions back; the loss averages
/// the error after every action of every sequence.
fn rollout_loss(
    model: &ReferenceModel,
    starts: &Array2<f32>,
    sequences: &[&SequenceTarget],
    config: &TrainConfig,
    mut rng: Option<&mut ChaCha8Rng>,
) -> candle_core::Result<Tensor> {
    let mut sorted = sequences.to_vec();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.actions.len()));
    let mut x = Vec::new();
    let mut b = 0;
    for _ in &sorted {
        let rows = sample_starts(starts, config, &mut rng);
        b = rows.len();
        x.extend(rows.iter().flat_map(|&r| starts.row(r).to_vec()));
    }
    let mut state = model.normalise_states(x)?;
    let mut total: Option<Tensor> = None;
    let mut count = 0usize;
    for k in 0..sorted[0].actions.len() {
        let active = sorted.iter().take_while(|s| s.actions.len() > k).count();
        state = state.narrow(0, 0, active * b)?;
        let actions: Vec<&Perturbation> = sorted[..active].iter().map(|s| &s.actions[k]).collect();
        let enc = encode_repeated(model, &actions, b, config, &mut rng);
        state = model.forward_train(&model.batch(state, enc)?)?;
        let targets: Vec<&Array1<f32>> = sorted[..active].iter().map(|s| &s.means[k]).collect();
        let err = (mean_error(&state, &model.normalise(&targets)?, b)? * active as f64)?;
        total = Some(match total {
            Some(t) => (t + err)?,
            None => err,
        });
        count += active;
    }
    total.expect("sequences are non-empty") / count as f64
}

/// Feature columns scaled for training: prior columns centred and scaled to unit variance over
/// the table's genes; observed columns scaled (not centred, so a gene without an observed effect
/// keeps zeros). Constant columns become zero.
fn standardise(table: &FeatureTable) -> FeatureTable {
    let mut prior = table.prior.clone();
    for mut col in prior.columns_mut() {
        let mean = col.mean().unwrap_or(0.0);
        let sd = col.mapv(|v| (v - mean).powi(2)).mean().unwrap_or(0.0).sqrt();
        col.mapv_inplace(|v| if sd > 1e-8 { (v - mean) / sd } else { 0.0 });
    }
    let mut observed = table.observed.clone();
    let rms = (observed.mapv(|v| v * v).sum() / observed.iter().filter(|v| **v != 0.0).count().max(1) as f32).sqrt();
    if rms > 1e-8 {
        observed.mapv_inplace(|v| v / rms);
    }
    FeatureTable { prior, observed, ..table.clone() }
}

fn shuffle(v: &mut [usize], rng: &mut ChaCha8Rng) {
    for i in (1..v.len()).rev() {
        v.swap(i, rng.random_range(0..=i));
    }
}
