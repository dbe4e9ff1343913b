//! The simulator's expected profile of a scored item: the mean log-normalised profile of many
//! fresh cells of the same simulated world (same network and kinetics) observed after the item's
//! actions ([`expected_profiles`]), an estimate of the population mean that the noise ceiling
//! claims to score. The fresh cells draw their random streams after every lineage of the dataset's
//! own simulation, so the oracle knows nothing of the test cells' noise. [`lab_cells`] are the
//! closed-loop laboratory's measurements (the same fresh cells, from their own streams). Used by the ceiling's
//! validation (`tests/ceiling.rs`, `bench/validity_sim.rs`). [`expected_trajectory`] is the same
//! along a rollout (one action repeated), the truth the stability family scores rollouts against;
//! [`config_of`] names the configuration behind an embedded simulator dataset id.

use ndarray::Array2;
use rayon::prelude::*;
use tasks::Perturbation;

use super::rng::{Domain, stream};
use rand_chacha::ChaCha8Rng;

use super::{SimConfig, SimError, World, build_world, noise};
use arena_data::{Matrix, normalize_total_log1p};

/// Lineages `config` simulates (controls, conditions, sequences, context B): every random
/// stream of its cells has a smaller index.
fn lineages(config: &SimConfig) -> usize {
    let conditions = config.n_single_targets + config.n_doubles + config.n_sequences;
    let context_b = match config.context_rewire_fraction > 0.0 {
        true => config.n_control_cells + config.n_single_targets * config.cells_per_condition,
        false => 0,
    };
    config.n_control_cells + conditions * config.cells_per_condition + context_b
}

/// For every item (its actions, applied in turn from the control steady state), the mean
/// log-normalised profile (total 1e4, log1p: as the dataset's cells) of `cells` fresh cells
/// observed after the last action, in the world of `config` (context A).
pub fn expected_profiles(
    config: &SimConfig,
    items: &[Vec<Perturbation>],
    cells: usize,
) -> Result<Vec<Vec<f64>>, SimError> {
    Ok(expected_profile_parts(config, items, cells, 1)?.swap_remove(0))
}

/// [`expected_profiles`] of `parts` independent sets of `cells` fresh cells each (`out[k][j]`:
/// part k's mean of item j), e.g. two halves whose disagreement measures the oracle's own
/// sampling noise. Part 0 of one part is [`expected_profiles`].
pub fn expected_profile_parts(
    config: &SimConfig,
    items: &[Vec<Perturbation>],
    cells: usize,
    parts: usize,
) -> Result<Vec<Vec<Vec<f64>>>, SimError> {
    let (_, world) = build_world(config)?;
    let first = lineages(config) as u64;
    let total = cells * parts;
    let per_item: Vec<Vec<Vec<f64>>> = items
        .iter()
        .enumerate()
        .map(|(j, actions)| {
            let counts: Vec<Vec<f32>> = (0..total)
                .into_par_iter()
                .map(|c| {
                    let mut rng = stream(config.cell_stream_seed(), Domain::Cell, first + (j * total + c) as u64);
                    cell_counts(&world, config, actions, &mut rng)
                })
                .collect();
            let normalized = normalized(counts)?;
            Ok((0..parts)
                .map(|k| {
                    let rows: Vec<usize> = (k * cells..(k + 1) * cells).collect();
                    tasks::dataset::mean_rows(&normalized, &rows).to_vec()
                })
                .collect())
        })
        .collect::<Result<_, SimError>>()?;
    Ok((0..parts).map(|k| per_item.iter().map(|p| p[k].clone()).collect()).collect())
}

/// One fresh cell's UMI counts: a cell drawn from `rng`, its actions applied in turn from the
/// control steady state, observed after the last.
fn cell_counts(world: &World, config: &SimConfig, actions: &[Perturbation], rng: &mut ChaCha8Rng) -> Vec<f32> {
    let cell = world.dynamics.sample_cell(rng, world.proteins.len());
    let mut state = world.steady_state(&cell);
    for action in actions {
        world.act(&mut state, action, &cell);
    }
    let library = noise::library_size(rng, config.mean_library_size, config.library_size_log_sd);
    noise::rna_counts(rng, &state.mrna, library, config.nb_dispersion)
}

