//! `arena audit`: can the task's metrics be gamed? A fixed panel of probe models (see
//! [`probes`]) is scored beside the submission and the spec's baselines through the same
//! evaluation code (`eval::families::score_model`), with the split-half noise ceiling as the
//! reference; every metric on which a probe looks as good as a real model is flagged. A Systema
//! systematic-variation report says how much of each test perturbation's shift is the shift all
//! perturbations share, and how much of each metric the constant μ_pert prediction already earns.
//! [`audit_scored`] is the one implementation: `arena audit` calls it after scoring the submission,
//! the baselines and the ceiling ([`audit`]); `arena eval` calls it with the rows its scorecard
//! already holds and embeds [`Audit::section`] in the scorecard.
//!
//! Every family but inverse design is audited, each on its own metrics: the probes go through
//! `families::score_model` like any model. Where every item repeats one action and no two items
//! share it (single-step families, stability) the oracle probes answer by action ([`probes::Lookup`]);
//! on multi-step and order-consistency items they are scored from their means on the profile
//! metrics. On cross-modal tasks the constant probes predict a constant protein too (the
//! training-control protein mean), the shuffled probe the true protein mean of σ(i). Few-shot tasks
//! get no derived probes (the submission's per-shot adaptation cannot be rebuilt here).
//!
//! Flag rules (per metric, on the mean over test perturbations, respecting higher/lower-is-better,
//! with a 1e-8 tolerance for "equal"):
//! - an independent probe (perturbed-mean, control-mean, shuffled, target-only, perturbed-mean +
//!   target) is flagged when it is strictly better than the best baseline, or at least as good as
//!   the submission;
//! - a probe derived from the submission (variance-inflated, log1p, effect ×0.5, effect ×2) is
//!   flagged when it is strictly better than the unmodified submission: a metric that ignores the
//!   manipulation (ties) is the un-gamed outcome, one that rewards it is gamed;
//! - on the ranking metric (the spec's first), any probe beyond the best baseline's 95% CI is
//!   flagged: the task's validity rule, reported rather than hidden;
//! - the noise ceiling is a reference, never flagged.

pub mod closed_loop;
pub mod dose_probe;
pub mod probes;
pub mod rank;

use metrics::Better;
use ndarray::Array2;
use serde::Serialize;
use tasks::scorecard::{AuditSection, BootstrapSettings, ProbeFlag, ProbeScores, ScoreRow};
use tasks::{Model, SplitRule, TaskError, TaskInstance};

use crate::score::{RowInput, score_row, summarize};
use crate::{EvalOptions, families, toward_ceiling};
use arena_models::baselines;

pub const AUDIT_FORMAT: &str = "arena-audit-v1";
pub const AUDIT_FILE: &str = "audit.json";
/// Variance-inflation factor of the variance-inflated probe.
pub const INFLATION: f64 = 3.0;
/// Tolerance for "equal" means: f32 model outputs averaged in f64 agree to ~1e-10 when they
/// agree in exact arithmetic (e.g. the variance-inflated probe), so differences below this are ties.
const EPS: f64 = 1e-8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Submission,
    Baseline,
    /// A probe that knows nothing specific about the submission.
    Probe,
    /// A probe derived from the submission's own output.
    DerivedProbe,
    Ceiling,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditRow {
    pub role: Role,
    pub description: String,
    #[serde(flatten)]
    pub row: ScoreRow,
}

