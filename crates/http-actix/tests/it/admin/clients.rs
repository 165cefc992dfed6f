//! `/admin/clients`: the secret shown once, cursor pagination, validation naming the
//! field, idempotent PUT and DELETE, secret rotation, and the audit lines of each write.

use reqwest::Method;
use serde_json::json;

use super::audit_log::{all, assert_audited};
use super::*;

fn a_client_is_created_shown_changed_rotated_and_deleted(backend: Backend) {
    let admin = Admin::start(backend);
    let created = admin.call(
        Method::POST,
        "/admin/clients",
        Some(json!({
            "name": "Billing", "scope": "read write",
            "grant_types": ["client_credentials", "refresh_token", "password"],
        })),
    );
    assert_eq!(created.status, 201, "{created:?}");
    let id = created.body["client_id"].as_str().unwrap().to_owned();
    let secret = created.body["client_secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("gcs_"));
    assert_eq!(created.body["client"]["name"], "Billing");
    // The secret works, and is never shown again.
    let (status, _) = json(token_request(
        &admin.app,
        Some((&id, &secret)),
        "grant_type=client_credentials",
    ));
    assert_eq!(status, 200);
    let shown = admin.call(Method::GET, &format!("/admin/clients/{id}"), None);
    assert_eq!(shown.status, 200);
    assert!(!shown.body.to_string().contains(&secret));
    assert!(shown.body.get("client_secret").is_none());

    // PUT replaces the settings; the same PUT again gives the same client (idempotent).
    let put = json!({
        "name": "Billing v2", "scope": "read",
        "grant_types": ["client_credentials"],
        "redirect_uris": [], "access_token_lifetime": 600,
    });
    let first = admin.call(
        Method::PUT,
        &format!("/admin/clients/{id}"),
        Some(put.clone()),
    );
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(first.body["name"], "Billing v2");
    assert_eq!(first.body["scope"], "read");
    assert_eq!(first.body["grant_types"], json!(["client_credentials"]));
    assert_eq!(first.body["access_token_lifetime"], 600);
    let again = admin.call(Method::PUT, &format!("/admin/clients/{id}"), Some(put));
    assert_eq!(again.body, first.body);
    // A refused change stores nothing.
    let bad = admin.call(
        Method::PUT,
        &format!("/admin/clients/{id}"),
        Some(json!({"name": "x", "scope": "nope", "grant_types": ["client_credentials"]})),
    );
    assert_invalid(&bad, "scope");
    let shown = admin.call(Method::GET, &format!("/admin/clients/{id}"), None);
    assert_eq!(shown.body, first.body);

    // Rotation: the new secret works, the old one no longer does; grants are kept.
    let rotated = admin.call(
        Method::POST,
        &format!("/admin/clients/{id}/rotate-secret"),
        None,
    );
    assert_eq!(rotated.status, 200, "{rotated:?}");
    let new_secret = rotated.body["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    let (old, _) = json(token_request(
        &admin.app,
        Some((&id, &secret)),
        "grant_type=client_credentials",
    ));
    assert_eq!(old, 401);
    let (new, _) = json(token_request(
        &admin.app,
        Some((&id, &new_secret)),
        "grant_type=client_credentials",
    ));
    assert_eq!(new, 200);

    // DELETE, then DELETE again: 404 (documented), as is any unknown client.
    let deleted = admin.call(Method::DELETE, &format!("/admin/clients/{id}"), None);
    assert_eq!(deleted.status, 200, "{deleted:?}");
    assert!(deleted.body["revoked_grants"].as_u64().unwrap() >= 1);
    assert_problem(
        &admin.call(Method::DELETE, &format!("/admin/clients/{id}"), None),
        404,
    );
    assert_problem(
        &admin.call(Method::GET, &format!("/admin/clients/{id}"), None),
        404,
    );
    assert_problem(
        &admin.call(Method::POST, "/admin/clients/nope/rotate-secret", None),
        404,
    );

    // Every write is audited with its actor and target, and no secret is ever logged.
    let audit = admin.audit();
    assert_audited(&audit, "client.create", &id, "ok");
    assert_audited(&audit, "client.update", &id, "ok");
    assert_audited(&audit, "client.update", &id, "validation");
    assert_audited(&audit, "client.rotate_secret", &id, "ok");
    assert_audited(&audit, "client.delete", &id, "ok");
    assert_audited(&audit, "client.delete", &id, "not-found");
    let log = all();
    assert!(
        !log.contains(&secret) && !log.contains(&new_secret),
        "a secret was logged"
    );
    assert!(!log.contains(&admin.secret) && !log.contains(&admin.token));
}

