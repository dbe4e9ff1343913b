//! Cross-modal coherence (sim-cross-modal), scored two-sided as the gap from the
//! real cells' coherence: real paired cells score best (below every baseline), a model that draws
//! each modality from its correct marginal independently is off on one side, a protein derived
//! deterministically from the predicted RNA (coherence 1) is off on the other side and scores worst,
//! and the baselines (with their protein head) run beside the real-cell reference row.

use std::collections::BTreeMap;

use arena_eval::{EvalOptions, evaluate};
use arena_sim::{SimConfig, export::snapshot_dataset, simulate};
use ndarray::{Array2, Axis};
use tasks::scorecard::{BootstrapSettings, ScoreRow};
use tasks::splits::cross_modal::Coupling;
use tasks::{Dataset, Model, ModelKind, QueryBatch, TaskError, TaskInstance, find_spec};

fn options() -> EvalOptions {
    EvalOptions { bootstrap: BootstrapSettings { resamples: 100, level: 0.95, seed: 0 }, ..EvalOptions::default() }
}

fn simulator() -> Dataset {
    snapshot_dataset(&simulate(&SimConfig::default()).unwrap()).unwrap()
}

fn mean(row: &ScoreRow, metric: &str) -> f64 {
    row.metric(metric).unwrap_or_else(|| panic!("{}: no {metric}", row.name)).overall.mean
}

/// How the probe pairs RNA and protein rows.
#[derive(Clone, Copy, PartialEq)]
enum Pairing {
    /// Real cells of the perturbation, each with its own protein (the truth).
    Paired,
    /// The same RNA cells, proteins of other cells of the same perturbation (rotated by half the
    /// cells): both marginals exactly right, the joint distribution independent.
    Independent,
    /// Proteins derived from the predicted RNA through the coupling.
    Coherent,
}

/// Answers perturbation a with the real held-out cells of a (cycled to the number of start
/// cells): an oracle with the right marginals of both modalities; `pairing` decides the joint.
struct CellProbe {
    rna: BTreeMap<String, Array2<f32>>,
    protein: BTreeMap<String, Array2<f32>>,
    coupling: Coupling,
    pairing: Pairing,
}

impl CellProbe {
    fn new(instance: &TaskInstance<'_>, pairing: Pairing) -> Self {
        let protein = &instance.dataset.protein.as_ref().unwrap().values;
        let mut rna_cells = BTreeMap::new();
        let mut protein_cells = BTreeMap::new();
        for item in instance.eval_items() {
            rna_cells.insert(item.label.clone(), instance.dataset.select_rows(item.rows));
            protein_cells.insert(item.label.clone(), protein.select(Axis(0), item.rows));
        }
        Self { rna: rna_cells, protein: protein_cells, coupling: Coupling::fit(instance).unwrap(), pairing }
    }

    fn cycled(m: &Array2<f32>, n: usize, offset: usize) -> Array2<f32> {
        let rows: Vec<usize> = (0..n).map(|i| (i + offset) % m.nrows()).collect();
        m.select(Axis(0), &rows)
    }
}

