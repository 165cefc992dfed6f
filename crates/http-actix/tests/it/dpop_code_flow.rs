//! DPoP beyond the basics, over real HTTP on SQLite and Postgres: the authorization code
//! bound to a key by `dpop_jkt` (RFC 9449 §10), a public client's DPoP-bound refresh
//! tokens kept without rotation when the operator allows it (RFC 9700 §2.2.2), and the next
//! `DPoP-Nonce` on successful responses (RFC 9449 §8.2).

use grantd_domain::TokenSettings;
use grantd_ports::Clock as _;
use grantd_testkit::dpop::DpopKey;
use serde_json::{json, Value};

use crate::authorization_code::{
    authorize_path, csrf, enc, location, query_param, Browser, VERIFIER,
};
use crate::common::*;
use crate::dpop::{introspect, issuer_url, proof, spa_login, spa_refresh, token_url, token_with};

/// The front channel for the public client `native`, with `extra` parameters: the code, or
/// the redirect's `error` when the request is refused. Signs in when the page asks, and
/// allows when the consent page shows (a remembered consent redirects at once).
fn native_code(browser: &mut Browser, extra: &str) -> Result<String, String> {
    let path = authorize_path("native", NATIVE_CB, extra);
    let mut page = browser.get(&path);
    if page.status() == 200 {
        let html = page.text().unwrap();
        if html.contains(r#"name="password""#) {
            let login = format!(
                "csrf_token={}&username=alice&password={PASSWORD}",
                enc(&csrf(&html))
            );
            assert_eq!(browser.post(&path, &login).status(), 303);
            page = browser.get(&path);
        } else {
            return Ok(from_redirect(&browser.decide(&path, &html, "allow")));
        }
    }
    if page.status() == 200 {
        let html = page.text().unwrap();
        return Ok(from_redirect(&browser.decide(&path, &html, "allow")));
    }
    let to = location(&page);
    match query_param(&to, "code") {
        Some(code) => Ok(code),
        None => Err(query_param(&to, "error").unwrap_or(to)),
    }
}

fn from_redirect(to: &str) -> String {
    query_param(to, "code").unwrap_or_else(|| panic!("no code in {to}"))
}

fn exchange_body(code: &str) -> String {
    format!(
        "grant_type=authorization_code&client_id=native&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
        enc(NATIVE_CB)
    )
}

fn a_code_bound_by_dpop_jkt_is_exchanged_only_with_that_key(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let (key, thief) = (DpopKey::generate(), DpopKey::generate());
    let mut browser = Browser::new(&app);
    let bound = format!("&dpop_jkt={}", key.thumbprint());

    // Another key, then no proof: invalid_grant, and the code is not used up.
    let code = native_code(&mut browser, &bound).unwrap();
    for (why, proofs) in [
        ("another key", vec![proof(&app, &thief)]),
        ("no proof", vec![]),
    ] {
        let (status, body) = token_with(&app, None, &proofs, &exchange_body(&code));
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{why}: {body}"
        );
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("dpop_jkt"),
            "{why}: {body}"
        );
    }
    // The key's proof exchanges it, and the tokens are bound to that key.
    let (status, body) = token_with(&app, None, &[proof(&app, &key)], &exchange_body(&code));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    let refresh = introspect(&app, body["refresh_token"].as_str().unwrap());
    assert_eq!(refresh["cnf"], json!({"jkt": key.thumbprint()}));

    // Without dpop_jkt, a code exchanges with a proof (bound tokens) or without (Bearer).
    let code = native_code(&mut browser, "").unwrap();
    let (status, body) = token_with(&app, None, &[proof(&app, &thief)], &exchange_body(&code));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    let code = native_code(&mut browser, "").unwrap();
    let (status, body) = token_with(&app, None, &[], &exchange_body(&code));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
}

fn a_malformed_dpop_jkt_is_invalid_request_by_redirect(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let mut browser = Browser::new(&app);
    let key = DpopKey::generate();
    let padded = format!("{}=", key.thumbprint());
    let short = &key.thumbprint()[..42];
    for bad in ["not-a-thumbprint", padded.as_str(), short, "%2B%2F%2B"] {
        let extra = format!("&dpop_jkt={bad}");
        assert_eq!(
            native_code(&mut browser, &extra).unwrap_err(),
            "invalid_request",
            "{bad}"
        );
    }
}

/// Rotation off (`always_issue_new_refresh_token = false`), and DPoP-bound public clients
/// allowed to go without it.
fn keep_bound_public_refresh_tokens() -> TokenSettings {
    TokenSettings {
        always_issue_new_refresh_token: false,
        rotate_dpop_bound_public_refresh_tokens: false,
        ..TokenSettings::default()
    }
}

