//! The probe models of `arena audit`: predictions that carry no real knowledge of the
//! perturbation (or a cosmetic manipulation of the submission), behind `tasks::Model` so they go
//! through exactly the evaluation code real models go through.
//!
//! - `probe: perturbed-mean` — the constant μ_pert (training perturbation centroids' mean) for
//!   every cell, whatever was asked (Systema's systematic-variation-only prediction);
//! - `probe: control-mean` — the constant μ_ctrl (training controls' mean) for every cell: a
//!   collapse onto "nothing happens" (on cross-modal tasks with the constant training-control
//!   protein mean). Doing nothing with the real spread kept (x' = x) is the `control-mean`
//!   baseline of every task;
//! - `probe: shuffled` — right effects, wrong labels: item i is answered with the TRUE mean
//!   profile of another test item σ(i) (σ a seeded derangement). It reads held-out truth, so it is
//!   an oracle: it exists only to measure what a metric gives for realistic effects attached to
//!   the wrong perturbation;
//!   On cross-modal tasks it predicts the true protein mean of σ(i) for every cell;
//! - `probe: variance-inflated` — the submission with every predicted cell's deviation from its
//!   item's predicted mean multiplied by 3 (means preserved exactly, see [`VarianceInflated`]);
//! - `probe: log1p` — log1p of the submission's output (sign-preserving for negative values such
//!   as log fold changes): the "log-transform it again" trick of the Virtual Cell Challenge;
//! - `probe: effect ×0.5`, `probe: effect ×2` — the submission's predicted change from each start
//!   cell scaled ([`Scaled`]): a metric that rewards shrinking or inflating an effect;
//! - `probe: target-only`, `probe: perturbed-mean + target` (built in `audit_scored` from means)
//!   — μ_ctrl or μ_pert with each item's perturbed genes set to their TRUE values (oracles of the
//!   target's own change, and nothing else; a [`Lookup`] on the families with their own metrics).
//!
//! The derived probes manipulate the RNA output; on cross-modal tasks they pass the submission's
//! predicted proteins through unchanged.
//!
//! The derived probes need the submission's per-cell output, not just its means: a [`Tape`]
//! records that output while the submission is scored and replays it to the derived probes, so
//! on single-step tasks they cost no extra model call.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::Array2;
use tasks::{Model, ModelKind, Perturbation, QueryBatch, TaskError};

use arena_models::baselines::fingerprint;

/// A constant profile for every query row (and, with [`Constant::with_protein`], a constant
/// protein profile on cross-modal tasks: both modalities collapsed).
pub struct Constant {
    name: String,
    profile: Vec<f32>,
    protein: Option<Vec<f32>>,
    sha256: String,
}

impl Constant {
    pub fn new(name: &str, profile: &[f64]) -> Self {
        Self {
            name: name.to_string(),
            profile: profile.iter().map(|&v| v as f32).collect(),
            protein: None,
            sha256: fingerprint(name, &[profile]),
        }
    }

    /// The same probe predicting `protein` for every cell as well.
    pub fn with_protein(mut self, protein: &[f64]) -> Self {
        self.protein = Some(protein.iter().map(|&v| v as f32).collect());
        self
    }
}

/// `rows` copies of `profile`.
fn repeated(rows: usize, profile: &[f32]) -> Array2<f32> {
    let mut out = Array2::<f32>::zeros((rows, profile.len()));
    for mut row in out.rows_mut() {
        row.iter_mut().zip(profile).for_each(|(o, v)| *o = *v);
    }
    out
}

impl Model for Constant {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> ModelKind {
        ModelKind::Baseline
    }
    fn fingerprint(&self) -> String {
        self.sha256.clone()
    }
    fn predict(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError> {
        let mut out = Array2::<f32>::zeros(batch.start.dim());
        for mut row in out.rows_mut() {
            row.iter_mut().zip(&self.profile).for_each(|(o, v)| *o = *v);
        }
        Ok(out)
    }
    fn predict_protein(&self, batch: &QueryBatch<'_>) -> Result<Option<Array2<f32>>, TaskError> {
        Ok(self.protein.as_ref().map(|p| repeated(batch.start.nrows(), p)))
    }
}

/// Answers each perturbation with a fixed profile (the shuffled probe: another item's truth; the
/// target oracles on families with their own metrics), whatever the start state, and with
/// [`Lookup::with_protein`] a fixed protein profile for every cell.
pub struct Lookup {
    name: String,
    profiles: HashMap<Perturbation, Vec<f32>>,
    protein: Option<Vec<f32>>,
    proteins: HashMap<Perturbation, Vec<f32>>,
    sha256: String,
}

impl Lookup {
    pub fn new(name: &str, profiles: Vec<(Perturbation, Vec<f64>)>) -> Self {
        let params: Vec<&[f64]> = profiles.iter().map(|(_, p)| p.as_slice()).collect();
        let sha256 = fingerprint(name, &params);
        let profiles = profiles.into_iter().map(|(p, v)| (p, v.into_iter().map(|x| x as f32).collect())).collect();
        Self { name: name.to_string(), profiles, protein: None, proteins: HashMap::new(), sha256 }
    }

