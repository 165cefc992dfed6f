//! What a deployment should not expose, through the real binary: the demo's well-known
//! credentials left in the database by an earlier `serve --demo` (a later `serve` warns,
//! naming the commands that delete them), `/metrics` on the public listener
//! (`server.metrics_bind` moves it to a listener of its own), and the admin API, served
//! only on `server.admin_bind` and not at all when that is empty (the default).

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

#[test]
fn admin_bind_serves_the_admin_api_there_and_nowhere_else() {
    let mut env = env(None);
    let port = free_port();
    env.set("GRANTD_SERVER__ADMIN_BIND", &format!("127.0.0.1:{port}"));
    let mut server = env.serve("admin");
    let admin = format!("http://127.0.0.1:{port}");
    let http = fresh_client();

    // The admin listener: the OpenAPI document (public: it holds no data), and an admin
    // route refused without a token (RFC 6750 §3.1's bare challenge, as a problem).
    let doc = http
        .get(format!("{admin}/admin/openapi.json"))
        .send()
        .unwrap();
    assert_eq!(doc.status(), 200);
    let doc: serde_json::Value = doc.json().unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
    assert!(doc["paths"].get("/admin/clients").is_some(), "{doc}");
    let refused = http.get(format!("{admin}/admin/clients")).send().unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    assert!(refused.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    // Only /admin/… there: the OAuth endpoints and probes are the public listener's.
    for path in ["/healthz", "/.well-known/oauth-authorization-server"] {
        let status = http.get(format!("{admin}{path}")).send().unwrap().status();
        assert_eq!(status, 404, "{path} on the admin listener");
    }

    // The public listener knows no /admin/…, not even the document.
    for path in ["/admin/openapi.json", "/admin/clients"] {
        let status = http.get(server.url(path)).send().unwrap().status();
        assert_eq!(status, 404, "{path} on the public listener");
    }
    assert!(server
        .output()
        .contains("serving the admin API (/admin/...) on its own listener"));
    let public: u16 = server.base.rsplit(':').next().unwrap().parse().unwrap();
    let mut both = vec![public, port];
    both.sort_unstable();
    assert_eq!(listening_ports(server.pid()), both);

    // SIGTERM stops both listeners.
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(15)), Some(0));
    assert!(http
        .get(format!("{admin}/admin/openapi.json"))
        .send()
        .is_err());
}

#[test]
fn without_admin_bind_nothing_serves_the_admin_api() {
    let env = env(None);
    let server = env.serve("no-admin");
    let http = fresh_client();
    // With the default (empty) server.admin_bind the process listens on its public port
    // and on nothing else: there is no admin port to find.
    let public: u16 = server.base.rsplit(':').next().unwrap().parse().unwrap();
    assert_eq!(listening_ports(server.pid()), vec![public]);
    for path in ["/admin/openapi.json", "/admin/clients"] {
        let status = http.get(server.url(path)).send().unwrap().status();
        assert_eq!(status, 404, "{path} on the public listener");
    }
    assert!(!server.output().contains("serving the admin API"));
}

/// The TCP ports process `pid` listens on, sorted: its socket inodes (from
/// `/proc/<pid>/fd`) matched against the kernel's tables of listening sockets
/// (`/proc/net/tcp` and `tcp6`, state `0A`). Linux only, as the process tests are.
fn listening_ports(pid: u32) -> Vec<u16> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|link| {
            let link = link.to_string_lossy().into_owned();
            Some(link.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
        })
        .collect();
    let mut ports: Vec<u16> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .flat_map(|table| {
            table
                .lines()
                .skip(1)
                .filter_map(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    let (local, state, inode) = (fields.get(1)?, fields.get(3)?, fields.get(9)?);
                    let port = u16::from_str_radix(local.rsplit(':').next()?, 16).ok()?;
                    (*state == "0A" && inodes.iter().any(|i| i == inode)).then_some(port)
                })
                .collect::<Vec<_>>()
        })
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}
