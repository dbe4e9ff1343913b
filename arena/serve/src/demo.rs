//! The demo (`arena serve --demo`): every task's board seeded with the default suite's
//! scorecards (the reference world model with its bundled weights, the baselines, the ceiling),
//! on a background thread while the server already answers.

use std::sync::Arc;

use leaderboard::{AppState, Db};

use arena_data::Registry;
use arena_eval::EvalOptions;
use arena_eval::suite;
use arena_sim::load::LoadOptions;

use crate::error::ServeError;

/// Stores the scorecard of every task of the default suite (the reference world model with its
/// bundled weights, the baselines and the ceiling) as the task's reference rows. A binary run away
/// from its checkout has no bundled weights: the demo then seeds the baselines only, with a note.
pub fn seed_demo(db: &Db, registry: &Registry, load: &LoadOptions, options: &EvalOptions) -> Result<usize, ServeError> {
    let tmp = tempfile::tempdir().map_err(|e| ServeError::io(&std::env::temp_dir(), e))?;
    let missing: Vec<String> = tasks::embedded_specs()?
        .into_iter()
        .filter(|s| arena_models::reference::supports(&s.spec.split))
        .map(|s| s.spec.id)
        .filter(|t| !arena_models::reference::bundled_weights(t).is_file())
        .collect();
    let (under_test, source) = if missing.is_empty() {
        (suite::SuiteModel::Reference, "demo (arena eval --suite default --reference)")
    } else {
        eprintln!(
            "demo: no bundled reference weights for {} (looked in {}); seeding the baselines only",
            missing.join(", "),
            arena_models::reference::bundled_dir("<task>").display()
        );
        (suite::SuiteModel::None, "demo (arena eval --suite default)")
    };
    let cards = suite::run_suite("default", under_test, registry, load, options, tmp.path())?;
    for card in &cards {
        leaderboard::store_reference(db, card, source)?;
    }
    Ok(cards.len())
}

/// Seeds the demo on a background thread while the server already answers; the home page shows
/// a notice until it is done (or says why it failed).
pub fn start_demo_seeding(state: Arc<AppState>, registry: Registry, load: LoadOptions, options: EvalOptions) {
    state.set_notice(Some(
        "The demo is being seeded: the reference model, the baselines and the noise ceiling of every task are being \
         scored (about a minute); the boards fill in when it is done. Reload to see them."
            .into(),
    ));
    eprintln!(
        "demo: scoring the reference model and the baselines of every task (arena eval --suite default --reference) in the background ..."
    );
    let spawned = std::thread::Builder::new().name("arena-demo-seed".into()).spawn(move || {
        match seed_demo(&state.db, &registry, &load, &options) {
            Ok(n) => {
                eprintln!("demo: {n} tasks seeded");
                state.set_notice(None);
            }
            Err(e) => {
                eprintln!("demo: seeding failed: {e}");
                state.set_notice(Some(format!("Seeding the demo failed: {e}")));
            }
        }
    });
    if let Err(e) = spawned {
        eprintln!("demo: could not start seeding: {e}");
    }
}