    /// The same probe predicting, for each perturbation, its own protein profile for every cell.
    pub fn with_proteins(mut self, proteins: Vec<(Perturbation, Vec<f64>)>) -> Self {
        self.proteins = proteins.into_iter().map(|(p, v)| (p, v.into_iter().map(|x| x as f32).collect())).collect();
        self
    }

    /// The same probe predicting `protein` for every cell as well.
    pub fn with_protein(mut self, protein: &[f64]) -> Self {
        self.protein = Some(protein.iter().map(|&v| v as f32).collect());
        self
    }
}

impl Model for Lookup {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> ModelKind {
        ModelKind::Baseline
    }
    fn fingerprint(&self) -> String {
        self.sha256.clone()
    }
    fn predict(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError> {
        let mut out = Array2::<f32>::zeros(batch.start.dim());
        for (mut row, p) in out.rows_mut().into_iter().zip(batch.perturbations) {
            let profile = self.profiles.get(p).ok_or_else(|| TaskError::Model {
                model: self.name.clone(),
                reason: format!("no shuffled profile for '{p}'"),
            })?;
            row.iter_mut().zip(profile).for_each(|(o, v)| *o = *v);
        }
        Ok(out)
    }
    fn predict_protein(&self, batch: &QueryBatch<'_>) -> Result<Option<Array2<f32>>, TaskError> {
        let by_action = batch.perturbations.first().and_then(|p| self.proteins.get(p));
        let all_same = batch.perturbations.iter().all(|p| Some(p) == batch.perturbations.first());
        match by_action {
            Some(p) if all_same => Ok(Some(repeated(batch.start.nrows(), p))),
            _ => Ok(self.protein.as_ref().map(|p| repeated(batch.start.nrows(), p))),
        }
    }
}

/// The submission with each predicted cell's deviation from its item's predicted mean scaled by
/// `factor`. Query rows come in blocks of `block` rows (one block per item, all from the same
/// start states), and each block is inflated around its own mean. In exact arithmetic the block
/// means are unchanged; in f32 they cannot always be bit-identical (an input's fine low bits need
/// not fit in the larger inflated values), so after x' = m + factor·(x − m) is rounded to f32 the
/// rounding residual of each gene's sum is folded back into the block's smallest values: the
/// sums then agree to half an ulp of the smallest inflated value, the means to that over the block
/// size (~1e-10 on Papalexi's 256 start cells).
pub struct VarianceInflated<'a> {
    pub inner: &'a dyn Model,
    pub factor: f64,
    pub block: usize,
    pub name: String,
}

impl Model for VarianceInflated<'_> {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> ModelKind {
        self.inner.kind()
    }
    fn fingerprint(&self) -> String {
        fingerprint(&format!("{}:{}", self.name, self.inner.fingerprint()), &[&[self.factor]])
    }
    fn predict(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError> {
        let mut out = self.inner.predict(batch)?;
        let block = self.block.max(1);
        let (rows, genes) = out.dim();
        for start in (0..rows).step_by(block) {
            let end = (start + block).min(rows);
            for g in 0..genes {
                let column: Vec<f32> = (start..end).map(|r| out[[r, g]]).collect();
                for (r, v) in (start..end).zip(inflate_keeping_sum(&column, self.factor)) {
                    out[[r, g]] = v;
                }
            }
        }
        Ok(out)
    }
    /// Proteins as the submission predicted them (the manipulation is of the RNA output).
    fn predict_protein(&self, batch: &QueryBatch<'_>) -> Result<Option<Array2<f32>>, TaskError> {
        self.inner.predict_protein(batch)
    }
}

