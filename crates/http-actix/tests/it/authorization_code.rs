//! The authorization code flow over real HTTP, on SQLite and Postgres: the pages (login,
//! consent, CSRF, remembered consent), every error path of RFC 6749 §4.1.2.1 (page versus
//! redirect), and the exchange (PKCE, redirect URI, reuse revoking the tokens).

use crate::common::*;
use grantd_domain::TokenSettings;

/// RFC 7636 Appendix B.
pub(crate) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

pub(crate) fn enc(v: &str) -> String {
    serde_urlencoded::to_string([("v", v)]).unwrap()[2..].to_owned()
}

pub(crate) fn authorize_path(client: &str, redirect_uri: &str, extra: &str) -> String {
    format!(
        "/oauth/authorize?response_type=code&client_id={client}&redirect_uri={}&state=xyz&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}",
        enc(redirect_uri)
    )
}

/// A cookie-keeping browser stand-in, built on the non-redirecting client (also used by
/// the scope tests).
pub(crate) struct Browser {
    app_base: String,
    /// The `name=value` of the last cookie set (the session).
    pub(crate) cookie: Option<String>,
}

impl Browser {
    pub(crate) fn new(app: &TestApp) -> Self {
        Self {
            app_base: app.base.clone(),
            cookie: None,
        }
    }

    fn keep_cookie(&mut self, resp: &reqwest::blocking::Response) {
        if let Some(c) = resp.headers().get("set-cookie") {
            let pair = c.to_str().unwrap().split(';').next().unwrap().to_owned();
            self.cookie = Some(pair);
        }
    }

    pub(crate) fn get(&mut self, path: &str) -> reqwest::blocking::Response {
        let mut req = http().get(format!("{}{path}", self.app_base));
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        let resp = req.send().unwrap();
        self.keep_cookie(&resp);
        resp
    }

