//! The connection pool (one r2d2 pool of whichever backend the URL names), what every new
//! connection is set up with, and the two macros that run one diesel body on either
//! backend. Knows nothing of the tables.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, ManageConnection, R2D2Connection};
use diesel::{PgConnection, SqliteConnection};
use grantd_ports::StoreError;

use crate::checkpointer::{self, Checkpointer};
use crate::errors::Failure;
use crate::group_commit::GroupCommit;
use crate::DbOptions;

pub(crate) type PgPool = r2d2::Pool<Manager<PgConnection>>;
pub(crate) type SqlitePool = r2d2::Pool<Manager<SqliteConnection>>;

/// A pooled connection, and whether a query on it failed in a way that says the connection
/// itself may be gone (the store's `Unavailable`). r2d2 drops such a connection instead of
/// handing it out again, so a database restart costs each stale connection one failed
/// request, without a `SELECT 1` round trip on every checkout (`test_on_check_out`).
pub(crate) struct Conn<C> {
    pub(crate) inner: C,
    lost: bool,
}

impl<C> Conn<C> {
    /// Has r2d2 drop this connection when it is returned, instead of handing it out again.
    pub(crate) fn mark_lost(&mut self) {
        self.lost = true;
    }
}

/// diesel's connection manager, plus the `lost` flag above.
pub(crate) struct Manager<C: R2D2Connection + 'static> {
    inner: ConnectionManager<C>,
}

impl<C: R2D2Connection + Send + 'static> Manager<C> {
    fn new(url: &str) -> Self {
        Self {
            inner: ConnectionManager::new(url),
        }
    }
}

impl<C: R2D2Connection + Send + 'static> ManageConnection for Manager<C> {
    type Connection = Conn<C>;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Conn<C>, Self::Error> {
        Ok(Conn {
            inner: self.inner.connect()?,
            lost: false,
        })
    }

    fn is_valid(&self, conn: &mut Conn<C>) -> Result<(), Self::Error> {
        self.inner.is_valid(&mut conn.inner)
    }

    fn has_broken(&self, conn: &mut Conn<C>) -> bool {
        conn.lost || self.inner.has_broken(&mut conn.inner)
    }
}

/// The pool of the backend the URL named. Every query is written once and expanded for
/// both variants by [`db_run!`] or [`db_write!`].
pub(crate) enum Pool {
    Pg {
        pool: PgPool,
        /// For the migration connection, which must not inherit the pool's timeouts.
        url: String,
    },
    Sqlite(Box<SqlitePools>),
}

/// SQLite's pools: one writer connection, and readers beside it. SQLite admits one writer
/// at a time; writers that share the file on several connections wait for its lock in
/// SQLite's busy handler, which sleeps in steps of up to 100 ms, and those sleeps were the
/// tail of every write path. One writer connection makes writers queue for it instead,
/// woken the moment it is free, and lets the writes that queued share one commit
/// ([`GroupCommit`]). WAL lets the readers run beside it.
pub(crate) struct SqlitePools {
    /// Every write (`db_write!`, and `db_run!` bodies that may write).
    pub(crate) writer: GroupCommit,
    /// Read-only bodies (`db_read!`): `pool_size` connections.
    pub(crate) readers: SqlitePool,
    /// A file's WAL checkpoints (an in-memory database has no WAL).
    _checkpointer: Option<Checkpointer>,
}

/// A Postgres pool. `min_idle(0)` with `build_unchecked`: nothing is connected up front,
/// so a process starts (and can answer `/readyz` with "not ready") while the database is
/// down, and an idle process holds no connections of the one Postgres that every grantd
/// process shares. Connections are opened on demand and then kept until idle.
///
/// No `test_on_check_out`: it would cost a `SELECT 1` round trip per request. A connection
/// that died with a Postgres restart is dropped after its first failure instead (see [`Conn`]).
pub(crate) fn postgres(url: &str, options: &DbOptions) -> PgPool {
    r2d2::Pool::builder()
        .max_size(options.pool_size)
        .min_idle(Some(0))
        .test_on_check_out(false)
        .connection_timeout(options.connect_timeout)
        .connection_customizer(Box::new(PostgresSession {
            timeout_ms: options.statement_timeout.as_millis(),
        }))
        .error_handler(Box::new(LogConnectionErrors))
        .build_unchecked(Manager::new(url))
}

