//! The brute-force budgets over real HTTP, on SQLite and Postgres, from several source
//! addresses (clients bound to 127.0.0.1, 127.0.0.2, ...; the server listens on 127.0.0.1):
//! an address at its limit gets 429 while the rightful user at another address gets in; a
//! request that makes no guess is never counted; a flood of usernames from one address and
//! a guesser spread over many addresses are both stopped; behind a trusted proxy the
//! forwarded address counts, and from anyone else the header is ignored.

use std::net::{IpAddr, Ipv4Addr};

use crate::common::*;
use grantd_domain::TokenSettings;
use grantd_testkit::http::http_from;

fn loopback(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, n))
}

/// A token request from `from`: Basic credentials if given, with extra headers.
fn token_from(
    app: &TestApp,
    from: IpAddr,
    basic: Option<(&str, &str)>,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, serde_json::Value, Option<String>) {
    let mut req = http_from(from)
        .post(app.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned());
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let resp = req.send().unwrap();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let (status, body) = json(resp);
    (status, body, retry_after)
}

fn xff(value: &str) -> [(&'static str, &str); 1] {
    [("x-forwarded-for", value)]
}

fn password(app: &TestApp, from: IpAddr, username: &str, password: &str) -> u16 {
    password_with(app, from, &[], username, password)
}

fn password_with(
    app: &TestApp,
    from: IpAddr,
    headers: &[(&str, &str)],
    username: &str,
    password: &str,
) -> u16 {
    token_from(
        app,
        from,
        Some(("app", SECRET)),
        headers,
        &format!("grant_type=password&username={username}&password={password}"),
    )
    .0
}

fn one_address_at_its_limit_never_locks_out_the_user_at_another(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let (attacker, owner) = (loopback(2), loopback(1));
    for _ in 0..10 {
        assert_eq!(password(&app, attacker, "alice", "guess"), 400);
    }
    // The attacker's address waits, even with the right password, and is told how long,
    // in the error body it always got...
    let (status, body, retry_after) = token_from(
        &app,
        attacker,
        Some(("app", SECRET)),
        &[],
        &format!("grant_type=password&username=alice&password={PASSWORD}"),
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("too_many_requests"))
    );
    let retry_after: i64 = retry_after.unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    // ...while alice, from her own address, gets her tokens.
    assert_eq!(password(&app, owner, "alice", PASSWORD), 200);

    // Client secrets alike: wrong secrets for `other` from the attacker's address.
    let cc = "grant_type=client_credentials";
    for _ in 0..10 {
        let (status, _, _) = token_from(&app, attacker, Some(("other", "guess")), &[], cc);
        assert_eq!(status, 401);
    }
    let (status, _, retry_after) =
        token_from(&app, attacker, Some(("other", OTHER_SECRET)), &[], cc);
    assert_eq!(status, 429);
    assert!(retry_after.is_some());
    let (status, body, _) = token_from(&app, owner, Some(("other", OTHER_SECRET)), &[], cc);
    assert_eq!(status, 200, "{body}");
    // Revocation and introspection authenticate clients with the same budgets.
    let resp = http_from(attacker)
        .post(app.url("/oauth/revoke"))
        .basic_auth("other", Some(OTHER_SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=x")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 429);
}

fn a_request_that_makes_no_guess_is_never_counted(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let from = loopback(2);
    for _ in 0..30 {
        // A confidential client's id without its secret.
        let (status, body, _) = token_from(
            &app,
            from,
            None,
            &[],
            "grant_type=client_credentials&client_id=app",
        );
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client"))
        );
        // A secret for a public client.
        let (status, body, _) = token_from(
            &app,
            from,
            Some(("spa", "anything")),
            &[],
            "grant_type=password&username=alice&password=x",
        );
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client"))
        );
    }
    // Nothing was counted: the same address authenticates `app` and `spa` at once.
    assert_eq!(password(&app, from, "alice", PASSWORD), 200);
    let (status, body, _) = token_from(
        &app,
        from,
        None,
        &[],
        &format!("grant_type=password&client_id=spa&username=alice&password={PASSWORD}"),
    );
    assert_eq!(status, 200, "{body}");
    let text = http()
        .get(app.url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("grantd_rate_limited_total") && l.ends_with(" 0")),
        "{text}"
    );
}

fn a_flood_of_usernames_from_one_address_is_stopped_for_that_address_only(backend: Backend) {
    let app = TestApp::start_with(backend, TokenSettings::default(), |c| {
        c.rate_limit.max_failures_per_source = 20;
    });
    let flooder = loopback(2);
    for i in 0..20 {
        assert_eq!(password(&app, flooder, &format!("user{i}"), "guess"), 400);
    }
    // Every further username from that address is refused (before any bcrypt)...
    for i in 20..25 {
        assert_eq!(password(&app, flooder, &format!("user{i}"), "guess"), 429);
    }
    assert_eq!(password(&app, flooder, "alice", PASSWORD), 429);
    // ...and every other address is untouched.
    assert_eq!(password(&app, loopback(1), "alice", PASSWORD), 200);
    assert_eq!(password(&app, loopback(3), "user99", "guess"), 400);
}

