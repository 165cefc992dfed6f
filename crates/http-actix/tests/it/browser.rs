//! The code flow in a real browser: headless Chromium driven over WebDriver (fantoccini and
//! Debian's chromedriver) opens the authorize URL, logs in, signs out from the consent page
//! (and is asked to log in again), logs in, allows, and lands on the redirect URI (the app's own `/callback` page); the test then exchanges the code with
//! PKCE, calls `/api/me` and refreshes. The account page the same way: alice signs in at
//! `/account`, sees her two applications, revokes one with its button; then that one's
//! refresh token is `invalid_grant` while the other's still refreshes. They fail, never
//! skip, when Chromium or chromedriver is missing (`.ci/run` installs them).
//!
//! `GRANTD_SCREENSHOTS=docs` (relative to the workspace root) saves the login and consent
//! pages as `login.png` and `consent.png` there, and the account page as `account.png`
//! (two applications) and `account-revoked.png` (after the revoke).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use fantoccini::{ClientBuilder, Locator};
use grantd_domain::TokenSettings;
use grantd_ports::{
    Client, ClientId, ClientStore, GrantType, LifetimeOverrides, ScopeSet, SecretHasher,
};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// chromedriver, killed when dropped.
struct Driver {
    child: Child,
    url: String,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_chromedriver() -> Driver {
    for tool in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(tool).exists(),
            "{tool} is missing: the browser test needs Debian's chromium and chromium-driver \
             (apt-get install -y chromium chromium-driver; .ci/run does this)"
        );
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting chromedriver");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if http()
            .get(format!("{url}/status"))
            .send()
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver did not start on {url}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Driver {
        child,
        url,
        _profile: tempfile::tempdir().unwrap(),
    }
}

fn screenshot_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("GRANTD_SCREENSHOTS")?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    Some(root.join(dir))
}

/// Types alice's credentials into the login form whose username field is `username`, and
/// sends it.
async fn send_login(browser: &fantoccini::Client, username: fantoccini::elements::Element) {
    username.send_keys("alice").await.unwrap();
    browser
        .find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    browser
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Fills in and sends the login page the browser shows (saving it as `login.png` in
/// `shots`); returns the consent page's Allow button.
async fn sign_in(
    browser: &fantoccini::Client,
    shots: Option<&Path>,
) -> fantoccini::elements::Element {
    let username = browser
        .wait()
        .for_element(Locator::Css("input[name=username]"))
        .await
        .expect("the login page");
    if let Some(dir) = shots {
        std::fs::write(dir.join("login.png"), browser.screenshot().await.unwrap()).unwrap();
    }
    send_login(browser, username).await;
    browser
        .wait()
        .for_element(Locator::Css(r#"button[name=decision][value=allow]"#))
        .await
        .expect("the consent page")
}

/// A WebDriver session with headless Chromium in a window of `size` ("width,height").
async fn open_browser(driver: &Driver, size: &str) -> fantoccini::Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                format!("--window-size={size}"),
                format!("--user-data-dir={}", driver._profile.path().display()),
            ],
        }),
    );
    ClientBuilder::native()
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a WebDriver session with headless Chromium")
}