impl Model for CellProbe {
    fn name(&self) -> &str {
        match self.pairing {
            Pairing::Paired => "paired-real-cells",
            Pairing::Independent => "independent-marginals",
            Pairing::Coherent => "coherent-derived",
        }
    }
    fn kind(&self) -> ModelKind {
        ModelKind::Reference
    }
    fn fingerprint(&self) -> String {
        self.name().into()
    }
    fn predict(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError> {
        let label = batch.perturbations[0].label();
        Ok(Self::cycled(&self.rna[&label], batch.start.nrows(), 0))
    }
    fn predict_protein(&self, batch: &QueryBatch<'_>) -> Result<Option<Array2<f32>>, TaskError> {
        assert!(batch.start_protein.is_some_and(|p| p.nrows() == batch.start.nrows()), "start proteins are given");
        let label = batch.perturbations[0].label();
        let n = batch.start.nrows();
        let cells = &self.protein[&label];
        Ok(Some(match self.pairing {
            Pairing::Paired => Self::cycled(cells, n, 0),
            Pairing::Independent => Self::cycled(cells, n, cells.nrows() / 2),
            Pairing::Coherent => self.coupling.apply(&self.predict(batch)?).mapv(|v| v as f32),
        }))
    }
}

#[test]
fn coherence_separates_paired_from_independent_modalities_and_baselines_run() {
    let dataset = simulator();
    let instance = TaskInstance::build(find_spec("sim-cross-modal", None).unwrap(), &dataset).unwrap();
    let coupling = Coupling::fit(&instance).unwrap();
    // The coupling learned from real training cells: proteins rise with their gene's RNA.
    let positive = coupling.slope.iter().filter(|&&b| b > 0.0).count();
    assert!(positive * 10 >= coupling.slope.len() * 9, "slopes {:?}", coupling.slope);

    let mut scores = BTreeMap::new();
    let mut baseline_gaps = Vec::new();
    for pairing in [Pairing::Paired, Pairing::Independent, Pairing::Coherent] {
        let probe = CellProbe::new(&instance, pairing);
        let card = evaluate(&instance, Some(&probe), "test", &options()).unwrap();
        let row = &card.rows[0];
        scores.insert(probe.name().to_string(), (mean(row, "coherence_gap"), mean(row, "protein_pearson_delta")));
        if pairing == Pairing::Paired {
            // The baselines run with their protein head, and the real-cell reference row is there.
            let names: Vec<&str> = card.rows.iter().map(|r| r.name.as_str()).collect();
            assert_eq!(
                names,
                [
                    "paired-real-cells",
                    "control-mean",
                    "perturbed-mean",
                    "additive",
                    "linear",
                    "ridge",
                    "control-mean+target",
                    "perturbed-mean+target",
                    "additive+target",
                    "real-held-out-cells"
                ]
            );
            for r in &card.rows {
                for m in ["coherence_gap", "protein_pearson_delta", "pearson_delta", "protein_mse", "mse"] {
                    assert!(mean(r, m).is_finite(), "{} {m}", r.name);
                }
            }
            // The reference row: two halves of the real cells differ in coherence by sampling only.
            let real = card.rows.last().unwrap();
            assert!(mean(real, "coherence_gap") < 0.1, "two halves of real cells: {}", mean(real, "coherence_gap"));
            baseline_gaps = card
                .rows
                .iter()
                .filter(|r| r.kind == ModelKind::Baseline)
                .map(|r| (r.name.clone(), mean(r, "coherence_gap")))
                .collect();
            // The real cells' coherence, the target, is in the notes.
            assert!(card.notes.iter().any(|n| n.contains("real test cells' coherence")), "{:?}", card.notes);
            for r in &card.rows {
                let v: Vec<String> = r.metrics.iter().map(|m| format!("{} {:.3}", m.metric, m.overall.mean)).collect();
                eprintln!("{}: {}", r.name, v.join(", "));
            }
        }
    }
    eprintln!("coherence (score, protein_pearson_delta): {scores:?}");
    let (paired, paired_protein) = scores["paired-real-cells"];
    let (independent, independent_protein) = scores["independent-marginals"];
    let (coherent, _) = scores["coherent-derived"];
    // Same marginals: the per-modality scores agree; only coherence tells them apart.
    assert!((paired_protein - independent_protein).abs() < 0.05, "{paired_protein} vs {independent_protein}");
    // Real-cell-like predictions score best: the real cells are (nearly) their own target, and
    // below every baseline.
    assert!(paired < 0.02, "real paired cells sit at the real coherence: {paired}");
    for (name, gap) in &baseline_gaps {
        assert!(paired < *gap, "real cells {paired} vs {name} {gap}");
    }
    // Independent modalities (coherence ≈ 0) are off by the real coherence (≈ 0.1).
    assert!(independent > 0.05 && independent > 2.0 * paired, "{independent} vs {paired}");
    // Protein computed from the predicted RNA (coherence ≈ 1, with the RNA of the right cells) no
    // longer scores best: it is the farthest from real cells, behind every baseline.
    assert!(coherent > 0.8, "{coherent}");
    assert!(coherent > independent);
    for (name, gap) in &baseline_gaps {
        assert!(coherent > *gap, "RNA-derived protein {coherent} vs {name} {gap}");
    }
}

#[test]
fn a_model_without_a_protein_head_scores_na_on_the_protein_metrics() {
    struct RnaOnly;
    impl Model for RnaOnly {
        fn name(&self) -> &str {
            "rna-only"
        }
        fn kind(&self) -> ModelKind {
            ModelKind::Reference
        }
        fn fingerprint(&self) -> String {
            "rna-only".into()
        }
        fn predict(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError> {
            Ok(batch.start.to_owned())
        }
    }
    let dataset = simulator();
    let instance = TaskInstance::build(find_spec("sim-cross-modal", None).unwrap(), &dataset).unwrap();
    let card = evaluate(&instance, Some(&RnaOnly), "test", &options()).unwrap();
    let row = &card.rows[0];
    assert!(mean(row, "pearson_delta").is_finite());
    for m in ["coherence_gap", "protein_pearson_delta", "protein_mse"] {
        let s = &row.metric(m).unwrap().overall;
        assert_eq!(s.n, 0, "{m}: {s:?}");
    }
}
