//! Task specs: TOML files under `tasks/specs/`, embedded in the binary. A spec names the task
//! family, the dataset, the split rule and seed, the metrics (the first one ranks) and the
//! baselines shown beside models. Its sha256 (of the exact file bytes) goes into every scorecard.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::TaskError;
use metrics::{Metric, MetricInfo};

const EMBEDDED: &[(&str, &str)] = &[
    ("sim-unseen-single.toml", include_str!("../specs/sim-unseen-single.toml")),
    ("sim-combinatorial.toml", include_str!("../specs/sim-combinatorial.toml")),
    ("papalexi2021-unseen-single.toml", include_str!("../specs/papalexi2021-unseen-single.toml")),
    ("norman2019-combinatorial.toml", include_str!("../specs/norman2019-combinatorial.toml")),
    ("sim-multi-step.toml", include_str!("../specs/sim-multi-step.toml")),
    ("sim-inverse-design.toml", include_str!("../specs/sim-inverse-design.toml")),
    ("norman2019-inverse-design.toml", include_str!("../specs/norman2019-inverse-design.toml")),
    ("norman2019-genetic-interactions.toml", include_str!("../specs/norman2019-genetic-interactions.toml")),
    ("norman2019-order-consistency.toml", include_str!("../specs/norman2019-order-consistency.toml")),
    ("sim-stability.toml", include_str!("../specs/sim-stability.toml")),
    ("sim-cross-modal.toml", include_str!("../specs/sim-cross-modal.toml")),
    ("sim-few-shot.toml", include_str!("../specs/sim-few-shot.toml")),
    ("papalexi2021-few-shot.toml", include_str!("../specs/papalexi2021-few-shot.toml")),
    ("sim-closed-loop.toml", include_str!("../specs/sim-closed-loop.toml")),
    ("norman2019-closed-loop.toml", include_str!("../specs/norman2019-closed-loop.toml")),
    ("sim-dose.toml", include_str!("../specs/sim-dose.toml")),
    ("sim-dose-unseen-compound.toml", include_str!("../specs/sim-dose-unseen-compound.toml")),
    ("sim-dose-unseen-context.toml", include_str!("../specs/sim-dose-unseen-context.toml")),
];