/// The pools over one SQLite file (created by SQLite on first connect if missing).
pub(crate) fn sqlite_file(path: &str, options: &DbOptions) -> SqlitePools {
    SqlitePools {
        writer: GroupCommit::new(sqlite_file_pool(path, options, 1), options.connect_timeout),
        readers: sqlite_file_pool(path, options, options.pool_size),
        _checkpointer: Some(Checkpointer::spawn(path, checkpointer::INTERVAL)),
    }
}

pub(crate) fn sqlite_file_pool(path: &str, options: &DbOptions, size: u32) -> SqlitePool {
    r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        // A SQLite connection is a file handle in this process: it cannot die by itself.
        .test_on_check_out(false)
        .connection_timeout(options.connect_timeout)
        .connection_customizer(Box::new(SqlitePragmas {
            busy_timeout_ms: options.statement_timeout.as_millis(),
        }))
        .error_handler(Box::new(LogConnectionErrors))
        .build_unchecked(Manager::new(path))
}

/// An in-memory SQLite database lives only as long as its connection, so the pool holds
/// exactly one and never lets it go (every caller waits for it in turn): the writer and the
/// readers are the same pool. The writer returns it to the pool after each commit.
pub(crate) fn sqlite_memory(options: &DbOptions) -> SqlitePools {
    let pool = sqlite_memory_pool(options);
    SqlitePools {
        writer: GroupCommit::new(pool.clone(), options.connect_timeout),
        readers: pool,
        _checkpointer: None,
    }
}

fn sqlite_memory_pool(options: &DbOptions) -> SqlitePool {
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
        .build_unchecked(Manager::new(":memory:"))
}

/// Session settings for every new Postgres connection. `statement_timeout` bounds a request's
/// wait on a lock or a slow query; `idle_in_transaction_session_timeout` ends a session that a
/// stuck process left holding a transaction (and its row locks) open. Our transactions never
/// wait on anything outside the database, so the same bound fits both. 0 disables both.
#[derive(Debug)]
struct PostgresSession {
    timeout_ms: u128,
}

