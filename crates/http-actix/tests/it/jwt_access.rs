//! JWT access tokens (RFC 9068) over real HTTP on both backends: a token from the password
//! grant verifies with the `jsonwebtoken` crate against the JWKS alone; grantd still
//! records it (introspection, revocation, `/api/me`); the grace replay returns the same
//! JWT; key rotation keeps old tokens verifying and moves new ones to the new kid after
//! `publish_ahead`; and every bad JWT is a 401 `invalid_token`, never a 5xx.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use grantd_domain::TokenSettings;
use grantd_ports::{AccessTokenClaims, SigningAlgorithm, SigningKey, TokenSigner};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Value};

use crate::common::*;

const ISSUER: &str = "http://grantd.test";

fn jwks(app: &TestApp) -> JwkSet {
    http()
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .unwrap()
        .json()
        .unwrap()
}

/// What an offline resource server does: the JWKS, the kid, the signature, iss, aud, exp.
fn verify_offline(app: &TestApp, token: &str) -> Result<Value, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let set = jwks(app);
    let jwk = set
        .find(header.kid.as_deref().ok_or("no kid")?)
        .ok_or("kid not in the JWKS")?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[ISSUER]);
    // The test clock runs ahead of the wall clock here; the server checks expiry itself.
    validation.validate_exp = false;
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map(|d| d.claims)
        .map_err(|e| e.to_string())
}

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

fn assert_invalid_token(app: &TestApp, token: &str, why: &str) {
    let resp = me(app, token);
    assert_eq!(resp.status(), 401, "{why}");
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.contains("invalid_token"), "{why}: {challenge}");
}

fn introspect(app: &TestApp, token: &str) -> Value {
    let resp = post_form(
        app,
        "/oauth/introspect",
        ("rs", SECRET),
        &format!("token={token}"),
    );
    assert_eq!(resp.status(), 200);
    resp.json().unwrap()
}

fn a_password_grant_jwt_verifies_against_the_jwks_alone(backend: Backend) {
    let app = TestApp::start_jwt(backend, TokenSettings::default());
    let (access, refresh_token) = login(&app);
    assert!(
        refresh_token.starts_with("grt_"),
        "refresh tokens stay opaque"
    );
    let claims = verify_offline(&app, &access).unwrap();
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["sub"], "user-alice");
    assert_eq!(
        claims["aud"], ISSUER,
        "tokens.default_audience empty: the issuer"
    );
    assert_eq!(claims["client_id"], "app");
    assert_eq!(claims["scope"], "read write");
    assert!(claims["jti"].as_str().unwrap().starts_with("gat_"));
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(claims["exp"].as_i64().unwrap() - iat, 3600);
    assert_eq!(claims["auth_time"].as_i64(), Some(iat));

    // grantd recorded it: /api/me, introspection and revocation work as for opaque tokens.
    let resp = me(&app, &access);
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().unwrap()["username"], "alice");
    assert_eq!(introspect(&app, &access)["active"], true);
    let resp = post_form(
        &app,
        "/oauth/revoke",
        ("app", SECRET),
        &format!("token={access}"),
    );
    assert_eq!(resp.status(), 200);
    assert_invalid_token(&app, &access, "revoked");
    assert_eq!(introspect(&app, &access)["active"], false);
    assert!(
        verify_offline(&app, &access).is_ok(),
        "offline, a revocation shows at expiry"
    );
}

fn revoking_the_grant_kills_its_jwts(backend: Backend) {
    let app = TestApp::start_jwt(backend, TokenSettings::default());
    let (access, r0) = login(&app);
    let resp = post_form(
        &app,
        "/oauth/revoke",
        ("app", SECRET),
        &format!("token={r0}"),
    );
    assert_eq!(resp.status(), 200);
    assert_invalid_token(&app, &access, "its grant was revoked");
}

