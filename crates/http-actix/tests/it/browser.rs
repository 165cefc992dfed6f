//! The code flow in a real browser: headless Chromium driven over WebDriver (fantoccini and
//! Debian's chromedriver) opens the authorize URL, logs in, signs out from the consent page
//! (and is asked to log in again), logs in, allows, and lands on the redirect URI (the app's own `/callback` page); the test then exchanges the code with
//! PKCE, calls `/api/me` and refreshes. It fails, never skips, when Chromium or
//! chromedriver is missing (`.ci/run` installs them).
//!
//! `GRANTD_SCREENSHOTS=docs` (relative to the workspace root) saves the login and consent
//! pages as `login.png` and `consent.png` there.

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
    browser
        .wait()
        .for_element(Locator::Css(r#"button[name=decision][value=allow]"#))
        .await
        .expect("the consent page")
}

/// Drives the browser through login, consent, sign-out, login again and consent; returns
/// the URL it lands on.
async fn authorize_in_browser(driver: &Driver, authorize_url: &str, callback: &str) -> String {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=420,760",
                format!("--user-data-dir={}", driver._profile.path().display()),
            ],
        }),
    );
    let browser = ClientBuilder::native()
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a WebDriver session with headless Chromium");
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
