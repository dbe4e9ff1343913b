//! Queries on the leaderboard views written by `crate::board` at write time: each row's scores
//! per view (`row_scores`) and each task's ranked board per view (`boards`).

use super::records::{SUBMISSION_COLUMNS, submission_from_row};
use super::value::vals;
use super::{Db, DbResult, SubmissionRow, now};

/// The advisory lock of board writes on Postgres (SQLite's write lock serves on SQLite).
const BOARD_LOCK: i64 = 0x0a7e_b0a7d;

/// A stored board: its JSON, its rank inputs JSON (absent on boards written before they were
/// stored) and its revision.
#[derive(Debug, Clone)]
pub struct BoardState {
    pub board: String,
    pub ranks: Option<String>,
    pub revision: i64,
}

/// `submission_id` NULL (the task's reference rows) matches as 0, as in the unique index.
const ROW_KEY: &str = "task_id = $1 AND COALESCE(submission_id, 0) = COALESCE(CAST($2 AS BIGINT), 0) AND view = $3";

impl Db {
    /// Stores scores for one view: a submission's model row, or (`submission_id` None) the
    /// task's reference rows.
    pub fn set_row_scores(&self, task_id: &str, submission_id: Option<i64>, view: &str, json: &str) -> DbResult<()> {
        self.backend.transaction(|s| {
            s.execute(&format!("DELETE FROM row_scores WHERE {ROW_KEY}"), vals![task_id, submission_id, view])?;
            s.execute(
                "INSERT INTO row_scores (task_id, submission_id, view, json) VALUES ($1, $2, $3, $4)",
                vals![task_id, submission_id, view, json],
            )?;
            Ok(())
        })
    }

    /// A submission's scores in `view`, or (`submission_id` None) the task's reference rows.
    pub fn row_scores(&self, task_id: &str, submission_id: Option<i64>, view: &str) -> DbResult<Option<String>> {
        let row = self.backend.with(|s| {
            s.query_opt(&format!("SELECT json FROM row_scores WHERE {ROW_KEY}"), vals![task_id, submission_id, view])
        })?;
        row.map(|mut r| r.text(0)).transpose()
    }

    /// Every ranked submission of a task (without its scorecard) with its scores JSON in `view`:
    /// the scored ones, and a running job whose row is stored (the queue ranks it before it
    /// flips the status to scored).
    pub fn task_row_scores(&self, task_id: &str, view: &str) -> DbResult<Vec<(SubmissionRow, String)>> {
        let cols = SUBMISSION_COLUMNS.split(", ").map(|c| format!("s.{c}")).collect::<Vec<_>>().join(", ");
        let rows = self.backend.with(|s| {
            s.query(
                &format!(
                    "SELECT {cols}, r.json FROM submissions s JOIN row_scores r ON r.submission_id = s.id
                     WHERE s.task_id = $1 AND s.status IN ('scored', 'running') AND r.view = $2 ORDER BY s.id"
                ),
                vals![task_id, view],
            )
        })?;
        rows.into_iter()
            .map(|mut r| {
                let mut s = submission_from_row(&mut r)?;
                s.scorecard = None;
                Ok((s, r.text(15)?))
            })
            .collect()
    }

    /// Scored submissions without stored view scores (scored before migration 2).
    pub fn submissions_without_scores(&self) -> DbResult<Vec<i64>> {
        let rows = self.backend.with(|s| {
            s.query(
                "SELECT id FROM submissions s WHERE status = 'scored'
                 AND NOT EXISTS (SELECT 1 FROM row_scores r WHERE r.submission_id = s.id) ORDER BY id",
                vals![],
            )
        })?;
        rows.into_iter().map(|mut r| r.int(0)).collect()
    }

    /// Stores a board without rank inputs (the next [`crate::board::add_row`] then rebuilds it).
    pub fn set_board(&self, task_id: &str, view: &str, json: &str) -> DbResult<()> {
        self.backend.with(|s| {
            s.execute(
                "INSERT INTO boards (task_id, view, json, updated, ranks, revision) VALUES ($1, $2, $3, $4, NULL, 1)
                 ON CONFLICT(task_id, view) DO UPDATE SET json=excluded.json, updated=excluded.updated,
                 ranks=NULL, revision=boards.revision + 1",
                vals![task_id, view, json, now()],
            )
        })?;
        self.bump();
        Ok(())
    }

    /// A task's stored board in `view` with its rank inputs and revision (each write adds 1).
    pub fn board_state(&self, task_id: &str, view: &str) -> DbResult<Option<BoardState>> {
        let row = self.backend.with(|s| {
            s.query_opt(
                "SELECT json, ranks, revision FROM boards WHERE task_id = $1 AND view = $2",
                vals![task_id, view],
            )
        })?;
        row.map(|mut r| Ok(BoardState { board: r.text(0)?, ranks: r.opt_text(1)?, revision: r.int(2)? })).transpose()
    }

    /// Stores a board and its rank inputs if the stored revision is still `expected` (`None`: no
    /// board stored yet), in one exclusive transaction; `false` when another writer came first.
    pub fn swap_board(
        &self,
        task_id: &str,
        view: &str,
        expected: Option<i64>,
        json: &str,
        ranks: &str,
    ) -> DbResult<bool> {
        let swapped = self.backend.exclusive_transaction(BOARD_LOCK, |s| {
            let current = s
                .query_opt("SELECT revision FROM boards WHERE task_id = $1 AND view = $2", vals![task_id, view])?
                .map(|mut r| r.int(0))
                .transpose()?;
            if current != expected {
                return Ok(false);
            }
            s.execute(
                "INSERT INTO boards (task_id, view, json, updated, ranks, revision) VALUES ($1, $2, $3, $4, $5, 1)
                 ON CONFLICT(task_id, view) DO UPDATE SET json=excluded.json, updated=excluded.updated,
                 ranks=excluded.ranks, revision=boards.revision + 1",
                vals![task_id, view, json, now(), ranks],
            )?;
            Ok(true)
        })?;
        if swapped {
            self.bump();
        }
        Ok(swapped)
    }

    pub fn board(&self, task_id: &str, view: &str) -> DbResult<Option<String>> {
        let row = self
            .backend
            .with(|s| s.query_opt("SELECT json FROM boards WHERE task_id = $1 AND view = $2", vals![task_id, view]))?;
        row.map(|mut r| r.text(0)).transpose()
    }
}