fn a_refresh_issues_a_new_jwt_and_the_grace_replay_the_identical_one(backend: Backend) {
    let settings = TokenSettings {
        refresh_token_reuse_grace_period: 60,
        ..TokenSettings::default()
    };
    let app = TestApp::start_jwt(backend, settings);
    let (first, r0) = login(&app);
    let (status, body) = refresh(&app, &r0);
    assert_eq!(status, 200, "{body}");
    let second = body["access_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    let claims = verify_offline(&app, &second).unwrap();
    let original = verify_offline(&app, &first).unwrap();
    assert!(original["auth_time"].is_i64());
    assert_eq!(
        claims["auth_time"], original["auth_time"],
        "a refresh is no authentication: auth_time stays the login's (RFC 9068 §2.2.1)"
    );
    let (status, replay) = refresh(&app, &r0);
    assert_eq!(status, 200, "{replay}");
    assert_eq!(
        replay["access_token"], body["access_token"],
        "the identical JWT"
    );
    assert_eq!(me(&app, &second).status(), 200);
}

fn rotation_keeps_old_tokens_and_moves_new_ones_to_the_new_kid(backend: Backend) {
    let app = TestApp::start_jwt(backend, TokenSettings::default());
    let ring = app.key_ring();
    let (before, _) = login(&app);
    let old_kid = kid(&before);
    let new = ring.rotate().unwrap();
    let (still_old, _) = login(&app);
    assert_eq!(kid(&still_old), old_kid, "the new key waits publish_ahead");
    assert!(
        jwks(&app).find(&new.kid).is_some(),
        "but is published at once"
    );

    app.clock.advance(600);
    let (after, _) = login(&app);
    assert_eq!(kid(&after), new.kid);
    assert!(
        verify_offline(&app, &before).is_ok(),
        "a token signed before still verifies"
    );
    assert_eq!(me(&app, &before).status(), 200);

    ring.retire(&old_kid, 3600).unwrap();
    assert!(jwks(&app).find(&old_kid).is_some(), "its tokens live on");
    app.clock.advance(3599);
    assert_eq!(
        me(&app, &before).status(),
        401,
        "expired by now: iat + 3600"
    );
    assert!(jwks(&app).find(&old_kid).is_some());
    app.clock.advance(1);
    assert!(
        jwks(&app).find(&old_kid).is_none(),
        "gone once every token it signed expired"
    );
    let (latest, _) = login(&app);
    assert_eq!(kid(&latest), new.kid);
    assert_eq!(me(&app, &latest).status(), 200);
    assert!(verify_offline(&app, &latest).is_ok());
    drop(after);
}

/// A key the server never stored, under the test encryption key.
fn stray_key() -> (grantd_crypto::JoseKeys, SigningKey) {
    let jose = grantd_testkit::keys::jose();
    let generated = jose.generate(SigningAlgorithm::Rs256).unwrap();
    let key = SigningKey {
        kid: generated.kid,
        algorithm: SigningAlgorithm::Rs256,
        public_jwk: generated.public_jwk,
        private_key: generated.private_key,
        created_at: 0,
        activates_at: 0,
        retired_at: None,
        published_until: None,
    };
    (jose, key)
}

fn bad_jwts_are_invalid_token_never_5xx(backend: Backend) {
    let app = TestApp::start_jwt(backend, TokenSettings::default());
    let (access, _) = login(&app);
    let claims = verify_offline(&app, &access).unwrap();
    let parts: Vec<&str> = access.split('.').collect();

    // Unknown kid: a well-signed token from a key that is not published.
    let (jose, stray) = stray_key();
    let forged = jose
        .sign_access_token(
            &stray,
            &AccessTokenClaims {
                iss: ISSUER.into(),
                sub: "user-alice".into(),
                aud: vec![ISSUER.into()],
                client_id: "app".into(),
                iat: claims["iat"].as_i64().unwrap(),
                exp: claims["exp"].as_i64().unwrap(),
                jti: claims["jti"].as_str().unwrap().into(),
                scope: "read write".into(),
                auth_time: None,
                cnf_jkt: None,
            },
        )
        .unwrap();
    assert_invalid_token(&app, &forged, "unknown kid");

    // Tampered payload (scope widened), signature kept.
    let mut payload = claims.clone();
    payload["scope"] = json!("read write admin");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    );
    assert_invalid_token(&app, &tampered, "tampered");

    // alg none, with the real kid and no signature.
    let none_header = json!({"alg": "none", "typ": "at+jwt", "kid": kid(&access)});
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(none_header.to_string()),
        parts[1]
    );
    assert_invalid_token(&app, &none, "alg none");

    // HS256 keyed with the published public key (alg confusion).
    let set = jwks(&app);
    let public = serde_json::to_string(set.find(&kid(&access)).unwrap()).unwrap();
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    header.kid = Some(kid(&access));
    let hs = jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_secret(public.as_bytes()),
    )
    .unwrap();
    assert_invalid_token(&app, &hs, "HS256");

    for garbage in ["eyJ.eyJ.x", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30.AAAA"] {
        assert_invalid_token(&app, garbage, garbage);
    }

    // Expired: the server's clock passes exp.
    app.clock.advance(3600);
    assert_invalid_token(&app, &access, "expired");
    assert_eq!(introspect(&app, &access)["active"], false);
}