/// How test conditions are chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "kebab-case", deny_unknown_fields)]
pub enum SplitRule {
    UnseenSingle {
        test_fraction: f64,
        control_test_fraction: f64,
    },
    Combinatorial {
        train_gene_fraction: f64,
        seen2_train_fraction: f64,
        control_test_fraction: f64,
    },
    MultiStep {
        test_fraction: f64,
        control_test_fraction: f64,
    },
    /// Inverse design: a seeded `target_fraction` of the perturbed conditions whose order (number
    /// of genes) is in `target_orders` are held-out targets; every perturbed condition is a
    /// candidate of the screen.
    InverseDesign {
        target_fraction: f64,
        control_test_fraction: f64,
        target_orders: Vec<usize>,
    },
    /// The GEARS simulation split of `combinatorial`, with the held-out doubles' genetic
    /// interactions scored against the registered table `gi_fits` (e.g. `norman2019-gi-fits`).
    GeneticInteractions {
        train_gene_fraction: f64,
        seen2_train_fraction: f64,
        control_test_fraction: f64,
        gi_fits: String,
    },
    /// Order consistency (multi-step 3b): the GEARS simulation split of `combinatorial`; each
    /// held-out double a+b is queried as `a>b` and `b>a` (two actions fed back in turn), both
    /// scored against the observed a+b, plus the order inconsistency of the two end points.
    OrderConsistency {
        train_gene_fraction: f64,
        seen2_train_fraction: f64,
        control_test_fraction: f64,
    },
    /// Stability (multi-step 3c): a seeded `test_fraction` of the singles is held out (as in
    /// `unseen-single`); each held-out single and the no-op are applied repeatedly for 50 steps and
    /// the predicted cells' kNN distance (`neighbours`) to real one-step cells (a seeded subsample
    /// of at most `max_reference_cells`) and their dispersion are scored by their distance from
    /// the real held-out cells' values (two-sided); on the simulator, the rollout is also scored
    /// against the true expected trajectory.
    Stability {
        test_fraction: f64,
        control_test_fraction: f64,
        neighbours: usize,
        max_reference_cells: usize,
    },
    /// Cross-modal coherence: the `unseen-single` split of a dataset with paired proteins; the
    /// model predicts RNA and protein of each start cell, scored per modality and by how far the
    /// coherence of the two (through the RNA→protein coupling of real training cells) is from
    /// the real test cells' coherence.
    CrossModal {
        test_fraction: f64,
        control_test_fraction: f64,
    },
    /// Few-shot / new context: everything of the training context trains; in the dataset's second
    /// context a seeded `test_fraction` of the perturbations is held out and scored after the model
    /// adapted on k ∈ {0, 1, 5, 20} others (nested draws); `control_test_fraction` of the new
    /// context's control cells are the start states, the rest are adaptation controls.
    FewShot {
        test_fraction: f64,
        control_test_fraction: f64,
    },
    /// Closed-loop design (`splits::closed_loop`): a seeded `train_gene_fraction` of the singles'
    /// genes trains; the model's predictions guide a screen of the untested candidates, `batch`
    /// picks per round for `rounds` rounds, each round's measured cells handed back to the model
    /// (`Model::adapt`) before the next. The hits are the `hit_fraction` of the library closest to
    /// a hidden goal state; `guide_baseline` (one of the spec's baselines) guides the screen that
    /// `enrichment_vs_baseline` compares with. On the simulator, each candidate's truth is the mean
    /// of `truth_cells` fresh cells and a pick is measured as `measured_cells` other fresh cells.
    ClosedLoop {
        train_gene_fraction: f64,
        control_test_fraction: f64,
        rounds: usize,
        batch: usize,
        hit_fraction: f64,
        guide_baseline: String,
        truth_cells: usize,
        measured_cells: usize,
    },
    /// Unseen doses (`splits::dose`, interpolation): of every compound's sorted dose levels, those
    /// at odd positions below its highest are held out (4 levels: the 2nd; 7 levels: the 2nd, 4th
    /// and 6th); every other dose trains. Scored by the dose family (profile metrics plus
    /// per-dose PearsonΔ and dose-response monotonicity).
    UnseenDose {
        control_test_fraction: f64,
    },
    /// Unseen compounds (`splits::dose`): a seeded `test_fraction` of the compounds is held out at
    /// every dose; the others train at every dose. Scored like `unseen-dose`.
    UnseenCompound {
        test_fraction: f64,
        control_test_fraction: f64,
    },
    /// Unseen cell context (`splits::dose`): every compound-at-dose of the training context trains;
    /// the same conditions in the dataset's second context are held out (subgroup `new_context`),
    /// predicted from that context's control cells (a `control_test_fraction` of them; the others
    /// give its μ_ctrl) with no example of it (zero-shot). Scored like `unseen-dose`, against the
    /// new context's references.
    UnseenContext {
        control_test_fraction: f64,
    },
}

impl SplitRule {
    /// Whether the rule is one of the dose family's (actions are compounds at doses).
    pub fn is_dose(&self) -> bool {
        matches!(
            self,
            SplitRule::UnseenDose { .. } | SplitRule::UnseenCompound { .. } | SplitRule::UnseenContext { .. }
        )
    }

