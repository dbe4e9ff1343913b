//! The simulator's expected profile of every condition: the mean of many fresh cells of the same
//! simulated world (same network, kinetics, design; [`expected_profiles`]), an estimate of the
//! population mean that the noise ceiling claims to score. The fresh cells never share a random
//! stream with the dataset's own cells, so the oracle knows nothing of the test cells' noise.
//! Used by the ceiling's validation (`tests/ceiling.rs`, `bench/ceiling_oracle.sh`).

use std::collections::HashMap;

use super::export::snapshot_dataset;
use super::{SimConfig, SimError, simulate};

/// Lineages `config` simulates (controls, conditions, sequences, context B), an upper bound of
/// the random streams its cells use.
fn lineages(config: &SimConfig) -> usize {
    let conditions = config.n_single_targets + config.n_doubles + config.n_sequences;
    let context_b = match config.context_rewire_fraction > 0.0 {
        true => config.n_control_cells + config.n_single_targets * config.cells_per_condition,
        false => 0,
    };
    config.n_control_cells + conditions * config.cells_per_condition + context_b
}

/// The mean log-normalised profile of `cells` fresh cells of every perturbed condition of
/// `config` (singles, doubles) and of every sequence after each of its actions (labels as
/// `TaskInstance::eval_items` names them: `A`, `A+B`, `A>B>C`). The fresh simulation has the
/// same world and design; its control lineages are padded so that none of its cells reuses a
/// random stream of the cells of `config`.
pub fn expected_profiles(config: &SimConfig, cells: usize) -> Result<HashMap<String, Vec<f64>>, SimError> {
    expected(config, cells, false)
}

/// [`expected_profiles`] of the single perturbations only (the design draws the singles before
/// the doubles and sequences, so they are the same singles; much faster).
pub fn expected_single_profiles(config: &SimConfig, cells: usize) -> Result<HashMap<String, Vec<f64>>, SimError> {
    expected(config, cells, true)
}

fn expected(config: &SimConfig, cells: usize, singles_only: bool) -> Result<HashMap<String, Vec<f64>>, SimError> {
    let oracle = SimConfig {
        cells_per_condition: cells,
        n_control_cells: lineages(config) + config.n_control_cells,
        context_rewire_fraction: 0.0,
        n_doubles: if singles_only { 0 } else { config.n_doubles },
        n_sequences: if singles_only { 0 } else { config.n_sequences },
        ..config.clone()
    };
    let sim = simulate(&oracle)?;
    let dataset = snapshot_dataset(&sim).map_err(|e| SimError::Config(format!("oracle dataset: {e}")))?;
    let mut out: HashMap<String, Vec<f64>> = HashMap::new();
    for (condition, rows) in dataset.conditions().iter().zip(dataset.rows_by_condition()) {
        if !rows.is_empty() && !condition.is_control() {
            out.insert(condition.label(), dataset.mean_of_rows(&rows).to_vec());
        }
    }
    if let Some(seq) = &dataset.sequences {
        for (i, steps) in seq.rows.iter().enumerate() {
            for (k, rows) in steps.iter().enumerate() {
                out.insert(seq.label(i, k + 1), tasks::dataset::mean_rows(&seq.expression, rows).to_vec());
            }
        }
    }
    Ok(out)
}
