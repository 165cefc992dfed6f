//! Hostile `DPoP` headers over real HTTP, on SQLite and Postgres: huge, not JSON, bad
//! base64, claims and JWK members of the wrong JSON types, deep nesting, `alg: none`, a
//! private or undersized RSA key. The token endpoint answers each with 400
//! `invalid_dpop_proof` and a resource with 401 `invalid_dpop_proof` (RFC 9449 §7.1);
//! never a 5xx, never tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use grantd_domain::TokenSettings;
use grantd_ports::Clock as _;
use grantd_testkit::dpop::DpopKey;
use serde_json::{json, Value};

use crate::common::*;
use crate::dpop::{resource, spa_login, token_url, token_with};

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// A compact JWS of these header and claims with a junk signature.
fn unsigned(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}.{}",
        b64(header),
        b64(claims),
        URL_SAFE_NO_PAD.encode([7u8; 64])
    )
}

/// The hostile proofs, each with what it is.
fn hostile(app: &TestApp) -> Vec<(&'static str, String)> {
    let now = app.clock.now();
    let url = token_url(app);
    let claims = json!({"jti": "j1", "htm": "POST", "htu": url, "iat": now});
    let ec = json!({"kty": "EC", "crv": "P-256", "x": "eA", "y": "eQ"});
    let header = |jwk: Value| json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk});
    let mut nested = json!("deep");
    for _ in 0..200 {
        nested = json!([nested]);
    }
    let small_rsa = json!({"kty": "RSA", "e": "AQAB",
        "n": URL_SAFE_NO_PAD.encode([0xc3u8; 128])});
    vec![
        ("empty", String::new()),
        ("one dot", ".".into()),
        (
            "huge",
            format!("{}.{}.{}", "e".repeat(5000), "e".repeat(1000), "e"),
        ),
        ("not base64", "!!!.@@@.###".into()),
        (
            "base64 of not JSON",
            format!(
                "{}.{}.{}",
                URL_SAFE_NO_PAD.encode("not json"),
                URL_SAFE_NO_PAD.encode("{"),
                "AA"
            ),
        ),
        (
            "padding and the wrong alphabet",
            "eyJh+/==.eyJi+/==.c2ln+/==".into(),
        ),
        ("a JSON array header", unsigned(&json!([1, 2]), &claims)),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(&json!({"typ": "dpop+jwt", "alg": "none", "jwk": ec})),
                b64(&claims)
            ),
        ),
        (
            "alg HS256",
            unsigned(
                &json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": {"kty": "oct", "k": "AAAA"}}),
                &claims,
            ),
        ),
        (
            "alg a number",
            unsigned(&json!({"typ": "dpop+jwt", "alg": 256, "jwk": ec}), &claims),
        ),
        (
            "typ an object",
            unsigned(
                &json!({"typ": {"a": 1}, "alg": "ES256", "jwk": ec}),
                &claims,
            ),
        ),
        ("jwk a string", unsigned(&header(json!("EC")), &claims)),
        (
            "jwk x a number",
            unsigned(
                &header(json!({"kty": "EC", "crv": "P-256", "x": 1, "y": "eQ"})),
                &claims,
            ),
        ),
        (
            "jwk nested deep",
            unsigned(
                &header(json!({"kty": "EC", "crv": "P-256", "x": nested, "y": "eQ"})),
                &claims,
            ),
        ),
        (
            "jwk private",
            unsigned(
                &header(json!({"kty": "EC", "crv": "P-256", "x": "eA", "y": "eQ", "d": "eA"})),
                &claims,
            ),
        ),
        (
            "an RSA key of 1024 bits",
            unsigned(
                &json!({"typ": "dpop+jwt", "alg": "RS256", "jwk": small_rsa}),
                &claims,
            ),
        ),
        (
            "claims of the wrong types",
            unsigned(
                &header(ec.clone()),
                &json!({"jti": 1, "htm": ["POST"], "htu": {}, "iat": "now"}),
            ),
        ),
        (
            "claims nested deep",
            unsigned(&header(ec.clone()), &json!({"jti": nested, "htm": "POST"})),
        ),
    ]
}

fn the_token_endpoint_refuses_hostile_proofs_with_400(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    for (what, proof) in hostile(&app) {
        let (status, body) = token_with(&app, None, &[proof], &spa_login());
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_dpop_proof")),
            "{what}: {body}"
        );
    }
    // Far past any proof's size: refused before the handler (431), not a 5xx.
    let resp = http()
        .post(app.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("DPoP", "e".repeat(64 * 1024))
        .body(spa_login())
        .send()
        .unwrap();
    assert!(resp.status().is_client_error(), "{}", resp.status());
}

fn a_resource_refuses_hostile_proofs_with_401(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let key = DpopKey::generate();
    let good = key.proof("POST", &token_url(&app), app.clock.now(), None);
    let (status, body) = token_with(&app, None, &[good], &spa_login());
    assert_eq!(status, 200, "{body}");
    let access = body["access_token"].as_str().unwrap().to_owned();
    for (what, proof) in hostile(&app) {
        let (status, challenge, body) = resource(&app, "/api/me", "DPoP", &access, &[proof]);
        assert_eq!(status, 401, "{what}: {body}");
        assert_eq!(body["error"], "invalid_dpop_proof", "{what}: {body}");
        assert!(challenge.starts_with("DPoP "), "{what}: {challenge}");
    }
}

on_both_backends!(
    the_token_endpoint_refuses_hostile_proofs_with_400,
    a_resource_refuses_hostile_proofs_with_401,
);
