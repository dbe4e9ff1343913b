//! `ReferenceModel`: a trained net with its normalisation and feature table, behind
//! `tasks::Model`. Perturbations become (summed action features, signed multi-hot) inputs here.
//! A model's state is its expression genes followed by its proteins (cross-modal weights): E reads
//! both, D writes both from the one latent, and `predict_protein` answers with the protein part.

use std::collections::HashMap;

use candle_core::{Device, Tensor};
use ndarray::{Array1, Array2};
use sha2::{Digest, Sha256};
use tasks::{Model, ModelKind, Perturbation, QueryBatch, TaskError};

use crate::config::ModelConfig;
use crate::data::FeatureTable;
use crate::net::{Batch, Net};

/// Rows per forward pass at inference.
const CHUNK: usize = 8192;

pub struct ReferenceModel {
    pub config: ModelConfig,
    pub(crate) net: Net,
    pub(crate) centre: Array1<f32>,
    pub(crate) scale: f32,
    /// Per state column: 1 for a gene, `config.protein_factor` for a protein; `None` without
    /// proteins (so an RNA-only model's arithmetic is exactly that of a model that never had them).
    column_factor: Option<Tensor>,
    /// Standardised feature table (as stored in the weights).
    pub(crate) features: FeatureTable,
    feature_index: HashMap<String, usize>,
    gene_index: HashMap<String, usize>,
    effect_index: HashMap<String, usize>,
    /// Per expression gene: `[prior features | centre level]`, the direct head's input.
    direct_inputs: Tensor,
    /// The direct head's (α, β) per expression gene (genes x 2), cached for inference.
    direct: Tensor,
    pub(crate) device: Device,
    name: String,
    fingerprint: String,
}

/// Encoded actions: summed features (rows x F), signed multi-hot over genes (rows x n) and the
/// summed observed single effects (rows x n, raw units).
pub(crate) struct Encoded {
    pub u: Vec<f32>,
    pub p: Vec<f32>,
    pub s: Vec<f32>,
    /// Row of `u` each batch row uses, when `u` holds distinct actions only.
    pub action_row: Option<Vec<u32>>,
}

impl ReferenceModel {
    pub(crate) fn assemble(
        config: ModelConfig,
        net: Net,
        centre: Array1<f32>,
        scale: f32,
        features: FeatureTable,
        device: Device,
    ) -> candle_core::Result<Self> {
        let feature_index = features.genes.iter().enumerate().map(|(i, g)| (g.clone(), i)).collect();
        let gene_index: HashMap<String, usize> = config.genes.iter().enumerate().map(|(i, g)| (g.clone(), i)).collect();
        let effect_index = features.effect_genes.iter().enumerate().map(|(i, g)| (g.clone(), i)).collect();
        let direct_inputs = direct_inputs(&config.genes, &feature_index, &features, &centre, &device)?;
        let direct = net.direct_coefficients(&direct_inputs)?;
        let column_factor = (!config.proteins.is_empty())
            .then(|| {
                let f: Vec<f32> = (0..config.genes.len() + config.proteins.len())
                    .map(|j| if j < config.genes.len() { 1.0 } else { config.protein_factor })
                    .collect();
                let n = f.len();
                Tensor::from_vec(f, (1, n), &device)
            })
            .transpose()?;
        let mut model = Self {
            config,
            net,
            centre,
            scale,
            column_factor,
            features,
            feature_index,
            gene_index,
            effect_index,
            direct_inputs,
            direct,
            device,
            name: "reference".into(),
            fingerprint: String::new(),
        };
        model.refresh()?;
        Ok(model)
    }

    /// Recomputes what is cached from the parameters (after training changed them).
    pub(crate) fn refresh(&mut self) -> candle_core::Result<()> {
        self.direct = self.net.direct_coefficients(&self.direct_inputs)?.detach();
        self.fingerprint = hex::encode(Sha256::digest(self.to_safetensors()?));
        Ok(())
    }

    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    pub fn genes(&self) -> &[String] {
        &self.config.genes
    }

    /// Columns of the model's state: its genes, then its proteins.
    pub fn n_state(&self) -> usize {
        self.config.genes.len() + self.config.proteins.len()
    }

    /// The action embedding A(u(a)) − A(0) of a perturbation (latent vector); zero for the control.
    pub fn action_embedding(&self, p: &Perturbation) -> candle_core::Result<Vec<f32>> {
        let enc = self.encode(&[p], &mut |_, _| true);
        let f = self.n_features();
        let u = Tensor::from_vec(enc.u, (1, f), &self.device)?;
        let zero = u.zeros_like()?;
        let a = (self.net.action.forward(&u)? - self.net.action.forward(&zero)?)?;
        a.flatten_all()?.to_vec1()
    }

    pub(crate) fn n_features(&self) -> usize {
        self.features.prior.ncols() + self.features.observed.ncols()
    }

