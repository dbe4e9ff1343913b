//! The dose splits of datasets whose actions are compounds at doses (`unseen-dose`,
//! `unseen-compound`). Only conditions that are one compound at one dose take part (gene and
//! combined actions are left out).
//!
//! - Unseen doses (interpolation): of each compound's sorted dose levels d_0 < … < d_{K−1}, the
//!   levels d_i with i odd and i < K − 1 are held out (subgroup `unseen_dose`): never the lowest
//!   nor the highest, so every held-out dose lies between two training doses of the same
//!   compound. A compound with fewer than 3 doses only trains.
//! - Unseen compounds: the compounds are shuffled from the seed and a `test_fraction` of them (at
//!   least one, never all) are held out at every dose (subgroup `unseen_compound`).
//!
//! - Unseen context ([`build_unseen_context`]): every compound-at-dose of the training context
//!   trains; those of the dataset's second context (`dataset.context`) that the training context
//!   also has are held out (subgroup `new_context`), zero-shot: no cell of that context trains.
//!   Its control cells are split into reference controls (its μ_ctrl) and start states.
//!
//! Control cells are split as in every task ([`split_controls`]); held-out items are sorted by
//! compound, then dose.

use std::collections::{BTreeMap, BTreeSet};

use crate::dataset::{ConditionId, Dataset};
use crate::dose::Dose;
use crate::error::TaskError;
use crate::spec::SplitRule;
use crate::split::{Split, Subgroup, TestCondition, split_controls};

/// What the split holds out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HoldOut {
    /// Interior doses of every compound (odd positions below the highest).
    Doses,
    /// A seeded fraction of the compounds, at every dose.
    Compounds { test_fraction: f64 },
}

/// One line on the split, for `arena tasks show`.
pub fn describe(rule: &SplitRule) -> String {
    match rule {
        SplitRule::UnseenDose { .. } => "unseen doses (interpolation): of each compound's sorted doses, those at odd positions below its highest are held out; the others train".into(),
        SplitRule::UnseenContext { .. } => "unseen cell context (zero-shot): every compound-at-dose of the training context trains; the same conditions in the second context are held out, predicted from its control cells and scored against its references".into(),
        SplitRule::UnseenCompound { test_fraction, .. } => format!(
            "unseen compounds: {:.0}% of the compounds held out at every dose; the others train at every dose",
            test_fraction * 100.0
        ),
        _ => String::new(),
    }
}

/// The dose levels of every compound of the dataset's single-compound conditions, sorted.
pub fn compound_doses(dataset: &Dataset) -> BTreeMap<String, Vec<Dose>> {
    let mut doses: BTreeMap<String, BTreeSet<Dose>> = BTreeMap::new();
    for p in dataset.conditions() {
        if let Some((c, d)) = p.single_compound() {
            doses.entry(c.to_string()).or_default().insert(d);
        }
    }
    doses.into_iter().map(|(c, d)| (c, d.into_iter().collect())).collect()
}

/// The doses [`HoldOut::Doses`] holds out of sorted `levels`: odd positions below the last.
pub fn held_out_doses(levels: &[Dose]) -> Vec<Dose> {
    levels.iter().enumerate().filter(|(i, _)| i % 2 == 1 && i + 1 < levels.len()).map(|(_, d)| *d).collect()
}

