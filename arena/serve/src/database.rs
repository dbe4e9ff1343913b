//! Opening the leaderboard's database (`arena serve --database`, `arena publish`): SQLite or
//! Postgres, migrated, with the task specs stored.

use leaderboard::Db;

use crate::error::ServeError;

/// The database `arena serve` and `arena publish` use when none is given.
pub const DEFAULT_DATABASE: &str = "sqlite:arena-leaderboard/arena.sqlite";

/// Opens `url` (SQLite or Postgres), runs its migrations and stores the task specs.
pub fn open_db(url: &str) -> Result<Db, ServeError> {
    let url = leaderboard::db::parse_database_url(url).map_err(ServeError::from)?;
    let db = Db::connect(&url)?;
    leaderboard::sync_tasks(&db)?;
    Ok(db)
}
