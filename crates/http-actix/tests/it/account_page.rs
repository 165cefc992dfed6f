//! The account page over real HTTP on both backends: signing in through the pages' login,
//! the applications holding alice's live grants (client name, scopes in words, refreshed
//! or not), revoking one (its tokens stop at once; another person's grant cannot be named),
//! the CSRF token on every form, signing out everywhere, forgetting consents, framing.

use grantd_domain::TokenSettings;

use crate::authorization_code::{code_for_web, csrf, enc, exchange, location, Browser, VERIFIER};
use crate::common::*;

/// Alice's account page: the session of the authorization pages carries over; without
/// one, she signs in on `/account` itself.
fn sign_in(browser: &mut Browser) -> String {
    let page = browser.get("/account");
    assert_eq!(page.status(), 200);
    let html = page.text().unwrap();
    if !html.contains(r#"name="password""#) {
        assert!(
            html.contains("Signed in as <strong>alice</strong>"),
            "{html}"
        );
        return html;
    }
    let resp = browser.post(
        "/account",
        &format!(
            "csrf_token={}&username=alice&password={PASSWORD}",
            enc(&csrf(&html))
        ),
    );
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/account");
    let page = browser.get("/account");
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    page.text().unwrap()
}

fn act(browser: &mut Browser, html: &str, body: &str) -> reqwest::blocking::Response {
    browser.post(
        "/account",
        &format!("csrf_token={}&{body}", enc(&csrf(html))),
    )
}

/// The grant ids of the page's Revoke forms.
fn grant_ids(html: &str) -> Vec<String> {
    html.split(r#"name="grant" value=""#)
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

fn the_page_lists_live_grants_and_revokes_one_at_once(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let mut browser = Browser::new(&app);
    let code = code_for_web(&app, &mut browser, "&scope=read");
    let (status, tokens) = exchange(&app, &code, WEB_CB, VERIFIER);
    assert_eq!(status, 200, "{tokens}");

    let html = sign_in(&mut browser);
    assert!(html.contains("Web App"), "{html}");
    assert!(
        html.contains("<code>read</code>"),
        "the scope, in words and by name"
    );
    assert!(html.contains("not refreshed since"));
    let ids = grant_ids(&html);
    assert_eq!(ids.len(), 1, "{html}");

    // A refresh shows as "last refreshed" without any write of its own.
    app.clock.advance(60);
    let (status, refreshed) = json(token_request(
        &app,
        Some(("web", SECRET)),
        &format!(
            "grant_type=refresh_token&refresh_token={}",
            tokens["refresh_token"].as_str().unwrap()
        ),
    ));
    assert_eq!(status, 200, "{refreshed}");
    let html = browser.get("/account").text().unwrap();
    assert!(html.contains("last refreshed"), "{html}");

    let resp = act(
        &mut browser,
        &html,
        &format!("action=revoke&grant={}", ids[0]),
    );
    assert_eq!(resp.status(), 200);
    let after = resp.text().unwrap();
    assert!(after.contains("Access revoked."));
    assert!(!after.contains("Web App"), "gone from the list");
    // Every token of the grant stops at once.
    let access = refreshed["access_token"].as_str().unwrap();
    assert_eq!(me(&app, access).status(), 401);
    let (status, body) = json(token_request(
        &app,
        Some(("web", SECRET)),
        &format!(
            "grant_type=refresh_token&refresh_token={}",
            refreshed["refresh_token"].as_str().unwrap()
        ),
    ));
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

fn another_persons_grant_cannot_be_named_and_forms_need_the_csrf_token(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let (access, _) = login(&app);
    let mut browser = Browser::new(&app);
    let html = sign_in(&mut browser);
    let ids = grant_ids(&html);
    assert_eq!(ids.len(), 1, "the password grant's");

    // Without the session's token nothing happens.
    let resp = browser.post("/account", &format!("action=revoke&grant={}", ids[0]));
    assert_eq!(resp.status(), 403);
    // A made-up id (another person's, say) names none of alice's grants.
    let resp = act(&mut browser, &html, "action=revoke&grant=g-of-someone-else");
    assert!(resp.text().unwrap().contains("no longer holds access"));
    assert_eq!(me(&app, &access).status(), 200, "nothing was revoked");
}

fn sign_out_everywhere_ends_the_session_and_forgetting_consents_asks_again(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let mut browser = Browser::new(&app);
    code_for_web(&app, &mut browser, "&scope=read");
    let html = sign_in(&mut browser);

    let resp = act(&mut browser, &html, "action=forget_consents");
    assert!(resp
        .text()
        .unwrap()
        .contains("ask for your permission again"));
    let consent = browser.get(&crate::authorization_code::authorize_path(
        "web",
        WEB_CB,
        "&scope=read",
    ));
    assert_eq!(consent.status(), 200, "the consent page again");
    assert!(consent.text().unwrap().contains(r#"value="allow""#));

    let html = browser.get("/account").text().unwrap();
    let resp = act(&mut browser, &html, "action=sign_out_everywhere");
    assert_eq!(resp.status(), 200);
    let page = browser.get("/account").text().unwrap();
    assert!(
        page.contains(r#"name="password""#),
        "signed out: the login form"
    );
}

on_both_backends!(
    the_page_lists_live_grants_and_revokes_one_at_once,
    another_persons_grant_cannot_be_named_and_forms_need_the_csrf_token,
    sign_out_everywhere_ends_the_session_and_forgetting_consents_asks_again,
);