pub fn build(dataset: &Dataset, hold_out: HoldOut, control_test_fraction: f64, seed: u64) -> Result<Split, TaskError> {
    let task = match hold_out {
        HoldOut::Doses => "unseen-dose",
        HoldOut::Compounds { .. } => "unseen-compound",
    };
    let impossible =
        |reason: String| TaskError::SplitImpossible { task: task.into(), dataset: dataset.id.clone(), reason };
    let doses = compound_doses(dataset);
    if doses.is_empty() {
        return Err(impossible(
            "it has no compound-at-dose conditions (labels `name@dose`; a drug dataset names its dose column)".into(),
        ));
    }
    let held: BTreeSet<(String, Dose)> = match hold_out {
        HoldOut::Doses => doses
            .iter()
            .flat_map(|(c, levels)| held_out_doses(levels).into_iter().map(move |d| (c.clone(), d)))
            .collect(),
        HoldOut::Compounds { test_fraction } => {
            if doses.len() < 2 {
                return Err(impossible(format!("it has {} compound(s); at least 2 are needed", doses.len())));
            }
            let mut names: Vec<&String> = doses.keys().collect();
            metrics::rng::shuffle(&mut names, &mut metrics::rng::seeded(seed ^ 0xD0_5E));
            let n_test = ((names.len() as f64 * test_fraction).round() as usize).clamp(1, names.len() - 1);
            names[..n_test].iter().flat_map(|c| doses[*c].iter().map(move |d| ((*c).clone(), *d))).collect()
        }
    };
    let subgroup = match hold_out {
        HoldOut::Doses => Subgroup::UnseenDose,
        HoldOut::Compounds { .. } => Subgroup::UnseenCompound,
    };
    let mut train: Vec<(String, ConditionId)> = Vec::new();
    let mut test: Vec<((String, Dose), TestCondition)> = Vec::new();
    for (i, p) in dataset.conditions().iter().enumerate() {
        let Some((c, d)) = p.single_compound() else { continue };
        let id = ConditionId(i as u32);
        let key = (c.to_string(), d);
        if held.contains(&key) {
            test.push((key, TestCondition { condition: id, label: p.label(), subgroup }));
        } else {
            train.push((p.label(), id));
        }
    }
    // Sorted so that the split does not depend on the dataset's row order.
    train.sort();
    test.sort_by(|a, b| a.0.cmp(&b.0));
    let controls = split_controls(dataset, control_test_fraction, seed);
    Ok(Split::one_step(
        train.into_iter().map(|(_, c)| c).collect(),
        test.into_iter().map(|(_, t)| t).collect(),
        controls,
        Vec::new(),
    ))
}

