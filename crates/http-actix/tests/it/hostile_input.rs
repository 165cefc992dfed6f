//! Random requests against the real app over a real socket (proptest): any method, path,
//! headers and body. Never a 5xx, never a dropped connection (a panic), and nothing stored
//! changes: the row counts are the same afterwards and a known refresh token still works.

use crate::common::*;
use base64::Engine as _;
use diesel::sql_types::BigInt;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use grantd_domain::TokenSettings;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn counts(app: &TestApp) -> Vec<i64> {
    let path = app
        .database_url()
        .trim_start_matches("sqlite://")
        .to_owned();
    let mut conn = SqliteConnection::establish(&path).unwrap();
    [
        "grants",
        "access_tokens",
        "refresh_tokens",
        "clients",
        "users",
    ]
    .iter()
    .map(|table| {
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
            .get_result::<Count>(&mut conn)
            .unwrap()
            .n
    })
    .collect()
}

#[derive(Debug, Clone)]
struct Hostile {
    method: &'static str,
    path: String,
    content_type: Option<String>,
    authorization: Option<String>,
    extra_header: Option<(String, String)>,
    body: Vec<u8>,
}

fn printable(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(0x20u8..0x7f, 0..max)
        .prop_map(|bytes| String::from_utf8(bytes).unwrap())
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/oauth/token".to_owned()),
        Just("/oauth/revoke".to_owned()),
        Just("/oauth/introspect".to_owned()),
        Just("/api/me".to_owned()),
        Just("/.well-known/oauth-authorization-server".to_owned()),
        Just("/readyz".to_owned()),
        Just("/metrics".to_owned()),
        "/[a-zA-Z0-9%._~/-]{0,40}",
        "/oauth/token\\?[a-z_=&%0-9]{0,40}",
    ]
}

fn form_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("password".to_owned()),
        Just("refresh_token".to_owned()),
        Just("client_credentials".to_owned()),
        Just("authorization_code".to_owned()),
        Just("grt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned()),
        Just("alice".to_owned()),
        Just("read write".to_owned()),
        printable(60),
        "%[0-9A-Fa-f]{0,2}[^&=]{0,10}",
    ]
}

/// A form of known and unknown names, duplicates and broken escapes included.
fn form() -> impl Strategy<Value = Vec<u8>> {
    let name = prop_oneof![
        Just("grant_type"),
        Just("refresh_token"),
        Just("username"),
        Just("password"),
        Just("scope"),
        Just("client_id"),
        Just("client_secret"),
        Just("token"),
        Just("token_type_hint"),
        Just("x"),
    ];
    proptest::collection::vec((name, form_value()), 0..6).prop_map(|pairs| {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
            .into_bytes()
    })
}

fn authorization() -> impl Strategy<Value = Option<String>> {
    let basic = ("[a-z]{0,8}", printable(20)).prop_map(|(id, secret)| {
        // Never the client the final check uses, so its failure limit is never reached.
        let id = if id == "app" { "app2".to_owned() } else { id };
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
        )
    });
    prop_oneof![
        Just(None),
        basic.prop_map(Some),
        printable(60).prop_map(|s| Some(format!("Basic {s}"))),
        printable(60).prop_map(|s| Some(format!("Bearer {s}"))),
        printable(80).prop_map(Some),
    ]
}

fn hostile() -> impl Strategy<Value = Hostile> {
    let method = prop_oneof![
        Just("GET"),
        Just("POST"),
        Just("PUT"),
        Just("DELETE"),
        Just("PATCH"),
        Just("OPTIONS"),
        Just("HEAD"),
    ];
    let content_type = prop_oneof![
        Just(None),
        Just(Some("application/x-www-form-urlencoded".to_owned())),
        Just(Some(
            "application/x-www-form-urlencoded; charset=utf-8".to_owned()
        )),
        Just(Some("application/json".to_owned())),
        printable(40).prop_map(Some),
    ];
    let body = prop_oneof![
        form(),
        proptest::collection::vec(any::<u8>(), 0..512),
        proptest::collection::vec(any::<u8>(), 17_000..17_100),
    ];
    let extra = proptest::option::of(("x-[a-z]{1,10}", printable(100)));
    (method, path(), content_type, authorization(), extra, body).prop_map(
        |(method, path, content_type, authorization, extra_header, body)| Hostile {
            method,
            path,
            content_type,
            authorization,
            extra_header,
            body,
        },
    )
}

#[test]
fn random_requests_never_get_a_5xx_and_change_nothing() {
    let app = TestApp::start(Backend::Sqlite, TokenSettings::default());
    let (access, refresh_token) = login(&app);
    let before = counts(&app);
    let client = http();

    let mut runner = TestRunner::new(Config {
        cases: 200,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&hostile(), |h| {
            let method = reqwest::Method::from_bytes(h.method.as_bytes()).unwrap();
            let mut request = client
                .request(method, app.url(&h.path))
                .body(h.body.clone());
            if let Some(ct) = &h.content_type {
                request = request.header("content-type", ct);
            }
            if let Some(auth) = &h.authorization {
                request = request.header("authorization", auth);
            }
            if let Some((name, value)) = &h.extra_header {
                request = request.header(name, value);
            }
            let response = request.send();
            // A panic in a handler drops the connection: that is an Err here.
            let response = response.map_err(|e| TestCaseError::fail(format!("{e}")))?;
            let status = response.status().as_u16();
            prop_assert!(status < 500, "{h:?} got {status}");
            Ok(())
        })
        .unwrap();

    assert_eq!(
        counts(&app),
        before,
        "a random request changed what is stored"
    );
    assert_eq!(me(&app, &access).status().as_u16(), 200);
    let (status, body) = refresh(&app, &refresh_token);
    assert_eq!(status, 200, "{body}");
}
