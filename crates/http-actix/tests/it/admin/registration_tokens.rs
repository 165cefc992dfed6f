//! `/admin/registration-tokens`: registration's initial access tokens (RFC 7591 §3)
//! through the admin API: only an admin token gets in, the lifetime and the number of uses
//! are checked with problems naming the field (and nothing is stored), the token is shown
//! once and never logged, it registers a client at `POST /oauth/register` exactly as many
//! times as it allows, and a revoked one registers none.

use grantd_domain::TokenSettings;
use reqwest::Method;
use serde_json::{json, Value};

use super::audit_log::{all, assert_audited};
use super::*;

const TOKENS: &str = "/admin/registration-tokens";

fn with_registration(backend: Backend) -> Admin {
    Admin::on(TestApp::start_with(
        backend,
        TokenSettings::default(),
        |config| config.registration.enabled = true,
    ))
}

fn listed(admin: &Admin) -> Vec<Value> {
    let r = admin.call(Method::GET, TOKENS, None);
    assert_eq!(r.status, 200, "{r:?}");
    r.body["registration_tokens"].as_array().unwrap().clone()
}

/// `POST /oauth/register` of a small web app with this initial access token.
fn register(app: &TestApp, token: &str) -> (u16, Value) {
    json(
        http()
            .post(app.url("/oauth/register"))
            .bearer_auth(token)
            .json(&json!({
                "redirect_uris": [WEB_CB],
                "client_name": "Registered through an admin token",
                "grant_types": ["authorization_code", "refresh_token"],
                "scope": "read",
            }))
            .send()
            .unwrap(),
    )
}

fn only_an_admin_token_makes_lists_or_revokes_registration_tokens(backend: Backend) {
    let admin = with_registration(backend);
    let app = &admin.app;
    let (person, _) = login(app);
    let body = Some(json!({"expires_in": 600, "uses": 1}));
    for (method, path) in [
        (Method::POST, TOKENS.to_owned()),
        (Method::GET, TOKENS.to_owned()),
        (Method::DELETE, format!("{TOKENS}/it_x")),
    ] {
        let r = call(app, method.clone(), &path, None, body.clone());
        assert_problem(&r, 401);
        assert_eq!(
            r.challenge.as_deref(),
            Some("Bearer realm=\"grantd-admin\""),
            "{method} {path}"
        );
        let r = call(
            app,
            method.clone(),
            &path,
            Some("gat_not-a-token"),
            body.clone(),
        );
        assert_problem(&r, 401);
        // A person's access token is a valid token, but not an admin one.
        let r = call(app, method.clone(), &path, Some(&person), body.clone());
        assert_problem(&r, 403);
    }
    assert!(listed(&admin).is_empty(), "nothing was made");
}

fn a_bad_lifetime_or_number_of_uses_names_the_field_and_stores_nothing(backend: Backend) {
    let admin = with_registration(backend);
    for (body, field) in [
        (json!({"expires_in": 0}), "expires_in"),
        (json!({"expires_in": -5, "uses": 1}), "expires_in"),
        (json!({"expires_in": 365 * 24 * 3600 + 1}), "expires_in"),
        (json!({"uses": 0}), "uses"),
        (json!({"expires_in": 600, "uses": 1_000_001}), "uses"),
    ] {
        let r = admin.call(Method::POST, TOKENS, Some(body.clone()));
        assert_invalid(&r, field);
        assert!(
            r.body["detail"].as_str().unwrap().starts_with(field),
            "{body}: {r:?}"
        );
    }
    // Not the JSON of this route: a malformed request (400), also a problem.
    assert_problem(
        &admin.call(Method::POST, TOKENS, Some(json!({"uses": 1, "scope": "x"}))),
        400,
    );
    assert_problem(
        &admin.call(Method::POST, TOKENS, Some(json!({"uses": "one"}))),
        400,
    );
    assert!(
        listed(&admin).is_empty(),
        "a refused request stores nothing"
    );
    assert_audited(
        &admin.audit(),
        "registration_token.create",
        "-",
        "validation",
    );
}