/// m + factor·(x − m) for each value (m their mean), rounded to f32, with the rounding residual of
/// the sum folded back (smallest magnitudes first) so that Σ x' = Σ x as closely as f32 allows.
pub fn inflate_keeping_sum(x: &[f32], factor: f64) -> Vec<f32> {
    if x.len() < 2 {
        return x.to_vec();
    }
    let sum: f64 = x.iter().map(|&v| f64::from(v)).sum();
    let m = sum / x.len() as f64;
    let mut out: Vec<f32> = x.iter().map(|&v| (m + factor * (f64::from(v) - m)) as f32).collect();
    let mut residual = sum - out.iter().map(|&v| f64::from(v)).sum::<f64>();
    let mut order: Vec<usize> = (0..out.len()).collect();
    order.sort_by(|&a, &b| out[a].abs().total_cmp(&out[b].abs()));
    for _ in 0..4 {
        for &i in &order {
            if residual == 0.0 {
                return out;
            }
            let t = (f64::from(out[i]) + residual) as f32;
            residual -= f64::from(t) - f64::from(out[i]);
            out[i] = t;
        }
    }
    out
}

/// The submission's outputs are kept up to this many bytes; beyond it the derived probes run
/// the model again.
pub const RECORD_BUDGET_BYTES: usize = 512 << 20;

/// The submission's outputs in call order. A recording tape passes every call through to the
/// submission and keeps a copy of each output while they fit in [`RECORD_BUDGET_BYTES`]; a
/// replaying tape answers the k-th call with the k-th recorded output, which is valid only for
/// the same queries in the same order, i.e. a single-step task scored again (a multi-step rollout
/// of a derived probe feeds back different states, so it must run the model itself).
pub struct Tape<'a> {
    inner: &'a dyn Model,
    recorded: Mutex<Option<Vec<Array2<f32>>>>,
    /// Rows passed through and time spent copying outputs, so the model's cells/s can leave
    /// the copying out.
    recording: Mutex<(usize, std::time::Duration)>,
    budget_bytes: usize,
    replay: Option<(&'a [Array2<f32>], AtomicUsize)>,
}

impl<'a> Tape<'a> {
    pub fn record(inner: &'a dyn Model) -> Self {
        Self::record_within(inner, RECORD_BUDGET_BYTES)
    }

    pub fn record_within(inner: &'a dyn Model, budget_bytes: usize) -> Self {
        Self { inner, recorded: Mutex::new(Some(Vec::new())), recording: Mutex::default(), budget_bytes, replay: None }
    }

    pub fn replay(inner: &'a dyn Model, outputs: &'a [Array2<f32>]) -> Self {
        Self {
            inner,
            recorded: Mutex::new(None),
            recording: Mutex::default(),
            budget_bytes: 0,
            replay: Some((outputs, 0.into())),
        }
    }

    /// A rate measured over calls through this tape, recomputed without the time the tape spent
    /// copying outputs (rows / (rows / rate − copying)).
    pub fn rows_per_second_without_recording(&self, rate: f64) -> f64 {
        let (rows, copying) = *self.recording.lock().unwrap_or_else(|e| e.into_inner());
        let seconds = rows as f64 / rate - copying.as_secs_f64();
        if rows == 0 || !rate.is_finite() || seconds <= 0.0 { rate } else { rows as f64 / seconds }
    }

    /// The recorded outputs in call order, or `None` when they outgrew the budget.
    pub fn into_outputs(self) -> Option<Vec<Array2<f32>>> {
        self.recorded.into_inner().unwrap_or_else(|e| e.into_inner())
    }
}

impl Model for Tape<'_> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn kind(&self) -> ModelKind {
        self.inner.kind()
    }
    fn fingerprint(&self) -> String {
        self.inner.fingerprint()
    }
    fn predict(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError> {
        if let Some((outputs, next)) = &self.replay {
            let k = next.fetch_add(1, Ordering::SeqCst);
            return match outputs.get(k) {
                Some(out) if out.dim() == batch.start.dim() => Ok(out.clone()),
                _ => Err(TaskError::Model {
                    model: self.inner.name().to_string(),
                    reason: format!(
                        "internal: the audit replayed call {k} of {} with a {:?} query that was not recorded",
                        outputs.len(),
                        batch.start.dim()
                    ),
                }),
            };
        }
        let out = self.inner.predict(batch)?;
        let copying = std::time::Instant::now();
        let mut kept = self.recorded.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(outputs) = kept.as_mut() {
            let bytes: usize = outputs.iter().chain([&out]).map(|o| o.len() * size_of::<f32>()).sum();
            if bytes <= self.budget_bytes {
                outputs.push(out.clone());
            } else {
                *kept = None;
            }
        }
        let mut recording = self.recording.lock().unwrap_or_else(|e| e.into_inner());
        recording.0 += out.nrows();
        recording.1 += copying.elapsed();
        Ok(out)
    }
    fn predict_protein(&self, batch: &QueryBatch<'_>) -> Result<Option<Array2<f32>>, TaskError> {
        self.inner.predict_protein(batch)
    }
    fn adapt(&self, set: &tasks::AdaptationSet<'_>) -> Result<Option<Box<dyn Model>>, TaskError> {
        self.inner.adapt(set)
    }
}