impl AuditRow {
    /// What a scorecard keeps of a probe's row: its means (non-finite ones as missing).
    pub fn probe_scores(&self) -> ProbeScores {
        ProbeScores {
            probe: self.row.name.clone(),
            description: self.description.clone(),
            means: self
                .row
                .metrics
                .iter()
                .map(|m| (m.metric.clone(), Some(m.overall.mean).filter(|v| v.is_finite())))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct EarnedByConstant {
    pub metric: String,
    #[serde(rename = "higher_is_better")]
    pub better: Better,
    pub constant_value: f64,
    pub best_baseline: String,
    pub best_baseline_value: f64,
    /// constant / best (higher-is-better) or best / constant (lower-is-better); 1 = as good.
    pub fraction: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SystematicReport {
    /// cos(t_i − μ_ctrl, μ_pert − μ_ctrl) per test item (null where undefined).
    pub cosines: Vec<(String, Option<f64>)>,
    pub mean_cosine: f64,
    pub median_cosine: f64,
    pub min_cosine: f64,
    pub max_cosine: f64,
    /// ‖μ_pert − μ_ctrl‖: the size of the shared shift.
    pub shared_shift_norm: f64,
    pub earned_by_constant: Vec<EarnedByConstant>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Audit {
    pub format: String,
    pub task: String,
    pub family: String,
    pub task_spec_sha256: String,
    pub dataset: String,
    pub dataset_sha256: String,
    pub split_sha256: String,
    pub submission: String,
    pub primary_metric: String,
    pub n_test: usize,
    pub shuffle_seed: u64,
    /// σ of the shuffled probe: item i was answered with the truth of item `shuffled_from[i]`.
    pub shuffled_from: Vec<String>,
    pub inflation: f64,
    pub bootstrap: BootstrapSettings,
    pub rows: Vec<AuditRow>,
    /// Per metric: (metric, best baseline name, its mean).
    pub best_baseline: Vec<(String, String, f64)>,
    pub flags: Vec<ProbeFlag>,
    pub systematic: SystematicReport,
    pub notes: Vec<String>,
}

impl Audit {
    pub fn row(&self, name: &str) -> Option<&AuditRow> {
        self.rows.iter().find(|r| r.row.name == name)
    }

    /// What a scorecard keeps of the audit: the probes' means, the flags, the notes.
    pub fn section(&self) -> AuditSection {
        let probes = self
            .rows
            .iter()
            .filter(|r| matches!(r.role, Role::Probe | Role::DerivedProbe))
            .map(AuditRow::probe_scores)
            .collect();
        AuditSection {
            submission: self.submission.clone(),
            shuffle_seed: self.shuffle_seed,
            inflation: self.inflation,
            probes,
            flags: self.flags.clone(),
            notes: self.notes.clone(),
            views: Vec::new(),
        }
    }
}

/// What the audit needs of rows scored elsewhere (`arena eval` has scored them already, so the
/// embedded audit scores only the probes).
pub struct Scored<'a> {
    /// The submission: its model (the derived probes manipulate its output) and its row.
    pub model: &'a dyn Model,
    pub row: ScoreRow,
    /// The submission's outputs, recorded in call order while `row` was scored
    /// ([`probes::Tape`]); on single-step tasks the derived probes replay them instead of
    /// running the model again.
    pub outputs: Option<Vec<Array2<f32>>>,
    /// The rows of the spec's baselines, in spec order, named by the baseline.
    pub baselines: Vec<ScoreRow>,
    /// The noise-ceiling row, or why there is none.
    pub ceiling: Result<ScoreRow, crate::ceiling::NoCeiling>,
    /// The derived probes' rows, scored elsewhere ([`derived_probes`] in the shards of
    /// `arena eval --shard`; `model` is then a stand-in that is never run); `None`: score them here.
    pub derived: Option<Vec<ScoreRow>>,
}

/// True for the families the audit supports: every family but inverse design, which ranks
/// candidates rather than predicting cells and has its own probe (training-exclusion, in the
/// notes of its scorecards), and closed-loop design, whose screens have their own probes
/// (`families::closed_loop::audit_section`).
pub fn supports(rule: &SplitRule) -> bool {
    !matches!(rule, SplitRule::InverseDesign { .. } | SplitRule::ClosedLoop { .. })
}

/// True for the families scored by the profile metrics alone (their oracle probes are scored
/// from means directly).
fn profile_family(rule: &SplitRule) -> bool {
    matches!(rule, SplitRule::UnseenSingle { .. } | SplitRule::Combinatorial { .. } | SplitRule::MultiStep { .. })
}

/// The true protein mean of every item on cross-modal tasks (`None` elsewhere).
fn item_protein_means(instance: &TaskInstance<'_>, items: &[tasks::instance::EvalItem<'_>]) -> Option<Vec<Vec<f64>>> {
    if !matches!(instance.spec.spec.split, SplitRule::CrossModal { .. }) {
        return None;
    }
    let protein = &instance.dataset.protein.as_ref()?.values;
    Some(items.iter().map(|i| tasks::dataset::mean_rows(protein, i.rows).to_vec()).collect())
}

fn mean_of(row: &ScoreRow, metric: &str) -> f64 {
    row.metric(metric).map(|m| m.overall.mean).unwrap_or(f64::NAN)
}

/// `a` better than `b` by more than EPS.
fn better(a: f64, b: f64, direction: Better) -> bool {
    direction.orient(a) > direction.orient(b) + EPS
}

/// `v` better than the whole interval `ci` (above its upper bound, or below its lower one).
fn beyond(v: f64, ci: &metrics::Interval, direction: Better) -> bool {
    match direction {
        Better::Higher => v > ci.upper + EPS,
        Better::Lower => v < ci.lower - EPS,
    }
}

/// `a` at least as good as `b` (within EPS).
fn at_least(a: f64, b: f64, direction: Better) -> bool {
    direction.orient(a) >= direction.orient(b) - EPS
}

/// Runs the audit of `submission` on `instance`: scores the submission, the spec's baselines and
/// the ceiling, then the probes ([`audit_scored`]).
pub fn audit(instance: &TaskInstance<'_>, submission: &dyn Model, options: &EvalOptions) -> Result<Audit, TaskError> {
    check_supported(instance, submission.name())?;
    let tape = probes::Tape::record(submission);
    let row = families::score_model(instance, &tape, options)?.row;
    let baselines = instance
        .spec
        .spec
        .baselines
        .iter()
        .map(|name| families::score_model(instance, baselines::fit(name, instance)?.as_ref(), options).map(|s| s.row))
        .collect::<Result<_, _>>()?;
    let scored = Scored {
        model: submission,
        row,
        outputs: tape.into_outputs(),
        baselines,
        ceiling: families::ceiling(instance, options),
        derived: None,
    };
    audit_scored(instance, scored, options)
}

fn check_supported(instance: &TaskInstance<'_>, submission: &str) -> Result<(), TaskError> {
    let spec = &instance.spec.spec;
    if supports(&spec.split) {
        return Ok(());
    }
    Err(TaskError::Model {
        model: submission.to_string(),
        reason: format!(
            "`arena audit` supports every family but inverse design and closed-loop design (their scorecards carry their own probes); task '{}' is a '{}' task",
            spec.id, spec.task
        ),
    })
}

/// The audit of rows already scored: scores the probes beside them and flags the gamed metrics.
/// `arena audit` and the audit section of every `arena eval` scorecard both come from here.
pub fn audit_scored(
    instance: &TaskInstance<'_>,
    scored: Scored<'_>,
    options: &EvalOptions,
) -> Result<Audit, TaskError> {
    let submission = scored.model;
    check_supported(instance, submission.name())?;
    let spec = &instance.spec.spec;
    let bootstrap = &options.bootstrap;
    let score = |m: &dyn Model| families::score_model(instance, m, options).map(|s| s.row);
    let mut notes = Vec::new();
    let mut rows =
        vec![AuditRow { role: Role::Submission, description: "the model under audit".into(), row: scored.row }];
    for (name, mut row) in spec.baselines.iter().zip(scored.baselines) {
        row.name = format!("baseline: {name}");
        rows.push(AuditRow { role: Role::Baseline, description: baselines::describe(name).into(), row });
    }

    // Independent probes. On cross-modal tasks the constant probes collapse the proteins too
    // (the training-control protein mean for every cell).
    let protein_control = match spec.split {
        SplitRule::CrossModal { .. } => {
            tasks::splits::cross_modal::Coupling::fit(instance).ok().map(|c| c.protein_control)
        }
        _ => None,
    };
    let with_protein = |c: probes::Constant| match &protein_control {
        Some(p) => c.with_protein(p),
        None => c,
    };
    let constant =
        with_protein(probes::Constant::new("probe: perturbed-mean", instance.perturbed_mean.as_slice().unwrap_or(&[])));
    rows.push(AuditRow {
        role: Role::Probe,
        description: "the constant μ_pert (mean of the training perturbation centroids) for every cell".into(),
        row: score(&constant)?,
    });
    let control =
        with_protein(probes::Constant::new("probe: control-mean", instance.control_mean.as_slice().unwrap_or(&[])));
    rows.push(AuditRow {
        role: Role::Probe,
        description: "the constant μ_ctrl (mean of the training controls) for every cell: a collapse".into(),
        row: score(&control)?,
    });
    let items = instance.eval_items();
    let truths = instance.truth_means();
    let n = items.len();
    // Every item repeats one action, and no two items share it: a probe can answer by action.
    let by_action = {
        let mut seen = std::collections::HashSet::new();
        items.iter().all(|i| i.actions.iter().all(|a| *a == i.actions[0]) && seen.insert(i.actions[0].clone()))
    };
    let sigma = metrics::systematic::derangement(n, options.shuffle_seed);
    let shuffled_from: Vec<String> = sigma.iter().map(|&j| items[j].label.clone()).collect();
    if n >= 2 {
        let description = format!(
            "ORACLE: item i is answered with the true mean of another test item (seeded derangement, seed {})",
            options.shuffle_seed
        );
        let row = if by_action {
            let protein_means = item_protein_means(instance, &items);
            let mut lookup = probes::Lookup::new(
                "probe: shuffled",
                items.iter().zip(&sigma).map(|(i, &j)| (i.actions[0].clone(), truths[j].clone())).collect(),
            );
            if let Some(p) = &protein_means {
                // Per action its own shuffled protein mean: a Lookup of proteins by action.
                lookup = lookup.with_proteins(
                    items.iter().zip(&sigma).map(|(i, &j)| (i.actions[0].clone(), p[j].clone())).collect(),
                );
            }
            score(&lookup)?
        } else {
            // Multi-step items share actions: score the permuted truths directly.
            let predictions: Vec<Vec<f64>> = sigma.iter().map(|&j| truths[j].clone()).collect();
            score_row(
                instance,
                RowInput {
                    name: "probe: shuffled".into(),
                    kind: tasks::ModelKind::Baseline,
                    model_sha256: String::new(),
                    predictions: &predictions,
                    truths: &truths,
                },
                bootstrap,
            )
        };
        rows.push(AuditRow { role: Role::Probe, description, row });
    } else {
        notes.push("no shuffled probe: the task has a single test item".into());
    }
    // The target's own change and nothing else (oracles on the perturbed genes).
    let perturbed = instance.perturbed_gene_indices();
    for (name, base, description) in [
        (
            "probe: target-only",
            instance.control_mean.as_slice().unwrap_or(&[]),
            "ORACLE: μ_ctrl with each item's perturbed genes set to their true values (the target's own change only)",
        ),
        (
            "probe: perturbed-mean + target",
            instance.perturbed_mean.as_slice().unwrap_or(&[]),
            "ORACLE: μ_pert with each item's perturbed genes set to their true values",
        ),
    ] {
        let predictions = probes::with_true_targets(base, &truths, &perturbed);
        let row = if profile_family(&spec.split) || !by_action {
            let input = RowInput {
                name: name.into(),
                kind: tasks::ModelKind::Baseline,
                model_sha256: String::new(),
                predictions: &predictions,
                truths: &truths,
            };
            score_row(instance, input, bootstrap)
        } else {
            // Families with their own metrics: the oracle answers each item's action.
            let mut lookup =
                probes::Lookup::new(name, items.iter().map(|i| i.actions[0].clone()).zip(predictions).collect());
            if let Some(p) = &protein_control {
                lookup = lookup.with_protein(p);
            }
            score(&lookup)?
        };
        rows.push(AuditRow { role: Role::Probe, description: description.into(), row });
    }

    if let Some(probe) = dose_probe::nearest_dose(instance) {
        rows.push(AuditRow { role: Role::Probe, description: dose_probe::DESCRIPTION.into(), row: score(&probe)? });
    }

    // Probes derived from the submission: scored here, or given (predicted in the shards of
    // `arena eval --shard`, which had the submission's outputs).
    if matches!(spec.split, SplitRule::FewShot { .. }) {
        notes.push(
            "no derived probes on few-shot tasks: they would manipulate the submission as adapted at every shot count, which the audit cannot rebuild".into(),
        );
    } else {
        let derived = match scored.derived {
            Some(rows) => rows,
            None => derived_probes(instance, &items, submission, scored.outputs.as_deref(), score)?,
        };
        for (row, description) in derived.into_iter().zip(derived_descriptions()) {
            rows.push(AuditRow { role: Role::DerivedProbe, description, row });
        }
        let block = instance.start_states().nrows();
        if block < 2 {
            notes.push(format!(
                "the variance-inflated probe is the submission itself here: {block} start state per item, so no cell-to-cell spread to inflate"
            ));
        }
    }
    match scored.ceiling {
        Ok(mut row) => {
            row.name = "noise ceiling".into();
            rows.push(AuditRow {
                role: Role::Ceiling,
                description: "the estimated score of the population mean".into(),
                row,
            })
        }
        Err(reason) => notes.push(reason.to_string()),
    }

    let anchors = rows
        .iter()
        .find(|r| r.role == Role::Ceiling)
        .map(|c| toward_ceiling::anchors(rows.iter().filter(|r| r.role == Role::Baseline).map(|r| &r.row), &c.row));
    for r in &mut rows {
        toward_ceiling::annotate(&mut r.row, anchors.as_deref().unwrap_or_default());
    }

    // Flags.
    let primary = spec.metrics.first().cloned().unwrap_or_default();
    let (best_baseline, flags) = flag_rows(&rows, &primary);
    let metric_list: Vec<(String, Better)> = rows[0].row.metrics.iter().map(|m| (m.metric.clone(), m.better)).collect();

    // Systematic variation.
    let control_mean = instance.control_mean.as_slice().unwrap_or(&[]);
    let perturbed_mean = instance.perturbed_mean.as_slice().unwrap_or(&[]);
    let cos = metrics::systematic::systematic_cosines(&truths, control_mean, perturbed_mean);
    let mut finite: Vec<f64> = cos.iter().copied().filter(|v| v.is_finite()).collect();
    finite.sort_by(f64::total_cmp);
    let median = match finite.len() {
        0 => f64::NAN,
        k if k % 2 == 1 => finite[k / 2],
        k => (finite[k / 2 - 1] + finite[k / 2]) / 2.0,
    };
    let constant_row = &rows.iter().find(|r| r.row.name == "probe: perturbed-mean").map(|r| r.row.clone());
    let earned_by_constant = metric_list
        .iter()
        .filter_map(|(metric, higher)| {
            let (_, name, best) = best_baseline.iter().find(|(m, _, _)| m == metric)?;
            let c = constant_row.as_ref().map(|r| mean_of(r, metric)).unwrap_or(f64::NAN);
            Some(EarnedByConstant {
                metric: metric.clone(),
                better: *higher,
                constant_value: c,
                best_baseline: name.clone(),
                best_baseline_value: *best,
                fraction: metrics::systematic::earned_fraction(c, *best, *higher),
            })
        })
        .collect();
    let systematic = SystematicReport {
        cosines: items.iter().zip(&cos).map(|(i, &c)| (i.label.clone(), Some(c).filter(|v| v.is_finite()))).collect(),
        mean_cosine: if finite.is_empty() { f64::NAN } else { finite.iter().sum::<f64>() / finite.len() as f64 },
        median_cosine: median,
        min_cosine: finite.first().copied().unwrap_or(f64::NAN),
        max_cosine: finite.last().copied().unwrap_or(f64::NAN),
        shared_shift_norm: perturbed_mean.iter().zip(control_mean).map(|(p, c)| (p - c).powi(2)).sum::<f64>().sqrt(),
        earned_by_constant,
    };

    Ok(Audit {
        format: AUDIT_FORMAT.into(),
        task: spec.id.clone(),
        family: spec.task.clone(),
        task_spec_sha256: instance.spec.sha256.clone(),
        dataset: instance.dataset.id.clone(),
        dataset_sha256: instance.dataset.sha256.clone(),
        split_sha256: instance.split_sha256(),
        submission: submission.name().to_string(),
        primary_metric: spec.metrics.first().cloned().unwrap_or_default(),
        n_test: n,
        shuffle_seed: options.shuffle_seed,
        shuffled_from,
        inflation: INFLATION,
        bootstrap: bootstrap.clone(),
        rows,
        best_baseline,
        flags,
        systematic,
        notes,
    })
}

/// What `f` gives for each probe derived from `submission` on `items` (variance-inflated, log1p,
/// effect ×0.5, effect ×2, in the order of [`derived_descriptions`]). Single-step items replay
/// the submission's recorded `outputs` (the same queries in the same order, so no model call);
/// multi-step rollouts (and stability's repeated actions) feed the manipulated states back, so
/// they run the model. `arena eval --shard` calls it on its own items.
pub fn derived_probes<R>(
    instance: &TaskInstance<'_>,
    items: &[tasks::instance::EvalItem<'_>],
    submission: &dyn Model,
    outputs: Option<&[Array2<f32>]>,
    mut f: impl FnMut(&dyn Model) -> Result<R, TaskError>,
) -> Result<Vec<R>, TaskError> {
    let block = instance.start_states().nrows();
    let replayed = outputs.filter(|_| items.iter().all(|i| i.actions.len() == 1));
    let replays = [(); 4].map(|_| replayed.map(|o| probes::Tape::replay(submission, o)));
    let source = |k: usize| -> &dyn Model { replays[k].as_ref().map_or(submission, |r| r as &dyn Model) };
    let inflated = probes::VarianceInflated {
        inner: source(0),
        factor: INFLATION,
        block,
        name: "probe: variance-inflated".into(),
    };
    let log1p = probes::Log1p { inner: source(1), name: "probe: log1p".into() };
    let [half, double] = [(2, 0.5), (3, 2.0)].map(|(k, factor)| probes::Scaled {
        inner: source(k),
        factor,
        name: format!("probe: effect ×{factor}"),
    });
    Ok(vec![f(&inflated)?, f(&log1p)?, f(&half)?, f(&double)?])
}

/// The descriptions of the derived probes, in the order of [`derived_probes`].
fn derived_descriptions() -> [String; 4] {
    [
        format!(
            "the submission with each predicted cell's deviation from its predicted mean ×{INFLATION} (means unchanged)"
        ),
        "log1p of the submission's output (sign-preserving for negative values)".into(),
        "the submission's predicted change from each start cell ×0.5".into(),
        "the submission's predicted change from each start cell ×2".into(),
    ]
}

/// The flags of scored audit rows (the rules in the module documentation) and, per metric, the
/// best baseline with its mean. `primary` is the ranking metric.
pub(crate) fn flag_rows(rows: &[AuditRow], primary: &str) -> (Vec<(String, String, f64)>, Vec<ProbeFlag>) {
    let Some(first) = rows.first() else { return (Vec::new(), Vec::new()) };
    let metric_list: Vec<(String, Better)> = first.row.metrics.iter().map(|m| (m.metric.clone(), m.better)).collect();
    let mut best_baseline = Vec::new();
    let mut flags = Vec::new();
    for (metric, higher) in &metric_list {
        let best = rows
            .iter()
            .filter(|r| r.role == Role::Baseline)
            .map(|r| (r.row.name.clone(), mean_of(&r.row, metric)))
            .filter(|(_, v)| v.is_finite())
            .reduce(|a, b| if better(b.1, a.1, *higher) { b } else { a });
        let sub = mean_of(&rows[0].row, metric);
        let best_ci = best.as_ref().and_then(|(name, _)| {
            let row = &rows.iter().find(|r| r.role == Role::Baseline && &r.row.name == name)?.row;
            Some((name.clone(), row.metric(metric)?.overall))
        });
        if let Some((name, value)) = &best {
            best_baseline.push((metric.clone(), name.trim_start_matches("baseline: ").to_string(), *value));
        }
        for r in rows {
            let v = mean_of(&r.row, metric);
            if !v.is_finite() {
                continue;
            }
            let mut reasons = Vec::new();
            match r.role {
                Role::Probe => {
                    if let Some((name, b)) = best.as_ref().filter(|(_, b)| better(v, *b, *higher)) {
                        reasons.push(format!(
                            "beats the best baseline, {} ({b:.3})",
                            name.trim_start_matches("baseline: ")
                        ));
                    }
                    if sub.is_finite() && at_least(v, sub, *higher) {
                        reasons.push(format!("reaches the submission ({sub:.3})"));
                    }
                }
                Role::DerivedProbe if sub.is_finite() && better(v, sub, *higher) => {
                    reasons.push(format!("beats the unmodified submission ({sub:.3})"));
                }
                _ => {}
            }
            // The validity rule on the ranking metric: no probe beyond the best baseline's CI.
            if matches!(r.role, Role::Probe | Role::DerivedProbe)
                && *metric == primary
                && let Some((name, ci)) = best_ci.as_ref().filter(|(_, ci)| beyond(v, ci, *higher))
            {
                reasons.push(format!(
                    "beyond the best baseline's 95% CI, {} [{:.3}, {:.3}]",
                    name.trim_start_matches("baseline: "),
                    ci.lower,
                    ci.upper
                ));
            }
            if !reasons.is_empty() {
                flags.push(ProbeFlag {
                    metric: metric.clone(),
                    probe: r.row.name.clone(),
                    probe_value: v,
                    reason: reasons.join("; "),
                });
            }
        }
    }
    (best_baseline, flags)
}

/// A row restricted to the items `keep` accepts, every metric re-summarised over them
/// ([`summarize`]: the same interval, without the control redraws of `pearson_delta`).
fn restrict(row: &ScoreRow, keep: &dyn Fn(&str) -> bool, bootstrap: &BootstrapSettings) -> ScoreRow {
    let items: Vec<&tasks::scorecard::PerturbationScore> =
        row.per_perturbation.iter().filter(|p| keep(&p.perturbation)).collect();
    let subgroups: Vec<tasks::Subgroup> = items.iter().map(|p| p.subgroup).collect();
    let metrics = row
        .metrics
        .iter()
        .enumerate()
        .map(|(k, m)| {
            let column: Vec<f64> =
                items.iter().map(|p| p.values.get(k).copied().flatten().unwrap_or(f64::NAN)).collect();
            // Every scorecard metric is catalogued (pinned by the families' tests); an unknown
            // name keeps its direction and gets an unbounded interval.
            let info = metrics::catalog::eval(&m.metric).copied().unwrap_or(metrics::MetricInfo {
                better: Some(m.better),
                interval: metrics::Bounds::Unbounded,
                ..metrics::catalog::PEARSON_DELTA
            });
            tasks::scorecard::MetricSummary {
                metric: m.metric.clone(),
                ..summarize(&info, &column, &subgroups, bootstrap)
            }
        })
        .collect();
    ScoreRow {
        name: row.name.clone(),
        kind: row.kind,
        model_sha256: row.model_sha256.clone(),
        metrics,
        per_perturbation: items.into_iter().cloned().collect(),
    }
}

impl Audit {
    /// The flags on a part of the test items ([`flags_on`]): how many items the part holds, and
    /// its flags.
    pub fn flags_on(&self, keep: &dyn Fn(&str) -> bool, bootstrap: &BootstrapSettings) -> (usize, Vec<ProbeFlag>) {
        flags_on(&self.rows, &self.primary_metric, keep, bootstrap)
    }
}

/// The flags of `rows` on a part of the test items: every row restricted to the items `keep`
/// accepts and re-summarised, then the same rules. A leaderboard computes the flags of each view
/// of its keyed public/private split this way, so that no public flag depends on a private item.
pub fn flags_on(
    rows: &[AuditRow],
    primary: &str,
    keep: &dyn Fn(&str) -> bool,
    bootstrap: &BootstrapSettings,
) -> (usize, Vec<ProbeFlag>) {
    let rows: Vec<AuditRow> = rows
        .iter()
        .map(|r| AuditRow { role: r.role, description: r.description.clone(), row: restrict(&r.row, keep, bootstrap) })
        .collect();
    let n = rows.first().map_or(0, |r| r.row.per_perturbation.len());
    (n, flag_rows(&rows, primary).1)
}

/// The audit as Markdown: the score table (⚠ marks a flagged value), the flags, the systematic
/// variation report.
pub fn render(a: &Audit) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Audit of {} on task {} ({}) on {} [sha256 {}]: {} test items",
        a.submission,
        a.task,
        a.family,
        a.dataset,
        a.dataset_sha256.chars().take(12).collect::<String>(),
        a.n_test
    );
    let _ = writeln!(
        out,
        "Mean over test items [{}% bootstrap CI]; ⚠ = flagged (a probe looks as good as a real model); ↑ higher is better, ↓ lower is better.\n",
        (a.bootstrap.level * 100.0).round()
    );
    let Some(first) = a.rows.first() else { return out };
    let metrics: Vec<(String, Better)> = first.row.metrics.iter().map(|m| (m.metric.clone(), m.better)).collect();
    let mut header = vec!["row".to_string(), "role".to_string()];
    header.extend(metrics.iter().map(|(m, b)| format!("{m} {}", b.arrow())));
    let mut body = Vec::new();
    for r in &a.rows {
        let role = match r.role {
            Role::Submission => "submission",
            Role::Baseline => "baseline",
            Role::Probe => "probe",
            Role::DerivedProbe => "derived probe",
            Role::Ceiling => "ceiling",
        };
        let label = if r.role == Role::Submission { format!("**{}**", r.row.name) } else { r.row.name.clone() };
        let mut line = vec![label, role.to_string()];
        for (m, _) in &metrics {
            let cell = match r.row.metric(m) {
                Some(s) if s.overall.mean.is_finite() => {
                    format!("{:.3} [{:.3}, {:.3}]", s.overall.mean, s.overall.lower, s.overall.upper)
                }
                _ => "n/a".into(),
            };
            let flagged = a.flags.iter().any(|f| &f.metric == m && f.probe == r.row.name);
            line.push(if flagged { format!("⚠ {cell}") } else { cell });
        }
        body.push(line);
    }
    markdown_table(&mut out, &header, &body);
    let _ = writeln!(out, "\nFlags ({}):", a.flags.len());
    if a.flags.is_empty() {
        let _ = writeln!(out, "- none: no probe beats the best baseline or reaches the submission on any metric");
    }
    for f in &a.flags {
        let _ = writeln!(out, "- {}: {} = {:.3} {}", f.metric, f.probe, f.probe_value, f.reason);
    }
    let s = &a.systematic;
    let _ = writeln!(
        out,
        "\nSystematic variation (Systema): cos(t_i − μ_ctrl, μ_pert − μ_ctrl) over {} test items: mean {:.3}, median {:.3}, min {:.3}, max {:.3}; ‖μ_pert − μ_ctrl‖ = {:.3}.",
        s.cosines.len(),
        s.mean_cosine,
        s.median_cosine,
        s.min_cosine,
        s.max_cosine,
        s.shared_shift_norm
    );
    let _ = writeln!(out, "What the constant μ_pert prediction already earns, as a fraction of the best baseline:\n");
    let header: Vec<String> =
        ["metric", "constant μ_pert", "best baseline", "fraction earned"].map(String::from).to_vec();
    let body: Vec<Vec<String>> = s
        .earned_by_constant
        .iter()
        .map(|e| {
            vec![
                format!("{} {}", e.metric, e.better.arrow()),
                format!("{:.3}", e.constant_value),
                format!("{} ({:.3})", e.best_baseline, e.best_baseline_value),
                if e.fraction.is_finite() { format!("{:.2}", e.fraction) } else { "n/a".into() },
            ]
        })
        .collect();
    markdown_table(&mut out, &header, &body);
    let _ = writeln!(
        out,
        "\nProbes: perturbed-mean / control-mean predict a constant; shuffled is an ORACLE (right effects, wrong labels); \
         variance-inflated and log1p manipulate the submission's output. Derived probes are flagged only when they beat the submission."
    );
    for note in &a.notes {
        let _ = writeln!(out, "\nNote: {note}");
    }
    out
}

fn markdown_table(out: &mut String, headers: &[String], body: &[Vec<String>]) {
    use std::fmt::Write;
    let widths: Vec<usize> = (0..headers.len())
        .map(|i| body.iter().map(|r| r[i].chars().count()).chain([headers[i].chars().count()]).max().unwrap_or(0))
        .collect();
    let line = |cells: &[String]| {
        let padded: Vec<String> =
            cells.iter().zip(&widths).map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count()))).collect();
        format!("| {} |", padded.join(" | "))
    };
    let _ = writeln!(out, "{}", line(headers));
    let _ = writeln!(out, "|{}|", widths.iter().map(|w| "-".repeat(w + 2)).collect::<Vec<_>>().join("|"));
    for r in body {
        let _ = writeln!(out, "{}", line(r));
    }
}

