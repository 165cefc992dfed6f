//! Revocation (RFC 7009), introspection (RFC 7662), metadata (RFC 8414), brute-force
//! limits and the retry grace period over real HTTP, on SQLite and on Postgres.

use crate::common::*;
use grantd_domain::{ReusePolicy, TokenSettings};

fn introspect(app: &TestApp, token: &str) -> serde_json::Value {
    let resp = post_form(
        app,
        "/oauth/introspect",
        ("rs", SECRET),
        &format!("token={token}"),
    );
    assert_eq!(resp.status(), 200);
    resp.json().unwrap()
}

fn revoking_a_refresh_token_revokes_the_grant(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let (access, r0) = login(&app);
    let resp = post_form(
        &app,
        "/oauth/revoke",
        ("app", SECRET),
        &format!("token={r0}&token_type_hint=refresh_token"),
    );
    assert_eq!(resp.status(), 200);
    assert_eq!(refresh(&app, &r0).1["error"], "invalid_grant");
    assert_eq!(
        me(&app, &access).status(),
        401,
        "the grant's access token died with it"
    );
}

fn revoking_an_access_token_revokes_only_it(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let (access, r0) = login(&app);
    // A wrong hint is not trusted.
    let resp = post_form(
        &app,
        "/oauth/revoke",
        ("app", SECRET),
        &format!("token={access}&token_type_hint=refresh_token"),
    );
    assert_eq!(resp.status(), 200);
    assert_eq!(me(&app, &access).status(), 401);
    assert_eq!(refresh(&app, &r0).0, 200, "the refresh token lives on");
}

fn revoking_unknown_or_foreign_tokens_answers_200_and_changes_nothing(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let (access, r0) = login(&app);
    for token in [r0.as_str(), access.as_str(), "grt_unknown", "nonsense"] {
        let resp = post_form(
            &app,
            "/oauth/revoke",
            ("other", OTHER_SECRET),
            &format!("token={token}"),
        );
        assert_eq!(resp.status(), 200, "{token}");
    }
    assert_eq!(me(&app, &access).status(), 200);
    assert_eq!(refresh(&app, &r0).0, 200);
}

fn revocation_errors(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let code = "gac_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let (status, body) = json(post_form(
        &app,
        "/oauth/revoke",
        ("app", SECRET),
        &format!("token={code}"),
    ));
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_token_type"))
    );
    let (status, body) = json(post_form(
        &app,
        "/oauth/revoke",
        ("app", "wrong"),
        "token=x",
    ));
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (status, body) = json(post_form(
        &app,
        "/oauth/revoke",
        ("app", SECRET),
        "token_type_hint=access_token",
    ));
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

fn introspection(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let (access, r0) = login(&app);
    let active = introspect(&app, &access);
    assert_eq!(active["active"], true);
    assert_eq!(active["client_id"], "app");
    assert_eq!(active["username"], "alice");
    assert_eq!(active["sub"], "user-alice");
    assert_eq!(active["scope"], "read write");
    assert_eq!(active["token_type"], "Bearer");
    assert!(active["exp"].as_i64().unwrap() > active["iat"].as_i64().unwrap());
    assert_eq!(introspect(&app, &r0)["token_type"], "refresh_token");
    // Rotated: the old refresh token is inactive, and says nothing more.
    assert_eq!(refresh(&app, &r0).0, 200);
    assert_eq!(
        introspect(&app, &r0),
        serde_json::json!({ "active": false })
    );
    assert_eq!(
        introspect(&app, "garbage"),
        serde_json::json!({ "active": false })
    );
    app.clock.advance(3601);
    assert_eq!(
        introspect(&app, &access),
        serde_json::json!({ "active": false })
    );
    // Only clients with the introspection right.
    let (status, body) = json(post_form(
        &app,
        "/oauth/introspect",
        ("app", SECRET),
        &format!("token={access}"),
    ));
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("unauthorized_client"))
    );
    let (status, _) = json(post_form(
        &app,
        "/oauth/introspect",
        ("rs", "wrong"),
        &format!("token={access}"),
    ));
    assert_eq!(status, 401);
}

