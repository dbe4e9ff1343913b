//! `grn-ridge`: the `ridge` baseline plus the prior network the reference model reads (the
//! registered CollecTRI table, signed TF → target edges). A perturbation of regulator g in
//! direction d (sign s = −1 knockdown, +1 activation) propagates along g's signed edges:
//!   z₁(p) = Σ_{(g,d)∈p} s · v_g,   v_g[t] = sign(g→t) / √(out-degree of g within the panel),
//!   z₂(p) = Σ_{(g,d)∈p} s · Σ_t v_g[t] v_t   (two steps along the edges),
//! and each measured gene j has its own gains (a₁ⱼ, a₂ⱼ), fitted by ridge regression of the
//! training effects yᵢⱼ (centroid − μ_ctrl) on (z₁ᵢⱼ, z₂ᵢⱼ) with λⱼ = [`GAIN_SHRINK`] × the
//! mean of the two feature channels' squared norms for gene j (a fixed, stated shrinkage). The
//! `ridge` regression on the perturbation indicator then fits what the network term leaves:
//!   effect(p) = a₁ ⊙ z₁(p) + a₂ ⊙ z₂(p) + ridge_residual(p).
//! An unseen regulator thus gets its prior-propagated effect instead of ridge's intercept alone.
//! All fitting uses the training view only.

use std::collections::HashMap;

use ndarray::{Array1, Array2};
use tasks::{Model, ModelKind, Perturbation, QueryBatch, TaskError, TaskInstance};

use super::ridge::Ridge;
use crate::reference::features::Edges;

/// λⱼ as a multiple of the mean squared norm of gene j's two feature channels.
const GAIN_SHRINK: f64 = 0.1;

pub struct GrnRidge {
    /// Per regulator, its signed one-step and two-step profiles over the panel.
    profiles: HashMap<String, (Array1<f64>, Array1<f64>)>,
    /// a₁, a₂ per measured gene.
    gains: (Array1<f64>, Array1<f64>),
    residual: Ridge,
    n_edges: usize,
}

impl GrnRidge {
    /// Fits on the task's training view with the prior `edges`.
    pub fn fit(instance: &TaskInstance<'_>, edges: &Edges) -> Self {
        let panel = instance.dataset.genes.names();
        let n = panel.len();
        let index: HashMap<&str, usize> = panel.iter().enumerate().map(|(i, g)| (g.as_str(), i)).collect();
        let mut one: HashMap<String, Array1<f64>> = HashMap::new();
        let mut n_edges = 0;
        for (s, t, w) in edges {
            if let Some(&ti) = index.get(t.as_str()) {
                one.entry(s.clone()).or_insert_with(|| Array1::zeros(n))[ti] += f64::from(*w);
                n_edges += 1;
            }
        }
        for v in one.values_mut() {
            let degree = v.iter().filter(|x| **x != 0.0).count().max(1) as f64;
            *v /= degree.sqrt();
        }
        let profiles: HashMap<String, (Array1<f64>, Array1<f64>)> = one
            .iter()
            .map(|(g, v)| {
                let mut two = Array1::<f64>::zeros(n);
                for (t, &w) in panel.iter().zip(v.iter()) {
                    if let (true, Some(vt)) = (w != 0.0, one.get(t)) {
                        two.scaled_add(w, vt);
                    }
                }
                (g.clone(), (v.clone(), two))
            })
            .collect();
        let conditions: Vec<&Perturbation> = instance.train_means.iter().map(|(p, _)| p).collect();
        let m = conditions.len();
        let mut y = Array2::<f64>::zeros((m, n));
        let (mut z1, mut z2) = (Array2::<f64>::zeros((m, n)), Array2::<f64>::zeros((m, n)));
        for (i, (p, mean)) in instance.train_means.iter().enumerate() {
            y.row_mut(i).assign(&(mean - &instance.control_mean));
            let (a, b) = propagate(&profiles, p, n);
            z1.row_mut(i).assign(&a);
            z2.row_mut(i).assign(&b);
        }
        let mut gains = (Array1::<f64>::zeros(n), Array1::<f64>::zeros(n));
        for j in 0..n {
            let (c1, c2, yj) = (z1.column(j), z2.column(j), y.column(j));
            let (s11, s22, s12) = (c1.dot(&c1), c2.dot(&c2), c1.dot(&c2));
            let lambda = GAIN_SHRINK * (s11 + s22) / 2.0;
            let (a11, a22) = (s11 + lambda, s22 + lambda);
            let det = a11 * a22 - s12 * s12;
            if !(det.is_finite() && det > 1e-12) {
                continue;
            }
            let (r1, r2) = (c1.dot(&yj), c2.dot(&yj));
            gains.0[j] = (a22 * r1 - s12 * r2) / det;
            gains.1[j] = (a11 * r2 - s12 * r1) / det;
        }
        let network =
            &z1 * &gains.0.view().insert_axis(ndarray::Axis(0)) + &z2 * &gains.1.view().insert_axis(ndarray::Axis(0));
        let residual = Ridge::fit_effects(&conditions, y - network);
        GrnRidge { profiles, gains, residual, n_edges }
    }