    /// The metrics of a family with its own metrics, beside the profile metrics; empty for the
    /// profile families.
    pub fn family_metrics(&self) -> &'static [&'static MetricInfo] {
        match self {
            SplitRule::InverseDesign { .. } => &metrics::inverse::SCREEN_METRICS,
            SplitRule::GeneticInteractions { .. } => &metrics::interaction::GI_METRICS,
            SplitRule::OrderConsistency { .. } => &metrics::order::ORDER_METRICS,
            SplitRule::Stability { .. } => &metrics::manifold::STABILITY_METRICS,
            SplitRule::CrossModal { .. } => &metrics::catalog::CROSS_MODAL_METRICS,
            SplitRule::FewShot { .. } => &metrics::catalog::FEW_SHOT_METRICS,
            SplitRule::ClosedLoop { .. } => &metrics::discovery::DISCOVERY_METRICS,
            SplitRule::UnseenDose { .. } | SplitRule::UnseenCompound { .. } | SplitRule::UnseenContext { .. } => {
                &metrics::dose::DOSE_METRICS
            }
            _ => &[],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    pub id: String,
    /// The family: `unseen-single`, `combinatorial`, ...
    pub task: String,
    pub version: u32,
    /// Registry id of the dataset, or `simulator` for the embedded default.
    pub dataset: String,
    pub seed: u64,
    pub title: String,
    pub description: String,
    /// Metric names; the first ranks models.
    pub metrics: Vec<String>,
    pub baselines: Vec<String>,
    /// At most this many test control cells are used as start states of the queries.
    pub max_start_cells: usize,
    pub split: SplitRule,
}

/// A parsed spec with the hash of its source bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedSpec {
    pub spec: TaskSpec,
    pub sha256: String,
    pub source_name: String,
}

impl TaskSpec {
    /// The metrics as typed values (validated at load).
    pub fn metric_list(&self) -> Vec<Metric> {
        self.metrics.iter().filter_map(|m| Metric::from_name(m)).collect()
    }
}

/// Parses and validates one spec file's text.
pub fn parse_spec(source_name: &str, text: &str) -> Result<LoadedSpec, TaskError> {
    let invalid = |reason: String| TaskError::InvalidSpec { source_name: source_name.to_string(), reason };
    let spec: TaskSpec = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
    if spec.metrics.is_empty() {
        return Err(invalid("`metrics` is empty; list at least one (the first ranks models)".into()));
    }
    for m in &spec.metrics {
        let family_metric = spec.split.family_metrics().iter().any(|f| f.name == m);
        if matches!(spec.split, SplitRule::InverseDesign { .. } | SplitRule::ClosedLoop { .. }) && !family_metric {
            let known: Vec<&str> = spec.split.family_metrics().iter().map(|f| f.name).collect();
            return Err(invalid(format!("unknown {} metric '{m}'; known: {}", spec.task, known.join(", "))));
        }
        if Metric::from_name(m).is_none() && !family_metric {
            let known: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
            return Err(invalid(format!("unknown metric '{m}'; known: {}", known.join(", "))));
        }
    }
    let fraction_ok = |f: f64| f > 0.0 && f < 1.0;
    let fractions = match &spec.split {
        SplitRule::UnseenSingle { test_fraction, control_test_fraction } => {
            vec![*test_fraction, *control_test_fraction]
        }
        SplitRule::Combinatorial { train_gene_fraction, seen2_train_fraction, control_test_fraction } => {
            vec![*train_gene_fraction, *seen2_train_fraction, *control_test_fraction]
        }
        SplitRule::MultiStep { test_fraction, control_test_fraction } => vec![*test_fraction, *control_test_fraction],
        SplitRule::InverseDesign { target_fraction, control_test_fraction, target_orders } => {
            if target_orders.is_empty() || target_orders.contains(&0) {
                return Err(invalid("`target_orders` must list at least one order ≥ 1 (1 singles, 2 doubles)".into()));
            }
            vec![*target_fraction, *control_test_fraction]
        }
        SplitRule::GeneticInteractions { train_gene_fraction, seen2_train_fraction, control_test_fraction, .. } => {
            vec![*train_gene_fraction, *seen2_train_fraction, *control_test_fraction]
        }
        SplitRule::OrderConsistency { train_gene_fraction, seen2_train_fraction, control_test_fraction } => {
            vec![*train_gene_fraction, *seen2_train_fraction, *control_test_fraction]
        }
        SplitRule::Stability { test_fraction, control_test_fraction, neighbours, max_reference_cells } => {
            if *neighbours == 0 || *max_reference_cells <= *neighbours {
                return Err(invalid("`neighbours` must be ≥ 1 and below `max_reference_cells`".into()));
            }
            if let Some(m) = spec.metrics.iter().find(|m| Metric::from_name(m).is_some()) {
                return Err(invalid(format!(
                    "'{m}' is a profile metric; stability tasks score stability_gap_t{{t}}, trajectory_rmse_t{{t}} and trajectory_energy_t{{t}} (t = 1, 2, 5, 10, 20, 50)"
                )));
            }
            vec![*test_fraction, *control_test_fraction]
        }
        SplitRule::CrossModal { test_fraction, control_test_fraction } => vec![*test_fraction, *control_test_fraction],
        SplitRule::FewShot { test_fraction, control_test_fraction } => {
            if let Some(m) = spec.metrics.iter().find(|m| Metric::from_name(m).is_some()) {
                return Err(invalid(format!(
                    "'{m}' is a profile metric; few-shot tasks score per shot count (e.g. pearson_delta_pert_k5)"
                )));
            }
            vec![*test_fraction, *control_test_fraction]
        }
        SplitRule::ClosedLoop { train_gene_fraction, control_test_fraction, hit_fraction, .. } => {
            validate_closed_loop(&spec).map_err(invalid)?;
            vec![*train_gene_fraction, *control_test_fraction, *hit_fraction]
        }
        SplitRule::UnseenDose { control_test_fraction } | SplitRule::UnseenContext { control_test_fraction } => {
            vec![*control_test_fraction]
        }
        SplitRule::UnseenCompound { test_fraction, control_test_fraction } => {
            vec![*test_fraction, *control_test_fraction]
        }
    };
    if !fractions.into_iter().all(fraction_ok) {
        return Err(invalid("every fraction in [split] must be strictly between 0 and 1".into()));
    }
    if spec.max_start_cells == 0 {
        return Err(invalid("`max_start_cells` must be at least 1".into()));
    }
    Ok(LoadedSpec { spec, sha256: sha256_hex(text.as_bytes()), source_name: source_name.to_string() })
}

