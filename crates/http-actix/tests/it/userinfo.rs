//! `GET`/`POST /oauth/userinfo` (OpenID Connect Core §5.3) over real HTTP on both
//! backends: opaque and JWT access tokens; each scope releases its own claims, absent ones
//! are left out; the user is read fresh; and RFC 6750's errors: no token, a bad or forged
//! token (alg none, HS256), a disabled user → 401; no `openid`, or a client's own token →
//! 403 `insufficient_scope`. Never a 5xx.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use grantd_domain::user_profile::{self, Change, ProfileUpdate};
use grantd_domain::{accounts, TokenSettings};
use grantd_ports::{ClientStore, GrantType, ScopeSet, SecretHasher, User, UserStore, Username};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::common::*;

/// A confidential client `oidc` for the password and client credentials grants, allowed
/// the OpenID Connect scopes.
pub(crate) fn add_oidc_client(app: &TestApp) {
    let mut client = minimal_client("oidc");
    client.secret = Some(app.hasher.hash_client_secret(SECRET));
    client.grant_types = vec![
        GrantType::Password,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
    ];
    client.scopes = ScopeSet::parse("openid profile email read").unwrap();
    app.db.insert_client(&client).unwrap();
}

/// Alice's access token for `oidc` with `scope`.
pub(crate) fn access_token(app: &TestApp, scope: &str) -> String {
    let (status, body) = json(token_request(
        app,
        Some(("oidc", SECRET)),
        &format!(
            "grant_type=password&username=alice&password={PASSWORD}&scope={}",
            scope.replace(' ', "+")
        ),
    ));
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

fn get(app: &TestApp, token: Option<&str>) -> reqwest::blocking::Response {
    let mut req = http().get(app.url("/oauth/userinfo"));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().unwrap()
}

fn post(app: &TestApp, token: &str) -> reqwest::blocking::Response {
    http()
        .post(app.url("/oauth/userinfo"))
        .bearer_auth(token)
        .send()
        .unwrap()
}

/// A 200 with `no-store`; returns the body.
fn claims(resp: reqwest::blocking::Response) -> Value {
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().unwrap();
    assert!(
        body.as_object().unwrap().values().all(|v| !v.is_null()),
        "absent claims are left out, never null: {body}"
    );
    body
}

fn challenge(resp: &reqwest::blocking::Response) -> String {
    resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned()
}

fn assert_invalid_token(resp: reqwest::blocking::Response, why: &str) {
    assert_eq!(resp.status(), 401, "{why}");
    assert!(
        challenge(&resp).contains("error=\"invalid_token\""),
        "{why}"
    );
}

fn alice(app: &TestApp) -> User {
    app.db
        .find_user_by_username(&Username::parse("alice").unwrap())
        .unwrap()
        .unwrap()
}

fn each_scope_releases_its_claims_by_get_and_post(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    add_oidc_client(&app);
    let cases = [
        ("openid", json!({"sub": "user-alice"})),
        (
            "openid profile",
            json!({"sub": "user-alice", "name": ALICE_NAME, "preferred_username": "alice"}),
        ),
        (
            "openid email",
            json!({"sub": "user-alice", "email": ALICE_EMAIL, "email_verified": true}),
        ),
        (
            "openid profile email read",
            json!({
                "sub": "user-alice",
                "name": ALICE_NAME,
                "preferred_username": "alice",
                "email": ALICE_EMAIL,
                "email_verified": true
            }),
        ),
    ];
    for (scope, expected) in cases {
        let token = access_token(&app, scope);
        assert!(token.starts_with("gat_"), "an opaque token");
        assert_eq!(claims(get(&app, Some(&token))), expected, "GET {scope}");
        assert_eq!(claims(post(&app, &token)), expected, "POST {scope}");
    }
}

fn the_user_is_read_fresh_and_a_profile_change_ends_no_token(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    add_oidc_client(&app);
    let token = access_token(&app, "openid profile email");
    let update = ProfileUpdate {
        name: Change::Clear,
        email: Change::Set("alice@new.example".into()),
        ..Default::default()
    };
    user_profile::update_profile(&app.ports, &alice(&app), &update)
        .unwrap()
        .unwrap();
    assert_eq!(
        claims(get(&app, Some(&token))),
        json!({
            "sub": "user-alice",
            "preferred_username": "alice",
            "email": "alice@new.example",
            "email_verified": false
        }),
        "no name any more, and the new address is unverified"
    );
}

fn a_jwt_access_token_gets_the_same_answer_with_the_same_sub(backend: Backend) {
    let app = TestApp::start_jwt(backend, TokenSettings::default());
    add_oidc_client(&app);
    let token = access_token(&app, "openid profile");
    let payload = token.split('.').nth(1).expect("a JWT");
    let jwt: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let expected = json!({"sub": jwt["sub"], "name": ALICE_NAME, "preferred_username": "alice"});
    assert_eq!(jwt["sub"], "user-alice");
    assert_eq!(claims(get(&app, Some(&token))), expected);
    assert_eq!(claims(post(&app, &token)), expected);
}

fn bad_tokens_get_rfc_6750_errors_never_a_5xx(backend: Backend) {
    let app = TestApp::start_jwt(backend, TokenSettings::default());
    add_oidc_client(&app);
    // No token: the bare challenge, no error code (RFC 6750 §3.1).
    let resp = get(&app, None);
    assert_eq!(resp.status(), 401);
    assert_eq!(challenge(&resp), "Bearer realm=\"grantd\"");
    let resp = http()
        .get(app.url("/oauth/userinfo"))
        .basic_auth("oidc", Some(SECRET))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 401, "another scheme is no bearer token");
    assert_invalid_token(get(&app, Some("gat_unknown")), "unknown token");
    assert_invalid_token(get(&app, Some("eyJh.eyJi.c2ln")), "garbage JWT");

    let token = access_token(&app, "openid profile");
    let parts: Vec<&str> = token.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    // alg none with the real kid and claims, no signature.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD
            .encode(json!({"alg": "none", "typ": "at+jwt", "kid": header["kid"]}).to_string()),
        parts[1]
    );
    assert_invalid_token(get(&app, Some(&none)), "alg none");
    // HS256 keyed with the published public key (alg confusion).
    let jwks: Value = http()
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let public = jwks["keys"][0].to_string();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let mut hs = Header::new(Algorithm::HS256);
    hs.typ = Some("at+jwt".into());
    hs.kid = header["kid"].as_str().map(str::to_owned);
    let forged =
        jsonwebtoken::encode(&hs, &claims, &EncodingKey::from_secret(public.as_bytes())).unwrap();
    assert_invalid_token(get(&app, Some(&forged)), "HS256");
    assert_invalid_token(post(&app, &forged), "HS256 by POST");
    assert_eq!(get(&app, Some(&token)).status(), 200, "the real one works");
}

