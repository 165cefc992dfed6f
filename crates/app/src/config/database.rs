//! `[database]`: the store's URL, pool and timeouts, and the URL with its password redacted
//! (the only form ever shown). The URL is checked by the store's own parser
//! (`grantd_store_diesel::parse_database_url`), the one that later opens it.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::POSITIVE;
use super::ConfigError;

/// `[database]`: the store. `Debug` is written by hand because the URL may hold a password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `postgres://…`, `postgresql://…` or `sqlite://…`: the scheme picks the backend.
    pub url: String,
    /// Most pooled connections per process.
    pub pool_size: u32,
    /// Seconds to wait for a connection (new or from the pool).
    pub connect_timeout: u64,
    /// Seconds one statement may run.
    pub statement_timeout: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://grantd.db".into(),
            pool_size: 8,
            connect_timeout: 2,
            statement_timeout: 5,
        }
    }
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redact_url(&self.url))
            .field("pool_size", &self.pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .finish()
    }
}

impl DatabaseConfig {
    /// Checks the rules that types cannot express. The URL is never echoed: it may hold a
    /// password.
    pub fn validate(&self) -> Result<(), ConfigError> {
        // DbError's text names the scheme at most, never the URL.
        match grantd_store_diesel::parse_database_url(&self.url) {
            Err(grantd_store_diesel::DbError::InvalidUrl(why)) => {
                return Err(ConfigError::invalid("database.url", why));
            }
            Err(other) => return Err(ConfigError::invalid("database.url", other.to_string())),
            Ok(_) => {}
        }
        if self.pool_size < 1 {
            return Err(ConfigError::invalid(
                "database.pool_size",
                "must be at least 1",
            ));
        }
        if self.connect_timeout == 0 {
            return Err(ConfigError::invalid("database.connect_timeout", POSITIVE));
        }
        if self.statement_timeout == 0 {
            return Err(ConfigError::invalid("database.statement_timeout", POSITIVE));
        }
        Ok(())
    }

    /// The URL safe to print.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout)
    }

    pub fn statement_timeout(&self) -> Duration {
        Duration::from_secs(self.statement_timeout)
    }
}

/// The URL with any password replaced by `***`: the userinfo password
/// (`postgres://user:pw@host`) and query parameters such as `?password=`.
pub fn redact_url(url: &str) -> String {
    if url.trim() == "sqlite::memory:" {
        return url.trim().to_owned();
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        // Not a URL we understand: it could be anything, so show nothing of it.
        return "<redacted>".into();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if k.to_ascii_lowercase().contains("pass") => {
                        format!("{k}=***")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://grantd:s3cret@db:5432/grantd"),
            "postgres://grantd:***@db:5432/grantd"
        );
        assert_eq!(
            redact_url("postgresql://db/grantd?user=a&password=s3cret"),
            "postgresql://db/grantd?user=a&password=***"
        );
        assert_eq!(
            redact_url("postgres://grantd@db/grantd"),
            "postgres://grantd@db/grantd"
        );
        assert_eq!(redact_url("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
        assert_eq!(redact_url("garbage"), "<redacted>");
        assert_eq!(redact_url("sqlite::memory:"), "sqlite::memory:");
        let config = Config {
            database: DatabaseConfig {
                url: "postgres://u:s3cret@h/d".into(),
                ..DatabaseConfig::default()
            },
            ..Config::default()
        };
        assert!(!format!("{config:?}").contains("s3cret"));
        assert!(!config.redacted_database_url().contains("s3cret"));
    }

    #[test]
    fn the_url_is_checked_by_the_stores_own_parser() {
        let check = |url: &str| {
            DatabaseConfig {
                url: url.into(),
                ..DatabaseConfig::default()
            }
            .validate()
        };
        for good in [
            "postgres://h/d",
            "postgresql://h/d",
            "sqlite://grantd.db",
            "sqlite:///abs/grantd.db",
            "sqlite::memory:",
        ] {
            assert!(check(good).is_ok(), "{good}");
        }
        for bad in [
            "grantd.db",
            "mysql://h/d",
            "sqlite://",
            "postgres://u:s3cret@h:port/d",
        ] {
            let error = check(bad).expect_err(bad).to_string();
            assert!(error.contains("database.url"), "{error}");
            assert!(!error.contains("s3cret"), "{error}");
        }
    }
}
