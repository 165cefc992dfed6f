//! RP-initiated logout (`GET /oauth/logout`, OpenID Connect RP-Initiated Logout 1.0) over
//! real HTTP on both backends: a valid id_token_hint for the signed-in user ends the
//! session at once and goes back to a registered address with `state`; an unregistered
//! address is never followed; a hint for someone else (or none) asks first, and nothing
//! ends before the confirmation's POST; a tampered or foreign hint is a 400 and ends
//! nothing.
//!
//! The id tokens are signed here with the app's own signing key (its key ring, the JOSE
//! adapter under the test encryption key), with the claims the token endpoint gives an id
//! token; a test may switch to an id token from a real code flow without other changes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use grantd_domain::TokenSettings;
use grantd_ports::{ClientStore, GrantType, IdTokenClaims, ScopeSet, SigningKey, TokenSigner};
use serde_json::{json, Value};

use crate::authorization_code::{authorize_path, csrf, enc, location, query_param, Browser};
use crate::common::*;

/// `rp`'s code-flow redirect URI and its one post-logout redirect URI.
const RP_CB: &str = "https://rp.example/cb";
const RP_BACK: &str = "https://rp.example/signed-out?from=grantd";
const ISSUER: &str = "http://grantd.test";

/// The relying party `rp`, registered with [`RP_BACK`] for after logout.
fn add_rp(app: &TestApp) {
    let mut rp = minimal_client("rp");
    rp.name = "Relying Party".into();
    rp.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
    rp.scopes = ScopeSet::parse("openid profile").unwrap();
    rp.redirect_uris = vec![RP_CB.into()];
    rp.post_logout_redirect_uris = vec![RP_BACK.into()];
    app.db.insert_client(&rp).unwrap();
}

/// The app's signing key (made now if it has none).
fn signing_key(app: &TestApp) -> SigningKey {
    let ring = app.key_ring();
    ring.ensure_key().unwrap();
    ring.current().unwrap().unwrap()
}

fn claims(sub: &str, aud: &str) -> IdTokenClaims {
    let now = app_now();
    IdTokenClaims {
        iss: ISSUER.into(),
        sub: sub.into(),
        aud: aud.into(),
        iat: now - 60,
        exp: now + 240,
        auth_time: Some(now - 60),
        nonce: Some("n-0S6_WzA2Mj".into()),
        at_hash: None,
        amr: vec!["pwd".into()],
        name: None,
        preferred_username: None,
        email: None,
        email_verified: None,
    }
}

fn app_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An id token of this app for `sub` and `aud`, signed with its key.
fn id_token(app: &TestApp, sub: &str, aud: &str) -> String {
    grantd_testkit::keys::jose()
        .sign_id_token(&signing_key(app), &claims(sub, aud))
        .unwrap()
}

fn logout_path(params: &[(&str, &str)]) -> String {
    format!(
        "/oauth/logout?{}",
        serde_urlencoded::to_string(params).unwrap()
    )
}