/// A confidential password client `id` with its own access token format.
fn client_with_format(app: &TestApp, id: &str, format: grantd_ports::AccessTokenFormat) {
    use grantd_ports::{GrantType, ScopeSet, SecretHasher};
    let mut client = grantd_testkit::fixtures::minimal_client(id);
    client.secret = Some(app.hasher.hash_client_secret(SECRET));
    client.grant_types = vec![GrantType::Password, GrantType::RefreshToken];
    client.scopes = ScopeSet::parse("read write").unwrap();
    client.access_token_format = Some(format);
    app.ports.clients.insert_client(&client).unwrap();
}

fn password_access_token(app: &TestApp, id: &str) -> String {
    let (status, body) = json(token_request(
        app,
        Some((id, SECRET)),
        &format!("grant_type=password&username=alice&password={PASSWORD}"),
    ));
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

fn a_client_s_own_format_wins_over_the_global_one(backend: Backend) {
    use grantd_ports::AccessTokenFormat;
    // Globally opaque: one client asks for JWTs.
    let app = TestApp::start(backend, TokenSettings::default());
    app.key_ring().rotate().unwrap();
    client_with_format(&app, "jwt-app", AccessTokenFormat::Jwt);
    let jwt = password_access_token(&app, "jwt-app");
    assert!(verify_offline(&app, &jwt).is_ok());
    assert_eq!(me(&app, &jwt).status(), 200);
    assert!(password_access_token(&app, "app").starts_with("gat_"));
    // Globally JWT: one client keeps opaque tokens.
    let app = TestApp::start_jwt(backend, TokenSettings::default());
    client_with_format(&app, "plain-app", AccessTokenFormat::Opaque);
    assert!(password_access_token(&app, "plain-app").starts_with("gat_"));
    assert!(verify_offline(&app, &password_access_token(&app, "app")).is_ok());
}

fn a_jwt_client_on_a_server_without_keys_gets_the_first_key_not_a_5xx(backend: Backend) {
    use grantd_ports::AccessTokenFormat;
    // Globally opaque and no key yet (as `serve --demo` without keys.encryption_key,
    // which makes no key at start; with it, the first key is made at start-up): the
    // first JWT request makes the first key.
    let app = TestApp::start_with(backend, TokenSettings::default(), |config| {
        config.keys.encryption_key = String::new();
    });
    assert!(app.key_ring().published().unwrap().is_empty());
    client_with_format(&app, "jwt-app", AccessTokenFormat::Jwt);
    let jwt = password_access_token(&app, "jwt-app");
    assert!(verify_offline(&app, &jwt).is_ok());
    assert_eq!(me(&app, &jwt).status(), 200);
    assert_eq!(app.key_ring().published().unwrap().len(), 1);
}

on_both_backends!(
    a_jwt_client_on_a_server_without_keys_gets_the_first_key_not_a_5xx,
    a_client_s_own_format_wins_over_the_global_one,
    a_password_grant_jwt_verifies_against_the_jwks_alone,
    revoking_the_grant_kills_its_jwts,
    a_refresh_issues_a_new_jwt_and_the_grace_replay_the_identical_one,
    rotation_keeps_old_tokens_and_moves_new_ones_to_the_new_kid,
    bad_jwts_are_invalid_token_never_5xx,
);
