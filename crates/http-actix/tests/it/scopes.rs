//! The scope registry over real HTTP, on SQLite and Postgres: what an omitted `scope`
//! gets at the token endpoint (password, client credentials, refresh) and the
//! authorization endpoint (RFC 6749 §3.3), `scopes_supported` (RFC 8414), the consent
//! page's descriptions, and a stored client whose scope is no longer registered.

use grantd_ports::{Client, ClientId, GrantType, LifetimeOverrides, ScopeSet, SecretHasher};

use crate::authorization_code::{authorize_path, enc, location, query_param, Browser, VERIFIER};
use crate::common::*;
use grantd_domain::TokenSettings;

/// Registers `id` (secret SECRET) directly in the store, as an older grantd might have:
/// no registration rule is checked, so a test can store an unregistered scope too.
fn register(app: &TestApp, id: &str, grants: &[GrantType], scopes: &str, own: Option<&str>) {
    app.ports
        .clients
        .insert_client(&Client {
            id: ClientId::parse(id).unwrap(),
            name: format!("{id} app"),
            secret: Some(app.hasher.hash_client_secret(SECRET)),
            secret_version: 1,
            grant_types: grants.to_vec(),
            scopes: ScopeSet::parse(scopes).unwrap(),
            access_token_format: None,
            default_scopes: own.map(|o| ScopeSet::parse(o).unwrap()),
            redirect_uris: vec![WEB_CB.into()],
            post_logout_redirect_uris: vec![],
            can_introspect: false,
            lifetimes: LifetimeOverrides::default(),
            created_at: 0,
            require_dpop: false,
            admin: false,
        })
        .unwrap();
}

fn password(app: &TestApp, client: &str, scope: Option<&str>) -> (u16, serde_json::Value) {
    let scope = scope
        .map(|s| format!("&scope={}", enc(s)))
        .unwrap_or_default();
    json(token_request(
        app,
        Some((client, SECRET)),
        &format!("grant_type=password&username=alice&password={PASSWORD}{scope}"),
    ))
}

fn an_omitted_scope_on_the_password_grant_gets_the_default_scopes(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    use GrantType::*;
    register(
        &app,
        "wide",
        &[Password, RefreshToken],
        "read write profile",
        None,
    );
    // The registry's defaults (read, write), not every scope of the client (profile).
    let (status, body) = password(&app, "wide", None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "read write");
    // A refresh without scope keeps the grant's scope (§6), and the response names it.
    let (status, refreshed) = refresh_as(&app, "wide", body["refresh_token"].as_str().unwrap());
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(refreshed["scope"], "read write");
    // Asked for, a non-default scope is granted; narrowed, the response names what is issued.
    let (status, body) = password(&app, "wide", Some("profile read"));
    assert_eq!(
        (status, body["scope"].as_str()),
        (200, Some("profile read"))
    );
    let (status, narrowed) = json(token_request(
        &app,
        Some(("wide", SECRET)),
        &format!(
            "grant_type=refresh_token&refresh_token={}&scope=read",
            body["refresh_token"].as_str().unwrap()
        ),
    ));
    assert_eq!((status, narrowed["scope"].as_str()), (200, Some("read")));
    // The client's own default scopes win over the registry's.
    register(
        &app,
        "own",
        &[Password],
        "read write profile",
        Some("profile"),
    );
    let (status, body) = password(&app, "own", None);
    assert_eq!((status, body["scope"].as_str()), (200, Some("profile")));
}

fn refresh_as(app: &TestApp, client: &str, token: &str) -> (u16, serde_json::Value) {
    json(token_request(
        app,
        Some((client, SECRET)),
        &format!("grant_type=refresh_token&refresh_token={token}"),
    ))
}

fn an_omitted_scope_without_any_default_is_invalid_scope(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    use GrantType::*;
    register(
        &app,
        "bare",
        &[Password, ClientCredentials],
        "profile",
        None,
    );
    register(&app, "strict", &[Password], "read write", Some(""));
    for (client, body) in [
        ("bare", "grant_type=client_credentials".to_owned()),
        (
            "bare",
            format!("grant_type=password&username=alice&password={PASSWORD}"),
        ),
        (
            "strict",
            format!("grant_type=password&username=alice&password={PASSWORD}"),
        ),
    ] {
        let (status, err) = json(token_request(&app, Some((client, SECRET)), &body));
        assert_eq!(status, 400, "{client} {body}: {err}");
        assert_eq!(err["error"], "invalid_scope");
        assert_eq!(
            err["error_description"],
            "scope is required: the client has no default scope"
        );
    }
    // Naming a scope still works.
    let (status, body) = password(&app, "strict", Some("write"));
    assert_eq!((status, body["scope"].as_str()), (200, Some("write")));
}

