//! Running grantd as a service, through the real binary: graceful shutdown on SIGTERM and
//! SIGINT (readiness first, in-flight requests finish, exit 0), logs that never contain a
//! secret even at trace level, JSON logs with request ids, and `grantd prune`.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::*;
use base64::Engine as _;

#[test]
fn sigterm_turns_readiness_off_finishes_in_flight_requests_and_exits_0() {
    let mut env = env(None);
    env.set("GRANTD_SERVER__DRAIN_DELAY", "2");
    env.run_ok(&["migrate"]);
    let (id, secret) = env.create_client();
    env.create_user("alice", "wonderland");
    let mut server = env.serve("sigterm");
    let http = fresh_client();
    assert_eq!(
        http.get(server.url("/readyz")).send().unwrap().status(),
        200
    );

    // A request in flight: its head and half its body are sent before the signal.
    let body = "grant_type=password&username=alice&password=wonderland";
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "POST /oauth/token HTTP/1.1\r\nHost: {address}\r\nAuthorization: Basic {basic}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{}",
        body.len(),
        &body[..10]
    )
    .unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));

    server.signal("TERM");
    // Draining: not ready any more, but alive and still answering.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let status = http.get(server.url("/readyz")).send().unwrap().status();
        if status == 503 {
            break;
        }
        assert!(Instant::now() < deadline, "readiness stayed {status}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        http.get(server.url("/healthz")).send().unwrap().status(),
        200
    );

    // The in-flight request completes normally after the listener has closed.
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        http.get(server.url("/healthz")).send().is_err(),
        "still accepting connections after the drain delay"
    );
    stream.write_all(&body.as_bytes()[10..]).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("refresh_token"), "{response}");

    assert_eq!(server.wait_exit(Duration::from_secs(15)), Some(0));
    let log = server.output();
    assert!(log.contains("shutting down"), "{log}");
    assert!(log.contains("grantd stopped"), "{log}");
}

#[test]
fn sigint_exits_0() {
    let env = env(None);
    env.run_ok(&["migrate"]);
    let mut server = env.serve("sigint");
    server.signal("INT");
    assert_eq!(server.wait_exit(Duration::from_secs(15)), Some(0));
}

