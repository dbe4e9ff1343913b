//! `additive`: x' = x + Σ_g Δ_g over the perturbation's genes, Δ_g = (training single of g) − μ_ctrl;
//! a gene without a training single contributes the mean perturbation effect μ_pert − μ_ctrl.
//! For combinations this is the classic "no interaction" expectation (GEARS, Norman 2019).
//! A compound at dose d contributes its training effect at d, or, at a dose it was not trained at,
//! the effects of its neighbouring training doses interpolated linearly in t = log10(1 + d/1 nM)
//! (below its lowest training dose towards no effect at t = 0; above its highest, the highest's);
//! a compound never trained contributes μ_pert − μ_ctrl.

use std::collections::BTreeMap;

use ndarray::Array2;
use tasks::{Model, ModelKind, QueryBatch, TaskError, TaskInstance};

pub struct Additive {
    single_deltas: BTreeMap<String, Vec<f64>>,
    /// Per compound, its training effects by transformed dose t, ascending.
    compound_deltas: BTreeMap<String, Vec<(f64, Vec<f64>)>>,
    fallback: Vec<f64>,
}

impl Additive {
    pub fn fit(instance: &TaskInstance<'_>) -> Self {
        let single_deltas = instance
            .train_means
            .iter()
            .filter(|(p, _)| p.order() == 1)
            .filter_map(|(p, m)| p.genes().next().map(|g| (g.to_string(), (m - &instance.control_mean).to_vec())))
            .collect();
        let mut compound_deltas: BTreeMap<String, Vec<(f64, Vec<f64>)>> = BTreeMap::new();
        for (p, m) in &instance.train_means {
            if let Some((c, dose)) = p.single_compound() {
                let delta = (m - &instance.control_mean).to_vec();
                compound_deltas.entry(c.to_string()).or_default().push((dose.transformed(), delta));
            }
        }
        compound_deltas.values_mut().for_each(|v| v.sort_by(|a, b| a.0.total_cmp(&b.0)));
        Self { single_deltas, compound_deltas, fallback: (&instance.perturbed_mean - &instance.control_mean).to_vec() }
    }

    fn delta(&self, p: &tasks::Perturbation) -> Vec<f64> {
        let mut total = vec![0.0; self.fallback.len()];
        for gene in p.genes() {
            let d = self.single_deltas.get(gene).unwrap_or(&self.fallback);
            total.iter_mut().zip(d).for_each(|(t, x)| *t += x);
        }
        for (compound, dose) in p.compounds() {
            let d = match self.compound_deltas.get(compound) {
                Some(curve) => interpolate(curve, dose.transformed()),
                None => self.fallback.clone(),
            };
            total.iter_mut().zip(&d).for_each(|(t, x)| *t += x);
        }
        total
    }
}

/// The effect at transformed dose `t` of a compound's training `curve` (ascending in t, not
/// empty): linear between the neighbouring training doses, from (0, no effect) below the lowest,
/// the highest's effect above it.
fn interpolate(curve: &[(f64, Vec<f64>)], t: f64) -> Vec<f64> {
    let upper = curve.iter().position(|(u, _)| *u >= t);
    let (lo, hi) = match upper {
        None => return curve[curve.len() - 1].1.clone(),
        Some(0) => ((0.0, None), &curve[0]),
        Some(i) => ((curve[i - 1].0, Some(&curve[i - 1].1)), &curve[i]),
    };
    let ((t0, y0), (t1, y1)) = (lo, hi);
    let w = if *t1 > t0 { (t - t0) / (t1 - t0) } else { 1.0 };
    y1.iter().enumerate().map(|(g, b)| y0.map_or(0.0, |a| a[g]) * (1.0 - w) + b * w).collect()
}

