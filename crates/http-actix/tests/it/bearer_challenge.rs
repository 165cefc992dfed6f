//! RFC 6750 §3, §3.1 at the sample protected resource, over real HTTP on SQLite and
//! Postgres: a request with no credentials (no header, another scheme, or a token in the
//! query string, which grantd does not accept) gets 401 with the bare
//! `Bearer realm="grantd"` challenge and no error code; a bad, expired or revoked token
//! keeps `error="invalid_token"`, with the realm.

use crate::common::*;
use grantd_domain::TokenSettings;

const BARE: &str = r#"Bearer realm="grantd""#;

fn challenge(response: &reqwest::blocking::Response) -> String {
    response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned()
}

fn no_credentials_get_a_bare_challenge_and_bad_tokens_invalid_token(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let (access, r0) = login(&app);
    let without = [
        http().get(app.url("/api/me")).send().unwrap(),
        http()
            .get(app.url("/api/me"))
            .basic_auth("app", Some(SECRET))
            .send()
            .unwrap(),
        http()
            .get(app.url(&format!("/api/me?access_token={access}")))
            .send()
            .unwrap(),
    ];
    for response in without {
        assert_eq!(response.status(), 401);
        assert_eq!(challenge(&response), BARE);
        let body = response.text().unwrap();
        assert!(!body.contains("error"), "no error information: {body}");
    }

    let invalid = |response: reqwest::blocking::Response, what: &str| {
        assert_eq!(response.status(), 401, "{what}");
        let challenge = challenge(&response);
        assert!(
            challenge.starts_with(r#"Bearer realm="grantd", error="invalid_token""#),
            "{what}: {challenge}"
        );
        assert_eq!(
            response.json::<serde_json::Value>().unwrap()["error"],
            "invalid_token",
            "{what}"
        );
    };
    invalid(
        me(&app, "gat_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        "unknown",
    );
    invalid(
        http()
            .get(app.url("/api/me"))
            .header("authorization", "Bearer")
            .send()
            .unwrap(),
        "a Bearer header without a token",
    );
    // Revoked: reuse of the rotated refresh token revokes the grant.
    assert_eq!(refresh(&app, &r0).0, 200);
    app.clock.advance(1);
    assert_eq!(refresh(&app, &r0).0, 400);
    invalid(me(&app, &access), "revoked");
    // Expired.
    let (access, _) = login(&app);
    app.clock.advance(3601);
    invalid(me(&app, &access), "expired");
}

on_both_backends!(no_credentials_get_a_bare_challenge_and_bad_tokens_invalid_token);
