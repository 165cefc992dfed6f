//! Login sessions over real HTTP, on SQLite and Postgres: `POST /oauth/logout` ends the
//! session (every copy of the cookie, through the user's stamp) and the authorize endpoint
//! asks for the login again; a password change, disabling or deleting the user ends it too;
//! the cookie's name and attributes follow the issuer's scheme; and a code whose user was
//! disabled or changed their password before the exchange is `invalid_grant`.

use crate::authorization_code::{
    authorize_path, code_for_web, csrf, enc, exchange, location, Browser, VERIFIER,
};
use crate::common::*;
use grantd_domain::{accounts, TokenSettings};
use grantd_ports::{AuthorizationStore, User, UserStore, Username};

fn alice(app: &TestApp) -> User {
    app.db
        .find_user_by_username(&Username::parse("alice").unwrap())
        .unwrap()
        .unwrap()
}

fn is_login_page(resp: reqwest::blocking::Response) -> bool {
    resp.status() == 200 && resp.text().unwrap().contains(r#"name="password""#)
}

fn is_consent_page(resp: reqwest::blocking::Response) -> bool {
    resp.status() == 200 && resp.text().unwrap().contains(r#"value="allow""#)
}

/// A browser holding a copy of `browser`'s cookie (as a thief, or a second tab, would).
fn copy_of(app: &TestApp, browser: &Browser) -> Browser {
    let mut copy = Browser::new(app);
    copy.cookie = browser.cookie.clone();
    copy
}

/// The `name="return_to"` value of the consent page's sign-out form.
fn return_to(html: &str) -> String {
    let marker = r#"name="return_to" value=""#;
    let start = html.find(marker).expect("a sign-out form") + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
}

fn logout_ends_the_session_and_the_login_page_comes_back(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let mut browser = Browser::new(&app);
    let path = authorize_path("web", WEB_CB, "");
    let consent = browser.log_in(&path);
    assert!(consent.contains(r#"action="/oauth/logout""#), "{consent}");
    assert_eq!(return_to(&consent), path);
    let mut stolen = copy_of(&app, &browser);

    let resp = browser.post(
        "/oauth/logout",
        &format!(
            "csrf_token={}&return_to={}",
            enc(&csrf(&consent)),
            enc(&return_to(&consent))
        ),
    );
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), path, "back to the authorization request");
    let removal = resp.headers()["set-cookie"].to_str().unwrap();
    assert!(
        removal.contains("Max-Age=0") && removal.contains("Path=/"),
        "{removal}"
    );
    assert!(
        is_login_page(browser.get(&path)),
        "the login is asked again"
    );
    // Every copy of the old cookie ended with it: the session is over on the server.
    assert!(is_login_page(stolen.get(&path)));
    // And a new login works.
    assert!(browser.log_in(&path).contains(r#"value="allow""#));
}

fn logout_needs_the_sessions_csrf_token(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let mut browser = Browser::new(&app);
    let path = authorize_path("web", WEB_CB, "");
    browser.log_in(&path);
    // A stranger's page cannot sign the user out: no token, or another session's token.
    let other = Browser::new(&app).get(&path).text().unwrap();
    for body in [
        String::new(),
        "csrf_token=forged".to_owned(),
        format!("csrf_token={}", enc(&csrf(&other))),
    ] {
        let resp = browser.post("/oauth/logout", &body);
        assert_eq!(resp.status(), 403, "{body}");
        assert!(resp.headers().get("set-cookie").is_none());
    }
    assert!(is_consent_page(browser.get(&path)), "still signed in");
    // A GET (which any page can make a browser send) without an id_token_hint of the
    // user only asks (RP-initiated logout, see rp_logout.rs): nothing ends.
    let resp = browser.get("/oauth/logout");
    assert_eq!(resp.status(), 200);
    assert!(resp.text().unwrap().contains("Sign out?"));
    assert!(is_consent_page(browser.get(&path)));
}

fn logout_without_a_session_or_with_a_foreign_return_shows_a_page(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    // No cookie: nothing to end; the answer is the signed-out page.
    let resp = Browser::new(&app).post("/oauth/logout", "");
    assert_eq!(resp.status(), 200);
    assert!(resp.text().unwrap().contains("signed out"));
    // A return address that is not our authorization endpoint is never followed.
    let mut browser = Browser::new(&app);
    let path = authorize_path("web", WEB_CB, "");
    let consent = browser.log_in(&path);
    let resp = browser.post(
        "/oauth/logout",
        &format!(
            "csrf_token={}&return_to={}",
            enc(&csrf(&consent)),
            enc("https://evil.example/oauth/authorize?x=1")
        ),
    );
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("location").is_none());
    assert!(is_login_page(browser.get(&path)));
}

fn a_session_stops_working_after_a_password_change(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let mut browser = Browser::new(&app);
    let path = authorize_path("web", WEB_CB, "");
    browser.log_in(&path);
    assert!(is_consent_page(browser.get(&path)));
    accounts::change_password(
        &app.ports,
        &alice(&app),
        &accounts::NewPassword::parse("new-password").unwrap(),
    )
    .unwrap();
    assert!(is_login_page(browser.get(&path)));
}

fn a_session_stops_working_when_the_user_is_disabled_and_stays_ended_after_enable(
    backend: Backend,
) {
    let app = TestApp::start(backend, TokenSettings::default());
    let mut browser = Browser::new(&app);
    let path = authorize_path("web", WEB_CB, "");
    browser.log_in(&path);
    accounts::disable_user(&app.ports, &alice(&app)).unwrap();
    let mut copy = copy_of(&app, &browser);
    assert!(is_login_page(browser.get(&path)));
    accounts::enable_user(&app.ports, &alice(&app)).unwrap();
    assert!(
        is_login_page(copy.get(&path)),
        "enabling revives no session"
    );
}

fn a_session_stops_working_when_the_user_is_deleted(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let mut browser = Browser::new(&app);
    let path = authorize_path("web", WEB_CB, "");
    browser.log_in(&path);
    accounts::delete_user(&app.ports, &alice(&app)).unwrap();
    assert!(is_login_page(browser.get(&path)));
}

/// The `Set-Cookie` of a first visit and of a login, for an app with this issuer.
fn cookies_of(app: &TestApp) -> (String, String) {
    let path = authorize_path("web", WEB_CB, "");
    let mut browser = Browser::new(app);
    let first = browser.get(&path);
    let anonymous = first.headers()["set-cookie"].to_str().unwrap().to_owned();
    let html = first.text().unwrap();
    let resp = browser.post(
        &path,
        &format!(
            "csrf_token={}&username=alice&password={PASSWORD}",
            enc(&csrf(&html))
        ),
    );
    assert_eq!(resp.status(), 303);
    let logged_in = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(is_consent_page(browser.get(&path)));
    (anonymous, logged_in)
}

fn session_cookie_on_an_http_issuer_is_host_only_and_not_secure(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let (anonymous, logged_in) = cookies_of(&app);
    for cookie in [anonymous, logged_in] {
        assert!(cookie.starts_with("grantd_session="), "{cookie}");
        assert!(
            cookie.ends_with("; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax"),
            "{cookie}"
        );
        assert!(
            !cookie.contains("Domain") && !cookie.contains("Secure"),
            "{cookie}"
        );
    }
}

fn session_cookie_on_an_https_issuer_is_host_prefixed_and_secure(backend: Backend) {
    let app = TestApp::start_https(backend, TokenSettings::default());
    let (anonymous, logged_in) = cookies_of(&app);
    for cookie in [&anonymous, &logged_in] {
        assert!(cookie.starts_with("__Host-grantd_session="), "{cookie}");
        assert!(
            cookie.ends_with("; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax; Secure"),
            "{cookie}"
        );
        assert!(!cookie.contains("Domain"), "{cookie}");
    }
    // The same session under the unprefixed name (as a sibling host could plant it) is
    // not read: only the `__Host-` cookie counts.
    let value = logged_in.split(';').next().unwrap();
    let mut planted = Browser::new(&app);
    planted.cookie = Some(value.replacen("__Host-grantd_session", "grantd_session", 1));
    assert!(is_login_page(
        planted.get(&authorize_path("web", WEB_CB, ""))
    ));
    let mut genuine = Browser::new(&app);
    genuine.cookie = Some(value.to_owned());
    assert!(is_consent_page(
        genuine.get(&authorize_path("web", WEB_CB, ""))
    ));
    // Logout removes the prefixed cookie with the same attributes.
    let consent = genuine
        .get(&authorize_path("web", WEB_CB, ""))
        .text()
        .unwrap();
    let resp = genuine.post(
        "/oauth/logout",
        &format!("csrf_token={}", enc(&csrf(&consent))),
    );
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["set-cookie"],
        "__Host-grantd_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure"
    );
}

fn an_outstanding_code_dies_with_a_password_change_or_a_disabling(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    for change in ["password", "disable"] {
        // Forget the consent, so that each round shows the consent page.
        app.db.revoke_consents(&alice(&app).id, None).unwrap();
        let mut browser = Browser::new(&app);
        let code = code_for_web(&app, &mut browser, "");
        match change {
            "password" => {
                accounts::change_password(
                    &app.ports,
                    &alice(&app),
                    &accounts::NewPassword::parse(PASSWORD).unwrap(),
                )
                .unwrap();
            }
            _ => {
                accounts::disable_user(&app.ports, &alice(&app)).unwrap();
            }
        }
        let (status, body) = exchange(&app, &code, WEB_CB, VERIFIER);
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{change}: {body}"
        );
        accounts::enable_user(&app.ports, &alice(&app)).unwrap();
    }
}

on_both_backends!(
    logout_ends_the_session_and_the_login_page_comes_back,
    logout_needs_the_sessions_csrf_token,
    logout_without_a_session_or_with_a_foreign_return_shows_a_page,
    a_session_stops_working_after_a_password_change,
    a_session_stops_working_when_the_user_is_disabled_and_stays_ended_after_enable,
    a_session_stops_working_when_the_user_is_deleted,
    session_cookie_on_an_http_issuer_is_host_only_and_not_secure,
    session_cookie_on_an_https_issuer_is_host_prefixed_and_secure,
    an_outstanding_code_dies_with_a_password_change_or_a_disabling,
);