fn a_guesser_spread_over_addresses_is_slowed_and_the_owner_still_gets_in(backend: Backend) {
    let app = TestApp::start_with(backend, TokenSettings::default(), |c| {
        c.rate_limit.max_failed_password_attempts = 3;
        c.rate_limit.max_failures_per_account = 5;
    });
    // Five addresses, one failure each: alice's budget across addresses is spent.
    for n in 2..=6 {
        assert_eq!(password(&app, loopback(n), "alice", "guess"), 400);
    }
    // Each of those addresses waits now, though under its own budget of 3...
    assert_eq!(password(&app, loopback(2), "alice", "guess"), 429);
    assert_eq!(password(&app, loopback(3), "alice", PASSWORD), 429);
    // ...but an address that never failed for alice is never refused.
    assert_eq!(password(&app, loopback(1), "alice", PASSWORD), 200);
    // A new guesser gets one guess, not three.
    assert_eq!(password(&app, loopback(7), "alice", "guess"), 400);
    assert_eq!(password(&app, loopback(7), "alice", "guess"), 429);
}

/// The login page of the authorization endpoint, from one address: a session cookie and
/// its CSRF token, then the login form.
fn login_page(app: &TestApp, from: IpAddr, password: &str) -> u16 {
    let path = format!(
        "/oauth/authorize?response_type=code&client_id=web&redirect_uri={}&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
        serde_urlencoded::to_string([("v", WEB_CB)]).unwrap()[2..].to_owned()
    );
    let client = http_from(from);
    let page = client.get(app.url(&path)).send().unwrap();
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
    client
        .post(app.url(&path))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            serde_urlencoded::to_string([
                ("csrf_token", csrf),
                ("username", "alice"),
                ("password", password),
            ])
            .unwrap(),
        )
        .send()
        .unwrap()
        .status()
        .as_u16()
}

fn the_login_page_counts_per_address_with_the_password_grant(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let attacker = loopback(2);
    for _ in 0..5 {
        assert_eq!(password(&app, attacker, "alice", "guess"), 400);
        assert_eq!(login_page(&app, attacker, "guess"), 401);
    }
    assert_eq!(login_page(&app, attacker, PASSWORD), 429);
    // alice signs in from her own address (303 to the consent page).
    assert_eq!(login_page(&app, loopback(1), PASSWORD), 303);
}

fn behind_a_trusted_proxy_the_forwarded_address_counts_and_elsewhere_the_header_is_ignored(
    backend: Backend,
) {
    let app = TestApp::start_with(backend, TokenSettings::default(), |c| {
        c.server.trusted_proxies = vec!["127.0.0.1".into()];
    });
    let proxy = loopback(1);
    // Through the proxy, two clients are told apart by the address it forwards (the
    // left-most entry is the client's own claim, and ignored).
    for _ in 0..10 {
        assert_eq!(
            password_with(
                &app,
                proxy,
                &xff("198.51.100.1, 203.0.113.5"),
                "alice",
                "guess"
            ),
            400
        );
    }
    assert_eq!(
        password_with(&app, proxy, &xff("203.0.113.5"), "alice", PASSWORD),
        429
    );
    assert_eq!(
        password_with(&app, proxy, &xff("203.0.113.6"), "alice", PASSWORD),
        200
    );
    // The proxy's own address (no header) was never the one failing.
    assert_eq!(password(&app, proxy, "alice", PASSWORD), 200);
    // A client that is not a trusted proxy cannot pick a fresh address per guess: its
    // header is ignored and its failures are its own.
    let direct = loopback(2);
    for i in 0..10 {
        let claimed = format!("203.0.113.{}", 100 + i);
        assert_eq!(
            password_with(
                &app,
                direct,
                &[("x-forwarded-for", &claimed)],
                "alice",
                "guess"
            ),
            400
        );
    }
    assert_eq!(
        password_with(&app, direct, &xff("203.0.113.200"), "alice", PASSWORD),
        429
    );
    // And the address it claimed last is not blamed for it.
    assert_eq!(
        password_with(&app, proxy, &xff("203.0.113.109"), "alice", PASSWORD),
        200
    );
}

on_both_backends!(
    one_address_at_its_limit_never_locks_out_the_user_at_another,
    a_request_that_makes_no_guess_is_never_counted,
    a_flood_of_usernames_from_one_address_is_stopped_for_that_address_only,
    a_guesser_spread_over_addresses_is_slowed_and_the_owner_still_gets_in,
    the_login_page_counts_per_address_with_the_password_grant,
    behind_a_trusted_proxy_the_forwarded_address_counts_and_elsewhere_the_header_is_ignored,
);
