//! OpenID Connect's code flow over real HTTP on both backends: the id token of the code
//! exchange (verified with `jsonwebtoken` against the JWKS alone: iss, sub, aud, nonce,
//! at_hash, auth_time, amr), the refresh's new id token (Core §12.2), the
//! `offline_access` rule, `nonce` for public clients, `prompt` (none, login, consent),
//! `max_age`, `login_hint`, the refused request features (Core §3.1.2.6), and `openid` on
//! a server without signing keys.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use grantd_domain::TokenSettings;
use grantd_ports::{Client, ClientId, Clock, GrantType, LifetimeOverrides, ScopeSet, SecretHasher};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::authorization_code::{
    authorize_path, csrf, enc, location, query_param, Browser, VERIFIER,
};
use crate::common::*;

const ISSUER: &str = "http://grantd.test";
/// A confidential relying party and a public one, both allowed the OpenID scopes.
const RP: &str = "rp";
const PUBLIC_RP: &str = "rp-public";

fn register_relying_parties(app: &TestApp) {
    for (id, secret) in [(RP, Some(SECRET)), (PUBLIC_RP, None)] {
        app.ports
            .clients
            .insert_client(&Client {
                id: ClientId::parse(id).unwrap(),
                name: format!("{id} app"),
                secret: secret.map(|s| app.hasher.hash_client_secret(s)),
                secret_version: 1,
                grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
                scopes: ScopeSet::parse("openid profile email offline_access read").unwrap(),
                access_token_format: None,
                default_scopes: None,
                redirect_uris: vec![WEB_CB.into()],
                post_logout_redirect_uris: vec![],
                can_introspect: false,
                lifetimes: LifetimeOverrides::default(),
                created_at: 0,
                require_dpop: false,
                admin: false,
            })
            .unwrap();
    }
}

fn start(backend: Backend) -> TestApp {
    let app = TestApp::start(backend, TokenSettings::default());
    register_relying_parties(&app);
    app
}

/// The authorization request of `client` for `scope`, with `extra` parameters.
fn path(client: &str, scope: &str, extra: &str) -> String {
    authorize_path(client, WEB_CB, &format!("&scope={}{extra}", enc(scope)))
}

/// Posts the login form of the page at `path` (which must be the login page).
fn submit_login(browser: &mut Browser, path: &str) -> reqwest::blocking::Response {
    let page = browser.get(path);
    assert_eq!(page.status(), 200);
    let html = page.text().unwrap();
    assert!(html.contains(r#"name="password""#), "a login page: {html}");
    browser.post(
        path,
        &format!(
            "csrf_token={}&username=alice&password={PASSWORD}",
            enc(&csrf(&html))
        ),
    )
}

/// GET `path` with the browser's session, pressing Allow if the consent page shows;
/// returns where the browser is sent back to.
fn through_consent(browser: &mut Browser, path: &str) -> String {
    let resp = browser.get(path);
    if resp.status() == 302 {
        return location(&resp);
    }
    assert_eq!(resp.status(), 200);
    let html = resp.text().unwrap();
    assert!(html.contains(r#"value="allow""#), "a consent page: {html}");
    browser.decide(path, &html, "allow")
}

/// Log in and allow: the code.
fn code(browser: &mut Browser, path: &str) -> String {
    let resp = submit_login(browser, path);
    assert_eq!(resp.status(), 303);
    let to = through_consent(browser, path);
    query_param(&to, "code").unwrap_or_else(|| panic!("no code in {to}"))
}

fn exchange(app: &TestApp, client: &str, code: &str) -> Value {
    let body = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
        enc(WEB_CB)
    );
    let resp = if client == RP {
        token_request(app, Some((RP, SECRET)), &body)
    } else {
        token_request(app, None, &format!("{body}&client_id={client}"))
    };
    let (status, body) = json(resp);
    assert_eq!(status, 200, "{body}");
    body
}

/// The id token's claims, verified against the JWKS alone, with the audience `client`.
fn verify_id_token(app: &TestApp, token: &str, client: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let set: JwkSet = http()
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let jwk = set
        .find(header.kid.as_deref().unwrap())
        .expect("kid in the JWKS");
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[client]);
    // The test clock is not the wall clock; expiry is checked against iat below.
    validation.validate_exp = false;
    let claims =
        jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .unwrap()
            .claims;
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
    claims
}

/// Core §3.1.3.6 for RS256 (the default algorithm).
fn at_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(access_token.as_bytes())[..16])
}