/// The submission's predicted change scaled: x' = x + factor·(M(x, a) − x) for every start cell.
pub struct Scaled<'a> {
    pub inner: &'a dyn Model,
    pub factor: f64,
    pub name: String,
}

impl Model for Scaled<'_> {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> ModelKind {
        self.inner.kind()
    }
    fn fingerprint(&self) -> String {
        fingerprint(&format!("{}:{}", self.name, self.inner.fingerprint()), &[&[self.factor]])
    }
    fn predict(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError> {
        let out = self.inner.predict(batch)?;
        let mut scaled = out.clone();
        scaled.zip_mut_with(&batch.start, |o, &x| {
            *o = (f64::from(x) + self.factor * (f64::from(*o) - f64::from(x))) as f32
        });
        Ok(scaled)
    }
    /// Proteins as the submission predicted them (the manipulation is of the RNA output).
    fn predict_protein(&self, batch: &QueryBatch<'_>) -> Result<Option<Array2<f32>>, TaskError> {
        self.inner.predict_protein(batch)
    }
}

/// Each item's prediction is `base` with the item's perturbed genes set to the item's true
/// values: the target-only oracles of the audit (item i perturbs `perturbed[i]`).
pub fn with_true_targets(base: &[f64], truths: &[Vec<f64>], perturbed: &[Vec<usize>]) -> Vec<Vec<f64>> {
    truths
        .iter()
        .zip(perturbed)
        .map(|(t, genes)| {
            let mut p = base.to_vec();
            for &g in genes {
                if let (Some(slot), Some(&v)) = (p.get_mut(g), t.get(g)) {
                    *slot = v;
                }
            }
            p
        })
        .collect()
}

/// log1p of the submission's output; sign-preserving (−log1p(−x)) for negative values, so log
/// fold changes stay finite.
pub struct Log1p<'a> {
    pub inner: &'a dyn Model,
    pub name: String,
}

pub fn signed_log1p(v: f32) -> f32 {
    if v >= 0.0 { v.ln_1p() } else { -(-v).ln_1p() }
}

