//! `Database::connect` refuses what can never work, at once and with a clear message.

// Test code: a panic is a failed test, which is what an unexpected Err should be.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use grantd_store_diesel::{Database, DbError, DbOptions};

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