fn metadata_document(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let doc: serde_json::Value = http()
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(doc["issuer"], "http://grantd.test");
    assert_eq!(doc["token_endpoint"], "http://grantd.test/oauth/token");
    assert_eq!(
        doc["revocation_endpoint"],
        "http://grantd.test/oauth/revoke"
    );
    assert_eq!(
        doc["introspection_endpoint"],
        "http://grantd.test/oauth/introspect"
    );
    // The test app has signing keys configured (keys.encryption_key).
    assert_eq!(doc["jwks_uri"], "http://grantd.test/.well-known/jwks.json");
    for key in [
        "grant_types_supported",
        "response_types_supported",
        "token_endpoint_auth_methods_supported",
        "code_challenge_methods_supported",
        "revocation_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
        "scopes_supported",
    ] {
        assert!(doc[key].is_array(), "{key}");
    }
    assert!(doc["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&"refresh_token".into()));
}

fn brute_force_gets_429(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    for _ in 0..10 {
        let (status, _) = json(token_request(
            &app,
            Some(("app", SECRET)),
            "grant_type=password&username=alice&password=wrong",
        ));
        assert_eq!(status, 400);
    }
    let resp = token_request(
        &app,
        Some(("app", SECRET)),
        &format!("grant_type=password&username=alice&password={PASSWORD}"),
    );
    assert_eq!(resp.status(), 429);
    let retry_after: i64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    // Client secrets: 10 failures for `other` block `other` only.
    for _ in 0..10 {
        assert_eq!(
            token_request(
                &app,
                Some(("other", "wrong")),
                "grant_type=client_credentials"
            )
            .status(),
            401
        );
    }
    assert_eq!(
        token_request(
            &app,
            Some(("other", OTHER_SECRET)),
            "grant_type=client_credentials"
        )
        .status(),
        429
    );
    assert_eq!(
        token_request(
            &app,
            Some(("cc-only", SECRET)),
            "grant_type=client_credentials"
        )
        .status(),
        200
    );
}

fn retry_within_grace_period_gets_identical_response(backend: Backend) {
    let settings = TokenSettings {
        refresh_token_reuse_grace_period: 30,
        ..TokenSettings::default()
    };
    let app = TestApp::start(backend, settings);
    let (_, r0) = login(&app);
    let (status, first) = refresh(&app, &r0);
    assert_eq!(status, 200);
    app.clock.advance(10);
    let (status, retry) = refresh(&app, &r0);
    assert_eq!(status, 200);
    assert_eq!(retry, first, "identical response within the grace period");
    // The successor is the one live chain.
    let r1 = first["refresh_token"].as_str().unwrap();
    let (status, next) = refresh(&app, r1);
    assert_eq!(status, 200);
    // After the window, the old token is reuse: the grant dies.
    app.clock.advance(31);
    assert_eq!(refresh(&app, &r0).1["error"], "invalid_grant");
    assert_eq!(
        refresh(&app, next["refresh_token"].as_str().unwrap()).1["error"],
        "invalid_grant"
    );
}

fn report_only_policy_revokes_nothing(backend: Backend) {
    let settings = TokenSettings {
        refresh_token_reuse_policy: ReusePolicy::ReportOnly,
        ..TokenSettings::default()
    };
    let app = TestApp::start(backend, settings);
    let (_, r0) = login(&app);
    let (_, first) = refresh(&app, &r0);
    app.clock.advance(1);
    assert_eq!(refresh(&app, &r0).1["error"], "invalid_grant");
    assert_eq!(
        refresh(&app, first["refresh_token"].as_str().unwrap()).0,
        200,
        "the chain lives on"
    );
}

on_both_backends!(
    revoking_a_refresh_token_revokes_the_grant,
    revoking_an_access_token_revokes_only_it,
    revoking_unknown_or_foreign_tokens_answers_200_and_changes_nothing,
    revocation_errors,
    introspection,
    metadata_document,
    brute_force_gets_429,
    retry_within_grace_period_gets_identical_response,
    report_only_policy_revokes_nothing,
);