    /// Encodes each row's perturbation; `keep(row, table_gene)` decides whether that gene's
    /// observed features count (training hides them at random).
    pub(crate) fn encode(&self, perts: &[&Perturbation], keep: &mut dyn FnMut(usize, usize) -> bool) -> Encoded {
        let (fp, fo, n) = (self.features.prior.ncols(), self.features.observed.ncols(), self.n_state());
        let f = fp + fo;
        let mut u = vec![0f32; perts.len() * f];
        let mut p = vec![0f32; perts.len() * n];
        let mut s = vec![0f32; perts.len() * n];
        for (row, pert) in perts.iter().enumerate() {
            for (gene, dir) in pert.targets() {
                let sign = dir.sign();
                if let Some(&t) = self.feature_index.get(gene) {
                    let out = &mut u[row * f..(row + 1) * f];
                    for (o, v) in out[..fp].iter_mut().zip(self.features.prior.row(t)) {
                        *o += sign * v;
                    }
                    if keep(row, t) {
                        for (o, v) in out[fp..].iter_mut().zip(self.features.observed.row(t)) {
                            *o += sign * v;
                        }
                        if let Some(&e) = self.effect_index.get(gene) {
                            let out = &mut s[row * n..(row + 1) * n];
                            out.iter_mut().zip(self.features.effects.row(e)).for_each(|(o, v)| *o += v);
                        }
                    }
                }
                if let Some(&g) = self.gene_index.get(gene) {
                    p[row * n + g] = sign;
                }
            }
        }
        Encoded { u, p, s, action_row: None }
    }

    /// Normalised start states (rows x state columns) of raw values.
    pub(crate) fn normalise_states(&self, x: Vec<f32>) -> candle_core::Result<Tensor> {
        let n = self.n_state();
        let rows = x.len() / n;
        let centre = Tensor::from_slice(self.centre.as_slice().unwrap_or(&[]), (1, n), &self.device)?;
        let x = (Tensor::from_vec(x, (rows, n), &self.device)?.broadcast_sub(&centre)? / f64::from(self.scale))?;
        match &self.column_factor {
            Some(f) => x.broadcast_mul(f),
            None => Ok(x),
        }
    }

    /// A batch of normalised start states and their encoded actions.
    pub(crate) fn batch(&self, x: Tensor, enc: Encoded) -> candle_core::Result<Batch> {
        let (rows, n) = (x.dim(0)?, self.n_state());
        let p = Tensor::from_vec(enc.p, (rows, n), &self.device)?;
        let s = (Tensor::from_vec(enc.s, (rows, n), &self.device)? / f64::from(self.scale))?;
        let f = self.n_features();
        let distinct = enc.u.len() / f.max(1);
        let u = Tensor::from_vec(enc.u, (distinct, f), &self.device)?;
        let action_row = enc.action_row.map(|r| Tensor::from_vec(r, rows, &self.device)).transpose()?;
        Ok(Batch { x, s, u, action_row, p_abs: p.abs()?, p })
    }

    /// Forward pass in normalised space with the cached direct head (inference).
    pub(crate) fn forward(&self, batch: &Batch) -> candle_core::Result<Tensor> {
        self.net.forward(batch, &self.direct)
    }

    /// Forward pass that differentiates through the direct head too (training).
    pub(crate) fn forward_train(&self, batch: &Batch) -> candle_core::Result<Tensor> {
        self.net.forward(batch, &self.net.direct_coefficients(&self.direct_inputs)?)
    }

    /// Normalised target means (rows x state columns) of raw means.
    pub(crate) fn normalise(&self, means: &[&Array1<f32>]) -> candle_core::Result<Tensor> {
        let n = self.n_state();
        let data: Vec<f32> =
            means.iter().flat_map(|m| m.iter().zip(&self.centre).map(|(v, c)| (v - c) / self.scale)).collect();
        let t = Tensor::from_vec(data, (means.len(), n), &self.device)?;
        match &self.column_factor {
            Some(f) => t.broadcast_mul(f),
            None => Ok(t),
        }
    }

