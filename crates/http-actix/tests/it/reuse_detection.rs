//! Refresh token reuse detection over real HTTP, on SQLite and on Postgres (RFC 9700
//! §4.14.2): a replay sent after the rotation is reuse even within the same second, a
//! retry within the grace period replays only while the successor is unused, and public
//! clients rotate whatever the setting (§2.2.2). The races are in `concurrency`.

use crate::common::*;
use grantd_domain::TokenSettings;

fn refused(app: &TestApp, token: &str) -> bool {
    let (status, body) = refresh(app, token);
    (status, body["error"].as_str()) == (400, Some("invalid_grant"))
}

fn a_sequential_replay_at_once_revokes_the_grant(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let (_, r0) = login(&app);
    let (status, body) = refresh(&app, &r0);
    assert_eq!(status, 200, "{body}");
    let r1 = body["refresh_token"].as_str().unwrap().to_owned();
    let access = body["access_token"].as_str().unwrap().to_owned();
    // At once: the clock's second has not moved. The replay arrived after the rotation, so
    // it is reuse, not a lost race.
    assert!(refused(&app, &r0), "the replay is refused");
    assert!(
        refused(&app, &r1),
        "and it revoked the grant: R1 is dead too"
    );
    assert_eq!(me(&app, &access).status(), 401, "with its access tokens");
}

fn a_grace_retry_replays_until_the_successor_is_used(backend: Backend) {
    let settings = TokenSettings {
        refresh_token_reuse_grace_period: 60,
        ..TokenSettings::default()
    };
    let app = TestApp::start(backend, settings);
    let (_, r0) = login(&app);
    let (status, first) = refresh(&app, &r0);
    assert_eq!(status, 200, "{first}");
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    // A retry (the client lost the response): the identical response.
    app.clock.advance(5);
    assert_eq!(refresh(&app, &r0), (200, first.clone()));
    // The client moves on to R1.
    let (status, second) = refresh(&app, &r1);
    assert_eq!(status, 200, "{second}");
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    // R0 again, still inside the window: reuse now, and the grant is revoked.
    app.clock.advance(5);
    assert!(refused(&app, &r0), "R0 after R1 was used is refused");
    assert!(refused(&app, &r2), "and it revoked the grant");
}

fn public_clients_always_rotate(backend: Backend) {
    let settings = TokenSettings {
        always_issue_new_refresh_token: false,
        ..TokenSettings::default()
    };
    let app = TestApp::start(backend, settings);
    let grant = format!("grant_type=password&username=alice&password={PASSWORD}&client_id=spa");
    let (status, body) = json(token_request(&app, None, &grant));
    assert_eq!(status, 200, "{body}");
    let r0 = body["refresh_token"].as_str().unwrap().to_owned();
    let spa_refresh = |token: &str| {
        json(token_request(
            &app,
            None,
            &format!("grant_type=refresh_token&refresh_token={token}&client_id=spa"),
        ))
    };
    let (status, body) = spa_refresh(&r0);
    assert_eq!(status, 200, "{body}");
    let r1 = body["refresh_token"]
        .as_str()
        .expect("a public client gets a new refresh token")
        .to_owned();
    assert_ne!(r1, r0);
    // The old one was consumed: presenting it again is reuse.
    let (status, body) = spa_refresh(&r0);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // A confidential client under the same setting keeps its token.
    let (_, kept) = login(&app);
    let (status, body) = refresh(&app, &kept);
    assert_eq!(status, 200, "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
}

on_both_backends!(
    a_sequential_replay_at_once_revokes_the_grant,
    a_grace_retry_replays_until_the_successor_is_used,
    public_clients_always_rotate,
);