impl CustomizeConnection<Conn<PgConnection>, diesel::r2d2::Error> for PostgresSession {
    fn on_acquire(&self, conn: &mut Conn<PgConnection>) -> Result<(), diesel::r2d2::Error> {
        conn.inner
            .batch_execute(&format!(
                "SET statement_timeout = {ms}; SET idle_in_transaction_session_timeout = {ms}",
                ms = self.timeout_ms
            ))
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Pragmas for every new SQLite connection (they are per connection, not per file).
/// `busy_timeout` first, so that the others wait for a lock instead of failing; it reuses
/// the statement timeout: how long one statement may wait before the caller gets
/// `Unavailable`. WAL lets readers run beside the one writer; `synchronous = FULL` syncs
/// the WAL at every commit, so a rotation the client was told of survives a power loss
/// (`NORMAL` could lose the last commits, and with them the only refresh token the client
/// holds); foreign keys are off by default in SQLite and the schema's cascades need them.
/// No connection checkpoints at commit (`wal_autocheckpoint = 0`): the [`Checkpointer`]
/// does, off the writer's path.
#[derive(Debug)]
struct SqlitePragmas {
    busy_timeout_ms: u128,
}

impl CustomizeConnection<Conn<SqliteConnection>, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut Conn<SqliteConnection>) -> Result<(), diesel::r2d2::Error> {
        conn.inner
            .batch_execute(&format!(
                "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
             PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 0;",
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
    pool: &r2d2::Pool<Manager<C>>,
    body: impl FnOnce(&mut C) -> Result<T, Failure>,
) -> Result<T, StoreError>
where
    C: R2D2Connection + Send + 'static,
{
    let mut conn = pool.get().map_err(Failure::Checkout)?;
    body(&mut conn.inner).map_err(|failure| {
        let error = StoreError::from(failure);
        if matches!(error, StoreError::Unavailable(_)) {
            conn.lost = true;
        }
        error
    })
}

/// Runs one write body of SQLite's as a member of the writer's next commit (see
/// [`GroupCommit::run`]): atomic, and answered once durable.
pub(crate) fn write_sqlite<T>(
    writer: &GroupCommit,
    body: impl FnOnce(&mut SqliteConnection) -> Result<T, Failure>,
) -> Result<T, StoreError> {
    writer.run(body)?.map_err(StoreError::from)
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
/// (`?` works on diesel errors) and the macro yields `Result<T, StoreError>`. The body may
/// write: on Postgres it runs in autocommit; on SQLite on the writer connection, all or
/// nothing, inside the writer's group transaction (so it must not open one itself).
macro_rules! db_run {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $db.pool() {
            $crate::pool::Pool::Pg { pool, .. } => $crate::pool::run(pool, |$conn| $body),
            $crate::pool::Pool::Sqlite(pools) => {
                $crate::pool::write_sqlite(&pools.writer, |$conn| $body)
            }
        }
    };
}
pub(crate) use db_run;

/// As [`db_run!`], for a body that only reads: on SQLite it runs on a reader connection,
/// beside the writer. A write in such a body would wait for the writer's lock in SQLite's
/// busy handler: keep writes out of it.
macro_rules! db_read {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $db.pool() {
            $crate::pool::Pool::Pg { pool, .. } => $crate::pool::run(pool, |$conn| $body),
            $crate::pool::Pool::Sqlite(pools) => $crate::pool::run(&pools.readers, |$conn| $body),
        }
    };
}
pub(crate) use db_read;

/// As [`db_run!`], inside a write transaction: all or nothing. On SQLite every write is
/// (see [`GroupCommit`]): a savepoint inside the writer's immediate transaction, which took
/// the write lock up front.
macro_rules! db_write {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $db.pool() {
            $crate::pool::Pool::Pg { pool, .. } => $crate::pool::run(pool, |conn| {
                ::diesel::Connection::transaction::<_, $crate::errors::Failure, _>(conn, |$conn| {
                    $body
                })
            }),
            $crate::pool::Pool::Sqlite(pools) => {
                $crate::pool::write_sqlite(&pools.writer, |$conn| $body)
            }
        }
    };
}
pub(crate) use db_write;

#[cfg(test)]
mod tests {
    use diesel::sql_types::Integer;
    use diesel::{QueryableByName, RunQueryDsl};

    use super::*;

    #[derive(QueryableByName)]
    struct Synchronous {
        #[diesel(sql_type = Integer)]
        synchronous: i32,
    }

    #[derive(QueryableByName)]
    struct Autocheckpoint {
        #[diesel(sql_type = Integer)]
        wal_autocheckpoint: i32,
    }

    /// A committed rotation must survive a power loss: every SQLite connection, the writer
    /// and the readers, syncs the WAL at commit (`synchronous = FULL` is 2) in WAL mode.
    /// None checkpoints at commit (the checkpointer does).
    #[test]
    fn every_sqlite_connection_syncs_at_commit_and_none_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grantd.db");
        let pools = sqlite_file(path.to_str().unwrap(), &DbOptions::default());
        let read = |conn: &mut SqliteConnection| {
            let sync = diesel::sql_query("PRAGMA synchronous")
                .get_result::<Synchronous>(conn)
                .unwrap();
            let auto = diesel::sql_query("PRAGMA wal_autocheckpoint")
                .get_result::<Autocheckpoint>(conn)
                .unwrap();
            (sync.synchronous, auto.wal_autocheckpoint)
        };
        let writer = pools.writer.exclusive(read).unwrap();
        let reader = read(&mut pools.readers.get().unwrap().inner);
        assert_eq!(
            (writer, reader),
            ((2, 0), (2, 0)),
            "FULL, no checkpoint at commit"
        );
    }
}