impl Model for Log1p<'_> {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> ModelKind {
        self.inner.kind()
    }
    fn fingerprint(&self) -> String {
        fingerprint(&format!("{}:{}", self.name, self.inner.fingerprint()), &[])
    }
    fn predict(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError> {
        Ok(self.inner.predict(batch)?.mapv(signed_log1p))
    }
    /// Proteins as the submission predicted them (the manipulation is of the RNA output).
    fn predict_protein(&self, batch: &QueryBatch<'_>) -> Result<Option<Array2<f32>>, TaskError> {
        self.inner.predict_protein(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflation_scales_deviations_and_keeps_the_sum() {
        let sum = |v: &[f32]| v.iter().map(|&a| f64::from(a)).sum::<f64>();
        // Values whose low bits fit the inflated values: the sum is kept exactly.
        let grid: Vec<f32> = (0..64).map(|i| ((i * 37) % 23) as f32 / 1024.0 + 0.5).collect();
        assert_eq!(sum(&grid), sum(&inflate_keeping_sum(&grid, 3.0)));
        // A tiny value's low bits cannot survive in the larger inflated values: the sum is kept up
        // to half an ulp of the smallest inflated value (here ~3e-8; its mean over n rows ~1/n of that).
        let x: Vec<f32> =
            vec![0.0, std::f32::consts::LN_2, 1.098_612_3, std::f32::consts::LN_10, 0.0, 3.1, 0.000_123_4, 1.5];
        let y = inflate_keeping_sum(&x, 3.0);
        let smallest = y.iter().map(|v| v.abs()).fold(f32::INFINITY, f32::min);
        let half_ulp = f64::from(smallest) * f64::from(f32::EPSILON) / 2.0;
        assert!((sum(&x) - sum(&y)).abs() <= half_ulp, "{} vs {} (half ulp {half_ulp})", sum(&x), sum(&y));
        let m = sum(&x) / x.len() as f64;
        for (a, b) in x.iter().zip(&y) {
            let expected = m + 3.0 * (f64::from(*a) - m);
            assert!((f64::from(*b) - expected).abs() < 1e-5, "{a} -> {b}, expected {expected}");
        }
        let var = |v: &[f32]| v.iter().map(|&a| (f64::from(a) - m).powi(2)).sum::<f64>();
        assert!((var(&y) / var(&x) - 9.0).abs() < 1e-4);
        assert_eq!(inflate_keeping_sum(&[2.5], 3.0), vec![2.5]);
    }

    #[test]
    fn a_tape_replays_what_it_recorded_and_gives_up_beyond_its_budget() {
        let genes = tasks::GenePanel::new(vec!["A".into(), "B".into()]).unwrap();
        let model = Constant::new("c", &[1.5, -2.0]);
        let perturbations = vec![Perturbation::control(); 3];
        let start = Array2::<f32>::zeros((3, 2));
        let batch = QueryBatch::new(&genes, start.view(), &perturbations);
        let tape = Tape::record(&model);
        let first = tape.predict(&batch).unwrap();
        let second = tape.predict(&batch).unwrap();
        assert_eq!(first, model.predict(&batch).unwrap());
        assert_eq!((tape.name(), tape.kind(), tape.fingerprint()), ("c", ModelKind::Baseline, model.fingerprint()));
        // 6 rows went through; leaving out the copying time can only raise a measured rate, and
        // a rate whose window was all copying is kept rather than made infinite.
        let (rows, copying) = *tape.recording.lock().unwrap();
        assert_eq!(rows, 6);
        let rate = 6.0 / (copying.as_secs_f64() + 0.5);
        let without = tape.rows_per_second_without_recording(rate);
        assert!((without - 12.0).abs() < 1e-9, "{without}");
        let all_copying = 6.0 / copying.as_secs_f64().max(1e-12);
        assert!(tape.rows_per_second_without_recording(all_copying * 2.0) == all_copying * 2.0);
        let outputs = tape.into_outputs().unwrap();
        assert_eq!(outputs, vec![first.clone(), second]);
        let replay = Tape::replay(&model, &outputs);
        assert_eq!(replay.predict(&batch).unwrap(), first);
        assert!(replay.predict(&batch).is_ok());
        // A third call, or a query of another shape, was never recorded.
        let err = replay.predict(&batch).unwrap_err().to_string();
        assert!(err.contains("not recorded"), "{err}");
        let replay = Tape::replay(&model, &outputs);
        let small = Array2::<f32>::zeros((2, 2));
        let other = QueryBatch::new(&genes, small.view(), &perturbations[..2]);
        assert!(replay.predict(&other).is_err());
        // 3 x 2 f32 = 24 bytes per call: a 40-byte budget keeps one call, not two.
        let tape = Tape::record_within(&model, 40);
        tape.predict(&batch).unwrap();
        tape.predict(&batch).unwrap();
        assert_eq!(tape.into_outputs(), None);
    }

    #[test]
    fn scaled_moves_the_predicted_change_and_true_targets_replace_only_the_targets() {
        let genes = tasks::GenePanel::new(vec!["A".into(), "B".into()]).unwrap();
        let model = Constant::new("c", &[3.0, -1.0]);
        let perturbations = vec![Perturbation::control(); 2];
        let start = Array2::from_shape_vec((2, 2), vec![1.0f32, 1.0, 2.0, 0.0]).unwrap();
        let batch = QueryBatch::new(&genes, start.view(), &perturbations);
        let half = Scaled { inner: &model, factor: 0.5, name: "h".into() };
        assert_eq!(
            half.predict(&batch).unwrap(),
            Array2::from_shape_vec((2, 2), vec![2.0f32, 0.0, 2.5, -0.5]).unwrap()
        );
        let double = Scaled { inner: &model, factor: 2.0, name: "d".into() };
        assert_eq!(double.predict(&batch).unwrap()[[0, 0]], 5.0);
        let p = with_true_targets(&[0.0, 0.0, 0.0], &[vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0]], &[vec![2], vec![]]);
        assert_eq!(p, vec![vec![0.0, 0.0, 3.0], vec![0.0, 0.0, 0.0]]);
    }

    #[test]
    fn signed_log1p_is_finite_and_odd() {
        assert_eq!(signed_log1p(0.0), 0.0);
        assert!((signed_log1p(1.0) - 2f32.ln()).abs() < 1e-7);
        assert_eq!(signed_log1p(-3.0), -signed_log1p(3.0));
        assert!(signed_log1p(-5.0).is_finite());
    }
}
