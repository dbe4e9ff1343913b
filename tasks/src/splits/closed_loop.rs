//! The closed-loop split: the genes of the dataset's single perturbations are shuffled from the
//! seed and a `train_gene_fraction` of them (at least one, never all) are the prior screen's
//! genes. Every perturbed condition whose genes are all training genes trains (their singles, and
//! the doubles among them the dataset holds); every other single or double whose genes are all
//! among the singles' genes is held out: untested, a candidate of the closed loop, its cells in no
//! training view. Held-out subgroups follow GEARS (`unseen_single`, `combo_seen0/1/2` by how many
//! of a double's genes train). Conditions of other genes, or of more than two, are not used.
//!
//! The candidate library itself belongs to the family (`arena_eval::families::closed_loop`): on
//! the simulator it is every single and double of the singles' genes that is not training (the
//! simulator can run them all); on real data it is the held-out conditions, replayed.

use std::collections::BTreeSet;

use crate::dataset::{ConditionId, Dataset};
use crate::error::TaskError;
use crate::spec::SplitRule;
use crate::split::{Split, Subgroup, TestCondition, split_controls};

/// One line on the split and the screen, for `arena tasks show`.
pub fn describe(rule: &SplitRule) -> String {
    match rule {
        SplitRule::ClosedLoop { train_gene_fraction, rounds, batch, hit_fraction, guide_baseline, .. } => format!(
            "closed loop, {:.0}% of the singles' genes train; {rounds} rounds of {batch} picks among the untested singles and doubles; hits: the {:.0}% of the library closest to a hidden goal state; compared with the {guide_baseline}-guided screen",
            train_gene_fraction * 100.0,
            hit_fraction * 100.0
        ),
        _ => String::new(),
    }
}

/// The genes of the dataset's single perturbations, sorted: the genes a library is built from.
pub fn library_genes(dataset: &Dataset) -> Vec<String> {
    dataset
        .conditions()
        .iter()
        .filter(|p| p.order() == 1 && !p.is_control())
        .flat_map(|p| p.genes().map(str::to_string).collect::<Vec<_>>())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

pub fn build(
    dataset: &Dataset,
    train_gene_fraction: f64,
    control_test_fraction: f64,
    seed: u64,
) -> Result<Split, TaskError> {
    let impossible =
        |reason: String| TaskError::SplitImpossible { task: "closed-loop".into(), dataset: dataset.id.clone(), reason };
    let mut genes = library_genes(dataset);
    if genes.len() < 2 {
        return Err(impossible(format!(
            "it has {} single perturbation(s); at least 2 genes are needed (one trains, one is screened)",
            genes.len()
        )));
    }
    let library: BTreeSet<String> = genes.iter().cloned().collect();
    metrics::rng::shuffle(&mut genes, &mut metrics::rng::seeded(seed ^ 0xC1_05ED));
    let n_train = ((genes.len() as f64 * train_gene_fraction).round() as usize).clamp(1, genes.len() - 1);
    let train_genes: BTreeSet<String> = genes[..n_train].iter().cloned().collect();
    let mut perturbed: Vec<(String, ConditionId)> = dataset
        .conditions()
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.is_control())
        .map(|(i, p)| (p.label(), ConditionId(i as u32)))
        .collect();
    // Sorted so that the split does not depend on the dataset's row order.
    perturbed.sort();
    let mut train = Vec::new();
    let mut test = Vec::new();
    for (label, c) in perturbed {
        let p = dataset.condition(c);
        let seen = p.genes().filter(|g| train_genes.contains(*g)).count();
        if seen == p.order() {
            train.push(c);
            continue;
        }
        if p.order() > 2 || !p.genes().all(|g| library.contains(g)) {
            continue;
        }
        let subgroup = match (p.order(), seen) {
            (1, _) => Subgroup::UnseenSingle,
            (_, 0) => Subgroup::ComboSeen0,
            _ => Subgroup::ComboSeen1,
        };
        test.push(TestCondition { condition: c, label, subgroup });
    }
    test.sort_by(|a, b| (a.subgroup, &a.label).cmp(&(b.subgroup, &b.label)));
    let controls = split_controls(dataset, control_test_fraction, seed);
    Ok(Split::one_step(train, test, controls, train_genes.into_iter().collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{Observation, Scale};
    use crate::gene::GenePanel;
    use crate::perturbation::{Direction, Perturbation};
    use ndarray::Array2;

    fn p(genes: &[usize]) -> Perturbation {
        Perturbation::from_genes(genes.iter().map(|g| (format!("G{g}"), Direction::Knockdown)))
    }

    fn dataset(reverse: bool) -> Dataset {
        let mut labels: Vec<Perturbation> = (0..8).map(|g| p(&[g])).collect();
        labels.extend((0..7).map(|g| p(&[g, g + 1])));
        labels.push(p(&[0, 9]));
        labels.extend((0..4).map(|_| Perturbation::control()));
        if reverse {
            labels.reverse();
        }
        let x = Array2::from_shape_fn((labels.len(), 10), |(r, c)| (r * c) as f32);
        let genes = GenePanel::new((0..10).map(|g| format!("G{g}")).collect()).unwrap();
        Dataset::new("toy", "", genes, Scale::LogNormalized, Observation::SingleCell, x, labels).unwrap()
    }

    #[test]
    fn training_is_the_training_genes_and_held_out_conditions_are_untested() {
        let ds = dataset(false);
        for seed in 0..8 {
            let s = build(&ds, 0.5, 0.5, seed).unwrap();
            let train_genes: BTreeSet<&str> = s.train_genes.iter().map(String::as_str).collect();
            assert_eq!(train_genes.len(), 4, "round(8 · 0.5) genes train");
            for &c in &s.train {
                assert!(ds.condition(c).genes().all(|g| train_genes.contains(g)));
            }
            for t in &s.test {
                let cond = ds.condition(t.condition);
                assert!(cond.genes().any(|g| !train_genes.contains(g)), "{}", t.label);
                assert!(!cond.genes().any(|g| g == "G9"), "G9 has no single: not in the library");
                assert!(!s.train.contains(&t.condition));
            }
            // 4 held-out singles; the doubles with a held-out gene.
            assert_eq!(s.test.iter().filter(|t| t.subgroup == Subgroup::UnseenSingle).count(), 4);
            assert_eq!(s.train.len() + s.test.len(), 15, "every condition of the 8 genes is placed, G0+G9 is not");
        }
    }

    #[test]
    fn deterministic_and_independent_of_row_order() {
        let (a, b) = (dataset(false), dataset(true));
        let labels = |ds: &Dataset, s: &Split| {
            let mut train = s.train_labels(ds);
            train.sort();
            (train, s.test.iter().map(|t| t.label.clone()).collect::<Vec<_>>())
        };
        let distinct: BTreeSet<_> = (0..6).map(|seed| labels(&a, &build(&a, 0.5, 0.5, seed).unwrap())).collect();
        assert!(distinct.len() > 1, "the seed moves the split");
        for seed in 0..6 {
            assert_eq!(
                labels(&a, &build(&a, 0.5, 0.5, seed).unwrap()),
                labels(&b, &build(&b, 0.5, 0.5, seed).unwrap())
            );
        }
    }
}
