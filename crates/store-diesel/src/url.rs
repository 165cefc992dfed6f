//! Reading a database URL: the one parser of the workspace, used by [`crate::Database`] to
//! open the database and by the app's config to validate `database.url` before anything
//! connects. The scheme alone picks the backend: never "try each backend in turn", because
//! SQLite will happily open almost any string as a file name. Error messages name the
//! scheme at most, never the URL, which may carry a password.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::{Backend, DbError};

/// Where a database URL points, by backend.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    /// A libpq connection URI, passed on as given.
    Postgres(String),
    /// A database file (relative to the working directory unless absolute).
    SqliteFile(PathBuf),
    /// A private in-memory database, gone when its one connection closes.
    SqliteMemory,
}

impl DatabaseTarget {
    pub fn backend(&self) -> Backend {
        match self {
            DatabaseTarget::Postgres(_) => Backend::Postgres,
            DatabaseTarget::SqliteFile(_) | DatabaseTarget::SqliteMemory => Backend::Sqlite,
        }
    }

    /// `"postgres"` or `"sqlite"`, as [`Backend::as_str`] spells it.
    pub fn backend_name(&self) -> &'static str {
        self.backend().as_str()
    }
}

impl fmt::Debug for DatabaseTarget {
    /// Never the Postgres URL: it may carry a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseTarget::Postgres(_) => f.write_str("Postgres(<redacted>)"),
            DatabaseTarget::SqliteFile(path) => f.debug_tuple("SqliteFile").field(path).finish(),
            DatabaseTarget::SqliteMemory => f.write_str("SqliteMemory"),
        }
    }
}

const EXPECTED: &str = "expected postgres://, postgresql://, sqlite://relative/path.db, \
                        sqlite:///absolute/path.db or sqlite::memory:";

/// Reads a database URL: `postgres://` or `postgresql://` (a libpq URI, checked for its
/// shape and port numbers), `sqlite://relative/path.db`, `sqlite:///absolute/path.db`, or
/// `sqlite::memory:` (also `sqlite://:memory:`). The scheme is case-insensitive; anything
/// else is `InvalidUrl`, with a message that never repeats the URL.
pub fn parse_database_url(url: &str) -> Result<DatabaseTarget, DbError> {
    let url = url.trim();
    if url.is_empty() {
        return Err(DbError::InvalidUrl(format!(
            "database URL is empty; {EXPECTED}"
        )));
    }
    if url.chars().any(char::is_control) {
        return Err(DbError::InvalidUrl(
            "database URL contains control characters".into(),
        ));
    }
    let Some((scheme, rest)) = url.split_once(':') else {
        return Err(DbError::InvalidUrl(format!(
            "database URL has no scheme; {EXPECTED}"
        )));
    };
    match scheme.to_ascii_lowercase().as_str() {
        "postgres" | "postgresql" => parse_postgres(url, rest),
        "sqlite" => parse_sqlite(rest),
        other
            if other
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            Err(DbError::InvalidUrl(format!(
                "unsupported database URL scheme `{other}`; {EXPECTED}"
            )))
        }
        _ => Err(DbError::InvalidUrl(format!(
            "database URL has no valid scheme; {EXPECTED}"
        ))),
    }
}

/// Checks what libpq would otherwise reject only at the first connection (which, with a
/// lazily filled pool, would be long after start-up): the shape and the port numbers.
fn parse_postgres(url: &str, rest: &str) -> Result<DatabaseTarget, DbError> {
    let Some(after) = rest.strip_prefix("//") else {
        return Err(DbError::InvalidUrl(
            "a Postgres URL must look like postgres://user@host:port/database".into(),
        ));
    };
    if url.contains(char::is_whitespace) {
        return Err(DbError::InvalidUrl(
            "a Postgres URL must not contain spaces (percent-encode them)".into(),
        ));
    }
    for host in uri_hosts(after).split(',') {
        let Some((_, port)) = split_host_port(host) else {
            return Err(DbError::InvalidUrl(
                "a Postgres URL has an unclosed IPv6 bracket".into(),
            ));
        };
        if let Some(port) = port {
            if port.parse::<u16>().is_err() {
                return Err(DbError::InvalidUrl(
                    "a Postgres URL has a port that is not a number from 0 to 65535".into(),
                ));
            }
        }
    }
    Ok(DatabaseTarget::Postgres(url.to_owned()))
}

/// The host list of a libpq URI, from what follows its `//`: the authority without its
/// `user:password@`; libpq accepts several `host:port` pairs separated by commas. Empty
/// when the URI names no host (the default Unix socket).
fn uri_hosts(after_slashes: &str) -> &str {
    let authority = after_slashes.split(['/', '?']).next().unwrap_or_default();
    authority.rsplit_once('@').map_or(authority, |(_, h)| h)
}

