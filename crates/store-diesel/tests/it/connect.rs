//! `Database::connect` refuses what can never work, at once and with a clear message, and
//! reads URLs with the parser it exports (`parse_database_url`).

// Test code: a panic is a failed test, which is what an unexpected Err should be.

use std::time::Duration;

use grantd_store_diesel::{parse_database_url, Database, DatabaseTarget, DbError, DbOptions};

fn refused(url: &str) -> String {
    match Database::connect(url, &DbOptions::default()) {
        Err(DbError::InvalidUrl(message)) => message,
        other => panic!("{url}: expected InvalidUrl, got {other:?}"),
    }
}

#[test]
fn unknown_schemes_and_malformed_urls_are_refused() {
    assert!(refused("mysql://root:hunter2@db/grantd").contains("`mysql`"));
    assert!(refused("grantd.db").contains("no scheme"));
    assert!(refused("sqlite:grantd.db").contains("sqlite://"));
    assert!(refused("postgres://u@host:port/db").contains("port"));
    let message = DbError::InvalidUrl(refused("mysql://root:hunter2@db/grantd")).to_string();
    assert!(!message.contains("hunter2"), "{message}");
}

#[test]
fn unusable_options_are_refused() {
    let zero_pool = DbOptions {
        pool_size: 0,
        ..DbOptions::default()
    };
    assert!(matches!(
        Database::connect("sqlite::memory:", &zero_pool),
        Err(DbError::InvalidOptions(_))
    ));
    let zero_timeout = DbOptions {
        connect_timeout: Duration::ZERO,
        ..DbOptions::default()
    };
    assert!(matches!(
        Database::connect("sqlite::memory:", &zero_timeout),
        Err(DbError::InvalidOptions(_))
    ));
}

#[test]
fn defaults_are_documented_values() {
    let options = DbOptions::default();
    assert_eq!(options.pool_size, 8);
    assert_eq!(options.connect_timeout, Duration::from_secs(2));
    assert_eq!(options.statement_timeout, Duration::from_secs(5));
}

/// The parser the app's config validates with is the one `connect` opens with: they agree
/// on the backend of every URL, `sqlite::memory:` included, and refuse the same URLs with
/// the same message.
#[test]
fn the_exported_parser_is_the_one_connect_uses() {
    let dir = tempfile::tempdir().unwrap();
    let file = format!("sqlite://{}/grantd.db", dir.path().display());
    // Postgres connects lazily: nothing listens on port 1, and nothing needs to.
    for url in [
        "sqlite::memory:",
        "sqlite://:memory:",
        file.as_str(),
        "postgres://postgres@127.0.0.1:1/grantd",
    ] {
        let target = parse_database_url(url).unwrap();
        let db = Database::connect(url, &DbOptions::default()).unwrap();
        assert_eq!(target.backend(), db.backend(), "{url}");
        assert_eq!(target.backend_name(), db.backend().as_str(), "{url}");
    }
    assert_eq!(
        parse_database_url("sqlite::memory:").unwrap(),
        DatabaseTarget::SqliteMemory
    );
    for url in ["mysql://h/d", "grantd.db", "sqlite:grantd.db", "sqlite://"] {
        let Err(DbError::InvalidUrl(parsed)) = parse_database_url(url) else {
            panic!("{url}: expected InvalidUrl");
        };
        assert_eq!(parsed, refused(url), "{url}");
    }
}
