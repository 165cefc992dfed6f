//! The crate's two error shapes. [`DbError`] is for setting up (URL, options, migrations)
//! and stops start-up. [`Failure`] is whatever went wrong inside one store call; it is
//! mapped once, here, to the ports' `StoreError` so that the edges can tell "retry later"
//! (503) from "a bug" (500). No message here can carry a token: SQL only ever sees hashes.

use std::path::PathBuf;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use grantd_ports::StoreError;

/// Why the database could not be set up. Messages never contain the database URL
/// (it may carry a password).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL is malformed or its scheme names no supported backend.
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    /// The pool options are unusable (e.g. a pool of size 0).
    #[error("invalid database options: {0}")]
    InvalidOptions(String),
    /// The directory meant to hold the SQLite file does not exist and cannot be created.
    #[error("cannot create the directory {path} for the SQLite database")]
    CreateDirectory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The database could not be reached to run the migrations.
    #[error("cannot reach the database: {0}")]
    Unavailable(String),
    /// A migration failed; the message names it and the database's complaint.
    #[error("database migration failed: {0}")]
    Migration(String),
}

/// What went wrong inside one store call, before it becomes a `StoreError`.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The database refused or failed a statement.
    Query(DieselError),
    /// No pooled connection could be had in time (database down or pool exhausted).
    Checkout(r2d2::Error),
    /// A stored row does not convert back into a record: corrupt data or a schema bug.
    Corrupt(String),
    /// A record that this store cannot represent faithfully.
    Unrepresentable(String),
    /// Something the transaction's own locking rules out happened anyway.
    Invariant(&'static str),
}

impl From<DieselError> for Failure {
    fn from(error: DieselError) -> Self {
        Failure::Query(error)
    }
}

impl From<Failure> for StoreError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Query(error) => classify(&error),
            Failure::Checkout(error) => {
                StoreError::Unavailable(format!("no database connection: {error}"))
            }
            Failure::Corrupt(message) => StoreError::Other(format!("corrupt row: {message}")),
            Failure::Unrepresentable(message) => StoreError::Other(message),
            Failure::Invariant(message) => StoreError::Other(message.to_owned()),
        }
    }
}

/// Substrings (lower case) of the messages of transient failures that diesel reports as
/// `Unknown`: diesel does not expose SQLSTATE or SQLite's result code, only the kind it
/// recognises and the message. SQLite's messages are fixed English; Postgres' are English
/// unless the server's `lc_messages` says otherwise.
const TRANSIENT: &[&str] = &[
    // SQLite: SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_FULL, SQLITE_IOERR,
    // SQLITE_CANTOPEN.
    "database is locked",
    "database table is locked",
    "database schema is locked",
    "readonly database",
    "database or disk is full",
    "disk i/o error",
    "unable to open database file",
    // Postgres: 57014 (statement_timeout), 55P03, 40P01, 40001, 25P03, 57P01..57P03, 53300,
    // 25006, and libpq's own messages for a lost connection.
    "canceling statement due to statement timeout",
    "canceling statement due to lock timeout",
    "could not obtain lock",
    "deadlock detected",
    "could not serialize access",
    "idle-in-transaction timeout",
    "terminating connection",
    "the database system is",
    "too many clients",
    "read-only transaction",
    "server closed the connection",
    "connection to server",
    "no connection to the server",
];

/// The one mapping of a diesel error to the ports' three kinds.
pub(crate) fn classify(error: &DieselError) -> StoreError {
    match error {
        DieselError::DatabaseError(kind, info) => {
            let message = info.message().to_owned();
            match kind {
                DatabaseErrorKind::UniqueViolation => StoreError::Conflict(message),
                DatabaseErrorKind::SerializationFailure
                | DatabaseErrorKind::ReadOnlyTransaction
                | DatabaseErrorKind::ClosedConnection
                | DatabaseErrorKind::UnableToSendCommand => StoreError::Unavailable(message),
                _ if is_transient(&message) => StoreError::Unavailable(message),
                _ => StoreError::Other(message),
            }
        }
        // Raised when a rollback failed, which in practice means the connection is gone.
        DieselError::BrokenTransactionManager => {
            StoreError::Unavailable("connection lost inside a transaction".into())
        }
        DieselError::RollbackErrorOnCommit { commit_error, .. } => classify(commit_error),
        other => StoreError::Other(other.to_string()),
    }
}

fn is_transient(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    TRANSIENT.iter().any(|needle| message.contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db_error(kind: DatabaseErrorKind, message: &str) -> DieselError {
        DieselError::DatabaseError(kind, Box::new(message.to_owned()))
    }

    #[test]
    fn busy_locked_timeouts_and_lost_connections_are_unavailable() {
        for message in [
            "database is locked",
            "attempt to write a readonly database",
            "canceling statement due to statement timeout",
            "deadlock detected",
            "terminating connection due to administrator command",
            "server closed the connection unexpectedly",
        ] {
            assert!(
                matches!(
                    classify(&db_error(DatabaseErrorKind::Unknown, message)),
                    StoreError::Unavailable(_)
                ),
                "{message}"
            );
        }
        assert!(matches!(
            classify(&db_error(DatabaseErrorKind::SerializationFailure, "x")),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            classify(&db_error(DatabaseErrorKind::ClosedConnection, "x")),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            classify(&DieselError::BrokenTransactionManager),
            StoreError::Unavailable(_)
        ));
    }

    #[test]
    fn unique_violations_conflict_and_the_rest_is_other() {
        assert!(matches!(
            classify(&db_error(
                DatabaseErrorKind::UniqueViolation,
                "UNIQUE constraint failed: users.username"
            )),
            StoreError::Conflict(_)
        ));
        assert!(matches!(
            classify(&db_error(DatabaseErrorKind::ForeignKeyViolation, "fk")),
            StoreError::Other(_)
        ));
        assert!(matches!(
            classify(&db_error(DatabaseErrorKind::Unknown, "syntax error")),
            StoreError::Other(_)
        ));
        assert!(matches!(
            classify(&DieselError::NotFound),
            StoreError::Other(_)
        ));
    }
}