fn the_code_exchange_returns_an_id_token_and_a_refresh_renews_it(backend: Backend) {
    let app = start(backend);
    let mut browser = Browser::new(&app);
    let login_at = app.clock.now();
    let p = path(RP, "openid profile offline_access", "&nonce=n-0S6_WzA2Mj");
    let tokens = exchange(&app, RP, &code(&mut browser, &p));
    let access = tokens["access_token"].as_str().unwrap();
    let claims = verify_id_token(&app, tokens["id_token"].as_str().unwrap(), RP);
    assert_eq!(claims["sub"], "user-alice", "the user's stable opaque id");
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(claims["at_hash"], at_hash(access));
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert_eq!(claims["auth_time"].as_i64(), Some(login_at));
    let refresh_token = tokens["refresh_token"]
        .as_str()
        .expect("offline_access was granted");

    app.clock.advance(30);
    let (status, renewed) = json(token_request(
        &app,
        Some((RP, SECRET)),
        &format!("grant_type=refresh_token&refresh_token={refresh_token}"),
    ));
    assert_eq!(status, 200, "{renewed}");
    let again = verify_id_token(&app, renewed["id_token"].as_str().unwrap(), RP);
    for same in ["iss", "sub", "aud", "auth_time"] {
        assert_eq!(again[same], claims[same], "{same} stays (Core §12.2)");
    }
    assert_eq!(again["iat"].as_i64(), Some(login_at + 30), "a new iat");
    assert!(
        again.get("nonce").is_none(),
        "the nonce was the first id token's"
    );
    assert_eq!(
        again["at_hash"],
        at_hash(renewed["access_token"].as_str().unwrap())
    );
}

fn openid_without_offline_access_gets_no_refresh_token(backend: Backend) {
    let app = start(backend);
    let mut browser = Browser::new(&app);
    let tokens = exchange(&app, RP, &code(&mut browser, &path(RP, "openid read", "")));
    assert!(tokens["id_token"].is_string());
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
    // Without openid, the OAuth rules stand: the refresh token comes as before.
    let mut other = Browser::new(&app);
    let plain = exchange(&app, RP, &code(&mut other, &path(RP, "read", "")));
    assert!(plain["refresh_token"].is_string() && plain.get("id_token").is_none());
}

