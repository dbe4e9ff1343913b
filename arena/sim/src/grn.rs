//! The sparse signed gene regulatory network (the simulator's ground-truth graph).
//!
//! Genes `0..n_regulators` are the regulators (transcription factors) and the only sources of
//! edges; every gene, regulators included, may have incoming edges, so regulators regulate each
//! other and cycles are allowed. No self-loops. A positive weight activates, a negative one
//! represses. Weights are scaled per target so that the summed |weight| into a regulator is at
//! most [`REGULATOR_ROW_CAP`] and into any other gene at most [`TARGET_ROW_CAP`]; with the
//! saturating response of `dynamics.rs` this keeps the regulator-to-regulator feedback a
//! contraction around the steady state, so the dynamics converge.
//!
//! Names: the random network calls regulators `TF00`, `TF01`, .. and the other genes `G000`,
//! `G001`, .. (numbered from 0 among the non-regulators; more digits when needed). The CollecTRI
//! network uses the real names of the file: the `n_regulators` TFs with most targets (ties by
//! name), then the genes most often targeted by them (ties by name); its edges may depart from
//! the file's by a [`PriorMismatch`] (the true network only partly matching the prior).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use rand::RngExt;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::SimError;
use super::prior_mismatch::PriorMismatch;
use super::rng::{Domain, stream};

/// Maximum summed |weight| of the edges into a regulator.
pub const REGULATOR_ROW_CAP: f64 = 1.2;
/// Maximum summed |weight| of the edges into a non-regulator gene.
pub const TARGET_ROW_CAP: f64 = 3.0;
/// Edge magnitudes are drawn uniformly in this range before the per-target cap.
const WEIGHT_RANGE: (f64, f64) = (0.5, 1.5);

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    /// Index of the regulator (`< n_regulators`).
    pub source: usize,
    /// Index of the regulated gene.
    pub target: usize,
    /// Signed strength: > 0 activates, < 0 represses.
    pub weight: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grn {
    /// All gene names, regulators first.
    pub genes: Vec<String>,
    pub n_regulators: usize,
    /// Edges sorted by (target, source).
    pub edges: Vec<Edge>,
}

impl Grn {
    /// A random network: each gene gets `regulators_per_gene` distinct regulators (never itself),
    /// each edge repressing with probability `repressing_fraction`.
    pub fn random(
        n_genes: usize,
        n_regulators: usize,
        regulators_per_gene: usize,
        repressing_fraction: f64,
        seed: u64,
    ) -> Result<Self, SimError> {
        if n_regulators == 0 || n_regulators > n_genes {
            return Err(SimError::Config(format!("n_regulators must be in 1..={n_genes}, got {n_regulators}")));
        }
        if regulators_per_gene >= n_regulators {
            return Err(SimError::Config(format!(
                "regulators_per_gene must be below n_regulators = {n_regulators}, got {regulators_per_gene}"
            )));
        }
        let tf_width = digits(n_regulators.saturating_sub(1)).max(2);
        let g_width = digits((n_genes - n_regulators).saturating_sub(1)).max(3);
        let mut genes: Vec<String> = (0..n_regulators).map(|i| format!("TF{i:0tf_width$}")).collect();
        genes.extend((0..n_genes - n_regulators).map(|i| format!("G{i:0g_width$}")));

        let mut rng = stream(seed, Domain::Network, 0);
        let mut edges = Vec::with_capacity(n_genes * regulators_per_gene);
        let mut pool: Vec<usize> = Vec::with_capacity(n_regulators);
        for target in 0..n_genes {
            pool.clear();
            pool.extend((0..n_regulators).filter(|&r| r != target));
            pool.shuffle(&mut rng);
            let mut sources: Vec<usize> = pool[..regulators_per_gene].to_vec();
            sources.sort_unstable();
            for source in sources {
                let magnitude = rng.random_range(WEIGHT_RANGE.0..WEIGHT_RANGE.1);
                let sign = if rng.random_bool(repressing_fraction) { -1.0 } else { 1.0 };
                edges.push(Edge { source, target, weight: sign * magnitude });
            }
        }
        Ok(Self::finish(genes, n_regulators, edges))
    }

