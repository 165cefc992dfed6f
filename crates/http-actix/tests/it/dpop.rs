//! DPoP (RFC 9449) over real HTTP, on SQLite and on Postgres, with a real client key: a
//! proof binds the access token (`token_type: DPoP`, `cnf.jkt` in introspection and in a
//! JWT) and a public client's refresh tokens; a bound refresh without the key, or with
//! another, is refused and changes nothing; a bad or replayed proof is
//! `invalid_dpop_proof`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use grantd_domain::TokenSettings;
use grantd_ports::Clock as _;
use grantd_testkit::dpop::DpopKey;
use serde_json::{json, Value};

use crate::common::*;

/// The token endpoint's URL as the metadata names it (what `htu` must be).
pub(crate) fn token_url(app: &TestApp) -> String {
    let (_, metadata) = json(
        http()
            .get(app.url("/.well-known/oauth-authorization-server"))
            .send()
            .unwrap(),
    );
    metadata["token_endpoint"].as_str().unwrap().to_owned()
}

/// POSTs `body` to the token endpoint with these `DPoP` headers (and Basic credentials).
pub(crate) fn token_with(
    app: &TestApp,
    basic: Option<(&str, &str)>,
    proofs: &[String],
    body: &str,
) -> (u16, Value) {
    let mut req = http()
        .post(app.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned());
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    for proof in proofs {
        req = req.header("DPoP", proof);
    }
    json(req.send().unwrap())
}

pub(crate) fn proof(app: &TestApp, key: &DpopKey) -> String {
    key.proof("POST", &token_url(app), app.clock.now(), None)
}

pub(crate) fn spa_login() -> String {
    format!("grant_type=password&username=alice&password={PASSWORD}&client_id=spa")
}

pub(crate) fn spa_refresh(token: &str) -> String {
    format!("grant_type=refresh_token&refresh_token={token}&client_id=spa")
}

pub(crate) fn introspect(app: &TestApp, token: &str) -> Value {
    let resp = post_form(
        app,
        "/oauth/introspect",
        ("rs", SECRET),
        &format!("token={token}"),
    );
    assert_eq!(resp.status(), 200);
    resp.json().unwrap()
}

pub(crate) fn is_invalid_dpop_proof((status, body): &(u16, Value)) -> bool {
    (*status, body["error"].as_str()) == (400, Some("invalid_dpop_proof"))
}

fn a_proof_binds_the_tokens_and_introspection_shows_the_key(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let key = DpopKey::generate();
    let (status, body) = token_with(&app, None, &[proof(&app, &key)], &spa_login());
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    let access = introspect(&app, body["access_token"].as_str().unwrap());
    assert_eq!(access["token_type"], "DPoP");
    assert_eq!(access["cnf"], json!({"jkt": key.thumbprint()}));
    // RFC 9449 §5: a public client's refresh token is bound to the same key.
    let refresh = introspect(&app, body["refresh_token"].as_str().unwrap());
    assert_eq!(refresh["cnf"], json!({"jkt": key.thumbprint()}));
    // Without a proof, nothing is bound.
    let (_, plain) = token_with(&app, None, &[], &spa_login());
    assert_eq!(plain["token_type"], "Bearer");
    let access = introspect(&app, plain["access_token"].as_str().unwrap());
    assert_eq!(access["token_type"], "Bearer");
    assert!(access.get("cnf").is_none(), "{access}");
    // The metadata advertises the algorithms (RFC 9449 §5.1).
    let (_, metadata) = json(
        http()
            .get(app.url("/.well-known/oauth-authorization-server"))
            .send()
            .unwrap(),
    );
    assert_eq!(
        metadata["dpop_signing_alg_values_supported"],
        json!(["ES256", "EdDSA", "RS256", "PS256"])
    );
}

