//! Two grantd processes on one PostgreSQL (the test's own) enforce one brute-force limit,
//! not one each: failures from one address spread over both instances add up, so the
//! address is refused at both once the sum reaches the budget, while the same account from
//! another address is served by both.

use std::net::{IpAddr, Ipv4Addr};

use crate::support::*;

#[test]
fn two_instances_on_one_postgres_share_one_limit() {
    let _heavy = crate::support::heavy();
    let pg = OwnPostgres::start();
    let mut env = env(Some(pg.url()));
    env.set("GRANTD_RATE_LIMIT__MAX_FAILED_PASSWORD_ATTEMPTS", "4");
    env.run_ok(&["migrate"]);
    let (id, secret) = env.create_client();
    env.create_user("alice", "wonderland");
    let client = (id.as_str(), secret.as_str());
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| env.serve("a"));
        let b = scope.spawn(|| env.serve("b"));
        (a.join().unwrap(), b.join().unwrap())
    });
    let attacker = http_from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)));
    let owner = http_from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)));

    // Two wrong passwords at each instance: four in all, the budget of (alice, 127.0.0.2).
    for base in [&a.base, &b.base, &a.base, &b.base] {
        let (status, body) = login(&attacker, base, client, ("alice", "guess"));
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{body}"
        );
    }
    // With per-process counters each instance would have seen two and let a third through.
    for base in [&a.base, &b.base] {
        let (status, body) = login(&attacker, base, client, ("alice", "wonderland"));
        assert_eq!(
            (status, body["error"].as_str()),
            (429, Some("too_many_requests")),
            "{body}"
        );
    }
    // alice, from her own address, is served by both.
    for base in [&a.base, &b.base] {
        let (status, body) = login(&owner, base, client, ("alice", "wonderland"));
        assert_eq!(status, 200, "{body}");
    }
}
