//! A database outage through the real binary, on a PostgreSQL server of the test's own:
//! while it is down every endpoint that needs it answers 503 `temporarily_unavailable`
//! with `Retry-After`, quickly, never an OAuth denial and never SQL; `/readyz` is 503 and
//! `/healthz` 200; when it is back grantd serves again without a restart. The same with
//! the blocking work on the blocking pool (the default) and on the HTTP workers.

use std::time::{Duration, Instant};

use crate::support::*;

/// One request to an endpoint, sent again and again.
type Request<'a> = dyn Fn() -> reqwest::blocking::Response + 'a;

#[test]
fn database_outage_answers_503_quickly_and_recovers_without_restart() {
    outage_with_blocking_work("pool");
}

#[test]
fn database_outage_answers_503_quickly_with_blocking_work_on_the_workers() {
    outage_with_blocking_work("workers");
}

fn outage_with_blocking_work(mode: &str) {
    let _heavy = crate::support::heavy();
    let pg = OwnPostgres::start();
    let mut env = env(Some(pg.url()));
    env.set("GRANTD_DATABASE__CONNECT_TIMEOUT", "1");
    env.set("GRANTD_SERVER__BLOCKING_WORK", mode);
    env.run_ok(&["migrate"]);
    let (id, secret) = env.create_client();
    env.create_user("alice", "wonderland");
    let server = env.serve("outage");
    let http = fresh_client();
    let client = (id.as_str(), secret.as_str());

    let (status, tokens) = login(&http, &server.base, client, ("alice", "wonderland"));
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();

    pg.halt();

    let requests: Vec<(&str, Box<Request>)> = vec![
        (
            "password grant",
            Box::new(|| {
                post_form(
                    &http,
                    &server.url("/oauth/token"),
                    client,
                    "grant_type=password&username=alice&password=wonderland",
                )
            }),
        ),
        (
            "refresh",
            Box::new(|| {
                post_form(
                    &http,
                    &server.url("/oauth/token"),
                    client,
                    &format!("grant_type=refresh_token&refresh_token={refresh_token}"),
                )
            }),
        ),
        (
            "revoke",
            Box::new(|| {
                post_form(
                    &http,
                    &server.url("/oauth/revoke"),
                    client,
                    &format!("token={refresh_token}"),
                )
            }),
        ),
        (
            "introspect",
            Box::new(|| {
                post_form(
                    &http,
                    &server.url("/oauth/introspect"),
                    client,
                    &format!("token={access}"),
                )
            }),
        ),
        (
            "resource",
            Box::new(|| {
                http.get(server.url("/api/me"))
                    .bearer_auth(&access)
                    .send()
                    .unwrap()
            }),
        ),
    ];
    for (name, request) in &requests {
        let started = Instant::now();
        let response = request();
        let elapsed = started.elapsed();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let (status, body) = json(response);
        assert_eq!(status, 503, "{name}: {body}");
        assert_eq!(body["error"], "temporarily_unavailable", "{name}: {body}");
        assert!(
            retry_after.is_some_and(|v| v.parse::<u32>().unwrap() >= 1),
            "{name}"
        );
        let text = body.to_string().to_lowercase();
        for leak in [
            "sql",
            "postgres",
            "connection",
            "select",
            "diesel",
            "127.0.0.1",
        ] {
            assert!(!text.contains(leak), "{name} leaked {leak:?}: {body}");
        }
        // connect_timeout is 1 s; generous slack for a busy test machine.
        assert!(elapsed < Duration::from_secs(8), "{name} took {elapsed:?}");
    }
    let (status, _) = json(http.get(server.url("/readyz")).send().unwrap());
    assert_eq!(status, 503);
    let (status, _) = json(http.get(server.url("/healthz")).send().unwrap());
    assert_eq!(status, 200);

    pg.resume();
    let deadline = Instant::now() + Duration::from_secs(30);
    while http.get(server.url("/readyz")).send().unwrap().status() != 200 {
        assert!(
            Instant::now() < deadline,
            "grantd did not become ready again"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Nothing was consumed or revoked during the outage: the same tokens work.
    let me = http
        .get(server.url("/api/me"))
        .bearer_auth(&access)
        .send()
        .unwrap();
    assert_eq!(me.status().as_u16(), 200);
    let (status, body) = refresh(&http, &server.base, client, &refresh_token);
    assert_eq!(status, 200, "{body}");
}