fn a_bound_refresh_needs_the_key_and_a_thief_changes_nothing(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let (key, thief) = (DpopKey::generate(), DpopKey::generate());
    let (status, body) = token_with(&app, None, &[proof(&app, &key)], &spa_login());
    assert_eq!(status, 200, "{body}");
    let r0 = body["refresh_token"].as_str().unwrap().to_owned();
    for (why, proofs) in [
        ("without a proof", vec![]),
        ("with another key", vec![proof(&app, &thief)]),
    ] {
        let (status, body) = token_with(&app, None, &proofs, &spa_refresh(&r0));
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{why}: {body}"
        );
    }
    // Nothing was consumed or revoked: the holder of the key refreshes as before.
    let (status, body) = token_with(&app, None, &[proof(&app, &key)], &spa_refresh(&r0));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    let r1 = body["refresh_token"].as_str().unwrap();
    assert_eq!(
        introspect(&app, r1)["cnf"],
        json!({"jkt": key.thumbprint()}),
        "the successor stays bound"
    );
}

fn a_confidential_clients_refresh_token_is_not_bound(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let key = DpopKey::generate();
    let login = format!("grant_type=password&username=alice&password={PASSWORD}");
    let (status, body) = token_with(&app, Some(("app", SECRET)), &[proof(&app, &key)], &login);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    let r0 = body["refresh_token"].as_str().unwrap();
    assert!(introspect(&app, r0).get("cnf").is_none());
    // RFC 9449 §5: client authentication guards it; a refresh without a proof is Bearer.
    let (status, body) = refresh(&app, r0);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
}

fn a_replayed_proof_is_invalid_dpop_proof(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let key = DpopKey::generate();
    let once = proof(&app, &key);
    assert_eq!(
        token_with(&app, None, std::slice::from_ref(&once), &spa_login()).0,
        200
    );
    assert!(is_invalid_dpop_proof(&token_with(
        &app,
        None,
        &[once],
        &spa_login()
    )));
}

fn a_proof_for_another_request_or_time_is_invalid_dpop_proof(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let key = DpopKey::generate();
    let url = token_url(&app);
    let now = app.clock.now();
    let cases = [
        ("another method", key.proof("GET", &url, now, None)),
        (
            "another URL",
            key.proof(
                "POST",
                &url.replace("/oauth/token", "/oauth/revoke"),
                now,
                None,
            ),
        ),
        ("too old", key.proof("POST", &url, now - 61, None)),
        ("from the future", key.proof("POST", &url, now + 61, None)),
        (
            "wrong typ",
            tampered_header(&key.proof("POST", &url, now, None)),
        ),
        ("not a JWT", "not-a-jwt".to_owned()),
    ];
    for (why, proof) in cases {
        let answer = token_with(&app, None, &[proof], &spa_login());
        assert!(is_invalid_dpop_proof(&answer), "{why}: {answer:?}");
    }
    let two = [proof(&app, &key), proof(&app, &key)];
    let answer = token_with(&app, None, &two, &spa_login());
    assert!(is_invalid_dpop_proof(&answer), "two headers: {answer:?}");
    // The query and an equivalent spelling of the URL are fine (§4.3).
    let equivalent = format!("{}?x=1", url.replacen("http://", "HTTP://", 1));
    let answer = token_with(
        &app,
        None,
        &[key.proof("POST", &equivalent, now, None)],
        &spa_login(),
    );
    assert_eq!(answer.0, 200, "{answer:?}");
}

/// The proof with its header's `typ` changed (the signature no longer matters: the header
/// is signed, so this must fail either way).
fn tampered_header(proof: &str) -> String {
    let (header, rest) = proof.split_once('.').unwrap();
    let mut decoded: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    decoded["typ"] = json!("JWT");
    format!("{}.{rest}", URL_SAFE_NO_PAD.encode(decoded.to_string()))
}

fn a_jwt_access_token_names_its_key(backend: Backend) {
    let app = TestApp::start_jwt(backend, TokenSettings::default());
    let key = DpopKey::generate();
    let (status, body) = token_with(&app, None, &[proof(&app, &key)], &spa_login());
    assert_eq!(status, 200, "{body}");
    let jwt = body["access_token"].as_str().unwrap();
    let payload = jwt.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["cnf"], json!({"jkt": key.thumbprint()}));
    assert_eq!(
        introspect(&app, jwt)["cnf"],
        json!({"jkt": key.thumbprint()})
    );
    // At the resource, `ath` is the hash of the JWT as presented.
    let url = issuer_url(&app, "/api/me");
    let good = key.proof("GET", &url, app.clock.now(), Some(jwt));
    assert_eq!(resource(&app, "/api/me", "DPoP", jwt, &[good]).0, 200);
    assert_eq!(resource(&app, "/api/me", "Bearer", jwt, &[]).0, 401);
}