/// Drives the browser through login, consent, sign-out, login again and consent; returns
/// the URL it lands on.
async fn authorize_in_browser(driver: &Driver, authorize_url: &str, callback: &str) -> String {
    let browser = open_browser(driver, "420,760").await;
    let shots = screenshot_dir();

    browser.goto(authorize_url).await.unwrap();
    sign_in(&browser, shots.as_deref()).await;
    let page = browser.source().await.unwrap();
    assert!(
        page.contains("Browser App"),
        "the consent page names the client"
    );
    if let Some(dir) = &shots {
        std::fs::write(dir.join("consent.png"), browser.screenshot().await.unwrap()).unwrap();
    }
    // Sign out from the consent page: the browser drops the cookie (host-only, `Path=/`)
    // and comes back to the login page of the same request, which starts a new session;
    // then sign in again.
    let signed_in = browser.get_named_cookie("grantd_session").await.unwrap();
    assert_eq!(signed_in.path(), Some("/"));
    browser
        .find(Locator::Css("form.signout button[type=submit]"))
        .await
        .expect("a sign-out button on the consent page")
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .for_element(Locator::Css("input[name=username]"))
        .await
        .expect("the login page again");
    let after = browser.get_named_cookie("grantd_session").await.unwrap();
    assert_ne!(
        after.value(),
        signed_in.value(),
        "the signed-in cookie is gone"
    );
    let allow = sign_in(&browser, None).await;
    allow.click().await.unwrap();

    browser
        .wait()
        .for_element(Locator::Css("#code"))
        .await
        .expect("the callback page showing the code");
    let landed = browser.current_url().await.unwrap().to_string();
    assert!(landed.starts_with(callback), "{landed}");
    browser.close().await.unwrap();
    landed
}

#[test]
fn browser_logs_in_allows_and_the_code_exchanges_with_pkce() {
    let app = TestApp::start(Backend::Sqlite, TokenSettings::default());
    let callback = format!("{}/callback", app.base);
    app.db
        .insert_client(&Client {
            id: ClientId::parse("browser-app").unwrap(),
            name: "Browser App".into(),
            secret: Some(app.hasher.hash_client_secret(SECRET)),
            secret_version: 1,
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scopes: ScopeSet::parse("read write").unwrap(),
            default_scopes: None,
            redirect_uris: vec![callback.clone()],
            post_logout_redirect_uris: vec![],
            can_introspect: false,
            lifetimes: LifetimeOverrides::default(),
            access_token_format: None,
            created_at: 0,
            require_dpop: false,
            admin: false,
        })
        .unwrap();
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", "browser-app"),
        ("redirect_uri", callback.as_str()),
        ("scope", "read write"),
        ("state", "s-42"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    let authorize_url = app.url(&format!("/oauth/authorize?{query}"));

    let driver = start_chromedriver();
    let landed = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(authorize_in_browser(&driver, &authorize_url, &callback));
    drop(driver);

    let params: Vec<(String, String)> =
        serde_urlencoded::from_str(landed.split_once('?').unwrap().1).unwrap();
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("state").as_deref(), Some("s-42"));
    let code = get("code").expect("a code in the redirect");

    let (status, body) = json(token_request(
        &app,
        Some(("browser-app", SECRET)),
        &serde_urlencoded::to_string([
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", callback.as_str()),
            ("code_verifier", VERIFIER),
        ])
        .unwrap(),
    ));
    assert_eq!(status, 200, "{body}");
    let (status, me_body) = json(me(&app, body["access_token"].as_str().unwrap()));
    assert_eq!((status, me_body["username"].as_str()), (200, Some("alice")));
    let (status, refreshed) = json(token_request(
        &app,
        Some(("browser-app", SECRET)),
        &format!(
            "grant_type=refresh_token&refresh_token={}",
            body["refresh_token"].as_str().unwrap()
        ),
    ));
    assert_eq!(status, 200, "{refreshed}");
}

/// The names of the applications the account page lists.
async fn listed_applications(browser: &fantoccini::Client) -> Vec<String> {
    let mut names = Vec::new();
    for heading in browser
        .find_all(Locator::Css("li.application h2"))
        .await
        .unwrap()
    {
        names.push(heading.text().await.unwrap());
    }
    names
}

