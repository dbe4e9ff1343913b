//! The metric catalog: every metric the arena prints, defined once. An entry holds the printed
//! name, the names other tools give the same quantity, which command prints it, its kind, which
//! end is better, its range, the value a perfect prediction gets, the scale its bootstrap
//! interval is computed on, its reference (paper and code) and a one-line definition.
//!
//! Families, `arena score` profiles, reports, scorecards and the leaderboard take names and
//! directions from here; [`markdown_table`] is what `arena metrics` prints. A name is unique
//! within one [`Scorer`]. A few names are printed by both scorers with different definitions,
//! because `arena score` keeps cell-eval's names bit for bit (`pearson_delta`, `mse`, `mae`) and
//! Systema's (`pearson_delta_pert`, `centroid_accuracy`): each has one entry per scorer, and each
//! such entry's definition says how it differs from its namesake (see [`namesakes`]).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::bounds::Bounds;

/// Which end of a metric is better. Scorecards write it as the boolean `higher_is_better`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Better {
    Higher,
    Lower,
}

impl Better {
    /// `true` for [`Better::Higher`].
    pub fn is_higher(self) -> bool {
        self == Better::Higher
    }

    /// From the scorecards' `higher_is_better` boolean.
    pub fn from_higher(higher_is_better: bool) -> Better {
        if higher_is_better { Better::Higher } else { Better::Lower }
    }

    /// ↑ or ↓, as tables print it.
    pub fn arrow(self) -> &'static str {
        match self {
            Better::Higher => "↑",
            Better::Lower => "↓",
        }
    }

    /// `x` oriented so that larger is better (`x` or `−x`).
    pub fn orient(self, x: f64) -> f64 {
        match self {
            Better::Higher => x,
            Better::Lower => -x,
        }
    }

    /// Whether `a` is strictly better than `b`.
    pub fn is_better(self, a: f64, b: f64) -> bool {
        self.orient(a) > self.orient(b)
    }

    /// The better of two values (`max` or `min`, NaN ignored as `f64::max` does).
    pub fn best_of(self, a: f64, b: f64) -> f64 {
        match self {
            Better::Higher => a.max(b),
            Better::Lower => a.min(b),
        }
    }
}

impl Serialize for Better {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bool(self.is_higher())
    }
}

impl<'de> Deserialize<'de> for Better {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        bool::deserialize(d).map(Better::from_higher)
    }
}

/// The command whose output prints the metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scorer {
    /// `arena eval` scorecards (and the leaderboard, which shows them).
    Eval,
    /// `arena score` result tables (cell-eval-compatible, and the `systema` profile).
    Score,
}

impl Scorer {
    pub fn name(self) -> &'static str {
        match self {
            Scorer::Eval => "arena eval",
            Scorer::Score => "arena score",
        }
    }
}

/// What kind of quantity a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A correlation over genes or items.
    Correlation,
    /// An error between predicted and true values.
    Error,
    /// A fraction of items, genes or pairs classified right (accuracy, precision, recall, AUC).
    Accuracy,
    /// Where the truth ranks among candidates (rank, hit@k, enrichment, discrimination).
    Retrieval,
    /// A distance between distributions of cells, or from a real-cell property.
    Distribution,
    /// A count (descriptive; no better end).
    Count,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Correlation => "correlation",
            Kind::Error => "error",
            Kind::Accuracy => "accuracy",
            Kind::Retrieval => "retrieval",
            Kind::Distribution => "distribution",
            Kind::Count => "count",
        }
    }
}

/// One metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricInfo {
    /// The name printed in scorecards or result tables (unique within `scorer`).
    pub name: &'static str,
    /// Other names of the same quantity (other tools, other versions of a standard).
    pub aliases: &'static [&'static str],
    pub scorer: Scorer,
    pub kind: Kind,
    /// `None` for descriptive counts, which are never ranked (cell-eval's `MetricBestValue.NONE`).
    pub better: Option<Better>,
    /// Closed range of a per-item value (infinite ends for open sides).
    pub range: (f64, f64),
    /// The value a perfect prediction gets (`None` when it depends on the data).
    pub perfect: Option<f64>,
    /// The scale `arena eval` computes the metric's studentized bootstrap interval on.
    pub interval: Bounds,
    /// Paper and code.
    pub reference: &'static str,
    /// One-line definition.
    pub doc: &'static str,
}

impl MetricInfo {
    /// The direction of a ranked metric. Every [`Scorer::Eval`] metric has one (pinned by a test),
    /// so this is the direction of any metric a scorecard summarises.
    pub fn direction(&self) -> Better {
        self.better.unwrap_or(Better::Higher)
    }

    /// Whether `name` is this metric's name or one of its aliases.
    pub fn answers_to(&self, name: &str) -> bool {
        self.name == name || self.aliases.contains(&name)
    }
}

const CELL_EVAL: &str =
    "Arc Institute Virtual Cell Challenge (Roohani et al. 2025, Cell); github.com/ArcInstitute/cell-eval 0.8.2";
const SYSTEMA: &str = "Viñas Torné et al. 2025 (Systema, Nat. Biotechnol.); github.com/mlbio-epfl/systema";
const ARENA: &str = "this arena (see README)";
const NORMAN: &str = "Norman et al. 2019 (Science 365:786); github.com/thomasmaxwellnorman/Perturbseq_GI";
const ENERGY: &str = "Székely & Rizzo 2013 (energy distance); cell-eval `edistance`";

const CORR: (f64, f64) = (-1.0, 1.0);
const UNIT: (f64, f64) = (0.0, 1.0);
const NONNEG: (f64, f64) = (0.0, f64::INFINITY);

/// An entry with no aliases (every field of [`MetricInfo`], in order).
#[allow(clippy::too_many_arguments)]
const fn entry(
    scorer: Scorer,
    name: &'static str,
    kind: Kind,
    better: Option<Better>,
    range: (f64, f64),
    perfect: Option<f64>,
    interval: Bounds,
    reference: &'static str,
    doc: &'static str,
) -> MetricInfo {
    MetricInfo { name, aliases: &[], scorer, kind, better, range, perfect, interval, reference, doc }
}