/// The whole flow, successes and failures (the password, refresh, resource, introspection,
/// revocation and authorization-code flows, the login page included), with every log at
/// trace level: none of the secrets it used may appear in anything grantd wrote.
#[test]
fn trace_logs_never_contain_a_secret_password_or_token() {
    let mut env = env(None);
    env.set("RUST_LOG", "trace");
    env.run_ok(&["migrate"]);
    let (id, secret) = env.create_client();
    let password = "pw-Zebra-9876-unique";
    env.create_user("alice", password);
    let server = env.serve("trace");
    let http = fresh_client();
    let client = (id.as_str(), secret.as_str());

    let (status, first) = login(&http, &server.base, client, ("alice", password));
    assert_eq!(status, 200, "{first}");
    let access = first["access_token"].as_str().unwrap().to_owned();
    let refresh1 = first["refresh_token"].as_str().unwrap().to_owned();
    let me = http
        .get(server.url("/api/me"))
        .bearer_auth(&access)
        .send()
        .unwrap();
    assert_eq!(me.status(), 200);
    let (status, second) = refresh(&http, &server.base, client, &refresh1);
    assert_eq!(status, 200);
    let access2 = second["access_token"].as_str().unwrap().to_owned();
    let refresh2 = second["refresh_token"].as_str().unwrap().to_owned();
    let (status, _) = json(post_form(
        &http,
        &server.url("/oauth/introspect"),
        client,
        &format!("token={access2}"),
    ));
    assert_eq!(status, 200);
    // Failures carry secrets too: a wrong password, a wrong client secret, a reused token.
    let wrong_password = "wrong-Quokka-5555";
    let (status, _) = login(&http, &server.base, client, ("alice", wrong_password));
    assert_eq!(status, 400);
    let wrong_secret = "gcs_wrong_Secret_4242";
    let (status, _) = login(
        &http,
        &server.base,
        (&id, wrong_secret),
        ("alice", password),
    );
    assert_eq!(status, 401);
    std::thread::sleep(Duration::from_millis(1100));
    let (status, _) = refresh(&http, &server.base, client, &refresh1);
    assert_eq!(status, 400);
    // Tokens in places where they do not belong: a query string and a form body.
    let _ = http
        .get(server.url(&format!("/api/me?access_token={access2}")))
        .send()
        .unwrap();
    let (status, _) = json(post_form(
        &http,
        &server.url("/oauth/revoke"),
        client,
        &format!("token={refresh2}"),
    ));
    assert_eq!(status, 200);
    let (code, cookie, code_access, code_refresh) =
        authorization_code_flow(&env, &server, password);
    drop(server);

    let log = std::fs::read_to_string(env.dir.path().join("trace.log")).unwrap();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "not at trace level"
    );
    assert!(log.contains("request_id"), "no request id in the logs");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    for (what, value) in [
        ("client secret", secret.as_str()),
        ("password", password),
        ("wrong password", wrong_password),
        ("wrong client secret", wrong_secret),
        ("access token", access.as_str()),
        ("second access token", access2.as_str()),
        ("refresh token", refresh1.as_str()),
        ("second refresh token", refresh2.as_str()),
        ("Basic credentials", basic.as_str()),
        ("authorization code", code.as_str()),
        ("wrong login-page password", "wrong-Login-7777"),
        ("login session cookie", cookie.as_str()),
        ("code-flow access token", code_access.as_str()),
        ("code-flow refresh token", code_refresh.as_str()),
    ] {
        assert!(!log.contains(value), "the log contains the {what}");
        // A token's body without its prefix (`gat_`, `grt_`, …) counts too. Only a long
        // one: the cookie is base64url, whose `_` may fall near its end, and a few
        // characters after it are in any log.
        if let Some((_, rest)) = value.split_once('_').filter(|(_, rest)| rest.len() >= 16) {
            assert!(
                !log.contains(rest),
                "the log contains the body of the {what}"
            );
        }
    }
}

#[test]
fn json_logs_carry_the_request_id_of_the_response() {
    let mut env = env(None);
    env.set("GRANTD_LOG__FORMAT", "json");
    env.run_ok(&["migrate"]);
    let server = env.serve("json");
    let response = fresh_client().get(server.url("/readyz")).send().unwrap();
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    drop(server);
    let log = std::fs::read_to_string(env.dir.path().join("json.log")).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains(&id))
        .unwrap_or_else(|| panic!("no log line with request id {id}: {log}"));
    let parsed: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(parsed["span"]["request_id"], id.as_str(), "{line}");
    assert_eq!(parsed["fields"]["endpoint"], "/readyz", "{line}");
}

#[test]
fn prune_command_deletes_expired_rows_and_reports_counts() {
    let mut env = env(None);
    // Tokens that are dead within two seconds.
    env.set("GRANTD_TOKENS__ACCESS_TOKEN_LIFETIME", "1")
        .set("GRANTD_TOKENS__REFRESH_TOKEN_LIFETIME", "1");
    env.run_ok(&["migrate"]);
    let (id, secret) = env.create_client();
    env.create_user("alice", "wonderland");
    let server = env.serve("prune");
    let http = fresh_client();
    let (status, _) = login(&http, &server.base, (&id, &secret), ("alice", "wonderland"));
    assert_eq!(status, 200);
    drop(server);
    std::thread::sleep(Duration::from_millis(2100));
    let out: serde_json::Value = serde_json::from_str(&env.run_ok(&["prune"])).unwrap();
    assert_eq!(
        out,
        serde_json::json!({"grants": 1, "access_tokens": 1, "refresh_tokens": 1, "authorization_codes": 0, "auth_failures": 0, "dpop_jtis": 0})
    );
    let again: serde_json::Value = serde_json::from_str(&env.run_ok(&["prune"])).unwrap();
    assert_eq!(again["grants"], 0);
}