/// Signs alice in at `/account`, checks that both applications are listed, clicks Revoke
/// on `revoke`'s, and checks that only `keep` is left.
async fn revoke_on_the_account_page(driver: &Driver, account_url: &str, revoke: &str, keep: &str) {
    let browser = open_browser(driver, "420,760").await;
    // Tall enough that both applications are in the screenshot.
    browser.set_window_size(460, 1320).await.unwrap();
    let shots = screenshot_dir();
    browser.goto(account_url).await.unwrap();
    let username = browser
        .wait()
        .for_element(Locator::Css("input[name=username]"))
        .await
        .expect("the account page's login form");
    send_login(&browser, username).await;
    browser
        .wait()
        .for_element(Locator::Css("li.application"))
        .await
        .expect("the account page listing applications");
    let mut names = listed_applications(&browser).await;
    names.sort();
    let mut both = vec![revoke.to_owned(), keep.to_owned()];
    both.sort();
    assert_eq!(names, both, "both applications are listed");
    let page = browser.source().await.unwrap();
    assert!(
        page.contains("Signed in as <strong>alice</strong>"),
        "{page}"
    );
    if let Some(dir) = &shots {
        std::fs::write(dir.join("account.png"), browser.screenshot().await.unwrap()).unwrap();
    }

    let mut button = None;
    for app in browser
        .find_all(Locator::Css("li.application"))
        .await
        .unwrap()
    {
        let name = app
            .find(Locator::Css("h2"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if name == revoke {
            button = Some(
                app.find(Locator::Css("button[name=action][value=revoke]"))
                    .await
                    .expect("a Revoke button per application"),
            );
        }
    }
    button
        .expect("the application to revoke")
        .click()
        .await
        .unwrap();
    let notice = browser
        .wait()
        .for_element(Locator::Css("p.notice"))
        .await
        .expect("the page after the revoke");
    assert_eq!(notice.text().await.unwrap(), "Access revoked.");
    assert_eq!(listed_applications(&browser).await, vec![keep.to_owned()]);
    if let Some(dir) = &shots {
        std::fs::write(
            dir.join("account-revoked.png"),
            browser.screenshot().await.unwrap(),
        )
        .unwrap();
    }
    browser.close().await.unwrap();
}

#[test]
fn browser_signs_in_to_the_account_page_and_revokes_one_of_two_apps() {
    let app = TestApp::start(Backend::Sqlite, TokenSettings::default());
    // Two applications alice gave access with the password grant, under readable names.
    let mut grants = Vec::new();
    for (id, secret, name, scope) in [
        ("app", SECRET, "Photo Printer", "read"),
        ("other", OTHER_SECRET, "Calendar Sync", "read write"),
    ] {
        let client_id = ClientId::parse(id).unwrap();
        let client = app.db.find_client(&client_id).unwrap().unwrap();
        assert!(app
            .db
            .update_client(&Client {
                name: name.into(),
                ..client
            })
            .unwrap());
        let (status, body) = json(token_request(
            &app,
            Some((id, secret)),
            &format!("grant_type=password&username=alice&password={PASSWORD}&scope={scope}"),
        ));
        assert_eq!(status, 200, "{body}");
        grants.push((
            id,
            secret,
            body["refresh_token"].as_str().unwrap().to_owned(),
        ));
    }
    // Calendar Sync has refreshed once since (the page says when); rotation is on, so it
    // holds a new refresh token.
    app.clock.advance(600);
    let (status, body) = json(token_request(
        &app,
        Some(("other", OTHER_SECRET)),
        &format!("grant_type=refresh_token&refresh_token={}", grants[1].2),
    ));
    assert_eq!(status, 200, "{body}");
    grants[1].2 = body["refresh_token"].as_str().unwrap().to_owned();

    let driver = start_chromedriver();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(revoke_on_the_account_page(
            &driver,
            &app.url("/account"),
            "Photo Printer",
            "Calendar Sync",
        ));
    drop(driver);

    let refresh = |(id, secret, token): &(&str, &str, String)| {
        json(token_request(
            &app,
            Some((id, secret)),
            &format!("grant_type=refresh_token&refresh_token={token}"),
        ))
    };
    // The revoked application's refresh token is dead (RFC 6749 §5.2 invalid_grant) ...
    let (status, body) = refresh(&grants[0]);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    // ... and the other application's still refreshes.
    let (status, body) = refresh(&grants[1]);
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].as_str().is_some(), "{body}");
}