/// An `arena eval` correlation ranked ↑, perfect 1.
const fn eval_corr(name: &'static str, interval: Bounds, reference: &'static str, doc: &'static str) -> MetricInfo {
    entry(Scorer::Eval, name, Kind::Correlation, Some(Better::Higher), CORR, Some(1.0), interval, reference, doc)
}

/// An `arena eval` non-negative error ranked ↓, perfect 0.
const fn eval_err(name: &'static str, interval: Bounds, reference: &'static str, doc: &'static str) -> MetricInfo {
    entry(Scorer::Eval, name, Kind::Error, Some(Better::Lower), NONNEG, Some(0.0), interval, reference, doc)
}

/// An `arena eval` fraction in [0, 1] ranked ↑, perfect 1.
const fn eval_frac(
    name: &'static str,
    kind: Kind,
    interval: Bounds,
    reference: &'static str,
    doc: &'static str,
) -> MetricInfo {
    entry(Scorer::Eval, name, kind, Some(Better::Higher), UNIT, Some(1.0), interval, reference, doc)
}

/// An `arena eval` non-negative distance from real cells ranked ↓, perfect 0.
const fn eval_dist(name: &'static str, reference: &'static str, doc: &'static str) -> MetricInfo {
    entry(
        Scorer::Eval,
        name,
        Kind::Distribution,
        Some(Better::Lower),
        NONNEG,
        Some(0.0),
        Bounds::Unbounded,
        reference,
        doc,
    )
}

/// An `arena score` metric ranked ↑ with perfect value at the top of its range.
const fn score_up(
    name: &'static str,
    kind: Kind,
    range: (f64, f64),
    reference: &'static str,
    doc: &'static str,
) -> MetricInfo {
    entry(Scorer::Score, name, kind, Some(Better::Higher), range, Some(range.1), Bounds::Unbounded, reference, doc)
}

/// An `arena score` non-negative error ranked ↓, perfect 0.
const fn score_err(name: &'static str, reference: &'static str, doc: &'static str) -> MetricInfo {
    entry(Scorer::Score, name, Kind::Error, Some(Better::Lower), NONNEG, Some(0.0), Bounds::Unbounded, reference, doc)
}

/// The family's metrics, beside the RNA profile metrics: `coherence_gap` = |coherence(predicted
/// cells) − coherence(the item's real test cells)| (lower is better; 0 = real-cell coherence),
/// and the protein profile metrics.
pub const CROSS_MODAL_METRICS: [&MetricInfo; 3] = [&COHERENCE_GAP, &PROTEIN_PEARSON_DELTA, &PROTEIN_MSE];

/// The family's metrics: `pearson_delta_pert_mean_k` (the mean of the curve over the shots k = 0, 1, 5, 20,
/// which ranks), then the curve of `pearson_delta_pert` and of `mse`.
pub const FEW_SHOT_METRICS: [&MetricInfo; 9] = [
    &PEARSON_DELTA_PERT_MEAN_K,
    &PEARSON_DELTA_PERT_K0,
    &PEARSON_DELTA_PERT_K1,
    &PEARSON_DELTA_PERT_K5,
    &PEARSON_DELTA_PERT_K20,
    &MSE_K0,
    &MSE_K1,
    &MSE_K5,
    &MSE_K20,
];

impl Bounds {
    /// The scale a scorecard metric's interval is computed on, from its catalog entry
    /// ([`MetricInfo::interval`]); a name outside the catalog is unbounded.
    pub fn of_metric(name: &str) -> Bounds {
        eval(name).map_or(Bounds::Unbounded, |m| m.interval)
    }
}

// ---- arena eval: the profile metrics (`crate::profile::Metric`) ----

pub const PEARSON_DELTA: MetricInfo = eval_corr(
    "pearson_delta",
    Bounds::Correlation,
    CELL_EVAL,
    "Pearson r over genes of pred − μ_ctrl and truth − μ_ctrl (μ_ctrl: training control mean), the item's perturbed genes left out; a constant predicted Δ scores 0 (arena score's `pearson_delta` is NaN there and keeps every gene).",
);
pub const PEARSON_DELTA_PERT: MetricInfo = eval_corr(
    "pearson_delta_pert",
    Bounds::Correlation,
    SYSTEMA,
    "Pearson r of pred − μ_pert and truth − μ_pert (μ_pert: mean of the training perturbation centroids), perturbed genes left out; a constant predicted Δ scores 0 (arena score's `pearson_delta_pert` is NaN there, μ_pert over the scored perturbations).",
);
pub const MAE: MetricInfo = eval_err(
    "mae",
    Bounds::NonNegative,
    CELL_EVAL,
    "Mean absolute error over genes of the predicted and true mean profiles, the item's perturbed genes left out (arena score's `mae` keeps them).",
);
pub const MSE: MetricInfo = eval_err(
    "mse",
    Bounds::NonNegative,
    "Roohani et al. 2024 (GEARS, Nat. Biotechnol.); cell-eval",
    "Mean squared error over genes of the predicted and true mean profiles, the item's perturbed genes left out (arena score's `mse` keeps them).",
);
pub const CENTROID_ACCURACY: MetricInfo = eval_frac(
    "centroid_accuracy",
    Kind::Retrieval,
    Bounds::Fraction,
    SYSTEMA,
    "Fraction of the other test items whose true centroid is strictly farther from the prediction than the item's own truth, the item's perturbed genes left out of every distance (arena score's `centroid_accuracy` keeps them).",
);
pub const PEARSON_DELTA_WITH_TARGET: MetricInfo = eval_corr(
    "pearson_delta_with_target",
    Bounds::Correlation,
    CELL_EVAL,
    "`pearson_delta` over every gene, the perturbed ones included.",
);
pub const PEARSON_DELTA_PERT_WITH_TARGET: MetricInfo = eval_corr(
    "pearson_delta_pert_with_target",
    Bounds::Correlation,
    SYSTEMA,
    "`pearson_delta_pert` over every gene, the perturbed ones included.",
);
pub const MAE_WITH_TARGET: MetricInfo =
    eval_err("mae_with_target", Bounds::NonNegative, CELL_EVAL, "`mae` over every gene, the perturbed ones included.");
