//! Exports a simulation: as the snapshot `tasks::Dataset` that `arena eval` scores (controls,
//! singles and doubles observed once; the two-step sequence lineages are left to multi-step
//! tasks), and as an AnnData (`arena simulate`): log1p-normalised RNA in X and raw counts in
//! `layers/counts`, both CSR (counts are mostly zeros; a dense VCC-scale file would be ~6 GB),
//! protein counts in `obsm/protein_counts` with names in `uns/protein_names`, and obs columns
//! `perturbation`, `sequence`, `step`, `trajectory`.

use std::collections::{BTreeSet, HashMap};

use ndarray::Axis;
use sha2::{Digest, Sha256};
use tasks::dataset::SequenceObservations;
use tasks::{Dataset, GenePanel, Observation, ProteinPanel, Scale, TaskError};

use super::{Grn, RowLabel, Simulation};
use arena_data::{AnnData, Column, Frame, Matrix, SparseMatrix, normalize_total_log1p, normalize_total_log1p_csr};

/// Registry-style id of the embedded simulator dataset.
pub const SIMULATOR_ID: &str = "simulator";

/// sha256 over the simulation's observable content (genes, labels, counts), so a scorecard
/// identifies exactly which simulated data it was computed on.
pub fn content_sha256(sim: &Simulation) -> String {
    let mut h = ContentHash::new(&sim.genes, &sim.sequence);
    h.counts(sim.counts.as_standard_layout().as_slice().unwrap_or_default());
    h.finish(sim.protein_counts.iter().copied())
}

/// [`content_sha256`] fed a few rows at a time: the genes and sequence labels first, then the
/// counts of every row in row order (dense, zeros included), then the protein counts.
pub struct ContentHash(Sha256);

impl ContentHash {
    pub fn new(genes: &[String], sequence: &[String]) -> Self {
        let mut h = Sha256::new();
        for s in genes.iter().chain(sequence) {
            h.update(s.as_bytes());
            h.update([0]);
        }
        ContentHash(h)
    }

    /// Dense counts of whole rows, row after row.
    pub fn counts(&mut self, values: &[f32]) {
        for chunk in values.chunks(1 << 14) {
            let bytes: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
            self.0.update(&bytes);
        }
    }

    /// One row of `n_genes` counts given sparse (the values at `indices`, 0 elsewhere); `buffer`
    /// is scratch space reused between rows.
    pub fn sparse_row(&mut self, n_genes: usize, indices: &[u32], values: &[f32], buffer: &mut Vec<u8>) {
        buffer.clear();
        buffer.resize(n_genes * 4, 0);
        for (&j, v) in indices.iter().zip(values) {
            buffer[j as usize * 4..j as usize * 4 + 4].copy_from_slice(&v.to_le_bytes());
        }
        self.0.update(&buffer[..]);
    }

    /// Adds the protein counts (cells x proteins, row-major) and returns the hex digest.
    pub fn finish(mut self, protein_counts: impl Iterator<Item = f32>) -> String {
        for v in protein_counts {
            self.0.update(v.to_le_bytes());
        }
        hex::encode(self.0.finalize())
    }
}

/// Rows observed after a single action from control (step ≤ 1, lineage observed once).
pub fn snapshot_rows(sim: &Simulation) -> Vec<usize> {
    let multi: BTreeSet<u32> =
        sim.step.iter().zip(&sim.trajectory).filter(|(s, _)| **s >= 2).map(|(_, t)| *t).collect();
    (0..sim.n_cells()).filter(|&r| !multi.contains(&sim.trajectory[r])).collect()
}

