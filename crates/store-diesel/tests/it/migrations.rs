//! Migrations on both backends: several processes migrating one fresh database at once all
//! succeed, and migrating again is a no-op.

use std::sync::Barrier;

use grantd_ports::ClientStore;
use grantd_store_diesel::{Backend, Database, DbError};
use grantd_testkit::database::{options, TestDb};
use grantd_testkit::fixtures::minimal_client;

fn concurrent_migrations_all_succeed(backend: grantd_testkit::Backend) {
    const PROCESSES: usize = 4;
    let test_db = TestDb::empty(backend);
    let start = Barrier::new(PROCESSES);
    let results: Vec<Result<(), DbError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..PROCESSES)
            .map(|_| {
                scope.spawn(|| {
                    // A pool of its own, as a separate grantd process would have.
                    let db = Database::connect(test_db.url(), &options()).unwrap();
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
    test_db.migrate().unwrap();
    test_db
        .insert_client(&minimal_client("after-migrate"))
        .unwrap();
    let expected = match backend {
        grantd_testkit::Backend::Postgres => Backend::Postgres,
        grantd_testkit::Backend::Sqlite => Backend::Sqlite,
    };
    assert_eq!(test_db.backend(), expected);
}

grantd_testkit::on_both_backends!(concurrent_migrations_all_succeed);