/// `host`, `host:port`, `[v6]` or `[v6]:port` as (host, port); `None` for an unclosed `[`.
fn split_host_port(host_port: &str) -> Option<(&str, Option<&str>)> {
    match host_port.strip_prefix('[') {
        Some(v6) => {
            let (host, after_bracket) = v6.split_once(']')?;
            Some((host, after_bracket.strip_prefix(':')))
        }
        None => Some(match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }),
    }
}

/// The URL with `param` (`key=value`) appended to its query.
fn with_param(url: &str, param: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{param}")
}

fn parse_sqlite(rest: &str) -> Result<DatabaseTarget, DbError> {
    if rest == ":memory:" || rest == "//:memory:" {
        return Ok(DatabaseTarget::SqliteMemory);
    }
    let Some(path) = rest.strip_prefix("//") else {
        return Err(DbError::InvalidUrl(format!(
            "a SQLite URL must start with sqlite:// or be sqlite::memory:; {EXPECTED}"
        )));
    };
    if path.is_empty() || path.ends_with('/') {
        return Err(DbError::InvalidUrl(
            "a SQLite URL must name a database file, e.g. sqlite://grantd.db".into(),
        ));
    }
    // SQLite reads a name starting with `file:` as a URI (diesel opens with SQLITE_OPEN_URI);
    // a plain path must stay a plain path.
    let path = if path.starts_with("file:") {
        format!("./{path}")
    } else {
        path.to_owned()
    };
    Ok(DatabaseTarget::SqliteFile(PathBuf::from(path)))
}

/// Adds `sslmode=allow` when the URL sets no `sslmode` (nor `PGSSLMODE` does: libpq reads
/// it, and the caller says whether it is set) and every host
/// it names is a loopback address or `localhost`. libpq's default, `prefer`, encrypts
/// whenever the server offers TLS, which on loopback protects nothing (only a local root
/// could read the traffic, and `prefer` checks no certificate, so it never stopped an
/// impostor server) and costs a quarter of grantd's CPU per refresh and 3 MiB of RSS.
/// `allow` still falls back to TLS when the server requires it (`hostssl`). A URL that sets
/// `host`/`hostaddr` in its query, or names any other host, is left as libpq reads it.
pub(crate) fn with_loopback_sslmode(url: &str, env_sets_sslmode: bool) -> String {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let query_sets = |key: &str| {
        query
            .split('&')
            .any(|pair| pair.split('=').next() == Some(key))
    };
    if query_sets("sslmode") || query_sets("host") || query_sets("hostaddr") || env_sets_sslmode {
        return url.to_owned();
    }
    let hosts = uri_hosts(url.split_once("//").map_or("", |(_, a)| a));
    if hosts.is_empty() || !hosts.split(',').all(is_loopback_host) {
        return url.to_owned();
    }
    with_param(url, "sslmode=allow")
}

