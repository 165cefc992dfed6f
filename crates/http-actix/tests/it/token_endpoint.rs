//! The token endpoint and the resource server over real HTTP, on SQLite and on Postgres:
//! the whole refresh flow, every error case, the headers, and the 401s of RFC 6750.

use crate::common::*;
use grantd_domain::TokenSettings;

fn flow_with_rotation(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let resp = token_request(
        &app,
        Some(("app", SECRET)),
        &format!("grant_type=password&username=alice&password={PASSWORD}"),
    );
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert_eq!(resp.headers()["pragma"], "no-cache");
    let (status, body) = json(resp);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "read write");
    assert_eq!(body["expires_in"], 3600);
    let access = body["access_token"].as_str().unwrap();
    let r0 = body["refresh_token"].as_str().unwrap().to_owned();
    assert!(access.starts_with("gat_") && r0.starts_with("grt_"));

    // (C)-(D): the resource server accepts the access token.
    let (status, me_body) = json(me(&app, access));
    assert_eq!(status, 200);
    assert_eq!(me_body["username"], "alice");
    assert_eq!(me_body["client_id"], "app");
    assert_eq!(me_body["scope"], "read write");

    // (E)-(F): after it expires the resource server says invalid_token.
    app.clock.advance(3601);
    let resp = me(&app, access);
    assert_eq!(resp.status(), 401);
    assert!(resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("error=\"invalid_token\""));

    // (G)-(H): refresh with a narrower scope; the successor keeps the full scope.
    let (status, body) = json(token_request(
        &app,
        Some(("app", SECRET)),
        &format!("grant_type=refresh_token&refresh_token={r0}&scope=read"),
    ));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "read");
    let r1 = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r0);
    assert_eq!(
        json(me(&app, body["access_token"].as_str().unwrap())).1["scope"],
        "read"
    );
    let (status, body) = refresh(&app, &r1);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["scope"], "read write",
        "omitted scope = the originally granted scope"
    );
    let r2 = body["refresh_token"].as_str().unwrap().to_owned();

    // The rotated token is consumed: presenting it again later is invalid_grant (and reuse).
    app.clock.advance(1);
    let (status, body) = refresh(&app, &r0);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // Reuse revoked the whole grant, so even the newest token is dead now.
    assert_eq!(refresh(&app, &r2).1["error"], "invalid_grant");
}

fn flow_without_rotation(backend: Backend) {
    let settings = TokenSettings {
        always_issue_new_refresh_token: false,
        ..TokenSettings::default()
    };
    let app = TestApp::start(backend, settings);
    let (_, r0) = login(&app);
    for _ in 0..3 {
        let (status, body) = refresh(&app, &r0);
        assert_eq!(status, 200, "{body}");
        assert!(
            body.get("refresh_token").is_none(),
            "no new refresh token without rotation"
        );
        assert_eq!(
            json(me(&app, body["access_token"].as_str().unwrap())).0,
            200
        );
    }
}

fn refresh_token_expires(backend: Backend) {
    let settings = TokenSettings {
        refresh_token_lifetime: 600,
        ..TokenSettings::default()
    };
    let app = TestApp::start(backend, settings);
    let (_, r0) = login(&app);
    app.clock.advance(601);
    assert_eq!(refresh(&app, &r0).1["error"], "invalid_grant");
}

fn refresh_token_is_bound_to_its_client(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let (_, r0) = login(&app);
    let (status, body) = json(token_request(
        &app,
        Some(("other", OTHER_SECRET)),
        &format!("grant_type=refresh_token&refresh_token={r0}"),
    ));
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // ...and changed nothing: the owner can still use it.
    assert_eq!(refresh(&app, &r0).0, 200);
}