/// Alice signed in (through `web`'s authorization request); returns its path.
fn signed_in(browser: &mut Browser) -> String {
    let path = authorize_path("web", WEB_CB, "");
    let consent = browser.log_in(&path);
    assert!(consent.contains(r#"value="allow""#));
    path
}

fn still_signed_in(browser: &mut Browser, path: &str) -> bool {
    let resp = browser.get(path);
    assert_eq!(resp.status(), 200);
    let html = resp.text().unwrap();
    assert!(
        html.contains(r#"value="allow""#) || html.contains(r#"name="password""#),
        "{html}"
    );
    html.contains(r#"value="allow""#)
}

fn removes_the_cookie(resp: &reqwest::blocking::Response) -> bool {
    resp.headers()
        .get("set-cookie")
        .is_some_and(|c| c.to_str().unwrap().contains("Max-Age=0"))
}

/// The value of the hidden field `name` of a page's form.
fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html.find(&marker)? + marker.len();
    Some(
        html[start..]
            .split('"')
            .next()
            .unwrap()
            .replace("&amp;", "&"),
    )
}

fn a_hint_for_the_signed_in_user_ends_the_session_and_goes_back_with_state(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    add_rp(&app);
    let mut browser = Browser::new(&app);
    let path = signed_in(&mut browser);
    let mut copy = Browser::new(&app);
    copy.cookie = browser.cookie.clone();
    let hint = id_token(&app, "user-alice", "rp");
    let resp = browser.get(&logout_path(&[
        ("id_token_hint", &hint),
        ("post_logout_redirect_uri", RP_BACK),
        ("state", "af0ifjsldkj"),
    ]));
    assert_eq!(resp.status(), 302);
    let to = location(&resp);
    assert_eq!(
        to,
        format!("{RP_BACK}&state=af0ifjsldkj"),
        "its own query kept"
    );
    assert_eq!(query_param(&to, "state").as_deref(), Some("af0ifjsldkj"));
    assert!(removes_the_cookie(&resp));
    assert_eq!(resp.headers()["referrer-policy"], "no-referrer");
    assert!(
        !still_signed_in(&mut browser, &path),
        "the login page again"
    );
    assert!(
        !still_signed_in(&mut copy, &path),
        "every copy of the session ended with it"
    );
    // An expired id token still names the session (RP-Initiated Logout §2).
    let path = signed_in(&mut browser);
    let mut old = claims("user-alice", "rp");
    old.exp = app_now() - 3600;
    let expired = grantd_testkit::keys::jose()
        .sign_id_token(&signing_key(&app), &old)
        .unwrap();
    let resp = browser.get(&logout_path(&[("id_token_hint", &expired)]));
    assert_eq!(resp.status(), 200, "no address asked for: our page");
    assert!(resp.text().unwrap().contains("You are signed out"));
    assert!(!still_signed_in(&mut browser, &path));
}

fn an_unregistered_address_is_never_followed(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    add_rp(&app);
    let hint = id_token(&app, "user-alice", "rp");
    for address in [
        "https://evil.example/",
        "https://rp.example/signed-out",
        RP_CB, // a redirect URI of rp, but not one for after logout
    ] {
        let mut browser = Browser::new(&app);
        let path = signed_in(&mut browser);
        let resp = browser.get(&logout_path(&[
            ("id_token_hint", &hint),
            ("post_logout_redirect_uri", address),
            ("state", "s"),
        ]));
        assert_eq!(resp.status(), 200, "{address}");
        assert!(resp.headers().get("location").is_none());
        let html = resp.text().unwrap();
        assert!(html.contains("You are signed out"), "{html}");
        assert!(html.contains("has not registered"), "{html}");
        assert!(!still_signed_in(&mut browser, &path), "the hint was good");
    }
    // No client named at all: no address is registered for nobody.
    let resp = Browser::new(&app).get(&logout_path(&[("post_logout_redirect_uri", RP_BACK)]));
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("location").is_none());
}

fn a_hint_for_another_user_asks_first_and_only_the_post_ends_the_session(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    add_rp(&app);
    let mut browser = Browser::new(&app);
    let path = signed_in(&mut browser);
    let bob = id_token(&app, "user-bob", "rp");
    let request = logout_path(&[
        ("id_token_hint", &bob),
        ("post_logout_redirect_uri", RP_BACK),
        ("state", "s1"),
    ]);
    let resp = browser.get(&request);
    assert_eq!(resp.status(), 200);
    assert!(!removes_the_cookie(&resp));
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
    let page = resp.text().unwrap();
    assert!(
        page.contains("Sign out?") && page.contains("Relying Party"),
        "{page}"
    );
    assert!(page.contains(r#"action="/oauth/logout""#) && page.contains(r#"method="post""#));
    assert!(!page.contains("<script"), "no JavaScript");
    assert_eq!(hidden(&page, "client_id").as_deref(), Some("rp"));
    assert_eq!(
        hidden(&page, "post_logout_redirect_uri").as_deref(),
        Some(RP_BACK)
    );
    assert_eq!(hidden(&page, "state").as_deref(), Some("s1"));
    assert!(still_signed_in(&mut browser, &path), "nothing ended yet");
    // Without a hint at all: the same question.
    let resp = browser.get("/oauth/logout");
    assert_eq!(resp.status(), 200);
    assert!(resp.text().unwrap().contains("Sign out?"));
    assert!(still_signed_in(&mut browser, &path));

    // A cross-site form cannot answer for the user: no CSRF token, nothing ends.
    let forged = format!(
        "client_id=rp&post_logout_redirect_uri={}&state=s1",
        enc(RP_BACK)
    );
    assert_eq!(browser.post("/oauth/logout", &forged).status(), 403);
    assert!(still_signed_in(&mut browser, &path));

    // The user presses "Sign out": the form's fields as rendered.
    let resp = browser.post(
        "/oauth/logout",
        &format!(
            "csrf_token={}&client_id=rp&post_logout_redirect_uri={}&state=s1",
            enc(&csrf(&page)),
            enc(RP_BACK)
        ),
    );
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), format!("{RP_BACK}&state=s1"));
    assert!(removes_the_cookie(&resp));
    assert!(!still_signed_in(&mut browser, &path));
}

fn an_edited_confirmation_form_signs_out_but_redirects_nowhere_else(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    add_rp(&app);
    let mut browser = Browser::new(&app);
    let path = signed_in(&mut browser);
    let page = browser.get("/oauth/logout").text().unwrap();
    let resp = browser.post(
        "/oauth/logout",
        &format!(
            "csrf_token={}&client_id=rp&post_logout_redirect_uri={}",
            enc(&csrf(&page)),
            enc("https://evil.example/")
        ),
    );
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("location").is_none());
    assert!(resp.text().unwrap().contains("has not registered"));
    assert!(!still_signed_in(&mut browser, &path));
}

fn a_tampered_or_foreign_hint_is_refused_and_nothing_ends(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    add_rp(&app);
    let mut browser = Browser::new(&app);
    let path = signed_in(&mut browser);
    let good = id_token(&app, "user-alice", "rp");
    let parts: Vec<&str> = good.split('.').collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["sub"] = json!("user-mallory");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    );
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": header["kid"]}).to_string()),
        parts[1]
    );
    // Well signed by our key, but for another issuer.
    let mut elsewhere = claims("user-alice", "rp");
    elsewhere.iss = "https://other.example".into();
    let foreign = grantd_testkit::keys::jose()
        .sign_id_token(&signing_key(&app), &elsewhere)
        .unwrap();
    for (hint, why) in [
        (tampered.as_str(), "tampered"),
        (none.as_str(), "alg none"),
        (foreign.as_str(), "another issuer"),
        ("not-a-jwt", "garbage"),
    ] {
        let resp = browser.get(&logout_path(&[
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", RP_BACK),
        ]));
        assert_eq!(resp.status(), 400, "{why}");
        assert!(resp.headers().get("location").is_none(), "{why}");
        assert!(!removes_the_cookie(&resp), "{why}");
        assert!(resp.text().unwrap().contains("does not work"), "{why}");
        assert!(still_signed_in(&mut browser, &path), "{why}: nothing ended");
    }
    // A good hint with a client_id that is not its audience.
    let resp = browser.get(&logout_path(&[
        ("id_token_hint", &good),
        ("client_id", "web"),
    ]));
    assert_eq!(resp.status(), 400);
    assert!(still_signed_in(&mut browser, &path));
    // A repeated parameter is a malformed link.
    let resp = browser.get("/oauth/logout?state=a&state=b");
    assert_eq!(resp.status(), 400);
    assert!(still_signed_in(&mut browser, &path));
}

fn without_a_session_a_registered_address_is_followed(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    add_rp(&app);
    let resp = Browser::new(&app).get(&logout_path(&[
        ("client_id", "rp"),
        ("post_logout_redirect_uri", RP_BACK),
        ("state", "x y"),
    ]));
    assert_eq!(resp.status(), 302);
    assert_eq!(location(&resp), format!("{RP_BACK}&state=x+y"));
    let hint = id_token(&app, "user-alice", "rp");
    let resp = Browser::new(&app).get(&logout_path(&[("id_token_hint", &hint)]));
    assert_eq!(resp.status(), 200);
    assert!(resp.text().unwrap().contains("You are signed out"));
}

on_both_backends!(
    a_hint_for_the_signed_in_user_ends_the_session_and_goes_back_with_state,
    an_unregistered_address_is_never_followed,
    a_hint_for_another_user_asks_first_and_only_the_post_ends_the_session,
    an_edited_confirmation_form_signs_out_but_redirects_nowhere_else,
    a_tampered_or_foreign_hint_is_refused_and_nothing_ends,
    without_a_session_a_registered_address_is_followed,
);