fn an_omitted_scope_on_client_credentials_gets_the_default_scopes(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    register(
        &app,
        "svc",
        &[GrantType::ClientCredentials],
        "read write profile",
        None,
    );
    register(
        &app,
        "svc-own",
        &[GrantType::ClientCredentials],
        "read write",
        Some("write"),
    );
    for (client, expected) in [("svc", "read write"), ("svc-own", "write")] {
        let (status, body) = json(token_request(
            &app,
            Some((client, SECRET)),
            "grant_type=client_credentials",
        ));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["scope"], expected, "{client}");
        assert!(body.get("refresh_token").is_none());
    }
}

fn an_omitted_scope_on_the_authorization_request_gets_the_default_scopes(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    use GrantType::*;
    register(
        &app,
        "site",
        &[AuthorizationCode, RefreshToken],
        "read write profile",
        None,
    );
    let mut browser = Browser::new(&app);
    let path = authorize_path("site", WEB_CB, "");
    let consent = browser.log_in(&path);
    // The page asks for the defaults only: read and write, with their descriptions.
    assert!(consent.contains("Read your data"), "{consent}");
    assert!(consent.contains("Change your data"), "{consent}");
    assert!(!consent.contains("<code>profile</code>"), "{consent}");
    let to = browser.decide(&path, &consent, "allow");
    let code = query_param(&to, "code").expect("a code");
    let (status, body) = json(token_request(
        &app,
        Some(("site", SECRET)),
        &format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
            enc(WEB_CB)
        ),
    ));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "read write");

    // No default at all: the client hears invalid_scope at its redirect URI (§4.1.2.1).
    register(&app, "site-bare", &[AuthorizationCode], "profile", None);
    let resp = http()
        .get(app.url(&authorize_path("site-bare", WEB_CB, "")))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 302);
    let to = location(&resp);
    assert_eq!(query_param(&to, "error").as_deref(), Some("invalid_scope"));
    assert_eq!(query_param(&to, "state").as_deref(), Some("xyz"));
}

fn metadata_lists_the_registry_from_the_first_request(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let doc: serde_json::Value = http()
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    // No fixture client has profile, openid, email or offline_access: this is the
    // configured registry, not the clients' scopes.
    assert_eq!(
        doc["scopes_supported"],
        serde_json::json!([
            "email",
            "offline_access",
            "openid",
            "profile",
            "read",
            "write"
        ])
    );
}

fn the_consent_page_describes_each_scope_and_marks_what_was_granted(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let mut browser = Browser::new(&app);
    // First alice allows read only.
    let path = authorize_path("web", WEB_CB, "&scope=read");
    let consent = browser.log_in(&path);
    assert!(consent.contains("Read your data"), "{consent}");
    assert!(!consent.contains("already granted"), "{consent}");
    browser.decide(&path, &consent, "allow");
    // Then web asks for read and write: read is shown as already granted, write is new.
    let path = authorize_path("web", WEB_CB, &format!("&scope={}", enc("read write")));
    let page = browser.get(&path);
    assert_eq!(page.status(), 200);
    let html = page.text().unwrap();
    let item = |scope: &str| {
        let end = html
            .find(&format!("<code>{scope}</code>"))
            .unwrap_or_else(|| panic!("{scope} on the page: {html}"));
        let start = html[..end].rfind("<li").unwrap();
        let close = end + html[end..].find("</li>").unwrap();
        html[start..close].to_owned()
    };
    let read = item("read");
    assert!(read.contains("Read your data"), "{read}");
    assert!(read.contains("already granted"), "{read}");
    let write = item("write");
    assert!(write.contains("Change your data"), "{write}");
    assert!(!write.contains("already granted"), "{write}");
}

fn a_stored_client_with_an_unregistered_scope_keeps_working_without_it(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    use GrantType::*;
    register(
        &app,
        "old",
        &[Password, ClientCredentials],
        "read legacy",
        Some("read legacy"),
    );
    // Omitted: its own defaults, less the scope the registry no longer has.
    let (status, body) = password(&app, "old", None);
    assert_eq!(
        (status, body["scope"].as_str()),
        (200, Some("read")),
        "{body}"
    );
    // Asked for: invalid_scope, the scope is unknown (§5.2).
    let (status, err) = json(token_request(
        &app,
        Some(("old", SECRET)),
        "grant_type=client_credentials&scope=legacy",
    ));
    assert_eq!(status, 400);
    assert_eq!(err["error"], "invalid_scope");
    assert_eq!(err["error_description"], "the scope is unknown: legacy");
}

on_both_backends!(
    an_omitted_scope_on_the_password_grant_gets_the_default_scopes,
    an_omitted_scope_without_any_default_is_invalid_scope,
    an_omitted_scope_on_client_credentials_gets_the_default_scopes,
    an_omitted_scope_on_the_authorization_request_gets_the_default_scopes,
    metadata_lists_the_registry_from_the_first_request,
    the_consent_page_describes_each_scope_and_marks_what_was_granted,
    a_stored_client_with_an_unregistered_scope_keeps_working_without_it,
);