/// `GET path` with `Authorization: {scheme} {token}` and these `DPoP` headers.
pub(crate) fn resource(
    app: &TestApp,
    path: &str,
    scheme: &str,
    token: &str,
    proofs: &[String],
) -> (u16, String, Value) {
    let mut req = http()
        .get(app.url(path))
        .header("authorization", format!("{scheme} {token}"));
    for proof in proofs {
        req = req.header("DPoP", proof);
    }
    let resp = req.send().unwrap();
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let status = resp.status().as_u16();
    let body = resp.json().unwrap_or(Value::Null);
    (status, challenge, body)
}

/// The URL of `path` under the issuer (what a resource's `htu` must be).
pub(crate) fn issuer_url(app: &TestApp, path: &str) -> String {
    token_url(app).replace("/oauth/token", path)
}

fn a_bound_access_token_works_only_with_its_key_at_the_resources(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let (key, thief) = (DpopKey::generate(), DpopKey::generate());
    crate::userinfo::add_oidc_client(&app);
    let login = format!("grant_type=password&username=alice&password={PASSWORD}&scope=openid");
    let (status, body) = token_with(&app, Some(("oidc", SECRET)), &[proof(&app, &key)], &login);
    assert_eq!(status, 200, "{body}");
    let access = body["access_token"].as_str().unwrap().to_owned();
    let now = app.clock.now();
    for path in ["/api/me", "/oauth/userinfo"] {
        let url = issuer_url(&app, path);
        let good = key.proof("GET", &url, now, Some(&access));
        let (status, _, body) = resource(&app, path, "DPoP", &access, &[good]);
        assert_eq!(status, 200, "{path}: {body}");
        // As a bearer token: refused, with the DPoP challenge (RFC 9449 §7.2).
        let (status, challenge, _) = resource(&app, path, "Bearer", &access, &[]);
        assert_eq!(status, 401, "{path} as Bearer");
        assert!(
            challenge.starts_with("DPoP ")
                && challenge.contains("error=\"invalid_token\"")
                && challenge.contains("algs="),
            "{path}: {challenge}"
        );
        let refused = [
            ("another key", thief.proof("GET", &url, now, Some(&access))),
            (
                "another token's ath",
                key.proof("GET", &url, now, Some("gat_other")),
            ),
            (
                "another method",
                key.proof("POST", &url, now, Some(&access)),
            ),
            (
                "the token endpoint's htu",
                key.proof("GET", &token_url(&app), now, Some(&access)),
            ),
        ];
        for (why, proof) in refused {
            let (status, challenge, body) = resource(&app, path, "DPoP", &access, &[proof]);
            assert_eq!(status, 401, "{path}, {why}: {body}");
            assert!(challenge.starts_with("DPoP "), "{path}, {why}: {challenge}");
        }
        let (status, challenge, _) = resource(&app, path, "DPoP", &access, &[]);
        assert_eq!(status, 401, "{path} without a proof");
        assert!(challenge.contains("invalid_dpop_proof"), "{challenge}");
        // A proof is accepted once.
        let once = key.proof("GET", &url, now, Some(&access));
        assert_eq!(
            resource(&app, path, "DPoP", &access, std::slice::from_ref(&once)).0,
            200
        );
        assert_eq!(
            resource(&app, path, "DPoP", &access, &[once]).0,
            401,
            "{path}: replay"
        );
    }
    // The holder keeps its token: nothing was revoked by the refusals.
    let good = key.proof("GET", &issuer_url(&app, "/api/me"), now, Some(&access));
    assert_eq!(resource(&app, "/api/me", "DPoP", &access, &[good]).0, 200);
    // An unbound token stays a bearer token.
    let (_, plain) = token_with(&app, None, &[], &spa_login());
    let plain = plain["access_token"].as_str().unwrap();
    assert_eq!(me(&app, plain).status(), 200);
    let proof = key.proof("GET", &issuer_url(&app, "/api/me"), now, Some(plain));
    assert_eq!(resource(&app, "/api/me", "DPoP", plain, &[proof]).0, 401);
}

