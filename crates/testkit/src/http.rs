//! Blocking HTTP helpers for tests that talk to a real server: clients, form posts with
//! Basic authentication, and JSON bodies read without panicking on a non-JSON answer.

use std::net::IpAddr;
use std::time::Duration;

use serde_json::Value;

/// A blocking HTTP client that never follows redirects (so a test sees each 302).
pub fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// As [`http`], with every connection made from `source` (a loopback address such as
/// 127.0.0.2: on Linux all of 127.0.0.0/8 reaches a server on 127.0.0.1), so that a test
/// can be several clients the server tells apart by address.
pub fn http_from(source: IpAddr) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(source)
        .build()
        .unwrap()
}

/// A client with no pooled connections (each request on a new one), so that a stopped
/// listener or a restarted server is seen as it is.
pub fn fresh_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

pub fn post_form(
    http: &reqwest::blocking::Client,
    url: &str,
    basic: (&str, &str),
    body: &str,
) -> reqwest::blocking::Response {
    http.post(url)
        .basic_auth(basic.0, Some(basic.1))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .send()
        .unwrap()
}

pub fn json(response: reqwest::blocking::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The password grant at `{base}/oauth/token`; returns the status and body.
pub fn login(
    http: &reqwest::blocking::Client,
    base: &str,
    client: (&str, &str),
    user: (&str, &str),
) -> (u16, Value) {
    json(post_form(
        http,
        &format!("{base}/oauth/token"),
        client,
        &format!(
            "grant_type=password&username={}&password={}",
            user.0, user.1
        ),
    ))
}

pub fn refresh(
    http: &reqwest::blocking::Client,
    base: &str,
    client: (&str, &str),
    token: &str,
) -> (u16, Value) {
    json(post_form(
        http,
        &format!("{base}/oauth/token"),
        client,
        &format!("grant_type=refresh_token&refresh_token={token}"),
    ))
}

/// A token request at `{base}/oauth/token` with Basic client authentication; returns the
/// status and body.
pub fn token(
    http: &reqwest::blocking::Client,
    base: &str,
    client: (&str, &str),
    body: &str,
) -> (u16, Value) {
    json(post_form(
        http,
        &format!("{base}/oauth/token"),
        client,
        body,
    ))
}
