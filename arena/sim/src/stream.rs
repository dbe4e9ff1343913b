//! `arena simulate`'s writer: the dataset of a config simulated a block of lineages at a time
//! and appended to an `.h5ad` ([`arena_data::H5adStream`]), so no cells x genes matrix of the
//! whole dataset is ever held (the in-memory [`crate::simulate`] needs ~16 GiB at VCC scale). Each
//! cell is turned into sparse counts and its log1p(normalize_total 1e4) row on the worker that
//! simulated it; the file and the content hash are the same as `to_anndata` + `write_h5ad` and
//! [`content_sha256`](crate::export::content_sha256) of the whole simulation.

use std::path::Path;

use arena_data::{Annotations, H5adStream, Matrix, SparseMatrix, normalize_total_log1p_row};
use ndarray::Array2;

use super::export::{ContentHash, obs_frame, var_frame};
use super::{Observation, Plan, SimConfig, SimError};

/// Rows simulated and written at a time by default: a few hundred MB of working memory at 18k
/// genes, and enough lineages to keep every core busy.
pub const DEFAULT_BLOCK_CELLS: usize = 2048;

/// What [`simulate_to_h5ad`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub n_cells: usize,
    pub n_genes: usize,
    pub n_proteins: usize,
    /// [`content_sha256`](crate::export::content_sha256) of the simulation.
    pub sha256: String,
}

/// One cell, sparse: the genes with a non-zero count, their counts and normalised values.
struct SparseCell {
    indices: Vec<u32>,
    counts: Vec<f32>,
    normalized: Vec<f32>,
    protein_counts: Vec<f32>,
}

fn sparse(o: Observation) -> SparseCell {
    let (mut indices, mut counts) = (Vec::new(), Vec::new());
    for (j, &v) in o.counts.iter().enumerate() {
        // The zeros `SparseMatrix::csr_from_dense` drops.
        if v != 0.0 {
            indices.push(j as u32);
            counts.push(v);
        }
    }
    let mut normalized = counts.clone();
    normalize_total_log1p_row(&mut normalized, 1e4);
    SparseCell { indices, counts, normalized, protein_counts: o.protein_counts }
}