fn a_public_client_must_send_a_nonce(backend: Backend) {
    let app = start(backend);
    let mut browser = Browser::new(&app);
    let resp = browser.get(&path(PUBLIC_RP, "openid", ""));
    assert_eq!(resp.status(), 302);
    let to = location(&resp);
    assert_eq!(
        query_param(&to, "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(query_param(&to, "state").as_deref(), Some("xyz"));
    let tokens = exchange(
        &app,
        PUBLIC_RP,
        &code(&mut browser, &path(PUBLIC_RP, "openid", "&nonce=abc")),
    );
    let claims = verify_id_token(&app, tokens["id_token"].as_str().unwrap(), PUBLIC_RP);
    assert_eq!(claims["nonce"], "abc");
}

fn prompt_none_answers_without_a_page(backend: Backend) {
    let app = start(backend);
    let mut browser = Browser::new(&app);
    let error_of = |browser: &mut Browser, p: &str| {
        let resp = browser.get(p);
        assert_eq!(resp.status(), 302, "no page with prompt=none");
        query_param(&location(&resp), "error")
    };
    let none = path(RP, "openid", "&prompt=none");
    assert_eq!(
        error_of(&mut browser, &none).as_deref(),
        Some("login_required")
    );
    // Signed in, but never consented: consent_required.
    let first = path(RP, "openid", "");
    assert_eq!(submit_login(&mut browser, &first).status(), 303);
    assert_eq!(
        error_of(&mut browser, &none).as_deref(),
        Some("consent_required")
    );
    // Consented once: prompt=none now answers with a code at once.
    through_consent(&mut browser, &first);
    let resp = browser.get(&none);
    assert_eq!(resp.status(), 302);
    assert!(query_param(&location(&resp), "code").is_some());
    // prompt=consent asks again although the consent is remembered.
    let resp = browser.get(&path(RP, "openid", "&prompt=consent"));
    assert_eq!(resp.status(), 200);
    assert!(resp.text().unwrap().contains(r#"value="allow""#));
}

fn prompt_login_and_max_age_ask_for_a_new_login_which_then_counts(backend: Backend) {
    let app = start(backend);
    let mut browser = Browser::new(&app);
    exchange(&app, RP, &code(&mut browser, &path(RP, "openid", "")));
    app.clock.advance(120);

    for extra in ["&prompt=login", "&max_age=60", "&max_age=0"] {
        let p = path(RP, "openid", extra);
        let page = browser.get(&p);
        assert_eq!(page.status(), 200, "{extra}");
        let html = page.text().unwrap();
        assert!(
            html.contains(r#"name="password""#),
            "{extra}: the login page"
        );
        assert!(
            html.contains(r#"value="alice""#),
            "{extra}: offers the signed-in user"
        );
    }
    // A session young enough for max_age needs no new login.
    let young = browser.get(&path(RP, "openid", "&max_age=600"));
    assert_eq!(young.status(), 302);

    // The new login satisfies the request it was made for: no second login page.
    let p = path(RP, "openid", "&prompt=login");
    let relogin_at = app.clock.now();
    assert_eq!(submit_login(&mut browser, &p).status(), 303);
    let to = through_consent(&mut browser, &p);
    let tokens = exchange(&app, RP, &query_param(&to, "code").unwrap());
    let claims = verify_id_token(&app, tokens["id_token"].as_str().unwrap(), RP);
    assert_eq!(claims["auth_time"].as_i64(), Some(relogin_at));
}

fn login_hint_fills_the_username(backend: Backend) {
    let app = start(backend);
    let mut browser = Browser::new(&app);
    let page = browser.get(&path(RP, "openid", "&login_hint=bob%40example.com"));
    let html = page.text().unwrap();
    assert!(html.contains(r#"value="bob@example.com""#), "{html}");
}

fn unsupported_request_features_get_the_errors_core_names(backend: Backend) {
    let app = start(backend);
    let mut browser = Browser::new(&app);
    let cases = [
        ("&request=eyJhbGciOiJub25lIn0.e30.", "request_not_supported"),
        (
            "&request_uri=https%3A%2F%2Frp.example%2Fr",
            "request_uri_not_supported",
        ),
        ("&registration=%7B%7D", "registration_not_supported"),
        ("&claims=%7B%7D", "invalid_request"),
        ("&response_mode=fragment", "invalid_request"),
        ("&prompt=none%20login", "invalid_request"),
        ("&max_age=soon", "invalid_request"),
    ];
    for (extra, error) in cases {
        let resp = browser.get(&path(RP, "openid", extra));
        assert_eq!(resp.status(), 302, "{extra}");
        assert_eq!(
            query_param(&location(&resp), "error").as_deref(),
            Some(error),
            "{extra}"
        );
    }
}

fn the_password_grant_with_openid_gets_an_id_token(backend: Backend) {
    let app = start(backend);
    app.ports
        .clients
        .insert_client(&Client {
            id: ClientId::parse("pw-rp").unwrap(),
            name: "pw".into(),
            secret: Some(app.hasher.hash_client_secret(SECRET)),
            secret_version: 1,
            grant_types: vec![GrantType::Password, GrantType::RefreshToken],
            scopes: ScopeSet::parse("openid read").unwrap(),
            access_token_format: None,
            default_scopes: None,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            can_introspect: false,
            lifetimes: LifetimeOverrides::default(),
            created_at: 0,
            require_dpop: false,
            admin: false,
        })
        .unwrap();
    let (status, body) = json(token_request(
        &app,
        Some(("pw-rp", SECRET)),
        &format!("grant_type=password&username=alice&password={PASSWORD}&scope=openid"),
    ));
    assert_eq!(status, 200, "{body}");
    let claims = verify_id_token(&app, body["id_token"].as_str().unwrap(), "pw-rp");
    assert_eq!(claims["sub"], "user-alice");
    assert!(body.get("refresh_token").is_none(), "no offline_access");
}

fn openid_is_refused_where_no_id_token_can_be_signed(backend: Backend) {
    let app = TestApp::start_without_signing_keys(backend, TokenSettings::default());
    register_relying_parties(&app);
    let mut browser = Browser::new(&app);
    let resp = browser.get(&path(RP, "openid", ""));
    assert_eq!(resp.status(), 302);
    assert_eq!(
        query_param(&location(&resp), "error").as_deref(),
        Some("invalid_scope")
    );
    // OAuth without openid works as before.
    assert_eq!(browser.get(&path(RP, "read", "")).status(), 200);
}

on_both_backends!(
    the_code_exchange_returns_an_id_token_and_a_refresh_renews_it,
    openid_without_offline_access_gets_no_refresh_token,
    a_public_client_must_send_a_nonce,
    prompt_none_answers_without_a_page,
    prompt_login_and_max_age_ask_for_a_new_login_which_then_counts,
    login_hint_fills_the_username,
    unsupported_request_features_get_the_errors_core_names,
    the_password_grant_with_openid_gets_an_id_token,
    openid_is_refused_where_no_id_token_can_be_signed,
);