pub const MSE_WITH_TARGET: MetricInfo =
    eval_err("mse_with_target", Bounds::NonNegative, CELL_EVAL, "`mse` over every gene, the perturbed ones included.");

// ---- arena eval: cross-modal family ----

pub const COHERENCE_GAP: MetricInfo = entry(
    Scorer::Eval,
    "coherence_gap",
    Kind::Distribution,
    Some(Better::Lower),
    (0.0, 2.0),
    Some(0.0),
    Bounds::Unbounded,
    ARENA,
    "|coherence of the predicted cells − coherence of the item's real test cells|, coherence the mean over proteins of r(protein, RNA→protein coupling) within the item.",
);
pub const PROTEIN_PEARSON_DELTA: MetricInfo = eval_corr(
    "protein_pearson_delta",
    Bounds::Correlation,
    ARENA,
    "`pearson_delta` on the protein panel (Δ against the training protein control mean).",
);
pub const PROTEIN_MSE: MetricInfo =
    eval_err("protein_mse", Bounds::NonNegative, ARENA, "`mse` on the protein panel's mean profiles.");

// ---- arena eval: few-shot family ----

const fn few_shot_corr(name: &'static str, doc: &'static str) -> MetricInfo {
    eval_corr(name, Bounds::Unbounded, SYSTEMA, doc)
}
const fn few_shot_err(name: &'static str, doc: &'static str) -> MetricInfo {
    eval_err(name, Bounds::Unbounded, ARENA, doc)
}
pub const PEARSON_DELTA_PERT_MEAN_K: MetricInfo = few_shot_corr(
    "pearson_delta_pert_mean_k",
    "Mean of `pearson_delta_pert_k{0,1,5,20}`: the few-shot curve in one number.",
);
pub const PEARSON_DELTA_PERT_K0: MetricInfo = few_shot_corr(
    "pearson_delta_pert_k0",
    "`pearson_delta_pert` in the new context after adapting on 0 perturbations.",
);
pub const PEARSON_DELTA_PERT_K1: MetricInfo =
    few_shot_corr("pearson_delta_pert_k1", "`pearson_delta_pert` in the new context after adapting on 1 perturbation.");
pub const PEARSON_DELTA_PERT_K5: MetricInfo = few_shot_corr(
    "pearson_delta_pert_k5",
    "`pearson_delta_pert` in the new context after adapting on 5 perturbations.",
);
pub const PEARSON_DELTA_PERT_K20: MetricInfo = few_shot_corr(
    "pearson_delta_pert_k20",
    "`pearson_delta_pert` in the new context after adapting on 20 perturbations.",
);
pub const MSE_K0: MetricInfo = few_shot_err("mse_k0", "`mse` in the new context after adapting on 0 perturbations.");
pub const MSE_K1: MetricInfo = few_shot_err("mse_k1", "`mse` in the new context after adapting on 1 perturbation.");
pub const MSE_K5: MetricInfo = few_shot_err("mse_k5", "`mse` in the new context after adapting on 5 perturbations.");
pub const MSE_K20: MetricInfo = few_shot_err("mse_k20", "`mse` in the new context after adapting on 20 perturbations.");

// ---- arena eval: inverse-design family ----

pub const NORMALIZED_RANK: MetricInfo = eval_frac(
    "normalized_rank",
    Kind::Retrieval,
    Bounds::Unbounded,
    ARENA,
    "1 − (rank − 1)/(N − 1) of the true perturbation among N candidates ranked by distance of the predicted profile to the target (ties count against).",
);
pub const HIT_AT_1: MetricInfo =
    eval_frac("hit_at_1", Kind::Retrieval, Bounds::Unbounded, ARENA, "1 if the true perturbation ranks first, else 0.");
pub const HIT_AT_5: MetricInfo = eval_frac(
    "hit_at_5",
    Kind::Retrieval,
    Bounds::Unbounded,
    ARENA,
    "1 if the true perturbation ranks in the top 5, else 0.",
);
pub const HIT_AT_10: MetricInfo = eval_frac(
    "hit_at_10",
    Kind::Retrieval,
    Bounds::Unbounded,
    ARENA,
    "1 if the true perturbation ranks in the top 10, else 0.",
);
pub const ENRICHMENT_AT_10: MetricInfo = entry(
    Scorer::Eval,
    "enrichment_at_10",
    Kind::Retrieval,
    Some(Better::Higher),
    NONNEG,
    None,
    Bounds::Unbounded,
    ARENA,
    "hit_at_10 over the hit rate of random screening, hit@10 / (min(10, N)/N); a perfect screen gets N/min(10, N).",
);
pub const RANK: MetricInfo = entry(
    Scorer::Eval,
    "rank",
    Kind::Retrieval,
    Some(Better::Lower),
    (1.0, f64::INFINITY),
    Some(1.0),
    Bounds::Unbounded,
    ARENA,
    "1-based pessimistic rank of the true perturbation among the candidates (1 + #others at distance ≤ the truth's).",
);

// ---- arena eval: closed-loop family (`crate::discovery`) ----