/// Checks a closed-loop spec's screen settings (the fractions are checked with every rule's).
fn validate_closed_loop(spec: &TaskSpec) -> Result<(), String> {
    let SplitRule::ClosedLoop { rounds, batch, guide_baseline, truth_cells, measured_cells, .. } = &spec.split else {
        return Ok(());
    };
    let max = metrics::discovery::MAX_ROUNDS;
    if !(1..=max).contains(rounds) || *batch == 0 || *truth_cells == 0 || *measured_cells == 0 {
        return Err(format!(
            "`rounds` must be in 1..={max}, and `batch`, `truth_cells` and `measured_cells` at least 1"
        ));
    }
    if !spec.baselines.contains(guide_baseline) {
        return Err(format!("`guide_baseline` '{guide_baseline}' must be one of the spec's `baselines`"));
    }
    let beyond =
        |m: &&String| m.strip_prefix("recall_r").and_then(|r| r.parse::<usize>().ok()).is_some_and(|r| r > *rounds);
    match spec.metrics.iter().find(beyond) {
        Some(m) => Err(format!("'{m}' names a round beyond the screen's {rounds}")),
        None => Ok(()),
    }
}

/// The sha256 of `bytes` in lower-case hex (a spec's identity in scorecards).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A small spec for unit tests and examples: task `toy` on dataset `toy` with the given seed,
/// metrics, baselines and `[split]` table body (e.g. `rule = "unseen-single"` plus its fractions).
#[doc(hidden)]
pub fn toy_spec(split: &str, seed: u64, metrics: &[&str], baselines: &[&str]) -> LoadedSpec {
    let list = |v: &[&str]| v.iter().map(|m| format!("\"{m}\"")).collect::<Vec<_>>().join(", ");
    let text = format!(
        "id = \"toy\"\ntask = \"toy\"\nversion = 1\ndataset = \"toy\"\nseed = {seed}\ntitle = \"toy\"\n\
         description = \"toy\"\nmetrics = [{}]\nbaselines = [{}]\nmax_start_cells = 8\n\n[split]\n{split}\n",
        list(metrics),
        list(baselines)
    );
    match parse_spec("toy.toml", &text) {
        Ok(spec) => spec,
        Err(e) => panic!("toy spec: {e}"),
    }
}

/// Every embedded spec, in a stable order.
pub fn embedded_specs() -> Result<Vec<LoadedSpec>, TaskError> {
    EMBEDDED.iter().map(|(name, text)| parse_spec(name, text)).collect()
}

