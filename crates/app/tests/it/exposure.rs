//! What a deployment should not expose, through the real binary: the demo's well-known
//! credentials left in the database by an earlier `serve --demo` (a later `serve` warns,
//! naming the commands that delete them), and `/metrics` on the public listener
//! (`server.metrics_bind` moves it to a listener of its own).

use std::time::Duration;

use crate::support::*;

const DEMO_WARNING: &str = "whose credentials are well known";

#[test]
fn serve_without_demo_warns_while_the_demo_credentials_exist() {
    let env = env(None);
    drop(env.serve_with("demo", &["serve", "--demo"]));

    let server = env.serve("later");
    let log = server.output();
    assert!(log.contains(DEMO_WARNING), "{log}");
    assert!(log.contains("client demo-client and user demo"), "{log}");
    assert!(log.contains("grantd client delete demo-client"), "{log}");
    assert!(log.contains("grantd user delete --username demo"), "{log}");
    drop(server);

    // Once only the user is left, the warning names only the user.
    env.run_ok(&["client", "delete", "demo-client"]);
    let server = env.serve("user-left");
    let log = server.output();
    assert!(log.contains("the demo user demo"), "{log}");
    assert!(!log.contains("grantd client delete"), "{log}");
    drop(server);

    env.run_ok(&["user", "delete", "--username", "demo"]);
    let server = env.serve("clean");
    let log = server.output();
    assert!(!log.contains(DEMO_WARNING), "{log}");
    assert!(log.contains("grantd listening"), "{log}");
}

#[test]
fn metrics_bind_moves_metrics_to_a_listener_of_its_own() {
    let mut env = env(None);
    let port = free_port();
    env.set("GRANTD_SERVER__METRICS_BIND", &format!("127.0.0.1:{port}"));
    let mut server = env.serve("metrics");
    let metrics = format!("http://127.0.0.1:{port}");
    let http = fresh_client();

    // The main listener serves everything but /metrics.
    assert_eq!(
        http.get(server.url("/metrics")).send().unwrap().status(),
        404
    );
    assert_eq!(
        http.get(server.url("/readyz")).send().unwrap().status(),
        200
    );
    // The metrics listener serves /metrics and nothing else.
    let scrape = http.get(format!("{metrics}/metrics")).send().unwrap();
    assert_eq!(scrape.status(), 200);
    assert!(scrape
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    // It counts the main listener's requests: one process, one set of metrics.
    let text = scrape.text().unwrap();
    assert!(
        text.contains("grantd_http_requests_total{endpoint=\"/readyz\""),
        "{text}"
    );
    for path in [
        "/healthz",
        "/readyz",
        "/api/me",
        "/.well-known/oauth-authorization-server",
    ] {
        let status = http
            .get(format!("{metrics}{path}"))
            .send()
            .unwrap()
            .status();
        assert_eq!(status, 404, "{path} on the metrics listener");
    }
    let status = http
        .post(format!("{metrics}/oauth/token"))
        .send()
        .unwrap()
        .status();
    assert_eq!(status, 404);
    assert!(server
        .output()
        .contains("serving /metrics on its own listener only"));

    // SIGTERM stops both listeners and the process exits 0.
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(15)), Some(0));
    assert!(http.get(format!("{metrics}/metrics")).send().is_err());
}
