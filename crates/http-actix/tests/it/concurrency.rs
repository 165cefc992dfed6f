//! Races and restarts over real HTTP: 32 concurrent refreshes of one token, with and
//! without a grace period, on SQLite and on Postgres; and reuse detection after a restart.

use crate::common::*;
use grantd_domain::TokenSettings;
use grantd_testkit::race::post_forms_together;

const RACERS: usize = 32;

/// Presents `token` in RACERS refreshes that arrive at the server together (each has
/// arrived before any can be answered: a race, not a replay); returns every (status, body).
fn race(app: &TestApp, token: &str) -> Vec<(u16, serde_json::Value)> {
    let form = format!(
        "grant_type=refresh_token&refresh_token={token}&client_id=app&client_secret={SECRET}"
    );
    let requests = vec![(app.url("/oauth/token"), form); RACERS];
    post_forms_together(&requests)
}

/// How many of these refresh tokens still refresh (each check rotates it, so it is the last use).
fn live_chains(app: &TestApp, tokens: &[String]) -> usize {
    tokens.iter().filter(|t| refresh(app, t).0 == 200).count()
}

fn parallel_refreshes_have_exactly_one_winner(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let (_, r0) = login(&app);
    let results = race(&app, &r0);
    assert!(results.iter().all(|(s, _)| *s < 500), "no 5xx: {results:?}");
    let winners: Vec<_> = results.iter().filter(|(s, _)| *s == 200).collect();
    assert_eq!(winners.len(), 1, "exactly one winner: {results:?}");
    for (status, body) in results.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(
            (*status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
    }
    // The losers lost a race, which is not theft: the winner's chain is the one live chain.
    let successor = winners[0].1["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(live_chains(&app, &[successor]), 1);
    // A replay of the rotated token later is reuse.
    app.clock.advance(1);
    assert_eq!(refresh(&app, &r0).1["error"], "invalid_grant");
}

fn parallel_refreshes_within_grace_get_one_identical_response(backend: Backend) {
    let settings = TokenSettings {
        refresh_token_reuse_grace_period: 60,
        ..TokenSettings::default()
    };
    let app = TestApp::start(backend, settings);
    let (_, r0) = login(&app);
    let results = race(&app, &r0);
    assert!(
        results.iter().all(|(s, _)| *s == 200),
        "all get the response: {results:?}"
    );
    let first = &results[0].1;
    assert!(
        results.iter().all(|(_, b)| b == first),
        "every response is identical"
    );
    // Exactly one successor chain exists, and it is alive.
    assert_eq!(
        live_chains(&app, &[first["refresh_token"].as_str().unwrap().to_owned()]),
        1
    );
}

fn reuse_is_detected_after_a_restart(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let (_, r0) = login(&app);
    let (status, body) = refresh(&app, &r0);
    assert_eq!(status, 200);
    let r1 = body["refresh_token"].as_str().unwrap().to_owned();
    let app = app.restart();
    app.clock.advance(1);
    assert_eq!(refresh(&app, &r0).1["error"], "invalid_grant");
    assert_eq!(
        refresh(&app, &r1).1["error"],
        "invalid_grant",
        "reuse after restart revoked the grant"
    );
}

on_both_backends!(
    parallel_refreshes_have_exactly_one_winner,
    parallel_refreshes_within_grace_get_one_identical_response,
    reuse_is_detected_after_a_restart,
);
