//! The split-half noise ceiling: for each test perturbation its real cells are shuffled (seeded)
//! and halved; half A's mean is scored as the "prediction" of half B's mean. No model can be
//! expected to beat the agreement of two halves of the same experiment. Needs single cells
//! (at least two per perturbation); pseudobulk data have no ceiling.

use tasks::dataset::mean_rows;
use tasks::{Observation, TaskInstance};

/// Half A's and half B's mean profile per test condition.
pub type Halves = (Vec<Vec<f64>>, Vec<Vec<f64>>);

/// (prediction, truth) profile pairs per test condition, or the reason there is no ceiling.
pub fn split_halves(instance: &TaskInstance<'_>, seed: u64) -> Result<Halves, String> {
    if instance.dataset.observation == Observation::Pseudobulk {
        return Err("no noise ceiling: the dataset is pseudobulk (one profile per condition), so there are no cells to split in halves".into());
    }
    let mut predictions = Vec::new();
    let mut truths = Vec::new();
    for (k, item) in instance.eval_items().iter().enumerate() {
        if item.rows.len() < 2 {
            return Err(format!(
                "no noise ceiling: perturbation '{}' has {} cell(s); two halves need at least 2",
                item.label,
                item.rows.len()
            ));
        }
        let mut rows = item.rows.to_vec();
        metrics::rng::shuffle(&mut rows, &mut metrics::rng::seeded(seed.wrapping_add(k as u64)));
        let (a, b) = rows.split_at(rows.len() / 2);
        predictions.push(mean_rows(item.truth, a).to_vec());
        truths.push(mean_rows(item.truth, b).to_vec());
    }
    Ok((predictions, truths))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use tasks::{Dataset, Direction, GenePanel, Perturbation, Scale};

    const N_GENES: usize = 6;
    const CELLS: usize = 8;

    fn spec() -> tasks::LoadedSpec {
        tasks::spec::toy_spec(
            "rule = \"unseen-single\"\ntest_fraction = 0.3\ncontrol_test_fraction = 0.5",
            0,
            &["mae"],
            &[],
        )
    }

    fn name(g: usize) -> String {
        format!("G{g}")
    }

    /// Every single has `cells(g)` cells; cell k of a condition has 2^k in gene 0 (so the mean of
    /// any subset of a condition's cells reveals the subset) and the gene index elsewhere.
    fn dataset(observation: Observation, cells: impl Fn(usize) -> usize) -> Dataset {
        let mut labels = Vec::new();
        let mut rows: Vec<f32> = Vec::new();
        for g in 0..N_GENES {
            for k in 0..cells(g) {
                labels.push(Perturbation::single(name(g), Direction::Knockdown));
                rows.push((1u32 << k) as f32);
                rows.extend((1..N_GENES).map(|c| (g * c) as f32));
            }
            labels.push(Perturbation::control());
            rows.extend((0..N_GENES).map(|c| c as f32 * 0.5));
        }
        let x = Array2::from_shape_vec((labels.len(), N_GENES), rows).unwrap();
        let panel = GenePanel::new((0..N_GENES).map(name).collect()).unwrap();
        Dataset::new("toy", "", panel, Scale::LogNormalized, observation, x, labels).unwrap()
    }

    /// Bitmask of the cells behind a mean of `n` cells of one condition.
    fn cells_of(mean: &[f64], n: usize) -> u32 {
        let sum = mean[0] * n as f64;
        assert_eq!(sum.fract(), 0.0, "{sum}");
        sum as u32
    }

    #[test]
    fn pseudobulk_data_have_no_ceiling() {
        let ds = dataset(Observation::Pseudobulk, |_| 2);
        let inst = TaskInstance::build(spec(), &ds).unwrap();
        let err = split_halves(&inst, 0).unwrap_err();
        assert!(err.contains("pseudobulk"), "{err}");
    }

    #[test]
    fn a_test_perturbation_with_one_cell_is_named() {
        let probe = dataset(Observation::SingleCell, |_| CELLS);
        let inst = TaskInstance::build(spec(), &probe).unwrap();
        let tests: Vec<String> = inst.test_conditions().iter().map(|t| t.label.clone()).collect();
        // Give the last test perturbation a single cell (the split depends only on the genes).
        let lonely: usize = tests.last().unwrap()[1..].parse().unwrap();
        let ds = dataset(Observation::SingleCell, |g| if g == lonely { 1 } else { CELLS });
        let inst = TaskInstance::build(spec(), &ds).unwrap();
        assert_eq!(inst.test_conditions().iter().map(|t| t.label.clone()).collect::<Vec<_>>(), tests);
        let err = split_halves(&inst, 0).unwrap_err();
        assert!(err.contains(&format!("'{}'", name(lonely))), "{err}");
        assert!(err.contains("1 cell"), "{err}");
        for other in &tests[..tests.len() - 1] {
            assert!(!err.contains(&format!("'{other}'")), "{err}");
        }
    }

    #[test]
    fn halves_are_disjoint_cover_each_condition_and_follow_the_seed() {
        let ds = dataset(Observation::SingleCell, |_| CELLS);
        let inst = TaskInstance::build(spec(), &ds).unwrap();
        let (pred, truth) = split_halves(&inst, 7).unwrap();
        assert_eq!(pred.len(), inst.test_conditions().len());
        assert_eq!(truth.len(), pred.len());
        let all = (1u32 << CELLS) - 1;
        for (p, t) in pred.iter().zip(&truth) {
            let (a, b) = (cells_of(p, CELLS / 2), cells_of(t, CELLS - CELLS / 2));
            assert_eq!(a.count_ones() as usize, CELLS / 2);
            assert_eq!(a & b, 0, "halves overlap: {a:b} {b:b}");
            assert_eq!(a | b, all, "halves miss cells: {a:b} {b:b}");
        }
        assert_eq!(split_halves(&inst, 7).unwrap(), (pred.clone(), truth.clone()));
        let distinct: std::collections::BTreeSet<Vec<u32>> = (0..6)
            .map(|s| split_halves(&inst, s).unwrap().0.iter().map(|p| cells_of(p, CELLS / 2)).collect())
            .collect();
        assert!(distinct.len() > 1, "the seed does not change the halves");
    }

    #[test]
    fn odd_cell_counts_put_the_extra_cell_in_the_truth_half() {
        let ds = dataset(Observation::SingleCell, |_| 5);
        let inst = TaskInstance::build(spec(), &ds).unwrap();
        let (pred, truth) = split_halves(&inst, 1).unwrap();
        for (p, t) in pred.iter().zip(&truth) {
            let (a, b) = (cells_of(p, 2), cells_of(t, 3));
            assert_eq!((a.count_ones(), b.count_ones(), a & b, a | b), (2, 3, 0, 0b11111));
        }
    }
}
