//! `GET /.well-known/jwks.json` over real HTTP on both backends: the document (RFC 7517:
//! `kid`, `alg`, `use`, public members only) and its `Cache-Control`, and the rotation
//! timeline as the test clock moves: a new key is published at once, a retired key only
//! leaves once its tokens have expired.

use crate::common::*;
use grantd_domain::TokenSettings;
use serde_json::Value;

fn jwks(app: &TestApp) -> (String, Value) {
    let resp = http()
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let cache = resp.headers()["cache-control"].to_str().unwrap().to_owned();
    (cache, resp.json().unwrap())
}

fn kids(doc: &Value) -> Vec<String> {
    doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn sorted<const N: usize>(kids: [String; N]) -> Vec<String> {
    let mut kids = kids.to_vec();
    kids.sort();
    kids
}

fn the_jwks_publishes_public_keys_with_kid_alg_use(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    // With keys.encryption_key set, the first key is made at start-up: a relying party's
    // first look at the JWKS never caches an empty set.
    let first = app
        .key_ring()
        .current()
        .unwrap()
        .expect("a key from start-up");
    assert_eq!(kids(&jwks(&app).1), std::slice::from_ref(&first.kid));

    let key = app.key_ring().rotate().unwrap();
    let (cache, doc) = jwks(&app);
    assert_eq!(cache, "public, max-age=300", "half of keys.publish_ahead");
    assert_eq!(kids(&doc), sorted([first.kid, key.kid.clone()]));
    let jwk = doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == key.kid.as_str())
        .unwrap();
    assert_eq!(jwk["kid"], key.kid.as_str());
    assert_eq!(jwk["alg"], "RS256");
    assert_eq!(jwk["use"], "sig");
    assert_eq!(jwk["kty"], "RSA");
    assert!(jwk["n"].is_string() && jwk["e"].is_string());
    for private in ["d", "p", "q", "dp", "dq", "qi"] {
        assert!(jwk.get(private).is_none(), "no private member {private}");
    }
    // A JOSE library reads the set as it is.
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(doc.clone()).unwrap();
    jsonwebtoken::DecodingKey::from_jwk(set.find(&key.kid).unwrap()).unwrap();
}

fn a_retired_key_leaves_the_jwks_only_after_its_tokens_expired(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let ring = app.key_ring();
    let old = ring.current().unwrap().expect("a key from start-up");
    let new = ring.rotate().unwrap();
    assert_eq!(
        kids(&jwks(&app).1),
        sorted([old.kid.clone(), new.kid.clone()])
    );
    assert_eq!(
        ring.current().unwrap().unwrap().kid,
        old.kid,
        "new one waits"
    );
    app.clock.advance(600);
    assert_eq!(ring.current().unwrap().unwrap().kid, new.kid);

    ring.retire(&old.kid, 3600).unwrap();
    app.clock.advance(3599);
    assert_eq!(
        kids(&jwks(&app).1),
        sorted([old.kid.clone(), new.kid.clone()])
    );
    app.clock.advance(1);
    assert_eq!(kids(&jwks(&app).1), [new.kid]);
}

fn the_jwks_answers_get_only(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let resp = http()
        .post(app.url("/.well-known/jwks.json"))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 404);
}

on_both_backends!(
    the_jwks_publishes_public_keys_with_kid_alg_use,
    a_retired_key_leaves_the_jwks_only_after_its_tokens_expired,
    the_jwks_answers_get_only,
);
