//! The two-context simulator dataset of the few-shot tasks (`simulator-two-contexts`): the default
//! simulation (context A, bit-identical to `simulator`) plus context B, the same genes under a
//! rewired network with shifted basal production (`SimConfig::context_rewire_fraction`). A is the
//! dataset's rows; B's cells are attached as `tasks::ContextObservations`, never training rows.

use ndarray::Array2;
use tasks::{ContextObservations, Dataset, TaskError};

use super::export::{content_sha256, snapshot_dataset};
use super::{CONTEXT_NAMES, SimConfig, Simulation};
use arena_data::{Matrix, normalize_total_log1p};

/// Registry-style id of the two-context dataset.
pub const TWO_CONTEXT_ID: &str = "simulator-two-contexts";

/// Fraction of edges rewired in context B of the embedded two-context dataset.
pub const DEFAULT_REWIRE_FRACTION: f64 = 0.5;

/// The default configuration with the second context switched on.
pub fn two_context_config() -> SimConfig {
    SimConfig { context_rewire_fraction: DEFAULT_REWIRE_FRACTION, ..SimConfig::default() }
}

/// Context A as the dataset (controls, singles, doubles; sequences attached), context B attached as
/// its second context; the sha256 covers both contexts' counts.
pub fn two_context_dataset(sim: &Simulation) -> Result<Dataset, TaskError> {
    let a = sim.select_context(0);
    let mut dataset = snapshot_dataset(&a)?;
    dataset.id = TWO_CONTEXT_ID.into();
    dataset.sha256 = content_sha256(sim);
    let b = sim.select_context(1);
    if b.n_cells() == 0 {
        return Err(TaskError::InvalidDataset {
            dataset: TWO_CONTEXT_ID.into(),
            reason: "the simulation has no context B; set context_rewire_fraction > 0".into(),
        });
    }
    let expression: Array2<f32> = normalize_total_log1p(&Matrix::Dense(b.counts.clone()), 1e4);
    dataset.with_context(ContextObservations {
        training_context: CONTEXT_NAMES[0].into(),
        name: CONTEXT_NAMES[1].into(),
        expression: expression.into(),
        perturbations: b.perturbation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate;

    fn small(rewire: f64) -> SimConfig {
        SimConfig {
            n_control_cells: 40,
            cells_per_condition: 6,
            n_sequences: 4,
            context_rewire_fraction: rewire,
            ..SimConfig::default()
        }
    }

    #[test]
    fn context_a_is_the_one_context_simulation_and_b_has_controls_and_singles() {
        let one = simulate(&small(0.0)).unwrap();
        let two = simulate(&small(0.25)).unwrap();
        assert!(one.context.iter().all(|&c| c == 0));
        let a = two.select_context(0);
        assert_eq!(a.counts, one.counts, "context A must not depend on B");
        assert_eq!(a.protein_counts, one.protein_counts);
        let b = two.select_context(1);
        let c = &two.config;
        assert_eq!(b.n_cells(), c.n_control_cells + c.n_single_targets * c.cells_per_condition);
        assert_eq!(b.perturbation.iter().filter(|p| p.is_control()).count(), c.n_control_cells);
        let ds = two_context_dataset(&two).unwrap();
        let ctx = ds.context.as_ref().unwrap();
        assert_eq!((ctx.name.as_str(), ctx.expression.nrows()), ("B", b.n_cells()));
        assert_eq!(ds.n_rows(), snapshot_dataset(&one).unwrap().n_rows());
        assert!(two_context_dataset(&one).is_err());
        // The AnnData export marks the contexts; a one-context export has no such column.
        let adata = crate::export::to_anndata(&two);
        let labels = adata.obs.column("context").and_then(arena_data::Column::as_labels).unwrap();
        let b_rows = labels.iter().filter(|l| l.as_deref() == Some("B")).count();
        assert_eq!(b_rows, b.n_cells());
        assert!(crate::export::to_anndata(&one).obs.column("context").is_none());
    }

    #[test]
    fn context_b_responds_differently_to_the_same_knockdowns() {
        let two = simulate(&small(0.25)).unwrap();
        let (grn_b, world_b) = two.context_world.as_ref().unwrap();
        assert_eq!(grn_b.genes, two.grn.genes);
        let moved = two.grn.edges.iter().zip(&grn_b.edges).filter(|(x, y)| x.source != y.source).count();
        assert!(moved > 0 && moved < two.grn.edges.len(), "{moved} of {} edges moved", two.grn.edges.len());
        assert_ne!(world_b.dynamics.basal, two.world.dynamics.basal);
        // True mean responses of a regulator knockdown differ between the contexts.
        let gene = two.singles[0].clone();
        let effect = |w: &crate::World| {
            let cell = w.nominal_cell();
            let mut s = w.steady_state(&cell);
            let before = s.mrna.clone();
            w.act(&mut s, &gene, &cell);
            s.mrna.iter().zip(&before).map(|(x, y)| (x / y).ln()).collect::<Vec<f64>>()
        };
        let (ea, eb) = (effect(&two.world), effect(world_b));
        let r = metrics::pearson(&ea, &eb);
        assert!(r < 0.995, "the contexts respond identically (r = {r})");
    }
}