/// Cells' counts (one row each) log-normalised as the dataset's cells (total 1e4, log1p).
fn normalized(counts: Vec<Vec<f32>>) -> Result<Array2<f32>, SimError> {
    let (rows, genes) = (counts.len(), counts.first().map_or(0, Vec::len));
    let flat: Vec<f32> = counts.into_iter().flatten().collect();
    let matrix =
        Array2::from_shape_vec((rows, genes), flat).map_err(|e| SimError::Config(format!("oracle counts: {e}")))?;
    Ok(normalize_total_log1p(&Matrix::Dense(matrix), 1e4))
}

/// The closed-loop laboratory's measurement of each item `(key, actions)`: `cells` fresh
/// log-normalised cells observed after its actions, in the world of `config`. Cell c of the item
/// keyed k draws from stream (cell seed, [`Domain::Lab`], `lab_seed`·2³² + k·cells + c):
/// independent of the dataset's cells and of [`expected_profiles`]' for the same items, and the
/// same whenever, and beside whatever else, item k is measured.
pub fn lab_cells(
    config: &SimConfig,
    items: &[(u64, Vec<Perturbation>)],
    cells: usize,
    lab_seed: u64,
) -> Result<Vec<Array2<f32>>, SimError> {
    let (_, world) = build_world(config)?;
    let first = lab_seed.wrapping_shl(32);
    items
        .iter()
        .map(|(key, actions)| {
            let counts: Vec<Vec<f32>> = (0..cells)
                .into_par_iter()
                .map(|c| {
                    let index = first.wrapping_add(key.wrapping_mul(cells as u64)).wrapping_add(c as u64);
                    cell_counts(&world, config, actions, &mut stream(config.cell_stream_seed(), Domain::Lab, index))
                })
                .collect();
            normalized(counts)
        })
        .collect()
}

/// The configuration of an embedded simulator dataset (`simulator`, `simulator-many-sequences`),
/// or `None` for any other dataset (real data, files, the CollecTRI-based variants).
pub fn config_of(dataset_id: &str) -> Option<SimConfig> {
    match dataset_id {
        super::export::SIMULATOR_ID => Some(SimConfig::default()),
        super::many_sequences::MANY_SEQUENCES_ID => Some(super::many_sequences::many_sequences_config()),
        _ => None,
    }
}

/// The true trajectory of a rollout: `cells` fresh cells (streams after every lineage of the
/// dataset, and after those [`expected_profiles`] would use for `rollouts.len()` items) start at
/// the control steady state, take `prefix` (the start cells' own history: one control action for
/// the observed controls), then `rollouts[j]` repeatedly; `out[j][s]` is the mean log-normalised
/// profile after `checkpoints[s]` repetitions (checkpoints ascending, ≥ 1).
pub fn expected_trajectory(
    config: &SimConfig,
    prefix: &[Perturbation],
    rollouts: &[Perturbation],
    checkpoints: &[usize],
    cells: usize,
) -> Result<Vec<Vec<Array2<f32>>>, SimError> {
    let (_, world) = build_world(config)?;
    let first = lineages(config) as u64 + (rollouts.len() * cells) as u64;
    let last = checkpoints.iter().copied().max().unwrap_or(0);
    rollouts
        .iter()
        .enumerate()
        .map(|(j, action)| {
            // counts[c][s]: cell c's counts at checkpoint s.
            let counts: Vec<Vec<Vec<f32>>> = (0..cells)
                .into_par_iter()
                .map(|c| {
                    let mut rng = stream(config.seed, Domain::Cell, first + (j * cells + c) as u64);
                    let cell = world.dynamics.sample_cell(&mut rng, world.proteins.len());
                    let mut state = world.steady_state(&cell);
                    for a in prefix {
                        world.act(&mut state, a, &cell);
                    }
                    let mut out = Vec::with_capacity(checkpoints.len());
                    for t in 1..=last {
                        world.act(&mut state, action, &cell);
                        if checkpoints.contains(&t) {
                            let library =
                                noise::library_size(&mut rng, config.mean_library_size, config.library_size_log_sd);
                            out.push(noise::rna_counts(&mut rng, &state.mrna, library, config.nb_dispersion));
                        }
                    }
                    out
                })
                .collect();
            (0..checkpoints.len())
                .map(|s| {
                    let genes = counts.first().and_then(|c| c.get(s)).map_or(0, Vec::len);
                    let flat: Vec<f32> = counts.iter().flat_map(|c| c[s].iter().copied()).collect();
                    let matrix = Array2::from_shape_vec((cells, genes), flat)
                        .map_err(|e| SimError::Config(format!("oracle counts: {e}")))?;
                    Ok(normalize_total_log1p(&Matrix::Dense(matrix), 1e4))
                })
                .collect()
        })
        .collect()
}