/// The unseen-context split (see the module docs).
pub fn build_unseen_context(dataset: &Dataset, control_test_fraction: f64, seed: u64) -> Result<Split, TaskError> {
    let impossible = |reason: String| TaskError::SplitImpossible {
        task: "unseen-context".into(),
        dataset: dataset.id.clone(),
        reason,
    };
    let Some(ctx) = &dataset.context else {
        return Err(impossible("it has no second context (use `simulator-drugs`)".into()));
    };
    let mut train: Vec<(String, ConditionId)> = Vec::new();
    for (i, p) in dataset.conditions().iter().enumerate() {
        if p.single_compound().is_some() {
            train.push((p.label(), ConditionId(i as u32)));
        }
    }
    train.sort();
    let in_context: BTreeSet<&crate::perturbation::Perturbation> =
        ctx.perturbations.iter().filter(|p| p.single_compound().is_some()).collect();
    let mut test: Vec<((String, Dose), TestCondition)> = in_context
        .into_iter()
        .filter_map(|p| {
            let (c, d) = p.single_compound()?;
            let id = dataset.condition_id(p)?;
            Some((
                (c.to_string(), d),
                TestCondition { condition: id, label: p.label(), subgroup: Subgroup::NewContext },
            ))
        })
        .collect();
    test.sort_by(|a, b| a.0.cmp(&b.0));
    if test.is_empty() || train.is_empty() {
        return Err(impossible(format!("context '{}' shares no compound-at-dose with the training context", ctx.name)));
    }
    let mut controls = ctx.control_rows();
    if controls.len() < 2 {
        return Err(impossible(format!("context '{}' needs at least 2 control cells", ctx.name)));
    }
    metrics::rng::shuffle(&mut controls, &mut metrics::rng::seeded(seed ^ 0xC0_47_03));
    let n_start = ((controls.len() as f64 * control_test_fraction).round() as usize).clamp(1, controls.len() - 1);
    let mut start = controls.split_off(controls.len() - n_start);
    controls.sort_unstable();
    start.sort_unstable();
    let (control_train_rows, control_test_rows) = split_controls(dataset, control_test_fraction, seed);
    Ok(Split {
        train: train.into_iter().map(|(_, c)| c).collect(),
        test: test.into_iter().map(|(_, t)| t).collect(),
        control_train_rows,
        control_test_rows,
        train_genes: Vec::new(),
        test_sequences: Vec::new(),
        context: Some(crate::split::ContextSplit {
            shot_order: Vec::new(),
            control_adapt_rows: controls,
            control_test_rows: start,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{Observation, Scale};
    use crate::gene::GenePanel;
    use crate::perturbation::{Direction, Perturbation};
    use ndarray::Array2;

    const DOSES: [f64; 7] = [3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0];

    fn dose(nm: f64) -> Dose {
        Dose::nanomolar(nm).unwrap()
    }

    /// Compounds c0..c4 at the 7 doses (c4 at only the first 2), a gene knockdown, controls.
    fn dataset(reverse: bool) -> Dataset {
        let mut labels: Vec<Perturbation> = Vec::new();
        for c in 0..5 {
            let n = if c == 4 { 2 } else { DOSES.len() };
            for &d in &DOSES[..n] {
                labels.extend(std::iter::repeat_n(Perturbation::compound(format!("c{c}"), dose(d)), 2));
            }
        }
        labels.push(Perturbation::single("G0", Direction::Knockdown));
        labels.extend((0..6).map(|_| Perturbation::control()));
        if reverse {
            labels.reverse();
        }
        let x = Array2::from_shape_fn((labels.len(), 3), |(r, c)| (r * (c + 1)) as f32);
        let genes = GenePanel::new(vec!["G0".into(), "G1".into(), "G2".into()]).unwrap();
        Dataset::new("toy", "", genes, Scale::LogNormalized, Observation::SingleCell, x, labels).unwrap()
    }

    #[test]
    fn unseen_doses_are_exactly_the_interior_odd_levels() {
        assert_eq!(held_out_doses(&DOSES.map(dose)), vec![dose(10.0), dose(100.0), dose(1000.0)]);
        let sciplex = [10.0, 100.0, 1000.0, 10000.0].map(dose);
        assert_eq!(held_out_doses(&sciplex), vec![dose(100.0)]);
        assert!(held_out_doses(&[dose(1.0), dose(2.0)]).is_empty());
        let ds = dataset(false);
        let s = build(&ds, HoldOut::Doses, 0.5, 0).unwrap();
        let test: Vec<&str> = s.test.iter().map(|t| t.label.as_str()).collect();
        let mut expected = Vec::new();
        for c in 0..4 {
            for d in [10, 100, 1000] {
                expected.push(format!("c{c}@{d}nM"));
            }
        }
        assert_eq!(test, expected);
        assert!(s.test.iter().all(|t| t.subgroup == Subgroup::UnseenDose));
        // Every other compound-at-dose trains (4 · 4 + c4's 2), the gene knockdown does not take part.
        assert_eq!(s.train.len(), 18);
        assert!(s.train.iter().all(|&c| ds.condition(c).single_compound().is_some()));
        for &c in &s.train {
            let (name, d) = ds.condition(c).single_compound().unwrap();
            assert!(!s.test.iter().any(|t| ds.condition(t.condition).single_compound() == Some((name, d))));
        }
    }

    #[test]
    fn unseen_compounds_hold_out_whole_compounds_deterministically() {
        let (a, b) = (dataset(false), dataset(true));
        let compounds = |ds: &Dataset, s: &Split, ids: &[ConditionId]| -> BTreeSet<String> {
            let _ = s;
            ids.iter().map(|&c| ds.condition(c).single_compound().unwrap().0.to_string()).collect()
        };
        let mut distinct = BTreeSet::new();
        for seed in 0..8 {
            let s = build(&a, HoldOut::Compounds { test_fraction: 0.4 }, 0.5, seed).unwrap();
            let test_ids: Vec<ConditionId> = s.test.iter().map(|t| t.condition).collect();
            let (train_c, test_c) = (compounds(&a, &s, &s.train), compounds(&a, &s, &test_ids));
            assert_eq!(test_c.len(), 2, "round(5 · 0.4) compounds held out");
            assert!(train_c.is_disjoint(&test_c));
            assert_eq!(train_c.len() + test_c.len(), 5);
            assert!(s.test.iter().all(|t| t.subgroup == Subgroup::UnseenCompound));
            let same = build(&b, HoldOut::Compounds { test_fraction: 0.4 }, 0.5, seed).unwrap();
            let labels = |s: &Split| s.test.iter().map(|t| t.label.clone()).collect::<Vec<_>>();
            assert_eq!(labels(&s), labels(&same), "row order must not matter");
            distinct.insert(test_c);
        }
        assert!(distinct.len() > 1, "the seed moves the split");
    }

    #[test]
    fn a_dataset_without_compounds_is_refused() {
        let labels = vec![Perturbation::single("G0", Direction::Knockdown), Perturbation::control()];
        let genes = GenePanel::new(vec!["G0".into()]).unwrap();
        let ds =
            Dataset::new("g", "", genes, Scale::LogNormalized, Observation::SingleCell, Array2::zeros((2, 1)), labels)
                .unwrap();
        let err = build(&ds, HoldOut::Doses, 0.5, 0).unwrap_err().to_string();
        assert!(err.contains("compound-at-dose"), "{err}");
    }
}