/// Finds the spec for a task (spec id or family name) and dataset (registry id or alias such as
/// `simulator`). With only a family given, the simulator's spec is preferred (for few-shot, the
/// two-context simulator's).
pub fn find_spec(task: &str, dataset: Option<&str>) -> Result<LoadedSpec, TaskError> {
    let specs = embedded_specs()?;
    let matches_dataset = |s: &LoadedSpec| dataset.is_none_or(|d| s.spec.dataset == d);
    if let Some(s) = specs.iter().find(|s| s.spec.id == task && matches_dataset(s)) {
        return Ok(s.clone());
    }
    let wanted = dataset.unwrap_or("simulator");
    let family = |s: &&LoadedSpec| s.spec.task == task;
    specs
        .iter()
        .filter(family)
        .find(|s| s.spec.dataset == wanted)
        // With no dataset named, a family without a spec on the default simulator (few-shot) takes
        // its spec on another simulator dataset (simulator-two-contexts).
        .or_else(|| specs.iter().filter(family).find(|s| dataset.is_none() && s.spec.dataset.starts_with("simulator")))
        .cloned()
        .ok_or_else(|| TaskError::UnknownTask { task: task.to_string(), dataset: wanted.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The catalog's `arena eval` entries are exactly the profile metrics and the families' own,
    /// and every embedded spec names only those.
    #[test]
    fn specs_and_families_name_exactly_the_catalogued_eval_metrics() {
        use metrics::catalog::{CATALOG, Scorer};
        let specs = embedded_specs().unwrap();
        let mut reachable: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
        for spec in &specs {
            reachable.extend(spec.spec.split.family_metrics().iter().map(|m| m.name));
            for m in &spec.spec.metrics {
                assert!(metrics::catalog::eval(m).is_some(), "{}: `{m}` is not in metrics::catalog", spec.spec.id);
            }
        }
        for m in CATALOG.iter().filter(|m| m.scorer == Scorer::Eval) {
            assert!(reachable.contains(&m.name), "catalog entry `{}` is printed by no profile or family", m.name);
        }
    }

    #[test]
    fn embedded_specs_parse_and_hash_their_bytes() {
        let specs = embedded_specs().unwrap();
        assert_eq!(specs.len(), EMBEDDED.len());
        for s in &specs {
            assert_eq!(s.sha256.len(), 64);
            assert_eq!(format!("{}.toml", s.spec.id), s.source_name);
        }
        let ids: std::collections::BTreeSet<_> = specs.iter().map(|s| &s.spec.id).collect();
        assert_eq!(ids.len(), specs.len(), "spec ids are unique");
    }

    #[test]
    fn finds_specs_by_family_and_dataset() {
        assert_eq!(find_spec("unseen-single", None).unwrap().spec.id, "sim-unseen-single");
        assert_eq!(find_spec("few-shot", None).unwrap().spec.id, "sim-few-shot");
        assert!(find_spec("few-shot", Some("simulator")).is_err());
        assert_eq!(
            find_spec("combinatorial", Some("norman2019-pseudobulk")).unwrap().spec.id,
            "norman2019-combinatorial"
        );
        assert_eq!(find_spec("papalexi2021-unseen-single", None).unwrap().spec.dataset, "papalexi2021-thp1-rna");
        let err = find_spec("combinatorial", Some("papalexi2021-thp1-rna")).unwrap_err();
        assert!(err.to_string().contains("arena tasks"), "{err}");
    }

    #[test]
    fn rejects_bad_specs_with_the_reason() {
        let base = include_str!("../specs/sim-unseen-single.toml");
        let err = parse_spec("x.toml", &base.replace("\"mae\"", "\"maee\"")).unwrap_err();
        assert!(err.to_string().contains("unknown metric 'maee'"), "{err}");
        let err = parse_spec("x.toml", &base.replace("test_fraction = 0.3", "test_fraction = 1.5")).unwrap_err();
        assert!(err.to_string().contains("strictly between 0 and 1"), "{err}");
        let err = parse_spec("x.toml", &format!("{base}\nbogus = 1\n")).unwrap_err();
        assert!(err.to_string().contains("x.toml"), "{err}");
    }
}