fn clients_are_listed_by_cursor(backend: Backend) {
    let admin = Admin::start(backend);
    let mut seen = Vec::new();
    let mut path = "/admin/clients?limit=3".to_owned();
    loop {
        let page = admin.call(Method::GET, &path, None);
        assert_eq!(page.status, 200, "{page:?}");
        let clients = page.body["clients"].as_array().unwrap();
        assert!(clients.len() <= 3);
        seen.extend(
            clients
                .iter()
                .map(|c| c["client_id"].as_str().unwrap().to_owned()),
        );
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/admin/clients?limit=3&after={cursor}"),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted, "pages are in id order without repeats");
    // The fixtures' seven and the admin client.
    assert_eq!(seen.len(), 8, "{seen:?}");
    assert!(seen.contains(&admin.client_id));
    // The limit is bounded and must be a number.
    assert_invalid(
        &admin.call(Method::GET, "/admin/clients?limit=0", None),
        "limit",
    );
    assert_invalid(
        &admin.call(Method::GET, "/admin/clients?limit=201", None),
        "limit",
    );
    assert_problem(
        &admin.call(Method::GET, "/admin/clients?limit=x", None),
        400,
    );
    assert_problem(
        &admin.call(Method::GET, "/admin/clients?secret=1", None),
        400,
    );
}

fn a_bad_registration_names_its_field_and_stores_nothing(backend: Backend) {
    let admin = Admin::start(backend);
    let cases = [
        (json!({"name": " "}), "name"),
        (json!({"name": "a", "scope": "read nope"}), "scope"),
        (json!({"name": "a", "scope": "grantd:admin"}), "scope"),
        (
            json!({"name": "a", "grant_types": ["implicit"]}),
            "grant_types",
        ),
        (
            json!({"name": "a", "redirect_uris": ["/relative"]}),
            "redirect_uris",
        ),
        (
            json!({"name": "a", "scope": "read", "default_scope": "write"}),
            "default_scope",
        ),
        (
            json!({"name": "a", "public": true, "grant_types": ["client_credentials"]}),
            "grant_types",
        ),
        (json!({"name": "a", "public": true, "admin": true}), "admin"),
        (
            json!({"name": "a", "access_token_lifetime": 0}),
            "access_token_lifetime",
        ),
        (
            json!({"name": "a", "access_token_format": "xml"}),
            "access_token_format",
        ),
    ];
    for (body, field) in cases {
        let r = admin.call(Method::POST, "/admin/clients", Some(body.clone()));
        assert_invalid(&r, field);
    }
    // Not JSON, or the wrong shape: a 400 problem.
    let r = http()
        .post(admin.app.admin_url("/admin/clients"))
        .bearer_auth(&admin.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert_problem(
        &admin.call(Method::POST, "/admin/clients", Some(json!({"name": 5}))),
        400,
    );
    // Nothing was stored.
    let list = admin.call(Method::GET, "/admin/clients?limit=200", None);
    assert_eq!(list.body["clients"].as_array().unwrap().len(), 8);
}

fn an_admin_client_created_over_the_api_opens_the_api(backend: Backend) {
    let admin = Admin::start(backend);
    let created = admin.call(
        Method::POST,
        "/admin/clients",
        Some(json!({"name": "terraform", "admin": true, "grant_types": ["client_credentials"]})),
    );
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.body["client"]["admin"], true);
    assert!(created.body["client"]["scope"]
        .as_str()
        .unwrap()
        .contains("grantd:admin"));
    let id = created.body["client_id"].as_str().unwrap();
    let token = super::admin_token(
        &admin.app,
        id,
        created.body["client_secret"].as_str().unwrap(),
    );
    assert_eq!(
        call(&admin.app, Method::GET, "/admin/keys", Some(&token), None).status,
        200
    );
}

on_both_backends!(
    a_client_is_created_shown_changed_rotated_and_deleted,
    clients_are_listed_by_cursor,
    a_bad_registration_names_its_field_and_stores_nothing,
    an_admin_client_created_over_the_api_opens_the_api,
);