fn refresh_scope_beyond_grant_is_invalid_scope(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let (status, body) = json(token_request(
        &app,
        Some(("app", SECRET)),
        &format!("grant_type=password&username=alice&password={PASSWORD}&scope=read"),
    ));
    assert_eq!((status, body["scope"].as_str()), (200, Some("read")));
    let r0 = body["refresh_token"].as_str().unwrap();
    let (status, body) = json(token_request(
        &app,
        Some(("app", SECRET)),
        &format!("grant_type=refresh_token&refresh_token={r0}&scope=read+write"),
    ));
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    assert_eq!(refresh(&app, r0).0, 200, "a refused scope consumed nothing");
}

fn password_grant_errors(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    type Case<'a> = (Option<(&'a str, &'a str)>, String, u16, &'a str);
    let cases: [Case; 7] = [
        (
            Some(("app", SECRET)),
            "grant_type=password&username=alice&password=wrong".into(),
            400,
            "invalid_grant",
        ),
        (
            Some(("app", SECRET)),
            format!("grant_type=password&username=bob&password={PASSWORD}"),
            400,
            "invalid_grant",
        ),
        (
            Some(("app", SECRET)),
            format!("grant_type=password&username=alice&password={PASSWORD}&scope=admin"),
            400,
            "invalid_scope",
        ),
        (
            Some(("cc-only", SECRET)),
            format!("grant_type=password&username=alice&password={PASSWORD}"),
            400,
            "unauthorized_client",
        ),
        (
            Some(("app", SECRET)),
            "grant_type=password&username=alice".into(),
            400,
            "invalid_request",
        ),
        (
            Some(("app", SECRET)),
            "grant_type=magic".into(),
            400,
            "unsupported_grant_type",
        ),
        (
            Some(("app", "wrong")),
            format!("grant_type=password&username=alice&password={PASSWORD}"),
            401,
            "invalid_client",
        ),
    ];
    for (basic, body, status, code) in cases {
        let (got_status, got) = json(token_request(&app, basic, &body));
        assert_eq!(
            (got_status, got["error"].as_str()),
            (status, Some(code)),
            "{body}"
        );
        assert!(got["error_description"].is_string());
    }
}

