//! RFC 6750 §3, §3.1 at the sample protected resource, over real HTTP on SQLite and
//! Postgres: a request with no credentials (no header, another scheme, or a token in the
//! query string, which grantd does not accept) gets 401 with the bare
//! `Bearer realm="grantd"` challenge and no error code; a malformed `Authorization` header
//! is 400 `invalid_request`; a bad, expired or revoked token keeps `error="invalid_token"`,
//! with the realm.

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

/// RFC 6750 §3.1: a malformed `Authorization` header is `invalid_request` (400), as the
/// resource-server crate answers it, challenged under the scheme the request used.
fn a_malformed_authorization_header_is_invalid_request(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let (access, _) = login(&app);
    let cases: Vec<(&str, Vec<&[u8]>, &str)> = vec![
        ("a Bearer header without a token", vec![b"Bearer"], "Bearer"),
        ("a Bearer header of spaces", vec![b"Bearer    "], "Bearer"),
        ("a token with a space", vec![b"Bearer a b"], "Bearer"),
        ("a token with a quote", vec![b"Bearer a\"b"], "Bearer"),
        ("padding only", vec![b"Bearer ==="], "Bearer"),
        ("not text", vec![b"Bearer \xff\xfe"], "Bearer"),
        (
            "two Authorization headers",
            vec![b"Bearer gat_a", b"Bearer gat_b"],
            "Bearer",
        ),
        ("a DPoP header without a token", vec![b"DPoP"], "DPoP"),
    ];
    // (An overlong token is refused by actix itself, 431, before any handler: the crate's
    // unit tests cover the limit.)
    for path in ["/api/me", "/oauth/userinfo"] {
        for (what, values, scheme) in &cases {
            let mut req = http().get(app.url(path));
            for value in values {
                req = req.header(
                    "authorization",
                    reqwest::header::HeaderValue::from_bytes(value).unwrap(),
                );
            }
            let response = req.send().unwrap();
            assert_eq!(response.status(), 400, "{path}: {what}");
            let challenge = challenge(&response);
            assert!(
                challenge.starts_with(scheme) && challenge.contains(r#"error="invalid_request""#),
                "{path}: {what}: {challenge}"
            );
            assert_eq!(
                response.json::<serde_json::Value>().unwrap()["error"],
                "invalid_request",
                "{path}: {what}"
            );
        }
    }
    // A well-formed header still works, whatever the scheme's case.
    let response = http()
        .get(app.url("/api/me"))
        .header("authorization", format!("bEaReR {access}"))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
}

on_both_backends!(
    no_credentials_get_a_bare_challenge_and_bad_tokens_invalid_token,
    a_malformed_authorization_header_is_invalid_request,
);