/// The multi-step lineages as sequence observations: every observation of lineage ℓ of sequence
/// i after its k-th action goes to `rows[i][k-1]`, normalised like the one-step cells.
pub fn sequence_observations(sim: &Simulation) -> SequenceObservations {
    let multi: BTreeSet<u32> =
        sim.step.iter().zip(&sim.trajectory).filter(|(s, _)| **s >= 2).map(|(_, t)| *t).collect();
    let rows: Vec<usize> = (0..sim.n_cells()).filter(|&r| multi.contains(&sim.trajectory[r])).collect();
    // A lineage belongs to the sequence whose full label its last observation carries.
    let index: HashMap<String, usize> =
        sim.sequences.iter().enumerate().map(|(i, actions)| (super::sequence_label(actions), i)).collect();
    let mut lineage_sequence: HashMap<u32, usize> = HashMap::new();
    for &r in &rows {
        if let Some(&i) = index.get(&sim.sequence[r]) {
            lineage_sequence.insert(sim.trajectory[r], i);
        }
    }
    let mut grouped: Vec<Vec<Vec<usize>>> = sim.sequences.iter().map(|a| vec![Vec::new(); a.len()]).collect();
    for (local, &r) in rows.iter().enumerate() {
        if let Some(&i) = lineage_sequence.get(&sim.trajectory[r]) {
            grouped[i][sim.step[r] as usize - 1].push(local);
        }
    }
    let expression = normalize_total_log1p(&Matrix::Dense(sim.counts.select(Axis(0), &rows)), 1e4);
    SequenceObservations { expression: expression.into(), sequences: sim.sequences.clone(), rows: grouped }
}

pub fn snapshot_dataset(sim: &Simulation) -> Result<Dataset, TaskError> {
    let rows = snapshot_rows(sim);
    let counts = sim.counts.select(Axis(0), &rows);
    let expression = normalize_total_log1p(&Matrix::Dense(counts), 1e4);
    let labels = rows.iter().map(|&r| sim.perturbation[r].clone()).collect();
    let genes = GenePanel::new(sim.genes.clone())?;
    let dataset = Dataset::new(
        SIMULATOR_ID,
        content_sha256(sim),
        genes,
        Scale::LogNormalized,
        Observation::SingleCell,
        expression,
        labels,
    )?;
    let protein = sim.protein_counts.select(Axis(0), &rows).mapv(f32::ln_1p);
    let mut dataset = dataset.with_protein(ProteinPanel { names: sim.proteins.clone(), values: protein })?;
    // A gene regulates something when the network has an edge out of it.
    dataset.regulators = Some(sim.grn.edges.iter().map(|e| sim.grn.genes[e.source].clone()).collect());
    if sim.sequences.is_empty() { Ok(dataset) } else { dataset.with_sequences(sequence_observations(sim)) }
}

/// The `obs` frame of the rows `labels` (index `cell000000`..); a `context` column only for a
/// two-context simulation.
pub fn obs_frame(labels: &[RowLabel], two_contexts: bool) -> Frame {
    let categorical = |labels: Vec<String>| {
        let categories: Vec<String> = labels.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect();
        let codes = labels.iter().map(|l| categories.binary_search(l).map(|i| i as i32).unwrap_or(-1)).collect();
        Column::Categorical { codes, categories }
    };
    Frame {
        index_name: "_index".into(),
        index: (0..labels.len()).map(|i| format!("cell{i:06}")).collect(),
        columns: vec![
            ("perturbation".into(), categorical(labels.iter().map(|l| l.perturbation.label()).collect())),
            ("sequence".into(), categorical(labels.iter().map(|l| l.sequence.clone()).collect())),
            ("step".into(), Column::Int(labels.iter().map(|l| i64::from(l.step)).collect())),
            ("trajectory".into(), Column::Int(labels.iter().map(|l| i64::from(l.trajectory)).collect())),
        ]
        .into_iter()
        // Only a two-context simulation has a `context` column (A, B).
        .chain(two_contexts.then(|| {
            let names = labels.iter().map(|l| super::CONTEXT_NAMES[l.context as usize].to_string()).collect();
            ("context".into(), categorical(names))
        }))
        .collect(),
    }
}

