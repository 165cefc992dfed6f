//! The `DpopReplayStore` contract on both backends: a `jti` hash is fresh once until it
//! expires, concurrent recordings (also through separate pools, as separate grantd
//! processes have) let exactly one win, and the prune deletes expired records only.

use std::sync::Barrier;

use grantd_ports::{DpopReplayStore, Housekeeping, PrunePace};
use grantd_store_diesel::Database;
use grantd_testkit::{contract, TestDb};

contract!(
    a_jti_is_fresh_once,
    an_expired_record_is_taken_over,
    concurrent_recordings_through_two_pools_let_exactly_one_win,
    prune_deletes_expired_jtis_only,
);

const T0: i64 = 1_700_000_000;

fn hash(n: u8) -> [u8; 32] {
    [n; 32]
}

fn a_jti_is_fresh_once(db: &Database) {
    assert!(db.record_jti(&hash(1), T0, T0 + 120).unwrap());
    assert!(!db.record_jti(&hash(1), T0 + 1, T0 + 121).unwrap());
    assert!(
        !db.record_jti(&hash(1), T0 + 120, T0 + 240).unwrap(),
        "still recorded at its expiry"
    );
    assert!(db.record_jti(&hash(2), T0 + 1, T0 + 121).unwrap());
}

fn an_expired_record_is_taken_over(db: &Database) {
    assert!(db.record_jti(&hash(1), T0, T0 + 120).unwrap());
    assert!(db.record_jti(&hash(1), T0 + 121, T0 + 241).unwrap());
    // The new record holds until its own expiry.
    assert!(!db.record_jti(&hash(1), T0 + 200, T0 + 320).unwrap());
}

fn concurrent_recordings_through_two_pools_let_exactly_one_win(db: &TestDb) {
    let other = Database::connect(db.url(), &grantd_testkit::database::options()).unwrap();
    let pools = [db.database(), &other];
    let threads = 8;
    let barrier = Barrier::new(threads);
    let fresh: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (barrier, pool) = (&barrier, pools[t % 2]);
                s.spawn(move || {
                    barrier.wait();
                    usize::from(pool.record_jti(&hash(7), T0, T0 + 120).unwrap())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(fresh, 1);
}

fn prune_deletes_expired_jtis_only(db: &Database) {
    db.record_jti(&hash(1), T0, T0 + 10).unwrap();
    db.record_jti(&hash(2), T0, T0 + 20).unwrap();
    db.record_jti(&hash(3), T0, T0 + 100).unwrap();
    // A batch of 1 exercises the loop.
    let report = db.prune(T0 + 50, PrunePace::unpaced(1)).unwrap();
    assert_eq!(report.dpop_jtis, 2);
    assert_eq!(report.total(), 2);
    assert!(!db.record_jti(&hash(3), T0 + 50, T0 + 150).unwrap());
    assert_eq!(
        db.prune(T0 + 50, PrunePace::unpaced(1000))
            .unwrap()
            .dpop_jtis,
        0
    );
}