pub const DISCOVERY_AUC: MetricInfo = eval_frac(
    "discovery_auc",
    Kind::Retrieval,
    Bounds::Unbounded,
    ARENA,
    "Area under the closed-loop discovery curve (hits found after each round) over the oracle's, Σ_r hits_r / Σ_r min(H, picks_r); 1 = a hit picked whenever one was left.",
);
pub const ENRICHMENT_VS_RANDOM: MetricInfo = entry(
    Scorer::Eval,
    "enrichment_vs_random",
    Kind::Retrieval,
    Some(Better::Higher),
    NONNEG,
    None,
    Bounds::Unbounded,
    ARENA,
    "Hits found by the closed-loop screen over random screening's hypergeometric expectation P·H/N (P picks, H hits, N candidates); random = 1 in expectation.",
);
pub const ENRICHMENT_VS_BASELINE: MetricInfo = entry(
    Scorer::Eval,
    "enrichment_vs_baseline",
    Kind::Retrieval,
    Some(Better::Higher),
    NONNEG,
    None,
    Bounds::Unbounded,
    ARENA,
    "Hits found by the closed-loop screen over the hits of the task's baseline-guided screen (undefined when that found none).",
);
const fn recall(name: &'static str, doc: &'static str) -> MetricInfo {
    entry(Scorer::Eval, name, Kind::Retrieval, Some(Better::Higher), UNIT, None, Bounds::Unbounded, ARENA, doc)
}
pub const RECALL_R1: MetricInfo = recall("recall_r1", "Fraction of the closed-loop task's hits found after round 1.");
pub const RECALL_R2: MetricInfo = recall("recall_r2", "Fraction of the closed-loop task's hits found after round 2.");
pub const RECALL_R3: MetricInfo = recall("recall_r3", "Fraction of the closed-loop task's hits found after round 3.");
pub const RECALL_R4: MetricInfo = recall("recall_r4", "Fraction of the closed-loop task's hits found after round 4.");
pub const RECALL_R5: MetricInfo = recall("recall_r5", "Fraction of the closed-loop task's hits found after round 5.");
pub const RECALL_R6: MetricInfo = recall("recall_r6", "Fraction of the closed-loop task's hits found after round 6.");
pub const RECALL_R7: MetricInfo = recall("recall_r7", "Fraction of the closed-loop task's hits found after round 7.");
pub const RECALL_R8: MetricInfo = recall("recall_r8", "Fraction of the closed-loop task's hits found after round 8.");

// ---- arena eval: genetic-interaction family ----

pub const GI_MAGNITUDE_SPEARMAN: MetricInfo = entry(
    Scorer::Eval,
    "gi_magnitude_spearman",
    Kind::Correlation,
    Some(Better::Higher),
    CORR,
    Some(1.0),
    Bounds::Unbounded,
    NORMAN,
    "Spearman ρ over test doubles of the predicted and observed interaction magnitude √(c1² + c2²) of double ≈ c1·first + c2·second.",
);
pub const GI_CLASS_BALANCED_ACCURACY: MetricInfo = eval_frac(
    "gi_class_balanced_accuracy",
    Kind::Accuracy,
    Bounds::Unbounded,
    NORMAN,
    "Balanced accuracy of the predicted synergy / additive / suppression class of each test double against the observed class.",
);
pub const GI_SYNERGY_BALANCED_ACCURACY: MetricInfo = eval_frac(
    "gi_synergy_balanced_accuracy",
    Kind::Accuracy,
    Bounds::Unbounded,
    NORMAN,
    "Balanced accuracy of synergy versus not-synergy of each test double.",
);

// ---- arena eval: dose family (`crate::dose`) ----

pub const PEARSON_DELTA_PER_DOSE: MetricInfo = eval_corr(
    "pearson_delta_per_dose",
    Bounds::Unbounded,
    ARENA,
    "Per held-out dose level, the mean over compounds of the Pearson r of predicted vs observed Δ (each against the training-control mean, all genes); then the mean over dose levels (each level weighs the same).",
);
pub const DOSE_MONOTONICITY: MetricInfo = eval_frac(
    "dose_monotonicity",
    Kind::Accuracy,
    Bounds::Unbounded,
    ARENA,
    "Per compound, over its 20 most responsive genes and every pair of its scored doses, the fraction whose predicted change between the two doses has the observed sign (a predicted tie counts ½, so a constant prediction scores 0.5); mean over compounds.",
);

// ---- arena eval: order-consistency family ----

pub const ORDER_INCONSISTENCY: MetricInfo = entry(
    Scorer::Eval,
    "order_inconsistency",
    Kind::Distribution,
    Some(Better::Lower),
    (0.0, 2.0),
    None,
    Bounds::Unbounded,
    ARENA,
    "‖ab − ba‖ / ½(‖ab − x‖ + ‖ba − x‖) for the two orders of a pair of actions from start x; 0 = order-independent (on simultaneous doubles a perfect model gets 0).",
);

// ---- arena eval: stability family (STABILITY_STEPS t = 1, 2, 5, 10, 20, 50) ----

const STABILITY: &str =
    "Distance of t-step rollouts from real cells (manifold ratio and dispersion, 0 = like real cells).";
const RMSE_T: &str =
    "RMSE over genes of the predicted mean after t actions against the true expected profile (simulator only).";
const ENERGY_T: &str = "Energy distance between predicted and true cells after t actions (simulator only).";
pub const STABILITY_GAP_T1: MetricInfo = eval_dist("stability_gap_t1", ARENA, STABILITY);
pub const STABILITY_GAP_T2: MetricInfo = eval_dist("stability_gap_t2", ARENA, STABILITY);
pub const STABILITY_GAP_T5: MetricInfo = eval_dist("stability_gap_t5", ARENA, STABILITY);
pub const STABILITY_GAP_T10: MetricInfo = eval_dist("stability_gap_t10", ARENA, STABILITY);
pub const STABILITY_GAP_T20: MetricInfo = eval_dist("stability_gap_t20", ARENA, STABILITY);
pub const STABILITY_GAP_T50: MetricInfo = eval_dist("stability_gap_t50", ARENA, STABILITY);
pub const TRAJECTORY_RMSE_T1: MetricInfo = eval_err("trajectory_rmse_t1", Bounds::Unbounded, ARENA, RMSE_T);
pub const TRAJECTORY_RMSE_T2: MetricInfo = eval_err("trajectory_rmse_t2", Bounds::Unbounded, ARENA, RMSE_T);
pub const TRAJECTORY_RMSE_T5: MetricInfo = eval_err("trajectory_rmse_t5", Bounds::Unbounded, ARENA, RMSE_T);
pub const TRAJECTORY_RMSE_T10: MetricInfo = eval_err("trajectory_rmse_t10", Bounds::Unbounded, ARENA, RMSE_T);
pub const TRAJECTORY_RMSE_T20: MetricInfo = eval_err("trajectory_rmse_t20", Bounds::Unbounded, ARENA, RMSE_T);
pub const TRAJECTORY_RMSE_T50: MetricInfo = eval_err("trajectory_rmse_t50", Bounds::Unbounded, ARENA, RMSE_T);
pub const TRAJECTORY_ENERGY_T1: MetricInfo = eval_dist("trajectory_energy_t1", ENERGY, ENERGY_T);
pub const TRAJECTORY_ENERGY_T2: MetricInfo = eval_dist("trajectory_energy_t2", ENERGY, ENERGY_T);
pub const TRAJECTORY_ENERGY_T5: MetricInfo = eval_dist("trajectory_energy_t5", ENERGY, ENERGY_T);
pub const TRAJECTORY_ENERGY_T10: MetricInfo = eval_dist("trajectory_energy_t10", ENERGY, ENERGY_T);
pub const TRAJECTORY_ENERGY_T20: MetricInfo = eval_dist("trajectory_energy_t20", ENERGY, ENERGY_T);
pub const TRAJECTORY_ENERGY_T50: MetricInfo = eval_dist("trajectory_energy_t50", ENERGY, ENERGY_T);