/// `host` or `host:port` of a libpq URI: `localhost`, `127.x.y.z` or `[::1]`.
fn is_loopback_host(host_port: &str) -> bool {
    let Some((host, _)) = split_host_port(host_port) else {
        return false;
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Adds libpq's `connect_timeout` (whole seconds, at least 2 as libpq requires) unless the
/// URL sets one, so that a host that drops packets cannot hang a connection attempt forever.
pub(crate) fn with_connect_timeout(url: &str, timeout: Duration) -> String {
    if url.contains("connect_timeout=") {
        return url.to_owned();
    }
    let seconds = (timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0)).max(2);
    with_param(url, &format!("connect_timeout={seconds}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(url: &str) -> String {
        match parse_database_url(url) {
            Err(DbError::InvalidUrl(message)) => message,
            other => panic!("{url}: expected InvalidUrl, got {other:?}"),
        }
    }

    #[test]
    fn postgres_schemes_pick_postgres() {
        for url in [
            "postgres://postgres@127.0.0.1:5432/grantd",
            "postgresql://u:p@localhost/grantd?sslmode=disable",
            "postgres:///grantd",
            "postgres://h1:5432,h2:5433/db",
            "postgres://[::1]:5432/db",
        ] {
            assert_eq!(
                parse_database_url(url).unwrap(),
                DatabaseTarget::Postgres(url.to_owned()),
                "{url}"
            );
        }
    }

    #[test]
    fn sqlite_paths_are_relative_or_absolute() {
        assert_eq!(
            parse_database_url("sqlite://grantd.db").unwrap(),
            DatabaseTarget::SqliteFile("grantd.db".into())
        );
        assert_eq!(
            parse_database_url("sqlite://data/grantd.db").unwrap(),
            DatabaseTarget::SqliteFile("data/grantd.db".into())
        );
        assert_eq!(
            parse_database_url("sqlite:///var/lib/grantd.db").unwrap(),
            DatabaseTarget::SqliteFile("/var/lib/grantd.db".into())
        );
        assert_eq!(
            parse_database_url("sqlite::memory:").unwrap(),
            DatabaseTarget::SqliteMemory
        );
        assert_eq!(
            parse_database_url("sqlite://file:x.db").unwrap(),
            DatabaseTarget::SqliteFile("./file:x.db".into())
        );
    }

    /// `sqlite::memory:` (no `//`) is SQLite's in-memory database, in any case and with
    /// surrounding blanks, as is `sqlite://:memory:`; never a file named `:memory:`. The
    /// app's old scheme check split on `://` and so refused `sqlite::memory:`.
    #[test]
    fn sqlite_memory_is_the_in_memory_sqlite_database() {
        for url in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "SQLite::memory:",
            " sqlite::memory:\n",
        ] {
            let target = parse_database_url(url).unwrap();
            assert_eq!(target, DatabaseTarget::SqliteMemory, "{url:?}");
            assert_eq!(target.backend_name(), "sqlite", "{url:?}");
            assert_eq!(target.backend(), Backend::Sqlite, "{url:?}");
        }
        assert!(error("sqlite:memory:").contains("sqlite::memory:"));
    }

    #[test]
    fn backend_names_follow_the_scheme() {
        for (url, name) in [
            ("postgres://h/d", "postgres"),
            ("postgresql://h/d", "postgres"),
            ("POSTGRES://h/d", "postgres"),
            ("sqlite://grantd.db", "sqlite"),
            ("sqlite:///var/lib/grantd.db", "sqlite"),
            ("sqlite::memory:", "sqlite"),
        ] {
            assert_eq!(
                parse_database_url(url).unwrap().backend_name(),
                name,
                "{url}"
            );
        }
    }

    #[test]
    fn debug_never_shows_a_postgres_url() {
        let target = parse_database_url("postgres://u:hunter2@db/grantd").unwrap();
        assert_eq!(format!("{target:?}"), "Postgres(<redacted>)");
        assert_eq!(
            format!("{:?}", parse_database_url("sqlite://x.db").unwrap()),
            "SqliteFile(\"x.db\")"
        );
    }

    #[test]
    fn malformed_urls_are_refused_without_echoing_them() {
        assert!(error("").contains("empty"));
        assert!(error("grantd.db").contains("no scheme"));
        assert!(error("mysql://root:hunter2@db/x").contains("`mysql`"));
        assert!(!error("mysql://root:hunter2@db/x").contains("hunter2"));
        assert!(error("sqlite:grantd.db").contains("sqlite://"));
        assert!(error("sqlite://").contains("name a database file"));
        assert!(error("postgres:grantd").contains("postgres://"));
        assert!(error("postgres://u:hunter2@host:54x2/db").contains("port"));
        assert!(!error("postgres://u:hunter2@host:54x2/db").contains("hunter2"));
        assert!(error("postgres://u@host/my db").contains("spaces"));
    }

    #[test]
    fn a_loopback_url_without_sslmode_allows_plaintext_and_others_are_kept() {
        for (url, expected) in [
            (
                "postgres://u@127.0.0.1:5432/db",
                "postgres://u@127.0.0.1:5432/db?sslmode=allow",
            ),
            (
                "postgres://u:p@localhost/db?application_name=g",
                "postgres://u:p@localhost/db?application_name=g&sslmode=allow",
            ),
            (
                "postgres://127.0.0.1:5432,127.0.0.2:5433/db?target_session_attrs=read-write",
                "postgres://127.0.0.1:5432,127.0.0.2:5433/db?target_session_attrs=read-write&sslmode=allow",
            ),
            ("postgres://[::1]:5432/db", "postgres://[::1]:5432/db?sslmode=allow"),
        ] {
            assert_eq!(with_loopback_sslmode(url, false), expected, "{url}");
            assert_eq!(with_loopback_sslmode(url, true), url, "PGSSLMODE wins");
        }
        for kept in [
            "postgres://u@127.0.0.1/db?sslmode=require",
            "postgres://u@127.0.0.1/db?sslmode=disable",
            "postgres://u@db.example.com/db",
            "postgres://127.0.0.1:5432,10.0.0.2:5432/db",
            "postgres://u@127.0.0.1/db?host=db.example.com",
            "postgres:///db",
            "postgres://localhost.example.com/db",
            "postgres://[::2]/db",
        ] {
            assert_eq!(with_loopback_sslmode(kept, false), kept);
        }
    }

    #[test]
    fn connect_timeout_is_added_once() {
        let two = Duration::from_secs(2);
        assert_eq!(
            with_connect_timeout("postgres://h/db", two),
            "postgres://h/db?connect_timeout=2"
        );
        assert_eq!(
            with_connect_timeout(
                "postgres://h/db?sslmode=disable",
                Duration::from_millis(500)
            ),
            "postgres://h/db?sslmode=disable&connect_timeout=2"
        );
        assert_eq!(
            with_connect_timeout("postgres://h/db?connect_timeout=9", two),
            "postgres://h/db?connect_timeout=9"
        );
    }
}
