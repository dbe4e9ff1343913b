//! In-context adaptation of the reference model (`Model::adapt`, few-shot tasks): a copy of the
//! trained net fine-tuned for a few seeded AdamW steps on the shots of the new context, each shot
//! a one-step target (`tasks::Shot`: start cells = the new context's adaptation controls, target =
//! the mean of the shot's cells), with the loss of training. The original is never touched; the
//! same shots and seed give the same weights bit for bit (CPU).

use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use ndarray::{Array1, Array2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tasks::{AdaptationSet, Perturbation};

use crate::error::ReferenceError;
use crate::model::ReferenceModel;
use crate::net::Net;
use crate::train::condition_loss;

/// How the shots are fitted: every step is one minibatch of all the shots.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdaptConfig {
    pub steps: usize,
    pub learning_rate: f64,
    /// Seed of the start-cell sampling and the feature dropout of the steps.
    pub seed: u64,
}

impl AdaptConfig {
    /// What `Model::adapt` uses: 10 steps at a third of the default training rate, seeded from the
    /// weights' training seed.
    pub fn for_model(model: &ReferenceModel) -> Self {
        Self { steps: 10, learning_rate: 1e-3, seed: model.config.train.seed ^ 0xADA9_7000 }
    }
}

impl ReferenceModel {
    /// A copy fine-tuned on `shots` (perturbation, target mean over the state columns) from the
    /// start cells `starts` (rows x state columns). No shots: an unchanged copy.
    pub fn fine_tune(
        &self,
        starts: &Array2<f32>,
        shots: &[(Perturbation, Array1<f32>)],
        adapt: &AdaptConfig,
    ) -> Result<ReferenceModel, ReferenceError> {
        let n = self.n_state();
        if starts.nrows() == 0 || starts.ncols() != n || shots.iter().any(|(_, m)| m.len() != n) {
            return Err(ReferenceError::InvalidData(format!(
                "adaptation needs start cells and shot means of {n} state columns; got starts {:?}",
                starts.dim()
            )));
        }
        let mut take = |name: &str| {
            let vars = self.net.named_vars();
            let var = vars.iter().find(|(k, _)| k == name)?;
            var.1.as_tensor().copy().ok()
        };
        let net = Net::from_tensors(&mut take)
            .ok_or_else(|| ReferenceError::InvalidData("copying the net for adaptation failed".into()))?;
        let mut model = ReferenceModel::assemble(
            self.config.clone(),
            net,
            self.centre.clone(),
            self.scale,
            self.features.clone(),
            self.device.clone(),
        )?
        .with_name(tasks::Model::name(self));
        if shots.is_empty() || adapt.steps == 0 {
            return Ok(model);
        }
        let vars = model.net.named_vars().into_iter().map(|(_, v)| v.clone()).collect();
        let train = &self.config.train;
        let params =
            ParamsAdamW { lr: adapt.learning_rate, weight_decay: train.weight_decay, ..ParamsAdamW::default() };
        let mut opt = AdamW::new(vars, params)?;
        let mut rng = ChaCha8Rng::seed_from_u64(adapt.seed);
        let conditions: Vec<&(Perturbation, Array1<f32>)> = shots.iter().collect();
        for _ in 0..adapt.steps {
            let loss = condition_loss(&model, starts, &conditions, train, Some(&mut rng))?;
            opt.backward_step(&loss)?;
        }
        model.refresh()?;
        Ok(model)
    }

    /// `Model::adapt`: fine-tuned on the set's shots; `None` without shots (k = 0) or for a model
    /// with proteins (the few-shot tasks measure none).
    pub(crate) fn adapt_to(&self, set: &AdaptationSet<'_>) -> Result<Option<ReferenceModel>, ReferenceError> {
        if set.examples.is_empty() || !self.config.proteins.is_empty() {
            return Ok(None);
        }
        if set.genes.names() != self.config.genes.as_slice() {
            return Err(ReferenceError::InvalidData(format!(
                "the adaptation set of context '{}' has {} genes, not the {} genes of the weights (in their order); \
                 use weights trained for this task",
                set.context,
                set.genes.len(),
                self.config.genes.len()
            )));
        }
        let shots: Vec<(Perturbation, Array1<f32>)> =
            set.shots().into_iter().map(|s| (s.perturbation.clone(), s.next)).collect();
        self.fine_tune(&set.controls, &shots, &AdaptConfig::for_model(self)).map(Some)
    }
}