// ---- arena score: cell-eval 0.8.2 DE metrics ----

const fn de_frac(name: &'static str, doc: &'static str) -> MetricInfo {
    score_up(name, Kind::Accuracy, UNIT, CELL_EVAL, doc)
}
pub const OVERLAP_AT_N: MetricInfo = de_frac(
    "overlap_at_N",
    "Overlap of the top-N predicted and true DE genes, N = the number of true significant genes.",
);
pub const OVERLAP_AT_50: MetricInfo = de_frac("overlap_at_50", "Overlap of the top-50 predicted and true DE genes.");
pub const OVERLAP_AT_100: MetricInfo = de_frac("overlap_at_100", "Overlap of the top-100 predicted and true DE genes.");
pub const OVERLAP_AT_200: MetricInfo = de_frac("overlap_at_200", "Overlap of the top-200 predicted and true DE genes.");
pub const OVERLAP_AT_500: MetricInfo = de_frac("overlap_at_500", "Overlap of the top-500 predicted and true DE genes.");
pub const PRECISION_AT_N: MetricInfo =
    de_frac("precision_at_N", "Precision of the top-N predicted DE genes among the true significant genes.");
pub const PRECISION_AT_50: MetricInfo = de_frac("precision_at_50", "Precision of the top-50 predicted DE genes.");
pub const PRECISION_AT_100: MetricInfo = de_frac("precision_at_100", "Precision of the top-100 predicted DE genes.");
pub const PRECISION_AT_200: MetricInfo = de_frac("precision_at_200", "Precision of the top-200 predicted DE genes.");
pub const PRECISION_AT_500: MetricInfo = de_frac("precision_at_500", "Precision of the top-500 predicted DE genes.");
pub const DE_SPEARMAN_SIG: MetricInfo = score_up(
    "de_spearman_sig",
    Kind::Correlation,
    CORR,
    CELL_EVAL,
    "Spearman ρ over perturbations of the predicted and true numbers of significant genes (one value, repeated on every row).",
);
pub const DE_DIRECTION_MATCH: MetricInfo = de_frac(
    "de_direction_match",
    "Fraction of the true significant genes whose predicted log fold change has the true sign.",
);
pub const DE_SPEARMAN_LFC_SIG: MetricInfo = score_up(
    "de_spearman_lfc_sig",
    Kind::Correlation,
    CORR,
    CELL_EVAL,
    "Spearman ρ of predicted and true log fold changes over the true significant genes.",
);
pub const DE_SIG_GENES_RECALL: MetricInfo =
    de_frac("de_sig_genes_recall", "Fraction of the true significant genes that are significant in the prediction.");
pub const DE_NSIG_COUNTS_REAL: MetricInfo = entry(
    Scorer::Score,
    "de_nsig_counts_real",
    Kind::Count,
    None,
    NONNEG,
    None,
    Bounds::Unbounded,
    CELL_EVAL,
    "Number of significant genes in the real DE table (descriptive).",
);
pub const DE_NSIG_COUNTS_PRED: MetricInfo = entry(
    Scorer::Score,
    "de_nsig_counts_pred",
    Kind::Count,
    None,
    NONNEG,
    None,
    Bounds::Unbounded,
    CELL_EVAL,
    "Number of significant genes in the predicted DE table (descriptive).",
);
pub const PR_AUC: MetricInfo = de_frac(
    "pr_auc",
    "Area under the precision–recall curve of predicted −log10 p against the true significant genes.",
);
pub const ROC_AUC: MetricInfo =
    de_frac("roc_auc", "Area under the ROC curve of predicted −log10 p against the true significant genes.");

// ---- arena score: cell-eval 0.8.2 "anndata pair" metrics ----

pub const CELL_EVAL_PEARSON_DELTA: MetricInfo = score_up(
    "pearson_delta",
    Kind::Correlation,
    CORR,
    CELL_EVAL,
    "scipy pearsonr over every gene of pred − pred control and real − real control pseudobulks; NaN for a constant Δ (arena eval's `pearson_delta` scores 0 there and leaves out perturbed genes).",
);
pub const CELL_EVAL_MSE: MetricInfo = score_err(
    "mse",
    CELL_EVAL,
    "Mean squared error over every gene of the predicted and real pseudobulks (arena eval's `mse` leaves out perturbed genes).",
);
pub const CELL_EVAL_MAE: MetricInfo = score_err(
    "mae",
    CELL_EVAL,
    "Mean absolute error over every gene of the predicted and real pseudobulks (arena eval's `mae` leaves out perturbed genes).",
);
pub const MSE_DELTA: MetricInfo =
    score_err("mse_delta", CELL_EVAL, "`mse` of the Δ against each side's control pseudobulk.");
pub const MAE_DELTA: MetricInfo =
    score_err("mae_delta", CELL_EVAL, "`mae` of the Δ against each side's control pseudobulk.");
pub const DISCRIMINATION_SCORE_L1: MetricInfo = score_up(
    "discrimination_score_l1",
    Kind::Retrieval,
    UNIT,
    CELL_EVAL,
    "Perturbation discrimination score (PDS): 1 − rank/N of the true perturbation (0 = closest) among all N by L1 distance of Δ, target genes left out.",
);
pub const DISCRIMINATION_SCORE_L2: MetricInfo =
    score_up("discrimination_score_l2", Kind::Retrieval, UNIT, CELL_EVAL, "PDS by L2 distance.");