/// Writes `audit.json` into `dir` (atomically, through [`arena_data::output`]).
pub fn write(audit: &Audit, dir: &std::path::Path) -> Result<std::path::PathBuf, arena_data::DataError> {
    let path = dir.join(AUDIT_FILE);
    let json = serde_json::to_vec_pretty(audit)
        .map_err(|e| arena_data::DataError::Other(format!("encoding {}: {e}", path.display())))?;
    arena_data::output::write_atomic(&path, &json)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tasks::scorecard::{MetricSummary, PerturbationScore};

    /// A row on items pub0..pub9 and priv0..priv9 whose metric `m` is `public` on the first ten
    /// and `private` on the rest.
    fn row(name: &str, role: Role, public: f64, private: f64) -> AuditRow {
        let items = (0..10).map(|i| (format!("pub{i}"), public)).chain((0..10).map(|i| (format!("priv{i}"), private)));
        let per_perturbation = items
            .map(|(label, v)| PerturbationScore {
                perturbation: label,
                subgroup: tasks::Subgroup::UnseenSingle,
                n_truth: 5,
                values: vec![Some(v + 0.001 * (name.len() % 3) as f64)],
            })
            .collect();
        let nan = metrics::Interval { mean: f64::NAN, lower: f64::NAN, upper: f64::NAN, n: 0, n_undefined: 0 };
        AuditRow {
            role,
            description: String::new(),
            row: ScoreRow {
                name: name.into(),
                kind: tasks::ModelKind::Baseline,
                model_sha256: String::new(),
                metrics: vec![MetricSummary {
                    metric: "m".into(),
                    better: Better::Higher,
                    overall: nan,
                    by_subgroup: Vec::new(),
                    toward_ceiling: None,
                }],
                per_perturbation,
            },
        }
    }

    #[test]
    fn flags_on_a_part_of_the_items_depend_on_those_items_only() {
        // The probe beats the baseline (and reaches the submission) on the private items only.
        let rows = vec![
            row("model", Role::Submission, 0.6, 0.6),
            row("baseline: b", Role::Baseline, 0.5, 0.5),
            row("probe: p", Role::Probe, 0.1, 0.9),
        ];
        let boot = BootstrapSettings { resamples: 200, level: 0.95, seed: 1 };
        let public = |l: &str| l.starts_with("pub");
        let private = |l: &str| l.starts_with("priv");
        let (n, flags) = flags_on(&rows, "m", &public, &boot);
        assert_eq!(n, 10);
        assert!(flags.is_empty(), "on the public items the probe is far behind: {flags:?}");
        let (n, flags) = flags_on(&rows, "m", &private, &boot);
        assert_eq!(n, 10);
        assert_eq!(flags.len(), 1, "{flags:?}");
        assert_eq!((flags[0].probe.as_str(), flags[0].metric.as_str()), ("probe: p", "m"));
        assert!((flags[0].probe_value - 0.9).abs() < 0.01, "{}", flags[0].probe_value);
        assert!(
            flags[0].reason.contains("beats the best baseline") && flags[0].reason.contains("reaches the submission")
        );
        // Over every item the probe's mean (0.5) ties the baseline and stays below the model.
        let (n, flags) = flags_on(&rows, "m", &|_| true, &boot);
        assert_eq!(n, 20);
        assert!(flags.is_empty(), "{flags:?}");
    }
}
