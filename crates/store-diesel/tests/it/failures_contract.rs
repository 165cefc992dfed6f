//! The `FailureCounter` contract on both backends: fixed windows per key, increments that
//! are never lost under concurrency (also across separate pools, as separate grantd
//! processes have), an ended window read as absent and restarted by the next failure, and
//! the prune that deletes ended windows only.

// Test code: a panic is a failed test, which is what an unexpected Err should be.

use std::sync::Barrier;

use grantd_testkit::{contract, TestDb};

use grantd_ports::{FailureCounter, FailureKey, FailureWindow, Housekeeping, PrunePace};
use grantd_store_diesel::Database;

contract!(
    an_unknown_key_has_no_window,
    failures_count_in_one_window_per_key,
    an_ended_window_reads_as_absent_and_the_next_failure_starts_a_new_one,
    a_key_given_twice_counts_once,
    concurrent_failures_are_all_counted,
    concurrent_failures_through_two_pools_are_all_counted,
    prune_deletes_ended_windows_only,
);

const T0: i64 = 1_700_000_000;

fn key(name: &str) -> FailureKey {
    FailureKey::derive("test", &[name.as_bytes()])
}

fn window(failures: u32, expires_at: i64) -> Option<FailureWindow> {
    Some(FailureWindow {
        failures,
        expires_at,
    })
}

fn an_unknown_key_has_no_window(db: &Database) {
    assert_eq!(db.windows(&[key("a")], T0).unwrap(), vec![None]);
    assert_eq!(db.windows(&[], T0).unwrap(), Vec::new());
    db.record_failure(&[], T0, 60).unwrap();
}

fn failures_count_in_one_window_per_key(db: &Database) {
    let (a, b, c) = (key("a"), key("b"), key("c"));
    db.record_failure(&[a, b], T0, 60).unwrap();
    db.record_failure(&[a], T0 + 10, 60).unwrap();
    db.record_failure(&[a], T0 + 59, 60).unwrap();
    // In the order asked, whatever order they were counted in; the window stays where the
    // first failure put it.
    assert_eq!(
        db.windows(&[c, b, a], T0 + 59).unwrap(),
        vec![None, window(1, T0 + 60), window(3, T0 + 60)]
    );
}

fn an_ended_window_reads_as_absent_and_the_next_failure_starts_a_new_one(db: &Database) {
    let a = key("a");
    for _ in 0..5 {
        db.record_failure(&[a], T0, 60).unwrap();
    }
    assert_eq!(db.windows(&[a], T0 + 59).unwrap(), vec![window(5, T0 + 60)]);
    // `expires_at` is exclusive.
    assert_eq!(db.windows(&[a], T0 + 60).unwrap(), vec![None]);
    db.record_failure(&[a], T0 + 60, 30).unwrap();
    assert_eq!(db.windows(&[a], T0 + 60).unwrap(), vec![window(1, T0 + 90)]);
}

fn a_key_given_twice_counts_once(db: &Database) {
    let a = key("a");
    db.record_failure(&[a, a, a], T0, 60).unwrap();
    assert_eq!(db.windows(&[a], T0).unwrap(), vec![window(1, T0 + 60)]);
}

/// `threads` callers, each counting `per_thread` failures against the same keys (given in
/// different orders, so that a store locking them as given would deadlock), through `db_for`.
fn hammer<'a>(db_for: impl Fn(usize) -> &'a Database + Sync, threads: usize, per_thread: u32) {
    let keys = [key("shared"), key("also-shared"), key("third")];
    let start = Barrier::new(threads);
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (start, db_for, keys) = (&start, &db_for, &keys);
            scope.spawn(move || {
                let mut mine = keys.to_vec();
                mine.rotate_left(t % keys.len());
                start.wait();
                for _ in 0..per_thread {
                    db_for(t).record_failure(&mine, T0, 60).unwrap();
                }
            });
        }
    });
}

fn concurrent_failures_are_all_counted(db: &Database) {
    hammer(|_| db, 8, 25);
    let expected = window(200, T0 + 60);
    assert_eq!(
        db.windows(&[key("shared"), key("also-shared"), key("third")], T0)
            .unwrap(),
        vec![expected; 3]
    );
}

fn concurrent_failures_through_two_pools_are_all_counted(db: &TestDb) {
    // Two processes sharing one database: a second pool on the same URL.
    let other = Database::connect(db.url(), &grantd_testkit::database::options()).unwrap();
    let pools = [db.database(), &other];
    hammer(|t| pools[t % 2], 6, 20);
    assert_eq!(
        other.windows(&[key("shared")], T0).unwrap(),
        vec![window(120, T0 + 60)]
    );
}

fn prune_deletes_ended_windows_only(db: &Database) {
    db.record_failure(&[key("old"), key("older")], T0, 60)
        .unwrap();
    db.record_failure(&[key("live")], T0 + 30, 60).unwrap();
    // A batch of 1 exercises the loop.
    let report = db.prune(T0 + 60, PrunePace::unpaced(1)).unwrap();
    assert_eq!(report.auth_failures, 2);
    assert_eq!(report.total(), 2);
    assert_eq!(
        db.windows(&[key("live")], T0 + 60).unwrap(),
        vec![window(1, T0 + 90)]
    );
    // What was pruned starts afresh.
    db.record_failure(&[key("old")], T0 + 61, 60).unwrap();
    assert_eq!(
        db.windows(&[key("old")], T0 + 61).unwrap(),
        vec![window(1, T0 + 121)]
    );
    assert_eq!(
        db.prune(T0 + 60, PrunePace::unpaced(1000))
            .unwrap()
            .auth_failures,
        0
    );
}