pub const DISCRIMINATION_SCORE_COSINE: MetricInfo =
    score_up("discrimination_score_cosine", Kind::Retrieval, UNIT, CELL_EVAL, "PDS by cosine distance.");
pub const PEARSON_EDISTANCE: MetricInfo = score_up(
    "pearson_edistance",
    Kind::Correlation,
    CORR,
    CELL_EVAL,
    "Pearson r over perturbations of the energy distances (cells to controls) of prediction and truth (one value per run).",
);

// ---- arena score: the `systema` profile ----

pub const SYSTEMA_PEARSON_DELTA_PERT: MetricInfo = score_up(
    "pearson_delta_pert",
    Kind::Correlation,
    CORR,
    SYSTEMA,
    "Pearson r over every gene of pred − μ_pert and real − μ_pert, μ_pert the mean real centroid of the scored perturbations; NaN for a constant Δ (arena eval's `pearson_delta_pert` uses training perturbations, scores 0 there, leaves out perturbed genes).",
);
pub const SYSTEMA_PEARSON_DELTA_PERT_DE20: MetricInfo = score_up(
    "pearson_delta_pert_de20",
    Kind::Correlation,
    CORR,
    SYSTEMA,
    "`pearson_delta_pert` over the perturbation's 20 smallest real-DE p-values.",
);
pub const SYSTEMA_CENTROID_ACCURACY: MetricInfo = score_up(
    "centroid_accuracy",
    Kind::Retrieval,
    UNIT,
    SYSTEMA,
    "Fraction of the other perturbations whose real centroid is strictly farther from the prediction than its own, over every gene (arena eval's `centroid_accuracy` leaves out perturbed genes).",
);

// ---- arena score: the `stamp` profile ----

const STAMP: &str = "Gao et al. (STAMP, subtask-decomposition benchmark); github.com/bm2-lab/STAMP (stamp/STAMP.py)";

pub const STAMP_DEG_ROC_AUC: MetricInfo = MetricInfo {
    aliases: &["ROC_AUC_1"],
    ..score_up(
        "stamp_deg_roc_auc",
        Kind::Accuracy,
        UNIT,
        STAMP,
        "STAMP level 1: ROC-AUC of the predicted DE p-value (smaller first) against the real DEGs (real FDR ≤ 0.01), pooled over every (perturbation, gene) pair of the run.",
    )
};
pub const STAMP_DEG_PR_AUC: MetricInfo = MetricInfo {
    aliases: &["PR_AUC_1"],
    ..score_up(
        "stamp_deg_pr_auc",
        Kind::Accuracy,
        UNIT,
        STAMP,
        "STAMP level 1: trapezoid area under the precision–recall curve of the same (sklearn `auc(recall, precision)`, not average precision).",
    )
};
pub const STAMP_DIRECTION_ROC_AUC: MetricInfo = MetricInfo {
    aliases: &["ROC_AUC_2"],
    ..score_up(
        "stamp_direction_roc_auc",
        Kind::Accuracy,
        UNIT,
        STAMP,
        "STAMP level 2: ROC-AUC of the predicted log2 fold change against \"up\" (real fold change ≥ 1) over the real DEGs.",
    )
};
pub const STAMP_DIRECTION_PR_AUC: MetricInfo = MetricInfo {
    aliases: &["PR_AUC_2"],
    ..score_up("stamp_direction_pr_auc", Kind::Accuracy, UNIT, STAMP, "STAMP level 2: trapezoid PR-AUC of the same.")
};
pub const STAMP_MAGNITUDE_PEARSON: MetricInfo = MetricInfo {
    aliases: &["COR_3"],
    ..score_up(
        "stamp_magnitude_pearson",
        Kind::Correlation,
        CORR,
        STAMP,
        "STAMP level 3: Pearson r of predicted and real fold change (linear) over the real DEGs.",
    )
};
pub const STAMP_MAGNITUDE_MSE: MetricInfo = MetricInfo {
    aliases: &["mse_3"],
    ..score_err(
        "stamp_magnitude_mse",
        STAMP,
        "STAMP level 3: mean squared error of predicted and real fold change over the real DEGs.",
    )
};

// ---- arena score: the `vcc2026` profile (cell-eval2 0.20.0, raw counts) ----

const CELL_EVAL2: &str =
    "Arc Institute Virtual Cell Challenge 2026; github.com/ArcInstitute/cell-eval2 0.20.0 (docs/vcc2026_metrics)";
const REALS: (f64, f64) = (f64::NEG_INFINITY, f64::INFINITY);

/// A cell-eval2 diagnostic: printed beside the scored members, never ranked.
const fn vcc2026_diagnostic(name: &'static str, kind: Kind, range: (f64, f64), doc: &'static str) -> MetricInfo {
    entry(Scorer::Score, name, kind, None, range, None, Bounds::Unbounded, CELL_EVAL2, doc)
}

