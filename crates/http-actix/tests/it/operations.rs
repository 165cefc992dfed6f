//! The operator's surface over a real socket: `/metrics` in Prometheus format counting
//! requests by endpoint, grant type and outcome, domain events and the pool; the
//! `x-request-id` header; the header-size limit.

use crate::common::*;
use grantd_domain::TokenSettings;

fn metrics(app: &TestApp) -> String {
    let response = http().get(app.url("/metrics")).send().unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(response
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    response.text().unwrap()
}

/// The value of the series `line_start` (name and labels exactly as rendered).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn metrics_count_requests_outcomes_domain_events_and_the_pool() {
    let app = TestApp::start(Backend::Sqlite, TokenSettings::default());
    let before = metrics(&app);
    assert_eq!(
        value(
            &before,
            "grantd_tokens_issued_total{grant_type=\"password\"}"
        ),
        Some(0.0)
    );
    assert_eq!(
        value(&before, "grantd_refresh_token_reuse_total"),
        Some(0.0)
    );

    let (_, refresh_token) = login(&app);
    let (status, _) = refresh(&app, &refresh_token);
    assert_eq!(status, 200);
    // Reuse of the rotated token (sent after its rotation, so not a lost race):
    // invalid_grant, and a reuse detection.
    app.clock.advance(5);
    let (status, body) = refresh(&app, &refresh_token);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // Wrong secrets for `other` until the brute-force limit answers 429.
    let mut limited = false;
    for _ in 0..12 {
        let response = token_request(
            &app,
            Some(("other", "wrong")),
            "grant_type=client_credentials",
        );
        limited |= response.status().as_u16() == 429;
    }
    assert!(limited);
    http()
        .get(app.url("/no/such/path?access_token=gat_secret"))
        .send()
        .unwrap();

    let text = metrics(&app);
    assert_eq!(
        value(&text, "grantd_tokens_issued_total{grant_type=\"password\"}"),
        Some(1.0)
    );
    assert_eq!(
        value(
            &text,
            "grantd_tokens_issued_total{grant_type=\"refresh_token\"}"
        ),
        Some(1.0)
    );
    assert_eq!(value(&text, "grantd_refresh_token_reuse_total"), Some(1.0));
    assert!(value(&text, "grantd_rate_limited_total").unwrap() >= 1.0);
    assert_eq!(
        value(
            &text,
            "grantd_http_requests_total{endpoint=\"/oauth/token\",method=\"POST\",status=\"400\",grant_type=\"refresh_token\",outcome=\"invalid_grant\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "grantd_http_requests_total{endpoint=\"/oauth/token\",method=\"POST\",status=\"200\",grant_type=\"password\",outcome=\"ok\"}"
        ),
        Some(1.0)
    );
    assert!(value(
        &text,
        "grantd_http_requests_total{endpoint=\"/oauth/token\",method=\"POST\",status=\"429\",grant_type=\"client_credentials\",outcome=\"too_many_requests\"}"
    )
    .is_some());
    // A path a client made up is never a label (nor is its query string).
    assert!(text.contains("endpoint=\"unmatched\""));
    assert!(!text.contains("/no/such/path") && !text.contains("gat_secret"));
    assert_eq!(
        value(
            &text,
            "grantd_http_request_duration_seconds_count{endpoint=\"/oauth/token\"}"
        ),
        Some(15.0)
    );
    assert!(text.contains(
        "grantd_http_request_duration_seconds_bucket{endpoint=\"/oauth/token\",le=\"+Inf\"} 15"
    ));
    assert_eq!(value(&text, "grantd_db_pool_max_connections"), Some(8.0));
    assert!(value(&text, "grantd_db_pool_connections").unwrap() >= 1.0);
    assert!(value(&text, "grantd_db_pool_idle_connections").is_some());
    assert_eq!(value(&text, "grantd_blocking_waiters"), Some(0.0));
    assert_eq!(value(&text, "grantd_blocking_in_flight"), Some(0.0));
    assert!(text.contains("# TYPE grantd_http_request_duration_seconds histogram"));
    // Every client authentication with a secret is either a cache hit or a bcrypt (miss).
    let cache = value(&text, "grantd_client_secret_cache_total{result=\"hit\"}").unwrap()
        + value(&text, "grantd_client_secret_cache_total{result=\"miss\"}").unwrap();
    assert!(cache >= 3.0, "{text}");
    assert_eq!(value(&text, "grantd_ready"), Some(1.0));
}

#[test]
fn every_response_carries_a_request_id() {
    let app = TestApp::start(Backend::Sqlite, TokenSettings::default());
    let a = http().get(app.url("/healthz")).send().unwrap();
    let b = http().get(app.url("/no-such")).send().unwrap();
    let id_a = a.headers()["x-request-id"].to_str().unwrap().to_owned();
    let id_b = b.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id_a.len(), 16);
    assert_ne!(id_a, id_b);
    // A plain id from a proxy in front is kept; anything else is replaced.
    let kept = http()
        .get(app.url("/healthz"))
        .header("x-request-id", "lb-1234.abc_DEF")
        .send()
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "lb-1234.abc_DEF");
    let replaced = http()
        .get(app.url("/healthz"))
        .header("x-request-id", "evil id\twith spaces")
        .send()
        .unwrap();
    assert_ne!(replaced.headers()["x-request-id"], "evil id\twith spaces");
}

#[test]
fn oversized_headers_get_431_json_and_change_nothing() {
    let app = TestApp::start(Backend::Sqlite, TokenSettings::default());
    let (access, _) = login(&app);
    let response = http()
        .post(app.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-padding", "a".repeat(20 * 1024))
        .basic_auth("app", Some(SECRET))
        .body(format!(
            "grant_type=password&username=alice&password={PASSWORD}"
        ))
        .send()
        .unwrap();
    let (status, body) = json(response);
    assert_eq!(
        (status, body["error"].as_str()),
        (431, Some("invalid_request"))
    );
    assert_eq!(me(&app, &access).status().as_u16(), 200);
    let text = metrics(&app);
    assert_eq!(
        value(&text, "grantd_tokens_issued_total{grant_type=\"password\"}"),
        Some(1.0)
    );
}
