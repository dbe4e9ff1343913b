//! Saving and loading: `weights.safetensors` (every parameter, the normalisation and the feature
//! table) and `config.json` (gene lists, dimensions, training settings, provenance) side by side.

use std::path::Path;

use candle_core::{Device, Tensor};
use ndarray::{Array1, Array2};

use crate::config::{ModelConfig, WEIGHTS_FORMAT};
use crate::data::FeatureTable;
use crate::error::ReferenceError;
use crate::model::ReferenceModel;
use crate::net::Net;

pub const WEIGHTS_FILE: &str = "weights.safetensors";
pub const CONFIG_FILE: &str = "config.json";

impl ReferenceModel {
    /// The weights file's bytes (keys sorted by safetensors, so the bytes depend only on values).
    pub fn to_safetensors(&self) -> candle_core::Result<Vec<u8>> {
        let n = self.n_state();
        let mut tensors: Vec<(String, Tensor)> =
            self.net.named_vars().into_iter().map(|(k, v)| (k, v.as_tensor().clone())).collect();
        tensors.push(("centre".into(), Tensor::from_slice(self.centre.as_slice().unwrap_or(&[]), n, &self.device)?));
        tensors.push(("scale".into(), Tensor::from_slice(&[self.scale], 1, &self.device)?));
        let f = &self.features;
        for (key, m) in
            [("features.prior", &f.prior), ("features.observed", &f.observed), ("features.effects", &f.effects)]
        {
            let data: Vec<f32> = m.iter().copied().collect();
            tensors.push((key.into(), Tensor::from_vec(data, m.dim(), &self.device)?));
        }
        safetensors::serialize(tensors.iter().map(|(k, t)| (k.as_str(), t)), None)
            .map_err(|e| candle_core::Error::Msg(format!("serialising the weights: {e}")))
    }

    /// The two files of the weights, `(file name, bytes)`: `weights.safetensors` and
    /// `config.json`. The caller writes them (the arena writes both as one atomic set).
    pub fn files(&self) -> Result<[(&'static str, Vec<u8>); 2], ReferenceError> {
        let json =
            serde_json::to_string_pretty(&self.config).map_err(|e| ReferenceError::InvalidData(e.to_string()))?;
        Ok([(WEIGHTS_FILE, self.to_safetensors()?), (CONFIG_FILE, (json + "\n").into_bytes())])
    }

    /// Loads `weights` and the `config.json` beside it.
    pub fn load(weights: &Path) -> Result<Self, ReferenceError> {
        let bad = |reason: String| ReferenceError::BadWeights { path: weights.to_path_buf(), reason };
        let config_path = weights.with_file_name(CONFIG_FILE);
        let text = std::fs::read_to_string(&config_path)
            .map_err(|source| ReferenceError::Io { path: config_path.clone(), source })?;
        let config: ModelConfig = serde_json::from_str(&text)
            .map_err(|e| bad(format!("{} is not a reference-model config ({e})", config_path.display())))?;
        if config.format != WEIGHTS_FORMAT {
            return Err(bad(format!("config format '{}', expected '{WEIGHTS_FORMAT}'", config.format)));
        }
        let bytes =
            std::fs::read(weights).map_err(|source| ReferenceError::Io { path: weights.to_path_buf(), source })?;
        let device = Device::Cpu;
        let mut tensors = candle_core::safetensors::load_buffer(&bytes, &device)
            .map_err(|e| bad(format!("not a safetensors file ({e})")))?;
        let mut take = |k: &str| tensors.remove(k);
        let net = Net::from_tensors(&mut take).ok_or_else(|| bad("a layer is missing".into()))?;
        let (n, t) = (config.genes.len() + config.proteins.len(), config.feature_genes.len());
        let vector = |t: Option<Tensor>, key: &str| -> Result<Vec<f32>, ReferenceError> {
            t.and_then(|t| t.flatten_all().ok()?.to_vec1::<f32>().ok())
                .ok_or_else(|| bad(format!("tensor '{key}' is missing")))
        };
        let centre = vector(take("centre"), "centre")?;
        let scale = vector(take("scale"), "scale")?;
        let prior = vector(take("features.prior"), "features.prior")?;
        let observed = vector(take("features.observed"), "features.observed")?;
        let effects = vector(take("features.effects"), "features.effects")?;
        let k = config.effect_genes.len();
        let shape_ok = centre.len() == n
            && scale.len() == 1
            && prior.len() == t * config.n_prior_features
            && observed.len() == t * config.n_observed_features
            && effects.len() == k * n
            && net.encoder.w1.dims() == [n, config.train.hidden]
            && net.decoder.w2.dims() == [config.train.hidden, n];
        if !shape_ok {
            return Err(bad(format!(
                "tensor shapes do not match {} (was it written by another version?)",
                config_path.display()
            )));
        }
        let features = FeatureTable {
            genes: config.feature_genes.clone(),
            prior: Array2::from_shape_vec((t, config.n_prior_features), prior).map_err(|e| bad(e.to_string()))?,
            observed: Array2::from_shape_vec((t, config.n_observed_features), observed)
                .map_err(|e| bad(e.to_string()))?,
            effect_genes: config.effect_genes.clone(),
            effects: Array2::from_shape_vec((k, n), effects).map_err(|e| bad(e.to_string()))?,
        };
        Ok(Self::assemble(config, net, Array1::from(centre), scale[0], features, device)?)
    }

    /// Refuses a task whose gene panel differs from the one the weights were trained on.
    pub fn check_genes(&self, weights: &Path, task: &str, genes: &[String]) -> Result<(), ReferenceError> {
        if genes == self.config.genes.as_slice() {
            return Ok(());
        }
        let model: std::collections::HashSet<&String> = self.config.genes.iter().collect();
        let missing = genes.iter().filter(|g| !model.contains(g)).count();
        let reason = if genes.len() != self.config.genes.len() || missing > 0 {
            let example =
                genes.iter().find(|g| !model.contains(g)).map(|g| format!(", e.g. '{g}'")).unwrap_or_default();
            format!(
                "the weights have {} genes, the task {}; {missing} task genes are unknown to the weights{example}",
                self.config.genes.len(),
                genes.len()
            )
        } else {
            "same genes in a different order".into()
        };
        Err(ReferenceError::GeneMismatch { path: weights.to_path_buf(), task: task.to_string(), reason })
    }
}
