//! What one kind of request may take of the server, over real HTTP on SQLite and Postgres:
//! with every password-check permit taken, a password (grant or login page) or a client
//! secret that needs bcrypt is refused at once with 503 + `Retry-After`, never an
//! `invalid_*` and never counted as a failure, while requests that need no bcrypt go on;
//! and `/readyz` answers from one database probe a second, however many ask.

use std::time::{Duration, Instant};

use crate::common::*;
use grantd_domain::TokenSettings;
use grantd_ports::CheckPermit;

/// Takes every free password-check permit of `app`; they are given back when dropped.
fn take_every_permit(app: &TestApp) -> Vec<CheckPermit> {
    std::iter::from_fn(|| app.ports.password_checks.try_acquire()).collect()
}

fn metric(app: &TestApp, series: &str) -> f64 {
    let text = http()
        .get(app.url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in {text}"))
}

fn assert_retry_later(response: reqwest::blocking::Response, what: &str) {
    assert_eq!(response.status(), 503, "{what}");
    let retry_after = response.headers().get("retry-after").map(|v| v.to_owned());
    assert!(
        retry_after.is_some_and(|v| v.to_str().unwrap().parse::<u32>().unwrap() >= 1),
        "{what}: Retry-After"
    );
}

fn a_full_password_check_pool_answers_503_at_once_and_counts_nothing(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    // Verified once, so `app`'s secret is remembered and needs no bcrypt below.
    let (access, r0) = login(&app);
    let held = take_every_permit(&app);
    assert!(!held.is_empty());

    let password = format!("grant_type=password&username=alice&password={PASSWORD}");
    for attempt in 0..12 {
        // More attempts than the per-username limit (10): none of them counts.
        let started = Instant::now();
        let response = token_request(&app, Some(("app", SECRET)), &password);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "refused at once, not queued"
        );
        let headers = response.headers().clone();
        let (status, body) = json(response);
        assert_eq!(
            (status, body["error"].as_str()),
            (503, Some("temporarily_unavailable")),
            "attempt {attempt}: {body}"
        );
        assert!(headers.get("retry-after").is_some());
        assert!(
            headers.get("www-authenticate").is_none(),
            "not invalid_client"
        );
    }
    // A client secret that needs bcrypt (not yet remembered) waits for a permit too.
    let (status, body) = json(token_request(
        &app,
        Some(("other", OTHER_SECRET)),
        "grant_type=client_credentials",
    ));
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("temporarily_unavailable"))
    );
    // So does the login page's password.
    assert_retry_later(log_in_on_the_page(&app), "the login page");
    // What needs no bcrypt goes on: a refresh with a remembered secret, the resource.
    let (status, body) = refresh(&app, &r0);
    assert_eq!(status, 200, "{body}");
    assert_eq!(me(&app, &access).status(), 200);
    assert!(metric(&app, "grantd_password_checks_refused_total") >= 14.0);

    drop(held);
    // Nothing was counted against alice or `other`: both authenticate at once.
    let (status, body) = json(token_request(&app, Some(("app", SECRET)), &password));
    assert_eq!(status, 200, "{body}");
    let (status, body) = json(token_request(
        &app,
        Some(("other", OTHER_SECRET)),
        "grant_type=client_credentials",
    ));
    assert_eq!(status, 200, "{body}");
}

/// Opens the login page for the code-flow client `web` and posts alice's password with
/// the page's CSRF token; returns the answer to the post.
fn log_in_on_the_page(app: &TestApp) -> reqwest::blocking::Response {
    let path = format!(
        "/oauth/authorize?response_type=code&client_id=web&redirect_uri={}&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
        serde_urlencoded::to_string([("v", WEB_CB)]).unwrap()[2..].to_owned()
    );
    let page = http().get(app.url(&path)).send().unwrap();
    assert_eq!(page.status(), 200);
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = page.text().unwrap();
    let marker = r#"name="csrf_token" value=""#;
    let start = html.find(marker).unwrap() + marker.len();
    let csrf = html[start..].split('"').next().unwrap();
    http()
        .post(app.url(&path))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "csrf_token={}&username=alice&password={PASSWORD}",
            serde_urlencoded::to_string([("v", csrf)]).unwrap()[2..].to_owned()
        ))
        .send()
        .unwrap()
}

fn readyz_answers_from_one_probe_a_second(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let probes = || metric(&app, "grantd_readiness_probes_total");
    let before = probes();
    let started = Instant::now();
    // 8 connections asking 10 times each, as fast as they can.
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let askers: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    let client = http();
                    (0..10)
                        .map(|_| {
                            let response = client.get(app.url("/readyz")).send().unwrap();
                            response.status().as_u16()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        askers.into_iter().flat_map(|a| a.join().unwrap()).collect()
    });
    let elapsed = started.elapsed();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let ran = probes() - before;
    // One probe per second started (plus the one running at the start of a second).
    let most = elapsed.as_secs_f64().ceil() + 1.0;
    assert!(
        (1.0..=most).contains(&ran),
        "{ran} probes for 80 requests in {elapsed:?}"
    );
    // Within the second, the cached result answers without a new probe.
    let now = probes();
    assert_eq!(http().get(app.url("/readyz")).send().unwrap().status(), 200);
    assert!(probes() - now <= 1.0);
}

on_both_backends!(
    a_full_password_check_pool_answers_503_at_once_and_counts_nothing,
    readyz_answers_from_one_probe_a_second,
);