    /// Prior edges whose target is in the panel.
    pub fn n_edges(&self) -> usize {
        self.n_edges
    }

    /// The predicted effect (change from the start state) of a perturbation.
    pub fn effect(&self, p: &Perturbation) -> Vec<f64> {
        let n = self.gains.0.len();
        let (z1, z2) = propagate(&self.profiles, p, n);
        let network = &z1 * &self.gains.0 + &z2 * &self.gains.1;
        network.iter().zip(self.residual.effect(p)).map(|(a, b)| a + b).collect()
    }
}

/// z₁(p), z₂(p): the signed profiles of p's regulators, summed with their directions' signs.
fn propagate(
    profiles: &HashMap<String, (Array1<f64>, Array1<f64>)>,
    p: &Perturbation,
    n: usize,
) -> (Array1<f64>, Array1<f64>) {
    let (mut a, mut b) = (Array1::<f64>::zeros(n), Array1::<f64>::zeros(n));
    for (g, d) in p.targets() {
        if let Some((one, two)) = profiles.get(g) {
            let s = f64::from(d.sign());
            a.scaled_add(s, one);
            b.scaled_add(s, two);
        }
    }
    (a, b)
}

impl Model for GrnRidge {
    fn name(&self) -> &str {
        "grn-ridge"
    }
    fn kind(&self) -> ModelKind {
        ModelKind::Baseline
    }
    fn fingerprint(&self) -> String {
        let residual = self.residual.fingerprint();
        super::fingerprint(
            &format!("grn-ridge/v1:{residual}"),
            &[self.gains.0.as_slice().unwrap_or(&[]), self.gains.1.as_slice().unwrap_or(&[])],
        )
    }
    fn predict(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError> {
        super::shift::apply_shift(batch, |p| Ok(self.effect(p)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tasks::{Dataset, Direction, GenePanel, Observation, Scale};

    /// Regulators R0..R5 (not measured) act on 4 measured genes through known signed edges with a
    /// common gain of 0.8; an unseen regulator's effect follows from its edges alone.
    fn edges() -> Edges {
        let mut e = Vec::new();
        for k in 0..6usize {
            for t in 0..4usize {
                if (k + t) % 3 != 0 {
                    let sign = if (k * t) % 2 == 0 { 1.0 } else { -1.0 };
                    e.push((format!("R{k}"), format!("G{t}"), sign));
                }
            }
        }
        e
    }

    fn truth(k: usize) -> Vec<f64> {
        let e = edges();
        let degree = e.iter().filter(|(s, _, _)| *s == format!("R{k}")).count() as f64;
        (0..4)
            .map(|t| {
                let w = e.iter().find(|(s, g, _)| *s == format!("R{k}") && *g == format!("G{t}")).map_or(0.0, |x| x.2);
                -0.8 * f64::from(w) / degree.sqrt()
            })
            .collect()
    }

    #[test]
    fn an_unseen_regulator_gets_its_prior_propagated_effect_and_ridge_does_not() {
        let mut labels = Vec::new();
        let mut rows: Vec<f32> = Vec::new();
        for k in 0..6 {
            for _ in 0..3 {
                labels.push(Perturbation::single(format!("R{k}"), Direction::Knockdown));
                rows.extend(truth(k).iter().map(|v| (2.0 + v) as f32));
                labels.push(Perturbation::control());
                rows.extend([2.0f32; 4]);
            }
        }
        let x = Array2::from_shape_vec((labels.len(), 4), rows).unwrap();
        let panel = GenePanel::new((0..4).map(|t| format!("G{t}")).collect()).unwrap();
        let ds = Dataset::new("toy", "", panel, Scale::LogNormalized, Observation::SingleCell, x, labels).unwrap();
        let spec = tasks::spec::toy_spec(
            "rule = \"unseen-single\"\ntest_fraction = 0.34\ncontrol_test_fraction = 0.5",
            0,
            &["mse"],
            &["ridge"],
        );
        let inst = TaskInstance::build(spec, &ds).unwrap();
        let held_out: Vec<&Perturbation> =
            inst.test_conditions().iter().map(|t| inst.dataset.condition(t.condition)).collect();
        assert!(!held_out.is_empty());
        let model = GrnRidge::fit(&inst, &edges());
        let ridge = Ridge::fit(&inst);
        assert!(model.n_edges() > 0);
        for p in held_out {
            let k: usize = p.label()[1..].parse().unwrap();
            let want = truth(k);
            let err = |got: Vec<f64>| got.iter().zip(&want).map(|(g, w)| (g - w).powi(2)).sum::<f64>();
            let (e_grn, e_ridge) = (err(model.effect(p)), err(ridge.effect(p)));
            assert!(e_grn < 0.25 * e_ridge, "{p}: grn-ridge {e_grn} vs ridge {e_ridge}");
        }
    }
}
