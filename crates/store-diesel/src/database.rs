//! [`Database`]: the handle the app builds once from a URL and shares (it is a cheap clone).
//! Chooses the backend from the URL, builds the pool, and offers migrate and ping. The
//! store ports are implemented on it in `clients`, `users` and `tokens`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use diesel::RunQueryDsl;
use grantd_ports::StoreError;

use crate::pool::{self, db_read, Pool};
use crate::url::{self, parse_database_url, DatabaseTarget};
use crate::{migrate, DbError};

/// How the pool behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbOptions {
    /// Most connections this process holds.
    pub pool_size: u32,
    /// How long a caller waits for a connection (opening one included) before the store
    /// answers `Unavailable`.
    pub connect_timeout: Duration,
    /// How long one statement may run or wait for a lock: Postgres' `statement_timeout`,
    /// SQLite's `busy_timeout`. Past it the store answers `Unavailable`.
    pub statement_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            pool_size: 8,
            connect_timeout: Duration::from_secs(2),
            statement_timeout: Duration::from_secs(5),
        }
    }
}

/// A snapshot of the connection pool (r2d2's `state()` plus its ceiling).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    /// Connections open now, busy or idle.
    pub connections: u32,
    /// Of those, the ones waiting in the pool.
    pub idle_connections: u32,
    /// The most this process opens (`database.pool_size`).
    pub max_size: u32,
}

/// Which database a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub const fn as_str(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The storage adapter: implements `ClientStore`, `UserStore` and `TokenStore` over a
/// connection pool of Postgres or SQLite. Cloning shares the pool.
#[derive(Clone)]
pub struct Database {
    inner: Arc<Pool>,
}

impl Database {
    /// Builds the pool for `url` (`postgres://`, `postgresql://`, `sqlite://relative.db`,
    /// `sqlite:///absolute.db` or `sqlite::memory:`). Connects lazily: succeeds while the
    /// database is down, but fails at once on a malformed URL or an unknown scheme.
    /// A missing SQLite file is created on first use, its directory now.
    pub fn connect(url: &str, options: &DbOptions) -> Result<Database, DbError> {
        pool::check_options(options).map_err(DbError::InvalidOptions)?;
        let pool = match parse_database_url(url)? {
            DatabaseTarget::Postgres(url) => {
                let url = url::with_loopback_sslmode(&url, std::env::var_os("PGSSLMODE").is_some());
                let url = url::with_connect_timeout(&url, options.connect_timeout);
                Pool::Pg {
                    pool: pool::postgres(&url, options),
                    url,
                }
            }
            DatabaseTarget::SqliteFile(path) => {
                // Resolved now, so that a later change of working directory cannot move it.
                let path =
                    std::path::absolute(&path).map_err(|source| DbError::CreateDirectory {
                        path: path.clone(),
                        source,
                    })?;
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|source| DbError::CreateDirectory {
                        path: dir.to_owned(),
                        source,
                    })?;
                }
                let Some(path) = path.to_str() else {
                    return Err(DbError::InvalidUrl(
                        "the SQLite file's path is not valid UTF-8".into(),
                    ));
                };
                Pool::Sqlite(Box::new(pool::sqlite_file(path, options)))
            }
            DatabaseTarget::SqliteMemory => Pool::Sqlite(Box::new(pool::sqlite_memory(options))),
        };
        let database = Database {
            inner: Arc::new(pool),
        };
        tracing::debug!(backend = %database.backend(), "database pool built");
        Ok(database)
    }

    /// Applies the pending migrations of this backend. Safe to call from several processes
    /// at once: they take turns and all succeed.
    pub fn migrate(&self) -> Result<(), DbError> {
        match self.pool() {
            Pool::Pg { url, .. } => migrate::postgres(url),
            Pool::Sqlite(pools) => migrate::sqlite(&pools.writer),
        }
    }

    /// `SELECT 1` on a pooled connection: whether the database answers (for `/readyz`).
    pub fn ping(&self) -> Result<(), StoreError> {
        db_read!(self, |conn| {
            diesel::sql_query("SELECT 1").execute(conn)?;
            Ok(())
        })
    }

    /// The pool's size now: for the `/metrics` gauges.
    pub fn pool_state(&self) -> PoolState {
        let (state, max_size) = match self.pool() {
            Pool::Pg { pool, .. } => (pool.state(), pool.max_size()),
            // The readers: the writer is one more connection beside them.
            Pool::Sqlite(pools) => (pools.readers.state(), pools.readers.max_size()),
        };
        PoolState {
            connections: state.connections,
            idle_connections: state.idle_connections,
            max_size,
        }
    }

    pub fn backend(&self) -> Backend {
        match self.pool() {
            Pool::Pg { .. } => Backend::Postgres,
            Pool::Sqlite(_) => Backend::Sqlite,
        }
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.inner
    }
}

impl fmt::Debug for Database {
    /// The backend only: the URL may carry a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use diesel::sql_types::Bool;
    use diesel::{QueryableByName, RunQueryDsl};

    use super::*;
    use crate::pool::db_run;

    #[derive(QueryableByName)]
    struct Encrypted {
        #[diesel(sql_type = Bool)]
        ssl: bool,
    }

    fn encrypted(url: &str) -> bool {
        // testkit's own `DbOptions` is another build of this crate's type.
        let db = Database::connect(url, &DbOptions::default()).unwrap();
        let row: Encrypted = db_run!(&db, |conn| Ok(diesel::sql_query(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        )
        .get_result(conn)?))
        .unwrap();
        row.ssl
    }

    /// The test server offers TLS (as the CI machine's does): a loopback URL without
    /// `sslmode` talks plaintext, and one that asks for TLS still gets it.
    #[test]
    fn a_loopback_connection_skips_tls_unless_the_url_asks_for_it() {
        let test_db = grantd_testkit::database::postgres();
        let url = test_db.url();
        assert!(url.contains("127.0.0.1"), "{url}");
        let separator = if url.contains('?') { '&' } else { '?' };
        assert!(
            encrypted(&format!("{url}{separator}sslmode=require")),
            "the test server must offer TLS for this test to mean anything"
        );
        assert!(!encrypted(url));
    }
}
