//! The network: encoder E (state -> hidden -> latent), action encoder A (summed per-gene
//! features -> hidden -> latent, A(0) subtracted so the empty action embeds to 0), transition
//! F(z, a) = z + MLP([z, a]), decoder D (latent -> hidden -> state) and the direct head (a gene's
//! prior features -> the action's effect on that gene itself). A state is the expression genes,
//! then the proteins when the model has them (one latent for both modalities). Everything works
//! in normalised space x̃ = (x − centre) / scale (protein columns also times the protein factor).

use candle_core::{D, DType, Device, Tensor, Var};

use crate::init::Init;

/// A two-layer perceptron `gelu(x W1 + b1) W2 + b2` (weights stored input-major).
pub struct Mlp {
    pub w1: Var,
    pub b1: Var,
    pub w2: Var,
    pub b2: Var,
}

impl Mlp {
    fn new(init: &mut Init, dims: (usize, usize, usize), out_gain: f32, dev: &Device) -> candle_core::Result<Self> {
        let (i, h, o) = dims;
        Ok(Self {
            w1: Var::from_vec(init.glorot(i, h, 1.0), (i, h), dev)?,
            b1: Var::zeros(h, DType::F32, dev)?,
            w2: Var::from_vec(init.glorot(h, o, out_gain), (h, o), dev)?,
            b2: Var::zeros(o, DType::F32, dev)?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        x.matmul(self.w1.as_tensor())?
            .broadcast_add(self.b1.as_tensor())?
            .gelu()?
            .matmul(self.w2.as_tensor())?
            .broadcast_add(self.b2.as_tensor())
    }

    fn vars(&self) -> [&Var; 4] {
        [&self.w1, &self.b1, &self.w2, &self.b2]
    }
}

/// Layer names, in the order of [`Net::named_vars`] (the safetensors keys are `name.w1` etc.).
pub const LAYERS: [&str; 5] = ["encoder", "action", "transition", "decoder", "direct"];

pub struct Net {
    /// Gate of the additive path: 1 + a · gate per query (latent x 1, starts at 0).
    pub gate: Var,
    pub encoder: Mlp,
    pub action: Mlp,
    pub transition: Mlp,
    pub decoder: Mlp,
    pub direct: Mlp,
}

/// One query batch in tensors: normalised start states, summed action features, signed
/// multi-hot over the expression genes and its absolute value, and the summed observed single
/// effects of the action's genes (normalised).
pub struct Batch {
    pub x: Tensor,
    pub s: Tensor,
    pub u: Tensor,
    pub p: Tensor,
    pub p_abs: Tensor,
    /// When set, `u` holds one row per distinct action and row i of the batch uses row
    /// `action_row[i]` (inference: the action encoder runs once per distinct perturbation).
    pub action_row: Option<Tensor>,
}

impl Net {
    /// Fresh seeded parameters for `n_state` state columns (genes, then proteins) and `n_features`
    /// action features.
    pub fn init(
        n_state: usize,
        n_features: usize,
        n_prior: usize,
        hidden: usize,
        latent: usize,
        seed: u64,
        dev: &Device,
    ) -> candle_core::Result<Self> {
        let mut init = Init::new(seed);
        Ok(Self {
            gate: Var::zeros((latent, 1), DType::F32, dev)?,
            encoder: Mlp::new(&mut init, (n_state, hidden, latent), 1.0, dev)?,
            action: Mlp::new(&mut init, (n_features, hidden, latent), 1.0, dev)?,
            transition: Mlp::new(&mut init, (2 * latent, hidden, latent), 0.1, dev)?,
            decoder: Mlp::new(&mut init, (latent, hidden, n_state), 1.0, dev)?,
            direct: Mlp::new(&mut init, (n_prior + 1, hidden.min(32), 2), 0.1, dev)?,
        })
    }

    pub fn named_vars(&self) -> Vec<(String, &Var)> {
        let layers = [&self.encoder, &self.action, &self.transition, &self.decoder, &self.direct];
        let mut vars: Vec<(String, &Var)> = LAYERS
            .iter()
            .zip(layers)
            .flat_map(|(name, mlp)| {
                ["w1", "b1", "w2", "b2"].into_iter().zip(mlp.vars()).map(move |(k, v)| (format!("{name}.{k}"), v))
            })
            .collect();
        vars.push(("gate".into(), &self.gate));
        vars
    }

    /// Builds the net from named tensors (a loaded safetensors file).
    pub fn from_tensors(get: &mut dyn FnMut(&str) -> Option<Tensor>) -> Option<Self> {
        let gate = get("gate").and_then(|t| Var::from_tensor(&t).ok())?;
        let mut mlp = |name: &str| -> Option<Mlp> {
            let mut var = |k: &str| get(&format!("{name}.{k}")).and_then(|t| Var::from_tensor(&t).ok());
            Some(Mlp { w1: var("w1")?, b1: var("b1")?, w2: var("w2")?, b2: var("b2")? })
        };
        Some(Self {
            gate,
            encoder: mlp("encoder")?,
            action: mlp("action")?,
            transition: mlp("transition")?,
            decoder: mlp("decoder")?,
            direct: mlp("direct")?,
        })
    }

    /// Per-gene (α, β) of the direct head from `[prior features | centre level]` rows (genes x 2).
    pub fn direct_coefficients(&self, gene_inputs: &Tensor) -> candle_core::Result<Tensor> {
        self.direct.forward(gene_inputs)
    }

    /// x̃' = x̃ + D(F(E(x̃), a)) − D(E(x̃)) + p ⊙ α + |p| ⊙ β ⊙ x̃ + (1 + a·γ) s, a = A(u) − A(0).
    pub fn forward(&self, batch: &Batch, direct: &Tensor) -> candle_core::Result<Tensor> {
        let z = self.encoder.forward(&batch.x)?;
        let zero = batch.u.narrow(0, 0, 1)?.zeros_like()?;
        let a = self.action.forward(&batch.u)?.broadcast_sub(&self.action.forward(&zero)?)?;
        let a = match &batch.action_row {
            Some(index) => a.index_select(index, 0)?,
            None => a,
        };
        let z_next = (&z + self.transition.forward(&Tensor::cat(&[&z, &a], D::Minus1)?)?)?;
        let rows = z.dim(0)?;
        let decoded = self.decoder.forward(&Tensor::cat(&[&z_next, &z], 0)?)?;
        let delta = (decoded.narrow(0, 0, rows)? - decoded.narrow(0, rows, rows)?)?;
        let alpha = direct.narrow(1, 0, 1)?.t()?;
        let beta = direct.narrow(1, 1, 1)?.t()?;
        let own = (batch.p.broadcast_mul(&alpha)? + batch.p_abs.broadcast_mul(&beta)?.mul(&batch.x)?)?;
        let gate = (a.matmul(self.gate.as_tensor())? + 1.0)?;
        ((&batch.x + delta)? + own)? + batch.s.broadcast_mul(&gate)?
    }
}