pub const PDS_COSINE: MetricInfo = score_up(
    "pds_cosine",
    Kind::Retrieval,
    UNIT,
    CELL_EVAL2,
    "1 − k/(n − 1), k the midrank of the true perturbation among all by cosine distance of the effects (bulk − real control bulk), every panel target gene removed (cell-eval2's v1 name: `discrimination_score_cosine`, which differs: argsort ties, own controls).",
);
pub const EXPR_MSE_UNBIASED_CAPPED_NORM: MetricInfo = entry(
    Scorer::Score,
    "expr_mse_unbiased_capped_norm",
    Kind::Error,
    Some(Better::Lower),
    REALS,
    None,
    Bounds::Unbounded,
    CELL_EVAL2,
    "Σ_p N_p / Σ_p D_p (no per-perturbation value): the squared bulk error minus its jackknife corrections, the prediction's capped at the reference's, over the reference's own corrected effect; 0 is perfect, 1 is predicting the control; signed (estimator noise), clamped to [0, 1] only in the anchor's scaled score.",
);
pub const DE_WILCOXON_DIRECTION_FIDELITY_YIELD_RAW: MetricInfo = score_up(
    "de_wilcoxon_direction_fidelity_yield_raw",
    Kind::Accuracy,
    UNIT,
    CELL_EVAL2,
    "k / max(n_pred, n_real): right-signed calls among the prediction's significant genes (v2 Wilcoxon DE against the real controls), charged for calling fewer genes than the reference.",
);
pub const DE_WILCOXON_DIRECTION_REACH_RAW: MetricInfo = score_up(
    "de_wilcoxon_direction_reach_raw",
    Kind::Accuracy,
    UNIT,
    CELL_EVAL2,
    "The deepest prefix of the reference's significant genes, ordered by the prediction's confidence, whose sign purity is ≥ 0.9, over n_real.",
);
pub const DE_WILCOXON_SIG_JACCARD: MetricInfo = score_up(
    "de_wilcoxon_sig_jaccard",
    Kind::Accuracy,
    UNIT,
    CELL_EVAL2,
    "Jaccard index of the predicted and real significant gene sets (1 when both are empty).",
);
pub const DE_WILCOXON_LFC_NMAE: MetricInfo = score_err(
    "de_wilcoxon_lfc_nmae",
    CELL_EVAL2,
    "Σ |lfĉ − lfc| / Σ |lfc| over the reference's significant genes with a finite log2 fold change; perturbations with fewer than 10 such genes are omitted.",
);
pub const EXPR_MSE_UNBIASED: MetricInfo = vcc2026_diagnostic(
    "expr_mse_unbiased",
    Kind::Error,
    REALS,
    "Diagnostic: the uncapped numerator of `expr_mse_unbiased_capped_norm` (squared bulk error minus both jackknife corrections).",
);
pub const EXPR_MSE_UNBIASED_CAPPED: MetricInfo = vcc2026_diagnostic(
    "expr_mse_unbiased_capped",
    Kind::Error,
    REALS,
    "Diagnostic: N_p, the numerator with the prediction's correction capped at the reference's.",
);
pub const EXPR_DISTANCE_UNBIASED: MetricInfo = vcc2026_diagnostic(
    "expr_distance_unbiased",
    Kind::Distribution,
    REALS,
    "Diagnostic: D_p, the reference's own effect (bulk − control bulk, squared), corrected the same way.",
);
pub const EXPR_REAL_MASS_RATIO: MetricInfo = vcc2026_diagnostic(
    "expr_real_mass_ratio",
    Kind::Distribution,
    NONNEG,
    "Diagnostic: Σ_g expm1(bulk)/target sum of the reference's bulk, 1 for a group with counts (a check on the bulk transform).",
);

/// Every metric, `arena eval` first, each scorer in report order.
pub const CATALOG: &[MetricInfo] = &[
    PEARSON_DELTA,
    PEARSON_DELTA_PERT,
    MAE,
    MSE,
    CENTROID_ACCURACY,
    PEARSON_DELTA_WITH_TARGET,
    PEARSON_DELTA_PERT_WITH_TARGET,
    MAE_WITH_TARGET,
    MSE_WITH_TARGET,
    COHERENCE_GAP,
    PROTEIN_PEARSON_DELTA,
    PROTEIN_MSE,
    PEARSON_DELTA_PERT_MEAN_K,
    PEARSON_DELTA_PERT_K0,
    PEARSON_DELTA_PERT_K1,
    PEARSON_DELTA_PERT_K5,
    PEARSON_DELTA_PERT_K20,
    MSE_K0,
    MSE_K1,
    MSE_K5,
    MSE_K20,
    NORMALIZED_RANK,
    HIT_AT_1,
    HIT_AT_5,
    HIT_AT_10,
    ENRICHMENT_AT_10,
    RANK,
    DISCOVERY_AUC,
    ENRICHMENT_VS_RANDOM,
    ENRICHMENT_VS_BASELINE,
    RECALL_R1,
    RECALL_R2,
    RECALL_R3,
    RECALL_R4,
    RECALL_R5,
    RECALL_R6,
    RECALL_R7,
    RECALL_R8,
    GI_MAGNITUDE_SPEARMAN,
    GI_CLASS_BALANCED_ACCURACY,
    GI_SYNERGY_BALANCED_ACCURACY,
    PEARSON_DELTA_PER_DOSE,
    DOSE_MONOTONICITY,
    ORDER_INCONSISTENCY,
    STABILITY_GAP_T1,
    STABILITY_GAP_T2,
    STABILITY_GAP_T5,
    STABILITY_GAP_T10,
    STABILITY_GAP_T20,
    STABILITY_GAP_T50,
    TRAJECTORY_RMSE_T1,
    TRAJECTORY_RMSE_T2,
    TRAJECTORY_RMSE_T5,
    TRAJECTORY_RMSE_T10,
    TRAJECTORY_RMSE_T20,
    TRAJECTORY_RMSE_T50,
    TRAJECTORY_ENERGY_T1,
    TRAJECTORY_ENERGY_T2,
    TRAJECTORY_ENERGY_T5,
    TRAJECTORY_ENERGY_T10,
    TRAJECTORY_ENERGY_T20,
    TRAJECTORY_ENERGY_T50,
    OVERLAP_AT_N,
    OVERLAP_AT_50,
    OVERLAP_AT_100,
    OVERLAP_AT_200,
    OVERLAP_AT_500,
    PRECISION_AT_N,
    PRECISION_AT_50,
    PRECISION_AT_100,
    PRECISION_AT_200,
    PRECISION_AT_500,
    DE_SPEARMAN_SIG,
    DE_DIRECTION_MATCH,
    DE_SPEARMAN_LFC_SIG,
    DE_SIG_GENES_RECALL,
    DE_NSIG_COUNTS_REAL,
    DE_NSIG_COUNTS_PRED,
    PR_AUC,
    ROC_AUC,
    CELL_EVAL_PEARSON_DELTA,
    CELL_EVAL_MSE,
    CELL_EVAL_MAE,
    MSE_DELTA,
    MAE_DELTA,
    DISCRIMINATION_SCORE_L1,
    DISCRIMINATION_SCORE_L2,
    DISCRIMINATION_SCORE_COSINE,
    PEARSON_EDISTANCE,
    SYSTEMA_PEARSON_DELTA_PERT,
    SYSTEMA_PEARSON_DELTA_PERT_DE20,
    SYSTEMA_CENTROID_ACCURACY,
    STAMP_DEG_ROC_AUC,
    STAMP_DEG_PR_AUC,
    STAMP_DIRECTION_ROC_AUC,
    STAMP_DIRECTION_PR_AUC,
    STAMP_MAGNITUDE_PEARSON,
    STAMP_MAGNITUDE_MSE,
    PDS_COSINE,
    EXPR_MSE_UNBIASED_CAPPED_NORM,
    DE_WILCOXON_DIRECTION_FIDELITY_YIELD_RAW,
    DE_WILCOXON_DIRECTION_REACH_RAW,
    DE_WILCOXON_SIG_JACCARD,
    DE_WILCOXON_LFC_NMAE,
    EXPR_MSE_UNBIASED,
    EXPR_MSE_UNBIASED_CAPPED,
    EXPR_DISTANCE_UNBIASED,
    EXPR_REAL_MASS_RATIO,
];