/// The `var` frame: gene names and `is_regulator` (the gene has an edge out of it in `grn`).
pub fn var_frame(genes: &[String], grn: &Grn) -> Frame {
    let regulators: BTreeSet<&str> = grn.regulators().iter().map(String::as_str).collect();
    Frame {
        index_name: "_index".into(),
        index: genes.to_vec(),
        columns: vec![(
            "is_regulator".into(),
            Column::Bool(genes.iter().map(|g| regulators.contains(g.as_str())).collect()),
        )],
    }
}

/// The row labels of a simulation, as [`crate::Plan::labels`] gives them before simulating.
fn labels(sim: &Simulation) -> Vec<RowLabel> {
    (0..sim.n_cells())
        .map(|r| RowLabel {
            perturbation: sim.perturbation[r].clone(),
            sequence: sim.sequence[r].clone(),
            step: sim.step[r],
            trajectory: sim.trajectory[r],
            context: sim.context[r],
        })
        .collect()
}

pub fn to_anndata(sim: &Simulation) -> AnnData {
    let counts = SparseMatrix::csr_from_dense(sim.counts.view());
    AnnData {
        x: Matrix::Csr(normalize_total_log1p_csr(&counts, 1e4)),
        obs: obs_frame(&labels(sim), sim.context_world.is_some()),
        var: var_frame(&sim.genes, &sim.grn),
        layers: vec![("counts".into(), Matrix::Csr(counts))],
        obsm: vec![("protein_counts".into(), Matrix::Dense(sim.protein_counts.clone()))],
        uns_strings: vec![("protein_names".into(), sim.proteins.clone())],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SimConfig, simulate};

    #[test]
    fn snapshot_dataset_has_controls_singles_doubles_and_no_sequence_lineages() {
        let sim = simulate(&SimConfig::default()).unwrap();
        let ds = snapshot_dataset(&sim).unwrap();
        let c = &sim.config;
        assert_eq!(ds.n_rows(), c.n_control_cells + (c.n_single_targets + c.n_doubles) * c.cells_per_condition);
        assert_eq!(ds.conditions().len(), 1 + c.n_single_targets + c.n_doubles);
        assert!(ds.control_id().is_some());
        assert_eq!(ds.protein.as_ref().map(|p| p.values.ncols()), Some(c.n_proteins));
        assert_eq!(ds.sha256, content_sha256(&simulate(&SimConfig::default()).unwrap()));
        let seq = ds.sequences.as_ref().unwrap();
        assert_eq!(seq.sequences.len(), c.n_sequences);
        for (actions, steps) in seq.sequences.iter().zip(&seq.rows) {
            assert_eq!(steps.len(), actions.len());
            assert!(steps.iter().all(|rows| rows.len() == c.cells_per_condition));
        }
        let total: usize = seq.rows.iter().flatten().map(Vec::len).sum();
        assert_eq!(total, seq.expression.nrows());
    }

    #[test]
    fn anndata_export_round_trips_through_h5ad() {
        let config = SimConfig { n_control_cells: 20, cells_per_condition: 5, ..SimConfig::default() };
        let sim = simulate(&config).unwrap();
        let adata = to_anndata(&sim);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sim.h5ad");
        arena_data::write_h5ad(&path, &adata).unwrap();
        let back = arena_data::read_h5ad(&path).unwrap();
        assert_eq!(back, adata);
        // X and the counts are stored sparse, with the values of the dense normalisation.
        assert!(matches!(back.x, Matrix::Csr(_)));
        assert_eq!(back.layer("counts").map(Matrix::to_dense), Some(sim.counts.clone()));
        assert_eq!(back.x.to_dense(), normalize_total_log1p(&Matrix::Dense(sim.counts.clone()), 1e4));
        assert_eq!(back.obs.column("step").map(Column::len), Some(sim.n_cells()));
    }
}
