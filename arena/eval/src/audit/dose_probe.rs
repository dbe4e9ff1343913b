//! The dose family's own probe, `probe: nearest seen dose`: each held-out compound-at-dose is
//! answered with the observed training mean of the same compound at its nearest training dose (in
//! log10(1 + dose/nM)), a compound never trained with μ_pert (on an unseen context: the training
//! context's mean at the same dose, shifted to the new context's control mean). It asks whether a task that claims to
//! test dose interpolation is won by ignoring the dose: a model should beat it on
//! `pearson_delta_per_dose`, and it earns nothing on `dose_monotonicity` beyond what the training
//! doses' order gives.

use tasks::TaskInstance;

use super::probes::Lookup;

pub const NAME: &str = "probe: nearest seen dose";
pub const DESCRIPTION: &str =
    "the observed training mean of the same compound at its nearest training dose (μ_pert for an unseen compound)";

/// The probe, on dose tasks (`None` on every other family).
pub fn nearest_dose(instance: &TaskInstance<'_>) -> Option<Lookup> {
    if !instance.spec.spec.split.is_dose() {
        return None;
    }
    let trained: Vec<(&str, f64, &ndarray::Array1<f64>)> = instance
        .train_means
        .iter()
        .filter_map(|(p, m)| p.single_compound().map(|(c, d)| (c, d.transformed(), m)))
        .collect();
    let profiles = instance
        .eval_items()
        .iter()
        .map(|item| {
            let action = item.actions[0].clone();
            let nearest = action.single_compound().and_then(|(c, d)| {
                let t = d.transformed();
                trained
                    .iter()
                    .filter(|(name, _, _)| *name == c)
                    .min_by(|a, b| (a.1 - t).abs().total_cmp(&(b.1 - t).abs()).then(a.1.total_cmp(&b.1)))
            });
            let profile = nearest.map_or(&instance.perturbed_mean, |(_, _, m)| *m);
            (action, profile.to_vec())
        })
        .collect();
    Some(Lookup::new(NAME, profiles))
}