fn a_bound_public_refresh_token_may_live_without_rotation(backend: Backend) {
    let app = TestApp::start(backend, keep_bound_public_refresh_tokens());
    let key = DpopKey::generate();
    let (status, body) = token_with(&app, None, &[proof(&app, &key)], &spa_login());
    assert_eq!(status, 200, "{body}");
    let r0 = body["refresh_token"].as_str().unwrap().to_owned();
    // Refreshed twice with the same token: no successor, the token stays usable.
    for _ in 0..2 {
        let (status, body) = token_with(&app, None, &[proof(&app, &key)], &spa_refresh(&r0));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["token_type"], "DPoP");
        assert!(
            body.get("refresh_token").is_none(),
            "kept, not rotated: {body}"
        );
    }
    // It is still bound: a thief without the key gets nothing.
    let thief = DpopKey::generate();
    let (status, _) = token_with(&app, None, &[proof(&app, &thief)], &spa_refresh(&r0));
    assert_eq!(status, 400);

    // An unbound public client's token still rotates under the same settings, with or
    // without a proof at the refresh.
    let (status, body) = token_with(&app, None, &[], &spa_login());
    assert_eq!(status, 200, "{body}");
    let u0 = body["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = token_with(&app, None, &[proof(&app, &key)], &spa_refresh(&u0));
    assert_eq!(status, 200, "{body}");
    let u1 = body["refresh_token"]
        .as_str()
        .expect("a successor")
        .to_owned();
    assert_ne!(u0, u1);
    let (status, body) = token_with(&app, None, &[], &spa_refresh(&u1));
    assert_eq!(status, 200, "{body}");
    assert!(body["refresh_token"].as_str().is_some(), "{body}");
    // The rotated u0 is now reuse.
    app.clock.advance(1);
    let (status, body) = token_with(&app, None, &[], &spa_refresh(&u0));
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

fn bound_public_refresh_tokens_rotate_by_default(backend: Backend) {
    let app = TestApp::start(
        backend,
        TokenSettings {
            always_issue_new_refresh_token: false,
            ..TokenSettings::default()
        },
    );
    let key = DpopKey::generate();
    let (_, body) = token_with(&app, None, &[proof(&app, &key)], &spa_login());
    let r0 = body["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = token_with(&app, None, &[proof(&app, &key)], &spa_refresh(&r0));
    assert_eq!(status, 200, "{body}");
    assert_ne!(body["refresh_token"].as_str().unwrap(), r0, "rotated");
}

/// The `DPoP-Nonce` header of a response, if any.
fn nonce_of(resp: &reqwest::blocking::Response) -> Option<String> {
    resp.headers()
        .get("dpop-nonce")
        .map(|v| v.to_str().unwrap().to_owned())
}

fn successful_responses_carry_the_next_nonce(backend: Backend) {
    let app = TestApp::start_with(backend, TokenSettings::default(), |config| {
        config.dpop.require_nonce = true;
    });
    let key = DpopKey::generate();
    let url = token_url(&app);
    let now = app.clock.now();
    let post = |proof: &str| {
        http()
            .post(app.url("/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("DPoP", proof)
            .body(spa_login())
            .send()
            .unwrap()
    };
    let first = post(&key.proof("POST", &url, now, None));
    assert_eq!(first.status(), 400);
    let nonce = nonce_of(&first).expect("a nonce with use_dpop_nonce");
    let ok = post(&key.proof_with_nonce("POST", &url, now, None, Some(&nonce)));
    assert_eq!(ok.status(), 200);
    let next = nonce_of(&ok).expect("RFC 9449 §8.2: the next nonce with the 200");
    let body: Value = ok.json().unwrap();
    let access = body["access_token"].as_str().unwrap().to_owned();
    // The nonce from the 200 is good for the next request.
    let again = post(&key.proof_with_nonce("POST", &url, now, None, Some(&next)));
    assert_eq!(again.status(), 200);
    // At the resource too.
    let me_url = issuer_url(&app, "/api/me");
    let resp = http()
        .get(app.url("/api/me"))
        .header("authorization", format!("DPoP {access}"))
        .header(
            "DPoP",
            key.proof_with_nonce("GET", &me_url, now, Some(&access), Some(&next)),
        )
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(nonce_of(&resp).is_some(), "a nonce with the resource's 200");
    // A Bearer request gets none: it has no use for it.
    let (status, body) = token_with(&app, None, &[], &spa_login());
    assert_eq!(status, 200, "{body}");
    let resp = me(&app, body["access_token"].as_str().unwrap());
    assert_eq!(resp.status(), 200);
    assert!(nonce_of(&resp).is_none());
}

fn without_required_nonces_no_nonce_is_sent(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let key = DpopKey::generate();
    let resp = http()
        .post(app.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("DPoP", proof(&app, &key))
        .body(spa_login())
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(nonce_of(&resp).is_none());
}

on_both_backends!(
    a_code_bound_by_dpop_jkt_is_exchanged_only_with_that_key,
    a_malformed_dpop_jkt_is_invalid_request_by_redirect,
    a_bound_public_refresh_token_may_live_without_rotation,
    bound_public_refresh_tokens_rotate_by_default,
    successful_responses_carry_the_next_nonce,
    without_required_nonces_no_nonce_is_sent,
);