impl Model for Additive {
    fn name(&self) -> &str {
        "additive"
    }
    fn kind(&self) -> ModelKind {
        ModelKind::Baseline
    }
    fn fingerprint(&self) -> String {
        let mut params: Vec<&[f64]> = vec![&self.fallback];
        params.extend(self.single_deltas.values().map(Vec::as_slice));
        if self.compound_deltas.is_empty() {
            return super::fingerprint("additive/v1", &params);
        }
        let doses: Vec<f64> = self.compound_deltas.values().flatten().map(|(t, _)| *t).collect();
        params.push(&doses);
        params.extend(self.compound_deltas.values().flatten().map(|(_, d)| d.as_slice()));
        let names: String = self.compound_deltas.keys().map(|c| format!("{c};")).collect();
        super::fingerprint(&format!("additive/v1:{names}"), &params)
    }
    fn predict(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError> {
        super::shift::apply_shift(batch, |p| Ok(self.delta(p)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, array};
    use tasks::{Dataset, Direction, GenePanel, Observation, Perturbation, Scale};

    const GENES: [&str; 6] = ["A", "B", "C", "D", "E", "F"];

    fn spec() -> tasks::LoadedSpec {
        tasks::spec::toy_spec(
            "rule = \"unseen-single\"\ntest_fraction = 0.3\ncontrol_test_fraction = 0.5",
            0,
            &["mae"],
            &["additive"],
        )
    }

    fn control() -> Vec<f64> {
        (0..GENES.len()).map(|k| 2.0 + 0.25 * k as f64).collect()
    }

    /// Known single effect of gene index g (multiples of 0.5, exact in f32).
    fn effect(g: usize) -> Vec<f64> {
        (0..GENES.len()).map(|k| ((g + 1) * (k + 2) % 7) as f64 * 0.5 - 1.5).collect()
    }

    /// Control rows all equal to c; each single has two cells c + Δ ± 0.25.
    fn dataset() -> Dataset {
        let c = control();
        let mut labels = Vec::new();
        let mut rows: Vec<f32> = Vec::new();
        for (g, name) in GENES.iter().enumerate() {
            for sign in [-1.0, 1.0] {
                labels.push(Perturbation::single(*name, Direction::Knockdown));
                rows.extend(c.iter().zip(effect(g)).map(|(c, d)| (c + d + sign * 0.25) as f32));
            }
            labels.push(Perturbation::control());
            rows.extend(c.iter().map(|&v| v as f32));
        }
        let x = Array2::from_shape_vec((labels.len(), GENES.len()), rows).unwrap();
        let panel = GenePanel::new(GENES.iter().map(|s| s.to_string()).collect()).unwrap();
        Dataset::new("toy", "", panel, Scale::LogNormalized, Observation::SingleCell, x, labels).unwrap()
    }

    fn gene_index(name: &str) -> usize {
        GENES.iter().position(|g| *g == name).unwrap()
    }

    fn pert(genes: &[&str]) -> Perturbation {
        Perturbation::from_genes(genes.iter().map(|g| (g.to_string(), Direction::Knockdown)))
    }

    fn predict(model: &dyn Model, ds: &Dataset, start: &Array2<f32>, p: &Perturbation) -> Array2<f32> {
        let perturbations = vec![p.clone(); start.nrows()];
        let batch = QueryBatch::new(&ds.genes, start.view(), &perturbations);
        model.predict(&batch).unwrap()
    }

    fn assert_shift(out: &Array2<f32>, start: &Array2<f32>, delta: &[f64], what: &str) {
        assert_eq!(out.dim(), start.dim());
        for (o, s) in out.rows().into_iter().zip(start.rows()) {
            for ((&o, &s), &d) in o.iter().zip(s.iter()).zip(delta) {
                let expected = f64::from(s) + d;
                assert!((f64::from(o) - expected).abs() <= 1e-5 * expected.abs().max(1.0), "{what}: {o} vs {expected}");
            }
        }
    }

    #[test]
    fn a_double_of_two_trained_singles_adds_their_effects() {
        let ds = dataset();
        let inst = TaskInstance::build(spec(), &ds).unwrap();
        assert!(inst.control_mean.iter().zip(control()).all(|(a, b)| (a - b).abs() < 1e-12));
        let trained = &inst.split.train_genes;
        assert!(trained.len() >= 2);
        let (a, b) = (trained[0].as_str(), trained[1].as_str());
        let model = Additive::fit(&inst);
        let c = Array1::from(control()).mapv(|v| v as f32);
        let start = ndarray::stack![ndarray::Axis(0), c.view(), c.mapv(|v| v + 1.0).view()];
        let expected: Vec<f64> = effect(gene_index(a)).iter().zip(effect(gene_index(b))).map(|(x, y)| x + y).collect();
        assert_shift(&predict(&model, &ds, &start, &pert(&[a, b])), &start, &expected, "A+B");
        // A trained single alone is its own effect; the control is no change.
        assert_shift(&predict(&model, &ds, &start, &pert(&[a])), &start, &effect(gene_index(a)), "A");
        assert_shift(&predict(&model, &ds, &start, &Perturbation::control()), &start, &[0.0; 6], "ctrl");
    }

    #[test]
    fn a_gene_without_training_single_contributes_the_mean_effect() {
        let ds = dataset();
        let inst = TaskInstance::build(spec(), &ds).unwrap();
        let trained = &inst.split.train_genes;
        let unseen = inst.test_conditions()[0].label.clone();
        assert!(!trained.contains(&unseen));
        // μ_pert − c = mean of the training singles' effects (all singles here).
        let fallback: Vec<f64> = (0..GENES.len())
            .map(|k| trained.iter().map(|g| effect(gene_index(g))[k]).sum::<f64>() / trained.len() as f64)
            .collect();
        let model = Additive::fit(&inst);
        let start = array![[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]];
        assert_shift(&predict(&model, &ds, &start, &pert(&[&unseen])), &start, &fallback, "unseen single");
        let a = trained[0].as_str();
        let expected: Vec<f64> = effect(gene_index(a)).iter().zip(&fallback).map(|(x, y)| x + y).collect();
        assert_shift(&predict(&model, &ds, &start, &pert(&[a, &unseen])), &start, &expected, "A+unseen");
        // A gene outside the panel also falls back.
        let both_unknown: Vec<f64> = fallback.iter().map(|f| 2.0 * f).collect();
        assert_shift(&predict(&model, &ds, &start, &pert(&["ZZZ", &unseen])), &start, &both_unknown, "ZZZ+unseen");
    }

    /// Between two training doses the effect is interpolated in log10(1 + dose/nM); below the
    /// lowest towards no effect; above the highest, the highest's; an untrained compound falls back.
    #[test]
    fn compound_doses_interpolate_in_the_transformed_dose() {
        let curve = vec![(1.0, vec![2.0, -2.0]), (3.0, vec![6.0, 0.0])];
        assert_eq!(interpolate(&curve, 2.0), vec![4.0, -1.0]);
        assert_eq!(interpolate(&curve, 1.0), vec![2.0, -2.0]);
        assert_eq!(interpolate(&curve, 0.5), vec![1.0, -1.0]);
        assert_eq!(interpolate(&curve, 5.0), vec![6.0, 0.0]);
        let dose = |nm: f64| tasks::Dose::nanomolar(nm).unwrap();
        let t = |nm: f64| dose(nm).transformed();
        let model = Additive {
            single_deltas: BTreeMap::new(),
            compound_deltas: [("dex".to_string(), vec![(t(9.0), vec![1.0]), (t(999.0), vec![3.0])])].into(),
            fallback: vec![0.25],
        };
        // t(99) = 2 lies halfway between t(9) = 1 and t(999) = 3.
        let mid = model.delta(&Perturbation::compound("dex", dose(99.0)));
        assert!((mid[0] - 2.0).abs() < 1e-9, "{mid:?}");
        assert_eq!(model.delta(&Perturbation::compound("other", dose(99.0))), vec![0.25]);
    }

    #[test]
    fn fingerprint_depends_on_the_fit() {
        let ds = dataset();
        let inst = TaskInstance::build(spec(), &ds).unwrap();
        let a = Additive::fit(&inst);
        assert_eq!(a.fingerprint(), Additive::fit(&inst).fingerprint());
        assert_eq!(a.fingerprint().len(), 64);
        assert_eq!((a.name(), a.kind()), ("additive", ModelKind::Baseline));
    }
}