#[test]
fn serve_prunes_periodically() {
    let mut env = env(None);
    env.set("GRANTD_TOKENS__ACCESS_TOKEN_LIFETIME", "1")
        .set("GRANTD_TOKENS__REFRESH_TOKEN_LIFETIME", "1")
        .set("GRANTD_HOUSEKEEPING__PRUNE_INTERVAL", "1");
    env.run_ok(&["migrate"]);
    let (id, secret) = env.create_client();
    env.create_user("alice", "wonderland");
    let server = env.serve("periodic");
    let (status, _) = login(
        &fresh_client(),
        &server.base,
        (&id, &secret),
        ("alice", "wonderland"),
    );
    assert_eq!(status, 200);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !server.output().contains("grants=1") {
        assert!(
            Instant::now() < deadline,
            "no periodic prune: {}",
            server.output()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(server.output().contains("pruned expired rows"));
    drop(server);
    let left: serde_json::Value = serde_json::from_str(&env.run_ok(&["prune"])).unwrap();
    assert_eq!(left["grants"], 0, "the periodic prune already removed it");
}

/// RFC 7636 appendix B's verifier and its S256 challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn csrf(html: &str) -> String {
    let marker = r#"name="csrf_token" value=""#;
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The authorization code flow with a login page, a wrong password first: returns the
/// code, the session cookie, and the tokens of the exchange.
fn authorization_code_flow(
    env: &Env,
    server: &Server,
    password: &str,
) -> (String, String, String, String) {
    let redirect_uri = "http://127.0.0.1:9/cb";
    let created: serde_json::Value = serde_json::from_str(&env.run_ok(&[
        "client",
        "create",
        "--name",
        "web",
        "--grant-type",
        "authorization_code",
        "--grant-type",
        "refresh_token",
        "--scope",
        "read",
        "--redirect-uri",
        redirect_uri,
    ]))
    .unwrap();
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let path = format!(
        "/oauth/authorize?response_type=code&client_id={id}&redirect_uri={}&state=xyz&scope=read&code_challenge={CHALLENGE}&code_challenge_method=S256",
        encode(redirect_uri)
    );
    let mut cookie = String::new();
    let send = |request: reqwest::blocking::RequestBuilder, cookie: &mut String| {
        let request = if cookie.is_empty() {
            request
        } else {
            request.header("cookie", cookie.as_str())
        };
        let response = request.send().unwrap();
        if let Some(c) = response.headers().get("set-cookie") {
            *cookie = c.to_str().unwrap().split(';').next().unwrap().to_owned();
        }
        response
    };
    let form = |body: String| {
        http.post(server.url(&path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    };
    let login_page = send(http.get(server.url(&path)), &mut cookie)
        .text()
        .unwrap();
    let wrong = send(
        form(format!(
            "csrf_token={}&username=alice&password=wrong-Login-7777",
            encode(&csrf(&login_page))
        )),
        &mut cookie,
    );
    let retry_page = wrong.text().unwrap();
    let logged_in = send(
        form(format!(
            "csrf_token={}&username=alice&password={}",
            encode(&csrf(&retry_page)),
            encode(password)
        )),
        &mut cookie,
    );
    assert_eq!(logged_in.status(), 303, "{:?}", logged_in.text());
    let consent = send(http.get(server.url(&path)), &mut cookie)
        .text()
        .unwrap();
    let allowed = send(
        form(format!(
            "csrf_token={}&decision=allow",
            encode(&csrf(&consent))
        )),
        &mut cookie,
    );
    assert_eq!(allowed.status(), 303);
    let to = allowed.headers()["location"].to_str().unwrap().to_owned();
    let code = to
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .unwrap()
        .to_owned();
    assert!(code.starts_with("gac_"), "{to}");
    let (status, tokens) = json(post_form(
        &fresh_client(),
        &server.url("/oauth/token"),
        (&id, &secret),
        &format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
            encode(redirect_uri)
        ),
    ));
    assert_eq!(status, 200, "{tokens}");
    let cookie_value = cookie.split_once('=').unwrap().1.to_owned();
    (
        code,
        cookie_value,
        tokens["access_token"].as_str().unwrap().to_owned(),
        tokens["refresh_token"].as_str().unwrap().to_owned(),
    )
}