/// The metric `scorer` prints as `name` (or under an alias).
pub fn find(scorer: Scorer, name: &str) -> Option<&'static MetricInfo> {
    CATALOG
        .iter()
        .find(|m| m.scorer == scorer && m.name == name)
        .or_else(|| CATALOG.iter().find(|m| m.scorer == scorer && m.aliases.contains(&name)))
}

/// The `arena eval` metric named `name`.
pub fn eval(name: &str) -> Option<&'static MetricInfo> {
    find(Scorer::Eval, name)
}

/// The `arena score` metric named `name`.
pub fn score(name: &str) -> Option<&'static MetricInfo> {
    find(Scorer::Score, name)
}

/// Names printed by both scorers with different definitions, as (eval entry, score entry).
pub fn namesakes() -> Vec<(&'static MetricInfo, &'static MetricInfo)> {
    let of = |s: Scorer| CATALOG.iter().filter(move |m| m.scorer == s);
    of(Scorer::Eval).flat_map(|e| of(Scorer::Score).filter(move |s| s.name == e.name).map(move |s| (e, s))).collect()
}

fn number(x: f64) -> String {
    match x {
        f64::INFINITY => "∞".into(),
        f64::NEG_INFINITY => "−∞".into(),
        x => format!("{x}"),
    }
}

/// The catalog as a Markdown table (what `arena metrics` prints).
pub fn markdown_table() -> String {
    let mut s = String::from(
        "| metric | printed by | also called | kind | better | range | perfect | reference | definition |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for m in CATALOG {
        let (lo, hi) = m.range;
        let closed = |x: f64| if x.is_finite() { "[" } else { "(" };
        let range = format!("{}{}, {}{}", closed(lo), number(lo), number(hi), if hi.is_finite() { "]" } else { ")" });
        s.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            m.name,
            m.scorer.name(),
            m.aliases.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", "),
            m.kind.name(),
            m.better.map_or("–", Better::arrow),
            range,
            m.perfect.map_or("–".into(), number),
            m.reference,
            m.doc.replace('|', "\\|"),
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_within_a_scorer_and_every_eval_metric_is_ranked() {
        for (i, a) in CATALOG.iter().enumerate() {
            for b in &CATALOG[i + 1..] {
                if a.scorer == b.scorer {
                    assert!(!a.answers_to(b.name) && !b.answers_to(a.name), "{} / {}", a.name, b.name);
                }
            }
            if a.scorer == Scorer::Eval {
                assert!(a.better.is_some(), "{} has no direction", a.name);
            }
            let (lo, hi) = a.range;
            assert!(lo < hi, "{}", a.name);
            if let Some(p) = a.perfect {
                assert!(lo <= p && p <= hi, "{}: perfect {p} outside its range", a.name);
                // The perfect value is the better end of the range.
                match a.better {
                    Some(Better::Higher) => assert_eq!(p, hi, "{}", a.name),
                    Some(Better::Lower) => assert_eq!(p, lo, "{}", a.name),
                    None => {}
                }
            }
            assert!(!a.doc.is_empty() && !a.reference.is_empty(), "{}", a.name);
        }
    }

    #[test]
    fn namesakes_say_how_they_differ() {
        let pairs = namesakes();
        let names: Vec<&str> = pairs.iter().map(|(e, _)| e.name).collect();
        assert_eq!(names, ["pearson_delta", "pearson_delta_pert", "mae", "mse", "centroid_accuracy"]);
        for (e, s) in pairs {
            assert_ne!(e.doc, s.doc);
            assert!(e.doc.contains("arena score") && s.doc.contains("arena eval"), "{}", e.name);
        }
        assert_eq!(eval("pearson_delta"), Some(&PEARSON_DELTA));
        assert_eq!(score("pearson_delta"), Some(&CELL_EVAL_PEARSON_DELTA));
        assert_eq!(eval("discrimination_score_l1"), None);
    }

    #[test]
    fn direction_orients_comparisons_and_round_trips_as_the_scorecard_boolean() {
        assert!(Better::Lower.is_better(0.1, 0.2) && !Better::Higher.is_better(0.1, 0.2));
        assert_eq!(Better::Lower.best_of(0.1, 0.2), 0.1);
        assert_eq!(Better::Higher.orient(-2.0), -2.0);
        assert_eq!(serde_json::to_string(&Better::Lower).unwrap(), "false");
        assert_eq!(serde_json::from_str::<Better>("true").unwrap(), Better::Higher);
    }

    #[test]
    fn markdown_table_has_one_row_per_metric() {
        let t = markdown_table();
        assert_eq!(t.lines().count(), CATALOG.len() + 2);
        assert!(t.contains("| `rank` | arena eval |  | retrieval | ↓ | [1, ∞) | 1 |"), "{t}");
        assert!(t.contains("| `de_nsig_counts_real` | arena score |  | count | – | [0, ∞) | – |"));
    }
}