fn client_authentication_methods(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let grant = format!("grant_type=password&username=alice&password={PASSWORD}");
    // client_secret_post
    let (status, _) = json(token_request(
        &app,
        None,
        &format!("{grant}&client_id=app&client_secret={SECRET}"),
    ));
    assert_eq!(status, 200);
    // public client by id
    let (status, body) = json(token_request(&app, None, &format!("{grant}&client_id=spa")));
    assert_eq!(status, 200, "{body}");
    assert!(body["refresh_token"].is_string());
    // Basic failure: 401 with a Basic challenge
    let resp = token_request(&app, Some(("app", "bad")), &grant);
    assert_eq!(resp.status(), 401);
    assert!(resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    // body failure: 401 invalid_client
    let (status, body) = json(token_request(
        &app,
        None,
        &format!("{grant}&client_id=app&client_secret=bad"),
    ));
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // no credentials at all
    assert_eq!(
        json(token_request(&app, None, &grant)).1["error"],
        "invalid_client"
    );
    // two methods
    let (status, body) = json(token_request(
        &app,
        Some(("app", SECRET)),
        &format!("{grant}&client_id=app&client_secret={SECRET}"),
    ));
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    // confidential client without its secret
    assert_eq!(
        json(token_request(&app, None, &format!("{grant}&client_id=app"))).0,
        401
    );
}

fn basic_credentials_are_form_url_decoded(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    // "app-secret" form-urlencoded is itself; encode the '-' as %2D to prove decoding happens.
    use base64::Engine;
    let header = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("app:app%2Dsecret")
    );
    let resp = http()
        .post(app.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", header)
        .body(format!(
            "grant_type=password&username=alice&password={PASSWORD}"
        ))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
}

fn client_credentials_grant(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let (status, body) = json(token_request(
        &app,
        Some(("cc-only", SECRET)),
        "grant_type=client_credentials&scope=read",
    ));
    assert_eq!(status, 200, "{body}");
    assert!(body.get("refresh_token").is_none());
    let (status, me_body) = json(me(&app, body["access_token"].as_str().unwrap()));
    assert_eq!((status, me_body["sub"].as_str()), (200, Some("cc-only")));
    // A public client may not use it.
    let (status, body) = json(token_request(
        &app,
        None,
        "grant_type=client_credentials&client_id=spa",
    ));
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
}

fn malformed_requests_are_4xx_json_and_change_nothing(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let (_, r0) = login(&app);
    let refresh_body = format!("grant_type=refresh_token&refresh_token={r0}");
    let client = http();
    let post = |ct: &str, body: Vec<u8>| {
        client
            .post(app.url("/oauth/token"))
            .basic_auth("app", Some(SECRET))
            .header("content-type", ct)
            .body(body)
            .send()
            .unwrap()
    };
    let form = "application/x-www-form-urlencoded";
    let cases = vec![
        (
            "duplicate parameter",
            post(
                form,
                format!("{refresh_body}&grant_type=refresh_token").into_bytes(),
            ),
        ),
        (
            "missing grant_type",
            post(form, format!("refresh_token={r0}").into_bytes()),
        ),
        (
            "json body",
            post(
                "application/json",
                format!("{{\"grant_type\":\"refresh_token\",\"refresh_token\":\"{r0}\"}}")
                    .into_bytes(),
            ),
        ),
        (
            "oversized body",
            post(
                form,
                format!("{refresh_body}&pad={}", "x".repeat(20_000)).into_bytes(),
            ),
        ),
        (
            "non-UTF-8 body",
            post(form, [refresh_body.as_bytes(), b"&x=\xff"].concat()),
        ),
        (
            "percent-encoded non-UTF-8",
            post(form, format!("{refresh_body}&x=%ff").into_bytes()),
        ),
        ("GET", client.get(app.url("/oauth/token")).send().unwrap()),
    ];
    for (name, resp) in cases {
        let status = resp.status().as_u16();
        assert!((400..500).contains(&status), "{name}: {status}");
        let body: serde_json::Value = resp
            .json()
            .unwrap_or_else(|e| panic!("{name}: not JSON: {e}"));
        assert_eq!(body["error"], "invalid_request", "{name}");
    }
    // None of it consumed the refresh token.
    assert_eq!(refresh(&app, &r0).0, 200);
}

fn resource_server_401s(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let resp = http().get(app.url("/api/me")).send().unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    for token in ["garbage", "gat_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        let resp = me(&app, token);
        assert_eq!(resp.status(), 401, "{token}");
        assert_eq!(
            resp.json::<serde_json::Value>().unwrap()["error"],
            "invalid_token"
        );
    }
    // Revoked: reuse detection revokes the grant, and with it the access token.
    let (access, r0) = login(&app);
    assert_eq!(refresh(&app, &r0).0, 200);
    app.clock.advance(1);
    assert_eq!(refresh(&app, &r0).0, 400);
    assert_eq!(me(&app, &access).status(), 401);
}

fn health_and_readiness(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    assert_eq!(
        http().get(app.url("/healthz")).send().unwrap().status(),
        200
    );
    assert_eq!(http().get(app.url("/readyz")).send().unwrap().status(), 200);
    let resp = http().get(app.url("/nope")).send().unwrap();
    assert_eq!(resp.status(), 404);
    assert!(resp.json::<serde_json::Value>().unwrap()["error"].is_string());
}

on_both_backends!(
    flow_with_rotation,
    flow_without_rotation,
    refresh_token_expires,
    refresh_token_is_bound_to_its_client,
    refresh_scope_beyond_grant_is_invalid_scope,
    password_grant_errors,
    client_authentication_methods,
    basic_credentials_are_form_url_decoded,
    client_credentials_grant,
    malformed_requests_are_4xx_json_and_change_nothing,
    resource_server_401s,
    health_and_readiness,
);
