//! SQLite-only behaviour: a busy database surfacing as
//! `Unavailable`, in-memory databases, and the file and its directory being created.

// Test code: a panic is a failed test, which is what an unexpected Err should be.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};
use grantd_ports::{ClientId, ClientStore, StoreError};
use grantd_store_diesel::{Backend, Database, DbOptions};
use grantd_testkit::fixtures::minimal_client;

#[test]
fn busy_database_is_unavailable_and_reads_go_on() {
    let test_db = grantd_testkit::database::sqlite();
    test_db.insert_client(&minimal_client("before")).unwrap();
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

    let blocked = impatient.insert_client(&minimal_client("during"));
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
    impatient.insert_client(&minimal_client("after")).unwrap();
}

#[test]
fn memory_database_works() {
    let db = Database::connect("sqlite::memory:", &grantd_testkit::database::options()).unwrap();
    assert_eq!(db.backend(), Backend::Sqlite);
    db.migrate().unwrap();
    let c = minimal_client("mem");
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
