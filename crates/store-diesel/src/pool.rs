//! The connection pool (one r2d2 pool of whichever backend the URL names), what every new
//! connection is set up with, and the two macros that run one diesel body on either
//! backend. Knows nothing of the tables.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, R2D2Connection};
use diesel::{PgConnection, SqliteConnection};
use grantd_ports::StoreError;

use crate::errors::Failure;
use crate::DbOptions;

pub(crate) type PgPool = r2d2::Pool<ConnectionManager<PgConnection>>;
pub(crate) type SqlitePool = r2d2::Pool<ConnectionManager<SqliteConnection>>;

/// The pool of the backend the URL named. Every query is written once and expanded for
/// both variants by [`db_run!`] or [`db_write!`].
pub(crate) enum Pool {
    Pg {
        pool: PgPool,
        /// For the migration connection, which must not inherit the pool's timeouts.
        url: String,
    },
    Sqlite(SqlitePool),
}

/// A Postgres pool. `min_idle(0)` with `build_unchecked`: nothing is connected up front,
/// so a process starts (and can answer `/readyz` with "not ready") while the database is
/// down, and an idle process holds no connections of the one Postgres that every grantd
/// process shares. Connections are opened on demand and then kept until idle.
///
/// `test_on_check_out` costs a `SELECT 1` per checkout but hands out no connection that died
/// with a Postgres restart: diesel only notices a dead connection when a query fails, and
/// would otherwise return it to the pool to fail again.
pub(crate) fn postgres(url: &str, options: &DbOptions) -> PgPool {
    r2d2::Pool::builder()
        .max_size(options.pool_size)
        .min_idle(Some(0))
        .test_on_check_out(true)
        .connection_timeout(options.connect_timeout)
        .connection_customizer(Box::new(PostgresSession {
            timeout_ms: options.statement_timeout.as_millis(),
        }))
        .error_handler(Box::new(LogConnectionErrors))
        .build_unchecked(ConnectionManager::new(url))
}

/// A pool over one SQLite file (created by SQLite on first connect if missing).
pub(crate) fn sqlite_file(path: &str, options: &DbOptions) -> SqlitePool {
    r2d2::Pool::builder()
        .max_size(options.pool_size)
        .min_idle(Some(0))
        .connection_timeout(options.connect_timeout)
        .connection_customizer(Box::new(SqlitePragmas {
            busy_timeout_ms: options.statement_timeout.as_millis(),
        }))
        .error_handler(Box::new(LogConnectionErrors))
        .build_unchecked(ConnectionManager::new(path))
}

/// An in-memory SQLite database lives only as long as its connection, so the pool holds
/// exactly one and never lets it go (every caller waits for it in turn).
pub(crate) fn sqlite_memory(options: &DbOptions) -> SqlitePool {
    r2d2::Pool::builder()
        .max_size(1)
        .min_idle(Some(1))
        .idle_timeout(None)
        .max_lifetime(None)
        .connection_timeout(options.connect_timeout)
        .connection_customizer(Box::new(SqlitePragmas {
            busy_timeout_ms: options.statement_timeout.as_millis(),
        }))
        .error_handler(Box::new(LogConnectionErrors))
        .build_unchecked(ConnectionManager::new(":memory:"))
}

/// Session settings for every new Postgres connection. `statement_timeout` bounds a request's
/// wait on a lock or a slow query; `idle_in_transaction_session_timeout` ends a session that a
/// stuck process left holding a transaction (and its row locks) open. Our transactions never
/// wait on anything outside the database, so the same bound fits both. 0 disables both.
#[derive(Debug)]
struct PostgresSession {
    timeout_ms: u128,
}

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for PostgresSession {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!(
            "SET statement_timeout = {ms}; SET idle_in_transaction_session_timeout = {ms}",
            ms = self.timeout_ms
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Pragmas for every new SQLite connection (they are per connection, not per file).
/// `busy_timeout` first, so that the others wait for a lock instead of failing; it reuses
/// the statement timeout: how long one statement may wait before the caller gets
/// `Unavailable`. WAL lets readers run beside the one writer; `synchronous = NORMAL` is
/// durable across application crashes in WAL mode (only a power loss can lose the last
/// commits); foreign keys are off by default in SQLite and the schema's cascades need them.
#[derive(Debug)]
struct SqlitePragmas {
    busy_timeout_ms: u128,
}

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
             PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            self.busy_timeout_ms
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// r2d2 reports failed connection attempts (made in its background threads) here; the
/// default handler writes to the `log` crate, which this project does not collect.
#[derive(Debug)]
struct LogConnectionErrors;

impl r2d2::HandleError<diesel::r2d2::Error> for LogConnectionErrors {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        tracing::warn!(%error, "database connection attempt failed");
    }
}

/// Checks out a connection and runs `body` on it. A checkout that times out (database down,
/// or every connection busy for `connect_timeout`) is `Unavailable`.
pub(crate) fn run<C, T>(
    pool: &r2d2::Pool<ConnectionManager<C>>,
    body: impl FnOnce(&mut C) -> Result<T, Failure>,
) -> Result<T, StoreError>
where
    C: R2D2Connection + 'static,
{
    let mut conn = pool.get().map_err(Failure::Checkout)?;
    Ok(body(&mut conn)?)
}

/// Validates the options r2d2 would otherwise panic on.
pub(crate) fn check_options(options: &DbOptions) -> Result<(), String> {
    if options.pool_size == 0 {
        return Err("pool_size must be at least 1".into());
    }
    if options.connect_timeout == Duration::ZERO {
        return Err("connect_timeout must be more than 0".into());
    }
    Ok(())
}

/// Runs one diesel body on a pooled connection of either backend:
/// `db_run!(db, |conn| { ...; Ok(value) })` with `db: &Database`. The body is compiled once
/// per backend (so it may only use SQL both understand), returns `Result<T, Failure>`
/// (`?` works on diesel errors) and the macro yields `Result<T, StoreError>`.
macro_rules! db_run {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $db.pool() {
            $crate::pool::Pool::Pg { pool, .. } => $crate::pool::run(pool, |$conn| $body),
            $crate::pool::Pool::Sqlite(pool) => $crate::pool::run(pool, |$conn| $body),
        }
    };
}
pub(crate) use db_run;

/// As [`db_run!`], inside a write transaction: all or nothing. On SQLite it is an
/// immediate transaction (`BEGIN IMMEDIATE`): it takes the write lock up front, so two
/// writers queue on `busy_timeout` instead of one failing when it upgrades from reading.
macro_rules! db_write {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $db.pool() {
            $crate::pool::Pool::Pg { pool, .. } => $crate::pool::run(pool, |conn| {
                ::diesel::Connection::transaction::<_, $crate::errors::Failure, _>(conn, |$conn| {
                    $body
                })
            }),
            $crate::pool::Pool::Sqlite(pool) => $crate::pool::run(pool, |conn| {
                conn.immediate_transaction::<_, $crate::errors::Failure, _>(|$conn| $body)
            }),
        }
    };
}
pub(crate) use db_write;