    pub(crate) fn post(&mut self, path: &str, body: &str) -> reqwest::blocking::Response {
        let mut req = http()
            .post(format!("{}{path}", self.app_base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned());
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        let resp = req.send().unwrap();
        self.keep_cookie(&resp);
        resp
    }

    /// GET the authorize URL, log in, and return the consent page's HTML.
    pub(crate) fn log_in(&mut self, path: &str) -> String {
        let page = self.get(path);
        assert_eq!(page.status(), 200);
        let html = page.text().unwrap();
        assert!(html.contains(r#"name="username""#) && html.contains(r#"name="password""#));
        let token = csrf(&html);
        let resp = self.post(
            path,
            &format!(
                "csrf_token={}&username=alice&password={PASSWORD}",
                enc(&token)
            ),
        );
        assert_eq!(resp.status(), 303, "{:?}", resp.text());
        let consent = self.get(path);
        assert_eq!(consent.status(), 200);
        consent.text().unwrap()
    }

    /// Press Allow or Deny on a consent page; returns the Location.
    pub(crate) fn decide(&mut self, path: &str, consent_html: &str, decision: &str) -> String {
        let token = csrf(consent_html);
        let resp = self.post(
            path,
            &format!("csrf_token={}&decision={decision}", enc(&token)),
        );
        assert_eq!(resp.status(), 303);
        location(&resp)
    }
}

pub(crate) fn csrf(html: &str) -> String {
    let marker = r#"name="csrf_token" value=""#;
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

pub(crate) fn location(resp: &reqwest::blocking::Response) -> String {
    resp.headers()["location"].to_str().unwrap().to_owned()
}

pub(crate) fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .unwrap()
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// The whole front channel for `web`: returns the code.
pub(crate) fn code_for_web(app: &TestApp, browser: &mut Browser, extra: &str) -> String {
    let path = authorize_path("web", WEB_CB, extra);
    let consent = browser.log_in(&path);
    assert!(
        consent.contains("Web App"),
        "the consent page names the client"
    );
    let to = browser.decide(&path, &consent, "allow");
    assert!(to.starts_with(&format!("{WEB_CB}?code=gac_")), "{to}");
    assert_eq!(query_param(&to, "state").as_deref(), Some("xyz"));
    let _ = app;
    query_param(&to, "code").unwrap()
}

pub(crate) fn exchange(
    app: &TestApp,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> (u16, serde_json::Value) {
    json(token_request(
        app,
        Some(("web", SECRET)),
        &format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={verifier}",
            enc(redirect_uri)
        ),
    ))
}

fn code_flow_issues_tokens_that_refresh(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let mut browser = Browser::new(&app);
    let code = code_for_web(&app, &mut browser, "&scope=read");
    let resp = token_request(
        &app,
        Some(("web", SECRET)),
        &format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
            enc(WEB_CB)
        ),
    );
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let (status, body) = json(resp);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "read");
    let access = body["access_token"].as_str().unwrap();
    let (status, me_body) = json(me(&app, access));
    assert_eq!(status, 200);
    assert_eq!(me_body["username"], "alice");
    assert_eq!(me_body["client_id"], "web");
    let (status, refreshed) = json(token_request(
        &app,
        Some(("web", SECRET)),
        &format!(
            "grant_type=refresh_token&refresh_token={}",
            body["refresh_token"].as_str().unwrap()
        ),
    ));
    assert_eq!(status, 200, "{refreshed}");
    assert!(refreshed["refresh_token"]
        .as_str()
        .unwrap()
        .starts_with("grt_"));
}

fn public_client_flow_with_pkce(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let mut browser = Browser::new(&app);
    let path = authorize_path("native", NATIVE_CB, "");
    let consent = browser.log_in(&path);
    let to = browser.decide(&path, &consent, "allow");
    let code = query_param(&to, "code").unwrap();
    let (status, body) = json(token_request(
        &app,
        None,
        &format!(
            "grant_type=authorization_code&client_id=native&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
            enc(NATIVE_CB)
        ),
    ));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "read write");
}

fn client_and_redirect_uri_errors_are_pages_never_redirects(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let cases = [
        "/oauth/authorize?response_type=code&client_id=nope&redirect_uri=https%3A%2F%2Fweb.example%2Fcb".to_owned(),
        "/oauth/authorize?response_type=code&redirect_uri=https%3A%2F%2Fweb.example%2Fcb".to_owned(),
        authorize_path("web", "https://evil.example/cb", ""),
        authorize_path("web", "https://web.example/cb/x", ""),
        // web has two redirect URIs: omitting it cannot be resolved.
        "/oauth/authorize?response_type=code&client_id=web&state=xyz".to_owned(),
        // A bad response_type with a bad redirect URI: still a page.
        "/oauth/authorize?response_type=token&client_id=web&redirect_uri=https%3A%2F%2Fevil.example".to_owned(),
        // Repeated parameters (§3.1).
        "/oauth/authorize?client_id=web&client_id=app".to_owned(),
    ];
    for path in cases {
        let resp = http().get(app.url(&path)).send().unwrap();
        assert_eq!(resp.status(), 400, "{path}");
        assert!(resp.headers().get("location").is_none(), "{path}");
        assert_eq!(resp.headers()["x-frame-options"], "DENY");
        assert!(resp.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'"));
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let html = resp.text().unwrap();
        assert!(html.contains("does not work"), "{html}");
    }
}

fn other_errors_redirect_with_error_and_state(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let cases = [
        (
            authorize_path("web", WEB_CB, "").replace("response_type=code", "response_type=token"),
            WEB_CB,
            "unsupported_response_type",
        ),
        (
            authorize_path("web", WEB_CB, "&scope=read%20admin"),
            WEB_CB,
            "invalid_scope",
        ),
        (
            authorize_path("web", WEB_CB, "").replace("S256", "plain"),
            WEB_CB,
            "invalid_request",
        ),
        (
            format!(
                "/oauth/authorize?response_type=code&client_id=native&state=xyz&redirect_uri={}",
                enc(NATIVE_CB)
            ),
            NATIVE_CB,
            "invalid_request",
        ),
        (
            authorize_path("web", WEB_CB_OTHER, "")
                .replace("response_type=code", "response_type=token"),
            WEB_CB_OTHER,
            "unsupported_response_type",
        ),
    ];
    for (path, cb, error) in cases {
        let resp = http().get(app.url(&path)).send().unwrap();
        assert_eq!(resp.status(), 302, "{path}");
        let to = location(&resp);
        assert!(to.starts_with(cb), "{to}");
        assert_eq!(query_param(&to, "error").as_deref(), Some(error), "{path}");
        assert_eq!(query_param(&to, "state").as_deref(), Some("xyz"));
        assert!(query_param(&to, "error_description").is_some());
    }
    // The registered URI's own query is kept.
    let resp = http()
        .get(app.url(&authorize_path("web", WEB_CB_OTHER, "").replace("S256", "plain")))
        .send()
        .unwrap();
    assert!(location(&resp).starts_with("https://web.example/other?x=1&error="));
}

fn deny_redirects_with_access_denied(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let mut browser = Browser::new(&app);
    let path = authorize_path("web", WEB_CB, "");
    let consent = browser.log_in(&path);
    let to = browser.decide(&path, &consent, "deny");
    assert_eq!(query_param(&to, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&to, "state").as_deref(), Some("xyz"));
    assert_eq!(query_param(&to, "code"), None);
}

fn reused_code_is_refused_and_revokes_its_tokens(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let mut browser = Browser::new(&app);
    let code = code_for_web(&app, &mut browser, "");
    let (status, first) = exchange(&app, &code, WEB_CB, VERIFIER);
    assert_eq!(status, 200, "{first}");
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(me(&app, access).status(), 200);

    let (status, second) = exchange(&app, &code, WEB_CB, VERIFIER);
    assert_eq!(
        (status, second["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // Every token issued from the code is revoked (RFC 6749 §4.1.2).
    assert_eq!(me(&app, access).status(), 401);
    let (status, refreshed) = json(token_request(
        &app,
        Some(("web", SECRET)),
        &format!(
            "grant_type=refresh_token&refresh_token={}",
            first["refresh_token"].as_str().unwrap()
        ),
    ));
    assert_eq!(
        (status, refreshed["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

/// Only a request that would otherwise have been valid revokes: a leaked used code without
/// its verifier (or with a wrong one) is refused and the rightful tokens live on.
fn a_reused_code_without_its_verifier_revokes_nothing(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let mut browser = Browser::new(&app);
    let code = code_for_web(&app, &mut browser, "");
    let (status, first) = exchange(&app, &code, WEB_CB, VERIFIER);
    assert_eq!(status, 200, "{first}");
    let access = first["access_token"].as_str().unwrap();

    let no_verifier = json(token_request(
        &app,
        Some(("web", SECRET)),
        &format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}",
            enc(WEB_CB)
        ),
    ));
    let wrong_verifier = exchange(&app, &code, WEB_CB, &VERIFIER.replace('d', "e"));
    for (status, body) in [no_verifier, wrong_verifier] {
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
    }
    assert_eq!(me(&app, access).status(), 200, "nothing was revoked");
    // The rightful holder's replay (verifier and all) is still reuse and revokes.
    let (status, _) = exchange(&app, &code, WEB_CB, VERIFIER);
    assert_eq!(status, 400);
    assert_eq!(me(&app, access).status(), 401);
}

fn pkce_mismatch_and_wrong_redirect_uri_are_invalid_grant(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let mut browser = Browser::new(&app);
    let code = code_for_web(&app, &mut browser, "");
    let wrong = VERIFIER.replace('d', "e");
    let (status, body) = exchange(&app, &code, WEB_CB, &wrong);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, body) = exchange(&app, &code, WEB_CB_OTHER, VERIFIER);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // Another client cannot use it either.
    let (status, body) = json(token_request(
        &app,
        None,
        &format!("grant_type=authorization_code&client_id=native&code={code}&redirect_uri={}&code_verifier={VERIFIER}", enc(WEB_CB)),
    ));
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // None of those consumed it: the right exchange still works, once.
    let (status, body) = exchange(&app, &code, WEB_CB, VERIFIER);
    assert_eq!(status, 200, "{body}");
}

fn expired_code_is_invalid_grant(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let mut browser = Browser::new(&app);
    let code = code_for_web(&app, &mut browser, "");
    app.clock.advance(60);
    let (status, body) = exchange(&app, &code, WEB_CB, VERIFIER);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

fn forms_without_the_csrf_token_are_refused(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let mut browser = Browser::new(&app);
    let path = authorize_path("web", WEB_CB, "");
    browser.get(&path);
    for body in [
        format!("username=alice&password={PASSWORD}"),
        format!("csrf_token=forged&username=alice&password={PASSWORD}"),
    ] {
        let resp = browser.post(&path, &body);
        assert_eq!(resp.status(), 403, "{body}");
        assert!(resp.headers().get("location").is_none());
    }
    // A token from another session does not work either.
    let mut other = Browser::new(&app);
    let html = other.get(&path).text().unwrap();
    let resp = browser.post(
        &path,
        &format!(
            "csrf_token={}&username=alice&password={PASSWORD}",
            enc(&csrf(&html))
        ),
    );
    assert_eq!(resp.status(), 403);
    // Without any cookie (a cross-site POST) too.
    let resp = Browser::new(&app).post(
        &path,
        &format!("csrf_token={}&decision=allow", enc(&csrf(&html))),
    );
    assert_eq!(resp.status(), 403);
}

fn remembered_consent_skips_the_consent_page(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let mut browser = Browser::new(&app);
    code_for_web(&app, &mut browser, "&scope=read");
    // Same user, client and scope: straight back with a code.
    let resp = browser.get(&authorize_path("web", WEB_CB, "&scope=read"));
    assert_eq!(resp.status(), 302);
    assert!(query_param(&location(&resp), "code").is_some());
    // A wider scope asks again.
    let resp = browser.get(&authorize_path("web", WEB_CB, "&scope=read%20write"));
    assert_eq!(resp.status(), 200);
    assert!(resp.text().unwrap().contains(r#"value="allow""#));
}

fn wrong_password_shows_the_login_page_again(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let mut browser = Browser::new(&app);
    let path = authorize_path("web", WEB_CB, "");
    let html = browser.get(&path).text().unwrap();
    let resp = browser.post(
        &path,
        &format!(
            "csrf_token={}&username=alice&password=nope",
            enc(&csrf(&html))
        ),
    );
    assert_eq!(resp.status(), 401);
    assert!(resp.text().unwrap().contains("not right"));
}

fn pages_and_stylesheet_are_served(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let resp = http().get(app.url("/assets/grantd.css")).send().unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    let resp = http()
        .get(app.url(&authorize_path("web", WEB_CB, "")))
        .send()
        .unwrap();
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let html = resp.text().unwrap();
    assert!(html.contains(r#"name="viewport""#));
    assert!(
        html.contains(r#"<label for="username">"#) && html.contains(r#"<label for="password">"#)
    );
    assert!(!html.contains("<script"));
    let resp = http()
        .get(app.url("/callback?code=gac_x&state=s"))
        .send()
        .unwrap();
    assert!(resp.text().unwrap().contains("gac_x"));
}

on_both_backends!(
    code_flow_issues_tokens_that_refresh,
    public_client_flow_with_pkce,
    client_and_redirect_uri_errors_are_pages_never_redirects,
    other_errors_redirect_with_error_and_state,
    deny_redirects_with_access_denied,
    reused_code_is_refused_and_revokes_its_tokens,
    a_reused_code_without_its_verifier_revokes_nothing,
    pkce_mismatch_and_wrong_redirect_uri_are_invalid_grant,
    expired_code_is_invalid_grant,
    forms_without_the_csrf_token_are_refused,
    remembered_consent_skips_the_consent_page,
    wrong_password_shows_the_login_page_again,
    pages_and_stylesheet_are_served,
);
