//! Throwaway Postgres schemas for tests (this crate's and the workspace's tests/): each
//! [`ScratchSchema`] is a uniquely named schema on the server named by `ARENA_TEST_POSTGRES`
//! (default [`DEFAULT_TEST_URL`], the server scripts/setup.sh starts), selected through the
//! URL's `search_path` option and dropped on drop, so tests run in parallel on one database.

use super::session::Session;
use super::url::redact;
use super::{DatabaseUrl, DbResult, pg};

/// The test server scripts/setup.sh creates: role `arena`, password `arena`, database `arena_test`.
pub const DEFAULT_TEST_URL: &str = "postgres://arena:arena@127.0.0.1:5432/arena_test";

/// `ARENA_TEST_POSTGRES`, or [`DEFAULT_TEST_URL`].
pub fn test_server_url() -> String {
    std::env::var("ARENA_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_TEST_URL.to_string())
}

pub struct ScratchSchema {
    server: String,
    name: String,
    url: DatabaseUrl,
}

impl ScratchSchema {
    /// Creates an empty schema on the test server; the error says how to get a server.
    pub fn create() -> DbResult<Self> {
        let server = test_server_url();
        let name = format!("arena_test_{}_{}", std::process::id(), crate::auth::random_hex(8)?);
        run(&server, &format!("CREATE SCHEMA {name}")).map_err(|e| {
            format!(
                "{e}\nThe Postgres tests need the server named by ARENA_TEST_POSTGRES (default {}): run scripts/setup.sh.",
                redact(DEFAULT_TEST_URL)
            )
        })?;
        let separator = if server.contains('?') { '&' } else { '?' };
        let url = DatabaseUrl::Postgres(format!("{server}{separator}options=-c%20search_path%3D{name}"));
        Ok(ScratchSchema { server, name, url })
    }

    /// The test server's URL with this schema as the search path.
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for ScratchSchema {
    fn drop(&mut self) {
        let _ = run(&self.server, &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}

fn run(server: &str, sql: &str) -> DbResult<()> {
    let mut session = pg::Postgres::connect(server, &redact(server))?;
    Ok(session.batch(sql)?)
}