fn a_new_token_is_shown_once_and_registers_as_many_clients_as_it_allows(backend: Backend) {
    let admin = with_registration(backend);
    let app = &admin.app;
    let created = admin.call(
        Method::POST,
        TOKENS,
        Some(json!({"expires_in": 600, "uses": 1})),
    );
    assert_eq!(created.status, 201, "{created:?}");
    let token = created.body["initial_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert!(token.starts_with("gia_"), "{token}");
    assert!(id.starts_with("it_"), "{id}");
    assert_eq!(created.body["uses_left"], 1);
    assert_eq!(
        created.body["expires_at"].as_i64().unwrap() - created.body["created_at"].as_i64().unwrap(),
        600
    );

    // The listing names it by its id, never by its value.
    let tokens = listed(&admin);
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0]["id"], id.as_str());
    assert_eq!(tokens[0]["uses_left"], 1);
    assert_eq!(tokens[0]["revoked_at"], Value::Null);
    assert!(!Value::Array(tokens).to_string().contains(&token));

    // It registers one client, then no more (RFC 7591 §3: the token is spent).
    let (status, registered) = register(app, &token);
    assert_eq!(status, 201, "{registered}");
    let client_id = registered["client_id"].as_str().unwrap();
    assert!(app
        .ports
        .clients
        .find_client(&grantd_ports::ClientId::parse(client_id).unwrap())
        .unwrap()
        .is_some());
    let (status, body) = register(app, &token);
    assert_eq!(status, 401, "a spent token: {body}");
    assert_eq!(listed(&admin)[0]["uses_left"], 0);

    // An empty body takes the CLI's defaults: one use, for a day.
    let defaults = admin.call(Method::POST, TOKENS, None);
    assert_eq!(defaults.status, 201, "{defaults:?}");
    assert_eq!(defaults.body["uses_left"], 1);
    assert_eq!(
        defaults.body["expires_at"].as_i64().unwrap()
            - defaults.body["created_at"].as_i64().unwrap(),
        86_400
    );

    // Audited by id; the token itself is in no log line.
    let audit = admin.audit();
    assert_audited(&audit, "registration_token.create", &id, "ok");
    assert!(
        !all().contains(&token),
        "the initial access token was logged"
    );
}

fn a_revoked_token_registers_nothing_and_a_second_revoke_is_404(backend: Backend) {
    let admin = with_registration(backend);
    let created = admin.call(
        Method::POST,
        TOKENS,
        Some(json!({"expires_in": 600, "uses": 5})),
    );
    assert_eq!(created.status, 201, "{created:?}");
    let token = created.body["initial_access_token"].as_str().unwrap();
    let id = created.body["id"].as_str().unwrap();

    let r = admin.call(Method::DELETE, &format!("{TOKENS}/{id}"), None);
    assert_eq!(r.status, 204, "{r:?}");
    assert_problem(
        &admin.call(Method::DELETE, &format!("{TOKENS}/{id}"), None),
        404,
    );
    assert_problem(
        &admin.call(Method::DELETE, &format!("{TOKENS}/it_nope"), None),
        404,
    );
    let (status, body) = register(&admin.app, token);
    assert_eq!(status, 401, "a revoked token: {body}");
    let tokens = listed(&admin);
    assert_eq!(tokens[0]["uses_left"], 5, "nothing was used");
    assert!(tokens[0]["revoked_at"].is_i64(), "{tokens:?}");

    let audit = admin.audit();
    assert_audited(&audit, "registration_token.revoke", id, "ok");
    assert_audited(&audit, "registration_token.revoke", id, "not-found");
}

on_both_backends!(
    only_an_admin_token_makes_lists_or_revokes_registration_tokens,
    a_bad_lifetime_or_number_of_uses_names_the_field_and_stores_nothing,
    a_new_token_is_shown_once_and_registers_as_many_clients_as_it_allows,
    a_revoked_token_registers_nothing_and_a_second_revoke_is_404,
);
