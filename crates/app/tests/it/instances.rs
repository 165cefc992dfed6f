//! Several grantd processes on one PostgreSQL (the test's own) behave as one server:
//! migrations started together all succeed (an advisory lock), a token rotated through one
//! instance is consumed for all, reuse seen by the other revokes the grant everywhere, and
//! parallel refreshes of one token spread over both have exactly one winner.

use std::sync::Barrier;

use crate::support::*;

#[test]
fn two_instances_on_one_postgres_behave_as_one_server() {
    let _heavy = crate::support::heavy();
    let pg = OwnPostgres::start();
    let env = env(Some(pg.url()));

    // Four `grantd migrate` at once on an empty database: all succeed.
    let start = Barrier::new(4);
    let outcomes: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let start = &start;
                let env = &env;
                scope.spawn(move || {
                    start.wait();
                    env.grantd(&["migrate"]).output().unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for out in &outcomes {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let (id, secret) = env.create_client();
    env.create_user("alice", "wonderland");
    let client = (id.as_str(), secret.as_str());
    // Two servers started together also migrate together.
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| env.serve("a"));
        let b = scope.spawn(|| env.serve("b"));
        (a.join().unwrap(), b.join().unwrap())
    });
    let http = fresh_client();

    // Issued by A, rotated through B, reused at A: consumed for all, and the reuse
    // revokes the grant for both.
    let (status, first) = login(&http, &a.base, client, ("alice", "wonderland"));
    assert_eq!(status, 200, "{first}");
    let r0 = first["refresh_token"].as_str().unwrap().to_owned();
    let (status, second) = refresh(&http, &b.base, client, &r0);
    assert_eq!(status, 200, "{second}");
    let r1 = second["refresh_token"].as_str().unwrap().to_owned();
    let access1 = second["access_token"].as_str().unwrap().to_owned();
    // An access token issued by B is good at A.
    let me = http
        .get(a.url("/api/me"))
        .bearer_auth(&access1)
        .send()
        .unwrap();
    assert_eq!(me.status(), 200);
    // At once, in the rotation's own second: the replay arrived after the rotation
    // committed, so it is reuse (decided in milliseconds), not a lost race.
    let (status, body) = refresh(&http, &a.base, client, &r0);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = refresh(&http, &b.base, client, &r1);
    assert_eq!(status, 400, "the reuse at A revoked the grant for B too");
    let me = http
        .get(b.url("/api/me"))
        .bearer_auth(&access1)
        .send()
        .unwrap();
    assert_eq!(me.status(), 401);

    // 16 concurrent refreshes of one token, alternating between A and B: one winner, and
    // the losers lost a race (they arrived before the rotation), so the chain lives on.
    let (status, fresh) = login(&http, &b.base, client, ("alice", "wonderland"));
    assert_eq!(status, 200);
    let token = fresh["refresh_token"].as_str().unwrap().to_owned();
    let form = format!(
        "grant_type=refresh_token&refresh_token={token}&client_id={id}&client_secret={secret}"
    );
    let requests: Vec<_> = (0..16)
        .map(|i| {
            let server = if i % 2 == 0 { &a } else { &b };
            (server.url("/oauth/token"), form.clone())
        })
        .collect();
    let results = grantd_testkit::race::post_forms_together(&requests);
    let winners: Vec<_> = results.iter().filter(|(s, _)| *s == 200).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for (status, body) in &results {
        if *status != 200 {
            assert_eq!(
                (*status, body["error"].as_str()),
                (400, Some("invalid_grant")),
                "{body}"
            );
        }
    }
    // The winner's chain is the one live chain, on either instance.
    let next = winners[0].1["refresh_token"].as_str().unwrap();
    let (status, body) = refresh(&http, &a.base, client, next);
    assert_eq!(status, 200, "{body}");
}