fn a_token_without_openid_or_without_a_user_is_insufficient_scope(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    add_oidc_client(&app);
    let assert_insufficient = |resp: reqwest::blocking::Response, why: &str| {
        assert_eq!(resp.status(), 403, "{why}");
        let c = challenge(&resp);
        assert!(
            c.contains("error=\"insufficient_scope\"") && c.contains("scope=\"openid\""),
            "{why}: {c}"
        );
        let body: Value = resp.json().unwrap();
        assert_eq!(body["error"], "insufficient_scope");
    };
    let plain = access_token(&app, "profile email read");
    assert_insufficient(get(&app, Some(&plain)), "no openid");
    assert_insufficient(post(&app, &plain), "no openid, POST");
    // The client credentials grant acts for the client: nobody to tell about.
    let (status, body) = json(token_request(
        &app,
        Some(("oidc", SECRET)),
        "grant_type=client_credentials&scope=openid",
    ));
    assert_eq!(status, 200, "{body}");
    let client_token = body["access_token"].as_str().unwrap();
    assert_insufficient(get(&app, Some(client_token)), "a client's token");
}

fn a_disabled_user_s_token_is_invalid(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    add_oidc_client(&app);
    let token = access_token(&app, "openid");
    assert_eq!(get(&app, Some(&token)).status(), 200);
    accounts::disable_user(&app.ports, &alice(&app)).unwrap();
    assert_invalid_token(get(&app, Some(&token)), "disabled");
    accounts::enable_user(&app.ports, &alice(&app)).unwrap();
    assert_invalid_token(get(&app, Some(&token)), "disabling revoked its grant");
}

fn other_methods_are_405_with_allow(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let resp = http().put(app.url("/oauth/userinfo")).send().unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "GET, POST");
}

on_both_backends!(
    each_scope_releases_its_claims_by_get_and_post,
    the_user_is_read_fresh_and_a_profile_change_ends_no_token,
    a_jwt_access_token_gets_the_same_answer_with_the_same_sub,
    bad_tokens_get_rfc_6750_errors_never_a_5xx,
    a_token_without_openid_or_without_a_user_is_insufficient_scope,
    a_disabled_user_s_token_is_invalid,
    other_methods_are_405_with_allow,
);