    /// A network seeded from a CollecTRI table (`"source","target","weight"`, weight ±1): keeps
    /// the `n_regulators` TFs with most targets and fills the gene set with their most frequent
    /// targets; edges between kept genes keep the file's sign (self-loops dropped), magnitudes
    /// are drawn from `seed`.
    pub fn from_collectri(path: &Path, n_genes: usize, n_regulators: usize, seed: u64) -> Result<Self, SimError> {
        Self::from_collectri_mismatched(path, n_genes, n_regulators, &PriorMismatch::default(), seed)
    }

    /// [`Grn::from_collectri`] whose edges then depart from the file's as `mismatch` says
    /// (dropped, sign-flipped and added edges among the kept genes; `prior_mismatch.rs`), before
    /// the magnitudes are drawn. The gene set is the file's either way.
    pub fn from_collectri_mismatched(
        path: &Path,
        n_genes: usize,
        n_regulators: usize,
        mismatch: &PriorMismatch,
        seed: u64,
    ) -> Result<Self, SimError> {
        if n_regulators == 0 || n_regulators > n_genes {
            return Err(SimError::Config(format!("n_regulators must be in 1..={n_genes}, got {n_regulators}")));
        }
        // (source, target) -> sign; a repeated pair keeps its first sign, self-loops are dropped
        let mut signs: BTreeMap<(String, String), f64> = BTreeMap::new();
        for (s, t, sign) in arena_data::collectri::read_signed_edges(path)? {
            if s != t {
                signs.entry((s, t)).or_insert(f64::from(sign));
            }
        }

        let mut n_targets: HashMap<&str, usize> = HashMap::new();
        for (s, _) in signs.keys() {
            *n_targets.entry(s.as_str()).or_default() += 1;
        }
        let mut tfs: Vec<(&str, usize)> = n_targets.into_iter().collect();
        tfs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        if tfs.len() < n_regulators {
            return Err(SimError::Config(format!(
                "{} has {} TFs, fewer than n_regulators = {n_regulators}",
                path.display(),
                tfs.len()
            )));
        }
        let kept_tfs: Vec<String> = tfs[..n_regulators].iter().map(|(s, _)| s.to_string()).collect();
        let tf_set: BTreeSet<&str> = kept_tfs.iter().map(String::as_str).collect();
        let mut hits: HashMap<&str, usize> = HashMap::new();
        for (s, t) in signs.keys() {
            if tf_set.contains(s.as_str()) && !tf_set.contains(t.as_str()) {
                *hits.entry(t.as_str()).or_default() += 1;
            }
        }
        let mut targets: Vec<(&str, usize)> = hits.into_iter().collect();
        targets.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let n_fill = n_genes - n_regulators;
        if targets.len() < n_fill {
            return Err(SimError::Config(format!(
                "the top {n_regulators} TFs of {} have {} other targets, fewer than the {n_fill} genes needed",
                path.display(),
                targets.len()
            )));
        }
        let mut genes = kept_tfs.clone();
        genes.extend(targets[..n_fill].iter().map(|(t, _)| t.to_string()));
        let index: HashMap<&str, usize> = genes.iter().enumerate().map(|(i, g)| (g.as_str(), i)).collect();

        let mut pairs: Vec<(usize, usize, f64)> = signs
            .iter()
            .filter_map(|((s, t), &sign)| {
                let (&si, &ti) = (index.get(s.as_str())?, index.get(t.as_str())?);
                (si < n_regulators).then_some((ti, si, sign))
            })
            .collect();
        pairs.sort_by_key(|&(t, s, _)| (t, s));
        let pairs = mismatch.apply(&pairs, n_genes, n_regulators, seed);
        let mut rng = stream(seed, Domain::Network, 1);
        let edges = pairs
            .into_iter()
            .map(|(target, source, sign)| Edge {
                source,
                target,
                weight: sign * rng.random_range(WEIGHT_RANGE.0..WEIGHT_RANGE.1),
            })
            .collect();
        Ok(Self::finish(genes, n_regulators, edges))
    }

