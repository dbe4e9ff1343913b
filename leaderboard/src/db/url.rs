//! `--database` URLs: `sqlite:PATH` (or a plain path) and `postgres://USER:PASSWORD@HOST:PORT/DB`.
//! A URL is shown (errors, logs) only with its password replaced by `***`.

use std::fmt;
use std::path::PathBuf;

use super::DbResult;

/// Where the leaderboard's data lives.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// An SQLite file (created with its migrations if missing).
    Sqlite(PathBuf),
    /// A Postgres server: the full `postgres://` URL, password included; never printed as is.
    Postgres(String),
}

/// Shows the URL without its password.
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            DatabaseUrl::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

const ACCEPTED: &str = "sqlite:PATH (or a plain file path) or postgres://USER:PASSWORD@HOST:PORT/DATABASE";

/// `sqlite:PATH`, `sqlite://PATH` or a plain path -> SQLite; `postgres://` or `postgresql://`
/// -> Postgres. Other schemes are refused, naming the accepted ones.
pub fn parse_database_url(url: &str) -> DbResult<DatabaseUrl> {
    if let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        if rest.is_empty() {
            return Err(format!("--database {url}: expected sqlite:PATH").into());
        }
        return Ok(DatabaseUrl::Sqlite(PathBuf::from(rest)));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(DatabaseUrl::Postgres(url.to_string()));
    }
    if url.contains("://") {
        return Err(format!("--database {}: unsupported scheme; use {ACCEPTED}", redact(url)).into());
    }
    Ok(DatabaseUrl::Sqlite(PathBuf::from(url)))
}

/// The URL with the password of its user-info part and any `password=` parameter as `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    // The user info ends at the last '@' (an unencoded '@' in a password stays hidden too).
    let rest = match rest.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{user_info}@{host}"),
        },
        None => rest.to_string(),
    };
    let rest = match rest.split_once('?') {
        Some((path, query)) => {
            let query: Vec<&str> =
                query.split('&').map(|kv| if kv.starts_with("password=") { "password=***" } else { kv }).collect();
            format!("{path}?{}", query.join("&"))
        }
        None => rest,
    };
    format!("{scheme}://{rest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_backend_and_other_schemes_are_refused() {
        let sqlite = |p: &str| DatabaseUrl::Sqlite(PathBuf::from(p));
        assert_eq!(parse_database_url("sqlite:/tmp/a.db").unwrap(), sqlite("/tmp/a.db"));
        assert_eq!(parse_database_url("sqlite://rel/a.db").unwrap(), sqlite("rel/a.db"));
        assert_eq!(parse_database_url("a.db").unwrap(), sqlite("a.db"));
        let pg = "postgres://arena:s3cret@127.0.0.1:5432/arena_test";
        assert_eq!(parse_database_url(pg).unwrap(), DatabaseUrl::Postgres(pg.into()));
        assert!(matches!(parse_database_url("postgresql://h/db").unwrap(), DatabaseUrl::Postgres(_)));
        let e = parse_database_url("mysql://root:hunter2@h/db").unwrap_err();
        assert!(e.contains("unsupported scheme") && e.contains("sqlite:PATH") && e.contains("postgres://"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn passwords_are_never_shown() {
        let url = DatabaseUrl::Postgres("postgres://arena:s3cret@127.0.0.1:5432/arena_test".into());
        assert_eq!(url.to_string(), "postgres://arena:***@127.0.0.1:5432/arena_test");
        assert_eq!(format!("{url:?}"), url.to_string());
        assert_eq!(redact("postgres://a:p@ss@h/db"), "postgres://a:***@h/db");
        assert_eq!(
            redact("postgres://h/db?user=a&password=p&sslmode=disable"),
            "postgres://h/db?user=a&password=***&sslmode=disable"
        );
        assert_eq!(redact("postgres://arena@h/db"), "postgres://arena@h/db");
        assert_eq!(redact("postgres://h:5432/db"), "postgres://h:5432/db");
    }
}
