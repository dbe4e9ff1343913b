//! Writing to the boards outside an upload: the task specs (`sync_tasks`), a task's reference
//! rows scored on this server (`store_reference`), and scorecards computed elsewhere
//! (`publish_scorecard`, `import_scorecard`).

use crate::db::LbError;
use tasks::scorecard::Scorecard;

use crate::db::{self, Db};
use crate::{board, card};

/// Stores every embedded task spec in the `tasks` table (insert or update).
pub fn sync_tasks(db: &Db) -> Result<usize, LbError> {
    let specs = tasks::embedded_specs().map_err(|e| e.to_string())?;
    for s in &specs {
        db.upsert_task(&db::TaskRow {
            id: s.spec.id.clone(),
            family: s.spec.task.clone(),
            dataset: s.spec.dataset.clone(),
            title: s.spec.title.clone(),
            description: s.spec.description.clone(),
            metrics: s.spec.metrics.clone(),
            spec_sha256: s.sha256.clone(),
            revealed: false,
        })?;
    }
    Ok(specs.len())
}

/// Stores a scorecard computed on this server as its task's reference (baseline rows + ceiling).
pub fn store_reference(db: &Db, card: &Scorecard, source: &str) -> Result<(), LbError> {
    let json = serde_json::to_string(card).map_err(|e| e.to_string())?;
    if db.task(&card.task.id)?.is_none() {
        return Err(format!("unknown task '{}'", card.task.id).into());
    }
    db.set_reference(&card.task.id, &json, source)?;
    board::record_reference(db, &card::CardView::of(card), source)?;
    board::rebuild(db, &card.task.id)
}

/// Imports a scorecard computed elsewhere (`arena publish`), marked self-reported, and rebuilds
/// its task's board. Returns the submission id. The task must exist here with the same spec hash.
pub fn publish_scorecard(db: &Db, json: &str, name: Option<&str>, description: &str) -> Result<i64, LbError> {
    let (id, task) = import_scorecard(db, json, name, description)?;
    board::rebuild(db, &task)?;
    Ok(id)
}

/// [`publish_scorecard`] without the board rebuild (for importing many at once, then calling
/// [`board::rebuild`] once per task). Returns the submission id and the task id.
pub fn import_scorecard(db: &Db, json: &str, name: Option<&str>, description: &str) -> Result<(i64, String), LbError> {
    let card = card::CardView::parse(json)?;
    let task = db
        .task(&card.task.id)?
        .ok_or_else(|| format!("task '{}' is not on this leaderboard (see `arena tasks`)", card.task.id))?;
    if !card.task.spec_sha256.is_empty() && card.task.spec_sha256 != task.spec_sha256 {
        return Err(format!(
            "the scorecard was computed with another version of task '{}' (spec sha256 {} here, {} in the file)",
            task.id, task.spec_sha256, card.task.spec_sha256
        )
        .into());
    }
    let row = card.model_row().ok_or_else(|| {
        "the scorecard has no model row (a baselines-only run); publish a run with a model (`arena eval MODEL`, `--predictions`, `--baseline`)".to_string()
    })?;
    let name = name.map(str::to_string).unwrap_or_else(|| row.name.clone());
    let id = db.insert_submission(&db::NewSubmission {
        task_id: &task.id,
        name: &name,
        description,
        kind: &row.kind,
        source: "self-reported",
        token_id: None,
        scorecard: Some(json),
        upload_name: None,
        upload_bytes: None,
        receipt_sha256: None,
    })?;
    board::record_submission(db, id, &card)?;
    Ok((id, task.id))
}
