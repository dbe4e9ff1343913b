//! The closed-loop family ("which experiments reach the goal?"): the model guides a screen of an
//! untested library on a laboratory, round by round ([`screen::model_screen`]), and is scored by
//! how many hits of a hidden target region the screen finds ([`metrics::discovery`]). The
//! library, its truth, the goal and the hits are in [`library`]; the screens in [`screen`].
//!
//! Every row screens the same library: the model under test and each baseline through the
//! arena's model-based selection; the ceiling is the oracle screen (every hit first); the probes
//! (random screening, seeded by the shuffle seed, and the guide baseline's strongest predicted
//! effects, [`probe_rows`]) are in the scorecard's audit section (`audit::closed_loop`). `enrichment_vs_baseline` of
//! every row is against the screen guided by the spec's `guide_baseline`. Items are the hits:
//! each row's per-item values are each hit's share of the metric ([`metrics::discovery::per_hit`]),
//! and its intervals a percentile bootstrap over the hits, paired with the guided screen.

pub mod library;
pub mod screen;

use metrics::discovery::{DISCOVERY_METRICS, ScreenDesign, expected_random_curve, oracle_curve};
use tasks::scorecard::{BootstrapSettings, MetricSummary, PerturbationScore, ScoreRow};
use tasks::{Model, ModelKind, Subgroup, TaskError, TaskInstance};

use super::ScoredModel;
use crate::EvalOptions;
use arena_models::baselines;
pub use library::{Library, library};
use screen::{Rank, fixed_screen, model_screen, oracle_order, random_order};

/// The round each hit is found in by the screen the spec's guide baseline steers (run once).
pub fn guide_found(instance: &TaskInstance<'_>, lib: &Library) -> Result<Vec<Option<usize>>, TaskError> {
    if let Some(found) = lib.guide.lock().unwrap_or_else(|p| p.into_inner()).clone() {
        return Ok(found);
    }
    let guide = library::settings(instance)?.guide;
    let model = baselines::fit(&guide, instance)?;
    let found = model_screen(instance, lib, model.as_ref(), Rank::Goal)?.found(lib);
    *lib.guide.lock().unwrap_or_else(|p| p.into_inner()) = Some(found.clone());
    Ok(found)
}

pub fn score_model(
    instance: &TaskInstance<'_>,
    model: &dyn Model,
    bootstrap: &BootstrapSettings,
) -> Result<ScoredModel, TaskError> {
    let lib = library(instance)?;
    let screen = model_screen(instance, &lib, model, Rank::Goal)?;
    let found = screen.found(&lib);
    let guide = guide_found(instance, &lib)?;
    let row =
        discovery_row(instance, &lib, (model.name(), model.kind(), model.fingerprint()), &found, &guide, bootstrap);
    Ok(ScoredModel { row, rows_per_second: screen.rows_per_second })
}

/// The oracle screen: it picks a hit whenever one is left.
pub fn ceiling(
    instance: &TaskInstance<'_>,
    bootstrap: &BootstrapSettings,
) -> Result<ScoreRow, crate::ceiling::NoCeiling> {
    let lib = library(instance).map_err(|e| e.to_string())?;
    let guide = guide_found(instance, &lib).map_err(|e| e.to_string())?;
    let found = fixed_screen(&lib, &oracle_order(&lib)).found(&lib);
    Ok(discovery_row(instance, &lib, ("oracle-screen", ModelKind::Ceiling, String::new()), &found, &guide, bootstrap))
}

/// The probes' rows with their descriptions: random screening (seed `seed`) and the screen
/// guided by the guide baseline's strongest predicted effects.
pub fn probe_rows(instance: &TaskInstance<'_>, options: &EvalOptions) -> Result<Vec<(ScoreRow, String)>, TaskError> {
    let lib = library(instance)?;
    let guide = guide_found(instance, &lib)?;
    let bootstrap = &options.bootstrap;
    let seed = options.shuffle_seed;
    let random = fixed_screen(&lib, &random_order(&lib, seed)).found(&lib);
    let name = library::settings(instance)?.guide;
    let strongest = model_screen(instance, &lib, baselines::fit(&name, instance)?.as_ref(), Rank::StrongestEffect)?;
    let kind = ModelKind::Baseline;
    Ok(vec![
        (
            discovery_row(instance, &lib, ("probe: random-screen", kind, String::new()), &random, &guide, bootstrap),
            format!("random screening: the library in a seeded random order (seed {seed}), B per round"),
        ),
        (
            discovery_row(
                instance,
                &lib,
                ("probe: strongest-effects", kind, String::new()),
                &strongest.found(&lib),
                &guide,
                bootstrap,
            ),
            format!("picks the largest effects {name} predicts (distance to the control mean), ignoring the goal"),
        ),
    ])
}