/// Simulates `config` and writes it to `path` as [`crate::export::to_anndata`] of
/// [`crate::simulate`] would be written, `block_cells` rows at a time; `progress(done, total)` is
/// called after each block. Nothing appears at `path` unless the whole file was written.
///
/// Errors: [`SimError`] for the configuration, [`SimError::Output`] (naming the file) for writing.
pub fn simulate_to_h5ad(
    config: &SimConfig,
    path: &Path,
    block_cells: usize,
    mut progress: impl FnMut(usize, usize),
) -> Result<Written, SimError> {
    let plan = Plan::new(config)?;
    let labels = plan.labels();
    let genes = &plan.grn.genes;
    let (n, g, p) = (labels.len(), genes.len(), plan.world.proteins.len());
    let sequence: Vec<String> = labels.iter().map(|l| l.sequence.clone()).collect();
    let mut hash = ContentHash::new(genes, &sequence);
    drop(sequence);
    let mut file = H5adStream::create(path, g, &["counts"]).map_err(SimError::Output)?;
    let mut protein_counts: Vec<f32> = Vec::with_capacity(n * p);
    let mut row_bytes = Vec::new();
    progress(0, n);
    for block in plan.blocks(block_cells.max(1)) {
        let cells = plan.observe(block, sparse);
        let nnz = cells.iter().map(|c| c.indices.len()).sum();
        let mut counts = SparseMatrix::csr_with_capacity((cells.len(), g), nnz);
        let mut normalized = Vec::with_capacity(nnz);
        for c in cells {
            hash.sparse_row(g, &c.indices, &c.counts, &mut row_bytes);
            counts.data.extend_from_slice(&c.counts);
            counts.indices.extend_from_slice(&c.indices);
            counts.indptr.push(counts.data.len() as u64);
            normalized.extend_from_slice(&c.normalized);
            protein_counts.extend_from_slice(&c.protein_counts);
        }
        let x = SparseMatrix {
            shape: counts.shape,
            data: normalized,
            indices: counts.indices.clone(),
            indptr: counts.indptr.clone(),
        };
        file.append(&x, &[&counts]).map_err(SimError::Output)?;
        progress(file.n_obs(), n);
    }
    let protein_counts = Array2::from_shape_vec((n, p), protein_counts)
        .map_err(|e| SimError::Config(format!("protein counts of {n} cells x {p} proteins: {e}")))?;
    let sha256 = hash.finish(protein_counts.iter().copied());
    let obs = obs_frame(&labels, plan.context_world.is_some());
    let var = var_frame(genes, &plan.grn);
    let obsm = [("protein_counts".to_string(), Matrix::Dense(protein_counts))];
    let uns_strings = [("protein_names".to_string(), plan.world.proteins.names.clone())];
    file.finish(&Annotations { obs: &obs, var: &var, obsm: &obsm, uns_strings: &uns_strings })
        .map_err(SimError::Output)?;
    Ok(Written { n_cells: n, n_genes: g, n_proteins: p, sha256 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::{content_sha256, to_anndata};
    use crate::simulate;

    /// Writes `config` both ways (in memory, and streamed `block_cells` rows at a time) and checks
    /// the files read back equal and the hashes agree.
    fn assert_streamed_equals_in_memory(config: &SimConfig, block_cells: usize) {
        let dir = tempfile::tempdir().expect("tempdir");
        let sim = simulate(config).expect("simulate");
        let whole = dir.path().join("whole.h5ad");
        arena_data::write_h5ad(&whole, &to_anndata(&sim)).expect("write");
        let streamed = dir.path().join("streamed.h5ad");
        let mut calls = Vec::new();
        let written =
            simulate_to_h5ad(config, &streamed, block_cells, |done, total| calls.push((done, total))).expect("stream");
        let (a, b) = (arena_data::read_h5ad(&whole).expect("read"), arena_data::read_h5ad(&streamed).expect("read"));
        assert_eq!(b, a);
        assert_eq!(written.sha256, content_sha256(&sim));
        assert_eq!(
            (written.n_cells, written.n_genes, written.n_proteins),
            (sim.n_cells(), sim.genes.len(), sim.proteins.len())
        );
        let n = sim.n_cells();
        let blocks = Plan::new(config).expect("plan").blocks(block_cells).len();
        assert_eq!(calls.len(), blocks + 1, "one progress call before the first block and after each");
        assert!(blocks > 1 || n <= block_cells, "{n} cells in one block of {block_cells}");
        assert_eq!(calls.first(), Some(&(0, n)));
        assert_eq!(calls.last(), Some(&(n, n)));
        assert!(calls.windows(2).all(|w| w[0].0 <= w[1].0));
    }

    #[test]
    fn streamed_default_dataset_equals_the_in_memory_export() {
        assert_streamed_equals_in_memory(&SimConfig::default(), DEFAULT_BLOCK_CELLS);
    }

    #[test]
    fn streamed_blocks_with_sequences_contexts_and_proteins_equal_the_in_memory_export() {
        let config = SimConfig {
            n_control_cells: 50,
            cells_per_condition: 7,
            n_single_targets: 12,
            n_doubles: 5,
            n_sequences: 6,
            context_rewire_fraction: 0.2,
            ..SimConfig::default()
        };
        assert!(config.n_proteins > 0);
        // 37 rows: blocks end inside the control, single and sequence lineages.
        assert_streamed_equals_in_memory(&config, 37);
        assert_streamed_equals_in_memory(&SimConfig { n_proteins: 0, ..config }, 1);
    }

    #[test]
    fn blocks_cover_every_lineage_in_order_within_the_row_limit() {
        let config = SimConfig { n_control_cells: 10, cells_per_condition: 3, ..SimConfig::default() };
        let plan = Plan::new(&config).expect("plan");
        let labels = plan.labels();
        assert_eq!(labels.len(), plan.n_cells());
        for max in [1, 5, 64, 100_000] {
            let blocks = plan.blocks(max);
            assert_eq!(blocks.first().map(|b| b.start), Some(0));
            assert_eq!(blocks.last().map(|b| b.end), Some(plan.n_lineages()));
            assert!(blocks.windows(2).all(|w| w[0].end == w[1].start && w[0].start < w[0].end));
            for b in &blocks {
                let rows = labels.iter().filter(|l| b.contains(&(l.trajectory as usize))).count();
                assert!(rows <= max || b.len() == 1, "block {b:?} has {rows} rows, limit {max}");
            }
        }
    }

    #[test]
    fn a_failed_write_leaves_nothing_at_the_output_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = SimConfig { n_control_cells: 10, cells_per_condition: 2, ..SimConfig::default() };
        // The output path is a non-empty directory: the finished file cannot be renamed onto it.
        let out = dir.path().join("out.h5ad");
        std::fs::create_dir(&out).expect("mkdir");
        std::fs::write(out.join("keep"), b"x").expect("write");
        let err = simulate_to_h5ad(&config, &out, 16, |_, _| {}).expect_err("rename onto a directory");
        assert!(matches!(err, SimError::Output(_)), "{err}");
        assert!(err.to_string().contains("out.h5ad"), "{err}");
        let names: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").map(|e| e.expect("entry").file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.h5ad")], "temporary file left behind");
        // An invalid configuration fails before any file is created.
        let bad = SimConfig { n_regulators: 0, ..config };
        let path = dir.path().join("bad.h5ad");
        assert!(matches!(simulate_to_h5ad(&bad, &path, 16, |_, _| {}), Err(SimError::Config(_))));
        assert!(!path.exists());
    }
}
