//! `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0) over real HTTP
//! on both backends: it repeats every field of the RFC 8414 document unchanged and adds
//! the provider's own (endpoints that answer, RS256 plus the configured and published
//! algorithms); without signing keys it is a JSON 404, RFC 8414 lists no OpenID Connect
//! endpoint and no id_token_hint can verify.

use std::sync::Arc;

use grantd_domain::{KeyRing, KeySettings, TokenSettings};
use grantd_ports::SigningAlgorithm;
use serde_json::{json, Value};

use crate::common::*;

fn document(app: &TestApp, path: &str) -> (u16, Value) {
    json(http().get(app.url(path)).send().unwrap())
}

fn openid(app: &TestApp) -> Value {
    let (status, doc) = document(app, "/.well-known/openid-configuration");
    assert_eq!(status, 200, "{doc}");
    doc
}

fn oauth(app: &TestApp) -> Value {
    let (status, doc) = document(app, "/.well-known/oauth-authorization-server");
    assert_eq!(status, 200, "{doc}");
    doc
}

fn the_openid_document_agrees_with_the_rfc_8414_one(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let (oidc, rfc8414) = (openid(&app), oauth(&app));
    let shared = rfc8414.as_object().unwrap();
    for field in [
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "scopes_supported",
        "grant_types_supported",
        "response_types_supported",
        "jwks_uri",
    ] {
        assert!(shared.contains_key(field), "RFC 8414 has {field}");
    }
    for (field, value) in shared {
        assert_eq!(&oidc[field], value, "{field} differs");
    }
    assert_eq!(oidc["issuer"], "http://grantd.test");
    for field in ["scopes_supported", "grant_types_supported"] {
        assert!(!oidc[field].as_array().unwrap().is_empty(), "{field}");
    }
    assert!(oidc["scopes_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("openid")));
    assert_eq!(oidc["subject_types_supported"], json!(["public"]));
    assert_eq!(oidc["response_types_supported"], json!(["code"]));
    assert_eq!(oidc["response_modes_supported"], json!(["query"]));
    assert_eq!(
        oidc["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    assert_eq!(
        oidc["claims_supported"],
        json!([
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "at_hash",
            "amr",
            "name",
            "preferred_username",
            "email",
            "email_verified"
        ])
    );
    for unsupported in [
        "claims_parameter_supported",
        "request_parameter_supported",
        "request_uri_parameter_supported",
    ] {
        assert_eq!(oidc[unsupported], false, "{unsupported}");
    }
    // The advertised endpoints answer under the issuer (here: the test's base URL).
    let path = |field: &str| {
        oidc[field]
            .as_str()
            .unwrap()
            .strip_prefix("http://grantd.test")
            .unwrap()
            .to_owned()
    };
    assert_eq!(path("userinfo_endpoint"), "/oauth/userinfo");
    assert_eq!(path("end_session_endpoint"), "/oauth/logout");
    assert_eq!(path("jwks_uri"), "/.well-known/jwks.json");
    let userinfo = http()
        .get(app.url(&path("userinfo_endpoint")))
        .send()
        .unwrap();
    assert_eq!(userinfo.status(), 401, "a bearer challenge, not a 404");
    let logout = http()
        .get(app.url(&path("end_session_endpoint")))
        .send()
        .unwrap();
    assert_eq!(logout.status(), 200, "the signed-out page");
    let (status, _) = document(&app, &path("jwks_uri"));
    assert_eq!(status, 200);
}

fn the_signing_algorithms_are_rs256_the_configured_and_the_published_ones(backend: Backend) {
    let app = TestApp::start_with(backend, TokenSettings::default(), |config| {
        // `keys.algorithm = "ES256"`, as the configuration file spells it.
        config.keys.algorithm = serde_json::from_value(json!("ES256")).unwrap();
    });
    assert_eq!(
        openid(&app)["id_token_signing_alg_values_supported"],
        json!(["RS256", "ES256"])
    );
    // A key of another algorithm (made under an earlier `keys.algorithm`) is published.
    let eddsa = KeyRing::new(
        Arc::new(app.db.clone()),
        Arc::new(grantd_testkit::keys::jose()),
        Arc::new(app.clock.clone()),
        KeySettings {
            algorithm: SigningAlgorithm::EdDsa,
            publish_ahead: 600,
        },
    );
    eddsa.rotate().unwrap();
    assert_eq!(
        openid(&app)["id_token_signing_alg_values_supported"],
        json!(["RS256", "ES256", "EdDSA"])
    );
}

fn without_signing_keys_there_is_no_openid_configuration(backend: Backend) {
    let app = TestApp::start_without_signing_keys(backend, TokenSettings::default());
    let (status, body) = document(&app, "/.well-known/openid-configuration");
    assert_eq!(status, 404);
    assert_eq!(body["error"], "not_found");
    let rfc8414 = oauth(&app);
    for field in ["jwks_uri", "userinfo_endpoint", "end_session_endpoint"] {
        assert!(rfc8414.get(field).is_none(), "{field}: {rfc8414}");
    }
    // No key can have signed an id token: every hint is refused, and nothing breaks.
    let resp = http()
        .get(app.url("/oauth/logout?id_token_hint=eyJh.eyJi.c2ln"))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 400);
}

on_both_backends!(
    the_openid_document_agrees_with_the_rfc_8414_one,
    the_signing_algorithms_are_rs256_the_configured_and_the_published_ones,
    without_signing_keys_there_is_no_openid_configuration,
);