    /// The full state rows of a query to a model with proteins: its expression, then its start
    /// proteins (the training control mean of each protein when the query carries none).
    fn query_states(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, String> {
        let (n, m) = (self.config.genes.len(), self.config.proteins.len());
        let mut x = Array2::<f32>::zeros((batch.start.nrows(), n + m));
        x.slice_mut(ndarray::s![.., ..n]).assign(&batch.start);
        match batch.start_protein {
            Some(p) if p.ncols() != m => {
                return Err(format!("the model was trained on {m} proteins, the task gives {}", p.ncols()));
            }
            Some(p) => x.slice_mut(ndarray::s![.., n..]).assign(&p),
            None => x.slice_mut(ndarray::s![.., n..]).assign(&self.centre.slice(ndarray::s![n..])),
        }
        Ok(x)
    }

    /// Predicted next states (raw scale) of `start` rows (state columns) under `perts`.
    pub fn predict_states(
        &self,
        start: ndarray::ArrayView2<'_, f32>,
        perts: &[Perturbation],
    ) -> candle_core::Result<Array2<f32>> {
        let n = self.n_state();
        let mut out = Array2::<f32>::zeros((start.nrows(), n));
        let mut cache: HashMap<&Perturbation, Encoded> = HashMap::new();
        for begin in (0..start.nrows()).step_by(CHUNK) {
            let end = (begin + CHUNK).min(start.nrows());
            let rows = end - begin;
            let mut enc = Encoded {
                u: Vec::new(),
                p: Vec::with_capacity(rows * n),
                s: Vec::with_capacity(rows * n),
                action_row: Some(Vec::with_capacity(rows)),
            };
            // The action encoder runs once per distinct perturbation of the chunk.
            let mut distinct: HashMap<&Perturbation, u32> = HashMap::new();
            for pert in &perts[begin..end] {
                let one = cache.entry(pert).or_insert_with(|| self.encode(&[pert], &mut |_, _| true));
                let k = *distinct.entry(pert).or_insert_with(|| {
                    enc.u.extend_from_slice(&one.u);
                    (enc.u.len() / one.u.len().max(1) - 1) as u32
                });
                enc.action_row.as_mut().expect("set above").push(k);
                enc.p.extend_from_slice(&one.p);
                enc.s.extend_from_slice(&one.s);
            }
            let x: Vec<f32> = start.slice(ndarray::s![begin..end, ..]).iter().copied().collect();
            let pred = self.forward(&self.batch(self.normalise_states(x)?, enc)?)?;
            let pred = match &self.column_factor {
                Some(f) => pred.broadcast_div(f)?,
                None => pred,
            };
            let pred = (pred * f64::from(self.scale))?;
            let values = pred.flatten_all()?.to_vec1::<f32>()?;
            for (r, row) in values.chunks_exact(n).enumerate() {
                for ((o, v), c) in out.row_mut(begin + r).iter_mut().zip(row).zip(&self.centre) {
                    *o = v + c;
                }
            }
        }
        Ok(out)
    }
}

impl ReferenceModel {
    /// Every state column predicted for a query (its genes checked first).
    fn predict_query(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError> {
        if batch.genes.names() != self.config.genes.as_slice() {
            let (missing, extra) = batch.genes.diff(
                &tasks::GenePanel::new(self.config.genes.clone())
                    .map_err(|e| TaskError::Model { model: self.name.clone(), reason: e.to_string() })?,
            );
            return Err(TaskError::Model {
                model: self.name.clone(),
                reason: format!(
                    "the model was trained on {} genes, the task has {} ({} of the model's genes missing from the task, {} extra); use weights trained for this task",
                    self.config.genes.len(),
                    batch.genes.len(),
                    missing.len(),
                    extra.len()
                ),
            });
        }
        let error = |reason: String| TaskError::Model { model: self.name.clone(), reason };
        let with_proteins;
        let start = if self.config.proteins.is_empty() {
            batch.start
        } else {
            with_proteins = self.query_states(batch).map_err(error)?;
            with_proteins.view()
        };
        self.predict_states(start, batch.perturbations).map_err(|e| error(e.to_string()))
    }
}

fn direct_inputs(
    genes: &[String],
    feature_index: &HashMap<String, usize>,
    features: &FeatureTable,
    centre: &Array1<f32>,
    device: &Device,
) -> candle_core::Result<Tensor> {
    // One row per state column (`centre` has one entry each); proteins have no prior features.
    let fp = features.prior.ncols();
    let n = centre.len();
    let mut rows = vec![0f32; n * (fp + 1)];
    for g in 0..n {
        let row = &mut rows[g * (fp + 1)..(g + 1) * (fp + 1)];
        if let Some(&t) = genes.get(g).and_then(|name| feature_index.get(name)) {
            row[..fp].iter_mut().zip(features.prior.row(t)).for_each(|(o, v)| *o = *v);
        }
        row[fp] = centre[g];
    }
    Tensor::from_vec(rows, (n, fp + 1), device)
}

impl Model for ReferenceModel {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> ModelKind {
        ModelKind::Reference
    }
    fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }
    fn predict(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError> {
        let states = self.predict_query(batch)?;
        if self.config.proteins.is_empty() {
            return Ok(states);
        }
        Ok(states.slice(ndarray::s![.., ..self.config.genes.len()]).to_owned())
    }
    fn predict_protein(&self, batch: &QueryBatch<'_>) -> Result<Option<Array2<f32>>, TaskError> {
        if self.config.proteins.is_empty() || batch.start_protein.is_none() {
            return Ok(None);
        }
        let states = self.predict_query(batch)?;
        Ok(Some(states.slice(ndarray::s![.., self.config.genes.len()..]).to_owned()))
    }
    /// A few seeded fine-tuning steps on the shots ([`crate::AdaptConfig`]); unadapted at k = 0.
    fn adapt(&self, set: &tasks::AdaptationSet<'_>) -> Result<Option<Box<dyn Model>>, TaskError> {
        let adapted = self
            .adapt_to(set)
            .map_err(|e| TaskError::Model { model: self.name.clone(), reason: format!("adapting: {e}") })?;
        Ok(adapted.map(|m| Box::new(m) as Box<dyn Model>))
    }
}