fn a_client_that_requires_dpop_is_refused_without_a_proof(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let mut client = grantd_ports::ClientStore::find_client(
        &app.db,
        &grantd_ports::ClientId::parse("spa").unwrap(),
    )
    .unwrap()
    .unwrap();
    client.id = grantd_ports::ClientId::parse("spa-dpop").unwrap();
    client.require_dpop = true;
    grantd_ports::ClientStore::insert_client(&app.db, &client).unwrap();
    let login =
        format!("grant_type=password&username=alice&password={PASSWORD}&client_id=spa-dpop");
    let answer = token_with(&app, None, &[], &login);
    assert!(is_invalid_dpop_proof(&answer), "{answer:?}");
    let key = DpopKey::generate();
    let (status, body) = token_with(&app, None, &[proof(&app, &key)], &login);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
}

/// POSTs to the token endpoint with one proof; returns the status, body and `DPoP-Nonce`.
fn token_with_nonce_header(app: &TestApp, proof: &str, body: &str) -> (u16, Value, Option<String>) {
    let resp = http()
        .post(app.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("DPoP", proof)
        .body(body.to_owned())
        .send()
        .unwrap();
    let nonce = resp
        .headers()
        .get("dpop-nonce")
        .map(|v| v.to_str().unwrap().to_owned());
    let status = resp.status().as_u16();
    (status, resp.json().unwrap(), nonce)
}

fn the_nonce_dance_when_nonces_are_required(backend: Backend) {
    let app = TestApp::start_with(backend, TokenSettings::default(), |config| {
        config.dpop.require_nonce = true;
    });
    let key = DpopKey::generate();
    let url = token_url(&app);
    let now = app.clock.now();
    // Without a nonce: use_dpop_nonce, and the nonce to use.
    let (status, body, nonce) = token_with_nonce_header(&app, &proof(&app, &key), &spa_login());
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("use_dpop_nonce")),
        "{body}"
    );
    let nonce = nonce.expect("a DPoP-Nonce header");
    // With it: tokens.
    let with = key.proof_with_nonce("POST", &url, now, None, Some(&nonce));
    let (status, body, _) = token_with_nonce_header(&app, &with, &spa_login());
    assert_eq!(status, 200, "{body}");
    let access = body["access_token"].as_str().unwrap().to_owned();
    // A made-up nonce is refused the same way.
    let forged = key.proof_with_nonce("POST", &url, now, None, Some("bm9ub25jZQ"));
    let (status, body, _) = token_with_nonce_header(&app, &forged, &spa_login());
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("use_dpop_nonce"))
    );
    // At a resource: 401 with the DPoP challenge and a nonce, then accepted with it.
    let me_url = issuer_url(&app, "/api/me");
    let bare = key.proof("GET", &me_url, now, Some(&access));
    let resp = http()
        .get(app.url("/api/me"))
        .header("authorization", format!("DPoP {access}"))
        .header("DPoP", bare)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 401);
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.contains("use_dpop_nonce"), "{challenge}");
    let nonce = resp.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    let good = key.proof_with_nonce("GET", &me_url, now, Some(&access), Some(&nonce));
    assert_eq!(resource(&app, "/api/me", "DPoP", &access, &[good]).0, 200);
}

on_both_backends!(
    a_proof_binds_the_tokens_and_introspection_shows_the_key,
    a_bound_refresh_needs_the_key_and_a_thief_changes_nothing,
    a_confidential_clients_refresh_token_is_not_bound,
    a_replayed_proof_is_invalid_dpop_proof,
    a_proof_for_another_request_or_time_is_invalid_dpop_proof,
    a_jwt_access_token_names_its_key,
    a_bound_access_token_works_only_with_its_key_at_the_resources,
    a_client_that_requires_dpop_is_refused_without_a_proof,
    the_nonce_dance_when_nonces_are_required,
);
