//! Test databases: a fresh Postgres database per test on the shared server (created through
//! the `postgres` maintenance database, dropped by a guard even when the test fails), or a
//! SQLite file in a temporary directory. Postgres must be reachable: a test that cannot
//! reach it fails with a message saying so, it never skips.

use std::ops::Deref;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use diesel::{Connection, PgConnection, RunQueryDsl};
use grantd_store_diesel::{Database, DbOptions};
use tempfile::TempDir;

/// The Postgres server the tests use; its path (database name) is ignored.
pub const POSTGRES_ENV: &str = "GRANTD_TEST_POSTGRES_URL";
const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/";

/// Generous timeouts: the machine running the tests may be busy compiling.
pub fn options() -> DbOptions {
    DbOptions {
        pool_size: 16,
        connect_timeout: Duration::from_secs(30),
        statement_timeout: Duration::from_secs(30),
    }
}

/// A database for one test, removed when dropped.
pub struct TestDb {
    db: Option<Database>,
    url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Postgres {
        maintenance_url: String,
        name: String,
    },
    Sqlite {
        _dir: TempDir,
    },
}

/// The two backends every store and HTTP suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl TestDb {
    /// A fresh, migrated database of the given backend.
    pub fn fresh(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => sqlite(),
            Backend::Postgres => postgres(),
        }
    }

    /// A fresh database of the given backend with no tables, for code that migrates it
    /// itself (a server under test).
    pub fn empty(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => sqlite_unmigrated(),
            Backend::Postgres => postgres_unmigrated(),
        }
    }

    /// The URL of this test's database, to open a second `Database` on it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The `Database` handle (the same as through `Deref`).
    pub fn database(&self) -> &Database {
        self
    }
}

impl Deref for TestDb {
    type Target = Database;

    fn deref(&self) -> &Database {
        self.db
            .as_ref()
            .expect("the database lives until the guard drops")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Close the pool's connections first; `WITH (FORCE)` below ends any stragglers.
        drop(self.db.take());
        if let Cleanup::Postgres {
            maintenance_url,
            name,
        } = &self.cleanup
        {
            // Never panic here: this also runs while a failed test unwinds.
            let dropped = PgConnection::establish(maintenance_url)
                .map_err(|e| e.to_string())
                .and_then(|mut admin| {
                    diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut admin)
                        .map_err(|e| e.to_string())
                });
            if let Err(error) = dropped {
                eprintln!("could not drop test database {name}: {error}");
            }
        }
    }
}

/// A fresh, migrated Postgres database.
pub fn postgres() -> TestDb {
    let db = postgres_unmigrated();
    db.migrate().expect("migrating the Postgres test database");
    db
}

/// A fresh Postgres database without tables.
pub fn postgres_unmigrated() -> TestDb {
    let base = std::env::var(POSTGRES_ENV).unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned());
    let name = unique_name();
    let maintenance_url = with_database(&base, "postgres");
    let mut admin = PgConnection::establish(&maintenance_url).unwrap_or_else(|error| {
        panic!(
            "the store tests need a Postgres server and cannot reach the one at {} \
             (set {POSTGRES_ENV} to another server's URL): {error}",
            redact(&base)
        )
    });
    diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .unwrap_or_else(|error| panic!("creating test database {name}: {error}"));
    let url = with_database(&base, &name);
    // From here on the guard exists, so the database is dropped whatever happens next.
    let mut test_db = TestDb {
        db: None,
        url: url.clone(),
        cleanup: Cleanup::Postgres {
            maintenance_url,
            name,
        },
    };
    test_db.db = Some(Database::connect(&url, &options()).expect("connecting to Postgres"));
    test_db
}

/// A fresh, migrated SQLite file in a temporary directory.
pub fn sqlite() -> TestDb {
    let db = sqlite_unmigrated();
    db.migrate().expect("migrating the SQLite test database");
    db
}

/// A SQLite database in a temporary directory (the file is created on first use).
pub fn sqlite_unmigrated() -> TestDb {
    let dir = tempfile::tempdir().expect("creating a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("grantd.db").display());
    let db = Database::connect(&url, &options()).expect("connecting to SQLite");
    TestDb {
        db: Some(db),
        url,
        cleanup: Cleanup::Sqlite { _dir: dir },
    }
}

/// `grantd_test_<pid>_<counter>_<nanos>`: unique across tests of one run and across runs
/// that share the server.
fn unique_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "grantd_test_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The server URL `base` with its database replaced by `database` (query string kept).
fn with_database(base: &str, database: &str) -> String {
    let (scheme, rest) = base
        .split_once("://")
        .unwrap_or_else(|| panic!("{POSTGRES_ENV} must be a postgres:// URL"));
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, format!("?{query}")),
        None => (rest, String::new()),
    };
    let authority = path.split('/').next().unwrap_or_default();
    format!("{scheme}://{authority}/{database}{query}")
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, rest)), Some(_)) => {
            let (userinfo, host) = rest.rsplit_once('@').unwrap_or(("", rest));
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}@{host}")
        }
        _ => url.to_owned(),
    }
}

/// Runs each named contract function against a fresh Postgres and a fresh SQLite database:
/// `contract!(a, b)` makes `postgres::a`, `sqlite::a`, ... each a `#[test]`.
#[macro_export]
macro_rules! contract {
    ($($name:ident),+ $(,)?) => {
        mod postgres {
            $( #[test] fn $name() { super::$name(&$crate::database::postgres()); } )+
        }
        mod sqlite {
            $( #[test] fn $name() { super::$name(&$crate::database::sqlite()); } )+
        }
    };
}
