//! Who gets into the admin API: only an admin client's own `client_credentials` token with
//! `grantd:admin`. Everything else is a 401 or 403 problem with an RFC 6750 challenge, and
//! the admin API is on its own listener only.

use reqwest::Method;

use super::*;

fn no_other_token_gets_in(backend: Backend) {
    let admin = Admin::start(backend);
    let app = &admin.app;
    let get = |token: Option<&str>| call(app, Method::GET, "/admin/clients", token, None);

    // No credentials: a bare challenge (RFC 6750 §3.1).
    let r = get(None);
    assert_problem(&r, 401);
    assert_eq!(
        r.challenge.as_deref(),
        Some("Bearer realm=\"grantd-admin\"")
    );
    // Unknown token.
    let r = get(Some("gat_not-a-token"));
    assert_problem(&r, 401);
    assert!(r.challenge.unwrap().contains("error=\"invalid_token\""));

    // A person's token (the password grant of a non-admin client).
    let (user_access, user_refresh) = login(app);
    let r = get(Some(&user_access));
    assert_problem(&r, 403);
    assert!(r
        .challenge
        .unwrap()
        .contains("error=\"insufficient_scope\""));
    // A refresh token is no access token.
    assert_problem(&get(Some(&user_refresh)), 401);

    // A non-admin client's own token, and its request for the admin scope.
    let (status, body) = json(token_request(
        app,
        Some(("app", SECRET)),
        "grant_type=client_credentials&scope=read",
    ));
    assert_eq!(status, 200, "{body}");
    assert_problem(&get(Some(body["access_token"].as_str().unwrap())), 403);
    let (status, body) = json(token_request(
        app,
        Some(("app", SECRET)),
        "grant_type=client_credentials&scope=grantd:admin",
    ));
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope")),
        "{body}"
    );
    // Nor can a person's grant carry it: the password grant of the admin client is refused.
    let (status, _) = json(token_request(
        app,
        Some((&admin.client_id, &admin.secret)),
        &format!("grant_type=password&username=alice&password={PASSWORD}&scope=grantd:admin"),
    ));
    assert_eq!(status, 400);

    // The admin client's token without the admin scope.
    let (status, body) = json(token_request(
        app,
        Some((&admin.client_id, &admin.secret)),
        "grant_type=client_credentials&scope=read",
    ));
    assert_eq!(status, 200, "{body}");
    assert_problem(&get(Some(body["access_token"].as_str().unwrap())), 403);

    // The admin token works...
    assert_eq!(get(Some(&admin.token)).status, 200);
    // ...until revoked (RFC 7009).
    let revoked = super::admin_token(app, &admin.client_id, &admin.secret);
    assert_eq!(get(Some(&revoked)).status, 200);
    let response = post_form(
        app,
        "/oauth/revoke",
        (&admin.client_id, &admin.secret),
        &format!("token={revoked}"),
    );
    assert_eq!(response.status(), 200);
    assert_problem(&get(Some(&revoked)), 401);
    // ...or expired.
    app.clock.advance(3600 + 1);
    assert_problem(&get(Some(&admin.token)), 401);
}

fn the_admin_api_is_on_its_own_listener_only(backend: Backend) {
    let admin = Admin::start(backend);
    let app = &admin.app;
    // The public listener has no /admin.
    let r = http()
        .get(app.url("/admin/clients"))
        .bearer_auth(&admin.token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = http().get(app.url("/admin/openapi.json")).send().unwrap();
    assert_eq!(r.status(), 404);
    // The admin listener has nothing else.
    let r = http()
        .get(app.admin_url("/.well-known/oauth-authorization-server"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
    // An unknown admin route is a problem document, as is an unknown method.
    assert_problem(&admin.call(Method::GET, "/admin/nothing", None), 404);
    let wrong = admin.call(Method::PATCH, "/admin/clients", None);
    assert_problem(&wrong, 405);
    // The metadata never advertises the admin scope.
    let doc: serde_json::Value = http()
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(
        !doc["scopes_supported"].to_string().contains("grantd:admin"),
        "{doc}"
    );
}

on_both_backends!(
    no_other_token_gets_in,
    the_admin_api_is_on_its_own_listener_only
);
