//! SQLite-only behaviour: migrations racing across processes, a busy database surfacing as
//! `Unavailable`, in-memory databases, and the file and its directory being created.

// Test code: a panic is a failed test, which is what an unexpected Err should be.

use std::sync::Barrier;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};
use grantd_ports::{ClientId, ClientStore, GrantType, LifetimeOverrides, ScopeSet, StoreError};
use grantd_store_diesel::{Backend, Database, DbError, DbOptions};

fn client(id: &str) -> grantd_ports::Client {
    grantd_ports::Client {
        id: ClientId::parse(id).unwrap(),
        name: id.into(),
        secret: None,
        secret_version: 0,
        grant_types: vec![GrantType::ClientCredentials],
        scopes: ScopeSet::empty(),
        default_scopes: None,
        redirect_uris: Vec::new(),
        can_introspect: false,
        lifetimes: LifetimeOverrides::default(),
        created_at: 0,
    }
}

#[test]
fn concurrent_migrations_all_succeed() {
    const PROCESSES: usize = 4;
    let test_db = grantd_testkit::database::sqlite_unmigrated();
    let start = Barrier::new(PROCESSES);
    let results: Vec<Result<(), DbError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..PROCESSES)
            .map(|_| {
                scope.spawn(|| {
                    let db = Database::connect(test_db.url(), &grantd_testkit::database::options())
                        .unwrap();
                    start.wait();
                    db.migrate()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for result in &results {
        assert!(result.is_ok(), "{results:?}");
    }
    test_db.insert_client(&client("after-migrate")).unwrap();
    assert_eq!(test_db.backend(), Backend::Sqlite);
}

#[test]
fn busy_database_is_unavailable_and_reads_go_on() {
    let test_db = grantd_testkit::database::sqlite();
    test_db.insert_client(&client("before")).unwrap();
    let impatient = Database::connect(
        test_db.url(),
        &DbOptions {
            statement_timeout: Duration::from_millis(200),
            ..grantd_testkit::database::options()
        },
    )
    .unwrap();
    let path = test_db.url().trim_start_matches("sqlite://");
    let mut writer = SqliteConnection::establish(path).unwrap();
    writer.batch_execute("BEGIN IMMEDIATE").unwrap();

    let blocked = impatient.insert_client(&client("during"));
    assert!(
        matches!(&blocked, Err(StoreError::Unavailable(m)) if m.contains("locked")),
        "{blocked:?}"
    );
    // WAL: readers are not blocked by the writer.
    assert!(impatient
        .find_client(&ClientId::parse("before").unwrap())
        .unwrap()
        .is_some());

    writer.batch_execute("ROLLBACK").unwrap();
    impatient.insert_client(&client("after")).unwrap();
}

#[test]
fn memory_database_works() {
    let db = Database::connect("sqlite::memory:", &grantd_testkit::database::options()).unwrap();
    assert_eq!(db.backend(), Backend::Sqlite);
    db.migrate().unwrap();
    let c = client("mem");
    db.insert_client(&c).unwrap();
    // The second call must reach the same (only) connection and so the same database.
    assert_eq!(db.find_client(&c.id).unwrap(), Some(c));
}

#[test]
fn missing_file_and_directories_are_created() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a/b/grantd.db");
    let db = Database::connect(
        &format!("sqlite://{}", file.display()),
        &grantd_testkit::database::options(),
    )
    .unwrap();
    db.migrate().unwrap();
    assert!(file.is_file());
    db.ping().unwrap();
}