/// The scorecard's notes: the library, the hits, the curves of the oracle and of random
/// screening (its hypergeometric expectation), what the intervals resample.
pub fn notes(instance: &TaskInstance<'_>) -> Result<Vec<String>, TaskError> {
    let lib = library(instance)?;
    let d: ScreenDesign = lib.design;
    let h = lib.hits.len();
    let round = |v: Vec<f64>| v.iter().map(|x| format!("{x:.2}")).collect::<Vec<_>>().join(", ");
    Ok(vec![
        format!(
            "closed loop: {} candidates, {h} hits (closest to the goal state of {}), {} rounds of {}; the truth of each candidate is the mean of {} cells",
            d.n_candidates, lib.candidates[lib.goal], d.rounds, d.batch, lib.truth_cells
        ),
        format!(
            "discovery curves (hits after each round): oracle [{}]; random screening expects [{}] (hypergeometric, picks·H/N)",
            oracle_curve(h, d).iter().map(usize::to_string).collect::<Vec<_>>().join(", "),
            round(expected_random_curve(h, d))
        ),
    ])
}

/// What a closed-loop scorecard's intervals resample, in words.
pub fn resampling_note(instance: &TaskInstance<'_>, bootstrap: &BootstrapSettings) -> String {
    let hits = library(instance).map(|l| l.hits.len()).unwrap_or(0);
    format!(
        "percentile bootstrap over the {hits} hits ({} resamples, seed {}): each replicate draws the hits with replacement and recomputes every metric; enrichment_vs_baseline resamples the guided screen's hits with the same draw (paired). The picks are not redrawn",
        bootstrap.resamples, bootstrap.seed
    )
}

/// A row from the round each hit was found in.
fn discovery_row(
    instance: &TaskInstance<'_>,
    lib: &Library,
    (name, kind, model_sha256): (&str, ModelKind, String),
    found: &[Option<usize>],
    guide: &[Option<usize>],
    bootstrap: &BootstrapSettings,
) -> ScoreRow {
    let wanted: Vec<&metrics::MetricInfo> = instance
        .spec
        .spec
        .metrics
        .iter()
        .filter_map(|m| DISCOVERY_METRICS.iter().find(|d| d.name == m).copied())
        .collect();
    let names: Vec<&str> = wanted.iter().map(|m| m.name).collect();
    let (b, level, seed) = (bootstrap.resamples, bootstrap.level, bootstrap.seed);
    let intervals = metrics::discovery::intervals(&names, found, Some(guide), lib.design, b, level, seed);
    let metrics = wanted
        .iter()
        .zip(intervals)
        .map(|(m, overall)| MetricSummary {
            metric: m.name.to_string(),
            better: m.direction(),
            overall,
            by_subgroup: Vec::new(),
            toward_ceiling: None,
        })
        .collect();
    let per_hit: Vec<Vec<f64>> =
        names.iter().map(|n| metrics::discovery::per_hit(n, found, Some(guide), lib.design)).collect();
    let train_genes: std::collections::BTreeSet<&str> = instance.split.train_genes.iter().map(String::as_str).collect();
    let per_perturbation = lib
        .hits
        .iter()
        .enumerate()
        .map(|(i, &k)| {
            let p = &lib.candidates[k];
            let subgroup = match (p.order(), p.genes().filter(|g| train_genes.contains(g)).count()) {
                (1, _) => Subgroup::UnseenSingle,
                (_, 0) => Subgroup::ComboSeen0,
                (_, 1) => Subgroup::ComboSeen1,
                _ => Subgroup::ComboSeen2,
            };
            PerturbationScore {
                perturbation: p.label(),
                subgroup,
                n_truth: lib.truth_cells,
                values: per_hit.iter().map(|v| Some(v[i]).filter(|x| x.is_finite())).collect(),
            }
        })
        .collect();
    ScoreRow { name: name.to_string(), kind, model_sha256, metrics, per_perturbation }
}