    /// Sorts edges and applies the per-target caps on summed |weight|.
    fn finish(genes: Vec<String>, n_regulators: usize, mut edges: Vec<Edge>) -> Self {
        edges.sort_by_key(|e| (e.target, e.source));
        let mut row_sum = vec![0.0; genes.len()];
        for e in &edges {
            row_sum[e.target] += e.weight.abs();
        }
        for e in &mut edges {
            let cap = if e.target < n_regulators { REGULATOR_ROW_CAP } else { TARGET_ROW_CAP };
            if row_sum[e.target] > cap {
                e.weight *= cap / row_sum[e.target];
            }
        }
        Self { genes, n_regulators, edges }
    }

    pub fn n_genes(&self) -> usize {
        self.genes.len()
    }

    /// The network of a second context: each edge, with probability `fraction`, moves to another
    /// regulator of the same target (not the target itself, not already one of its regulators)
    /// with a fresh sign; magnitudes are kept and the per-target caps re-applied. Stream
    /// (`seed`, `Network`, 1), so the first context's network is unchanged.
    pub fn rewired(&self, fraction: f64, seed: u64) -> Grn {
        let mut rng = stream(seed, Domain::Network, 1);
        let mut edges = self.edges.clone();
        for i in 0..edges.len() {
            if !rng.random_bool(fraction) {
                continue;
            }
            let target = edges[i].target;
            let taken: BTreeSet<usize> = edges.iter().filter(|e| e.target == target).map(|e| e.source).collect();
            let free: Vec<usize> = (0..self.n_regulators).filter(|r| *r != target && !taken.contains(r)).collect();
            let sign = if rng.random_bool(0.5) { -1.0 } else { 1.0 };
            if let Some(&source) = free.get(rng.random_range(0..free.len().max(1))) {
                edges[i].source = source;
            }
            edges[i].weight = sign * edges[i].weight.abs();
        }
        Self::finish(self.genes.clone(), self.n_regulators, edges)
    }

    pub fn regulators(&self) -> &[String] {
        &self.genes[..self.n_regulators]
    }

    pub fn index_of(&self, gene: &str) -> Option<usize> {
        self.genes.iter().position(|g| g == gene)
    }

    /// The edges into `target`: (regulator index, weight).
    pub fn inputs(&self, target: usize) -> Vec<(usize, f64)> {
        self.edges.iter().filter(|e| e.target == target).map(|e| (e.source, e.weight)).collect()
    }

    /// The edges out of `source`: (target index, weight).
    pub fn targets_of(&self, source: usize) -> Vec<(usize, f64)> {
        self.edges.iter().filter(|e| e.source == source).map(|e| (e.target, e.weight)).collect()
    }

    /// Incoming edges of every gene, indexed by target.
    pub fn input_lists(&self) -> Vec<Vec<(usize, f64)>> {
        let mut lists = vec![Vec::new(); self.genes.len()];
        for e in &self.edges {
            lists[e.target].push((e.source, e.weight));
        }
        lists
    }
}

fn digits(n: usize) -> usize {
    n.to_string().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_network_has_the_asked_shape() {
        let g = Grn::random(50, 10, 3, 0.3, 7).unwrap();
        assert_eq!(g.genes[0], "TF00");
        assert_eq!(g.genes[10], "G000");
        assert_eq!(g.edges.len(), 50 * 3);
        for t in 0..50 {
            let inputs = g.inputs(t);
            assert_eq!(inputs.len(), 3);
            assert!(inputs.iter().all(|&(s, _)| s < 10 && s != t));
            let sum: f64 = inputs.iter().map(|(_, w)| w.abs()).sum();
            let cap = if t < 10 { REGULATOR_ROW_CAP } else { TARGET_ROW_CAP };
            assert!(sum <= cap + 1e-12, "gene {t}: {sum}");
        }
        assert!(g.edges.iter().any(|e| e.weight < 0.0) && g.edges.iter().any(|e| e.weight > 0.0));
        assert_eq!(g, Grn::random(50, 10, 3, 0.3, 7).unwrap());
        assert_ne!(g, Grn::random(50, 10, 3, 0.3, 8).unwrap());
    }

    #[test]
    fn collectri_errors_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.csv");
        std::fs::write(&path, "\"source\",\"target\",\"weight\"\n\"A\",\"B\",1\n\"A\",\"C\",x\n").unwrap();
        let err = Grn::from_collectri(&path, 3, 1, 0).unwrap_err().to_string();
        assert!(err.contains("bad.csv") && err.contains("line 3"), "{err}");
    }
}
